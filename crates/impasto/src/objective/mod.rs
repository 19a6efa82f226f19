//! The objective and its gradient at an image: the network's forward pass, the losses, and
//! the backward pass to the pixels.
//!
//! The network runs its own forward and backward kernels ([`crate::model::tape`]); candle
//! differentiates only the losses, layer by layer.

mod style_terms;
pub(crate) mod tiled;
pub mod tiles;

pub use tiled::evaluate_tiled;

use candle_core::{Device, Storage, Tensor, Var};

use crate::guide::LayerGuide;
use crate::loss;
use crate::model::act::Act;
use crate::model::layers::LayerId;
use crate::model::vgg::Vgg19;
use crate::prior::Prior;
use crate::settings::Settings;
use crate::{Error, Result};

/// The loss terms at the current image, unweighted.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Losses {
    /// Content loss (before α).
    pub content: f64,
    /// Style loss (before β).
    pub style: f64,
    /// Total variation (before γ).
    pub tv: f64,
    /// The pull towards the prior image (before its strength; 0 without a prior).
    pub prior: f64,
    /// α·content + β·style + γ·tv + strength·prior (with the β in force, see
    /// [`crate::Report::style_weight`]).
    pub total: f64,
    /// Style match at the current scale: the mean over style layers of the cosine between the
    /// result's Gram matrix and the target's (what `impasto metrics` reports at full size).
    pub gram_cosine: f64,
}

/// What the losses compare against, at one scale.
pub struct Targets<'a> {
    /// Width and height of the image the targets were made for.
    pub size: (usize, usize),
    /// Content features, one per content layer of the settings: `[n, c, h, w]` for a batch of
    /// `n` images, or `[1, c, h, w]` for all of them.
    pub content: &'a [Tensor],
    /// Style Gram matrices, one per style layer of the settings, `[1, c, c]` (every image of a
    /// batch is compared with the same painting).
    pub style: &'a [Tensor],
    /// Style regions, each compared with its own Gram matrices over its guide; when any are
    /// given they replace `style` (one image only, not batches).
    pub guided: &'a [GuidedStyle],
    /// The β in force.
    pub style_weight: f64,
    /// An image to pull towards, at the size of `x` (the temporal loss of video).
    pub prior: Option<&'a Prior>,
}

/// A style region of the result at one scale: where it is and the Gram matrices it is
/// compared with.
pub struct GuidedStyle {
    /// The region at each style layer of the settings.
    pub guides: Vec<LayerGuide>,
    /// Target Gram matrices, one per style layer, `[1, c, c]`.
    pub grams: Vec<Tensor>,
    /// Weight of the region's terms, before its share of the image.
    pub weight: f64,
}

/// The objective and its gradient at `x` (BGR, mean subtracted, `[n, 3, h, w]` at the
/// targets' size). For a batch (`n > 1`, as training runs it) every term is the mean over the
/// images, so each image's gradient is its own divided by `n`.
pub fn evaluate(
    model: &Vgg19,
    s: &Settings,
    targets: &Targets,
    x: &[f32],
) -> Result<(Losses, Vec<f32>)> {
    let (w, h) = targets.size;
    if x.is_empty() || !x.len().is_multiple_of(3 * w * h) {
        return Err(Error::Internal(format!(
            "{} values are not a batch of {w}×{h} images",
            x.len()
        )));
    }
    let n = x.len() / (3 * w * h);
    if n == 1 {
        // One image: the hand-written losses of the tiled path, on one tile, hold no more than
        // a band of each layer in f32.
        let grid = tiles::Grid::whole(w, h, &s.layers());
        return evaluate_tiled(model, s, targets, x, grid, &mut |_, _| {});
    }
    if !targets.guided.is_empty() {
        return Err(Error::Internal(
            "style regions apply to one image, not a batch".into(),
        ));
    }
    let (mut losses, mut g) = evaluate_network(model, s, targets, x, n)?;
    if let Some(p) = targets.prior {
        if n != 1 {
            return Err(Error::Internal(
                "a prior image applies to one image, not a batch".into(),
            ));
        }
        if p.size() != (w, h) {
            return Err(Error::Internal(format!(
                "the prior image is {}×{} but the result is {w}×{h}",
                p.size().0,
                p.size().1
            )));
        }
        losses.prior = p.add_to(x, &mut g);
        losses.total += p.strength() as f64 * losses.prior;
    }
    Ok((losses, g))
}

