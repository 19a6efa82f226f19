//! The statistics of a human rating study: blind two-alternative forced-choice (2AFC: "A", "B"
//! or "can't tell") comparisons between methods, and absolute category ratings (ACR, 1–5 mean
//! opinion scores). Pure functions of the answers: no I/O, no printing.
//!
//! - [`bradley_terry`] ranks methods from comparisons (Bradley–Terry with Davidson's ties),
//!   [`bradley_terry_ci`] adds intervals by resampling raters, [`preference`] reads a fit as
//!   a probability and [`win_rates`] tabulates what was observed.
//! - [`mos_ci`] gives mean opinion scores with intervals.
//! - [`alpha_comparisons`] and [`alpha_ratings`] measure how much raters agree (Krippendorff's
//!   alpha), [`pairwise_agreement`] plainly.
//! - [`flag`], [`consistent_comparison`] and [`consistent_rating`] judge each rater's gold and
//!   repeated trials.
//!
//! - [`design`] draws each rater's trials: random subset, order and sides, with gold and
//!   repeated trials mixed in.
//!
//! Raters, items and methods are dense indices (`0..n`) chosen by the caller.

use serde::{Deserialize, Serialize};

mod agreement;
mod bradley_terry;
pub mod design;
mod linalg;
mod mos;
mod pairs;
mod quality;
mod resample;
#[cfg(test)]
mod simulate;
mod win_rates;

pub use agreement::{alpha_comparisons, alpha_ratings, pairwise_agreement};
pub use bradley_terry::{
    bradley_terry, bradley_terry_ci, preference, BtFit, PRIOR_SD_LOG_STRENGTH, PRIOR_SD_LOG_TIE,
};
pub use design::{Design, Mode, Shown, Trial};
pub use mos::mos_ci;
pub use quality::{consistent_comparison, consistent_rating, flag, Checks, Thresholds};
pub use win_rates::{win_rates, WinRates};

/// Outcome of one two-alternative comparison between methods `a` and `b`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// The rater preferred method `a`.
    A,
    /// The rater preferred method `b`.
    B,
    /// The rater could not tell them apart.
    Tie,
}

/// One 2AFC answer. `rater` and `item` are dense indices (0..n); `a != b` are method indices.
#[derive(Clone, Copy, Debug)]
pub struct Comparison {
    /// Who answered.
    pub rater: usize,
    /// Which content (photo and painting) both methods were run on.
    pub item: usize,
    /// The method shown on side A.
    pub a: usize,
    /// The method shown on side B.
    pub b: usize,
    /// What the rater chose.
    pub outcome: Outcome,
}

impl Comparison {
    /// The method the rater preferred, `None` for a tie.
    fn winner(&self) -> Option<usize> {
        match self.outcome {
            Outcome::A => Some(self.a),
            Outcome::B => Some(self.b),
            Outcome::Tie => None,
        }
    }
}

/// One absolute-category rating (1..=5) of `method`'s result for `item`.
#[derive(Clone, Copy, Debug)]
pub struct Rating {
    /// Who answered.
    pub rater: usize,
    /// Which content the method was run on.
    pub item: usize,
    /// The method whose result was rated.
    pub method: usize,
    /// The score, 1 (bad) to 5 (excellent).
    pub score: u8,
}

/// An estimate with its 95 % interval.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Interval {
    /// The estimate from all the answers.
    pub estimate: f64,
    /// The lower end of the 95 % interval.
    pub low: f64,
    /// The upper end of the 95 % interval.
    pub high: f64,
}
