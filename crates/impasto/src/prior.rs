//! A pull towards a given image on chosen pixels: Ruder et al.'s temporal loss, where the
//! image is the previous stylised frame warped into this one and the weights are zero where
//! that warp cannot be trusted (occlusions, motion boundaries).

use crate::image::Rgb;
use crate::model::vgg::to_bgr_centered;
use crate::{Error, Result, Setting};

/// `strength · (1/D) Σ w_p (x_p,c − target_p,c)²` over pixels `p` and channels `c`
/// (D = 3·width·height), in the pixel units of 0..255.
#[derive(Clone, Debug)]
pub struct Prior {
    width: usize,
    height: usize,
    /// The target in the optimiser's layout (BGR, mean subtracted, planar).
    target: Vec<f32>,
    weights: Vec<f32>,
    strength: f32,
}

impl Prior {
    /// A pull of `strength` towards `target` with one weight per pixel (row-major, `0..=1`).
    pub fn new(target: &Rgb, weights: Vec<f32>, strength: f32) -> Result<Self> {
        if weights.len() != target.pixel_count() {
            return Err(Error::Internal(format!(
                "{} prior weights for a {}×{} target",
                weights.len(),
                target.width,
                target.height
            )));
        }
        if !(strength.is_finite() && strength >= 0.0) {
            return Err(Error::setting(
                Setting::TemporalWeight,
                strength,
                "use a finite number ≥ 0",
            ));
        }
        Ok(Self {
            width: target.width,
            height: target.height,
            target: to_bgr_centered(target),
            weights,
            strength,
        })
    }

    /// Width and height of the target.
    pub fn size(&self) -> (usize, usize) {
        (self.width, self.height)
    }

    /// The weight on the term.
    pub fn strength(&self) -> f32 {
        self.strength
    }

    /// The unweighted term at `x` (optimiser layout); adds `strength ×` its gradient to `grad`.
    pub fn add_to(&self, x: &[f32], grad: &mut [f32]) -> f64 {
        let n = self.width * self.height;
        let scale = 1.0 / (3 * n) as f64;
        let g_scale = (2.0 * scale * self.strength as f64) as f32;
        let mut sum = 0.0f64;
        for c in 0..3 {
            let range = c * n..(c + 1) * n;
            for (((&x, &t), &w), g) in x[range.clone()]
                .iter()
                .zip(&self.target[range.clone()])
                .zip(&self.weights)
                .zip(&mut grad[range])
            {
                let d = x - t;
                sum += (w * d * d) as f64;
                *g += g_scale * w * d;
            }
        }
        sum * scale
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_and_gradient_match_finite_differences() {
        let (w, h) = (3, 2);
        let target = Rgb::new(w, h, (0..18).map(|i| (i * 13 % 255) as f32).collect());
        let weights = vec![1.0, 0.0, 0.5, 1.0, 1.0, 0.25];
        let prior = Prior::new(&target, weights, 2.0).unwrap();
        let mut x = to_bgr_centered(&target);
        // At the target the term and its gradient vanish.
        let mut g = vec![0.0; 18];
        assert_eq!(prior.add_to(&x, &mut g), 0.0);
        assert!(g.iter().all(|&v| v == 0.0));
        for (i, v) in x.iter_mut().enumerate() {
            *v += (i as f32 * 0.7).sin() * 5.0;
        }
        let mut g = vec![0.0; 18];
        let f0 = prior.add_to(&x, &mut g);
        for i in 0..18 {
            let mut xp = x.clone();
            xp[i] += 1e-2;
            let fp = prior.add_to(&xp, &mut [0.0; 18]);
            let numeric = 2.0 * (fp - f0) / 1e-2;
            assert!(
                (numeric - g[i] as f64).abs() < 1e-2,
                "{i}: {numeric} vs {}",
                g[i]
            );
        }
        // Masked pixel 1 has no pull in any channel.
        assert!(g[1] == 0.0 && g[7] == 0.0 && g[13] == 0.0);
    }

    #[test]
    fn rejects_bad_weights_and_strength() {
        let t = Rgb::filled(2, 2, [0.0; 3]);
        assert!(Prior::new(&t, vec![1.0; 3], 1.0).is_err());
        assert!(Prior::new(&t, vec![1.0; 4], f32::NAN).is_err());
    }
}
