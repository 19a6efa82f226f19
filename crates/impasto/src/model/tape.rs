//! The network's own forward and backward pass on the CPU.
//!
//! The forward pass keeps only what the backward pass needs: each ReLU's mask as bits and
//! each max-pool's winners as bytes, not the activations. The backward pass runs the adjoint
//! convolutions with the masks fused into their input, from the deepest layer down, adding the
//! loss gradient of each layer where it was asked for.

use std::rc::Rc;
use std::time::Instant;

use candle_core::{Device, Storage, Tensor};

use super::layers::{LayerId, CONVS};
use super::profile::LayerTime;
use super::vgg::Vgg19;
use crate::{Error, Result};
use impasto_kernels::conv::ConvInput;
use impasto_kernels::{bits::positive_bits, maxpool, Mask};

/// What one layer kept for the backward pass.
struct Saved {
    /// Winners of the max-pool in front of the convolution, if there is one.
    pool: Option<Vec<u8>>,
    /// The ReLU mask of the convolution's output.
    mask: Vec<u64>,
    /// Input channels of the convolution.
    cin: usize,
    /// Size the convolution ran at.
    h: usize,
    w: usize,
}

/// A recorded forward pass of a batch of images, ready for [`Vgg19::backward`].
pub struct Tape {
    saved: Vec<Saved>,
    /// When profiling: seconds of each layer (its max-pool included), forward and backward.
    seconds: Option<Vec<[f64; 2]>>,
    /// Images in the batch and their size.
    n: usize,
    h: usize,
    w: usize,
}

/// The features of the requested layers, each `(data, [c, h, w])` (data holding every image
/// of the batch, one after the other).
pub type Features = Vec<(Vec<f32>, [usize; 3])>;

/// A layer output held both as the next layer's input and as a returned feature.
type Shared = (Rc<Vec<f32>>, [usize; 3]);

/// What a forward pass keeps besides the outputs asked for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Keep {
    /// Nothing.
    Outputs,
    /// What the backward pass needs.
    Tape,
    /// What the backward pass needs, and the seconds of each layer.
    Profile,
}

/// What a forward pass gives.
struct Pass {
    /// The outputs asked for, in the order asked, each `n` images of `[c, h, w]`.
    outs: Features,
    /// What each layer kept for the backward pass (with [`Keep::Tape`] and [`Keep::Profile`]).
    saved: Vec<Saved>,
    /// Seconds of each layer (with [`Keep::Profile`]).
    seconds: Vec<f64>,
}

impl Vgg19 {
    /// The outputs of `layers` (in that order) for a `[n, 3, h, w]` preprocessed batch, each
    /// `[n, c, h', w']`. Stops after the deepest requested layer.
    pub(crate) fn features(&self, x: &Tensor, layers: &[LayerId]) -> Result<Vec<Tensor>> {
        let (n, c, h, w) = x.dims4()?;
        if c != 3 {
            return Err(Error::Internal(format!(
                "features: an image with {c} channels, not 3"
            )));
        }
        let x = x.flatten_all()?.to_vec1::<f32>()?;
        let pass = self.pass(x, [n, h, w], layers, Keep::Outputs)?;
        pass.outs
            .into_iter()
            .map(|(f, [c, h, w])| Ok(Tensor::from_vec(f, (n, c, h, w), &Device::Cpu)?))
            .collect()
    }

    /// The outputs of `layers` (in that order) for the `n` images `x` (`[n, 3, h, w]`,
    /// preprocessed), keeping nothing for a backward pass.
    pub(crate) fn outputs(
        &self,
        x: Vec<f32>,
        shape: [usize; 3],
        layers: &[LayerId],
    ) -> Result<Features> {
        Ok(self.pass(x, shape, layers, Keep::Outputs)?.outs)
    }

    /// Runs the `n` images `x` (`[n, 3, h, w]`, preprocessed) to the deepest of `layers` and
    /// returns their outputs, in the order asked, with a tape for [`Vgg19::backward`].
    pub(crate) fn forward(
        &self,
        x: &[f32],
        shape: [usize; 3],
        layers: &[LayerId],
    ) -> Result<(Features, Tape)> {
        self.record(x, shape, layers, false)
    }

