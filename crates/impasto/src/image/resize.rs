//! High-quality resizing: a separable Lanczos-3 filter that widens its support when
//! downscaling (so it antialiases), parallel over rows with rayon.

use rayon::prelude::*;

use super::Rgb;

/// Lanczos lobes.
const LOBES: f64 = 3.0;

/// Resizes `image` to `width`×`height` with Lanczos-3 (antialiased when shrinking).
///
/// Each output plane is clamped to its input plane's value range, so ringing never overshoots.
/// A zero-sized target gives an empty image; an empty source gives black.
pub fn resize(image: &Rgb, width: usize, height: usize) -> Rgb {
    if (width, height) == (image.width, image.height) {
        return image.clone();
    }
    let mut data = Vec::with_capacity(3 * width * height);
    for c in 0..3 {
        data.extend(resize_plane(
            image.plane(c),
            image.width,
            image.height,
            width,
            height,
        ));
    }
    Rgb::new(width, height, data)
}

/// Resizes one row-major `w`×`h` plane to `nw`×`nh` (same filter and clamping as [`resize`]).
///
/// # Panics
/// If `plane.len() != w * h`.
pub fn resize_plane(plane: &[f32], w: usize, h: usize, nw: usize, nh: usize) -> Vec<f32> {
    assert_eq!(plane.len(), w * h, "resize_plane: plane is not {w}x{h}");
    if nw == 0 || nh == 0 {
        return Vec::new();
    }
    if w == 0 || h == 0 {
        return vec![0.0; nw * nh];
    }
    if (w, h) == (nw, nh) {
        return plane.to_vec();
    }
    let (lo, hi) = plane
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });

    // Horizontal pass: h rows of nw.
    let horiz = if nw == w {
        plane.to_vec()
    } else {
        let taps = Taps::new(w, nw);
        let mut out = vec![0.0f32; nw * h];
        out.par_chunks_mut(nw)
            .zip(plane.par_chunks(w))
            .for_each(|(dst, src)| {
                for (x, d) in dst.iter_mut().enumerate() {
                    let (start, weights) = taps.get(x);
                    *d = weights
                        .iter()
                        .zip(&src[start..start + weights.len()])
                        .map(|(wt, s)| wt * s)
                        .sum();
                }
            });
        out
    };

    // Vertical pass: nh rows of nw, each a weighted sum of whole rows.
    let mut out = if nh == h {
        horiz
    } else {
        let taps = Taps::new(h, nh);
        let mut out = vec![0.0f32; nw * nh];
        out.par_chunks_mut(nw).enumerate().for_each(|(y, dst)| {
            let (start, weights) = taps.get(y);
            for (k, wt) in weights.iter().enumerate() {
                let row = &horiz[(start + k) * nw..(start + k + 1) * nw];
                for (d, s) in dst.iter_mut().zip(row) {
                    *d += wt * s;
                }
            }
        });
        out
    };
    if lo.is_finite() && hi.is_finite() {
        for v in &mut out {
            *v = v.clamp(lo, hi);
        }
    }
    out
}

/// Aspect-preserving size whose longer side is `longer` (each side at least 1 px).
pub fn fit_longer_side(w: usize, h: usize, longer: usize) -> (usize, usize) {
    let (w, h, longer) = (w.max(1), h.max(1), longer.max(1));
    let scaled = |short: usize, long: usize| -> usize {
        ((short as f64 * longer as f64 / long as f64).round() as usize).clamp(1, longer)
    };
    if w >= h {
        (longer, scaled(h, w))
    } else {
        (scaled(w, h), longer)
    }
}

/// Precomputed normalised filter taps for one axis.
struct Taps {
    /// First source index of each output sample.
    starts: Vec<usize>,
    /// Offsets into `weights` (len = outputs + 1).
    offsets: Vec<usize>,
    weights: Vec<f32>,
}

