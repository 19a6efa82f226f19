//! 3×3 convolutions (stride 1, zero or reflection padding 1, NCHW f32) with their kernel chosen by shape:
//! Winograd where there are enough input channels to pay for the transforms, a direct kernel
//! for a few output channels, and im2col otherwise.

use crate::winograd::{self, WinogradWeights};
use crate::{im2col, narrow, resample, Isa, Mask, Precision};

/// Input channels from which Winograd is used.
const WINOGRAD_MIN_CIN: usize = 16;

/// Weights of one 3×3 convolution in `[cout, cin, 3, 3]` order, plus an optional bias.
#[derive(Debug, Clone)]
pub struct Conv3x3Weights {
    /// Output channels.
    pub cout: usize,
    /// Input channels.
    pub cin: usize,
    /// `cout × cin × 9` weights, row-major.
    pub w: Vec<f32>,
    /// `cout` biases, or empty for none.
    pub bias: Vec<f32>,
}

impl Conv3x3Weights {
    /// The weights of the adjoint convolution (input gradient): channels swapped, taps flipped,
    /// no bias. Convolving an output gradient with these gives the input gradient.
    pub fn adjoint(&self) -> Self {
        let (cout, cin) = (self.cout, self.cin);
        let mut w = vec![0.0; cout * cin * 9];
        for co in 0..cout {
            for ci in 0..cin {
                for k in 0..9 {
                    w[(ci * cout + co) * 9 + (8 - k)] = self.w[(co * cin + ci) * 9 + k];
                }
            }
        }
        Self {
            cout: cin,
            cin: cout,
            w,
            bias: Vec::new(),
        }
    }
}

/// What the taps read outside an image.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Border {
    /// Zeros (a "same" convolution).
    #[default]
    Zero,
    /// The image reflected at its edges, the edge not repeated (PyTorch's
    /// `ReflectionPad2d(1)`): a valid convolution of the reflection-padded image. Needs images
    /// of at least 2 × 2.
    Reflect,
}

impl Border {
    /// The image row that padded row `y` (`-1..=h`, image rows `0..h`) reads, or `None` for
    /// zeros.
    pub(crate) fn row(self, y: isize, h: usize) -> Option<usize> {
        match self {
            _ if (0..h as isize).contains(&y) => Some(y as usize),
            Border::Reflect if y == -1 => Some(1),
            Border::Reflect if y == h as isize => Some(h - 2),
            _ => None,
        }
    }

    /// Fills the left and right padding of `row`, an image row of `w` values at `1..=w`
    /// (`row[0]` and `row[w + 1]` are zero already).
    pub(crate) fn pad_columns(self, row: &mut [f32], w: usize) {
        if self == Border::Reflect {
            row[0] = row[2];
            row[w + 1] = row[w - 1];
        }
    }
}

/// The input of a convolution: a batch of images and which of their values count.
#[derive(Clone, Copy)]
pub struct ConvInput<'a> {
    /// `n × cin × h × w` values.
    pub x: &'a [f32],
    /// Inputs that count as zero ([`Mask::None`]: none).
    pub mask: Mask<'a>,
    /// Images in the batch.
    pub n: usize,
    /// Height of each image.
    pub h: usize,
    /// Width of each image.
    pub w: usize,
    /// What lies outside each image.
    pub border: Border,
    /// Whether `x` holds images of `h/2 × w/2` that the convolution reads upsampled by 2
    /// (nearest: [`resample::upsample2x`] fused in). Needs even `h`, `w` and no mask.
    pub upsampled: bool,
}

impl<'a> ConvInput<'a> {
    /// `n` images of `h × w` in `x`, every value counting.
    pub fn new(x: &'a [f32], n: usize, h: usize, w: usize) -> Self {
        Self {
            x,
            mask: Mask::None,
            n,
            h,
            w,
            border: Border::Zero,
            upsampled: false,
        }
    }

    /// The same images with the values `mask` rules out counting as zero.
    pub fn masked(self, mask: Mask<'a>) -> Self {
        Self { mask, ..self }
    }

    /// The same images reflected at their edges instead of zero-padded ([`Border::Reflect`]).
    pub fn reflected(self) -> Self {
        Self {
            border: Border::Reflect,
            ..self
        }
    }

    /// The same images given at half their size (`h/2 × w/2` in `x`), read upsampled.
    pub fn upsampling(self) -> Self {
        Self {
            upsampled: true,
            ..self
        }
    }

    /// Pixels of one image plane.
    pub(crate) fn hw(&self) -> usize {
        self.h * self.w
    }

    /// Values of one plane in `x`.
    pub(crate) fn plane_len(&self) -> usize {
        match self.upsampled {
            true => self.hw() / 4,
            false => self.hw(),
        }
    }

