//! The trained feed-forward models the studio offers: the `.safetensors` files of one folder,
//! loaded once at start and known to the page by name (the file stem) only.

use std::path::Path;
use std::sync::Arc;

use impasto::fast::FastNet;

use crate::error::Error;
use crate::protocol::ModelInfo;

/// Training checkpoints sit beside their models; they are not models.
const CHECKPOINT_SUFFIX: &str = ".checkpoint.safetensors";

/// One trained model and its listed name.
pub(crate) struct TrainedModel {
    /// The name the page picks it by (the file stem).
    pub name: String,
    /// The network.
    pub net: FastNet,
}

/// The models a studio offers, sorted by name.
#[derive(Clone, Default)]
pub struct Models {
    list: Vec<Arc<TrainedModel>>,
}

impl Models {
    /// Loads every `NAME.safetensors` in `dir`; a file that does not load is skipped and
    /// `warn` hears why (the message names the file).
    pub fn load(dir: &Path, mut warn: impl FnMut(&str)) -> Result<Self, Error> {
        let entries = std::fs::read_dir(dir).map_err(|e| {
            Error::BadInput(format!(
                "cannot read the models folder {}: {e}",
                dir.display()
            ))
        })?;
        let mut list = Vec::new();
        for entry in entries.flatten() {
            let path = entry.path();
            let Some(file) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            let Some(name) = file.strip_suffix(".safetensors") else {
                continue;
            };
            if file.ends_with(CHECKPOINT_SUFFIX) || !path.is_file() {
                continue;
            }
            match impasto_io::model::load_model(&path) {
                Ok(m) => list.push(Arc::new(TrainedModel {
                    name: name.to_string(),
                    net: m.net,
                })),
                Err(e) => warn(&format!("skipping the model {e}")),
            }
        }
        list.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(Self { list })
    }

    /// The models as the page lists them.
    pub(crate) fn infos(&self) -> Vec<ModelInfo> {
        self.list
            .iter()
            .map(|m| ModelInfo {
                name: m.name.clone(),
                styles: m.net.styles().to_vec(),
            })
            .collect()
    }

    /// The model listed as `name`; the message says which names there are.
    pub(crate) fn get(&self, name: &str) -> Result<Arc<TrainedModel>, String> {
        if let Some(m) = self.list.iter().find(|m| m.name == name) {
            return Ok(Arc::clone(m));
        }
        let names: Vec<&str> = self.list.iter().map(|m| m.name.as_str()).collect();
        Err(match names.is_empty() {
            true => "this studio has no trained models".into(),
            false => format!(
                "there is no trained model called '{}': pick one of {}",
                name.chars().take(80).collect::<String>(),
                names.join(", ")
            ),
        })
    }
}
