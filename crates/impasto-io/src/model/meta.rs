//! What a model file says about itself: architecture, styles (names and image hashes), how it
//! was trained, against which VGG19 weights, and by which Impasto.

use impasto::fast::Arch;
use impasto::TrainSettings;
use serde::{Deserialize, Serialize};

/// One style a model was trained for.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StyleMeta {
    /// The name a blend uses (`--style-mix name:w`): the painting's file stem by default.
    pub name: String,
    /// SHA-256 of the painting file's bytes.
    pub sha256: String,
}

/// The metadata of a model or checkpoint file.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ModelMeta {
    /// The network's width and depth.
    pub arch: Arch,
    /// The styles, in the order of the network's norm rows.
    pub styles: Vec<StyleMeta>,
    /// How it was trained.
    pub training: TrainSettings,
    /// Training photos used.
    pub photos: usize,
    /// Steps trained.
    pub steps_done: usize,
    /// Seconds of training.
    pub seconds: f64,
    /// SHA-256 of the VGG19 weights file the losses used.
    pub vgg19_sha256: String,
    /// The Impasto version that wrote the file.
    pub impasto_version: String,
}

impl ModelMeta {
    /// The style names, in order.
    pub fn style_names(&self) -> Vec<String> {
        self.styles.iter().map(|s| s.name.clone()).collect()
    }
}
