//! Projected L-BFGS: limited-memory BFGS directions on the free variables, a projected
//! backtracking (Armijo) line search, and curvature pairs kept only when `sᵀy > 0`.

use std::collections::VecDeque;

use super::{dot, Bounds, Objective, StepInfo};
use crate::Result;

/// L-BFGS state. Make a new one when the objective changes; [`Lbfgs::forget_value`] when
/// only its weights do.
pub struct Lbfgs {
    memory: usize,
    pairs: VecDeque<(Vec<f32>, Vec<f32>, f64)>,
    current: Option<(f64, Vec<f32>)>,
}

impl Lbfgs {
    /// An optimiser that keeps `memory` curvature pairs.
    pub fn new(memory: usize) -> Self {
        Self {
            memory: memory.max(1),
            pairs: VecDeque::new(),
            current: None,
        }
    }

    /// Keeps the curvature history but forgets the cached value at the current point: for a
    /// changed objective whose curvature is still close (new loss weights, same targets).
    pub fn forget_value(&mut self) {
        self.current = None;
    }

    /// `-H·g` by the two-loop recursion, with `H₀ = (sᵀy / yᵀy)·I`.
    fn direction(&self, g: &[f32]) -> Vec<f32> {
        let mut q: Vec<f64> = g.iter().map(|&v| v as f64).collect();
        let mut alphas = Vec::with_capacity(self.pairs.len());
        for (s, y, rho) in self.pairs.iter().rev() {
            let a = rho * s.iter().zip(&q).map(|(&s, &q)| s as f64 * q).sum::<f64>();
            q.iter_mut().zip(y).for_each(|(q, &y)| *q -= a * y as f64);
            alphas.push(a);
        }
        if let Some((s, y, _)) = self.pairs.back() {
            let gamma = dot(s, y) / dot(y, y);
            q.iter_mut().for_each(|v| *v *= gamma);
        }
        for ((s, y, rho), a) in self.pairs.iter().zip(alphas.iter().rev()) {
            let b = rho * y.iter().zip(&q).map(|(&y, &q)| y as f64 * q).sum::<f64>();
            q.iter_mut()
                .zip(s)
                .for_each(|(q, &s)| *q += (a - b) * s as f64);
        }
        q.into_iter().map(|v| -v as f32).collect()
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
        let pg = match bounds {
            Some(b) => b.projected_gradient(x, &g0),
            None => g0.clone(),
        };
        let mut d = self.direction(&pg);
        // Variables held at a bound do not move.
        d.iter_mut().zip(&pg).for_each(|(d, &p)| {
            if p == 0.0 {
                *d = 0.0
            }
        });
        let mut slope = dot(&d, &pg);
        if slope.is_nan() || slope >= 0.0 {
            self.pairs.clear();
            d = pg.iter().map(|v| -v).collect();
            slope = -dot(&pg, &pg);
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
        let x0 = x.to_vec();
        for attempt in 0..20 {
            x.iter_mut()
                .zip(&x0)
                .zip(&d)
                .for_each(|((x, &x0), &d)| *x = x0 + (t * d as f64) as f32);
            if let Some(b) = bounds {
                b.project(x);
            }
            let s: Vec<f32> = x.iter().zip(&x0).map(|(a, b)| a - b).collect();
            let (f1, g1) = f(x)?;
            evals += 1;
            let sufficient = f1.is_finite() && f1 <= f0 + 1e-4 * dot(&pg, &s).min(0.0);
            if sufficient || attempt == 19 {
                if !sufficient && (f1.is_nan() || f1 >= f0) {
                    // No progress possible along this direction: stay put, drop the history.
                    x.copy_from_slice(&x0);
                    self.pairs.clear();
                    self.current = Some((f0, g0));
                    return Ok(StepInfo { loss: f0, evals });
                }
                let y: Vec<f32> = g1.iter().zip(&g0).map(|(a, b)| a - b).collect();
                let sy = dot(&s, &y);
                if sy > 1e-10 * dot(&y, &y).max(f64::MIN_POSITIVE) {
                    if self.pairs.len() == self.memory {
                        self.pairs.pop_front();
                    }
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
        let mut opt = Lbfgs::new(10);
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
            lo: vec![-2.0; 2],
            hi: vec![0.5; 2],
        };
        let mut x = vec![-1.2f32, 0.0];
        let mut opt = Lbfgs::new(10);
        for _ in 0..200 {
            opt.step(&mut x, Some(&bounds), &mut rosenbrock).unwrap();
            assert!(x.iter().all(|&v| (-2.0..=0.5).contains(&v)));
        }
        assert!(
            (x[0] - 0.5).abs() < 1e-3 && (x[1] - 0.25).abs() < 1e-2,
            "{x:?}"
        );
    }

    #[test]
    fn loss_never_increases() {
        let mut x = vec![-1.2f32, 1.0, 0.3];
        let mut opt = Lbfgs::new(5);
        let mut last = rosenbrock(&x).unwrap().0;
        for _ in 0..50 {
            let l = opt.step(&mut x, None, &mut rosenbrock).unwrap().loss;
            assert!(l <= last, "{l} > {last}");
            last = l;
        }
    }
}
