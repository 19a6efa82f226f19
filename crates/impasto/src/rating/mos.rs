//! Mean opinion scores (ITU-T P.800.1) from absolute category ratings.

use super::resample::{percentile_interval, RaterBootstrap};
use super::{Interval, Rating};

/// Mean opinion score per method (the mean of all its ratings, over items and raters) with a
/// 95 % percentile-bootstrap interval that resamples the raters who answered, `bootstrap` times
/// from a generator seeded with `seed` (as [`super::bradley_terry_ci`] does). A resample with
/// no rating of a method adds nothing to that method's interval. `None` for a method with no
/// ratings.
pub fn mos_ci(
    n_methods: usize,
    n_raters: usize,
    ratings: &[Rating],
    bootstrap: usize,
    seed: u64,
) -> Vec<Option<Interval>> {
    let estimates = means(n_methods, ratings, |_| 1.0);
    let mut raters = RaterBootstrap::new(n_raters, ratings.iter().map(|r| r.rater), seed);
    let mut replicates = vec![Vec::with_capacity(bootstrap); n_methods];
    let rounds = if raters.is_empty() { 0 } else { bootstrap };
    for _ in 0..rounds {
        let weights = raters.draw();
        let resampled = means(n_methods, ratings, |r| weights[r.rater]);
        for (column, mean) in replicates.iter_mut().zip(resampled) {
            column.extend(mean);
        }
    }
    estimates
        .into_iter()
        .zip(&mut replicates)
        .map(|(estimate, column)| estimate.map(|e| percentile_interval(e, column)))
        .collect()
}

/// The weighted mean score of each method, `None` where its weights sum to 0.
fn means(
    n_methods: usize,
    ratings: &[Rating],
    weight: impl Fn(&Rating) -> f64,
) -> Vec<Option<f64>> {
    let mut sums = vec![(0.0, 0.0); n_methods];
    for r in ratings {
        debug_assert!(r.method < n_methods, "method out of range");
        if let Some((total, weights)) = sums.get_mut(r.method) {
            let w = weight(r);
            *total += w * f64::from(r.score);
            *weights += w;
        }
    }
    sums.into_iter()
        .map(|(total, w)| (w > 0.0).then(|| total / w))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::simulate::unit;
    use super::*;
    use crate::fast::rng::Rng;

    /// Each method's scores before a rater's leaning: probabilities of 1..=5.
    const METHODS: [[f64; 5]; 3] = [
        [0.3, 0.3, 0.2, 0.1, 0.1],
        [0.1, 0.2, 0.4, 0.2, 0.1],
        [0.0, 0.1, 0.2, 0.3, 0.4],
    ];
    /// Raters are harsh (−1), neutral or lenient (+1) with equal chance; scores stay in 1..=5.
    const LEANINGS: [i32; 3] = [-1, 0, 1];

    fn shifted(score: usize, leaning: i32) -> f64 {
        (score as i32 + 1 + leaning).clamp(1, 5) as f64
    }

    /// The expected score of a method over the population of raters.
    fn true_mos(method: usize) -> f64 {
        let expected = |leaning| -> f64 {
            METHODS[method]
                .iter()
                .enumerate()
                .map(|(s, p)| p * shifted(s, leaning))
                .sum()
        };
        LEANINGS.iter().map(|&l| expected(l)).sum::<f64>() / 3.0
    }

    fn study(raters: usize, items: usize, seed: u64) -> Vec<Rating> {
        let mut rng = Rng(seed);
        let mut ratings = Vec::new();
        for rater in 0..raters {
            let leaning = LEANINGS[rng.below(3)];
            for item in 0..items {
                for (method, probabilities) in METHODS.iter().enumerate() {
                    let mut u = unit(&mut rng);
                    let s = probabilities.iter().position(|p| {
                        u -= p;
                        u < 0.0
                    });
                    let score = shifted(s.unwrap_or(4), leaning) as u8;
                    ratings.push(Rating {
                        rater,
                        item,
                        method,
                        score,
                    });
                }
            }
        }
        ratings
    }

    #[test]
    fn the_mean_of_each_methods_ratings_and_none_for_an_unrated_method() {
        let rating = |rater, method, score| Rating {
            rater,
            item: 0,
            method,
            score,
        };
        let ratings = [
            rating(0, 0, 4),
            rating(1, 0, 2),
            rating(0, 1, 5),
            rating(1, 0, 3),
        ];
        let mos = mos_ci(3, 2, &ratings, 100, 1);
        let first = mos[0].unwrap();
        assert_eq!(first.estimate, 3.0);
        assert!(first.low >= 2.0 && first.high <= 4.0 && first.low < first.high);
        let second = mos[1].unwrap();
        assert_eq!((second.estimate, second.low, second.high), (5.0, 5.0, 5.0));
        assert!(mos[2].is_none());
        assert!(mos_ci(2, 0, &[], 100, 1).iter().all(Option::is_none));
    }

    #[test]
    fn intervals_cover_the_true_mos() {
        let (mut covered, mut checked) = (0, 0);
        for seed in 0..40 {
            let mos = mos_ci(3, 15, &study(15, 10, 1000 + seed), 200, seed);
            for (method, interval) in mos.iter().enumerate() {
                let interval = interval.unwrap();
                covered += usize::from(
                    interval.low <= true_mos(method) && true_mos(method) <= interval.high,
                );
                checked += 1;
            }
        }
        assert!(
            covered as f64 / checked as f64 >= 0.85,
            "covered {covered} of {checked}"
        );
    }

    #[test]
    fn many_raters_estimate_the_true_mos() {
        let mos = mos_ci(3, 200, &study(200, 10, 7), 0, 0);
        for (method, interval) in mos.iter().enumerate() {
            assert!((interval.unwrap().estimate - true_mos(method)).abs() < 0.1);
        }
    }
}