/// The network's terms (content, style, total variation) and their gradient for a batch, the
/// losses differentiated by candle.
fn evaluate_network(
    model: &Vgg19,
    s: &Settings,
    targets: &Targets,
    x: &[f32],
    n: usize,
) -> Result<(Losses, Vec<f32>)> {
    let (w, h) = targets.size;
    let dev = &Device::Cpu;
    let layers = s.layers();
    let (feats, mut tape) = model.forward(x, [n, h, w], &layers)?;
    let mut feats: Vec<_> = feats.into_iter().map(Some).collect();
    let mut terms = Terms::default();
    let mut any = s.weights.tv > 0.0;
    // Each layer's loss terms depend on that layer alone, so its gradient is made when the
    // backward pass reaches it, and its features are freed then: the largest (relu1_1) are
    // never held twice.
    let mut layer_grad = |k: usize, g: &mut Act| -> Result<()> {
        let Some((data, [c, fh, fw])) = feats[k].take() else {
            return Ok(());
        };
        let var = Var::from_vec(data.into_f32(), (n, c, fh, fw), dev)?;
        let term = terms.add_layer(s, targets, layers[k], var.as_tensor())?;
        if let Some(grad) = term.backward()?.remove(var.as_tensor()) {
            any = true;
            tensor_values(&grad, |v| g.add(0, v))?;
        }
        Ok(())
    };
    let mut g = model.backward(&mut tape, &layers, &mut layer_grad)?;
    // Each image's planes are planes of their own: the mean over all of them is the mean of
    // the images' terms.
    terms.tv = loss::total_variation(x, 3 * n, w, h, s.weights.tv, &mut g);
    if !any {
        return Err(Error::NoGradient);
    }
    Ok((terms.losses(s, targets), g))
}

/// Runs `f` on the values of a contiguous f32 CPU tensor, without copying them.
pub(crate) fn tensor_values<T>(t: &Tensor, f: impl FnOnce(&[f32]) -> T) -> Result<T> {
    with_values(t, |v| match v {
        Values::F32(v) => Ok(f(v)),
        Values::Bf16(_) => Err(Error::Internal("a loss tensor is not f32".into())),
    })?
}

/// A contiguous CPU tensor's values, f32 or bf16 (content targets of large runs), borrowed.
pub(crate) enum Values<'a> {
    F32(&'a [f32]),
    Bf16(&'a [half::bf16]),
}

impl Values<'_> {
    /// `dst = self[start..start + dst.len()]`, widened to f32.
    pub(crate) fn read(&self, start: usize, dst: &mut [f32]) {
        match self {
            Values::F32(v) => dst.copy_from_slice(&v[start..][..dst.len()]),
            Values::Bf16(v) => crate::model::act::widen(&v[start..][..dst.len()], dst),
        }
    }
}

/// Runs `f` on the values of a contiguous f32 or bf16 CPU tensor, without copying them.
pub(crate) fn with_values<T>(t: &Tensor, f: impl FnOnce(Values) -> T) -> Result<T> {
    let (storage, layout) = t.storage_and_layout();
    let (Storage::Cpu(cpu), Some((a, b))) = (&*storage, layout.contiguous_offsets()) else {
        return Err(Error::Internal(
            "a loss tensor is not a contiguous CPU tensor".into(),
        ));
    };
    Ok(match t.dtype() {
        candle_core::DType::BF16 => f(Values::Bf16(&cpu.as_slice::<half::bf16>()?[a..b])),
        _ => f(Values::F32(&cpu.as_slice::<f32>()?[a..b])),
    })
}

