//! The video progress bar: frames done, the current frame's iteration, the time per frame.

use std::cell::Cell;

use impasto::Report;
use indicatif::{ProgressBar, ProgressStyle};

/// A bar over the frames; hidden when stderr is not a terminal.
pub struct VideoProgress {
    bar: ProgressBar,
    runs: usize,
    /// Seconds the last finished frame took.
    last: Cell<Option<f64>>,
}

impl VideoProgress {
    /// A bar for about `frames` frames (a spinner when unknown), each stylised by `runs` runs.
    pub fn new(frames: Option<usize>, runs: usize) -> Self {
        let bar = match frames {
            Some(n) => ProgressBar::new(n as u64).with_style(
                ProgressStyle::with_template("frame {pos}/{len} [{bar:30}] {msg} (ETA {eta})")
                    .expect("valid template")
                    .progress_chars("=> "),
            ),
            None => ProgressBar::new_spinner().with_style(
                ProgressStyle::with_template("{spinner} frame {pos} {msg}")
                    .expect("valid template"),
            ),
        };
        Self {
            bar,
            runs,
            last: Cell::new(None),
        }
    }

    /// Shows an iteration of frame `i` by run `run`.
    pub fn step(&self, i: usize, run: usize, r: &Report) {
        let which = if self.runs > 1 {
            ["", " (frame by frame)"][run.min(1)]
        } else {
            ""
        };
        let last = self
            .last
            .get()
            .map_or(String::new(), |s| format!(" · last frame {s:.1} s"));
        self.bar.set_message(format!(
            "frame {i}{which}: iter {}/{} loss {:.3e}{last}",
            r.done_iters, r.total_iters, r.losses.total
        ));
    }

    /// Marks frame `i` finished after `seconds`.
    pub fn frame_done(&self, i: usize, seconds: f64) {
        self.bar.set_position(i as u64 + 1);
        self.last.set(Some(seconds));
    }

    /// Removes the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
