//! Inter-rater agreement: Krippendorff's alpha (Krippendorff 2011, "Computing Krippendorff's
//! alpha-reliability"), `α = 1 − D_o / D_e`, the observed over the expected disagreement.
//!
//! It allows any number of raters per unit and raters who saw different subsets; units with
//! fewer than two values cannot be paired and are skipped. A rater who answered a unit more than
//! once (a repeated trial) counts once, with their first answer, as in Krippendorff's one value
//! per rater and unit. Alpha is `None` when undefined: no pairable values, or no variation at all.

use std::collections::BTreeMap;

use super::{Comparison, Rating};

/// Krippendorff's alpha of 2AFC answers. The unit is an item and an unordered pair of methods;
/// the value (nominal) is which of the two won, or a tie, whichever side each was shown on.
pub fn alpha_comparisons(comparisons: &[Comparison]) -> Option<f64> {
    alpha(&comparison_units(comparisons), Metric::Nominal)
}

/// The share of pairs of raters on the same item and method pair who gave the same answer
/// (`1 − D_o`, nominal): plain agreement, which stays high when raters agree on a ranking that
/// every pair shares, where alpha (agreement beyond the answers' overall spread) falls to 0.
pub fn pairwise_agreement(comparisons: &[Comparison]) -> Option<f64> {
    let units = comparison_units(comparisons);
    let (observed, _) = disagreement(&units, Metric::Nominal)?;
    Some(1.0 - observed)
}

/// 2AFC answers as a reliability table: per item and method pair, which of the two won or a
/// tie, whichever side each was shown on.
fn comparison_units(comparisons: &[Comparison]) -> Vec<Vec<f64>> {
    let answers = comparisons.iter().map(|c| {
        let (lo, hi) = (c.a.min(c.b), c.a.max(c.b));
        let value = match c.winner() {
            Some(m) if m == lo => 0.0,
            Some(_) => 1.0,
            None => 2.0,
        };
        (c.rater, (c.item, lo, hi), value)
    });
    units(answers)
}

/// Krippendorff's alpha of absolute category ratings. The unit is an item and a method; the
/// scores are compared with the interval metric `(s − s')²`.
pub fn alpha_ratings(ratings: &[Rating]) -> Option<f64> {
    let answers = ratings
        .iter()
        .map(|r| (r.rater, (r.item, r.method), f64::from(r.score)));
    alpha(&units(answers), Metric::Interval)
}

/// How two values differ (Krippendorff's δ²).
#[derive(Clone, Copy, Debug)]
enum Metric {
    /// 0 when equal, 1 otherwise.
    Nominal,
    /// The squared difference.
    Interval,
}

impl Metric {
    /// The sum of δ² over all ordered pairs of distinct positions in `values`.
    fn pair_sum(self, values: &[f64]) -> f64 {
        let m = values.len() as f64;
        match self {
            // m² pairs, less those with equal values: Σ over categories of (count)².
            Metric::Nominal => {
                let mut sorted = values.to_vec();
                sorted.sort_unstable_by(f64::total_cmp);
                let same: f64 = sorted
                    .chunk_by(|x, y| x == y)
                    .map(|run| (run.len() as f64).powi(2))
                    .sum();
                m * m - same
            }
            // Σᵢ Σⱼ (xᵢ − xⱼ)² = 2 m Σ (x − x̄)².
            Metric::Interval => {
                let mean = values.iter().sum::<f64>() / m;
                2.0 * m * values.iter().map(|x| (x - mean).powi(2)).sum::<f64>()
            }
        }
    }
}

/// The values of each unit from `(rater, unit, value)` answers, a rater's first answer only.
fn units<K: Ord>(answers: impl Iterator<Item = (usize, K, f64)>) -> Vec<Vec<f64>> {
    let mut units: BTreeMap<K, Vec<(usize, f64)>> = BTreeMap::new();
    for (rater, unit, value) in answers {
        let values = units.entry(unit).or_default();
        if values.iter().all(|&(r, _)| r != rater) {
            values.push((rater, value));
        }
    }
    units
        .into_values()
        .map(|values| values.into_iter().map(|(_, v)| v).collect())
        .collect()
}

