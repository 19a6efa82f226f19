//! The options `stylize` and `video` share, turned into the engine's settings and styles.

use std::path::PathBuf;
use std::sync::Arc;

use impasto::parse_weighted_layers;
use impasto::{LossWeights, Optimizer, Setting, Settings, Style, StyleTargets};
use impasto_io::codec::{self as io, Limits};
use impasto_io::Result;

use crate::args::LookArgs;

/// Splits `PATH[:WEIGHT]`; a colon followed by something that is not a number is part of the path.
pub fn parse_style(spec: &str) -> (PathBuf, Option<f32>) {
    if let Some((p, w)) = spec.rsplit_once(':') {
        if let Ok(w) = w.parse::<f32>() {
            return (PathBuf::from(p), Some(w));
        }
    }
    (PathBuf::from(spec), None)
}

/// The style images with their weights, loaded, as targets to share between sessions.
pub fn styles(a: &LookArgs) -> Result<Arc<StyleTargets>> {
    load_styles(&a.styles)
}

/// The style images of `specs` (`PATH[:WEIGHT]`), loaded, as targets to share.
pub fn load_styles(specs: &[String]) -> Result<Arc<StyleTargets>> {
    let styles = specs
        .iter()
        .map(|spec| {
            let (path, weight) = parse_style(spec);
            Ok(Style {
                image: io::load(&path, &Limits::default())?.image,
                weight: weight.unwrap_or(1.0),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(StyleTargets::new(styles)?)
}

/// The engine's settings for a result of longer side `size`, checked; `grey_medical` picks
/// the style layers that keep a slice's anatomy free of the painting's shapes.
pub fn settings(a: &LookArgs, size: usize, grey_medical: bool) -> Result<Settings> {
    let style_layers = match (&a.style_layers, grey_medical) {
        (Some(l), _) => l.as_str(),
        (None, true) => crate::medical::ANATOMY_STYLE_LAYERS,
        (None, false) => impasto::settings::DEFAULT_STYLE_LAYERS,
    };
    let s = Settings {
        size,
        scales: a.scales.clone(),
        iters: a.iters,
        weights: LossWeights {
            content: a.content_weight,
            style: a.style_weight,
            tv: a.tv_weight,
        },
        content_layers: parse_weighted_layers(&a.content_layers, Setting::ContentLayers)?,
        style_layers: parse_weighted_layers(style_layers, Setting::StyleLayers)?,
        optimizer: match a.optimizer {
            Optimizer::Adam { .. } => Optimizer::Adam { lr: a.lr },
            o => o,
        },
        style_scale: a.style_scale,
        preserve_color: a.preserve_color,
        style_target: a.style_target.0,
        max_memory: a.max_memory.map(|mb| mb << 20),
    };
    s.validate()?;
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn style_specs() {
        assert_eq!(parse_style("a.jpg"), (PathBuf::from("a.jpg"), None));
        assert_eq!(
            parse_style("a.jpg:0.5"),
            (PathBuf::from("a.jpg"), Some(0.5))
        );
        assert_eq!(parse_style("C:x.jpg"), (PathBuf::from("C:x.jpg"), None));
        assert_eq!(
            parse_style("a.jpg:-1"),
            (PathBuf::from("a.jpg"), Some(-1.0))
        );
    }
}
