//! The network's own forward and backward pass on the CPU.
//!
//! The forward pass keeps only what the backward pass needs: each ReLU's mask as bits and
//! each max-pool's winners as bytes, not the activations. The backward pass runs the adjoint
//! convolutions with the masks fused into their input, from the deepest layer down, adding the
//! loss gradient of each layer where it was asked for. Activations, features and gradients in
//! flight are held as the model's [`Store`] says ([`super::banded`] runs the layers on them).

use std::rc::Rc;
use std::time::Instant;

use candle_core::{Device, Tensor};

use super::act::{Act, Store};
use super::banded;
use super::layers::{LayerId, CONVS};
use super::profile::LayerTime;
use super::vgg::Vgg19;
use crate::{Error, Result};

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
pub type Features = Vec<(Act, [usize; 3])>;

/// A layer output held both as the next layer's input and as a returned feature.
type Shared = (Rc<Act>, [usize; 3]);

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
            .map(|(f, [c, h, w])| Ok(Tensor::from_vec(f.into_f32(), (n, c, h, w), &Device::Cpu)?))
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
        let store = self.store();
        // Outputs are shared between the next layer's input and the returned features, never
        // copied: at 2048 px one block-1 activation is a gigabyte.
        let mut outs: Vec<Option<Shared>> = vec![None; layers.len()];
        let mut saved = Vec::new();
        let mut seconds = Vec::new();
        let (mut cur, mut ch, mut hh, mut ww) = (Rc::new(Act::F32(x)), 3, h, w);
        for (i, conv) in self.convs()[..=deepest].iter().enumerate() {
            let start = (keep == Keep::Profile).then(Instant::now);
            let pool = if i > 0 && CONVS[i].1 == 1 {
                let (oh, ow) = (hh / 2, ww / 2);
                let mut out = Act::zeros(store, n * ch * oh * ow);
                let mut win = (keep != Keep::Outputs).then(|| vec![0u8; out.len()]);
                banded::maxpool(&cur, n * ch, hh, ww, &mut out, win.as_deref_mut());
                (cur, hh, ww) = (Rc::new(out), oh, ow);
                win
            } else {
                None
            };
            let fwd = conv.forward();
            let mut out = Act::zeros(store, n * fwd.cout() * hh * ww);
            let layer = banded::Layer {
                kernel: fwd,
                mask: None,
                relu: true,
            };
            banded::conv(layer, &cur, [n, hh, ww], &mut out);
            if keep != Keep::Outputs {
                saved.push(Saved {
                    pool,
                    mask: out.positive_bits(),
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
    /// the output of `layers[k]` (the layers given to [`Vgg19::forward`]) `add_grad(k, g)`
    /// adds to `g`, for the whole batch. `add_grad` is called once per layer, deepest first,
    /// when the pass reaches the layer.
    pub(crate) fn backward(
        &self,
        tape: &mut Tape,
        layers: &[LayerId],
        add_grad: &mut dyn FnMut(usize, &mut Act) -> Result<()>,
    ) -> Result<Vec<f32>> {
        let deepest = tape.saved.len() - 1;
        let (n, store) = (tape.n, self.store());
        let mut g: Option<Act> = None;
        for i in (0..=deepest).rev() {
            let start = tape.seconds.is_some().then(Instant::now);
            let cout = self.convs()[i].cout();
            let (h, w) = (tape.saved[i].h, tape.saved[i].w);
            for (k, l) in layers.iter().enumerate() {
                if l.0 == i {
                    let g = g.get_or_insert_with(|| Act::zeros(store, n * cout * h * w));
                    add_grad(k, g)?;
                }
            }
            let s = &tape.saved[i];
            let Some(gout) = g.take() else {
                continue;
            };
            // The image's own gradient is small (three channels) and stays f32.
            let gin_store = if i == 0 { Store::F32 } else { store };
            let mut gin = Act::zeros(gin_store, n * s.cin * s.h * s.w);
            let layer = banded::Layer {
                kernel: self.convs()[i].adjoint(),
                mask: Some(&s.mask),
                relu: false,
            };
            banded::conv(layer, &gout, [n, s.h, s.w], &mut gin);
            drop(gout);
            g = Some(match &s.pool {
                Some(win) => {
                    let prev = &tape.saved[i - 1];
                    let mut up = Act::zeros(store, n * s.cin * prev.h * prev.w);
                    banded::maxpool_backward(win, &gin, n * s.cin, prev.h, prev.w, &mut up);
                    up
                }
                None => gin,
            });
            if let (Some(seconds), Some(start)) = (&mut tape.seconds, start) {
                seconds[i][1] = start.elapsed().as_secs_f64();
            }
        }
        Ok(g.map(Act::into_f32)
            .unwrap_or_else(|| vec![0.0; n * 3 * tape.h * tape.w]))
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
                f.clone()
                    .into_f32()
                    .iter()
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
            .backward(&mut tape, &layers, &mut |k, g| {
                g.add(0, &r[k]);
                Ok(())
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
    /// kernels are made for the set in force when they are first used); bf16 precision gives
    /// them up to bf16's rounding on every set.
    #[test]
    fn every_instruction_set_gives_the_same_pass() {
        let layers = [LayerId(1), LayerId(4)];
        let (h, w) = (21, 18);
        let x = Lcg(7).vec(3 * h * w, 50.0);
        let pass = |precision| {
            let model = Vgg19::new(&random_weights(5), precision).unwrap();
            let (feats, mut tape) = model.forward(&x, [1, h, w], &layers).unwrap();
            let feats: Vec<Vec<f32>> = feats.into_iter().map(|(f, _)| f.into_f32()).collect();
            let grad = model
                .backward(&mut tape, &layers, &mut |k, g| {
                    g.add(0, &feats[k]);
                    Ok(())
                })
                .unwrap();
            (feats, grad)
        };
        // Largest error against the largest value for f32; root-mean-square error against the
        // root-mean-square value for bf16, whose roundings add up along each sum (random
        // weights cancel more than trained ones: 0.3% on features and 2% on the gradient with
        // bf16 storage, 2% and 8% with bf16 products too).
        let close = |a: &[f32], b: &[f32], (precision, products): (Precision, bool), what: &str| {
            let gradient = what.ends_with("gradient");
            let products = if products { 3.0 } else { 1.0 };
            let (err, scale, tolerance) = match precision {
                Precision::F32 => (
                    a.iter()
                        .zip(b)
                        .fold(0.0f32, |m, (x, y)| m.max((x - y).abs())),
                    b.iter().fold(0.0f32, |m, v| m.max(v.abs())),
                    1e-4,
                ),
                Precision::Bf16 => (
                    a.iter()
                        .zip(b)
                        .map(|(x, y)| (x - y) * (x - y))
                        .sum::<f32>()
                        .sqrt(),
                    b.iter().map(|v| v * v).sum::<f32>().sqrt(),
                    products * if gradient { 3e-2 } else { 1e-2 },
                ),
            };
            assert!(
                err <= tolerance * scale,
                "{what}: error {err} against values of {scale}"
            );
        };
        let (want_feats, want_grad) = pass(Precision::F32);
        for isa in Isa::supported() {
            for precision in [Precision::F32, Precision::Bf16] {
                let ((feats, grad), products) =
                    Isa::with(isa, || (pass(precision), precision.bf16_products()));
                let (how, what) = (
                    (precision, products),
                    format!("{isa:?} {}", precision.name()),
                );
                for (f, want) in feats.iter().zip(&want_feats) {
                    close(f, want, how, &format!("{what} features"));
                }
                close(&grad, &want_grad, how, &format!("{what} gradient"));
            }
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
                assert_eq!(theirs, mine.clone().into_f32());
            }
        }
    }
}
