//! Adam (Kingma & Ba 2015) over named parameters, with its moments kept by name so that a
//! checkpoint holds them.

use super::params::{Param, Params};

/// Adam's decay of the first moment.
const BETA1: f32 = 0.9;
/// Adam's decay of the second moment.
const BETA2: f32 = 0.999;
/// Adam's ε.
const EPSILON: f32 = 1e-8;

/// Adam's state: both moments of every parameter and the number of steps taken.
#[derive(Clone, Debug)]
pub struct Adam {
    /// First moments, by parameter name.
    pub m: Params,
    /// Second moments, by parameter name.
    pub v: Params,
    /// Steps taken.
    pub t: u64,
}

/// Zeros shaped like `params`.
pub(crate) fn zeros_like(params: &Params) -> Params {
    params
        .iter()
        .map(|(k, p)| {
            let z = Param {
                shape: p.shape.clone(),
                data: vec![0.0; p.data.len()],
            };
            (k.clone(), z)
        })
        .collect()
}

impl Adam {
    /// Fresh state for `params`.
    pub fn new(params: &Params) -> Self {
        Self {
            m: zeros_like(params),
            v: zeros_like(params),
            t: 0,
        }
    }

    /// One step of size `lr` along `grads` (named like `params`).
    pub fn step(&mut self, params: &mut Params, grads: &Params, lr: f32) {
        self.t += 1;
        let c1 = 1.0 - BETA1.powi(self.t as i32);
        let c2 = 1.0 - BETA2.powi(self.t as i32);
        for (name, p) in params.iter_mut() {
            let (Some(g), Some(m), Some(v)) =
                (grads.get(name), self.m.get_mut(name), self.v.get_mut(name))
            else {
                continue;
            };
            for (((x, g), m), v) in p
                .data
                .iter_mut()
                .zip(&g.data)
                .zip(&mut m.data)
                .zip(&mut v.data)
            {
                *m = BETA1 * *m + (1.0 - BETA1) * g;
                *v = BETA2 * *v + (1.0 - BETA2) * g * g;
                *x -= lr * (*m / c1) / ((*v / c2).sqrt() + EPSILON);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_downhill_on_a_bowl() {
        // f(x) = Σ (x - 3)²: Adam with lr 0.1 gets close in a few hundred steps.
        let mut p = Params::new();
        p.insert(
            "x".into(),
            Param {
                shape: vec![2],
                data: vec![0.0, 10.0],
            },
        );
        let mut adam = Adam::new(&p);
        for _ in 0..500 {
            let g: Vec<f32> = p["x"].data.iter().map(|x| 2.0 * (x - 3.0)).collect();
            let mut grads = Params::new();
            grads.insert(
                "x".into(),
                Param {
                    shape: vec![2],
                    data: g,
                },
            );
            adam.step(&mut p, &grads, 0.1);
        }
        for x in &p["x"].data {
            assert!((x - 3.0).abs() < 0.05, "{x}");
        }
    }
}
