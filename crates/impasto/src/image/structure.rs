//! Keeping a photo's structure measurably: the least share of its light and shade, put back
//! into a result, that brings the result's SSIM against it to a target. How a grey medical
//! slice stays readable under a painting's colours and brushwork.

use super::colour::keep_luminance;
use super::{resize, Rgb};
use crate::metrics::ssim::ssim_rgb_luma;
use crate::Result;

/// Bisection steps: the share is found to within 1/1024.
const STEPS: usize = 10;

/// `styled` with the least share of `photo`'s luma (see [`keep_luminance`]) that gives an SSIM
/// of at least `min_ssim` against `photo` (resized to `styled`'s size), and that share (0 when
/// `styled` already keeps that much structure). SSIM grows with the share; at 1 the luma is
/// the photo's.
pub fn keep_structure(styled: &Rgb, photo: &Rgb, min_ssim: f32) -> Result<(Rgb, f32)> {
    let reference = resize::resize(photo, styled.width, styled.height);
    if ssim_rgb_luma(styled, &reference)? >= min_ssim {
        return Ok((styled.clone(), 0.0));
    }
    let (mut lo, mut hi) = (0.0f32, 1.0f32);
    let mut best = keep_luminance(styled, &reference, hi);
    for _ in 0..STEPS {
        let mid = 0.5 * (lo + hi);
        let candidate = keep_luminance(styled, &reference, mid);
        if ssim_rgb_luma(&candidate, &reference)? >= min_ssim {
            (hi, best) = (mid, candidate);
        } else {
            lo = mid;
        }
    }
    Ok((best, hi))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A grey gradient with stripes, and the same under coloured noise.
    fn pair() -> (Rgb, Rgb) {
        let (w, h) = (64, 48);
        let grey: Vec<f32> = (0..w * h)
            .map(|i| ((i % w) * 3 + if (i / w) % 8 < 4 { 40 } else { 0 }) as f32)
            .collect();
        let photo = Rgb::new(w, h, grey.repeat(3));
        let mut seed = 7u64;
        let styled = photo
            .data
            .iter()
            .enumerate()
            .map(|(i, &v)| {
                seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                let noise = ((seed >> 40) % 120) as f32 - 60.0;
                (v + noise + [30.0, 0.0, -30.0][i / (w * h)]).clamp(0.0, 255.0)
            })
            .collect();
        (photo, Rgb::new(w, h, styled))
    }

    /// The share found reaches the target, and a share a step less does not.
    #[test]
    fn the_least_share_that_reaches_the_target() {
        let (photo, styled) = pair();
        let before = ssim_rgb_luma(&styled, &photo).unwrap();
        assert!(before < 0.6, "the noisy copy starts at SSIM {before}");
        let (kept, share) = keep_structure(&styled, &photo, 0.6).unwrap();
        assert!(share > 0.0 && share < 1.0, "share {share}");
        assert!(ssim_rgb_luma(&kept, &photo).unwrap() >= 0.6);
        let less = keep_luminance(&styled, &photo, share - 0.01);
        assert!(ssim_rgb_luma(&less, &photo).unwrap() < 0.6);
        // A result that already keeps the structure is left as it is.
        let (same, none) = keep_structure(&styled, &photo, before - 0.01).unwrap();
        assert_eq!((none, same), (0.0, styled));
    }
}
