//! Comparisons counted per pair of methods, each answer with a weight (1, or how many times a
//! bootstrap drew its rater).

use super::Comparison;

/// What happened between two methods, seen from the first.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(super) struct Cell {
    /// Weighted answers preferring the first method.
    pub wins: f64,
    /// Weighted answers preferring the second method.
    pub losses: f64,
    /// Weighted "can't tell" answers.
    pub ties: f64,
}

impl Cell {
    /// All the weighted answers.
    pub fn total(&self) -> f64 {
        self.wins + self.losses + self.ties
    }
}

/// The counts for every unordered pair of methods.
pub(super) struct PairTable {
    n_methods: usize,
    /// Row-major `n × n`; only `[lo][hi]` with `lo < hi` is filled, seen from `lo`.
    cells: Vec<Cell>,
}

impl PairTable {
    /// Counts `comparisons` among `n_methods` methods, each with weight `weight(c)`. A
    /// comparison of a method with itself says nothing and is skipped.
    pub fn new(
        n_methods: usize,
        comparisons: &[Comparison],
        weight: impl Fn(&Comparison) -> f64,
    ) -> Self {
        let mut cells = vec![Cell::default(); n_methods * n_methods];
        for c in comparisons {
            debug_assert!(c.a < n_methods && c.b < n_methods, "method out of range");
            debug_assert_ne!(c.a, c.b, "a method compared with itself");
            if c.a == c.b || c.a >= n_methods || c.b >= n_methods {
                continue;
            }
            let (lo, hi) = (c.a.min(c.b), c.a.max(c.b));
            let w = weight(c);
            let cell = &mut cells[lo * n_methods + hi];
            match c.winner() {
                Some(m) if m == lo => cell.wins += w,
                Some(_) => cell.losses += w,
                None => cell.ties += w,
            }
        }
        Self { n_methods, cells }
    }

    /// The number of methods.
    pub fn n_methods(&self) -> usize {
        self.n_methods
    }

    /// What happened between `i` and `j`, seen from `i`.
    pub fn cell(&self, i: usize, j: usize) -> Cell {
        if i <= j {
            self.cells[i * self.n_methods + j]
        } else {
            let c = self.cells[j * self.n_methods + i];
            Cell {
                wins: c.losses,
                losses: c.wins,
                ties: c.ties,
            }
        }
    }

    /// The pairs `(lo, hi, cell)` with `lo < hi` that have any weight, seen from `lo`.
    pub fn pairs(&self) -> impl Iterator<Item = (usize, usize, Cell)> + '_ {
        let n = self.n_methods;
        (0..n)
            .flat_map(move |i| (i + 1..n).map(move |j| (i, j)))
            .map(move |(i, j)| (i, j, self.cells[i * n + j]))
            .filter(|(_, _, c)| c.total() > 0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::super::simulate::answer;
    use super::super::Outcome;
    use super::*;

    #[test]
    fn swapped_sides_count_for_the_same_method() {
        let answer = |a, b, outcome| answer(0, 0, a, b, outcome);
        let comparisons = [
            answer(0, 1, Outcome::A),
            answer(1, 0, Outcome::B),
            answer(1, 0, Outcome::A),
            answer(0, 1, Outcome::Tie),
        ];
        let table = PairTable::new(2, &comparisons, |_| 1.0);
        assert_eq!(
            table.cell(0, 1),
            Cell {
                wins: 2.0,
                losses: 1.0,
                ties: 1.0
            }
        );
        assert_eq!(
            table.cell(1, 0),
            Cell {
                wins: 1.0,
                losses: 2.0,
                ties: 1.0
            }
        );
        assert_eq!(table.pairs().count(), 1);
    }
}
