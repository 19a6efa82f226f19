//! VGG19: layer names, the weights it is built from, the network, and its CPU forward and
//! backward pass.

pub mod layers;
pub mod tape;
pub mod vgg;
pub mod weights;
