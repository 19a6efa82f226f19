//! Running a network's layers: forward (keeping what the backward pass needs when training)
//! and backward to the parameters' gradients. One image at a time; instance norm makes each
//! image's pass independent of the others in a batch.

use impasto_kernels::conv2d::{self, Batch};
use impasto_kernels::norm::{self, Moments, Planes};
use impasto_kernels::{pad, resample};

use super::arch::Layer;
use super::params::{Param, Params};

/// An activation: `c` planes of `h × w`.
#[derive(Clone, Debug)]
pub(crate) struct Act {
    pub data: Vec<f32>,
    pub c: usize,
    pub h: usize,
    pub w: usize,
}

/// What one layer kept for the backward pass.
enum Saved {
    /// Nothing but its input's size.
    Nothing,
    /// Its input (a convolution's, for the weight gradient).
    Input(Vec<f32>),
    /// Its input and each plane's moments (a norm's).
    Norm(Vec<f32>, Vec<Moments>),
}

/// A recorded forward pass of one image.
pub(crate) struct Tape {
    saved: Vec<Saved>,
    /// The input size of each layer.
    dims: Vec<[usize; 3]>,
}

/// The scale and shift of norm `index` for the style blend `mix` (weights summing to 1).
pub(crate) fn blended(params: &Params, index: usize, mix: &[f32]) -> (Vec<f32>, Vec<f32>) {
    let row_mix = |p: &Param| {
        let c = p.shape[1];
        let mut out = vec![0.0; c];
        for (s, &m) in mix.iter().enumerate() {
            if m != 0.0 {
                let row = &p.data[s * c..(s + 1) * c];
                out.iter_mut().zip(row).for_each(|(o, v)| *o += m * v);
            }
        }
        out
    };
    (
        row_mix(&params[&format!("norm{index}.scale")]),
        row_mix(&params[&format!("norm{index}.shift")]),
    )
}

/// Runs `layers` on `x`; with `tape`, records what [`backward`] needs.
pub(crate) fn forward(
    layers: &[Layer],
    params: &Params,
    mix: &[f32],
    mut x: Act,
    mut tape: Option<&mut Tape>,
) -> Act {
    let mut stack: Vec<Vec<f32>> = Vec::new();
    for layer in layers {
        let (c, h, w) = (x.c, x.h, x.w);
        let mut saved = Saved::Nothing;
        x = match *layer {
            Layer::Pad(p) => {
                let mut out = vec![0.0; c * (h + 2 * p) * (w + 2 * p)];
                pad::reflect(&x.data, c, h, w, p, &mut out);
                Act {
                    data: out,
                    c,
                    h: h + 2 * p,
                    w: w + 2 * p,
                }
            }
            Layer::Conv { index, shape, bias } => {
                let weight = &params[&format!("conv{index}.weight")].data;
                let b: &[f32] = if bias {
                    &params[&format!("conv{index}.bias")].data
                } else {
                    &[]
                };
                let (oh, ow) = shape.out_size(h, w);
                let mut out = vec![0.0; shape.cout * oh * ow];
                let batch = Batch { n: 1, h, w };
                conv2d::conv2d(&x.data, batch, shape, weight, b, &mut out);
                if tape.is_some() {
                    saved = Saved::Input(std::mem::take(&mut x.data));
                }
                Act {
                    data: out,
                    c: shape.cout,
                    h: oh,
                    w: ow,
                }
            }
            Layer::Norm { index, relu, .. } => {
                let (gamma, beta) = blended(params, index, mix);
                let mut out = vec![0.0; x.data.len()];
                let shape = Planes { n: 1, c, hw: h * w };
                let mut moments = vec![Moments::default(); c];
                norm::instance_norm(
                    &x.data,
                    shape,
                    (&gamma, &beta),
                    relu,
                    &mut out,
                    Some(&mut moments),
                );
                if tape.is_some() {
                    saved = Saved::Norm(std::mem::take(&mut x.data), moments);
                }
                Act { data: out, c, h, w }
            }
            Layer::Upsample => {
                let mut out = vec![0.0; 4 * x.data.len()];
                resample::upsample2x(&x.data, c, h, w, &mut out);
                Act {
                    data: out,
                    c,
                    h: 2 * h,
                    w: 2 * w,
                }
            }
            Layer::Save => {
                stack.push(x.data.clone());
                x
            }
            Layer::AddSaved => {
                let skip = stack.pop().expect("a residual block starts before it ends");
                x.data.iter_mut().zip(&skip).for_each(|(a, b)| *a += b);
                x
            }
        };
        if let Some(t) = tape.as_deref_mut() {
            t.saved.push(saved);
            t.dims.push([c, h, w]);
        }
    }
    x
}

