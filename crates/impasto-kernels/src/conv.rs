//! A 3×3 convolution with its kernel chosen by shape: Winograd where there are enough input
//! channels to pay for the transforms, a direct kernel for a few output channels, and im2col
//! otherwise.

use super::conv3x3::{self, Conv3x3Weights};
use super::conv_narrow;
use super::winograd::{self, WinogradWeights};
use super::{Mask, Precision};

/// Input channels from which Winograd is used.
const WINOGRAD_MIN_CIN: usize = 16;

/// A 3×3 convolution (stride 1, zero padding 1) ready to run on the CPU.
#[derive(Debug)]
pub enum ConvKernel {
    /// im2col + product (few input channels).
    Direct(Conv3x3Weights),
    /// Row sums (few output channels).
    Narrow(Conv3x3Weights),
    /// Winograd F(4×4, 3×3).
    Winograd(WinogradWeights),
}

impl ConvKernel {
    /// Prepares `w` for the CPU in `precision` (the direct kernel is always f32).
    pub fn new(w: Conv3x3Weights, precision: Precision) -> Self {
        if w.cout <= conv_narrow::MAX_COUT {
            ConvKernel::Narrow(w)
        } else if w.cin >= WINOGRAD_MIN_CIN {
            ConvKernel::Winograd(WinogradWeights::new(
                &w.w, &w.bias, w.cout, w.cin, precision,
            ))
        } else {
            ConvKernel::Direct(w)
        }
    }

    /// Input channels.
    pub fn cin(&self) -> usize {
        match self {
            ConvKernel::Direct(w) | ConvKernel::Narrow(w) => w.cin,
            ConvKernel::Winograd(w) => w.cin,
        }
    }

    /// Output channels.
    pub fn cout(&self) -> usize {
        match self {
            ConvKernel::Direct(w) | ConvKernel::Narrow(w) => w.cout,
            ConvKernel::Winograd(w) => w.cout,
        }
    }

    /// `out[n, cout, h, w] = relu?(conv3x3(x · mask) + bias)`.
    #[allow(clippy::too_many_arguments)]
    pub fn run(
        &self,
        x: &[f32],
        mask: Mask,
        n: usize,
        h: usize,
        w: usize,
        relu: bool,
        out: &mut [f32],
    ) {
        match self {
            ConvKernel::Direct(k) => conv3x3::conv3x3_masked(x, mask, n, h, w, k, relu, out),
            ConvKernel::Narrow(k) => conv_narrow::conv3x3(x, mask, n, h, w, k, relu, out),
            ConvKernel::Winograd(k) => winograd::conv3x3(x, mask, n, h, w, k, relu, out),
        }
    }
}