    /// [`Vgg19::forward`], and with `profile` the seconds of each layer on the tape, forward
    /// now and backward once [`Vgg19::backward`] has run.
    pub(super) fn record(
        &self,
        x: &[f32],
        [n, h, w]: [usize; 3],
        layers: &[LayerId],
        profile: bool,
    ) -> Result<(Features, Tape)> {
        let keep = if profile { Keep::Profile } else { Keep::Tape };
        let pass = self.pass(x.to_vec(), [n, h, w], layers, keep)?;
        let seconds = profile.then(|| pass.seconds.iter().map(|&s| [s, 0.0]).collect());
        let tape = Tape {
            saved: pass.saved,
            seconds,
            n,
            h,
            w,
        };
        Ok((pass.outs, tape))
    }

    /// Runs the `n` images `x` (`[n, 3, h, w]`, preprocessed) to the deepest of `layers`,
    /// keeping their outputs and what `keep` says.
    fn pass(
        &self,
        x: Vec<f32>,
        [n, h, w]: [usize; 3],
        layers: &[LayerId],
        keep: Keep,
    ) -> Result<Pass> {
        let deepest = self.check_layers(layers)?;
        assert_eq!(x.len(), n * 3 * h * w, "forward: input size");
        // Outputs are shared between the next layer's input and the returned features, never
        // copied: at 2048 px one block-1 activation is a gigabyte.
        let mut outs: Vec<Option<Shared>> = vec![None; layers.len()];
        let mut saved = Vec::new();
        let mut seconds = Vec::new();
        let (mut cur, mut ch, mut hh, mut ww) = (Rc::new(x), 3, h, w);
        for (i, conv) in self.convs()[..=deepest].iter().enumerate() {
            let start = (keep == Keep::Profile).then(Instant::now);
            let pool = if i > 0 && CONVS[i].1 == 1 {
                let (oh, ow) = (hh / 2, ww / 2);
                let mut out = vec![0.0; n * ch * oh * ow];
                let mut win = (keep != Keep::Outputs).then(|| vec![0u8; out.len()]);
                maxpool::maxpool2x2(&cur, n * ch, hh, ww, &mut out, win.as_deref_mut());
                (cur, hh, ww) = (Rc::new(out), oh, ow);
                win
            } else {
                None
            };
            let fwd = conv.forward();
            let mut out = vec![0.0; n * fwd.cout() * hh * ww];
            fwd.run(ConvInput::new(&cur, n, hh, ww), true, &mut out);
            if keep != Keep::Outputs {
                saved.push(Saved {
                    pool,
                    mask: positive_bits(&out),
                    cin: ch,
                    h: hh,
                    w: ww,
                });
            }
            if let Some(start) = start {
                seconds.push(start.elapsed().as_secs_f64());
            }
            ch = fwd.cout();
            cur = Rc::new(out);
            for (slot, l) in outs.iter_mut().zip(layers) {
                if l.0 == i {
                    *slot = Some((cur.clone(), [ch, hh, ww]));
                }
            }
        }
        drop(cur);
        let outs = outs
            .into_iter()
            .flatten()
            .map(|(f, dims)| (Rc::try_unwrap(f).unwrap_or_else(|f| (*f).clone()), dims))
            .collect();
        Ok(Pass {
            outs,
            saved,
            seconds,
        })
    }

