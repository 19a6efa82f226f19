//! Checkpoints of `impasto stylize`: where they go, what makes one fit a run, and when to
//! write them.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use impasto::image::Rgb;
use impasto::{Session, Settings, StyleTargets};
use impasto_io::{checkpoint, Error, Result};
use sha2::{Digest, Sha256};

/// `OUT.png` → `OUT.checkpoint.safetensors`.
pub fn path_for(out: &Path) -> PathBuf {
    out.with_extension("checkpoint.safetensors")
}

/// A digest of everything that decides a run's path: the photo, the paintings and their
/// weights, the settings, the start, the precision and Impasto's version. A checkpoint
/// continues only a run with the same key.
pub fn key(photo: &Rgb, styles: &StyleTargets, settings: &Settings, extra: &str) -> String {
    let mut h = Sha256::new();
    let image = |h: &mut Sha256, img: &Rgb| {
        h.update((img.width as u64).to_le_bytes());
        h.update((img.height as u64).to_le_bytes());
        for v in &img.data {
            h.update(v.to_le_bytes());
        }
    };
    image(&mut h, photo);
    for s in styles.styles() {
        image(&mut h, &s.image);
        h.update(s.weight.to_le_bytes());
    }
    h.update(format!("{settings:?}|{extra}|{}", env!("CARGO_PKG_VERSION")).as_bytes());
    format!("{:x}", h.finalize())
}

/// Continues `session` from the checkpoint at `path`; returns the seconds the run had taken.
pub fn restore(session: &mut Session, path: &Path, key: &str) -> Result<f64> {
    if !path.exists() {
        return Err(Error::Usage(format!(
            "--resume: there is no checkpoint at {}; run without --resume to start",
            path.display()
        )));
    }
    let (saved, state, arrays) = checkpoint::load(path)?;
    if saved.key != key {
        return Err(Error::Usage(format!(
            "{} was made for another photo, painting or settings; resume with the same options \
             as the first run, or start afresh without --resume",
            path.display()
        )));
    }
    session
        .restore(&state, arrays)
        .map_err(|e| Error::input(path, e.to_string()))?;
    Ok(saved.seconds)
}

/// Writes a checkpoint every `every` and when asked to stop.
pub struct Saver {
    path: PathBuf,
    key: String,
    every: Duration,
    last: Instant,
    /// Seconds of earlier sessions of this run.
    before: f64,
    started: Instant,
}

impl Saver {
    /// Checkpoints to `path` for the run named `key`, every `minutes`, after `before` seconds
    /// of earlier sessions.
    pub fn new(path: PathBuf, key: String, minutes: f64, before: f64) -> Self {
        Self {
            path,
            key,
            every: Duration::from_secs_f64(minutes.max(0.0) * 60.0),
            last: Instant::now(),
            before,
            started: Instant::now(),
        }
    }

    /// Seconds of the whole run so far, earlier sessions included.
    pub fn seconds(&self) -> f64 {
        self.before + self.started.elapsed().as_secs_f64()
    }

    /// Writes a checkpoint when one is due (or `now`); false when the run has finished and
    /// there is nothing to save.
    pub fn save(&mut self, session: &Session, now: bool) -> Result<bool> {
        if !now && self.last.elapsed() < self.every {
            return Ok(true);
        }
        let Some((state, arrays)) = session.state() else {
            return Ok(false);
        };
        let saved = checkpoint::Saved {
            key: self.key.clone(),
            seconds: self.seconds(),
        };
        checkpoint::save(&self.path, &saved, &state, &arrays)?;
        self.last = Instant::now();
        Ok(true)
    }

    /// Removes the checkpoint of a finished run.
    pub fn remove(&self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
