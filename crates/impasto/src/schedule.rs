//! Coarse-to-fine: the sizes a run goes through and the iterations spent at each.

use crate::{Error, Result, Setting};

/// Smallest size a default schedule starts from.
pub const FIRST_SCALE: usize = 128;

/// One scale of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stage {
    /// Longer side in pixels.
    pub size: usize,
    /// Optimiser iterations at this size.
    pub iters: usize,
}

/// The default sizes: halvings of `size` down to at most [`FIRST_SCALE`] (×2 steps), then `size`.
pub fn default_scales(size: usize) -> Vec<usize> {
    let mut s = vec![size];
    while *s.last().unwrap() > FIRST_SCALE {
        let next = s.last().unwrap() / 2;
        if next < 64 {
            break;
        }
        s.push(next);
    }
    s.reverse();
    s
}

/// Splits `iters` over `scales`: every scale but the last gets five shares, the last two.
/// The coarse scales build the picture cheaply; the full-size iterations add the fine strokes
/// (with a style target the run usually ends after a few of them).
/// Every stage gets at least one iteration.
pub fn plan(scales: &[usize], iters: usize) -> Result<Vec<Stage>> {
    if scales.is_empty() {
        return Err(Error::setting(
            Setting::Scales,
            "none",
            "give at least one size",
        ));
    }
    if iters < scales.len() {
        return Err(Error::setting(
            Setting::Iters,
            iters,
            format!(
                "fewer than the {} scales: give at least one iteration per scale",
                scales.len()
            ),
        ));
    }
    let n = scales.len();
    let shares: Vec<f64> = (0..n)
        .map(|i| if i + 1 == n && n > 1 { 2.0 } else { 5.0 })
        .collect();
    let total: f64 = shares.iter().sum();
    let mut counts: Vec<usize> = shares
        .iter()
        .map(|s| ((s / total * iters as f64).floor() as usize).max(1))
        .collect();
    // Rounding: the first (cheapest) stage absorbs the difference.
    counts[0] = iters - counts[1..].iter().sum::<usize>();
    Ok(scales
        .iter()
        .zip(counts)
        .map(|(&size, iters)| Stage { size, iters })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_scales_grow_by_two() {
        assert_eq!(default_scales(512), vec![128, 256, 512]);
        assert_eq!(default_scales(1000), vec![125, 250, 500, 1000]);
        assert_eq!(default_scales(128), vec![128]);
        assert_eq!(default_scales(100), vec![100]);
        assert_eq!(default_scales(200), vec![100, 200]);
    }

    #[test]
    fn plan_spends_most_iterations_small_and_sums_exactly() {
        let p = plan(&[128, 256, 512], 90).unwrap();
        assert_eq!(p.iter().map(|s| s.iters).sum::<usize>(), 90);
        assert_eq!(
            p.iter().map(|s| s.iters).collect::<Vec<_>>(),
            vec![38, 37, 15]
        );
        assert!(plan(&[128, 256], 1).is_err());
        assert_eq!(plan(&[64], 5).unwrap(), vec![Stage { size: 64, iters: 5 }]);
    }
}
