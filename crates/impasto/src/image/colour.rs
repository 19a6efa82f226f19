//! Colour helpers for preserving the content's colours (Gatys et al. 2017, "Controlling
//! Perceptual Factors in Neural Style Transfer"):
//!
//! * luminance-only transfer: stylise the luma channel only, then recombine it with the
//!   content's chrominance in YIQ space ([`luminance_only`], [`match_luminance`], [`recombine`]);
//! * colour-statistics ("histogram") matching: recolour the style image so its pixel mean and
//!   covariance equal the content's before stylising ([`match_colour_stats`]).

use super::{clamp255, resize::resize_plane, Rgb};

/// RGB → YIQ (FCC NTSC). Row 0 is the BT.601 luma.
const RGB_TO_YIQ: [[f64; 3]; 3] = [
    [0.299, 0.587, 0.114],
    [0.595_716, -0.274_453, -0.321_263],
    [0.211_456, -0.522_591, 0.311_135],
];

/// ITU-R BT.601 luma `Y = 0.299 R + 0.587 G + 0.114 B` of every pixel (`0..=255`).
pub fn luma(image: &Rgb) -> Vec<f32> {
    let [r, g, b] = image.planes();
    let k = RGB_TO_YIQ[0].map(|v| v as f32);
    r.iter()
        .zip(g)
        .zip(b)
        .map(|((r, g), b)| k[0] * r + k[1] * g + k[2] * b)
        .collect()
}

/// Converts to YIQ planes `[Y, I, Q]` (Y in `0..=255`, I and Q signed).
pub fn to_yiq(image: &Rgb) -> [Vec<f32>; 3] {
    let m = RGB_TO_YIQ.map(|row| row.map(|v| v as f32));
    let planes = image.planes();
    m.map(|row| {
        (0..image.pixel_count())
            .map(|i| row[0] * planes[0][i] + row[1] * planes[1][i] + row[2] * planes[2][i])
            .collect()
    })
}

/// Converts YIQ planes back to RGB (no clamping, so `from_yiq(to_yiq(x)) ≈ x`).
///
/// # Panics
/// If a plane is not `width * height` long.
pub fn from_yiq(y: &[f32], i: &[f32], q: &[f32], width: usize, height: usize) -> Rgb {
    let n = width * height;
    assert!(
        y.len() == n && i.len() == n && q.len() == n,
        "from_yiq: planes are not {width}x{height}"
    );
    let inv = invert3(&RGB_TO_YIQ).map(|row| row.map(|v| v as f32));
    let mut data = Vec::with_capacity(3 * n);
    for row in inv {
        data.extend((0..n).map(|p| row[0] * y[p] + row[1] * i[p] + row[2] * q[p]));
    }
    Rgb::new(width, height, data)
}

/// The image's luma replicated to three channels: the input for luminance-only transfer.
pub fn luminance_only(image: &Rgb) -> Rgb {
    let y = luma(image);
    Rgb::from_planes(image.width, image.height, [&y, &y, &y])
}

/// Affinely maps `style_y` so its mean and standard deviation equal `content_y`'s:
/// `(Ys − μs)·σc/σs + μc`. A flat style (σs ≈ 0) just moves to `μc`.
pub fn match_luminance(style_y: &[f32], content_y: &[f32]) -> Vec<f32> {
    let (ms, ss) = mean_std(style_y);
    let (mc, sc) = mean_std(content_y);
    let gain = if ss > 1e-6 { sc / ss } else { 1.0 };
    style_y
        .iter()
        .map(|&v| ((v as f64 - ms) * gain + mc) as f32)
        .collect()
}

/// Combines the luma of `output_luma_rgb` (the stylised luminance image) with the I and Q
/// chrominance of `content`, clamped to `0..=255`. If the sizes differ, the content's
/// chrominance is resized to the output's size.
pub fn recombine(output_luma_rgb: &Rgb, content: &Rgb) -> Rgb {
    let (w, h) = (output_luma_rgb.width, output_luma_rgb.height);
    let y = luma(output_luma_rgb);
    let [_, ci, cq] = to_yiq(content);
    let (i, q) = if (content.width, content.height) == (w, h) {
        (ci, cq)
    } else {
        let r = |p: &[f32]| resize_plane(p, content.width, content.height, w, h);
        (r(&ci), r(&cq))
    };
    let mut out = from_yiq(&y, &i, &q, w, h);
    out.clamp();
    out
}

