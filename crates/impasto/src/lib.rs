//! Impasto's engine: neural style transfer (Gatys et al.) on VGG19, built on candle and
//! Impasto's own CPU kernels (`impasto-kernels`).
//!
//! Data flows one way: images → features → losses → optimiser → image. Front ends (the CLI,
//! the studio) build [`Settings`], load a [`Vgg19`] (its weights come from `impasto-io`),
//! prepare the paintings once as [`StyleTargets`], and step a [`Session`] (or a
//! [`VideoStylizer`] for a sequence of frames). The engine never prints, never reads files
//! and never names a front end's flags: its [`Error`]s say which [`Setting`] is wrong, and
//! each front end words them for its users.

#![warn(missing_docs)]

pub mod error;
pub mod fast;
pub mod guide;
pub mod image;
mod loss;
pub mod metrics;
mod model;
mod objective;
mod ops;
mod optim;
pub mod plan;
mod precision;
mod prior;
pub mod rating;
pub mod schedule;
pub mod session;
pub mod settings;
pub mod sysmem;
pub mod video;

#[cfg(test)]
mod testutil;

pub use error::{Error, Result, Setting};
pub use fast::{Arch, FastNet, Runner, TrainReport, TrainSettings, Trainer};
pub use image::Rgb;
pub use impasto_kernels::{Isa, Precision};
pub use model::act::Store;
pub use model::layers::{parse_weighted_layers, LayerId};
pub use model::profile::LayerTime;
pub use model::vgg::Vgg19;
pub use model::weights::{ConvWeights, VggWeights};
pub use objective::Losses;
pub use precision::{choose_precision, precision_for, PRECISION_NAMES};
pub use prior::Prior;
pub use schedule::Stage;
pub use session::{
    Array, Arrays, OptimizerState, OwnedArray, Report, RunState, Session, Style, StyleTargets,
};
pub use settings::{Change, LossWeights, Optimizer, PreserveColor, Settings, Start};
pub use video::{Frame, VideoSettings, VideoStylizer};
