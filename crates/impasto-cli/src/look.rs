//! The options `stylize` and `video` share, turned into the engine's settings and styles.

use std::path::PathBuf;

use impasto::model::layers::parse_weighted_layers;
use impasto::session::Style;
use impasto::settings::{Init, Optimizer, PreserveColor, Settings};
use impasto_io::codec::{self as io, Limits};
use impasto_io::{Error, Result};

use crate::args::{LookArgs, OptimizerArg, PreserveArg};

/// Splits `PATH[:WEIGHT]`; a colon followed by something that is not a number is part of the path.
fn parse_style(spec: &str) -> Result<(PathBuf, f32)> {
    if let Some((p, w)) = spec.rsplit_once(':') {
        if let Ok(w) = w.parse::<f32>() {
            if !(w.is_finite() && w >= 0.0) {
                return Err(Error::Usage(format!(
                    "style weight in '{spec}' must be a finite number ≥ 0"
                )));
            }
            return Ok((PathBuf::from(p), w));
        }
    }
    Ok((PathBuf::from(spec), 1.0))
}

/// The style images with their weights, loaded.
pub fn styles(a: &LookArgs) -> Result<Vec<Style>> {
    a.styles
        .iter()
        .map(|spec| {
            let (path, weight) = parse_style(spec)?;
            Ok(Style {
                image: io::load(&path, &Limits::default())?.image,
                weight,
            })
        })
        .collect()
}

/// The engine's settings for a result of longer side `size` started from `init`, checked.
pub fn settings(a: &LookArgs, size: usize, init: Init) -> Result<Settings> {
    let s = Settings {
        size,
        scales: a.scales.clone(),
        iters: a.iters,
        content_weight: a.content_weight,
        style_weight: a.style_weight,
        tv_weight: a.tv_weight,
        content_layers: parse_weighted_layers(&a.content_layers)?,
        style_layers: parse_weighted_layers(&a.style_layers)?,
        optimizer: match a.optimizer {
            OptimizerArg::Lbfgs => Optimizer::Lbfgs,
            OptimizerArg::Adam => Optimizer::Adam { lr: a.lr },
        },
        init,
        seed: a.seed,
        style_scale: a.style_scale,
        preserve_color: match a.preserve_color {
            PreserveArg::Off => PreserveColor::Off,
            PreserveArg::Luminance => PreserveColor::Luminance,
            PreserveArg::Histogram => PreserveColor::Histogram,
        },
        style_target: a.style_target.0,
    };
    s.validate()?;
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn style_specs() {
        assert_eq!(parse_style("a.jpg").unwrap(), (PathBuf::from("a.jpg"), 1.0));
        assert_eq!(
            parse_style("a.jpg:0.5").unwrap(),
            (PathBuf::from("a.jpg"), 0.5)
        );
        assert_eq!(
            parse_style("C:x.jpg").unwrap(),
            (PathBuf::from("C:x.jpg"), 1.0)
        );
        assert!(parse_style("a.jpg:-1").is_err());
    }
}
