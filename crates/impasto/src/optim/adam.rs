//! Adam (Kingma & Ba) with the iterate clamped into the bounds after each step.

use super::{Bounds, Objective, StepInfo};
use crate::session::state::{self, Array, Arrays, OptimizerState};
use crate::Result;

/// Adam state.
pub struct Adam {
    lr: f32,
    m: Vec<f32>,
    v: Vec<f32>,
    t: i32,
}

impl Adam {
    /// Adam with learning rate `lr` (β₁ = 0.9, β₂ = 0.999).
    pub fn new(lr: f32) -> Self {
        Self {
            lr,
            m: Vec::new(),
            v: Vec::new(),
            t: 0,
        }
    }

    /// The numbers to save, and the moments as named arrays.
    pub(crate) fn save<'a>(&'a self, arrays: &mut Vec<(String, Array<'a>)>) -> OptimizerState {
        arrays.push(("adam.m".into(), Array::F32(&self.m)));
        arrays.push(("adam.v".into(), Array::F32(&self.v)));
        OptimizerState::Adam { t: self.t }
    }

    /// Continues from `t` steps and saved moments for a problem of `len` variables.
    pub(crate) fn restore(&mut self, t: i32, arrays: &mut Arrays, len: usize) -> Result<()> {
        let len = if t == 0 { 0 } else { len };
        self.m = state::take_f32(arrays, "adam.m", len)?;
        self.v = state::take_f32(arrays, "adam.v", len)?;
        self.t = t;
        Ok(())
    }

    /// One step; the returned loss is the value before the step.
    pub fn step(
        &mut self,
        x: &mut [f32],
        bounds: Option<&Bounds>,
        f: &mut Objective,
    ) -> Result<StepInfo> {
        let (loss, g) = f(x)?;
        if self.m.len() != x.len() {
            self.m = vec![0.0; x.len()];
            self.v = vec![0.0; x.len()];
            self.t = 0;
        }
        self.t += 1;
        let (b1, b2) = (0.9f32, 0.999f32);
        let c1 = 1.0 - b1.powi(self.t);
        let c2 = 1.0 - b2.powi(self.t);
        for i in 0..x.len() {
            self.m[i] = b1 * self.m[i] + (1.0 - b1) * g[i];
            self.v[i] = b2 * self.v[i] + (1.0 - b2) * g[i] * g[i];
            x[i] -= self.lr * (self.m[i] / c1) / ((self.v[i] / c2).sqrt() + 1e-8);
        }
        if let Some(b) = bounds {
            b.project(x);
        }
        Ok(StepInfo { loss, evals: 1 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimises_a_bowl_within_bounds() {
        let mut f = |x: &[f32]| -> crate::Result<(f64, Vec<f32>)> {
            let f = x.iter().map(|&v| ((v - 3.0) as f64).powi(2)).sum();
            Ok((f, x.iter().map(|&v| 2.0 * (v - 3.0)).collect()))
        };
        let bounds = Bounds {
            ranges: vec![(0.0, 2.0), (0.0, 10.0)],
            span: 1,
        };
        let mut x = vec![0.0f32, 0.0];
        let mut opt = Adam::new(0.1);
        for _ in 0..500 {
            opt.step(&mut x, Some(&bounds), &mut f).unwrap();
        }
        assert!(
            (x[0] - 2.0).abs() < 1e-3 && (x[1] - 3.0).abs() < 1e-2,
            "{x:?}"
        );
    }
}
