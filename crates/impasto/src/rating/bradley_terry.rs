//! Ranking methods from 2AFC answers: the Bradley–Terry model (Bradley & Terry 1952) with
//! Davidson's (1970) extension for "can't tell" answers.
//!
//! Method `i` has strength `πᵢ = exp(θᵢ)`, and the rater's answer between `i` and `j` is
//!
//! ```text
//! P(i preferred) = πᵢ / D,   P(tie) = ν √(πᵢ πⱼ) / D,   D = πᵢ + πⱼ + ν √(πᵢ πⱼ).
//! ```
//!
//! The fit is the posterior mode under independent Gaussian priors `θᵢ ~ N(0, 3²)` and
//! `log ν ~ N(0, 3²)`: weak next to a study's data, but an unbeaten method stays finite, a study
//! with no ties keeps a finite `ν`, and methods in unconnected groups are compared through the
//! prior. The log-posterior is concave in `(θ, log ν)` (a log-sum-exp of linear functions), so
//! Newton's method with a backtracking line search finds its unique maximum.

use serde::Serialize;

use super::linalg::solve_spd;
use super::pairs::PairTable;
use super::resample::{percentile_interval, RaterBootstrap};
use super::{Comparison, Interval};

/// The standard deviation of the Gaussian prior on each log-strength.
pub const PRIOR_SD_LOG_STRENGTH: f64 = 3.0;
/// The standard deviation of the Gaussian prior on the log of Davidson's tie parameter `ν`.
pub const PRIOR_SD_LOG_TIE: f64 = 3.0;

/// Newton steps before giving up (it converges in about ten).
const MAX_ITERATIONS: usize = 100;

/// A Bradley–Terry–Davidson fit.
#[derive(Clone, Debug, Serialize)]
pub struct BtFit {
    /// Log-strength `θᵢ` of each method (natural log, mean 0 over methods); 0 for a method
    /// never compared.
    pub strengths: Vec<f64>,
    /// Davidson's tie parameter `ν ≥ 0`: between equal methods `P(tie) = ν / (2 + ν)`.
    pub tie: f64,
    /// Newton steps taken.
    pub iterations: usize,
    /// Whether each method was in at least one comparison (its strength means something).
    pub compared: Vec<bool>,
}

/// Bradley–Terry log-strengths of `n_methods` methods with Davidson's ties, fitted by Newton's
/// method as the posterior mode under the weak Gaussian priors described in this module.
pub fn bradley_terry(n_methods: usize, comparisons: &[Comparison]) -> BtFit {
    fit(&PairTable::new(n_methods, comparisons, |_| 1.0))
}

/// [`bradley_terry`] with 95 % percentile-bootstrap intervals of the log-strengths,
/// resampling the raters who answered (a rater drawn twice counts all their answers twice)
/// `bootstrap` times from a generator seeded with `seed`. A resample in which a method was never
/// compared puts it at 0, the prior's mean. With no answers or `bootstrap == 0` each interval is
/// its estimate alone.
pub fn bradley_terry_ci(
    n_methods: usize,
    n_raters: usize,
    comparisons: &[Comparison],
    bootstrap: usize,
    seed: u64,
) -> Vec<Interval> {
    let point = bradley_terry(n_methods, comparisons);
    let mut raters = RaterBootstrap::new(n_raters, comparisons.iter().map(|c| c.rater), seed);
    let mut replicates = vec![Vec::with_capacity(bootstrap); n_methods];
    let rounds = if raters.is_empty() { 0 } else { bootstrap };
    for _ in 0..rounds {
        let weights = raters.draw();
        let table = PairTable::new(n_methods, comparisons, |c| weights[c.rater]);
        for (column, strength) in replicates.iter_mut().zip(fit(&table).strengths) {
            column.push(strength);
        }
    }
    point
        .strengths
        .iter()
        .zip(&mut replicates)
        .map(|(&estimate, column)| percentile_interval(estimate, column))
        .collect()
}

/// P(method `i` preferred over `j`) implied by a fit, ties aside: `πᵢ / (πᵢ + πⱼ)`, which is
/// also Davidson's P(`i` preferred | not a tie).
pub fn preference(fit: &BtFit, i: usize, j: usize) -> f64 {
    1.0 / (1.0 + (fit.strengths[j] - fit.strengths[i]).exp())
}

