//! The network's own forward and backward pass on the CPU.
//!
//! The forward pass keeps only what the backward pass needs: each ReLU's mask as bits and
//! each max-pool's winners as bytes, not the activations. The backward pass runs the adjoint
//! convolutions with the masks fused into their input, from the deepest layer down, adding the
//! loss gradient of each layer where it was asked for.

use std::rc::Rc;

use candle_core::{Storage, Tensor};
use std::time::Instant;

use super::layers::{LayerId, CONVS};
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

/// A recorded forward pass of one image, ready for [`Vgg19::backward`].
pub struct Tape {
    saved: Vec<Saved>,
    /// Seconds of each layer (its max-pool included): forward, backward.
    seconds: Vec<[f64; 2]>,
    /// Size of the input image.
    h: usize,
    w: usize,
}

/// Time and work of one layer in a recorded pass.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LayerTime {
    /// Layer name, e.g. `conv3_1`.
    pub layer: String,
    /// Output size: channels, height, width.
    pub shape: [usize; 3],
    /// Forward seconds (convolution, ReLU, mask, and the max-pool in front if any).
    pub forward_s: f64,
    /// Backward seconds (input gradient with the mask fused, max-pool gradient).
    pub backward_s: f64,
    /// Multiply-adds ×2 of the convolution done directly, in GFLOP, per direction: the usual
    /// yardstick, so a Winograd layer's rate can exceed the machine's FMA peak.
    pub gflop: f64,
}

impl Tape {
    /// Per-layer times of the forward pass and, once it has run, of the backward pass.
    pub fn layer_times(&self, model: &Vgg19) -> Vec<LayerTime> {
        self.saved
            .iter()
            .zip(&self.seconds)
            .enumerate()
            .map(|(i, (s, t))| {
                let cout = model.convs()[i].cout();
                LayerTime {
                    layer: LayerId(i).name().replace("relu", "conv"),
                    shape: [cout, s.h, s.w],
                    forward_s: t[0],
                    backward_s: t[1],
                    gflop: 2.0 * 9.0 * (s.cin * cout * s.h * s.w) as f64 / 1e9,
                }
            })
            .collect()
    }
}

/// The features of the requested layers, each `(data, [c, h, w])`.
pub type Features = Vec<(Vec<f32>, [usize; 3])>;

/// A layer output held both as the next layer's input and as a returned feature.
type Shared = (Rc<Vec<f32>>, [usize; 3]);

