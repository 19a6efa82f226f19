//! The work folder beside a video's output: the finished frames of each run as numbered PNGs
//! and what the run was asked to do, so an interrupted run resumes where it stopped.

use std::path::{Path, PathBuf};

use impasto::image::Rgb;
use impasto_io::codec::{self as io, Limits};
use impasto_io::{Error, Result};
use serde::{Deserialize, Serialize};

/// What a work folder records: the run it belongs to and the β each stylizer settled on.
#[derive(Serialize, Deserialize, Default)]
struct Record {
    /// Everything that decides the frames' pixels, as text.
    fingerprint: String,
    /// β of each run (by name) after its first frame.
    style_weights: std::collections::BTreeMap<String, f64>,
}

/// A work folder, `OUT.impasto-work/`.
pub struct Work {
    dir: PathBuf,
    record: Record,
}

impl Work {
    /// Opens the work folder of `output` for a run described by `fingerprint`. A folder left
    /// by an interrupted run is continued with `resume`, and refused without it (its frames
    /// would be lost); with `resume`, it must come from the same settings.
    pub fn open(output: &Path, fingerprint: String, resume: bool) -> Result<Self> {
        let mut name = output
            .file_name()
            .map(|n| n.to_os_string())
            .unwrap_or_else(|| "video".into());
        name.push(".impasto-work");
        let dir = output.with_file_name(name);
        let record_path = dir.join("run.json");
        if dir.exists() && !resume && !holds_frames(&dir) {
            // Nothing finished there: nothing to lose by starting over.
            std::fs::remove_dir_all(&dir).map_err(|source| Error::Output {
                path: dir.clone(),
                source,
            })?;
        }
        if dir.exists() {
            if !resume {
                return Err(Error::Usage(format!(
                    "{} holds the frames of an interrupted run for this output: add --resume to continue it, or delete that folder to start over",
                    dir.display()
                )));
            }
            let text = std::fs::read_to_string(&record_path).map_err(|e| {
                Error::input(
                    &record_path,
                    format!(
                        "cannot read the run record ({e}); delete {} to start over",
                        dir.display()
                    ),
                )
            })?;
            let record: Record = serde_json::from_str(&text).map_err(|e| {
                Error::input(
                    &record_path,
                    format!(
                        "damaged run record ({e}); delete {} to start over",
                        dir.display()
                    ),
                )
            })?;
            if record.fingerprint != fingerprint {
                return Err(Error::Usage(format!(
                    "{} was made with other settings or another input, so --resume cannot continue it: run the same command as before, or delete that folder to start over",
                    dir.display()
                )));
            }
            return Ok(Self { dir, record });
        }
        std::fs::create_dir_all(&dir).map_err(|source| Error::Output {
            path: dir.clone(),
            source,
        })?;
        let work = Self {
            dir,
            record: Record {
                fingerprint,
                ..Record::default()
            },
        };
        work.save_record()?;
        Ok(work)
    }

    /// The folder of one run's frames (created on first use).
    pub fn frames_dir(&self, run: &str) -> Result<PathBuf> {
        let d = self.dir.join(run);
        std::fs::create_dir_all(&d).map_err(|source| Error::Output {
            path: d.clone(),
            source,
        })?;
        Ok(d)
    }

    /// Frames of `run` already finished: the length of the unbroken run of numbered PNGs.
    pub fn done(&self, run: &str) -> usize {
        let d = self.dir.join(run);
        (0..).take_while(|&i| frame_path(&d, i).is_file()).count()
    }

    /// Saves frame `i` of `run` (atomically).
    pub fn save_frame(&self, run: &str, i: usize, img: &Rgb) -> Result<()> {
        io::save(
            &frame_path(&self.frames_dir(run)?, i),
            img,
            None,
            io::BitDepth::Eight,
        )
    }

    /// Loads finished frame `i` of `run`.
    pub fn load_frame(&self, run: &str, i: usize) -> Result<Rgb> {
        Ok(io::load(&frame_path(&self.dir.join(run), i), &Limits::default())?.image)
    }

    /// β that `run` settled on, once its first frame is done.
    pub fn style_weight(&self, run: &str) -> Option<f64> {
        self.record.style_weights.get(run).copied()
    }

    /// Records β of `run`.
    pub fn set_style_weight(&mut self, run: &str, beta: f64) -> Result<()> {
        self.record.style_weights.insert(run.into(), beta);
        self.save_record()
    }

    /// The work folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Deletes the work folder if no frame was finished (a failed start leaves nothing
    /// behind); a folder with frames stays for `--resume`.
    pub fn discard_if_empty(self) {
        if !holds_frames(&self.dir) {
            // Best effort: the error that brought us here is the one to report.
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    /// Deletes the work folder.
    pub fn remove(self) -> Result<()> {
        std::fs::remove_dir_all(&self.dir).map_err(|source| Error::Output {
            path: self.dir,
            source,
        })
    }

    fn save_record(&self) -> Result<()> {
        let text = serde_json::to_string_pretty(&self.record).expect("a record serialises");
        impasto_io::atomic::write(&self.dir.join("run.json"), text.as_bytes())
    }
}

/// True when some run in the work folder `dir` has finished a frame.
fn holds_frames(dir: &Path) -> bool {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .any(|run| frame_path(&run.path(), 0).is_file())
}

/// `dir/NNNNNN.png`, the name the encoder reads.
fn frame_path(dir: &Path, i: usize) -> PathBuf {
    dir.join(format!("{i:06}.png"))
}
