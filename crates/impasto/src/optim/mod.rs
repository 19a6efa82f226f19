//! Optimisers over a flat f32 vector with box bounds per plane (pixels stay in range).

pub mod adam;
pub mod lbfgs;
mod line;
mod stored;

pub use stored::{History, Stored};

use crate::Result;

/// A function to minimise: returns the value and the gradient at `x`.
pub type Objective<'a> = dyn FnMut(&[f32]) -> Result<(f64, Vec<f32>)> + 'a;

/// Lower and upper bounds, one pair per plane of `span` elements (one per colour channel of an
/// image), so that bounds cost nothing however large the image.
#[derive(Clone, Debug)]
pub struct Bounds {
    /// `(lo, hi)` of each plane.
    pub ranges: Vec<(f32, f32)>,
    /// Elements per plane.
    pub span: usize,
}

impl Bounds {
    /// The range of element `i`.
    #[inline]
    fn range(&self, i: usize) -> (f32, f32) {
        self.ranges[i / self.span]
    }

    /// Element `i`'s value `v`, clamped into its range.
    #[inline]
    pub fn clamp(&self, i: usize, v: f32) -> f32 {
        let (lo, hi) = self.range(i);
        v.clamp(lo, hi)
    }

    /// Clamps `x` into the box.
    pub fn project(&self, x: &mut [f32]) {
        for (plane, &(lo, hi)) in x.chunks_mut(self.span).zip(&self.ranges) {
            plane.iter_mut().for_each(|v| *v = v.clamp(lo, hi));
        }
    }

    /// Component `i` of the projected gradient: 0 where `g` pushes against an active bound.
    #[inline]
    pub fn projected(&self, x: &[f32], g: &[f32], i: usize) -> f32 {
        let (lo, hi) = self.range(i);
        if (x[i] <= lo && g[i] > 0.0) || (x[i] >= hi && g[i] < 0.0) {
            0.0
        } else {
            g[i]
        }
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