    /// Writes row `y` of plane `p` (counting the planes of every image) as the convolution
    /// reads it, upsampled and masked, into `dst` (`w` values), with code for `isa`.
    pub(crate) fn read_row(&self, isa: Isa, p: usize, y: usize, dst: &mut [f32]) {
        if self.upsampled {
            let half = self.w / 2;
            let src = &self.x[(p * (self.h / 2) + y / 2) * half..][..half];
            // SAFETY: `dst` holds two values per value of `src`; `isa` is the caller's.
            unsafe { resample::double_row(isa, src, dst) };
        } else {
            let off = (p * self.h + y) * self.w;
            dst.copy_from_slice(&self.x[off..][..self.w]);
            self.mask.apply(isa, off, dst);
        }
    }
}

/// A 3×3 convolution (stride 1, padding 1 as the input's [`Border`] says) ready to run on the CPU with the instruction
/// set in force when it was made.
#[derive(Debug)]
pub struct ConvKernel {
    isa: Isa,
    method: Method,
}

/// How a [`ConvKernel`] computes.
#[derive(Debug)]
enum Method {
    /// im2col + product (few input channels).
    Im2col(Conv3x3Weights),
    /// Row sums (few output channels).
    Narrow(Conv3x3Weights),
    /// Winograd F(4×4, 3×3).
    Winograd(WinogradWeights),
}

impl ConvKernel {
    /// Prepares `w` for [`Isa::get`] with products in `precision` (where bf16 is not supported
    /// and for the im2col and narrow kernels, f32).
    pub fn new(w: Conv3x3Weights, precision: Precision) -> Self {
        assert_eq!(w.w.len(), w.cout * w.cin * 9, "conv: weight size");
        let isa = Isa::get();
        let method = if w.cout <= narrow::MAX_COUT {
            Method::Narrow(w)
        } else if w.cin >= WINOGRAD_MIN_CIN {
            Method::Winograd(WinogradWeights::new(&w, precision, isa))
        } else {
            Method::Im2col(w)
        };
        Self { isa, method }
    }

    /// Input channels.
    pub fn cin(&self) -> usize {
        match &self.method {
            Method::Im2col(w) | Method::Narrow(w) => w.cin,
            Method::Winograd(w) => w.cin,
        }
    }

    /// Output channels.
    pub fn cout(&self) -> usize {
        match &self.method {
            Method::Im2col(w) | Method::Narrow(w) => w.cout,
            Method::Winograd(w) => w.cout,
        }
    }

