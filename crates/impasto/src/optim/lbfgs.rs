//! Projected L-BFGS: limited-memory BFGS directions on the free variables, a projected
//! backtracking (Armijo) line search, and curvature pairs kept only when `sᵀy > 0`.
//!
//! Lean on memory for print-size images: besides its history it holds the point and gradient
//! of the last step, the direction and, during the line search, the new point's gradient.
//! The line search moves the point in place, the projected gradient is read on the fly, and
//! the history, the direction and the start's gradient may be kept in bf16.

use std::collections::VecDeque;

use super::line::Line;
use super::{Bounds, History, Objective, StepInfo, Stored};
use crate::session::state::{self, Array, Arrays, OptimizerState};
use crate::Result;

/// L-BFGS state. Make a new one when the objective changes; [`Lbfgs::forget_value`] when
/// only its weights do.
pub struct Lbfgs {
    memory: usize,
    history: History,
    /// Curvature pairs `(s, y, 1 / sᵀy)`, oldest first.
    pairs: VecDeque<(Stored, Stored, f64)>,
    current: Option<(f64, Vec<f32>)>,
}

impl Lbfgs {
    /// An optimiser that keeps `memory` curvature pairs (0: steepest descent with a line
    /// search) stored as `history` says.
    pub fn with_history(memory: usize, history: History) -> Self {
        Self {
            memory,
            history,
            pairs: VecDeque::new(),
            current: None,
        }
    }

    /// Keeps the curvature history but forgets the cached value at the current point: for a
    /// changed objective whose curvature is still close (new loss weights, same targets).
    pub fn forget_value(&mut self) {
        self.current = None;
    }

    /// The numbers to save, and the vectors (curvature pairs, current gradient) as named
    /// arrays.
    pub(crate) fn save<'a>(&'a self, arrays: &mut Vec<(String, Array<'a>)>) -> OptimizerState {
        for (i, (s, y, _)) in self.pairs.iter().enumerate() {
            arrays.push((format!("lbfgs.s.{i}"), s.array()));
            arrays.push((format!("lbfgs.y.{i}"), y.array()));
        }
        if let Some((_, g)) = &self.current {
            arrays.push(("lbfgs.g".into(), Array::F32(g)));
        }
        OptimizerState::Lbfgs {
            rhos: self.pairs.iter().map(|p| p.2).collect(),
            value: self.current.as_ref().map(|c| c.0),
        }
    }

    /// Continues from saved numbers and arrays for a problem of `len` variables.
    pub(crate) fn restore(
        &mut self,
        rhos: &[f64],
        value: Option<f64>,
        arrays: &mut Arrays,
        len: usize,
    ) -> Result<()> {
        // A run that now keeps fewer pairs (less memory free) keeps the newest.
        self.pairs.clear();
        let skip = rhos.len().saturating_sub(self.memory);
        for (i, &rho) in rhos.iter().enumerate().skip(skip) {
            let s = Stored::from_array(state::take(arrays, &format!("lbfgs.s.{i}"), len)?);
            let y = Stored::from_array(state::take(arrays, &format!("lbfgs.y.{i}"), len)?);
            self.pairs.push_back((s, y, rho));
        }
        self.current = match value {
            Some(f) => Some((f, state::take_f32(arrays, "lbfgs.g", len)?)),
            None => None,
        };
        Ok(())
    }

    /// `q ← -H·q` by the two-loop recursion, with `H₀ = (sᵀy / yᵀy)·I`.
    fn direction(&self, q: &mut [f32]) {
        let mut alphas = Vec::with_capacity(self.pairs.len());
        for (s, y, rho) in self.pairs.iter().rev() {
            let a = rho * s.dot(q);
            y.add_scaled_to(-a, q);
            alphas.push(a);
        }
        if let Some((_, y, rho)) = self.pairs.back() {
            let gamma = 1.0 / (rho * y.norm2());
            q.iter_mut().for_each(|v| *v = (*v as f64 * gamma) as f32);
        }
        for ((s, y, rho), a) in self.pairs.iter().zip(alphas.iter().rev()) {
            let b = rho * y.dot(q);
            s.add_scaled_to(a - b, q);
        }
        q.iter_mut().for_each(|v| *v = -*v);
    }

