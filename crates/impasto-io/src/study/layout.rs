//! A study's folder: `study.json` (what is rated and how), `images/` (every image shown, under
//! a random name that says nothing of its method) and `ratings.sqlite` (the answers).

use std::path::{Path, PathBuf};

use impasto::rating::{Design, Mode};
use serde::{Deserialize, Serialize};

use crate::atomic;
use crate::error::{Error, Result};

/// The study file's name inside a study folder.
pub const STUDY_FILE: &str = "study.json";
/// The folder of a study's images.
pub const IMAGES_DIR: &str = "images";
/// The answers' database.
pub const DATABASE_FILE: &str = "ratings.sqlite";
/// The version of `study.json`'s layout this code reads and writes.
pub const FORMAT: u32 = 1;

/// What a study rates and how: `study.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Study {
    /// The layout's version ([`FORMAT`]).
    pub format: u32,
    /// A title shown to raters.
    pub title: String,
    /// Pairs (2AFC) or absolute 1–5 ratings.
    pub mode: Mode,
    /// The instructions raters read before they start.
    pub instructions: String,
    /// The instructions' version, recorded with every rater.
    pub instructions_version: String,
    /// The access token lab-network raters need in their link (32 hex digits).
    pub token: String,
    /// The methods' names (one per results folder), never shown to raters.
    pub methods: Vec<String>,
    /// The photo × painting combinations rated.
    pub items: Vec<Item>,
    /// Ordinary trials per rater.
    pub trials_per_rater: usize,
    /// Gold trials per rater.
    pub gold_per_rater: usize,
    /// Repeated trials per rater.
    pub repeats_per_rater: usize,
}

/// One photo × painting combination and its images (names of files in `images/`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Item {
    /// The results' common file stem (as in every method's folder).
    pub name: String,
    /// The photo, when it was found.
    pub photo: Option<String>,
    /// The painting, when it was found.
    pub painting: Option<String>,
    /// Each method's result, in the order of [`Study::methods`].
    pub results: Vec<String>,
    /// A deliberately broken copy of a result, for gold trials.
    pub gold: String,
}

impl Study {
    /// The trial design every rater's list is drawn from.
    pub fn design(&self) -> Design {
        Design {
            mode: self.mode,
            items: self.items.len(),
            methods: self.methods.len(),
            trials: self.trials_per_rater,
            gold: self.gold_per_rater,
            repeats: self.repeats_per_rater,
        }
    }

    /// Reads `dir/study.json`, checking that every image it names is a plain file name in
    /// `images/` (so a doctored file cannot point the server elsewhere).
    pub fn load(dir: &Path) -> Result<Study> {
        let path = dir.join(STUDY_FILE);
        let bytes = std::fs::read(&path).map_err(|e| Error::Input {
            path: path.clone(),
            msg: format!("cannot read the study ({e}); make one with `impasto rate new`"),
        })?;
        let study: Study = serde_json::from_slice(&bytes).map_err(|e| Error::Input {
            path: path.clone(),
            msg: format!("not a study file: {e}"),
        })?;
        if study.format != FORMAT {
            return Err(Error::Input {
                path,
                msg: format!(
                    "study format {} is not the {FORMAT} this Impasto reads",
                    study.format
                ),
            });
        }
        let bad = |msg: String| Error::Input {
            path: path.clone(),
            msg,
        };
        for item in &study.items {
            if item.results.len() != study.methods.len() {
                return Err(bad(format!(
                    "item {:?} has {} results for {} methods",
                    item.name,
                    item.results.len(),
                    study.methods.len()
                )));
            }
            let names = item.results.iter().chain([&item.gold]);
            for name in names.chain(item.photo.iter()).chain(item.painting.iter()) {
                if !is_image_name(name) {
                    return Err(bad(format!("{name:?} is not an image name of the study")));
                }
            }
        }
        if study.token.len() != 32 || !study.token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad("its access token is not 32 hex digits".into()));
        }
        Ok(study)
    }

    /// Writes `dir/study.json` atomically.
    pub fn save(&self, dir: &Path) -> Result<()> {
        let path = dir.join(STUDY_FILE);
        let json = serde_json::to_vec_pretty(self)
            .map_err(|e| Error::output(&path, std::io::Error::other(e)))?;
        atomic::write(&path, &json)
    }

    /// The path of the study image `name` in `dir`, if `name` is one of this study's images.
    pub fn image_path(&self, dir: &Path, name: &str) -> Option<PathBuf> {
        let known = self.items.iter().any(|i| {
            i.results.iter().any(|r| r == name)
                || i.gold == name
                || i.photo.as_deref() == Some(name)
                || i.painting.as_deref() == Some(name)
        });
        (is_image_name(name) && known).then(|| dir.join(IMAGES_DIR).join(name))
    }
}

/// Study image names are 32 hex digits and `.png` or `.jpg`, nothing else.
pub fn is_image_name(name: &str) -> bool {
    match name.split_once('.') {
        Some((stem, ext)) => {
            stem.len() == 32
                && stem.bytes().all(|b| b.is_ascii_hexdigit())
                && (ext == "png" || ext == "jpg")
        }
        None => false,
    }
}

/// 128 random bits in hex, for tokens and image names.
pub fn random_hex() -> Result<String> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).map_err(|e| Error::Usage(format!("no randomness available: {e}")))?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}