/// The posterior mode for the counts in `table`. Parameters are `θ₀ … θₙ₋₁, log ν`.
fn fit(table: &PairTable) -> BtFit {
    let n = table.n_methods();
    let mut params = vec![0.0; n + 1];
    let mut value = log_posterior(table, &params);
    let mut iterations = 0;
    while iterations < MAX_ITERATIONS {
        let (gradient, negative_hessian) = derivatives(table, &params);
        let Some(step) = solve_spd(negative_hessian, &gradient) else {
            break;
        };
        // The squared Newton decrement gᵀ(−H)⁻¹g, twice the predicted gain: small means converged.
        let decrement: f64 = gradient.iter().zip(&step).map(|(g, s)| g * s).sum();
        if decrement.is_nan() || decrement <= 1e-18 {
            break;
        }
        iterations += 1;
        let mut scale = 1.0;
        let accepted = loop {
            let trial: Vec<f64> = params
                .iter()
                .zip(&step)
                .map(|(p, s)| p + scale * s)
                .collect();
            let trial_value = log_posterior(table, &trial);
            if trial_value >= value + 1e-4 * scale * decrement {
                break Some((trial, trial_value));
            }
            scale *= 0.5;
            if scale < 1e-10 {
                break None;
            }
        };
        let Some((next, next_value)) = accepted else {
            break;
        };
        params = next;
        value = next_value;
    }
    let log_tie = params.pop().unwrap_or(0.0);
    let mut compared = vec![false; n];
    for (i, j, _) in table.pairs() {
        compared[i] = true;
        compared[j] = true;
    }
    // At the mode the compared methods sum to 0 and the others are exactly 0 (only the prior
    // moves them); remove the rounding so the mean is 0.
    let count = compared.iter().filter(|&&c| c).count().max(1);
    let mean = params
        .iter()
        .zip(&compared)
        .filter(|(_, &c)| c)
        .map(|(t, _)| t)
        .sum::<f64>()
        / count as f64;
    let strengths = params
        .iter()
        .zip(&compared)
        .map(|(t, &c)| if c { t - mean } else { 0.0 });
    BtFit {
        strengths: strengths.collect(),
        tie: log_tie.exp(),
        iterations,
        compared,
    }
}

/// Each answer type (first preferred, second preferred, tie) is a linear function `aₖ · x`
/// of the pair's local parameters `x = (θ_lo, θ_hi, log ν)`: its log-odds before normalising.
const ANSWER_DIRECTIONS: [[f64; 3]; 3] = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.5, 0.5, 1.0]];

/// One pair's log-odds of each answer and their log-normaliser `log D`.
fn pair_logits(params: &[f64], lo: usize, hi: usize) -> ([f64; 3], f64) {
    let local = [params[lo], params[hi], params[params.len() - 1]];
    let logits = ANSWER_DIRECTIONS.map(|a| a.iter().zip(&local).map(|(a, x)| a * x).sum::<f64>());
    let max = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let log_normaliser = max + logits.iter().map(|l| (l - max).exp()).sum::<f64>().ln();
    (logits, log_normaliser)
}

/// The log-posterior (up to a constant) at `params`.
fn log_posterior(table: &PairTable, params: &[f64]) -> f64 {
    let (strengths, log_tie) = params.split_at(params.len() - 1);
    let likelihood: f64 = table
        .pairs()
        .map(|(lo, hi, cell)| {
            let (logits, log_normaliser) = pair_logits(params, lo, hi);
            let counts = [cell.wins, cell.losses, cell.ties];
            counts
                .iter()
                .zip(&logits)
                .map(|(c, l)| c * (l - log_normaliser))
                .sum::<f64>()
        })
        .sum();
    let prior = strengths.iter().map(|t| t * t).sum::<f64>() / PRIOR_SD_LOG_STRENGTH.powi(2)
        + log_tie[0].powi(2) / PRIOR_SD_LOG_TIE.powi(2);
    likelihood - prior / 2.0
}

