//! Simulated studies with known answers, for the tests.

use super::{Comparison, Outcome};
use crate::fast::rng::Rng;

/// One 2AFC answer.
pub fn answer(rater: usize, item: usize, a: usize, b: usize, outcome: Outcome) -> Comparison {
    Comparison {
        rater,
        item,
        a,
        b,
        outcome,
    }
}

/// Uniform in `[0, 1)`.
pub fn unit(rng: &mut Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// A 2AFC study drawn from Davidson's model with log-strengths `strengths` and tie parameter
/// `tie`: each of `raters` raters answers `per_rater` comparisons of a random pair of methods,
/// on random sides, for a random one of 20 items.
pub fn davidson_study(
    strengths: &[f64],
    tie: f64,
    raters: usize,
    per_rater: usize,
    seed: u64,
) -> Vec<Comparison> {
    let mut rng = Rng(seed);
    let n = strengths.len();
    let mut comparisons = Vec::with_capacity(raters * per_rater);
    for rater in 0..raters {
        for _ in 0..per_rater {
            let a = rng.below(n);
            let b = (a + 1 + rng.below(n - 1)) % n;
            let (pa, pb) = (strengths[a].exp(), strengths[b].exp());
            let pt = tie * (pa * pb).sqrt();
            let u = unit(&mut rng) * (pa + pb + pt);
            let outcome = if u < pa {
                Outcome::A
            } else if u < pa + pb {
                Outcome::B
            } else {
                Outcome::Tie
            };
            comparisons.push(Comparison {
                rater,
                item: rng.below(20),
                a,
                b,
                outcome,
            });
        }
    }
    comparisons
}
