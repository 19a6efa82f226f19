//! The rater bootstrap shared by [`super::bradley_terry_ci`] and [`super::mos_ci`]: raters are
//! the clusters (resampling hierarchical data, Davison & Hinkley 1997, ch. 3), so a rater drawn twice counts all their answers
//! twice, and the 95 % interval is the percentile interval of the replicates (Efron 1979).

use super::Interval;
use crate::fast::rng::Rng;

/// Draws raters with replacement from those who answered at least once.
pub(super) struct RaterBootstrap {
    raters: Vec<usize>,
    weights: Vec<f64>,
    rng: Rng,
}

impl RaterBootstrap {
    /// The raters who gave the answers `answered_by`; `n_raters` sizes the weights (a rater
    /// index past it is still counted, so no input panics).
    pub fn new(n_raters: usize, answered_by: impl Iterator<Item = usize>, seed: u64) -> Self {
        let mut raters: Vec<usize> = answered_by.collect();
        raters.sort_unstable();
        raters.dedup();
        debug_assert!(
            raters.last().is_none_or(|&r| r < n_raters),
            "rater out of range"
        );
        let len = raters.last().map_or(n_raters, |&r| n_raters.max(r + 1));
        Self {
            raters,
            weights: vec![0.0; len],
            rng: Rng(seed),
        }
    }

    /// Whether there is anyone to resample.
    pub fn is_empty(&self) -> bool {
        self.raters.is_empty()
    }

    /// A new resample: how many times each rater (by index) was drawn.
    pub fn draw(&mut self) -> &[f64] {
        self.weights.fill(0.0);
        for _ in 0..self.raters.len() {
            let rater = self.raters[self.rng.below(self.raters.len())];
            self.weights[rater] += 1.0;
        }
        &self.weights
    }
}

/// The 95 % percentile interval of `replicates` around `estimate`; with no replicates the
/// interval is the estimate alone.
pub(super) fn percentile_interval(estimate: f64, replicates: &mut [f64]) -> Interval {
    replicates.sort_unstable_by(f64::total_cmp);
    Interval {
        estimate,
        low: quantile(replicates, 0.025).unwrap_or(estimate),
        high: quantile(replicates, 0.975).unwrap_or(estimate),
    }
}

/// The `p` quantile of sorted values, interpolated linearly (Hyndman & Fan 1996, type 7).
fn quantile(sorted: &[f64], p: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let h = p * last as f64;
    let below = h.floor() as usize;
    let above = (below + 1).min(last);
    Some(sorted[below] + (h - below as f64) * (sorted[above] - sorted[below]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_draw_resamples_as_many_raters_as_answered() {
        let mut boot = RaterBootstrap::new(10, [3, 3, 7, 1].into_iter(), 5);
        for _ in 0..20 {
            let weights = boot.draw();
            assert_eq!(weights.iter().sum::<f64>(), 3.0);
            assert!(weights
                .iter()
                .enumerate()
                .all(|(r, &w)| w == 0.0 || [1, 3, 7].contains(&r)));
        }
    }

    #[test]
    fn percentile_interval_of_a_known_sample() {
        let mut values: Vec<f64> = (0..=100).rev().map(f64::from).collect();
        let interval = percentile_interval(50.0, &mut values);
        assert!((interval.low - 2.5).abs() < 1e-12 && (interval.high - 97.5).abs() < 1e-12);
        let none = percentile_interval(1.5, &mut []);
        assert_eq!((none.low, none.high), (1.5, 1.5));
    }
}