/// The gradient of the log-posterior and minus its Hessian (row-major) at `params`.
fn derivatives(table: &PairTable, params: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let dim = params.len();
    let mut gradient = vec![0.0; dim];
    let mut negative_hessian = vec![0.0; dim * dim];
    for (i, t) in params[..dim - 1].iter().enumerate() {
        gradient[i] = -t / PRIOR_SD_LOG_STRENGTH.powi(2);
        negative_hessian[i * dim + i] = 1.0 / PRIOR_SD_LOG_STRENGTH.powi(2);
    }
    gradient[dim - 1] = -params[dim - 1] / PRIOR_SD_LOG_TIE.powi(2);
    negative_hessian[dim * dim - 1] = 1.0 / PRIOR_SD_LOG_TIE.powi(2);
    for (lo, hi, cell) in table.pairs() {
        let (logits, log_normaliser) = pair_logits(params, lo, hi);
        let p = logits.map(|l| (l - log_normaliser).exp());
        let counts = [cell.wins, cell.losses, cell.ties];
        let total = cell.total();
        // For a log-sum-exp: gradient Σ cₖ aₖ − N E[a], Hessian −N Cov[a] under p.
        let mean: [f64; 3] =
            std::array::from_fn(|r| (0..3).map(|k| p[k] * ANSWER_DIRECTIONS[k][r]).sum());
        let index = [lo, hi, dim - 1];
        for r in 0..3 {
            let observed: f64 = (0..3).map(|k| counts[k] * ANSWER_DIRECTIONS[k][r]).sum();
            gradient[index[r]] += observed - total * mean[r];
            for c in 0..3 {
                let second: f64 = (0..3)
                    .map(|k| p[k] * ANSWER_DIRECTIONS[k][r] * ANSWER_DIRECTIONS[k][c])
                    .sum();
                negative_hessian[index[r] * dim + index[c]] += total * (second - mean[r] * mean[c]);
            }
        }
    }
    (gradient, negative_hessian)
}

#[cfg(test)]
mod tests {
    use super::super::simulate::{answer, davidson_study};
    use super::super::Outcome;
    use super::*;

    const TRUTH: [f64; 4] = [-1.0, 0.0, 0.4, 0.6];
    const TRUE_TIE: f64 = 0.5;

    fn ranking(strengths: &[f64]) -> Vec<usize> {
        let mut order: Vec<usize> = (0..strengths.len()).collect();
        order.sort_by(|&i, &j| strengths[j].total_cmp(&strengths[i]));
        order
    }

    #[test]
    fn recovers_known_strengths_tie_and_ranking() {
        // 0.4 and 0.6 are close: about 1 seed in 16 swaps them at this size; seed 1 does not.
        let comparisons = davidson_study(&TRUTH, TRUE_TIE, 40, 30, 1);
        let fit = bradley_terry(4, &comparisons);
        for (estimate, truth) in fit.strengths.iter().zip(TRUTH) {
            assert!((estimate - truth).abs() < 0.2, "{:?}", fit.strengths);
        }
        assert!((fit.tie - TRUE_TIE).abs() < 0.15, "tie {}", fit.tie);
        assert_eq!(ranking(&fit.strengths), [3, 2, 1, 0]);
        assert!(fit.strengths.iter().sum::<f64>().abs() < 1e-9);
        assert!(fit.iterations < 20);
        let expected = 1.0 / (1.0 + (-1.6f64).exp());
        assert!((preference(&fit, 3, 0) - expected).abs() < 0.05);
    }

    #[test]
    fn preference_is_a_probability_of_the_pair() {
        let fit = bradley_terry(3, &davidson_study(&[-0.5, 0.0, 0.5], 0.3, 10, 20, 2));
        assert!((preference(&fit, 1, 1) - 0.5).abs() < 1e-12);
        assert!((preference(&fit, 0, 2) + preference(&fit, 2, 0) - 1.0).abs() < 1e-12);
        assert!(preference(&fit, 2, 0) > 0.5);
    }

    #[test]
    fn a_method_that_always_wins_stays_finite_and_first() {
        let mut comparisons = davidson_study(&[0.0, 0.0, 0.0, 0.0], 0.5, 10, 10, 3);
        comparisons.retain(|c| c.a != 0 && c.b != 0);
        for rater in 0..10 {
            for other in 1..4 {
                comparisons.push(answer(rater, 0, other, 0, Outcome::B));
            }
        }
        let fit = bradley_terry(4, &comparisons);
        assert!(fit.strengths.iter().all(|s| s.is_finite()) && fit.tie.is_finite());
        assert_eq!(ranking(&fit.strengths)[0], 0);
        assert!(fit.strengths[0] < 10.0, "{:?}", fit.strengths);
        assert!(preference(&fit, 0, 1) > 0.9);
    }

    #[test]
    fn identical_methods_come_out_equal() {
        let fit = bradley_terry(3, &davidson_study(&[0.0; 3], 0.5, 40, 30, 4));
        assert!(
            fit.strengths.iter().all(|s| s.abs() < 0.15),
            "{:?}",
            fit.strengths
        );
    }

