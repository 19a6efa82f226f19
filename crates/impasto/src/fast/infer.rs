//! The one-pass (inference) executor: the layers of [`super::run::forward`] without a tape,
//! with buffers reused across layers and calls, and neighbouring layers fused where the
//! result stays the same up to rounding: reflection padding into the 3×3 convolution after
//! it (the kernel reflects at the border itself: no padded copy, no border ring computed and
//! cropped), an upsampling into the convolution after its padding (the kernel reads the half
//! size rows doubled), and a residual block's last norm into the block's add.

use impasto_kernels::conv::{ConvInput, ConvKernel};
use impasto_kernels::conv2d::{self, Batch};
use impasto_kernels::norm::{self, Moments, Planes};
use impasto_kernels::{pad, resample};

use super::arch::Layer;
use super::params::Params;
use super::run::{blended, Act};

/// The prepared fast kernel of each convolution that has one (3×3, stride 1), by index.
pub(crate) type Kernels = Vec<Option<ConvKernel>>;

/// Activation buffers kept between layers and passes, so big ones are not allocated (and
/// faulted in page by page) again each time.
#[derive(Default)]
pub(crate) struct Buffers(Vec<Vec<f32>>);

impl Buffers {
    /// A buffer of `len` values, contents unspecified: one of that length if kept, else the
    /// roomiest kept one, else a new one.
    pub(crate) fn take(&mut self, len: usize) -> Vec<f32> {
        let pick = self.0.iter().position(|b| b.len() == len).or_else(|| {
            (0..self.0.len())
                .filter(|&i| self.0[i].capacity() >= len)
                .max_by_key(|&i| self.0[i].capacity())
        });
        let mut b = pick.map(|i| self.0.swap_remove(i)).unwrap_or_default();
        b.resize(len, 0.0);
        b
    }

    /// Keeps `b` for a later [`Buffers::take`].
    pub(crate) fn give(&mut self, b: Vec<f32>) {
        if b.capacity() > 0 {
            self.0.push(b);
        }
    }
}

