//! The objective and its gradient at an image: the network's forward pass, the losses, and
//! the backward pass to the pixels.
//!
//! On the CPU the network runs its own forward and backward kernels ([`crate::model::tape`])
//! and candle differentiates only the losses; on other devices candle differentiates the
//! whole graph.

use candle_core::{Tensor, Var};

use crate::loss;
use crate::model::layers::LayerId;
use crate::model::vgg::Vgg19;
use crate::settings::Settings;
use crate::{Error, Result};

/// The loss terms at the current image, unweighted.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Losses {
    /// Content loss (before α).
    pub content: f64,
    /// Style loss (before β).
    pub style: f64,
    /// Total variation (before γ).
    pub tv: f64,
    /// α·content + β·style + γ·tv (with the β in force, see [`Report::style_weight`]).
    pub total: f64,
    /// Style match at the current scale: the mean over style layers of the cosine between the
    /// result's Gram matrix and the target's (what `impasto metrics` reports at full size).
    pub gram_cosine: f64,
}

/// The objective and its gradient at `x` (BGR, mean subtracted, `[1, 3, h, w]`).
#[allow(clippy::too_many_arguments)]
pub fn evaluate(
    model: &Vgg19,
    s: &Settings,
    style_weight: f64,
    content_feats: &[Tensor],
    style_grams: &[Tensor],
    x: &[f32],
    w: usize,
    h: usize,
) -> Result<(Losses, Vec<f32>)> {
    let dev = model.device();
    let layers = s.layers();
    let image = Var::from_vec(x.to_vec(), (1, 3, h, w), dev)?;
    let targets = Targets {
        content: content_feats,
        style: style_grams,
        style_weight,
    };
    if !dev.is_cpu() {
        let feats = model.features(image.as_tensor(), &layers)?;
        let (losses, total) = objective(s, &targets, &layers, &feats, image.as_tensor())?;
        let grads = total.backward()?;
        let g = grads.get(image.as_tensor()).ok_or_else(no_gradient)?;
        return Ok((losses, g.flatten_all()?.to_vec1::<f32>()?));
    }
    let (feats, mut tape) = model.forward(x, h, w, &layers)?;
    let vars = feats
        .into_iter()
        .map(|(data, [c, fh, fw])| Var::from_vec(data, (1, c, fh, fw), dev))
        .collect::<candle_core::Result<Vec<_>>>()?;
    let tensors: Vec<Tensor> = vars.iter().map(|v| v.as_tensor().clone()).collect();
    let (losses, total) = objective(s, &targets, &layers, &tensors, image.as_tensor())?;
    let mut grads = total.backward()?;
    // Each gradient leaves candle as soon as it is copied out, and the features and the loss
    // graph go before the network's backward pass: at large sizes these are gigabytes.
    let as_vec = |t: Tensor| t.flatten_all()?.to_vec1::<f32>();
    let tv = grads.remove(image.as_tensor()).map(as_vec).transpose()?;
    let feat_grads = tensors
        .iter()
        .map(|t| grads.remove(t).map(as_vec).transpose())
        .collect::<candle_core::Result<Vec<_>>>()?;
    drop((grads, total, tensors, vars));
    if feat_grads.iter().all(Option::is_none) && tv.is_none() {
        return Err(no_gradient());
    }
    let mut g = model.backward(&mut tape, &layers, feat_grads)?;
    if let Some(tv) = tv {
        g.iter_mut().zip(&tv).for_each(|(a, b)| *a += b);
    }
    Ok((losses, g))
}

/// The error for an objective that does not depend on the image.
fn no_gradient() -> Error {
    Error::Usage("the losses do not depend on the image: check the weights and layers".into())
}

/// What the losses compare against.
struct Targets<'a> {
    content: &'a [Tensor],
    style: &'a [Tensor],
    style_weight: f64,
}

/// The loss terms and the weighted total from the features of `layers` and the image.
fn objective(
    s: &Settings,
    t: &Targets,
    layers: &[LayerId],
    feats: &[Tensor],
    image: &Tensor,
) -> Result<(Losses, Tensor)> {
    let dev = image.device();
    let feat = |id| {
        &feats[layers
            .iter()
            .position(|&l| l == id)
            .expect("layer requested")]
    };
    let mut content = Tensor::zeros((), candle_core::DType::F32, dev)?;
    for ((id, wt), target) in s.content_layers.iter().zip(t.content) {
        content = (content + (loss::mse(feat(*id), target)? * *wt as f64)?)?;
    }
    let mut style = Tensor::zeros((), candle_core::DType::F32, dev)?;
    let mut cosine = 0.0;
    for ((id, wt), target) in s.style_layers.iter().zip(t.style) {
        let g = loss::gram(feat(*id))?;
        cosine += loss::gram_cosine(&g, target)? as f64 / s.style_layers.len() as f64;
        style = (style + (loss::mse(&g, target)? * *wt as f64)?)?;
    }
    let tv = loss::total_variation(image)?;
    let total = ((&content * s.content_weight as f64)?
        + (&style * t.style_weight)?
        + (&tv * s.tv_weight as f64)?)?;
    let scalar = |t: &Tensor| -> Result<f64> { Ok(t.to_scalar::<f32>()? as f64) };
    let losses = Losses {
        content: scalar(&content)?,
        style: scalar(&style)?,
        tv: scalar(&tv)?,
        total: scalar(&total)?,
        gram_cosine: cosine,
    };
    Ok((losses, total))
}