/// Krippendorff's alpha of a reliability table: each unit's values, from different raters.
fn alpha(units: &[Vec<f64>], metric: Metric) -> Option<f64> {
    let (observed, expected) = disagreement(units, metric)?;
    (expected > 0.0).then(|| 1.0 - observed / expected)
}

/// The observed and expected disagreements `(D_o, D_e)` of a reliability table, `None` when
/// no value can be paired.
fn disagreement(units: &[Vec<f64>], metric: Metric) -> Option<(f64, f64)> {
    let pairable: Vec<&Vec<f64>> = units.iter().filter(|u| u.len() >= 2).collect();
    let all: Vec<f64> = pairable.iter().flat_map(|u| u.iter().copied()).collect();
    if all.is_empty() {
        return None;
    }
    let n = all.len() as f64;
    // D_o = (1/n) Σ_u pair_sum(u) / (m_u − 1);  D_e = pair_sum(all) / (n (n − 1)).
    let observed: f64 = pairable
        .iter()
        .map(|u| metric.pair_sum(u) / (u.len() - 1) as f64)
        .sum::<f64>()
        / n;
    let expected = metric.pair_sum(&all) / (n * (n - 1.0));
    Some((observed, expected))
}

#[cfg(test)]
mod tests {
    use super::super::simulate::answer;
    use super::super::Outcome;
    use super::*;
    use crate::fast::rng::Rng;

