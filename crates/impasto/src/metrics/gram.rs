//! Style match: cosine similarity between the Gram matrices of the style image and the result.

use candle_core::Tensor;

use crate::image::{resize, Rgb};
use crate::loss::{gram, gram_cosine};
use crate::model::layers::{parse_weighted_layers, LayerId};
use crate::model::vgg::{to_bgr_centered, Vgg19};
use crate::objective::tiled;
use crate::plan;
use crate::settings::DEFAULT_STYLE_LAYERS;
use crate::Result;

/// Mean over relu1_1..relu5_1 of the cosine between the flattened Gram matrices of `style`
/// (resized so its longer side equals the output's) and `output`. 1 means identical statistics.
/// Images whose forward pass would take more than `budget` bytes run in tiles.
pub fn gram_cosine_similarity(
    model: &Vgg19,
    style: &Rgb,
    output: &Rgb,
    budget: u64,
) -> Result<f32> {
    let layers = gram_cosine_by_layer(model, style, output, budget)?;
    Ok(layers.iter().map(|(_, c)| c).sum::<f32>() / layers.len() as f32)
}

/// The same cosine layer by layer, `(name, cosine)` from relu1_1 (fine texture) to relu5_1
/// (large strokes): which scale of the painting a result matches and which it misses.
pub fn gram_cosine_by_layer(
    model: &Vgg19,
    style: &Rgb,
    output: &Rgb,
    budget: u64,
) -> Result<Vec<(String, f32)>> {
    StyleGrams::new(model, style, output.longer_side(), budget)?
        .cosine_by_layer(model, output, budget)
}

/// A painting's Gram matrices at relu1_1..relu5_1, taken once (with the painting's longer
/// side scaled to the results') to measure many results of that size against.
pub struct StyleGrams {
    layers: Vec<LayerId>,
    grams: Vec<Tensor>,
}

impl StyleGrams {
    /// The Gram matrices of `style` with its longer side scaled to `longer_side`.
    pub fn new(model: &Vgg19, style: &Rgb, longer_side: usize, budget: u64) -> Result<Self> {
        let layers: Vec<_> =
            parse_weighted_layers(DEFAULT_STYLE_LAYERS, crate::error::Setting::StyleLayers)?
                .into_iter()
                .map(|(l, _)| l)
                .collect();
        let (sw, sh) = resize::fit_longer_side(style.width, style.height, longer_side);
        let style = resize::resize(style, sw, sh);
        let grams = grams(model, &style, &layers, budget)?;
        Ok(Self { layers, grams })
    }

    /// The mean cosine of `output`'s Gram matrices with these ([`gram_cosine_similarity`]).
    pub fn cosine(&self, model: &Vgg19, output: &Rgb, budget: u64) -> Result<f32> {
        let layers = self.cosine_by_layer(model, output, budget)?;
        Ok(layers.iter().map(|(_, c)| c).sum::<f32>() / layers.len() as f32)
    }

    /// The cosine layer by layer ([`gram_cosine_by_layer`]).
    pub fn cosine_by_layer(
        &self,
        model: &Vgg19,
        output: &Rgb,
        budget: u64,
    ) -> Result<Vec<(String, f32)>> {
        let go = grams(model, output, &self.layers, budget)?;
        let mut out = Vec::with_capacity(self.layers.len());
        for ((layer, a), b) in self.layers.iter().zip(&self.grams).zip(&go) {
            out.push((layer.name(), gram_cosine(a, b)?));
        }
        Ok(out)
    }
}

/// The Gram matrices of `image` at `layers`, in tiles when the whole image's forward pass
/// would take more than `budget` bytes (print-size results).
fn grams(model: &Vgg19, image: &Rgb, layers: &[LayerId], budget: u64) -> Result<Vec<Tensor>> {
    let (w, h) = (image.width, image.height);
    match plan::forward_grid(w, h, layers, model.store(), budget) {
        None => model
            .features(&model.preprocess(image)?, layers)?
            .iter()
            .map(gram)
            .collect(),
        Some(grid) => tiled::grams(model, &to_bgr_centered(image), (w, h), layers, grid, None),
    }
}
