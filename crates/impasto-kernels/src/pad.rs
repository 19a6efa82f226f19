//! Padding and cropping of planes: reflection padding (PyTorch's `ReflectionPad2d`, ONNX `Pad`
//! in `reflect` mode), zero padding and cropping, with the gradient of reflection padding.
//! Planes run in parallel.

use rayon::prelude::*;

/// The index in `0..n` that position `i` of a line padded by `p` on each side reads:
/// `-1 → 1`, `n → n - 2` (the edge itself is not repeated).
#[inline]
fn reflected(i: isize, n: usize) -> usize {
    let n = n as isize;
    let r = if i < 0 {
        -i
    } else if i >= n {
        2 * (n - 1) - i
    } else {
        i
    };
    r as usize
}

/// Checks that `p` can be reflected in a plane of `h × w` (PyTorch's rule: `p < h`, `p < w`).
fn check(h: usize, w: usize, p: usize) {
    assert!(
        p < h && p < w,
        "reflect: padding {p} needs a plane larger than {h}×{w}"
    );
}

/// `out[c, y, x] = x[c, reflect(y - p), reflect(x - p)]` for `planes` planes of `h × w`;
/// `out` holds `planes × (h + 2p) × (w + 2p)`. `p` must be smaller than `h` and `w`.
pub fn reflect(x: &[f32], planes: usize, h: usize, w: usize, p: usize, out: &mut [f32]) {
    check(h, w, p);
    let (ph, pw) = (h + 2 * p, w + 2 * p);
    assert_eq!(x.len(), planes * h * w, "reflect: input size");
    assert_eq!(out.len(), planes * ph * pw, "reflect: output size");
    out.par_chunks_mut(ph * pw)
        .zip(x.par_chunks(h * w))
        .for_each(|(o, src)| {
            for y in 0..ph {
                let row = &src[reflected(y as isize - p as isize, h) * w..][..w];
                let dst = &mut o[y * pw..][..pw];
                dst[p..p + w].copy_from_slice(row);
                for i in 0..p {
                    dst[p - 1 - i] = row[i + 1];
                    dst[p + w + i] = row[w - 2 - i];
                }
            }
        });
}

/// Gradient of [`reflect`]: each input position gets the sum of the output gradients of every
/// padded position that reads it. `g` holds `planes × (h + 2p) × (w + 2p)`; `gx` is overwritten.
pub fn reflect_backward(g: &[f32], planes: usize, h: usize, w: usize, p: usize, gx: &mut [f32]) {
    check(h, w, p);
    let (ph, pw) = (h + 2 * p, w + 2 * p);
    assert_eq!(g.len(), planes * ph * pw, "reflect_backward: gradient size");
    assert_eq!(gx.len(), planes * h * w, "reflect_backward: output size");
    gx.par_chunks_mut(h * w)
        .zip(g.par_chunks(ph * pw))
        .for_each(|(o, src)| {
            o.fill(0.0);
            for y in 0..ph {
                let row = &src[y * pw..][..pw];
                let dst = &mut o[reflected(y as isize - p as isize, h) * w..][..w];
                dst.iter_mut()
                    .zip(&row[p..p + w])
                    .for_each(|(d, s)| *d += s);
                for i in 0..p {
                    dst[i + 1] += row[p - 1 - i];
                    dst[w - 2 - i] += row[p + w + i];
                }
            }
        });
}

/// `out` = each of `planes` planes of `h × w` with `p` rows and columns of zeros around it.
pub fn zero_pad(x: &[f32], planes: usize, h: usize, w: usize, p: usize, out: &mut [f32]) {
    let (ph, pw) = (h + 2 * p, w + 2 * p);
    assert_eq!(x.len(), planes * h * w, "zero_pad: input size");
    assert_eq!(out.len(), planes * ph * pw, "zero_pad: output size");
    out.par_chunks_mut(ph * pw)
        .zip(x.par_chunks(h * w))
        .for_each(|(o, src)| {
            o.fill(0.0);
            for y in 0..h {
                o[(y + p) * pw + p..][..w].copy_from_slice(&src[y * w..][..w]);
            }
        });
}

/// `out` = the inner `h × w` of each of `planes` planes of `(h + 2p) × (w + 2p)`: the
/// inverse of [`zero_pad`], and its gradient.
pub fn crop(x: &[f32], planes: usize, h: usize, w: usize, p: usize, out: &mut [f32]) {
    let (ph, pw) = (h + 2 * p, w + 2 * p);
    assert_eq!(x.len(), planes * ph * pw, "crop: input size");
    assert_eq!(out.len(), planes * h * w, "crop: output size");
    out.par_chunks_mut(h * w)
        .zip(x.par_chunks(ph * pw))
        .for_each(|(o, src)| {
            for y in 0..h {
                o[y * w..][..w].copy_from_slice(&src[(y + p) * pw + p..][..w]);
            }
        });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::Lcg;

    #[test]
    fn reflects_like_pytorch() {
        // ReflectionPad2d(2) of [[0, 1, 2]] along a row: [2, 1, 0, 1, 2, 1, 0].
        let x: Vec<f32> = (0..12).map(|v| v as f32).collect(); // 4 × 3
        let mut out = vec![0.0; 8 * 7];
        reflect(&x, 1, 4, 3, 2, &mut out);
        assert_eq!(&out[2 * 7..3 * 7], &[2.0, 1.0, 0.0, 1.0, 2.0, 1.0, 0.0]);
        // Row -1 reads row 1; row -2 reads row 2.
        assert_eq!(&out[7 + 2..7 + 5], &[3.0, 4.0, 5.0]);
        assert_eq!(&out[2..5], &[6.0, 7.0, 8.0]);
        // Row h reads row h - 2.
        assert_eq!(&out[6 * 7 + 2..6 * 7 + 5], &[6.0, 7.0, 8.0]);
    }

    #[test]
    fn reflect_backward_is_the_transpose() {
        // <reflect(x), g> == <x, reflect_backward(g)>: the gradient is exact.
        let mut rng = Lcg(4);
        for &(planes, h, w, p) in &[(3, 5, 7, 1), (2, 9, 6, 4), (1, 2, 2, 1)] {
            let x = rng.vec(planes * h * w, 1.0);
            let g = rng.vec(planes * (h + 2 * p) * (w + 2 * p), 1.0);
            let mut y = vec![0.0; g.len()];
            reflect(&x, planes, h, w, p, &mut y);
            let mut gx = vec![f32::NAN; x.len()];
            reflect_backward(&g, planes, h, w, p, &mut gx);
            let lhs: f64 = y.iter().zip(&g).map(|(a, b)| (a * b) as f64).sum();
            let rhs: f64 = x.iter().zip(&gx).map(|(a, b)| (a * b) as f64).sum();
            assert!((lhs - rhs).abs() < 1e-4, "{lhs} vs {rhs}");
        }
    }

    #[test]
    fn crop_undoes_zero_pad() {
        let mut rng = Lcg(8);
        let x = rng.vec(2 * 4 * 5, 1.0);
        let mut padded = vec![f32::NAN; 2 * 6 * 7];
        zero_pad(&x, 2, 4, 5, 1, &mut padded);
        assert_eq!(padded.iter().filter(|v| **v == 0.0).count(), 2 * (42 - 20));
        let mut back = vec![0.0; x.len()];
        crop(&padded, 2, 4, 5, 1, &mut back);
        assert_eq!(back, x);
    }
}
