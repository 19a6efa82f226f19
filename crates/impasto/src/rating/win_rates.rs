//! The observed win rates between methods, before any model.

use serde::Serialize;

use super::pairs::PairTable;
use super::Comparison;

/// Observed win rates among methods.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WinRates {
    /// `rate[i][j]` = (wins of `i` over `j` + half the ties) / comparisons of `i` and `j`;
    /// `None` where never compared (and on the diagonal).
    pub rate: Vec<Vec<Option<f64>>>,
    /// `count[i][j]`: how many comparisons of `i` and `j` there were (either side).
    pub count: Vec<Vec<usize>>,
}

/// Tabulates the observed win rates of `n_methods` methods; a tie counts half to each.
pub fn win_rates(n_methods: usize, comparisons: &[Comparison]) -> WinRates {
    let table = PairTable::new(n_methods, comparisons, |_| 1.0);
    let compared = |i: usize, j: usize| {
        (i != j)
            .then(|| table.cell(i, j))
            .filter(|c| c.total() > 0.0)
    };
    let rate = (0..n_methods)
        .map(|i| {
            (0..n_methods)
                .map(|j| compared(i, j).map(|c| (c.wins + c.ties / 2.0) / c.total()))
                .collect()
        })
        .collect();
    let count = (0..n_methods)
        .map(|i| {
            (0..n_methods)
                .map(|j| compared(i, j).map_or(0, |c| c.total() as usize))
                .collect()
        })
        .collect();
    WinRates { rate, count }
}

#[cfg(test)]
mod tests {
    use super::super::simulate::answer;
    use super::super::Outcome;
    use super::*;

    #[test]
    fn wins_and_half_ties_over_comparisons_either_side() {
        let answer = |a, b, outcome| answer(0, 0, a, b, outcome);
        let comparisons = [
            answer(0, 1, Outcome::A),
            answer(1, 0, Outcome::B),
            answer(1, 0, Outcome::A),
            answer(0, 1, Outcome::Tie),
        ];
        let rates = win_rates(3, &comparisons);
        assert_eq!(rates.rate[0][1], Some(2.5 / 4.0));
        assert_eq!(rates.rate[1][0], Some(1.5 / 4.0));
        assert_eq!((rates.count[0][1], rates.count[1][0]), (4, 4));
        assert_eq!((rates.rate[0][2], rates.count[2][0]), (None, 0));
        assert_eq!((rates.rate[1][1], rates.count[1][1]), (None, 0));
        assert!(win_rates(0, &[]).rate.is_empty());
    }
}
