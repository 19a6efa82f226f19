//! Each rater's list of trials: which results are shown, on which side, in which order, with
//! gold trials (a result against a broken copy) and repeats (an earlier trial again, sides
//! swapped) mixed in where the rater cannot tell them apart.

use serde::{Deserialize, Serialize};

use crate::fast::rng::Rng;

/// How results are judged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Two results side by side: A, B or "can't tell" (2AFC).
    Pairs,
    /// One result on an absolute 1–5 scale (ACR, for mean opinion scores).
    Acr,
}

/// The shape of a study, for drawing a rater's trials.
#[derive(Clone, Copy, Debug)]
pub struct Design {
    /// Pairs or absolute ratings.
    pub mode: Mode,
    /// Photo × painting combinations, each with one result per method.
    pub items: usize,
    /// Methods compared (at least two for pairs, one for ratings).
    pub methods: usize,
    /// Ordinary trials per rater (fewer when the study has fewer distinct ones).
    pub trials: usize,
    /// Gold trials per rater.
    pub gold: usize,
    /// Repeated trials per rater (at most one per ordinary trial).
    pub repeats: usize,
}

/// What one trial shows, by item and method indices.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Shown {
    /// Two methods' results for the item, `left` on the left.
    Pair {
        /// Method shown on the left.
        left: usize,
        /// Method shown on the right.
        right: usize,
    },
    /// One method's result for the item.
    Single {
        /// The method.
        method: usize,
    },
    /// Gold pair: the method's result against the item's broken copy.
    GoldPair {
        /// The method whose result is the good side.
        method: usize,
        /// Whether the good result is on the left.
        good_left: bool,
    },
    /// Gold rating: the item's broken copy alone, which deserves a 1 or 2.
    GoldSingle,
}

/// One trial of a rater's list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trial {
    /// The item (photo × painting).
    pub item: usize,
    /// What is shown.
    pub shown: Shown,
    /// For a repeat, the index in the list of the trial it repeats.
    pub repeat_of: Option<usize>,
}

impl Design {
    /// Distinct ordinary trials the study has: items × method pairs, or items × methods.
    pub fn distinct_trials(&self) -> usize {
        match self.mode {
            Mode::Pairs => self.items * self.methods * self.methods.saturating_sub(1) / 2,
            Mode::Acr => self.items * self.methods,
        }
    }

    /// A rater's trials, drawn from `seed`: a random subset of the distinct trials in random
    /// order with random sides, then the gold trials at random places and the repeats (sides
    /// swapped) at random places after at least one other trial past their original.
    pub fn plan(&self, seed: u64) -> Vec<Trial> {
        let mut rng = Rng(seed);
        let mut list: Vec<(Trial, Option<usize>)> = self
            .ordinary(&mut rng)
            .into_iter()
            .enumerate()
            .map(|(i, t)| (t, Some(i)))
            .collect();
        let ordinary = list.len();
        if self.items > 0 && self.methods > 0 {
            for _ in 0..self.gold {
                let item = rng.below(self.items);
                let shown = match self.mode {
                    Mode::Pairs => Shown::GoldPair {
                        method: rng.below(self.methods),
                        good_left: rng.below(2) == 0,
                    },
                    Mode::Acr => Shown::GoldSingle,
                };
                let at = rng.below(list.len() + 1);
                let trial = Trial {
                    item,
                    shown,
                    repeat_of: None,
                };
                list.insert(at, (trial, None));
            }
        }
        for original in pick(&mut rng, ordinary, self.repeats.min(ordinary)) {
            let pos = list
                .iter()
                .position(|(_, tag)| *tag == Some(original))
                .expect("every ordinary trial is in the list");
            let earliest = (pos + 2).min(list.len());
            let at = earliest + rng.below(list.len() - earliest + 1);
            let mut again = list[pos].0;
            if let Shown::Pair { left, right } = again.shown {
                again.shown = Shown::Pair {
                    left: right,
                    right: left,
                };
            }
            again.repeat_of = Some(original);
            list.insert(at, (again, None));
        }
        // Repeats name their original by its tag until now; turn tags into list indices.
        let index_of = |tag: usize| {
            list.iter()
                .position(|(_, t)| *t == Some(tag))
                .expect("originals stay in the list")
        };
        let mut out: Vec<Trial> = list.iter().map(|(t, _)| *t).collect();
        for t in out.iter_mut() {
            if let Some(tag) = t.repeat_of {
                t.repeat_of = Some(index_of(tag));
            }
        }
        out
    }

