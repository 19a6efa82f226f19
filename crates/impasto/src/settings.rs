//! What a stylisation is asked to do: sizes, iterations, loss weights, layers, optimiser,
//! colour mode and style target; and how a change of settings affects a running session.

use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::image::Rgb;
use crate::model::layers::{parse_weighted_layers, LayerId};
use crate::{Error, Result, Setting};

/// The smallest size (longer side, pixels) a run or a scale may have.
pub const MIN_SIZE: usize = 16;

/// Which optimiser moves the pixels.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "kind")]
pub enum Optimizer {
    /// Projected L-BFGS (the default): few iterations, each usually one evaluation.
    Lbfgs,
    /// Adam with this learning rate, in 0..255 pixel units per step.
    Adam {
        /// Learning rate.
        lr: f32,
    },
}

/// Adam's default learning rate, in 0..255 pixel units per step.
pub const DEFAULT_LR: f32 = 2.0;

impl FromStr for Optimizer {
    type Err = String;

    /// `lbfgs`, or `adam` with [`DEFAULT_LR`].
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "lbfgs" => Ok(Optimizer::Lbfgs),
            "adam" => Ok(Optimizer::Adam { lr: DEFAULT_LR }),
            _ => Err(format!("'{s}' is not an optimiser: use lbfgs or adam")),
        }
    }
}

/// Where the optimisation starts: an argument of a [`crate::Session`], not a setting.
#[derive(Clone, Debug, PartialEq)]
pub enum Start {
    /// The content photo (the default: fastest, keeps structure).
    Content,
    /// Uniform noise from a seed: the same seed gives the same image on every machine.
    Noise {
        /// The seed.
        seed: u64,
    },
    /// A given image, resized to the result.
    Image(Rgb),
}

/// How the photo's colours are kept.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PreserveColor {
    /// Take colours from the painting.
    #[default]
    Off,
    /// Transfer luminance only and keep the photo's chroma (Gatys et al. 2017).
    Luminance,
    /// Recolour the painting to the photo's colour mean and covariance before the run.
    Histogram,
}

impl PreserveColor {
    /// Every mode, in the order front ends list them.
    pub const ALL: [PreserveColor; 3] = [
        PreserveColor::Off,
        PreserveColor::Luminance,
        PreserveColor::Histogram,
    ];

    /// The mode's name: `off`, `luminance` or `histogram`.
    pub fn name(self) -> &'static str {
        match self {
            PreserveColor::Off => "off",
            PreserveColor::Luminance => "luminance",
            PreserveColor::Histogram => "histogram",
        }
    }
}

impl std::fmt::Display for PreserveColor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for PreserveColor {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| format!("'{s}' is not a colour mode: use off, luminance or histogram"))
    }
}

/// α, β and γ: the weights of the content, style and total-variation losses, which travel
/// together.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct LossWeights {
    /// α: weight of the content loss.
    pub content: f32,
    /// β: weight of the style loss.
    pub style: f32,
    /// γ: weight of the total-variation loss.
    pub tv: f32,
}

impl Default for LossWeights {
    fn default() -> Self {
        Self {
            content: DEFAULT_CONTENT_WEIGHT,
            style: DEFAULT_STYLE_WEIGHT,
            tv: DEFAULT_TV_WEIGHT,
        }
    }
}

/// What a settings change means for a running session (see [`Settings::change_from`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// Nothing differs.
    None,
    /// Only α, β, γ or the style target: the next step uses them, and the optimiser keeps its
    /// curvature history (still a fair model of the new objective).
    Weights,
    /// Layers, colour mode, style scale, optimiser or iteration budget: the targets are
    /// rebuilt at the current scale from the current image, and the optimiser restarts.
    Targets,
    /// Size or scales: as [`Change::Targets`], and the current scale's iterations start over.
    Schedule,
}

/// All settings of a run. `Settings::default()` gives good results at 512 px.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Settings {
    /// Longer side of the result in pixels.
    pub size: usize,
    /// Coarse-to-fine sizes (longer side); `None` picks them from `size`.
    pub scales: Option<Vec<usize>>,
    /// Total optimiser iterations over all scales.
    pub iters: usize,
    /// α, β and γ.
    pub weights: LossWeights,
    /// Content layers with per-layer weights.
    pub content_layers: Vec<(LayerId, f32)>,
    /// Style layers with per-layer weights.
    pub style_layers: Vec<(LayerId, f32)>,
    /// The optimiser.
    pub optimizer: Optimizer,
    /// Size of the style image relative to the output (1 = same longer side).
    pub style_scale: f32,
    /// Colour preservation mode.
    pub preserve_color: PreserveColor,
    /// Style-match target (Gram cosine). When set, β is raised at full size while the match is
    /// short, the run ends once it is reached, and a first scale that ends far below it is
    /// recoloured to the painting's palette. `None`: fixed β, every iteration.
    pub style_target: Option<f32>,
    /// Bytes of memory the run may use; `None`: [`crate::plan::default_budget`]. Large
    /// scales run in tiles and with a shorter optimiser history to stay inside it.
    pub max_memory: Option<u64>,
}

