//! VGG19: layer names, the weights it is built from, the network, its CPU forward and
//! backward pass (on activations held in f32 or bf16), and their per-layer profile.

pub(crate) mod act;
pub(crate) mod banded;
pub mod layers;
pub mod profile;
pub mod tape;
pub mod vgg;
pub mod weights;
