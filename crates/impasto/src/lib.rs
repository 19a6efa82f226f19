//! Impasto: neural style transfer (Gatys et al.) on VGG19, built on candle.
//!
//! Data flows one way: images → tensors → features → losses → optimiser → image.
//! Front ends (CLI, studio) step a [`session::Session`]; the engine never prints.

pub mod error;
pub mod image;
pub mod loss;
pub mod metrics;
pub mod model;
pub mod objective;
pub mod ops;
pub mod optim;
pub mod prior;
pub mod schedule;
pub mod session;
pub mod settings;
pub mod sysmem;
pub mod video;

#[cfg(test)]
mod testutil;

pub use candle_core::{Device, Tensor};
pub use error::{Error, Result};
pub use impasto_kernels::{Isa, Precision};
