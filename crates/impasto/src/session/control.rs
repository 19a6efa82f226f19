//! The style-match controller: β raised at full size while the Gram cosine falls short of the
//! style target, and the recolour rule for a first scale that ends far below it.

use crate::image::{colour, Rgb};

/// With a style target, the full-size scale checks the match every this many iterations.
pub(crate) const CONTROL_EVERY: usize = 5;
/// The most one check may raise β by.
const CONTROL_STEP: f64 = 4.0;
/// β stays within this factor of the setting.
const CONTROL_RANGE: f64 = 16.0;
/// How far below the style target the first scale may end before its result is recoloured
/// to the painting's palette.
const RECOLOUR_MARGIN: f64 = 0.07;

/// The controller's factor on β (1 until it raises it).
#[derive(Clone, Copy, Debug)]
pub(crate) struct StyleControl {
    /// The factor on the β of the settings.
    pub scale: f64,
}

impl Default for StyleControl {
    fn default() -> Self {
        Self { scale: 1.0 }
    }
}

impl StyleControl {
    /// One check at full size with the match `cosine` short of `target`: raises β by the
    /// squared ratio of the cosine's distance from 1 to the target's (at most ×4 at a time,
    /// ×16 in all). Returns true when β changed, so the objective did and the optimiser must
    /// restart.
    pub fn raise(&mut self, cosine: f64, target: f32) -> bool {
        let miss = ((1.0 - cosine).max(1e-6) / (1.0 - target as f64)).powi(2);
        let scale = (self.scale * miss.min(CONTROL_STEP)).min(CONTROL_RANGE);
        if scale > self.scale * 1.1 {
            self.scale = scale;
            return true;
        }
        false
    }
}

/// After the first scale, with a style target and the default start: when the match is still
/// far from the target (by more than [`RECOLOUR_MARGIN`]), the photo's colours are what holds
/// it back (a night photo against a bright painting, say), and no β fixes that in the
/// iterations left. The result is then recoloured to `painting`'s colour mean and covariance.
pub(crate) fn recolour_if_far(img: Rgb, cosine: f64, target: f32, painting: &Rgb) -> Rgb {
    if cosine < target as f64 - RECOLOUR_MARGIN {
        colour::match_colour_stats(&img, painting)
    } else {
        img
    }
}