/// `styled` with `share` (0..=1) of its luma moved to `photo`'s (resized to `styled`'s size),
/// its chrominance kept: the photo's light and shade with the painting's colours and some of
/// its brushwork. How a grey medical slice keeps its anatomy readable. Where the colour would
/// leave `0..=255` (bright or dark pixels) it is desaturated instead of clipped, so the luma
/// is exactly the blend.
pub fn keep_luminance(styled: &Rgb, photo: &Rgb, share: f32) -> Rgb {
    let (w, h) = (styled.width, styled.height);
    let target = match (photo.width, photo.height) == (w, h) {
        true => luma(photo),
        false => resize_plane(&luma(photo), photo.width, photo.height, w, h),
    };
    let [y, i, q] = to_yiq(styled);
    let y: Vec<f32> = y
        .iter()
        .zip(&target)
        .map(|(&s, &p)| (s + share * (p - s)).clamp(0.0, 255.0))
        .collect();
    let mut out = from_yiq(&y, &i, &q, w, h);
    let n = w * h;
    for (p, &luma) in y.iter().enumerate() {
        // The chroma's offsets from grey carry no luma: scale them into range together.
        let mut t = 1.0f32;
        for c in 0..3 {
            let d = out.data[c * n + p] - luma;
            if luma + d > 255.0 {
                t = t.min((255.0 - luma) / d);
            } else if luma + d < 0.0 {
                t = t.min(-luma / d);
            }
        }
        for c in 0..3 {
            let v = &mut out.data[c * n + p];
            *v = (luma + t * (*v - luma)).clamp(0.0, 255.0);
        }
    }
    out
}

/// Recolours `style` so its pixel mean and 3×3 colour covariance match `content`'s:
/// `x' = A(x − μs) + μc` with `A = Σc^½ Σs^−½` (symmetric roots, `Σs` regularised), clamped
/// to `0..=255`.
pub fn match_colour_stats(style: &Rgb, content: &Rgb) -> Rgb {
    let (mu_s, cov_s) = colour_stats(style);
    let (mu_c, cov_c) = colour_stats(content);
    // Regularise relative to the style's overall variance so near-flat directions stay tame.
    let eps = 1e-4 * (trace(&cov_s) / 3.0) + 1e-6;
    let mut reg = cov_s;
    for (k, row) in reg.iter_mut().enumerate() {
        row[k] += eps;
    }
    let a = matmul(&sym_pow(&cov_c, 0.5, 0.0), &sym_pow(&reg, -0.5, eps));
    let n = style.pixel_count();
    let planes = style.planes();
    let mut data = vec![0.0f32; 3 * n];
    for p in 0..n {
        let d = [
            planes[0][p] as f64 - mu_s[0],
            planes[1][p] as f64 - mu_s[1],
            planes[2][p] as f64 - mu_s[2],
        ];
        for c in 0..3 {
            let v = a[c][0] * d[0] + a[c][1] * d[1] + a[c][2] * d[2] + mu_c[c];
            data[c * n + p] = clamp255(v as f32);
        }
    }
    Rgb::new(style.width, style.height, data)
}

type Mat3 = [[f64; 3]; 3];

/// Population mean and standard deviation (in f64).
fn mean_std(v: &[f32]) -> (f64, f64) {
    if v.is_empty() {
        return (0.0, 0.0);
    }
    let n = v.len() as f64;
    let mean = v.iter().map(|&x| x as f64).sum::<f64>() / n;
    let var = v.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n;
    (mean, var.sqrt())
}

/// Pixel mean and population covariance of the three channels.
fn colour_stats(image: &Rgb) -> ([f64; 3], Mat3) {
    let n = image.pixel_count();
    if n == 0 {
        return ([0.0; 3], [[0.0; 3]; 3]);
    }
    let planes = image.planes();
    let mut mean = [0.0f64; 3];
    for (c, p) in planes.iter().enumerate() {
        mean[c] = p.iter().map(|&x| x as f64).sum::<f64>() / n as f64;
    }
    let mut sums = [[0.0f64; 3]; 3];
    for ((&r, &g), &b) in planes[0].iter().zip(planes[1]).zip(planes[2]) {
        let d = [r as f64 - mean[0], g as f64 - mean[1], b as f64 - mean[2]];
        for (i, row) in sums.iter_mut().enumerate() {
            for (j, v) in row.iter_mut().enumerate().skip(i) {
                *v += d[i] * d[j];
            }
        }
    }
    let mut cov = [[0.0f64; 3]; 3];
    for (i, row) in cov.iter_mut().enumerate() {
        for (j, v) in row.iter_mut().enumerate() {
            *v = sums[i.min(j)][i.max(j)] / n as f64;
        }
    }
    (mean, cov)
}