/// The unweighted loss terms, summed layer by layer.
#[derive(Default)]
struct Terms {
    content: f64,
    style: f64,
    tv: f64,
    cosine: f64,
}

impl Terms {
    /// Adds the content and style terms of layer `id` from its features `f`; returns their
    /// weighted sum, for the gradient with respect to `f`.
    fn add_layer(&mut self, s: &Settings, t: &Targets, id: LayerId, f: &Tensor) -> Result<Tensor> {
        let mut total = Tensor::zeros((), candle_core::DType::F32, f.device())?;
        for ((l, wt), target) in s.content_layers.iter().zip(t.content) {
            if *l == id {
                let target = target.to_dtype(candle_core::DType::F32)?;
                let c = (loss::mse(f, &target)? * *wt as f64)?;
                self.content += c.to_scalar::<f32>()? as f64;
                total = (total + (c * s.weights.content as f64)?)?;
            }
        }
        for ((l, wt), target) in s.style_layers.iter().zip(t.style) {
            if *l == id {
                let g = loss::gram(f)?;
                let n = g.dim(0)?;
                for i in 0..n {
                    let cos = loss::gram_cosine(&g.get(i)?, target)? as f64;
                    self.cosine += cos / (n * s.style_layers.len()) as f64;
                }
                let st = (loss::mse(&g, target)? * *wt as f64)?;
                self.style += st.to_scalar::<f32>()? as f64;
                total = (total + (st * t.style_weight)?)?;
            }
        }
        Ok(total)
    }

    /// The terms as reported, with the weighted total.
    fn losses(&self, s: &Settings, t: &Targets) -> Losses {
        Losses {
            content: self.content,
            style: self.style,
            tv: self.tv,
            prior: 0.0,
            total: s.weights.content as f64 * self.content
                + t.style_weight * self.style
                + s.weights.tv as f64 * self.tv,
            gram_cosine: self.cosine,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{random_targets, random_weights, Lcg};
    use impasto_kernels::Precision;

    /// A batch's terms are the mean of its images' and each image's gradient is its own
    /// divided by the batch's size: what training's mean over its crops needs.
    #[test]
    fn a_batch_is_the_mean_of_its_images() {
        let model = Vgg19::new(&random_weights(13), Precision::F32).unwrap();
        let s = Settings::default();
        let (w, h) = (24, 20);
        let mut rng = Lcg(11);
        let (content, style) = random_targets(&model, &s, (w, h), 50.0, &mut rng);
        let targets = Targets {
            size: (w, h),
            content: &content,
            style: &style,
            guided: &[],
            style_weight: 1e3,
            prior: None,
        };
        let (a, b) = (rng.vec(3 * h * w, 50.0), rng.vec(3 * h * w, 50.0));
        let (la, ga) = evaluate(&model, &s, &targets, &a).unwrap();
        let (lb, gb) = evaluate(&model, &s, &targets, &b).unwrap();
        let (l, g) = evaluate(&model, &s, &targets, &[a, b].concat()).unwrap();
        let terms = |l: &Losses| [l.content, l.style, l.tv, l.total, l.gram_cosine];
        for ((got, x), y) in terms(&l).iter().zip(terms(&la)).zip(terms(&lb)) {
            let want = (x + y) / 2.0;
            assert!((got - want).abs() <= 1e-4 * want.abs(), "{got} vs {want}");
        }
        let scale = ga.iter().chain(&gb).fold(0.0f32, |m, v| m.max(v.abs())) / 2.0;
        for (got, own) in g.iter().zip(ga.iter().chain(&gb)) {
            assert!(
                (got - own / 2.0).abs() <= 1e-4 * scale,
                "{got} vs {own} / 2"
            );
        }
    }
}
