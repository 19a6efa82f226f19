//! What a stylisation is asked to do: sizes, iterations, loss weights, layers, optimiser, init.

use crate::image::Rgb;
use crate::model::layers::{parse_weighted_layers, LayerId};
use crate::{Error, Result};

/// Which optimiser moves the pixels.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Optimizer {
    /// Projected L-BFGS (the default): few iterations, each usually one evaluation.
    Lbfgs,
    /// Adam with this learning rate, in 0..255 pixel units per step.
    Adam { lr: f32 },
}

/// Where the optimisation starts.
#[derive(Clone, Debug, PartialEq)]
pub enum Init {
    /// The content photo (the default: fastest, keeps structure).
    Content,
    /// Uniform noise from the seed.
    Noise,
    /// A given image, resized to the output.
    Image(Rgb),
}

/// How the photo's colours are kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PreserveColor {
    /// Take colours from the painting.
    Off,
    /// Transfer luminance only and keep the photo's chroma (Gatys et al. 2017).
    Luminance,
    /// Recolour the painting to the photo's colour mean and covariance before the run.
    Histogram,
}

/// All settings of a run. `Settings::default()` gives good results at 512 px.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    /// Longer side of the result in pixels.
    pub size: usize,
    /// Coarse-to-fine sizes (longer side); `None` picks them from `size`.
    pub scales: Option<Vec<usize>>,
    /// Total optimiser iterations over all scales.
    pub iters: usize,
    /// α: weight of the content loss.
    pub content_weight: f32,
    /// β: weight of the style loss.
    pub style_weight: f32,
    /// γ: weight of the total-variation loss.
    pub tv_weight: f32,
    /// Content layers with per-layer weights.
    pub content_layers: Vec<(LayerId, f32)>,
    /// Style layers with per-layer weights.
    pub style_layers: Vec<(LayerId, f32)>,
    /// The optimiser.
    pub optimizer: Optimizer,
    /// The starting image.
    pub init: Init,
    /// Seed for noise initialisation.
    pub seed: u64,
    /// Size of the style image relative to the output (1 = same longer side).
    pub style_scale: f32,
    /// Colour preservation mode.
    pub preserve_color: PreserveColor,
    /// Style-match target (Gram cosine). When set, β is raised at full size while the match is
    /// short, the run ends once it is reached, and a first scale that ends far below it is
    /// recoloured to the painting's palette. `None`: fixed β, every iteration.
    pub style_target: Option<f32>,
}

/// Default α.
pub const DEFAULT_CONTENT_WEIGHT: f32 = 1.0;
/// Default β: faces stay recognisable and brushwork is clear at 512 px.
pub const DEFAULT_STYLE_WEIGHT: f32 = 10.0;
/// Default γ.
pub const DEFAULT_TV_WEIGHT: f32 = 1.0;
/// Default style-match target: the Gram cosine a run aims for.
pub const DEFAULT_STYLE_TARGET: f32 = 0.95;
/// Default total iterations.
pub const DEFAULT_ITERS: usize = 120;
/// Default content layers.
pub const DEFAULT_CONTENT_LAYERS: &str = "relu4_2";
/// Default style layers.
pub const DEFAULT_STYLE_LAYERS: &str = "relu1_1:10,relu2_1:0.1,relu3_1:0.1,relu4_1:0.1,relu5_1:300";

impl Default for Settings {
    fn default() -> Self {
        Self {
            size: 512,
            scales: None,
            iters: DEFAULT_ITERS,
            content_weight: DEFAULT_CONTENT_WEIGHT,
            style_weight: DEFAULT_STYLE_WEIGHT,
            tv_weight: DEFAULT_TV_WEIGHT,
            content_layers: parse_weighted_layers(DEFAULT_CONTENT_LAYERS).expect("valid default"),
            style_layers: parse_weighted_layers(DEFAULT_STYLE_LAYERS).expect("valid default"),
            optimizer: Optimizer::Lbfgs,
            init: Init::Content,
            seed: 0,
            style_scale: 1.0,
            preserve_color: PreserveColor::Off,
            style_target: Some(DEFAULT_STYLE_TARGET),
        }
    }
}

impl Settings {
    /// Checks every value and says which one is wrong and what would be right.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::Usage(m));
        if self.size < 16 {
            return bad(format!(
                "--size {} is too small: use at least 16 pixels",
                self.size
            ));
        }
        if self.iters == 0 {
            return bad("--iters must be at least 1".into());
        }
        for (name, v) in [
            ("--content-weight", self.content_weight),
            ("--style-weight", self.style_weight),
            ("--tv-weight", self.tv_weight),
        ] {
            if !v.is_finite() || v < 0.0 {
                return bad(format!("{name} {v} is invalid: use a finite number ≥ 0"));
            }
        }
        if !(self.style_scale.is_finite() && self.style_scale > 0.0 && self.style_scale <= 8.0) {
            return bad(format!(
                "--style-scale {} is invalid: use a number in (0, 8]",
                self.style_scale
            ));
        }
        if let Some(t) = self.style_target {
            if !(t > 0.0 && t < 1.0) {
                return bad(format!(
                    "--style-target {t} is invalid: use a number in (0, 1), e.g. 0.95, or off"
                ));
            }
        }
        if let Optimizer::Adam { lr } = self.optimizer {
            if !(lr.is_finite() && lr > 0.0) {
                return bad(format!(
                    "--lr {lr} is invalid: use a positive number, e.g. 2"
                ));
            }
        }
        if let Some(scales) = &self.scales {
            if scales.is_empty() || scales.iter().any(|&s| s < 16) {
                return bad("--scales needs sizes of at least 16 pixels, e.g. 256,512".into());
            }
            if scales.windows(2).any(|w| w[0] >= w[1]) {
                return bad("--scales must increase, e.g. 256,512,1024".into());
            }
        }
        Ok(())
    }

    /// Every layer the losses read, sorted and without repeats.
    pub fn layers(&self) -> Vec<LayerId> {
        let mut l: Vec<LayerId> = self
            .content_layers
            .iter()
            .chain(&self.style_layers)
            .map(|&(l, _)| l)
            .collect();
        l.sort();
        l.dedup();
        l
    }
}