/// The smallest memory limit a run accepts.
pub const MIN_MEMORY: u64 = 256 << 20;

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
            weights: LossWeights::default(),
            content_layers: parse_weighted_layers(DEFAULT_CONTENT_LAYERS, Setting::ContentLayers)
                .expect("valid default"),
            style_layers: parse_weighted_layers(DEFAULT_STYLE_LAYERS, Setting::StyleLayers)
                .expect("valid default"),
            optimizer: Optimizer::Lbfgs,
            style_scale: 1.0,
            preserve_color: PreserveColor::Off,
            style_target: Some(DEFAULT_STYLE_TARGET),
            max_memory: None,
        }
    }
}

impl Settings {
    /// Checks every value and says which one is wrong and what would be right.
    pub fn validate(&self) -> Result<()> {
        let bad = |setting, value: &dyn ToString, allowed: &str| {
            Err(Error::setting(setting, value.to_string(), allowed))
        };
        if self.size < MIN_SIZE {
            return bad(Setting::Size, &self.size, "use at least 16 pixels");
        }
        if self.iters == 0 {
            return bad(Setting::Iters, &0, "use at least 1");
        }
        let w = self.weights;
        for (setting, v) in [
            (Setting::ContentWeight, w.content),
            (Setting::StyleWeight, w.style),
            (Setting::TvWeight, w.tv),
        ] {
            if !v.is_finite() || v < 0.0 {
                return bad(setting, &v, "use a finite number ≥ 0");
            }
        }
        if !(self.style_scale.is_finite() && self.style_scale > 0.0 && self.style_scale <= 8.0) {
            return bad(
                Setting::StyleScale,
                &self.style_scale,
                "use a number in (0, 8]",
            );
        }
        if let Some(t) = self.style_target {
            if !(t > 0.0 && t < 1.0) {
                return bad(
                    Setting::StyleTarget,
                    &t,
                    "use a number in (0, 1), e.g. 0.95, or none",
                );
            }
        }
        if let Some(m) = self.max_memory {
            if m < MIN_MEMORY {
                return bad(
                    Setting::MaxMemory,
                    &format!("{} MB", m >> 20),
                    "give at least 256 MB",
                );
            }
        }
        if let Optimizer::Adam { lr } = self.optimizer {
            if !(lr.is_finite() && lr > 0.0) {
                return bad(Setting::LearningRate, &lr, "use a positive number, e.g. 2");
            }
        }
        if let Some(scales) = &self.scales {
            let text = scales
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
                .join(",");
            if scales.is_empty() || scales.iter().any(|&s| s < MIN_SIZE) {
                return bad(
                    Setting::Scales,
                    &text,
                    "use sizes of at least 16 pixels, e.g. 256,512",
                );
            }
            if scales.windows(2).any(|w| w[0] >= w[1]) {
                return bad(
                    Setting::Scales,
                    &text,
                    "sizes must increase, e.g. 256,512,1024",
                );
            }
        }
        Ok(())
    }

    /// What changing from `old` to these settings means for a running session.
    pub fn change_from(&self, old: &Settings) -> Change {
        if self == old {
            return Change::None;
        }
        if self.size != old.size || self.scales != old.scales || self.max_memory != old.max_memory {
            return Change::Schedule;
        }
        let same_but_weights = Settings {
            weights: old.weights,
            style_target: old.style_target,
            ..self.clone()
        };
        if same_but_weights == *old {
            Change::Weights
        } else {
            Change::Targets
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_are_classified() {
        let old = Settings::default();
        assert_eq!(old.change_from(&old), Change::None);
        let mut s = old.clone();
        s.weights.style *= 10.0;
        s.style_target = None;
        assert_eq!(s.change_from(&old), Change::Weights);
        s.preserve_color = PreserveColor::Luminance;
        assert_eq!(s.change_from(&old), Change::Targets);
        s.size = 256;
        assert_eq!(s.change_from(&old), Change::Schedule);
        let iters = Settings {
            iters: 30,
            ..old.clone()
        };
        assert_eq!(iters.change_from(&old), Change::Targets);
    }

    #[test]
    fn bad_values_name_the_setting() {
        let s = Settings {
            weights: LossWeights {
                style: -1.0,
                ..LossWeights::default()
            },
            ..Settings::default()
        };
        match s.validate() {
            Err(Error::Setting { setting, value, .. }) => {
                assert_eq!((setting, value.as_str()), (Setting::StyleWeight, "-1"))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn colour_modes_parse_by_name() {
        for m in PreserveColor::ALL {
            assert_eq!(m.name().parse::<PreserveColor>(), Ok(m));
        }
        assert!("sepia".parse::<PreserveColor>().is_err());
    }
}
