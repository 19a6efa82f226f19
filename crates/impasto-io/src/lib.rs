//! Impasto's adapters to the outside world, apart from the engine so that its heavy and
//! process-starting dependencies stay at the edge: image files ([`codec`]), video through the
//! `ffmpeg` program ([`video`]), and the VGG19 weights file ([`weights`]).

#![warn(missing_docs)]

pub mod atomic;
pub mod codec;
pub mod error;
pub mod video;
pub mod weights;

#[cfg(test)]
mod testutil;

pub use error::{Error, Result};