    /// The gradient with respect to the input images of a loss whose gradient with respect to
    /// the output of `layers[k]` (the layers given to [`Vgg19::forward`]) is `grad_of(k)`
    /// (`None` where the loss does not use it), for the whole batch. `grad_of` is called once
    /// per layer, deepest first, when the pass reaches the layer; its tensor is added in place,
    /// not copied.
    pub(crate) fn backward(
        &self,
        tape: &mut Tape,
        layers: &[LayerId],
        grad_of: &mut dyn FnMut(usize) -> Result<Option<Tensor>>,
    ) -> Result<Vec<f32>> {
        let deepest = tape.saved.len() - 1;
        let n = tape.n;
        let mut g: Option<Vec<f32>> = None;
        for i in (0..=deepest).rev() {
            let start = tape.seconds.is_some().then(Instant::now);
            let cout = self.convs()[i].cout();
            let (h, w) = (tape.saved[i].h, tape.saved[i].w);
            for (k, l) in layers.iter().enumerate() {
                if l.0 != i {
                    continue;
                }
                if let Some(lg) = grad_of(k)? {
                    add_gradient(&mut g, &lg, n * cout * h * w, l)?;
                }
            }
            let s = &tape.saved[i];
            let Some(gout) = g.take() else {
                continue;
            };
            let mut gin = vec![0.0; n * s.cin * s.h * s.w];
            let mask = Mask::Bits {
                bits: &s.mask,
                offset: 0,
            };
            let input = ConvInput::new(&gout, n, s.h, s.w).masked(mask);
            self.convs()[i].adjoint().run(input, false, &mut gin);
            g = Some(match &s.pool {
                Some(win) => {
                    let prev = &tape.saved[i - 1];
                    let mut up = vec![0.0; n * s.cin * prev.h * prev.w];
                    maxpool::maxpool2x2_backward(win, &gin, n * s.cin, prev.h, prev.w, &mut up);
                    up
                }
                None => gin,
            });
            if let (Some(seconds), Some(start)) = (&mut tape.seconds, start) {
                seconds[i][1] = start.elapsed().as_secs_f64();
            }
        }
        Ok(g.unwrap_or_else(|| vec![0.0; n * 3 * tape.h * tape.w]))
    }
}

impl Tape {
    /// Per-layer times of a profiled forward pass and, once it has run, of its backward pass
    /// (empty unless the tape was recorded for profiling).
    pub(super) fn layer_times(&self, model: &Vgg19) -> Vec<LayerTime> {
        let Some(seconds) = &self.seconds else {
            return Vec::new();
        };
        self.saved
            .iter()
            .zip(seconds)
            .enumerate()
            .map(|(i, (s, t))| {
                let cout = model.convs()[i].cout();
                LayerTime {
                    layer: LayerId(i).name().replace("relu", "conv"),
                    shape: [cout, s.h, s.w],
                    forward_s: t[0],
                    backward_s: t[1],
                    gflop: 2.0 * 9.0 * (self.n * s.cin * cout * s.h * s.w) as f64 / 1e9,
                }
            })
            .collect()
    }
}

