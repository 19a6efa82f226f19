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
    let layers: Vec<_> =
        parse_weighted_layers(DEFAULT_STYLE_LAYERS, crate::error::Setting::StyleLayers)?
            .into_iter()
            .map(|(l, _)| l)
            .collect();
    let (sw, sh) = resize::fit_longer_side(style.width, style.height, output.longer_side());
    let style = resize::resize(style, sw, sh);
    let fs = model.features(&model.preprocess(&style)?, &layers)?;
    let fo = model.features(&model.preprocess(output)?, &layers)?;
    let mut sum = 0.0;
    for (a, b) in fs.iter().zip(&fo) {
        sum += gram_cosine(&gram(a)?, &gram(b)?)?;
    }
    Ok(sum / layers.len() as f32)
}
