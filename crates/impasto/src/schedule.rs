//! Coarse-to-fine: the sizes a run goes through and the iterations spent at each.

use crate::{Error, Result, Setting};

/// Smallest size a default schedule starts from.
pub const FIRST_SCALE: usize = 128;

/// Size past which a scale's iterations shrink with its cost.
pub const LARGE: usize = 1024;

/// Fewest iterations a scale past [`LARGE`] gets.
pub const LARGE_ITERS: usize = 4;

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
/// (with a style target the run usually ends after a few of them). Past [`LARGE`] px an
/// iteration costs the square of the size, so a scale's shares shrink by that square, down to
/// [`LARGE_ITERS`] iterations: print sizes get a few iterations each on a picture already made.
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
    let shares: Vec<f64> = scales
        .iter()
        .enumerate()
        .map(|(i, &size)| {
            let share = if i + 1 == n && n > 1 { 2.0 } else { 5.0 };
            share * (LARGE as f64 / size as f64).powi(2).min(1.0)
        })
        .collect();
    let total: f64 = shares.iter().sum();
    let mut counts: Vec<usize> = shares
        .iter()
        .zip(scales)
        .map(|(s, &size)| {
            let least = if size > LARGE { LARGE_ITERS } else { 1 };
            ((s / total * iters as f64).floor() as usize).max(least)
        })
        .collect();
    if counts[1..].iter().sum::<usize>() >= iters {
        return Err(Error::setting(
            Setting::Iters,
            iters,
            format!(
                "too few for these scales: sizes over {LARGE} px take {LARGE_ITERS} iterations \
                 each; give more"
            ),
        ));
    }
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
        // Print sizes: most iterations at 1024 px and below, a few at each larger size.
        let iters = |size| -> Vec<usize> {
            let p = plan(&default_scales(size), 120).unwrap();
            assert_eq!(p.iter().map(|s| s.iters).sum::<usize>(), 120);
            p.iter().map(|s| s.iters).collect()
        };
        assert_eq!(iters(4096), vec![25, 28, 28, 28, 7, 4]);
        assert_eq!(iters(8192), vec![25, 27, 27, 27, 6, 4, 4]);
        assert!(plan(&default_scales(8192), 16).is_err());
        assert_eq!(plan(&[64], 5).unwrap(), vec![Stage { size: 64, iters: 5 }]);
    }
}