impl Taps {
    fn new(src: usize, dst: usize) -> Self {
        let scale = src as f64 / dst as f64;
        let filter_scale = scale.max(1.0);
        let support = LOBES * filter_scale;
        let mut starts = Vec::with_capacity(dst);
        let mut offsets = Vec::with_capacity(dst + 1);
        let mut weights = Vec::new();
        offsets.push(0);
        let mut ws = Vec::new();
        for i in 0..dst {
            let centre = (i as f64 + 0.5) * scale;
            let first = ((centre - support).floor().max(0.0)) as usize;
            let last = ((centre + support).ceil() as usize).min(src);
            ws.clear();
            ws.extend((first..last).map(|j| lanczos((j as f64 + 0.5 - centre) / filter_scale)));
            let sum: f64 = ws.iter().sum();
            if sum.abs() > 1e-8 {
                weights.extend(ws.iter().map(|w| (w / sum) as f32));
                starts.push(first);
            } else {
                // Degenerate window: fall back to the nearest sample.
                weights.push(1.0);
                starts.push((centre as usize).min(src - 1));
            }
            offsets.push(weights.len());
        }
        Taps {
            starts,
            offsets,
            weights,
        }
    }

    fn get(&self, i: usize) -> (usize, &[f32]) {
        (
            self.starts[i],
            &self.weights[self.offsets[i]..self.offsets[i + 1]],
        )
    }
}

fn lanczos(x: f64) -> f64 {
    let x = x.abs();
    if x < 1e-12 {
        1.0
    } else if x >= LOBES {
        0.0
    } else {
        let px = std::f64::consts::PI * x;
        LOBES * px.sin() * (px / LOBES).sin() / (px * px)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_image_stays_constant() {
        let img = Rgb::filled(37, 23, [10.0, 128.5, 250.0]);
        for (w, h) in [(100, 70), (5, 3), (37, 11), (1, 1), (200, 1)] {
            let r = resize(&img, w, h);
            assert_eq!((r.width, r.height), (w, h));
            for c in 0..3 {
                let want = img.plane(c)[0];
                assert!(r.plane(c).iter().all(|v| (v - want).abs() < 1e-3));
            }
        }
    }

    #[test]
    fn checkerboard_downscale_is_gray() {
        let (w, h) = (64, 64);
        let plane: Vec<f32> = (0..w * h)
            .map(|i| if (i % w + i / w) % 2 == 0 { 0.0 } else { 255.0 })
            .collect();
        let img = Rgb::from_planes(w, h, [&plane, &plane, &plane]);
        let r = resize(&img, 16, 16);
        for v in &r.data {
            assert!((v - 127.5).abs() < 2.0, "{v}");
        }
        // Odd ratio too.
        let r = resize_plane(&plane, w, h, 21, 13);
        for v in &r {
            assert!((v - 127.5).abs() < 12.0, "{v}");
        }
    }

    #[test]
    fn upscale_interpolates_and_respects_range() {
        let plane = vec![0.0, 255.0];
        let r = resize_plane(&plane, 2, 1, 8, 1);
        assert!(r.windows(2).all(|p| p[0] <= p[1] + 1e-3), "{r:?}");
        assert!(r.iter().all(|v| (0.0..=255.0).contains(v)));
        assert!(r[0] < 10.0 && r[7] > 245.0);
    }

    #[test]
    fn ramp_keeps_its_mean_when_halved() {
        let (w, h) = (40, 10);
        let plane: Vec<f32> = (0..w * h).map(|i| (i % w) as f32 * 5.0).collect();
        let r = resize_plane(&plane, w, h, 20, 5);
        let mean = |v: &[f32]| v.iter().sum::<f32>() / v.len() as f32;
        assert!((mean(&r) - mean(&plane)).abs() < 1.0);
        // Interior samples are the average of the two source samples they cover.
        assert!(
            (r[5] - 0.5 * (plane[10] + plane[11])).abs() < 0.5,
            "{}",
            r[5]
        );
    }

    #[test]
    fn degenerate_sizes() {
        assert!(resize_plane(&[1.0, 2.0], 2, 1, 0, 5).is_empty());
        assert_eq!(resize_plane(&[], 0, 0, 2, 2), vec![0.0; 4]);
        let one = resize_plane(&[7.0], 1, 1, 3, 2);
        assert_eq!(one, vec![7.0; 6]);
    }

    #[test]
    fn fit_longer_side_cases() {
        assert_eq!(fit_longer_side(1024, 768, 512), (512, 384));
        assert_eq!(fit_longer_side(768, 1024, 512), (384, 512));
        assert_eq!(fit_longer_side(500, 500, 256), (256, 256));
        assert_eq!(fit_longer_side(10000, 10, 100), (100, 1));
        assert_eq!(fit_longer_side(10, 10000, 100), (1, 100));
        assert_eq!(fit_longer_side(300, 200, 1000), (1000, 667));
        assert_eq!(fit_longer_side(0, 0, 0), (1, 1));
    }
}