    /// `min(trials, distinct)` distinct ordinary trials in random order, sides random.
    fn ordinary(&self, rng: &mut Rng) -> Vec<Trial> {
        let distinct = self.distinct_trials();
        pick(rng, distinct, self.trials.min(distinct))
            .into_iter()
            .map(|k| match self.mode {
                Mode::Pairs => {
                    let per_item = distinct / self.items;
                    let (item, (a, b)) = (k / per_item, nth_pair(self.methods, k % per_item));
                    let (left, right) = if rng.below(2) == 0 { (a, b) } else { (b, a) };
                    Trial {
                        item,
                        shown: Shown::Pair { left, right },
                        repeat_of: None,
                    }
                }
                Mode::Acr => Trial {
                    item: k / self.methods,
                    shown: Shown::Single {
                        method: k % self.methods,
                    },
                    repeat_of: None,
                },
            })
            .collect()
    }
}

/// `k` distinct numbers of `0..n` in random order (a partial Fisher–Yates shuffle).
fn pick(rng: &mut Rng, n: usize, k: usize) -> Vec<usize> {
    let mut all: Vec<usize> = (0..n).collect();
    for i in 0..k {
        let j = i + rng.below(n - i);
        all.swap(i, j);
    }
    all.truncate(k);
    all
}

/// The `k`-th unordered pair `(a, b)`, `a < b`, of `0..n` in lexicographic order.
fn nth_pair(n: usize, mut k: usize) -> (usize, usize) {
    for a in 0..n {
        let after = n - a - 1;
        if k < after {
            return (a, a + 1 + k);
        }
        k -= after;
    }
    unreachable!("k is below n·(n−1)/2")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn pairs(trials: usize, gold: usize, repeats: usize) -> Design {
        Design {
            mode: Mode::Pairs,
            items: 5,
            methods: 4,
            trials,
            gold,
            repeats,
        }
    }

    #[test]
    fn a_plan_has_distinct_trials_gold_and_repeats_of_earlier_ones_with_sides_swapped() {
        let plan = pairs(20, 3, 4).plan(7);
        assert_eq!(plan.len(), 27);
        let gold = plan
            .iter()
            .filter(|t| matches!(t.shown, Shown::GoldPair { .. }))
            .count();
        assert_eq!(gold, 3);
        let mut seen = HashSet::new();
        for (i, t) in plan.iter().enumerate() {
            match (t.shown, t.repeat_of) {
                (Shown::Pair { left, right }, None) => {
                    assert_ne!(left, right);
                    let key = (t.item, left.min(right), left.max(right));
                    assert!(
                        seen.insert(key),
                        "trial {i} shown twice without being a repeat"
                    );
                }
                (Shown::Pair { left, right }, Some(o)) => {
                    assert!(
                        o + 1 < i,
                        "a repeat comes at least two trials after its original"
                    );
                    assert_eq!(plan[o].item, t.item);
                    assert_eq!(
                        plan[o].shown,
                        Shown::Pair {
                            left: right,
                            right: left
                        }
                    );
                }
                (_, r) => assert_eq!(r, None),
            }
        }
        assert_eq!(plan.iter().filter(|t| t.repeat_of.is_some()).count(), 4);
    }

    #[test]
    fn raters_get_different_orders_and_sides_and_every_pair_is_covered() {
        let d = pairs(30, 0, 0);
        assert_eq!(d.distinct_trials(), 30);
        let (a, b) = (d.plan(1), d.plan(2));
        assert_ne!(a, b);
        let pairs_of = |p: &[Trial]| {
            p.iter()
                .map(|t| match t.shown {
                    Shown::Pair { left, right } => (t.item, left.min(right), left.max(right)),
                    _ => unreachable!(),
                })
                .collect::<HashSet<_>>()
        };
        // All 30 distinct trials, each once, whatever the seed.
        assert_eq!(pairs_of(&a).len(), 30);
        assert_eq!(pairs_of(&a), pairs_of(&b));
        // Sides are random: over many raters each method shows on the left about half the time.
        let left_first = (0..200u64)
            .flat_map(|s| d.plan(s))
            .filter(|t| matches!(t.shown, Shown::Pair { left, right } if left < right))
            .count();
        assert!((2700..3300).contains(&left_first), "{left_first} of 6000");
    }

    #[test]
    fn acr_plans_show_single_results_and_broken_copies() {
        let d = Design {
            mode: Mode::Acr,
            items: 3,
            methods: 2,
            trials: 10,
            gold: 2,
            repeats: 2,
        };
        let plan = d.plan(3);
        assert_eq!(plan.len(), 6 + 2 + 2);
        assert_eq!(
            plan.iter().filter(|t| t.shown == Shown::GoldSingle).count(),
            2
        );
        for t in &plan {
            if let Some(o) = t.repeat_of {
                assert_eq!((plan[o].item, plan[o].shown), (t.item, t.shown));
            }
        }
    }

    #[test]
    fn an_empty_study_plans_nothing() {
        let d = Design {
            mode: Mode::Pairs,
            items: 0,
            methods: 0,
            trials: 10,
            gold: 3,
            repeats: 3,
        };
        assert!(d.plan(1).is_empty());
    }
}
