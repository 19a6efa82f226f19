//! The shape of a feed-forward style network (Johnson et al. 2016, slimmed for the CPU):
//! reflection padding, instance normalisation (conditional, one scale and shift per style:
//! Dumoulin et al. 2017), residual blocks at a quarter of the resolution, and upsampling by
//! nearest resize then convolution, which leaves no checkerboard. Unlike Johnson's network it
//! keeps no activations at full resolution: the first convolution already halves the image
//! and the last one makes RGB straight from the upsampled half-resolution features, which is
//! where most of a one-pass's time went (measured in BENCHMARKS.md).

use impasto_kernels::conv2d::ConvShape;
use serde::{Deserialize, Serialize};

use crate::{Error, Result, Setting};

/// Width and depth of a network.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Arch {
    /// Channels at half and quarter resolution.
    pub channels: [usize; 2],
    /// Residual blocks at quarter resolution.
    pub blocks: usize,
    /// Kernel size of the first and the last convolution (odd).
    pub outer_kernel: usize,
}

/// The default network: chosen by measuring speed and quality (BENCHMARKS.md).
pub const DEFAULT_ARCH: Arch = Arch {
    channels: [16, 48],
    blocks: 3,
    outer_kernel: 3,
};

impl Default for Arch {
    fn default() -> Self {
        DEFAULT_ARCH
    }
}

/// One step of the network, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layer {
    /// Reflection padding by this many pixels on each side.
    Pad(usize),
    /// Convolution `index` (valid, on the padded input); only the last one has a bias.
    Conv {
        /// Which convolution: names its weights `conv{index}.weight` (and `.bias`).
        index: usize,
        /// Channels, kernel size and stride.
        shape: ConvShape,
        /// Whether it adds a bias (the last convolution; the others feed a norm).
        bias: bool,
    },
    /// Conditional instance norm `index` (`norm{index}.scale`, `.shift`, one row per style),
    /// with a ReLU after it where `relu`.
    Norm {
        /// Which norm.
        index: usize,
        /// Channels.
        channels: usize,
        /// Whether a ReLU follows.
        relu: bool,
    },
    /// Nearest-neighbour upsampling by 2.
    Upsample,
    /// Start of a residual block: keep the current activation.
    Save,
    /// End of a residual block: add the kept activation.
    AddSaved,
}

impl Arch {
    /// Checks the sizes and says which is wrong.
    pub fn validate(&self) -> Result<()> {
        if self.channels.iter().any(|&c| c == 0 || c > 512) {
            return Err(Error::setting(
                Setting::Channels,
                format!("{:?}", self.channels),
                "give two channel counts from 1 to 512",
            ));
        }
        if self.blocks > 32 {
            return Err(Error::setting(
                Setting::Blocks,
                self.blocks,
                "give 0 to 32 residual blocks",
            ));
        }
        if self.outer_kernel.is_multiple_of(2) || self.outer_kernel > 15 {
            return Err(Error::setting(
                Setting::Channels,
                format!("kernel {}", self.outer_kernel),
                "the outer kernel size must be odd, 1 to 15",
            ));
        }
        Ok(())
    }

    /// The network's steps, from the RGB input to the RGB output.
    pub fn layers(&self) -> Vec<Layer> {
        let [c1, c2] = self.channels;
        let k = self.outer_kernel;
        let mut out = Vec::new();
        let (mut conv, mut norm) = (0, 0);
        let mut block = |out: &mut Vec<Layer>, cin, cout, k, stride, relu: Option<bool>| {
            if k > 1 {
                out.push(Layer::Pad(k / 2));
            }
            let shape = ConvShape {
                cin,
                cout,
                k,
                stride,
            };
            out.push(Layer::Conv {
                index: conv,
                shape,
                bias: relu.is_none(),
            });
            conv += 1;
            if let Some(relu) = relu {
                out.push(Layer::Norm {
                    index: norm,
                    channels: cout,
                    relu,
                });
                norm += 1;
            }
        };
        block(&mut out, 3, c1, k, 2, Some(true));
        block(&mut out, c1, c2, 3, 2, Some(true));
        for _ in 0..self.blocks {
            out.push(Layer::Save);
            block(&mut out, c2, c2, 3, 1, Some(true));
            block(&mut out, c2, c2, 3, 1, Some(false));
            out.push(Layer::AddSaved);
        }
        out.push(Layer::Upsample);
        block(&mut out, c2, c1, 3, 1, Some(true));
        out.push(Layer::Upsample);
        block(&mut out, c1, 3, k, 1, None);
        out
    }

    /// How far, in input pixels, an output pixel sees on each side: the sum over the
    /// convolutions of half their kernel times the size of their input's pixels.
    pub fn reach(&self) -> usize {
        let (mut scale, mut total) = (1, 0);
        for l in self.layers() {
            match l {
                Layer::Conv { shape, .. } => {
                    total += shape.k / 2 * scale;
                    scale *= shape.stride;
                }
                Layer::Upsample => scale /= 2,
                _ => {}
            }
        }
        total
    }

    /// Multiply-adds of one pass over a `w × h` image (for plans and reports).
    pub fn macs(&self, w: usize, h: usize) -> u64 {
        let (mut scale, mut total) = (1u64, 0u64);
        for l in self.layers() {
            match l {
                Layer::Conv { shape, .. } => {
                    scale *= shape.stride as u64;
                    let px = (w as u64 / scale) * (h as u64 / scale);
                    total += px * (shape.cin * shape.cout * shape.k * shape.k) as u64;
                }
                Layer::Upsample => scale /= 2,
                _ => {}
            }
        }
        total
    }
}

/// Images are padded to a multiple of this before a pass (two halvings, two doublings).
pub const MULTIPLE: usize = 4;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_network_returns_to_rgb_at_full_size() {
        let layers = DEFAULT_ARCH.layers();
        let convs: Vec<_> = layers
            .iter()
            .filter_map(|l| match l {
                Layer::Conv { shape, .. } => Some(*shape),
                _ => None,
            })
            .collect();
        assert_eq!(convs.first().unwrap().cin, 3);
        assert_eq!(convs.last().unwrap().cout, 3);
        assert_eq!(convs.iter().map(|c| c.stride).product::<usize>(), 4);
        assert_eq!(layers.iter().filter(|l| **l == Layer::Upsample).count(), 2);
        assert_eq!(
            layers.iter().filter(|l| **l == Layer::Save).count(),
            DEFAULT_ARCH.blocks
        );
        assert!(DEFAULT_ARCH.macs(512, 512) > 1_000_000_000);
        assert!(DEFAULT_ARCH.macs(512, 512) < 4_000_000_000);
        // Head 1, down 2, six residual convolutions at quarter size 4 each, up 2, tail 1.
        assert_eq!(DEFAULT_ARCH.reach(), 30);
    }
}