impl Tape {
    /// An empty tape for [`forward`].
    pub(crate) fn new() -> Self {
        Self {
            saved: Vec::new(),
            dims: Vec::new(),
        }
    }
}

/// Adds to `grads` (same names and shapes as `params`) the gradient of a loss whose gradient
/// with respect to the network's output is `g`, from the `tape` of the forward pass with style
/// blend `mix`.
pub(crate) fn backward(
    layers: &[Layer],
    params: &Params,
    mix: &[f32],
    tape: Tape,
    mut g: Vec<f32>,
    grads: &mut Params,
) {
    let mut skips: Vec<Vec<f32>> = Vec::new();
    for (i, (layer, saved)) in layers.iter().zip(tape.saved).enumerate().rev() {
        let [c, h, w] = tape.dims[i];
        // Below the first convolution only the image is left, whose gradient is not needed.
        let first = !layers[..i].iter().any(|l| matches!(l, Layer::Conv { .. }));
        g = match (*layer, saved) {
            (Layer::Pad(p), _) => {
                let mut gx = vec![0.0; c * h * w];
                pad::reflect_backward(&g, c, h, w, p, &mut gx);
                gx
            }
            (Layer::Conv { index, shape, bias }, Saved::Input(x)) => {
                let batch = Batch { n: 1, h, w };
                let wname = format!("conv{index}.weight");
                let bname = format!("conv{index}.bias");
                let mut gb = match bias {
                    true => std::mem::take(grad(grads, &bname)),
                    false => Vec::new(),
                };
                conv2d::conv2d_backward_weights(&x, &g, batch, shape, grad(grads, &wname), &mut gb);
                if bias {
                    *grad(grads, &bname) = gb;
                }
                if first {
                    break;
                }
                let mut gx = vec![0.0; x.len()];
                conv2d::conv2d_backward_input(&g, batch, shape, &params[&wname].data, &mut gx);
                gx
            }
            (Layer::Norm { index, relu, .. }, Saved::Norm(x, moments)) => {
                let (gamma, beta) = blended(params, index, mix);
                let mut gx = vec![0.0; x.len()];
                let (mut gg, mut gs) = (vec![0.0; c], vec![0.0; c]);
                let shape = Planes { n: 1, c, hw: h * w };
                norm::instance_norm_backward(
                    &x,
                    shape,
                    (&gamma, &beta),
                    relu,
                    &moments,
                    &g,
                    &mut gx,
                    (&mut gg, &mut gs),
                );
                for (suffix, by_channel) in [("scale", &gg), ("shift", &gs)] {
                    let p = grad(grads, &format!("norm{index}.{suffix}"));
                    for (s, &m) in mix.iter().enumerate() {
                        if m != 0.0 {
                            let row = &mut p[s * c..(s + 1) * c];
                            row.iter_mut()
                                .zip(by_channel)
                                .for_each(|(a, b)| *a += m * b);
                        }
                    }
                }
                gx
            }
            (Layer::Upsample, _) => {
                let mut gx = vec![0.0; c * h * w];
                resample::upsample2x_backward(&g, c, h, w, &mut gx);
                gx
            }
            (Layer::AddSaved, _) => {
                skips.push(g.clone());
                g
            }
            (Layer::Save, _) => {
                let skip = skips.pop().expect("a residual block ends after it starts");
                g.iter_mut().zip(&skip).for_each(|(a, b)| *a += b);
                g
            }
            _ => unreachable!("the tape was recorded by these layers"),
        };
    }
}

/// The gradient of parameter `name` (gradients mirror the parameters).
fn grad<'a>(grads: &'a mut Params, name: &str) -> &'a mut Vec<f32> {
    &mut grads
        .get_mut(name)
        .expect("the gradients have the parameters' names")
        .data
}
