//! The VGG19 feature extractor: fused conv+ReLU layers and 2×2 max-pools, run only as deep as
//! the deepest layer asked for.

use std::sync::OnceLock;

use candle_core::{Device, Tensor};

use super::act::Store;
use super::layers::{LayerId, CONVS};
use super::weights::VggWeights;
use crate::image::Rgb;
use crate::{Error, Result};
use impasto_kernels::conv::{Conv3x3Weights, ConvKernel};
use impasto_kernels::Precision;

/// The ImageNet mean the Caffe VGG19 weights expect, in BGR order, on a 0..255 scale.
pub const MEAN_BGR: [f32; 3] = [103.939, 116.779, 123.68];

/// VGG19 with constant weights, run on the CPU by [`impasto_kernels`]. Build it from
/// [`VggWeights`] (which `impasto-io` reads from the weights file) and hand it to sessions; its
/// forward and backward passes (`tape.rs`) are the engine's own.
pub struct Vgg19 {
    convs: Vec<Conv>,
    precision: Precision,
}

/// One convolution of the network (ReLU after), its kernels prepared on first use (for the
/// instruction set in force then): transformed weights cost memory, and most runs never reach
/// the deepest layers.
pub(crate) struct Conv {
    weights: Conv3x3Weights,
    precision: Precision,
    forward: OnceLock<ConvKernel>,
    adjoint: OnceLock<ConvKernel>,
}

impl Conv {
    /// The convolution (bias included).
    pub(crate) fn forward(&self) -> &ConvKernel {
        self.forward
            .get_or_init(|| ConvKernel::new(self.weights.clone(), self.precision))
    }

    /// The adjoint convolution (no bias): applied to an output gradient it gives the input
    /// gradient of the convolution alone.
    pub(crate) fn adjoint(&self) -> &ConvKernel {
        self.adjoint
            .get_or_init(|| ConvKernel::new(self.weights.adjoint(), self.precision))
    }

    /// Output channels.
    pub(crate) fn cout(&self) -> usize {
        self.weights.cout
    }
}

impl Vgg19 {
    /// Builds the network from loaded weights, its convolutions running in `precision`.
    pub fn new(weights: &VggWeights, precision: Precision) -> Result<Self> {
        let mut convs = Vec::new();
        for (layer, &(b, i)) in weights.layers.iter().zip(CONVS.iter()) {
            let expected = format!("block{b}_conv{i}");
            if layer.name != expected {
                return Err(Error::Network(format!(
                    "weights list {} where {expected} was expected",
                    layer.name
                )));
            }
            convs.push(Conv {
                weights: Conv3x3Weights {
                    cout: layer.cout,
                    cin: layer.cin,
                    w: layer.w.clone(),
                    bias: layer.b.clone(),
                },
                precision,
                forward: OnceLock::new(),
                adjoint: OnceLock::new(),
            });
        }
        Ok(Self { convs, precision })
    }

    /// The precision the convolutions run in.
    pub fn precision(&self) -> Precision {
        self.precision
    }

    /// How passes hold activations, features and gradients: bf16 with bf16 precision (on every
    /// CPU, whatever its products run in), else f32.
    pub fn store(&self) -> Store {
        match self.precision {
            Precision::F32 => Store::F32,
            Precision::Bf16 => Store::Bf16,
        }
    }

    /// The convolutions, in network order.
    pub(crate) fn convs(&self) -> &[Conv] {
        &self.convs
    }

    /// Checks that the weights reach every layer in `layers`; returns the deepest one's index.
    pub(crate) fn check_layers(&self, layers: &[LayerId]) -> Result<usize> {
        let deepest = layers.iter().map(|l| l.0).max().unwrap_or(0);
        if deepest >= self.convs.len() {
            return Err(Error::Network(format!(
                "layer {} is beyond the {} layers in these weights",
                LayerId(deepest).name(),
                self.convs.len()
            )));
        }
        Ok(deepest)
    }

    /// An RGB image (0..255) as the network's input: `[1, 3, h, w]`, BGR, mean subtracted.
    pub(crate) fn preprocess(&self, image: &Rgb) -> Result<Tensor> {
        Ok(Tensor::from_vec(
            to_bgr_centered(image),
            (1, 3, image.height, image.width),
            &Device::Cpu,
        )?)
    }
}

/// RGB 0..255 planar → BGR planar minus the ImageNet mean.
pub fn to_bgr_centered(image: &Rgb) -> Vec<f32> {
    let mut out = Vec::with_capacity(image.data.len());
    for (c, m) in MEAN_BGR.iter().enumerate() {
        out.extend(image.plane(2 - c).iter().map(|v| v - m));
    }
    out
}

/// Inverse of [`to_bgr_centered`].
pub fn from_bgr_centered(data: &[f32], width: usize, height: usize) -> Rgb {
    let n = width * height;
    let mut out = Vec::with_capacity(3 * n);
    for c in 0..3 {
        let b = 2 - c;
        out.extend(data[b * n..(b + 1) * n].iter().map(|v| v + MEAN_BGR[b]));
    }
    Rgb::new(width, height, out)
}

/// A rough upper bound of the memory one optimisation step needs at `w × h` for the loss
/// layers `layers`, weights aside: the features, three layer-sized buffers of the backward
/// pass (output and input gradients, and a loss gradient), held as `store` says, the f32 bands
/// of a bf16 pass, and the ReLU masks (bits) of every layer up to the deepest.
pub fn step_memory_bytes(w: usize, h: usize, layers: &[LayerId], store: Store) -> u64 {
    let size = |i: usize| {
        let block = CONVS[i].0 as u32;
        let div = 1u64 << (2 * (block - 1));
        let ch = [64u64, 128, 256, 512, 512][block as usize - 1];
        ch * (w as u64 * h as u64) / div
    };
    let deepest = layers.iter().map(|l| l.0).max().unwrap_or(0);
    let features: u64 = layers.iter().map(|l| size(l.0)).sum();
    let all: u64 = (0..=deepest).map(size).sum();
    let peak = (0..=deepest).map(size).max().unwrap_or(0);
    let bands = match store {
        Store::F32 => 0,
        Store::Bf16 => super::banded::BAND_BYTES,
    };
    (features + 3 * peak) * store.bytes() + all / 8 + bands
}
