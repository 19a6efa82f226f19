//! The JSON sidecar beside each batch result (`a.png` → `a.json`): what made it (the item's
//! key, input, styles, settings), how it came out (metrics) and how long it took. A result
//! counts as done only when both files exist and the sidecar carries the item's key.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::atomic;
use crate::error::{Error, Result};

/// A result's record.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Sidecar {
    /// The item's key: a digest of its input bytes, styles, settings, network and version.
    pub key: String,
    /// The photo, as the job named it.
    pub input: PathBuf,
    /// The style specs (`PATH[:WEIGHT]`), or the model's blend.
    pub styles: Vec<String>,
    /// The result's file name, beside the sidecar.
    pub output: String,
    /// The settings the item ran with.
    pub settings: serde_json::Value,
    /// Measurements of the result (SSIM, Gram cosine, size).
    pub metrics: serde_json::Value,
    /// Seconds the item took, from the start of its painting to the written result.
    pub seconds: f64,
    /// The Impasto version that made it.
    pub version: String,
}

impl Sidecar {
    /// Where the sidecar of the result `output` goes.
    pub fn path_for(output: &Path) -> PathBuf {
        output.with_extension("json")
    }

    /// The sidecar of `output`, if it exists and reads as one.
    pub fn read(output: &Path) -> Option<Sidecar> {
        let bytes = std::fs::read(Self::path_for(output)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// True when `output` and its sidecar exist and the sidecar carries `key`: the item is
    /// done and need not run again.
    pub fn is_done(output: &Path, key: &str) -> bool {
        output.is_file() && Self::read(output).is_some_and(|s| s.key == key)
    }

    /// Writes the sidecar of `output` atomically (after the result itself, so a sidecar
    /// never vouches for a missing or half-written result).
    pub fn write(&self, output: &Path) -> Result<()> {
        let path = Self::path_for(output);
        let json = serde_json::to_vec_pretty(self)
            .map_err(|e| Error::output(&path, std::io::Error::other(e)))?;
        atomic::write(&path, &json)
    }
}