    /// One iteration: moves `x` to a point with a lower objective (within `bounds`).
    pub fn step(
        &mut self,
        x: &mut [f32],
        bounds: Option<&Bounds>,
        f: &mut Objective,
    ) -> Result<StepInfo> {
        let mut evals = 0;
        let (f0, g0) = match self.current.take() {
            Some(c) => c,
            None => {
                evals += 1;
                f(x)?
            }
        };
        let pg = |x: &[f32], i: usize| match bounds {
            Some(b) => b.projected(x, &g0, i),
            None => g0[i],
        };
        let mut d: Vec<f32> = (0..x.len()).map(|i| pg(x, i)).collect();
        self.direction(&mut d);
        // Variables held at a bound do not move.
        let mut slope = 0.0;
        for (i, d) in d.iter_mut().enumerate() {
            let p = pg(x, i);
            if p == 0.0 {
                *d = 0.0;
            }
            slope += *d as f64 * p as f64;
        }
        if slope.is_nan() || slope >= 0.0 {
            self.pairs.clear();
            d.iter_mut().enumerate().for_each(|(i, d)| *d = -pg(x, i));
            slope = -d.iter().map(|&v| v as f64 * v as f64).sum::<f64>();
        }
        if slope == 0.0 {
            self.current = Some((f0, g0));
            return Ok(StepInfo { loss: f0, evals });
        }
        // Without history, take a first step of unit length in the largest coordinate.
        let mut t = if self.pairs.is_empty() {
            let dmax = d.iter().fold(0.0f32, |m, v| m.max(v.abs())) as f64;
            (1.0 / dmax).min(1.0)
        } else {
            1.0
        };
        // The direction and the start's gradient are kept as the history is (bf16 when memory
        // is short) while the line search evaluates: the one says where to go, the other
        // becomes `y`, itself kept so. The start point is not copied (see `Line`).
        let g0 = Stored::from_vec(g0, self.history);
        let d = Stored::new(d.into_iter(), self.history);
        let mut line = Line::new(&d, x.len());
        for attempt in 0..20 {
            line.go_to(t, x, bounds);
            // The Armijo term pgᵀs: where the projected gradient is 0, so is d, and x stays.
            let decrease = line.decrease(&g0, x);
            let (f1, g1) = f(x)?;
            evals += 1;
            let sufficient = f1.is_finite() && f1 <= f0 + 1e-4 * decrease.min(0.0);
            if sufficient || attempt == 19 {
                if !sufficient && (f1.is_nan() || f1 >= f0) {
                    // No progress possible along this direction: stay put, drop the history
                    // (and the gradient, if rounded).
                    line.go_to(0.0, x, bounds);
                    self.pairs.clear();
                    self.current = match g0 {
                        Stored::F32(g0) => Some((f0, g0)),
                        Stored::Bf16(_) => None,
                    };
                    return Ok(StepInfo { loss: f0, evals });
                }
                let (mut sy, mut yy) = (0.0f64, 0.0f64);
                for (i, s) in line.steps(x).enumerate() {
                    let y = g1[i] as f64 - g0.get(i) as f64;
                    sy += s as f64 * y;
                    yy += y * y;
                }
                if self.memory > 0 && sy > 1e-10 * yy.max(f64::MIN_POSITIVE) {
                    if self.pairs.len() == self.memory {
                        self.pairs.pop_front();
                    }
                    let s = Stored::new(line.steps(x), self.history);
                    drop(line);
                    drop(d);
                    let y = Stored::new(
                        g1.iter().enumerate().map(|(i, &g)| g - g0.get(i)),
                        self.history,
                    );
                    self.pairs.push_back((s, y, 1.0 / sy));
                }
                self.current = Some((f1, g1));
                return Ok(StepInfo { loss: f1, evals });
            }
            t *= 0.5;
        }
        unreachable!("the line search returns on its last attempt")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The n-dimensional Rosenbrock function and its gradient.
    fn rosenbrock(x: &[f32]) -> crate::Result<(f64, Vec<f32>)> {
        let x: Vec<f64> = x.iter().map(|&v| v as f64).collect();
        let mut f = 0.0;
        let mut g = vec![0.0; x.len()];
        for i in 0..x.len() - 1 {
            let a = x[i + 1] - x[i] * x[i];
            let b = 1.0 - x[i];
            f += 100.0 * a * a + b * b;
            g[i] += -400.0 * x[i] * a - 2.0 * b;
            g[i + 1] += 200.0 * a;
        }
        Ok((f, g.into_iter().map(|v| v as f32).collect()))
    }

    #[test]
    fn minimises_rosenbrock() {
        let mut x = vec![-1.2f32, 1.0, -1.2, 1.0];
        let mut opt = Lbfgs::with_history(10, History::F32);
        let mut loss = f64::MAX;
        for _ in 0..200 {
            loss = opt.step(&mut x, None, &mut rosenbrock).unwrap().loss;
        }
        assert!(loss < 1e-6, "loss {loss}");
        for v in x {
            assert!((v - 1.0).abs() < 1e-2, "{v}");
        }
    }

    #[test]
    fn respects_bounds() {
        // The unconstrained minimum (1, 1) is outside the box x ≤ 0.5: the answer is on the edge.
        let bounds = Bounds {
            ranges: vec![(-2.0, 0.5)],
            span: 2,
        };
        let mut x = vec![-1.2f32, 0.0];
        let mut opt = Lbfgs::with_history(10, History::F32);
        for _ in 0..200 {
            opt.step(&mut x, Some(&bounds), &mut rosenbrock).unwrap();
            assert!(x.iter().all(|&v| (-2.0..=0.5).contains(&v)));
        }
        assert!(
            (x[0] - 0.5).abs() < 1e-3 && (x[1] - 0.25).abs() < 1e-2,
            "{x:?}"
        );
    }

    /// A bf16 history halves its memory and still finds the minimum.
    #[test]
    fn minimises_rosenbrock_with_a_bf16_history() {
        let mut x = vec![-1.2f32, 1.0, -1.2, 1.0];
        let mut opt = Lbfgs::with_history(10, History::Bf16);
        let mut loss = f64::MAX;
        for _ in 0..300 {
            loss = opt.step(&mut x, None, &mut rosenbrock).unwrap().loss;
        }
        assert!(loss < 1e-4, "loss {loss}");
    }

    #[test]
    fn loss_never_increases() {
        let mut x = vec![-1.2f32, 1.0, 0.3];
        let mut opt = Lbfgs::with_history(5, History::F32);
        let mut last = rosenbrock(&x).unwrap().0;
        for _ in 0..50 {
            let l = opt.step(&mut x, None, &mut rosenbrock).unwrap().loss;
            assert!(l <= last, "{l} > {last}");
            last = l;
        }
    }
}
