//! The VGG19 convolution weights as the engine takes them: dequantised f32, in network order.
//! Reading them from files is `impasto-io`'s work.

/// One 3x3 convolution layer of VGG19, dequantised.
#[derive(Debug, Clone, PartialEq)]
pub struct ConvWeights {
    /// Layer name, e.g. `block1_conv1`.
    pub name: String,
    /// Output channels.
    pub cout: usize,
    /// Input channels.
    pub cin: usize,
    /// Kernel, `[cout, cin, 3, 3]` row-major.
    pub w: Vec<f32>,
    /// Bias, `[cout]`.
    pub b: Vec<f32>,
}

/// The VGG19 convolution weights.
#[derive(Debug, Clone, PartialEq)]
pub struct VggWeights {
    /// Layers in network order (`block1_conv1`, `block1_conv2`, `block2_conv1`, ...), at least up
    /// to `block5_conv1`.
    pub layers: Vec<ConvWeights>,
}