    #[test]
    fn ties_only_give_equal_methods_and_a_large_tie_parameter() {
        let comparisons: Vec<_> = (0..30)
            .map(|k| answer(k % 5, 0, k % 3, (k + 1) % 3, Outcome::Tie))
            .collect();
        let fit = bradley_terry(3, &comparisons);
        assert!(
            fit.strengths.iter().all(|s| s.abs() < 1e-9),
            "{:?}",
            fit.strengths
        );
        assert!(fit.tie > 10.0 && fit.tie.is_finite(), "tie {}", fit.tie);
    }

    #[test]
    fn a_method_never_compared_gets_zero_and_is_marked() {
        // Method 3 of 4 is never shown.
        let comparisons = davidson_study(&[-1.0, 0.0, 1.0], 0.5, 20, 20, 5);
        let fit = bradley_terry(4, &comparisons);
        assert_eq!(fit.compared, [true, true, true, false]);
        assert_eq!(fit.strengths[3], 0.0);
        assert_eq!(ranking(&fit.strengths[..3]), [2, 1, 0]);
        let intervals = bradley_terry_ci(4, 20, &comparisons, 50, 1);
        assert_eq!((intervals[3].low, intervals[3].high), (0.0, 0.0));
    }

    #[test]
    fn empty_input_gives_zeros_not_nan() {
        let fit = bradley_terry(3, &[]);
        assert_eq!(fit.strengths, [0.0; 3]);
        assert_eq!(fit.compared, [false; 3]);
        assert!(fit.tie.is_finite());
        assert!(bradley_terry(0, &[]).strengths.is_empty());
        for interval in bradley_terry_ci(3, 0, &[], 100, 1) {
            assert_eq!(
                (interval.estimate, interval.low, interval.high),
                (0.0, 0.0, 0.0)
            );
        }
        let one = bradley_terry_ci(2, 1, &[answer(0, 0, 0, 1, Outcome::A)], 0, 1);
        assert!(one
            .iter()
            .all(|i| i.low == i.estimate && i.high == i.estimate));
    }

    #[test]
    fn bootstrap_intervals_cover_the_truth() {
        let (studies, mut covered, mut checked) = (60, 0, 0);
        for study in 0..studies {
            let comparisons = davidson_study(&TRUTH, TRUE_TIE, 20, 30, 100 + study);
            for (interval, truth) in bradley_terry_ci(4, 20, &comparisons, 200, study)
                .iter()
                .zip(TRUTH)
            {
                assert!(interval.low <= interval.estimate && interval.estimate <= interval.high);
                covered += usize::from(interval.low <= truth && truth <= interval.high);
                checked += 1;
            }
        }
        let coverage = covered as f64 / checked as f64;
        assert!(coverage >= 0.85, "coverage {coverage}");
    }

    #[test]
    fn intervals_narrow_as_raters_grow() {
        let width = |raters| {
            let comparisons = davidson_study(&TRUTH, TRUE_TIE, raters, 30, 7);
            bradley_terry_ci(4, raters, &comparisons, 200, 7)
                .iter()
                .map(|i| i.high - i.low)
                .collect::<Vec<_>>()
        };
        let (few, many) = (width(10), width(80));
        for (few, many) in few.iter().zip(&many) {
            assert!(*many < 0.6 * few, "10 raters {few}, 80 raters {many}");
        }
    }

    #[test]
    fn raters_who_disagree_widen_the_interval_past_zero() {
        // Six raters always prefer method 0, four always prefer method 1: 120 to 80 answers.
        let comparisons: Vec<_> = (0..10)
            .flat_map(|rater| {
                let favourite = usize::from(rater >= 6);
                (0..20).map(move |k| {
                    let (a, b) = (k % 2, 1 - k % 2);
                    answer(
                        rater,
                        0,
                        a,
                        b,
                        if a == favourite {
                            Outcome::A
                        } else {
                            Outcome::B
                        },
                    )
                })
            })
            .collect();
        let by_rater = bradley_terry_ci(2, 10, &comparisons, 400, 9)[0];
        // The naive bootstrap treats every answer as independent: one rater per answer.
        let independent: Vec<_> = comparisons
            .iter()
            .enumerate()
            .map(|(k, c)| Comparison { rater: k, ..*c })
            .collect();
        let naive = bradley_terry_ci(2, independent.len(), &independent, 400, 9)[0];
        assert!(naive.low > 0.0, "naive {naive:?}");
        assert!(
            by_rater.low < 0.0 && by_rater.high > 0.0,
            "by rater {by_rater:?}"
        );
        assert!(by_rater.high - by_rater.low > 2.0 * (naive.high - naive.low));
    }
}
