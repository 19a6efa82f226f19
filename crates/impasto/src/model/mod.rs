//! VGG19: weights (legacy torch.save reader, safetensors cache, fetch) and the network.

pub mod fetch;
pub mod layers;
pub mod tape;
pub mod torch_legacy;
pub mod vgg;
pub mod weights;
