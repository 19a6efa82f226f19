//! Making a study folder: every image copied under a random name, the gold copies drawn, and
//! `study.json` written, all at once (the folder appears whole or not at all).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use impasto::image::Rgb;
use impasto::rating::Mode;

use super::gold::broken;
use super::layout::{random_hex, Item, Study, FORMAT, IMAGES_DIR};
use super::matching::{Matched, Source};
use crate::atomic;
use crate::codec::{decode, encode, Format, Limits};
use crate::error::{Error, Result};

/// How a new study rates its items.
#[derive(Clone, Debug)]
pub struct NewStudy {
    /// Shown to raters.
    pub title: String,
    /// Pairs or absolute ratings.
    pub mode: Mode,
    /// The instructions (the mode's standard text when `None`).
    pub instructions: Option<String>,
    /// Recorded with every rater.
    pub instructions_version: String,
    /// Ordinary trials per rater.
    pub trials: usize,
    /// Gold trials per rater.
    pub gold: usize,
    /// Repeated trials per rater.
    pub repeats: usize,
}

/// The instructions for 2AFC studies.
pub const PAIRS_INSTRUCTIONS: &str = "Each trial shows a photo, a painting, and two versions \
of the photo repainted in the painting's style, A and B. Choose the one that is the better \
painting of the photo in that style: the photo's content still clear, with the painting's \
colours, brushwork and texture. If you really cannot choose, press \"Can't tell\".";

/// The instructions for absolute-rating studies.
pub const ACR_INSTRUCTIONS: &str = "Each trial shows a photo, a painting, and one version of \
the photo repainted in the painting's style. Rate how good a painting of the photo in that \
style it is, from 1 (bad) to 5 (excellent): the photo's content still clear, with the \
painting's colours, brushwork and texture.";

/// Makes the study folder `dir` (which must not exist) for `sources` and their matched
/// `items`, checking that every image decodes within `limits`.
pub fn create(
    dir: &Path,
    sources: &[Source],
    items: &[Matched],
    new: &NewStudy,
    limits: &Limits,
) -> Result<Study> {
    if dir.exists() {
        return Err(Error::Usage(format!(
            "{} already exists; a study is never overwritten: choose a new folder",
            dir.display()
        )));
    }
    let token = random_hex()?;
    atomic::write_dir(dir, |tmp| {
        let images = tmp.join(IMAGES_DIR);
        std::fs::create_dir(&images).map_err(|e| Error::output(&images, e))?;
        let mut copier = Copier {
            dir: images,
            limits,
            done: HashMap::new(),
        };
        let mut out = Vec::new();
        for (i, m) in items.iter().enumerate() {
            // The gold copy breaks the result of a different method for each item.
            let broken_one = i % m.results.len();
            let mut results = Vec::new();
            let mut gold = None;
            for (k, r) in m.results.iter().enumerate() {
                let (name, image) = copier.copy(r)?;
                if k == broken_one {
                    gold = Some(copier.gold(image, r, i as u64)?);
                }
                results.push(name);
            }
            out.push(Item {
                name: m.name.clone(),
                photo: Some(copier.copy(&m.photo)?.0),
                painting: Some(copier.copy(&m.painting)?.0),
                results,
                gold: gold.expect("every item has a result to break"),
            });
        }
        let study = Study {
            format: FORMAT,
            title: new.title.clone(),
            mode: new.mode,
            instructions: new.instructions.clone().unwrap_or_else(|| {
                match new.mode {
                    Mode::Pairs => PAIRS_INSTRUCTIONS,
                    Mode::Acr => ACR_INSTRUCTIONS,
                }
                .to_string()
            }),
            instructions_version: new.instructions_version.clone(),
            token: token.clone(),
            methods: sources.iter().map(|s| s.name.clone()).collect(),
            items: out,
            trials_per_rater: new.trials,
            gold_per_rater: new.gold,
            repeats_per_rater: new.repeats,
        };
        study.save(tmp)?;
        Ok(study)
    })
}

/// Copies images into the study under random names, each source file once.
struct Copier<'a> {
    dir: PathBuf,
    limits: &'a Limits,
    done: HashMap<PathBuf, String>,
}

impl Copier<'_> {
    /// The study name of `path`'s image, copied byte for byte the first time, with the image
    /// as decoded then (`None` when it was copied before).
    fn copy(&mut self, path: &Path) -> Result<(String, Option<Rgb>)> {
        if let Some(name) = self.done.get(path) {
            return Ok((name.clone(), None));
        }
        let bytes = crate::codec::read_input(path)?;
        let image = decode(&bytes, self.limits)
            .map_err(|e| e.named(path))?
            .image;
        let jpeg = bytes.starts_with(&[0xff, 0xd8]);
        let name = format!("{}.{}", random_hex()?, if jpeg { "jpg" } else { "png" });
        atomic::write(&self.dir.join(&name), &bytes)?;
        self.done.insert(path.to_path_buf(), name.clone());
        Ok((name, Some(image)))
    }

    /// The study name of a broken copy of the result `path` (`image`, when already decoded).
    fn gold(&mut self, image: Option<Rgb>, path: &Path, seed: u64) -> Result<String> {
        let image = match image {
            Some(image) => image,
            None => crate::codec::load(path, self.limits)?.image,
        };
        let png = encode(&broken(&image, seed), None, Format::Png8)?;
        let name = format!("{}.png", random_hex()?);
        atomic::write(&self.dir.join(&name), &png)?;
        Ok(name)
    }
}