    /// Krippendorff's (2011) worked example: 4 raters, 12 units, values 1–5, `0` missing.
    const RELIABILITY_DATA: [[u8; 12]; 4] = [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, 0, 0, 0],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, 0, 3],
        [0, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, 0],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, 0],
    ];

    fn worked_example() -> Vec<Rating> {
        let mut ratings = Vec::new();
        for (rater, row) in RELIABILITY_DATA.iter().enumerate() {
            for (item, &score) in row.iter().enumerate().filter(|(_, &s)| s > 0) {
                ratings.push(Rating {
                    rater,
                    item,
                    method: 0,
                    score,
                });
            }
        }
        ratings
    }

    #[test]
    fn krippendorffs_worked_example() {
        // Interval metric through the public function: α = 0.849.
        let interval = alpha_ratings(&worked_example()).unwrap();
        assert!((interval - 0.849).abs() < 5e-4, "interval {interval}");
        // Nominal metric on the same table: α = 0.743.
        let answers = worked_example()
            .into_iter()
            .map(|r| (r.rater, r.item, f64::from(r.score)));
        let nominal = alpha(&units(answers), Metric::Nominal).unwrap();
        assert!((nominal - 0.743).abs() < 5e-4, "nominal {nominal}");
    }

    #[test]
    fn a_small_comparison_study_by_hand() {
        // Units (item, pair 0–1) have values [0 won, 0 won], [1 won, tie], [tie, tie, 0 won]:
        // categories 0: 3, 1: 1, tie: 3 of n = 7; D_e ∝ 49 − 19 = 30; D_o ∝ 0 + 2/1 + 4/2 = 4;
        // α = 1 − (n − 1) · 4 / 30 = 0.2.
        let comparisons = [
            answer(0, 0, 0, 1, Outcome::A),
            answer(1, 0, 1, 0, Outcome::B),
            answer(0, 1, 1, 0, Outcome::A),
            answer(1, 1, 0, 1, Outcome::Tie),
            answer(0, 2, 0, 1, Outcome::Tie),
            answer(1, 2, 1, 0, Outcome::Tie),
            answer(2, 2, 1, 0, Outcome::B),
            // A repeat counts once; a unit with one answer is skipped.
            answer(2, 2, 0, 1, Outcome::B),
            answer(2, 3, 0, 1, Outcome::B),
        ];
        let alpha = alpha_comparisons(&comparisons).unwrap();
        assert!((alpha - 0.2).abs() < 1e-12, "{alpha}");
    }

    #[test]
    fn perfect_agreement_is_one_even_with_swapped_sides() {
        let mut comparisons = Vec::new();
        for item in 0..6 {
            let outcome = [Outcome::A, Outcome::B, Outcome::Tie][item % 3];
            comparisons.push(answer(0, item, 0, 1, outcome));
            let swapped = match outcome {
                Outcome::A => Outcome::B,
                Outcome::B => Outcome::A,
                Outcome::Tie => Outcome::Tie,
            };
            comparisons.push(answer(1, item, 1, 0, swapped));
            comparisons.push(answer(2, item, 0, 1, outcome));
        }
        assert_eq!(alpha_comparisons(&comparisons), Some(1.0));
        assert_eq!(pairwise_agreement(&comparisons), Some(1.0));
        let ratings: Vec<_> = (0..3)
            .flat_map(|rater| {
                (0..5).map(move |item| Rating {
                    rater,
                    item,
                    method: 1,
                    score: 1 + item as u8,
                })
            })
            .collect();
        assert_eq!(alpha_ratings(&ratings), Some(1.0));
    }

    #[test]
    fn random_answers_agree_by_chance_only() {
        let mut rng = Rng(11);
        let outcomes = [Outcome::A, Outcome::B, Outcome::Tie];
        let comparisons: Vec<_> = (0..5)
            .flat_map(|rater| (0..400).map(move |item| (rater, item)))
            .map(|(rater, item)| answer(rater, item, 0, 1, outcomes[rng.below(3)]))
            .collect();
        let alpha = alpha_comparisons(&comparisons).unwrap();
        assert!(alpha.abs() < 0.05, "{alpha}");
        let mut rng = Rng(12);
        let ratings: Vec<_> = (0..5)
            .flat_map(|rater| (0..400).map(move |item| (rater, item)))
            .map(|(rater, item)| Rating {
                rater,
                item,
                method: 0,
                score: 1 + rng.below(5) as u8,
            })
            .collect();
        assert!(alpha_ratings(&ratings).unwrap().abs() < 0.05);
    }

    #[test]
    fn a_shared_ranking_agrees_plainly_though_alpha_is_zero() {
        // On every item four raters of five prefer method 1: the raters agree on the ranking,
        // but nothing varies between items for alpha to find.
        let comparisons: Vec<_> = (0..5)
            .flat_map(|rater| (0..40).map(move |item| (rater, item)))
            .map(|(rater, item)| {
                let outcome = if (rater + item) % 5 == 0 {
                    Outcome::A
                } else {
                    Outcome::B
                };
                answer(rater, item, 0, 1, outcome)
            })
            .collect();
        let plain = pairwise_agreement(&comparisons).unwrap();
        // 4·3 of the 5·4 ordered pairs of raters on an item agree.
        assert!((plain - 0.6).abs() < 1e-12, "{plain}");
        assert!(alpha_comparisons(&comparisons).unwrap() < 0.05);
        assert_eq!(pairwise_agreement(&[]), None);
    }

    #[test]
    fn undefined_without_pairs_or_variation() {
        assert_eq!(alpha_comparisons(&[]), None);
        assert_eq!(alpha_ratings(&[]), None);
        let one_each = [
            answer(0, 0, 0, 1, Outcome::A),
            answer(1, 1, 0, 1, Outcome::B),
        ];
        assert_eq!(alpha_comparisons(&one_each), None);
        let all_ties = [
            answer(0, 0, 0, 1, Outcome::Tie),
            answer(1, 0, 1, 0, Outcome::Tie),
        ];
        assert_eq!(alpha_comparisons(&all_ties), None);
    }
}