/// `g += t` (or `g = t` for the first gradient) for a CPU tensor of `len` values, read in
/// place.
fn add_gradient(g: &mut Option<Vec<f32>>, t: &Tensor, len: usize, layer: &LayerId) -> Result<()> {
    let (storage, layout) = t.storage_and_layout();
    let (Storage::Cpu(cpu), Some((a, b))) = (&*storage, layout.contiguous_offsets()) else {
        return Err(Error::Internal(format!(
            "backward: the gradient of {} is not a contiguous CPU tensor",
            layer.name()
        )));
    };
    let v = &cpu.as_slice::<f32>()?[a..b];
    if v.len() != len {
        return Err(Error::Internal(format!(
            "backward: gradient of {} has {} values, expected {len}",
            layer.name(),
            v.len()
        )));
    }
    match g {
        Some(g) => g.iter_mut().zip(v).for_each(|(a, b)| *a += b),
        None => *g = Some(v.to_vec()),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{random_weights, Lcg};
    use impasto_kernels::{Isa, Precision};

    /// `Σ_k <r_k, f_k>` over the features `f_k` of `layers` at `x`, in f64.
    fn loss(
        model: &Vgg19,
        x: &[f32],
        (h, w): (usize, usize),
        layers: &[LayerId],
        r: &[Vec<f32>],
    ) -> f64 {
        let (feats, _) = model.forward(x, [1, h, w], layers).unwrap();
        feats
            .iter()
            .zip(r)
            .map(|((f, _), r)| {
                f.iter()
                    .zip(r)
                    .map(|(&a, &b)| a as f64 * b as f64)
                    .sum::<f64>()
            })
            .sum()
    }

    /// The tape's gradient of a loss that weighs the outputs of four layers (two max-pools
    /// deep) with random factors equals central finite differences of that loss, on VGG19's
    /// first five convolutions with random weights.
    #[test]
    fn backward_matches_finite_differences() {
        let model = Vgg19::new(&random_weights(5), Precision::F32).unwrap();
        let layers: Vec<LayerId> = ["relu1_1", "relu2_1", "relu1_2", "relu3_1"]
            .iter()
            .map(|n| LayerId::parse(n).unwrap())
            .collect();
        let (h, w) = (13, 10);
        let mut rng = Lcg(3);
        let x = rng.vec(3 * h * w, 50.0);
        let (feats, mut tape) = model.forward(&x, [1, h, w], &layers).unwrap();
        let r: Vec<Vec<f32>> = feats.iter().map(|(f, _)| rng.vec(f.len(), 1.0)).collect();
        let g = model
            .backward(&mut tape, &layers, &mut |k| {
                let t = Tensor::from_vec(r[k].clone(), r[k].len(), &Device::Cpu)?;
                Ok(Some(t))
            })
            .unwrap();
        let scale = g.iter().fold(0.0f32, |m, v| m.max(v.abs())) as f64;
        // Large enough a step for the f32 forward pass's rounding, small enough to cross few
        // ReLU kinks or max-pool switches: about 1% of the largest gradient either way.
        let eps = 0.1;
        for i in (0..x.len()).step_by(7) {
            let mut p = x.clone();
            p[i] += eps;
            let up = loss(&model, &p, (h, w), &layers, &r);
            p[i] -= 2.0 * eps;
            let down = loss(&model, &p, (h, w), &layers, &r);
            let fd = (up - down) / (2.0 * eps as f64);
            assert!(
                (fd - g[i] as f64).abs() <= 2e-2 * scale,
                "input {i}: finite difference {fd}, tape {} (gradients up to {scale})",
                g[i]
            );
        }
    }

    /// Every instruction set gives the same features and gradient, up to rounding (a model's
    /// kernels are made for the set in force when they are first used).
    #[test]
    fn every_instruction_set_gives_the_same_pass() {
        let layers = [LayerId(1), LayerId(4)];
        let (h, w) = (21, 18);
        let x = Lcg(7).vec(3 * h * w, 50.0);
        let pass = || {
            let model = Vgg19::new(&random_weights(5), Precision::F32).unwrap();
            let (feats, mut tape) = model.forward(&x, [1, h, w], &layers).unwrap();
            let grad = model
                .backward(&mut tape, &layers, &mut |k| {
                    let f = &feats[k].0;
                    Ok(Some(Tensor::from_vec(f.clone(), f.len(), &Device::Cpu)?))
                })
                .unwrap();
            (feats, grad)
        };
        let close = |a: &[f32], b: &[f32], what: &str| {
            let scale = b.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            let err = a
                .iter()
                .zip(b)
                .fold(0.0f32, |m, (x, y)| m.max((x - y).abs()));
            assert!(
                err <= 1e-4 * scale,
                "{what}: error {err} against values up to {scale}"
            );
        };
        let (want_feats, want_grad) = pass();
        for isa in Isa::supported() {
            let (feats, grad) = Isa::with(isa, pass);
            for ((f, _), (want, _)) in feats.iter().zip(&want_feats) {
                close(f, want, &format!("{isa:?} features"));
            }
            close(&grad, &want_grad, &format!("{isa:?} gradient"));
        }
    }

    /// The forward pass of a batch gives each image's features as a batch of one does.
    #[test]
    fn features_of_a_batch_are_those_of_each_image() {
        let model = Vgg19::new(&random_weights(3), Precision::F32).unwrap();
        let layers = [LayerId(2), LayerId(0)];
        let (h, w) = (9, 8);
        let mut rng = Lcg(5);
        let x = rng.vec(2 * 3 * h * w, 50.0);
        let batch = Tensor::from_vec(x.clone(), (2, 3, h, w), &Device::Cpu).unwrap();
        let all = model.features(&batch, &layers).unwrap();
        for (img, x) in x.chunks(3 * h * w).enumerate() {
            let (one, _) = model.forward(x, [1, h, w], &layers).unwrap();
            for (f, (mine, [c, fh, fw])) in all.iter().zip(&one) {
                assert_eq!(f.dims(), [2, *c, *fh, *fw]);
                let theirs: Vec<f32> = f
                    .get(img)
                    .unwrap()
                    .flatten_all()
                    .unwrap()
                    .to_vec1()
                    .unwrap();
                assert_eq!(&theirs, mine);
            }
        }
    }
}
