//! Style match: cosine similarity between the Gram matrices of the style image and the result.

use crate::image::{resize, Rgb};
use crate::loss::{gram, gram_cosine};
use crate::model::layers::parse_weighted_layers;
use crate::model::vgg::Vgg19;
use crate::settings::DEFAULT_STYLE_LAYERS;
use crate::Result;

/// Mean over relu1_1..relu5_1 of the cosine between the flattened Gram matrices of `style`
/// (resized so its longer side equals the output's) and `output`. 1 means identical statistics.
pub fn gram_cosine_similarity(model: &Vgg19, style: &Rgb, output: &Rgb) -> Result<f32> {
    let layers = gram_cosine_by_layer(model, style, output)?;
    Ok(layers.iter().map(|(_, c)| c).sum::<f32>() / layers.len() as f32)
}

/// The same cosine layer by layer, `(name, cosine)` from relu1_1 (fine texture) to relu5_1
/// (large strokes): which scale of the painting a result matches and which it misses.
pub fn gram_cosine_by_layer(
    model: &Vgg19,
    style: &Rgb,
    output: &Rgb,
) -> Result<Vec<(String, f32)>> {
    let layers: Vec<_> =
        parse_weighted_layers(DEFAULT_STYLE_LAYERS, crate::error::Setting::StyleLayers)?
            .into_iter()
            .map(|(l, _)| l)
            .collect();
    let (sw, sh) = resize::fit_longer_side(style.width, style.height, output.longer_side());
    let style = resize::resize(style, sw, sh);
    let fs = model.features(&model.preprocess(&style)?, &layers)?;
    let fo = model.features(&model.preprocess(output)?, &layers)?;
    let mut out = Vec::with_capacity(layers.len());
    for ((layer, a), b) in layers.iter().zip(&fs).zip(&fo) {
        out.push((layer.name(), gram_cosine(&gram(a)?, &gram(b)?)?));
    }
    Ok(out)
}
