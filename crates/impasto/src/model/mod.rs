//! VGG19: layer names, the weights it is built from, the network, its CPU forward and
//! backward pass, and their per-layer profile.

pub mod layers;
pub mod profile;
pub mod tape;
pub mod vgg;
pub mod weights;
