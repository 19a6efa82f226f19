//! The points `x = P(x₀ + t·d)` of a projected line search, held in `x` alone: the start `x₀`
//! is `x − t·d` wherever the projection left the point alone, and is kept aside only where
//! it clipped. A print-size image then needs no second copy of itself during the search.

use super::{Bounds, Stored};

/// Where a line search stands along `d` from its start.
pub struct Line<'a> {
    d: &'a Stored,
    /// The step the point in `x` was taken with.
    t: f64,
    /// One bit per element: the projection clipped it.
    clipped: Vec<u64>,
    /// `x₀` of the clipped elements, in order.
    starts: Vec<f32>,
}

impl<'a> Line<'a> {
    /// A search along `d` from the point now in `x`.
    pub fn new(d: &'a Stored, len: usize) -> Self {
        Self {
            d,
            t: 0.0,
            clipped: vec![0; len.div_ceil(64)],
            starts: Vec::new(),
        }
    }

    /// `x₀ᵢ` given `xᵢ`, taking the kept starts of clipped elements from `kept` in order.
    #[inline]
    fn start(&self, i: usize, xi: f32, kept: &mut std::slice::Iter<'_, f32>) -> f32 {
        match self.clipped[i / 64] >> (i % 64) & 1 {
            1 => *kept.next().expect("a start per clipped element"),
            _ => (xi as f64 - self.t * self.d.get(i) as f64) as f32,
        }
    }

    /// The start, element by element, with the point in `x`: `(x₀ᵢ, xᵢ)`.
    fn starts_and_points<'x>(&'x self, x: &'x [f32]) -> impl Iterator<Item = (f32, f32)> + 'x {
        let mut kept = self.starts.iter();
        x.iter()
            .enumerate()
            .map(move |(i, &xi)| (self.start(i, xi, &mut kept), xi))
    }

    /// Moves `x` to `P(x₀ + t·d)`.
    pub fn go_to(&mut self, t: f64, x: &mut [f32], bounds: Option<&Bounds>) {
        let mut clipped = vec![0u64; self.clipped.len()];
        let mut starts = Vec::new();
        let mut kept = self.starts.iter();
        for (i, xi) in x.iter_mut().enumerate() {
            let start = self.start(i, *xi, &mut kept);
            let free = (start as f64 + t * self.d.get(i) as f64) as f32;
            let point = bounds.map_or(free, |b| b.clamp(i, free));
            if point != free {
                clipped[i / 64] |= 1 << (i % 64);
                starts.push(start);
            }
            *xi = point;
        }
        self.t = t;
        self.clipped = clipped;
        self.starts = starts;
    }

    /// `Σ gᵢ·(xᵢ − x₀ᵢ)` in f64: the first-order change of the objective from the start.
    pub fn decrease(&self, g: &Stored, x: &[f32]) -> f64 {
        self.starts_and_points(x)
            .enumerate()
            .map(|(i, (s, p))| g.get(i) as f64 * (p as f64 - s as f64))
            .sum()
    }

    /// `x − x₀`, element by element.
    pub fn steps<'x>(&'x self, x: &'x [f32]) -> impl Iterator<Item = f32> + 'x {
        self.starts_and_points(x).map(|(s, p)| p - s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::History;

    /// Stepping clips at the bounds, and stepping back finds the start again, exactly where
    /// it clipped and to rounding elsewhere.
    #[test]
    fn steps_and_returns_through_the_bounds() {
        let bounds = Bounds {
            ranges: vec![(0.0, 1.0), (-1.0, 1.0)],
            span: 3,
        };
        let x0 = vec![0.2f32, 0.9, 0.5, -0.7, 0.0, 0.3];
        let d = Stored::new(
            [1.0f32, 1.0, -1.0, -2.0, 0.0, 0.25].into_iter(),
            History::F32,
        );
        let mut x = x0.clone();
        let mut line = Line::new(&d, x.len());
        line.go_to(0.5, &mut x, Some(&bounds));
        assert_eq!(x, [0.7, 1.0, 0.0, -1.0, 0.0, 0.425]);
        let steps: Vec<f32> = line.steps(&x).collect();
        for (s, want) in steps.iter().zip([0.5, 0.1, -0.5, -0.3, 0.0, 0.125]) {
            assert!((s - want).abs() < 1e-6, "{steps:?}");
        }
        let g = Stored::new([1.0f32, 2.0, 0.0, 1.0, 5.0, 4.0].into_iter(), History::F32);
        assert!((line.decrease(&g, &x) - (0.5 + 0.2 - 0.3 + 0.5)).abs() < 1e-6);
        line.go_to(0.25, &mut x, Some(&bounds));
        assert!(
            (x[1] - 1.0).abs() < 1e-7 && (x[0] - 0.45).abs() < 1e-6,
            "{x:?}"
        );
        line.go_to(0.0, &mut x, Some(&bounds));
        for (a, b) in x.iter().zip(&x0) {
            assert!((a - b).abs() < 1e-6, "{x:?}");
        }
    }
}