    /// `out[n, cout, h, w] = relu?(conv3x3(x · mask) + bias)`, padded as `input.border` says.
    pub fn run(&self, input: ConvInput, relu: bool, out: &mut [f32]) {
        let (cin, cout, hw) = (self.cin(), self.cout(), input.hw());
        assert_eq!(
            input.x.len(),
            input.n * cin * input.plane_len(),
            "conv: input size"
        );
        assert_eq!(out.len(), input.n * cout * hw, "conv: output size");
        input.mask.check(input.x.len());
        assert!(
            !input.upsampled
                || (input.h.is_multiple_of(2)
                    && input.w.is_multiple_of(2)
                    && matches!(input.mask, Mask::None)),
            "conv: upsampling needs even sizes and no mask"
        );
        if input.n == 0 || hw == 0 {
            return;
        }
        assert!(
            input.border == Border::Zero || (input.h >= 2 && input.w >= 2),
            "conv: reflecting needs images of 2 × 2 or more, not {}×{}",
            input.h,
            input.w
        );
        match &self.method {
            Method::Im2col(k) if input.upsampled => {
                let mut x = vec![0.0; input.n * cin * hw];
                let (n, h, w) = (input.n, input.h, input.w);
                resample::upsample2x(input.x, n * cin, h / 2, w / 2, &mut x);
                let input = ConvInput {
                    x: &x,
                    upsampled: false,
                    ..input
                };
                im2col::convolve(self.isa, input, k, relu, out)
            }
            Method::Im2col(k) => im2col::convolve(self.isa, input, k, relu, out),
            Method::Narrow(k) => narrow::convolve(self.isa, input, k, relu, out),
            Method::Winograd(k) => winograd::convolve(input, k, relu, out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{conv_reference, masked, Lcg};

    #[test]
    fn adjoint_is_the_transpose() {
        // <conv(x), g> == <x, conv_adjoint(g)> for any x, g: the input gradient is exact.
        let mut rng = Lcg(3);
        let (cin, cout, h, w) = (5, 6, 7, 9);
        let k = rng.conv(cout, cin, 0.0);
        let x = rng.vec(cin * h * w, 1.0);
        let g = rng.vec(cout * h * w, 1.0);
        let y = conv_reference(&x, 1, h, w, &k, false);
        let gx = conv_reference(&g, 1, h, w, &k.adjoint(), false);
        let lhs: f64 = y.iter().zip(&g).map(|(a, b)| (a * b) as f64).sum();
        let rhs: f64 = x.iter().zip(&gx).map(|(a, b)| (a * b) as f64).sum();
        assert!(
            (lhs - rhs).abs() < 1e-4 * lhs.abs().max(1.0),
            "{lhs} vs {rhs}"
        );
    }

    #[test]
    fn every_kernel_on_every_instruction_set_matches_the_reference() {
        let mut rng = Lcg(9);
        // Narrow (3 outputs), im2col (3 inputs), Winograd (20 inputs), with a mask.
        for &(cin, cout) in &[(20, 3), (3, 10), (20, 10)] {
            let (n, h, w) = (2, 11, 13);
            let k = rng.conv(cout, cin, 1.0);
            let x = rng.vec(n * cin * h * w, 1.0);
            let m = rng.vec(x.len(), 1.0);
            let want = conv_reference(&masked(&x, &m), n, h, w, &k, true);
            for isa in Isa::supported() {
                let mut got = vec![f32::NAN; want.len()];
                Isa::with(isa, || {
                    let kernel = ConvKernel::new(k.clone(), Precision::F32);
                    let input = ConvInput::new(&x, n, h, w).masked(Mask::Positive(&m));
                    kernel.run(input, true, &mut got)
                });
                for (a, b) in got.iter().zip(&want) {
                    assert!((a - b).abs() <= 1e-4, "{isa:?} {cin}→{cout}: {a} vs {b}");
                }
            }
        }
    }

    #[test]
    fn reflecting_is_the_valid_convolution_of_the_reflection_padded_image() {
        let mut rng = Lcg(10);
        // Narrow, im2col and Winograd; images down to 2 × 2.
        for &(cin, cout) in &[(20, 3), (3, 10), (20, 10)] {
            for &(n, h, w) in &[(2, 11, 13), (1, 2, 2), (1, 3, 37)] {
                let k = rng.conv(cout, cin, 1.0);
                let x = rng.vec(n * cin * h * w, 1.0);
                let m = rng.vec(x.len(), 1.0);
                let mut padded = vec![0.0; n * cin * (h + 2) * (w + 2)];
                crate::pad::reflect(&masked(&x, &m), n * cin, h, w, 1, &mut padded);
                let same = conv_reference(&padded, n, h + 2, w + 2, &k, true);
                let mut want = vec![0.0; n * cout * h * w];
                crate::pad::crop(&same, n * cout, h, w, 1, &mut want);
                for isa in Isa::supported() {
                    let mut got = vec![f32::NAN; want.len()];
                    Isa::with(isa, || {
                        let kernel = ConvKernel::new(k.clone(), Precision::F32);
                        let input = ConvInput::new(&x, n, h, w).masked(Mask::Positive(&m));
                        kernel.run(input.reflected(), true, &mut got)
                    });
                    for (a, b) in got.iter().zip(&want) {
                        assert!(
                            (a - b).abs() <= 1e-4,
                            "{isa:?} {cin}→{cout} at {h}×{w}: {a} vs {b}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn upsampling_is_upsample_then_convolve() {
        let mut rng = Lcg(11);
        for &(cin, cout) in &[(20, 3), (3, 10), (20, 10)] {
            let (n, h, w) = (2, 6, 14);
            let k = rng.conv(cout, cin, 1.0);
            let x = rng.vec(n * cin * h * w / 4, 1.0);
            let mut up = vec![0.0; 4 * x.len()];
            crate::resample::upsample2x(&x, n * cin, h / 2, w / 2, &mut up);
            for isa in Isa::supported() {
                Isa::with(isa, || {
                    let kernel = ConvKernel::new(k.clone(), Precision::F32);
                    for reflect in [false, true] {
                        let (mut want, mut got) = (vec![0.0; n * cout * h * w], vec![]);
                        got.resize(want.len(), f32::NAN);
                        let plain = ConvInput::new(&up, n, h, w);
                        let half = ConvInput::new(&x, n, h, w).upsampling();
                        let (plain, half) = match reflect {
                            true => (plain.reflected(), half.reflected()),
                            false => (plain, half),
                        };
                        kernel.run(plain, true, &mut want);
                        kernel.run(half, true, &mut got);
                        assert_eq!(got, want, "{isa:?} {cin}→{cout} reflect {reflect}");
                    }
                });
            }
        }
    }
}
