//! From the stored answers to the statistics' inputs: each rater's gold and repeated trials
//! checked, flagged raters set aside (unless kept), the rest as comparisons or ratings.

use std::collections::BTreeMap;

use impasto::rating::{
    consistent_comparison, consistent_rating, flag, Checks, Comparison, Outcome, Rating, Shown,
    Thresholds,
};
use impasto_io::study::store::{AnswerRow, RaterRow, Response};
use serde::Serialize;

/// One rater as the report shows them.
#[derive(Clone, Debug, Serialize)]
pub struct RaterSummary {
    /// The rater's id in the database.
    pub id: i64,
    /// The name they gave.
    pub pseudonym: String,
    /// Trials answered.
    pub answered: usize,
    /// Gold and repeated trials.
    pub checks: Checks,
    /// Why they are flagged, if they are.
    pub flagged: Option<String>,
    /// Whether their answers are in the scores.
    pub used: bool,
}

/// What the statistics get.
pub struct Tally {
    /// Every rater, in id order.
    pub raters: Vec<RaterSummary>,
    /// Ordinary 2AFC answers of the raters used (dense rater indices).
    pub comparisons: Vec<Comparison>,
    /// Ordinary ratings of the raters used.
    pub ratings: Vec<Rating>,
    /// Raters whose answers are used.
    pub used: usize,
}

/// Tallies `answers` of `raters`; flagged raters are left out unless `keep_flagged`.
pub fn tally(
    raters: &[RaterRow],
    answers: &[AnswerRow],
    thresholds: &Thresholds,
    keep_flagged: bool,
) -> Tally {
    let mut by_rater: BTreeMap<i64, BTreeMap<usize, &AnswerRow>> = BTreeMap::new();
    for a in answers {
        by_rater.entry(a.rater).or_default().insert(a.index, a);
    }
    let empty = BTreeMap::new();
    let mut out = Tally {
        raters: Vec::new(),
        comparisons: Vec::new(),
        ratings: Vec::new(),
        used: 0,
    };
    for r in raters {
        let mine = by_rater.get(&r.id).unwrap_or(&empty);
        let checks = checks(mine);
        let flagged = flag(&checks, thresholds);
        let used = !mine.is_empty() && (keep_flagged || flagged.is_none());
        if used {
            let dense = out.used;
            out.used += 1;
            for a in mine.values().filter(|a| a.trial.repeat_of.is_none()) {
                add(&mut out, dense, a);
            }
        }
        out.raters.push(RaterSummary {
            id: r.id,
            pseudonym: r.pseudonym.clone(),
            answered: mine.len(),
            checks,
            flagged,
            used,
        });
    }
    out
}

/// An ordinary answer as a comparison or a rating (gold trials are only checks).
fn add(out: &mut Tally, rater: usize, a: &AnswerRow) {
    let item = a.trial.item;
    match (a.trial.shown, a.response) {
        (Shown::Pair { left, right }, r) => {
            if let Some(outcome) = outcome(r) {
                out.comparisons.push(Comparison {
                    rater,
                    item,
                    a: left,
                    b: right,
                    outcome,
                });
            }
        }
        (Shown::Single { method }, Response::Score(score)) => out.ratings.push(Rating {
            rater,
            item,
            method,
            score,
        }),
        _ => {}
    }
}

/// A pair's answer with A on the left.
fn outcome(r: Response) -> Option<Outcome> {
    match r {
        Response::Left => Some(Outcome::A),
        Response::Right => Some(Outcome::B),
        Response::Tie => Some(Outcome::Tie),
        Response::Score(_) => None,
    }
}

/// A rater's gold trials (the good result chosen; the broken copy rated 1 or 2) and repeats
/// (the same answer, sides swapped; a rating within one category).
fn checks(mine: &BTreeMap<usize, &AnswerRow>) -> Checks {
    let mut c = Checks::default();
    for a in mine.values() {
        match (a.trial.shown, a.response) {
            (Shown::GoldPair { good_left, .. }, r) => {
                c.gold_total += 1;
                let good = if good_left {
                    Response::Left
                } else {
                    Response::Right
                };
                c.gold_passed += usize::from(r == good);
            }
            (Shown::GoldSingle, r) => {
                c.gold_total += 1;
                c.gold_passed += usize::from(matches!(r, Response::Score(s) if s <= 2));
            }
            _ => {}
        }
        let Some(first) = a.trial.repeat_of.and_then(|o| mine.get(&o)) else {
            continue;
        };
        c.repeats_total += 1;
        let agree = match (first.trial.shown, first.response, a.trial.shown, a.response) {
            (
                Shown::Pair {
                    left: l1,
                    right: r1,
                },
                x,
                Shown::Pair {
                    left: l2,
                    right: r2,
                },
                y,
            ) => match (outcome(x), outcome(y)) {
                (Some(x), Some(y)) => consistent_comparison((l1, r1, x), (l2, r2, y)),
                _ => false,
            },
            (_, Response::Score(x), _, Response::Score(y)) => consistent_rating(x, y),
            _ => false,
        };
        c.repeats_consistent += usize::from(agree);
    }
    c
}
