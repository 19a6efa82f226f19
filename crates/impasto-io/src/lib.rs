//! Impasto's adapters to the outside world, apart from the engine so that its heavy and
//! process-starting dependencies stay at the edge: PNG and JPEG images, bytes first
//! ([`codec`]), video through the `ffmpeg` program ([`video`]), the VGG19 weights file
//! ([`weights`]), feed-forward model files ([`model`]) and their ONNX export ([`onnx`]), and
//! the atomic writes all of them use for their outputs ([`atomic`]); medical images (DICOM,
//! NIfTI, 16-bit grey) in and DICOM out ([`medical`]).

#![warn(missing_docs)]

pub mod atomic;
pub mod batch;
pub mod checkpoint;
pub mod codec;
pub mod error;
pub mod medical;
pub mod model;
pub mod onnx;
pub mod study;
pub mod video;
pub mod weights;

#[cfg(test)]
mod testutil;

pub use error::{Error, Refusal, Result};
