//! Feed-forward style networks (Johnson et al. 2016; Dumoulin et al. 2017): one pass per
//! image instead of an optimisation, trained on photos with the same VGG19 losses.

mod adam;
mod arch;
mod infer;
mod net;
mod params;
pub(crate) mod rng;
mod run;
mod tiles;
mod train;

#[cfg(test)]
mod tests;

pub use adam::Adam;
pub use arch::{Arch, Layer, DEFAULT_ARCH, MULTIPLE};
pub use net::{FastNet, Runner, MIN_SIDE};
pub use params::{Param, Params};
pub use tiles::Tiling;
pub use train::{
    Checkpoint, TrainReport, TrainSettings, TrainStyle, Trainer, DEFAULT_TRAIN_CONTENT_WEIGHT,
    DEFAULT_TRAIN_STYLE_LAYERS,
};
