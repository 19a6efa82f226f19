//! Optimisers over a flat f32 vector with per-element box bounds (pixels stay in range).

pub mod adam;
pub mod lbfgs;

use crate::Result;

/// A function to minimise: returns the value and the gradient at `x`.
pub type Objective<'a> = dyn FnMut(&[f32]) -> Result<(f64, Vec<f32>)> + 'a;

/// Per-element lower and upper bounds.
#[derive(Clone, Debug)]
pub struct Bounds {
    /// Lower bounds, one per element.
    pub lo: Vec<f32>,
    /// Upper bounds, one per element.
    pub hi: Vec<f32>,
}

impl Bounds {
    /// Clamps `x` into the box.
    pub fn project(&self, x: &mut [f32]) {
        for ((v, &lo), &hi) in x.iter_mut().zip(&self.lo).zip(&self.hi) {
            *v = v.clamp(lo, hi);
        }
    }

    /// The gradient with components that push against an active bound set to zero.
    pub fn projected_gradient(&self, x: &[f32], g: &[f32]) -> Vec<f32> {
        x.iter()
            .zip(g)
            .zip(self.lo.iter().zip(&self.hi))
            .map(|((&x, &g), (&lo, &hi))| {
                if (x <= lo && g > 0.0) || (x >= hi && g < 0.0) {
                    0.0
                } else {
                    g
                }
            })
            .collect()
    }
}

/// What one optimiser step did.
#[derive(Clone, Copy, Debug)]
pub struct StepInfo {
    /// Objective value after the step.
    pub loss: f64,
    /// Objective evaluations the step took.
    pub evals: usize,
}

/// f64 dot product of two f32 slices.
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(&x, &y)| x as f64 * y as f64).sum()
}