/// Where each instance norm's moments come from.
pub(crate) enum Stats<'a> {
    /// Each norm measures its own input.
    Measure,
    /// Each norm measures its input and records the moments, by norm index.
    Record(&'a mut Vec<Vec<Moments>>),
    /// Each norm uses the moments given, by norm index (a tile uses its whole image's).
    Frozen(&'a [Vec<Moments>]),
}

/// Runs `layers` on `x` with the prepared `kernels`, the norms' moments from `stats`, taking
/// buffers from `bufs` and giving back all but the output's.
pub(crate) fn forward(
    layers: &[Layer],
    params: &Params,
    kernels: &Kernels,
    mix: &[f32],
    (x, mut stats): (Act, Stats),
    bufs: &mut Buffers,
) -> Act {
    let mut x = x;
    // Kept activations of the open residual blocks; `x` may be the last of them (`x.data`
    // then empty), read where it lies instead of copied.
    let mut skips: Vec<Vec<f32>> = Vec::new();
    let mut x_is_skip = false;
    let mut i = 0;
    while i < layers.len() {
        let (c, h, w) = (x.c, x.h, x.w);
        let next = layers.get(i + 1).copied();
        if layers[i] == Layer::Save {
            let kept = match x_is_skip {
                true => {
                    let top = skips.last().expect("a kept activation");
                    let mut copy = bufs.take(top.len());
                    copy.copy_from_slice(top);
                    copy
                }
                false => std::mem::take(&mut x.data),
            };
            skips.push(kept);
            x_is_skip = true;
            i += 1;
            continue;
        }
        // A residual block's last norm adds into the kept activation in place.
        let fused_add = match (layers[i], next) {
            (Layer::Norm { relu: false, .. }, Some(Layer::AddSaved)) if !x_is_skip => skips.pop(),
            _ => None,
        };
        // A 3×3 convolution with a prepared kernel after its padding (and an upsampling):
        // the kernel, the layers it takes in, and whether it upsamples.
        let kernel_at = |j: usize| match layers.get(j) {
            Some(Layer::Conv { index, .. }) => kernels[*index].as_ref(),
            _ => None,
        };
        let fused_conv = match (layers[i], next) {
            (Layer::Pad(1), _) => kernel_at(i + 1).map(|k| (k, 2, false)),
            (Layer::Upsample, Some(Layer::Pad(1))) => kernel_at(i + 2).map(|k| (k, 3, true)),
            _ => None,
        };
        let input: &[f32] = match x_is_skip {
            true => skips.last().expect("a kept activation"),
            false => &x.data,
        };
        let mut pop_skip = false;
        let (out, c, h, w) = match (layers[i], next) {
            _ if fused_conv.is_some() => {
                let (kernel, layers_in, up) = fused_conv.expect("checked above");
                i += layers_in - 1;
                let (h, w) = if up { (2 * h, 2 * w) } else { (h, w) };
                let mut out = bufs.take(kernel.cout() * h * w);
                let conv_in = ConvInput::new(input, 1, h, w).reflected();
                let conv_in = if up { conv_in.upsampling() } else { conv_in };
                kernel.run(conv_in, false, &mut out);
                (out, kernel.cout(), h, w)
            }
            (Layer::Pad(p), _) => {
                let (ph, pw) = (h + 2 * p, w + 2 * p);
                let mut out = bufs.take(c * ph * pw);
                pad::reflect(input, c, h, w, p, &mut out);
                (out, c, ph, pw)
            }
            (Layer::Conv { index, shape, bias }, _) => {
                let weight = &params[&format!("conv{index}.weight")].data;
                let b: &[f32] = match bias {
                    true => &params[&format!("conv{index}.bias")].data,
                    false => &[],
                };
                let (oh, ow) = shape.out_size(h, w);
                let mut out = bufs.take(shape.cout * oh * ow);
                conv2d::conv2d(input, Batch { n: 1, h, w }, shape, weight, b, &mut out);
                (out, shape.cout, oh, ow)
            }
            (Layer::Norm { index, relu, .. }, _) => {
                let (gamma, beta) = blended(params, index, mix);
                let shape = Planes { n: 1, c, hw: h * w };
                let given = match &stats {
                    Stats::Frozen(all) => Some(all[index].as_slice()),
                    _ => None,
                };
                let (out, used) = match fused_add {
                    Some(mut acc) => {
                        i += 1;
                        let gb = (gamma.as_slice(), beta.as_slice());
                        let used = norm::instance_norm_add(input, shape, gb, given, &mut acc);
                        (acc, used)
                    }
                    None => {
                        let mut out = bufs.take(input.len());
                        let gb = (gamma.as_slice(), beta.as_slice());
                        let used =
                            norm::instance_norm_with(input, shape, gb, relu, given, &mut out);
                        (out, used)
                    }
                };
                if let Stats::Record(all) = &mut stats {
                    if all.len() <= index {
                        all.resize(index + 1, Vec::new());
                    }
                    all[index] = used;
                }
                (out, c, h, w)
            }
            (Layer::Upsample, _) => {
                let mut out = bufs.take(4 * input.len());
                resample::upsample2x(input, c, h, w, &mut out);
                (out, c, 2 * h, 2 * w)
            }
            (Layer::AddSaved, _) => {
                let skip = skips
                    .last()
                    .expect("a residual block starts before it ends");
                let mut out = bufs.take(input.len());
                out.iter_mut()
                    .zip(input)
                    .zip(skip)
                    .for_each(|((o, a), b)| *o = a + b);
                pop_skip = true;
                (out, c, h, w)
            }
            (Layer::Save, _) => unreachable!("handled above"),
        };
        if pop_skip {
            let skip = skips.pop().expect("a residual block starts before it ends");
            bufs.give(skip);
        }
        bufs.give(std::mem::take(&mut x.data));
        x_is_skip = false;
        x = Act { data: out, c, h, w };
        i += 1;
    }
    x
}