fn trace(m: &Mat3) -> f64 {
    m[0][0] + m[1][1] + m[2][2]
}

fn matmul(a: &Mat3, b: &Mat3) -> Mat3 {
    let mut out = [[0.0; 3]; 3];
    for (r, row) in out.iter_mut().enumerate() {
        for (c, v) in row.iter_mut().enumerate() {
            *v = (0..3).map(|k| a[r][k] * b[k][c]).sum();
        }
    }
    out
}

/// `m^power` for a symmetric positive semi-definite `m`, eigenvalues floored at `floor`
/// (and at 0).
fn sym_pow(m: &Mat3, power: f64, floor: f64) -> Mat3 {
    let (vals, vecs) = jacobi_eigen(m);
    let mut out = [[0.0; 3]; 3];
    for k in 0..3 {
        let l = vals[k].max(floor).max(0.0);
        let f = if l > 0.0 { l.powf(power) } else { 0.0 };
        for r in 0..3 {
            for c in 0..3 {
                out[r][c] += f * vecs[r][k] * vecs[c][k];
            }
        }
    }
    out
}

/// Eigen-decomposition of a symmetric 3×3 matrix by cyclic Jacobi rotations.
/// Returns eigenvalues and eigenvectors as the columns of the second matrix.
fn jacobi_eigen(m: &Mat3) -> ([f64; 3], Mat3) {
    let mut a = *m;
    let mut v = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];
    for _sweep in 0..50 {
        let off = a[0][1].powi(2) + a[0][2].powi(2) + a[1][2].powi(2);
        let scale = trace(&a.map(|r| r.map(f64::abs))).max(f64::MIN_POSITIVE);
        if off.sqrt() <= 1e-15 * scale {
            break;
        }
        for (p, q) in [(0, 1), (0, 2), (1, 2)] {
            if a[p][q].abs() < f64::MIN_POSITIVE {
                continue;
            }
            let theta = (a[q][q] - a[p][p]) / (2.0 * a[p][q]);
            let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
            let c = 1.0 / (t * t + 1.0).sqrt();
            let s = t * c;
            // A ← Jᵀ A J with J the rotation in the (p, q) plane.
            for row in a.iter_mut() {
                let (rp, rq) = (row[p], row[q]);
                row[p] = c * rp - s * rq;
                row[q] = s * rp + c * rq;
            }
            let (ap, aq) = (a[p], a[q]);
            a[p] = std::array::from_fn(|k| c * ap[k] - s * aq[k]);
            a[q] = std::array::from_fn(|k| s * ap[k] + c * aq[k]);
            for row in v.iter_mut() {
                let (vp, vq) = (row[p], row[q]);
                row[p] = c * vp - s * vq;
                row[q] = s * vp + c * vq;
            }
        }
    }
    ([a[0][0], a[1][1], a[2][2]], v)
}

