//! Each rater's reliability, from gold trials (with a known right answer) and repeated trials
//! (the same pair or image shown twice).

use serde::Serialize;

use super::Outcome;

/// What a rater did on the checks: gold trials passed/total, repeated trials consistent/total.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Checks {
    /// Gold trials answered right.
    pub gold_passed: usize,
    /// Gold trials shown.
    pub gold_total: usize,
    /// Repeated trials answered consistently (see [`consistent_comparison`],
    /// [`consistent_rating`]).
    pub repeats_consistent: usize,
    /// Repeated trials shown (each pair of showings counts once).
    pub repeats_total: usize,
}

/// When a rater is flagged: a gold pass rate below `min_gold`, or a repeat consistency below
/// `min_repeat` over at least `min_repeats` repeated trials (fewer say too little to judge).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Thresholds {
    /// The lowest acceptable share of gold trials passed.
    pub min_gold: f64,
    /// The lowest acceptable share of repeated trials answered consistently.
    pub min_repeat: f64,
    /// How many repeated trials it takes to judge consistency.
    pub min_repeats: usize,
}

impl Default for Thresholds {
    /// Gold trials should be obvious, so passing under 80 % flags (failing 1 of 5 is fine, 1 of
    /// 3 is not). Repeats flag only a rater who answers none of at least 3 the same way: a
    /// rater honestly unsure between two close methods answers a repeat at random, and
    /// flagging them would drop exactly the raters of a study of close settings (gold is the
    /// main check, as with ITU-T P.808's trapping questions).
    fn default() -> Self {
        Self {
            min_gold: 0.8,
            min_repeat: 0.3,
            min_repeats: 3,
        }
    }
}

/// Why a rater is flagged, in the engine's own words ("failed 2 of 3 gold trials"), or `None`.
/// Both reasons are given, separated by "; ", when both apply.
pub fn flag(checks: &Checks, t: &Thresholds) -> Option<String> {
    let share = |part: usize, total: usize| part as f64 / total as f64;
    let mut reasons = Vec::new();
    if checks.gold_total > 0 && share(checks.gold_passed, checks.gold_total) < t.min_gold {
        let failed = checks.gold_total.saturating_sub(checks.gold_passed);
        reasons.push(format!(
            "failed {failed} of {} gold trials",
            checks.gold_total
        ));
    }
    if checks.repeats_total > 0
        && checks.repeats_total >= t.min_repeats
        && share(checks.repeats_consistent, checks.repeats_total) < t.min_repeat
    {
        let changed = checks
            .repeats_total
            .saturating_sub(checks.repeats_consistent);
        reasons.push(format!(
            "answered {changed} of {} repeated trials differently",
            checks.repeats_total
        ));
    }
    (!reasons.is_empty()).then(|| reasons.join("; "))
}

/// Whether two answers `(a, b, outcome)` to the same repeated 2AFC trial agree, the sides
/// possibly swapped: the same method chosen, or a tie both times (a tie and a choice disagree).
pub fn consistent_comparison(
    first: (usize, usize, Outcome),
    second: (usize, usize, Outcome),
) -> bool {
    let chosen = |(a, b, outcome): (usize, usize, Outcome)| match outcome {
        Outcome::A => Some(a),
        Outcome::B => Some(b),
        Outcome::Tie => None,
    };
    debug_assert_eq!(
        (first.0.min(first.1), first.0.max(first.1)),
        (second.0.min(second.1), second.0.max(second.1)),
        "a repeat shows the same two methods"
    );
    chosen(first) == chosen(second)
}

/// Whether two ACR answers to the same repeated trial agree: within one category.
pub fn consistent_rating(first: u8, second: u8) -> bool {
    first.abs_diff(second) <= 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checks(gold_passed: usize, gold_total: usize, consistent: usize, repeats: usize) -> Checks {
        Checks {
            gold_passed,
            gold_total,
            repeats_consistent: consistent,
            repeats_total: repeats,
        }
    }

    #[test]
    fn flags_with_reasons_at_the_default_thresholds() {
        let t = Thresholds::default();
        assert_eq!(flag(&checks(3, 3, 2, 2), &t), None);
        assert_eq!(flag(&checks(4, 5, 1, 3), &t), None);
        assert_eq!(
            flag(&checks(2, 3, 2, 2), &t).as_deref(),
            Some("failed 1 of 3 gold trials")
        );
        assert_eq!(
            flag(&checks(1, 3, 0, 3), &t).as_deref(),
            Some("failed 2 of 3 gold trials; answered 3 of 3 repeated trials differently")
        );
        // Two repeats are too few to judge; no checks at all flag nothing.
        assert_eq!(flag(&checks(3, 3, 0, 2), &t), None);
        assert_eq!(flag(&Checks::default(), &t), None);
        let lenient = Thresholds { min_gold: 0.5, ..t };
        assert_eq!(flag(&checks(2, 3, 2, 2), &lenient), None);
    }

    #[test]
    fn repeated_comparisons_agree_across_swapped_sides() {
        assert!(consistent_comparison(
            (0, 1, Outcome::A),
            (1, 0, Outcome::B)
        ));
        assert!(consistent_comparison(
            (0, 1, Outcome::A),
            (0, 1, Outcome::A)
        ));
        assert!(!consistent_comparison(
            (0, 1, Outcome::A),
            (1, 0, Outcome::A)
        ));
        assert!(consistent_comparison(
            (0, 1, Outcome::Tie),
            (1, 0, Outcome::Tie)
        ));
        assert!(!consistent_comparison(
            (0, 1, Outcome::Tie),
            (1, 0, Outcome::B)
        ));
    }

    #[test]
    fn repeated_ratings_agree_within_one_category() {
        assert!(consistent_rating(3, 3) && consistent_rating(3, 4) && consistent_rating(2, 1));
        assert!(!consistent_rating(1, 3) && !consistent_rating(5, 3));
    }
}
