//! Structural similarity (SSIM, Wang et al. 2004).
//!
//! Convention: identical to scikit-image's `structural_similarity(a, b, data_range=255,
//! gaussian_weights=True, sigma=1.5, use_sample_covariance=False)`: an 11×11 Gaussian window
//! (σ = 1.5, normalised), K1 = 0.01, K2 = 0.03, L = 255, and the SSIM map averaged over the
//! *valid* region only, i.e. the centres whose whole window lies inside the image (skimage
//! filters with reflection and then crops 5 px from every border, which is the same thing).
//! So a `w`×`h` image is scored on `(w−10)`×`(h−10)` window positions.
//!
//! Images narrower or shorter than 11 px use a window clipped to fit: along such an axis the
//! radius shrinks to `(n−1)/2` and the Gaussian (σ still 1.5) is renormalised; a 1-px axis
//! therefore compares single samples along it.

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::image::{colour::luma, Rgb};

/// Gaussian σ of the window.
pub const SIGMA: f64 = 1.5;
/// Window radius (the window is `2 * RADIUS + 1` = 11 samples wide).
pub const RADIUS: usize = 5;
const C1: f64 = (0.01 * 255.0) * (0.01 * 255.0);
const C2: f64 = (0.03 * 255.0) * (0.03 * 255.0);

/// Mean SSIM between two single-channel `width`×`height` images with values in `0..=255`.
///
/// Returns 1.0 for empty images.
///
/// # Panics
/// If a slice is not `width * height` long.
pub fn ssim(a: &[f32], b: &[f32], width: usize, height: usize) -> f32 {
    let n = width * height;
    assert!(
        a.len() == n && b.len() == n,
        "ssim: inputs are not {width}x{height}"
    );
    if n == 0 {
        return 1.0;
    }
    let (rx, ry) = (radius_for(width), radius_for(height));
    let (gx, gy) = (gaussian(rx), gaussian(ry));
    let (wo, ho) = (width - 2 * rx, height - 2 * ry);

    // Horizontal pass: for each input row, the 5 moments over the valid columns.
    // Layout: h rows × [μa, μb, E[a²], E[b²], E[ab]] × wo.
    let mut horiz = vec![0.0f64; height * 5 * wo];
    horiz.par_chunks_mut(5 * wo).enumerate().for_each_init(
        || vec![0.0f64; 5 * width],
        |src, (y, out)| {
            let ra = &a[y * width..(y + 1) * width];
            let rb = &b[y * width..(y + 1) * width];
            let (sa, rest) = src.split_at_mut(width);
            let (sb, rest) = rest.split_at_mut(width);
            let (saa, rest) = rest.split_at_mut(width);
            let (sbb, sab) = rest.split_at_mut(width);
            for x in 0..width {
                let (va, vb) = (ra[x] as f64, rb[x] as f64);
                (sa[x], sb[x], saa[x], sbb[x], sab[x]) = (va, vb, va * va, vb * vb, va * vb);
            }
            for (s, o) in src.chunks_exact(width).zip(out.chunks_exact_mut(wo)) {
                o.fill(0.0);
                for (k, &g) in gx.iter().enumerate() {
                    for (d, v) in o.iter_mut().zip(&s[k..k + wo]) {
                        *d += g * v;
                    }
                }
            }
        },
    );

    // Vertical pass and the SSIM map, one output row at a time.
    let total: f64 = (0..ho)
        .into_par_iter()
        .map(|y| {
            let mut m = vec![0.0f64; 5 * wo];
            for (k, &g) in gy.iter().enumerate() {
                let row = &horiz[(y + k) * 5 * wo..(y + k + 1) * 5 * wo];
                for (acc, v) in m.iter_mut().zip(row) {
                    *acc += g * v;
                }
            }
            (0..wo)
                .map(|x| {
                    let [ma, mb, aa, bb, ab] = [0, 1, 2, 3, 4].map(|j| m[j * wo + x]);
                    ssim_from_moments(ma, mb, aa - ma * ma, bb - mb * mb, ab - ma * mb)
                })
                .sum::<f64>()
        })
        .sum();
    (total / (wo * ho) as f64) as f32
}

/// SSIM between the BT.601 lumas of two equally sized RGB images.
pub fn ssim_rgb_luma(a: &Rgb, b: &Rgb) -> Result<f32> {
    if (a.width, a.height) != (b.width, b.height) {
        return Err(Error::Mismatch(format!(
            "SSIM needs images of the same size, got {}x{} and {}x{}; resize one to match",
            a.width, a.height, b.width, b.height
        )));
    }
    Ok(ssim(&luma(a), &luma(b), a.width, a.height))
}

/// The SSIM formula from local means, variances and covariance.
fn ssim_from_moments(ma: f64, mb: f64, va: f64, vb: f64, cov: f64) -> f64 {
    ((2.0 * ma * mb + C1) * (2.0 * cov + C2)) / ((ma * ma + mb * mb + C1) * (va + vb + C2))
}

/// Window radius along an axis of `n` samples (`n` > 0).
fn radius_for(n: usize) -> usize {
    RADIUS.min((n - 1) / 2)
}