/// Inverse of a 3×3 matrix by cofactors (used only on the constant YIQ matrix).
fn invert3(m: &Mat3) -> Mat3 {
    let cof = |r: usize, c: usize| {
        let (r1, r2) = ((r + 1) % 3, (r + 2) % 3);
        let (c1, c2) = ((c + 1) % 3, (c + 2) % 3);
        m[r1][c1] * m[r2][c2] - m[r1][c2] * m[r2][c1]
    };
    let det = m[0][0] * cof(0, 0) + m[0][1] * cof(0, 1) + m[0][2] * cof(0, 2);
    let mut out = [[0.0; 3]; 3];
    for (r, row) in out.iter_mut().enumerate() {
        for (c, v) in row.iter_mut().enumerate() {
            *v = cof(c, r) / det;
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::needless_range_loop)]
mod tests {
    use super::*;

    /// Fixed-seed linear congruential generator giving uniform values in `0..1`.
    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self) -> f64 {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (self.0 >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    /// The luma moves by its share towards the photo's, exactly, even over black and white
    /// where the colour must give way; the hue stays (the chroma is only scaled down).
    #[test]
    fn keep_luminance_moves_luma_by_its_share() {
        let mix = [[60.0, 10.0, 0.0], [0.0, 50.0, 20.0], [10.0, 0.0, 70.0]];
        let styled = random_image(1, 8, 6, [90.0, 80.0, 70.0], mix);
        let mut grey = random_image(2, 8, 6, [-40.0; 3], [[340.0, 0.0, 0.0]; 3]);
        grey.clamp();
        let (ys, yp) = (luma(&styled), luma(&grey));
        let [_, si, sq] = to_yiq(&styled);
        for share in [0.0, 0.7, 1.0] {
            let out = keep_luminance(&styled, &grey, share);
            let [y, i, q] = to_yiq(&out);
            for p in 0..48 {
                let want = ys[p] + share * (yp[p] - ys[p]);
                assert!(
                    (y[p] - want).abs() < 1e-2,
                    "share {share}: {} vs {want}",
                    y[p]
                );
                let (dot, cross) = (i[p] * si[p] + q[p] * sq[p], i[p] * sq[p] - q[p] * si[p]);
                let (m, m0) = (i[p].hypot(q[p]), si[p].hypot(sq[p]));
                assert!(
                    dot >= -1e-3 && cross.abs() <= 1e-3 * m0 * m0 + 1e-3,
                    "hue moved"
                );
                assert!(m <= m0 + 1e-3, "chroma grew: {m} over {m0}");
            }
        }
    }

    /// A random image whose pixels are `offset + mix · u`, `u` uniform in `0..1`³.
    fn random_image(seed: u64, w: usize, h: usize, offset: [f64; 3], mix: Mat3) -> Rgb {
        let mut rng = Lcg(seed);
        let n = w * h;
        let mut data = vec![0.0f32; 3 * n];
        for p in 0..n {
            let u = [rng.next(), rng.next(), rng.next()];
            for c in 0..3 {
                let v = offset[c] + mix[c][0] * u[0] + mix[c][1] * u[1] + mix[c][2] * u[2];
                data[c * n + p] = v as f32;
            }
        }
        Rgb::new(w, h, data)
    }

    #[test]
    fn luma_is_bt601() {
        let img = Rgb::new(2, 1, vec![255.0, 0.0, 0.0, 255.0, 0.0, 255.0]);
        let y = luma(&img);
        assert!((y[0] - 0.299 * 255.0).abs() < 1e-3);
        assert!((y[1] - (0.587 + 0.114) * 255.0).abs() < 1e-3);
        let white = Rgb::filled(1, 1, [255.0; 3]);
        assert!((luma(&white)[0] - 255.0).abs() < 1e-3);
        let [_, i, q] = to_yiq(&white);
        assert!(i[0].abs() < 1e-3 && q[0].abs() < 1e-3, "gray has no chroma");
    }

    #[test]
    fn yiq_round_trip() {
        let img = random_image(
            1,
            17,
            9,
            [0.0; 3],
            [[255.0, 0.0, 0.0], [0.0, 255.0, 0.0], [0.0, 0.0, 255.0]],
        );
        let [y, i, q] = to_yiq(&img);
        let back = from_yiq(&y, &i, &q, img.width, img.height);
        for (a, b) in back.data.iter().zip(&img.data) {
            assert!((a - b).abs() < 1e-3, "{a} vs {b}");
        }
        let lo = luminance_only(&img);
        assert_eq!(lo.plane(0), &y[..]);
        assert_eq!(lo.plane(2), &y[..]);
    }

    #[test]
    fn match_luminance_hits_target_mean_and_std() {
        let s = random_image(2, 30, 20, [10.0; 3], [[200.0, 0.0, 0.0]; 3]);
        let c = random_image(3, 25, 25, [100.0; 3], [[50.0, 10.0, 0.0]; 3]);
        let (sy, cy) = (luma(&s), luma(&c));
        let m = match_luminance(&sy, &cy);
        let (mm, ms) = mean_std(&m);
        let (cm, cs) = mean_std(&cy);
        assert!((mm - cm).abs() < 1e-3 && (ms - cs).abs() < 1e-3);
        // Flat style moves to the content mean.
        let flat = match_luminance(&[5.0; 4], &cy);
        assert!(flat.iter().all(|v| (*v as f64 - cm).abs() < 1e-3));
    }

    #[test]
    fn recombine_takes_luma_from_output_and_chroma_from_content() {
        let content = random_image(
            4,
            12,
            8,
            [60.0; 3],
            [[120.0, 20.0, 0.0], [0.0, 110.0, 10.0], [5.0, 0.0, 100.0]],
        );
        let out_y = Rgb::filled(12, 8, [128.0; 3]);
        let r = recombine(&out_y, &content);
        let [ry, ri, rq] = to_yiq(&r);
        let [_, ci, cq] = to_yiq(&content);
        for p in 0..r.pixel_count() {
            assert!((ry[p] - 128.0).abs() < 1e-2);
            assert!((ri[p] - ci[p]).abs() < 1e-2 && (rq[p] - cq[p]).abs() < 1e-2);
        }
        // Recombining the content's own luma gives the content back.
        let back = recombine(&luminance_only(&content), &content);
        for (a, b) in back.data.iter().zip(&content.data) {
            assert!((a - b).abs() < 1e-2);
        }
        // Different sizes: chroma is resized, result has the output's size and is in range.
        let big = recombine(&Rgb::filled(30, 20, [250.0; 3]), &content);
        assert_eq!((big.width, big.height), (30, 20));
        assert!(big.data.iter().all(|v| (0.0..=255.0).contains(v)));
    }

    #[test]
    fn match_colour_stats_gives_content_mean_and_covariance() {
        let style = random_image(
            5,
            64,
            48,
            [20.0, 10.0, 40.0],
            [[200.0, 30.0, 0.0], [40.0, 150.0, 20.0], [0.0, 60.0, 180.0]],
        );
        let content = random_image(
            6,
            50,
            40,
            [110.0, 100.0, 120.0],
            [[30.0, -8.0, 5.0], [10.0, 25.0, 0.0], [-5.0, 6.0, 20.0]],
        );
        let out = match_colour_stats(&style, &content);
        let (mo, co) = colour_stats(&out);
        let (mc, cc) = colour_stats(&content);
        for r in 0..3 {
            assert!((mo[r] - mc[r]).abs() < 1e-2, "mean {mo:?} vs {mc:?}");
            for c in 0..3 {
                assert!(
                    (co[r][c] - cc[r][c]).abs() < 1e-2 * cc[r][r].max(1.0),
                    "cov {co:?} vs {cc:?}"
                );
            }
        }
        // The content's own statistics leave it (nearly) unchanged.
        let same = match_colour_stats(&content, &content);
        for (a, b) in same.data.iter().zip(&content.data) {
            assert!((a - b).abs() < 1e-2);
        }
    }

    #[test]
    fn match_colour_stats_handles_flat_and_gray_styles() {
        let content = random_image(
            7,
            20,
            20,
            [50.0; 3],
            [[100.0, 0.0, 0.0], [0.0, 90.0, 0.0], [0.0, 0.0, 80.0]],
        );
        let (mc, _) = colour_stats(&content);
        let flat = match_colour_stats(&Rgb::filled(8, 8, [3.0, 4.0, 5.0]), &content);
        for c in 0..3 {
            assert!(flat
                .plane(c)
                .iter()
                .all(|v| (*v as f64 - mc[c]).abs() < 1e-2));
        }
        let gray = random_image(8, 16, 16, [0.0; 3], [[255.0, 0.0, 0.0]; 3]);
        let out = match_colour_stats(&gray, &content);
        assert!(out
            .data
            .iter()
            .all(|v| v.is_finite() && (0.0..=255.0).contains(v)));
    }

    #[test]
    fn jacobi_reconstructs_matrix() {
        let m = [[4.0, 1.0, 0.5], [1.0, 3.0, 0.2], [0.5, 0.2, 2.0]];
        let sq = sym_pow(&m, 0.5, 0.0);
        let back = matmul(&sq, &sq);
        let inv = matmul(&sym_pow(&m, -0.5, 0.0), &sq);
        for r in 0..3 {
            for c in 0..3 {
                assert!((back[r][c] - m[r][c]).abs() < 1e-10);
                assert!((inv[r][c] - if r == c { 1.0 } else { 0.0 }).abs() < 1e-10);
            }
        }
        let id = matmul(&invert3(&RGB_TO_YIQ), &RGB_TO_YIQ);
        for r in 0..3 {
            for c in 0..3 {
                assert!((id[r][c] - if r == c { 1.0 } else { 0.0 }).abs() < 1e-12);
            }
        }
    }
}