/// `g += t` (or `g = t` for the first gradient) for a CPU tensor of `len` values, read in
/// place.
fn add_gradient(g: &mut Option<Vec<f32>>, t: &Tensor, len: usize, layer: &LayerId) -> Result<()> {
    let (storage, layout) = t.storage_and_layout();
    let (Storage::Cpu(cpu), Some((a, b))) = (&*storage, layout.contiguous_offsets()) else {
        return Err(Error::Usage(format!(
            "backward: the gradient of {} is not a contiguous CPU tensor",
            layer.name()
        )));
    };
    let v = &cpu.as_slice::<f32>()?[a..b];
    if v.len() != len {
        return Err(Error::Usage(format!(
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

impl Vgg19 {
    /// Runs `x` (`[3, h, w]`, preprocessed) to the deepest of `layers` and returns their
    /// outputs, in the order asked, with a tape for [`Vgg19::backward`]. CPU only.
    pub fn forward(
        &self,
        x: &[f32],
        h: usize,
        w: usize,
        layers: &[LayerId],
    ) -> Result<(Features, Tape)> {
        let deepest = self.check_layers(layers)?;
        assert_eq!(x.len(), 3 * h * w, "forward: input size");
        // Outputs are shared between the next layer's input and the returned features, never
        // copied: at 2048 px one block-1 activation is a gigabyte.
        let mut outs: Vec<Option<Shared>> = vec![None; layers.len()];
        let mut saved = Vec::with_capacity(deepest + 1);
        let mut seconds = Vec::with_capacity(deepest + 1);
        let (mut cur, mut ch, mut hh, mut ww) = (Rc::new(x.to_vec()), 3, h, w);
        for (i, conv) in self.convs()[..=deepest].iter().enumerate() {
            let start = Instant::now();
            let pool = if i > 0 && CONVS[i].1 == 1 {
                let (oh, ow) = (hh / 2, ww / 2);
                let mut out = vec![0.0; ch * oh * ow];
                let mut win = vec![0u8; out.len()];
                maxpool::maxpool2x2(&cur, ch, hh, ww, &mut out, Some(&mut win));
                (cur, hh, ww) = (Rc::new(out), oh, ow);
                Some(win)
            } else {
                None
            };
            let (fwd, _) = conv.kernels();
            let mut out = vec![0.0; fwd.cout() * hh * ww];
            fwd.run(ConvInput::new(&cur, 1, hh, ww), true, &mut out);
            saved.push(Saved {
                pool,
                mask: positive_bits(&out),
                cin: ch,
                h: hh,
                w: ww,
            });
            seconds.push([start.elapsed().as_secs_f64(), 0.0]);
            ch = fwd.cout();
            cur = Rc::new(out);
            for (slot, l) in outs.iter_mut().zip(layers) {
                if l.0 == i {
                    *slot = Some((cur.clone(), [ch, hh, ww]));
                }
            }
        }
        drop(cur);
        let feats = outs
            .into_iter()
            .flatten()
            .map(|(f, dims)| (Rc::try_unwrap(f).unwrap_or_else(|f| (*f).clone()), dims))
            .collect();
        let tape = Tape {
            saved,
            seconds,
            h,
            w,
        };
        Ok((feats, tape))
    }

    /// The gradient with respect to the input image of a loss whose gradient with respect to
    /// the output of `layers[k]` (the layers given to [`Vgg19::forward`]) is `grad_of(k)`
    /// (`None` where the loss does not use it). `grad_of` is called once per layer, deepest
    /// first, when the pass reaches the layer; its tensor is added in place, not copied.
    pub fn backward(
        &self,
        tape: &mut Tape,
        layers: &[LayerId],
        grad_of: &mut dyn FnMut(usize) -> Result<Option<Tensor>>,
    ) -> Result<Vec<f32>> {
        let deepest = tape.saved.len() - 1;
        let mut g: Option<Vec<f32>> = None;
        for i in (0..=deepest).rev() {
            let start = Instant::now();
            let cout = self.convs()[i].cout();
            let (h, w) = (tape.saved[i].h, tape.saved[i].w);
            for (k, l) in layers.iter().enumerate() {
                if l.0 != i {
                    continue;
                }
                if let Some(lg) = grad_of(k)? {
                    add_gradient(&mut g, &lg, cout * h * w, l)?;
                }
            }
            let s = &tape.saved[i];
            let Some(gout) = g.take() else {
                continue;
            };
            let (_, adj) = self.convs()[i].kernels();
            let mut gin = vec![0.0; s.cin * s.h * s.w];
            let mask = Mask::Bits {
                bits: &s.mask,
                offset: 0,
            };
            adj.run(
                ConvInput::new(&gout, 1, s.h, s.w).masked(mask),
                false,
                &mut gin,
            );
            g = Some(match &s.pool {
                Some(win) => {
                    let prev = &tape.saved[i - 1];
                    let mut up = vec![0.0; s.cin * prev.h * prev.w];
                    maxpool::maxpool2x2_backward(win, &gin, s.cin, prev.h, prev.w, &mut up);
                    up
                }
                None => gin,
            });
            tape.seconds[i][1] = start.elapsed().as_secs_f64();
        }
        Ok(g.unwrap_or_else(|| vec![0.0; 3 * tape.h * tape.w]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{random_weights, Lcg};
    use candle_core::{Device, Var};
    use impasto_kernels::Precision;

    /// The tape's gradient equals candle's autodiff through the same network (random weights of
    /// VGG19's shapes), for a loss that weighs the default style and content layers with random
    /// factors.
    #[test]
    fn backward_matches_autodiff() {
        let model = Vgg19::new(&random_weights(13), &Device::Cpu, Precision::F32).unwrap();
        let layers: Vec<LayerId> = [
            "relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu4_2", "relu5_1",
        ]
        .iter()
        .map(|n| LayerId::parse(n).unwrap())
        .collect();
        let (h, w) = (37, 42);
        let mut rng = Lcg(3);
        let x = rng.vec(3 * h * w, 100.0);
        let (feats, mut tape) = model.forward(&x, h, w, &layers).unwrap();
        let r: Vec<Vec<f32>> = feats.iter().map(|(f, _)| rng.vec(f.len(), 1.0)).collect();
        let ours = model
            .backward(&mut tape, &layers, &mut |k| {
                let t = Tensor::from_vec(r[k].clone(), r[k].len(), &Device::Cpu)?;
                Ok(Some(t))
            })
            .unwrap();

        let var = Var::from_vec(x.clone(), (1, 3, h, w), &Device::Cpu).unwrap();
        let fs = model.features(var.as_tensor(), &layers).unwrap();
        let mut loss = Tensor::zeros((), candle_core::DType::F32, &Device::Cpu).unwrap();
        for ((f, r), (mine, _)) in fs.iter().zip(&r).zip(&feats) {
            let theirs: Vec<f32> = f.flatten_all().unwrap().to_vec1().unwrap();
            assert_eq!(&theirs, mine, "forward features differ");
            let rt = Tensor::from_vec(r.clone(), f.shape(), &Device::Cpu).unwrap();
            loss = (loss + f.mul(&rt).unwrap().sum_all().unwrap()).unwrap();
        }
        let g = loss.backward().unwrap();
        let want: Vec<f32> = g
            .get(var.as_tensor())
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        let scale = want.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let err = ours
            .iter()
            .zip(&want)
            .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
        assert!(
            err < 1e-4 * scale,
            "max error {err} against gradients up to {scale}"
        );
    }
}