/// Normalised 1-D Gaussian taps of radius `r`.
fn gaussian(r: usize) -> Vec<f64> {
    let taps: Vec<f64> = (0..=2 * r)
        .map(|i| {
            let d = i as f64 - r as f64;
            (-d * d / (2.0 * SIGMA * SIGMA)).exp()
        })
        .collect();
    let sum: f64 = taps.iter().sum();
    taps.into_iter().map(|t| t / sum).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noise(seed: u64, n: usize) -> Vec<f32> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                ((s >> 33) % 256) as f32
            })
            .collect()
    }

    /// Straightforward, unseparated reference: 2-D window, valid region, f64.
    fn reference(a: &[f32], b: &[f32], w: usize, h: usize) -> f64 {
        let (rx, ry) = (radius_for(w), radius_for(h));
        let g = |r: usize, d: i64| {
            let s: f64 = (-(r as i64)..=r as i64)
                .map(|k| (-(k * k) as f64 / (2.0 * SIGMA * SIGMA)).exp())
                .sum();
            (-(d * d) as f64 / (2.0 * SIGMA * SIGMA)).exp() / s
        };
        let mut total = 0.0;
        let mut count = 0;
        for cy in ry..h - ry {
            for cx in rx..w - rx {
                let (mut ma, mut mb) = (0.0, 0.0);
                for y in cy - ry..=cy + ry {
                    for x in cx - rx..=cx + rx {
                        let wt = g(rx, x as i64 - cx as i64) * g(ry, y as i64 - cy as i64);
                        ma += wt * a[y * w + x] as f64;
                        mb += wt * b[y * w + x] as f64;
                    }
                }
                let (mut va, mut vb, mut cov) = (0.0, 0.0, 0.0);
                for y in cy - ry..=cy + ry {
                    for x in cx - rx..=cx + rx {
                        let wt = g(rx, x as i64 - cx as i64) * g(ry, y as i64 - cy as i64);
                        let (da, db) = (a[y * w + x] as f64 - ma, b[y * w + x] as f64 - mb);
                        va += wt * da * da;
                        vb += wt * db * db;
                        cov += wt * da * db;
                    }
                }
                total += ((2.0 * ma * mb + C1) * (2.0 * cov + C2))
                    / ((ma * ma + mb * mb + C1) * (va + vb + C2));
                count += 1;
            }
        }
        total / count as f64
    }

    #[test]
    fn identical_images_score_one() {
        let a = noise(1, 40 * 30);
        assert!((ssim(&a, &a, 40, 30) - 1.0).abs() < 1e-6);
        let flat = vec![0.0; 12 * 12];
        assert!((ssim(&flat, &flat, 12, 12) - 1.0).abs() < 1e-6);
    }

    #[test]
    fn constant_images_match_closed_form() {
        for (ma, mb) in [(100.0f64, 150.0f64), (0.0, 255.0), (10.0, 12.0)] {
            let a = vec![ma as f32; 20 * 15];
            let b = vec![mb as f32; 20 * 15];
            let want = (2.0 * ma * mb + C1) / (ma * ma + mb * mb + C1);
            let got = ssim(&a, &b, 20, 15) as f64;
            assert!((got - want).abs() < 1e-6, "{got} vs {want}");
        }
    }

    #[test]
    fn matches_unseparated_reference() {
        let (w, h) = (23, 17);
        let a = noise(2, w * h);
        // b = a blurred-ish mix with other noise so the score is mid-range.
        let n2 = noise(3, w * h);
        let b: Vec<f32> = a.iter().zip(&n2).map(|(x, y)| 0.7 * x + 0.3 * y).collect();
        let got = ssim(&a, &b, w, h) as f64;
        let want = reference(&a, &b, w, h);
        assert!((got - want).abs() < 1e-5, "{got} vs {want}");
        assert!(want > 0.2 && want < 0.99);
        // Anticorrelated images score negative.
        let inv: Vec<f32> = a.iter().map(|v| 255.0 - v).collect();
        let got = ssim(&a, &inv, w, h) as f64;
        assert!((got - reference(&a, &inv, w, h)).abs() < 1e-5 && got < 0.0);
    }

    #[test]
    fn small_images_use_a_clipped_window() {
        for (w, h) in [(5, 30), (30, 4), (1, 1), (3, 2), (11, 11)] {
            let a = noise(4, w * h);
            let b = noise(5, w * h);
            let got = ssim(&a, &b, w, h) as f64;
            let want = reference(&a, &b, w, h);
            assert!((got - want).abs() < 1e-5, "{w}x{h}: {got} vs {want}");
        }
        assert_eq!(ssim(&[], &[], 0, 7), 1.0);
    }

    #[test]
    fn rgb_luma_checks_sizes() {
        let a = Rgb::filled(16, 16, [10.0, 20.0, 30.0]);
        assert!((ssim_rgb_luma(&a, &a).unwrap() - 1.0).abs() < 1e-6);
        let b = Rgb::filled(16, 15, [10.0, 20.0, 30.0]);
        assert!(matches!(ssim_rgb_luma(&a, &b), Err(Error::Mismatch(_))));
    }
}
