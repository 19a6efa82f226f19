//! The progress bar: scale, iteration, losses and ETA, on stderr.

use impasto::Report;
use indicatif::{ProgressBar, ProgressStyle};

/// Ticks per bar; the position is the pixel-weighted fraction of work done.
const TICKS: u64 = 10_000;

/// A bar for one stylisation; hidden when stderr is not a terminal.
pub struct Progress(ProgressBar);

impl Progress {
    /// A new bar.
    pub fn new() -> Self {
        let bar = ProgressBar::new(TICKS);
        bar.set_style(
            ProgressStyle::with_template("{prefix} [{bar:30}] {msg} (ETA {eta})")
                .expect("valid template")
                .progress_chars("=> "),
        );
        Self(bar)
    }

    /// Shows a step's report.
    pub fn show(&self, r: &Report) {
        self.0.set_prefix(format!(
            "scale {}/{} {}×{}",
            r.stage + 1,
            r.stages,
            r.width,
            r.height
        ));
        self.0.set_message(format!(
            "iter {}/{} loss {:.3e} (content {:.3e} style {:.3e} tv {:.3e})",
            r.iter, r.stage_iters, r.losses.total, r.losses.content, r.losses.style, r.losses.tv
        ));
        self.0.set_position((r.progress * TICKS as f64) as u64);
    }

    /// Shows where a tiled evaluation is (`done` of `total` tiles, both passes).
    pub fn tile(&self, done: usize, total: usize) {
        let msg = self.0.message();
        let base = msg.split(" · tile").next().unwrap_or("");
        self.0.set_message(format!("{base} · tile {done}/{total}"));
    }

    /// Removes the bar.
    pub fn finish(&self) {
        self.0.finish_and_clear();
    }
}
