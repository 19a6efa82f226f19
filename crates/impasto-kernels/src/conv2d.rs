//! Convolutions of any square kernel size and stride on an already padded input ("valid"
//! convolutions: the feed-forward networks' 9×9 and strided layers), with their input and
//! weight gradients.
//!
//! Each image is processed in bands of output rows: a band is unrolled into a column matrix
//! (im2col restricted to the band) and multiplied by the weights with the `gemm` crate, which
//! picks its AVX-512, AVX2 or portable product at run time. Bands run in parallel on rayon.

use rayon::prelude::*;

use crate::gemm::{gemm_strided, Strided};
use crate::Shared;

/// Output pixels per band: wide enough for efficient products.
const BAND_PIXELS: usize = 2048;
/// Column-matrix budget per band, in f32 elements (16 MiB).
const BAND_ELEMS: usize = 1 << 22;

/// The shape of a convolution: `cout × cin × k × k` weights moved by `stride`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvShape {
    /// Input channels.
    pub cin: usize,
    /// Output channels.
    pub cout: usize,
    /// Kernel size (k × k).
    pub k: usize,
    /// Step between outputs, in input pixels.
    pub stride: usize,
}

impl ConvShape {
    /// The output size for an input of `h × w` (already padded): `(h - k) / stride + 1`.
    pub fn out_size(&self, h: usize, w: usize) -> (usize, usize) {
        assert!(
            h >= self.k && w >= self.k,
            "conv2d: input {h}×{w} smaller than the kernel"
        );
        (
            (h - self.k) / self.stride + 1,
            (w - self.k) / self.stride + 1,
        )
    }

    /// Rows of the column matrix: `cin × k × k`.
    fn depth(&self) -> usize {
        self.cin * self.k * self.k
    }

    /// Weights it takes.
    pub fn weights(&self) -> usize {
        self.cout * self.depth()
    }
}

/// A batch of `n` images of `h × w` (the input of the convolution, padded).
#[derive(Clone, Copy, Debug)]
pub struct Batch {
    /// Images.
    pub n: usize,
    /// Height of each image.
    pub h: usize,
    /// Width of each image.
    pub w: usize,
}

/// How one image's output rows are cut into bands.
#[derive(Clone, Copy)]
struct Bands {
    /// Output rows per band.
    rows: usize,
    /// Bands per image.
    count: usize,
    oh: usize,
    ow: usize,
}

impl Bands {
    fn new(shape: ConvShape, h: usize, w: usize) -> Self {
        let (oh, ow) = shape.out_size(h, w);
        let by_pixels = (BAND_PIXELS / ow).min(BAND_ELEMS / (shape.depth() * ow));
        // At least k / stride rows, so that only neighbouring bands read the same input rows.
        let rows = by_pixels.max(shape.k.div_ceil(shape.stride)).clamp(1, oh);
        Self {
            rows,
            count: oh.div_ceil(rows),
            oh,
            ow,
        }
    }

    /// Output rows of band `b`.
    fn span(&self, b: usize) -> (usize, usize) {
        (b * self.rows, ((b + 1) * self.rows).min(self.oh))
    }
}

/// Unrolls output rows `y0..y1` of one image `x` (`cin × h × w`) into
/// `col[(ci·k + ky)·k + kx, (y - y0)·ow + ox] = x[ci, y·s + ky, ox·s + kx]`.
fn im2col(
    x: &[f32],
    shape: ConvShape,
    (h, w): (usize, usize),
    b: Bands,
    (y0, y1): (usize, usize),
    col: &mut [f32],
) {
    let ConvShape {
        cin, k, stride: s, ..
    } = shape;
    let t = (y1 - y0) * b.ow;
    for ci in 0..cin {
        let plane = &x[ci * h * w..][..h * w];
        for ky in 0..k {
            for kx in 0..k {
                let dst = &mut col[((ci * k + ky) * k + kx) * t..][..t];
                for y in y0..y1 {
                    let src = &plane[(y * s + ky) * w + kx..];
                    let d = &mut dst[(y - y0) * b.ow..][..b.ow];
                    if s == 1 {
                        d.copy_from_slice(&src[..b.ow]);
                    } else {
                        d.iter_mut()
                            .enumerate()
                            .for_each(|(ox, v)| *v = src[ox * s]);
                    }
                }
            }
        }
    }
}

/// Adds `col` (laid out as in [`im2col`]) back into the image gradient `gx` (`cin × h × w`).
fn col2im(
    col: &[f32],
    shape: ConvShape,
    (h, w): (usize, usize),
    b: Bands,
    (y0, y1): (usize, usize),
    gx: *mut f32,
) {
    let ConvShape {
        cin, k, stride: s, ..
    } = shape;
    let t = (y1 - y0) * b.ow;
    for ci in 0..cin {
        for ky in 0..k {
            for kx in 0..k {
                let src = &col[((ci * k + ky) * k + kx) * t..][..t];
                for y in y0..y1 {
                    let row = &src[(y - y0) * b.ow..][..b.ow];
                    let base = ci * h * w + (y * s + ky) * w + kx;
                    for (ox, v) in row.iter().enumerate() {
                        // SAFETY: the caller's band schedule gives this job these rows alone.
                        unsafe { *gx.add(base + ox * s) += v };
                    }
                }
            }
        }
    }
}

thread_local! {
    /// Per-thread column matrix, reused across bands and calls.
    static COL: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Runs `f` with this thread's column matrix of at least `len` elements.
fn with_col<R>(len: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
    COL.with_borrow_mut(|col| {
        if col.len() < len {
            col.resize(len, 0.0);
        }
        f(&mut col[..len])
    })
}

/// `out[n, cout, oh, ow] = conv(x, weight) + bias` for `x` of `n × cin × h × w` (already
/// padded), `weight` of `cout × cin × k × k` and `bias` of `cout` (or empty).
pub fn conv2d(
    x: &[f32],
    batch: Batch,
    shape: ConvShape,
    weight: &[f32],
    bias: &[f32],
    out: &mut [f32],
) {
    let Batch { n, h, w } = batch;
    let b = Bands::new(shape, h, w);
    let (cin, cout, kk) = (shape.cin, shape.cout, shape.depth());
    let ohw = b.oh * b.ow;
    assert_eq!(x.len(), n * cin * h * w, "conv2d: input size");
    assert_eq!(weight.len(), shape.weights(), "conv2d: weight size");
    assert!(bias.is_empty() || bias.len() == cout, "conv2d: bias size");
    assert_eq!(out.len(), n * cout * ohw, "conv2d: output size");
    let out_ptr = Shared(out.as_mut_ptr());
    (0..n * b.count).into_par_iter().for_each(|job| {
        let (img, band) = (job / b.count, job % b.count);
        let (y0, y1) = b.span(band);
        let t = (y1 - y0) * b.ow;
        with_col(kk * t, |col| {
            im2col(
                &x[img * cin * h * w..][..cin * h * w],
                shape,
                (h, w),
                b,
                (y0, y1),
                col,
            );
            // SAFETY: this job alone writes columns y0·ow..y1·ow of image `img`'s planes.
            unsafe {
                let dst = out_ptr.get().add(img * cout * ohw + y0 * b.ow);
                gemm_strided(
                    (cout, t, kk),
                    Strided::rows(dst, ohw),
                    Strided::rows(weight.as_ptr(), kk),
                    Strided::rows(col.as_ptr(), t),
                    false,
                );
                if !bias.is_empty() {
                    for (co, bv) in bias.iter().enumerate() {
                        let row = std::slice::from_raw_parts_mut(dst.add(co * ohw), t);
                        row.iter_mut().for_each(|v| *v += bv);
                    }
                }
            }
        });
    });
}

/// Gradient of [`conv2d`] with respect to its input: `gx` (`n × cin × h × w`, overwritten) for
/// an output gradient `g` (`n × cout × oh × ow`).
pub fn conv2d_backward_input(
    g: &[f32],
    batch: Batch,
    shape: ConvShape,
    weight: &[f32],
    gx: &mut [f32],
) {
    let Batch { n, h, w } = batch;
    let b = Bands::new(shape, h, w);
    let (cin, cout, kk) = (shape.cin, shape.cout, shape.depth());
    let ohw = b.oh * b.ow;
    assert_eq!(
        gx.len(),
        n * cin * h * w,
        "conv2d_backward_input: input size"
    );
    assert_eq!(
        weight.len(),
        shape.weights(),
        "conv2d_backward_input: weight size"
    );
    assert_eq!(
        g.len(),
        n * cout * ohw,
        "conv2d_backward_input: gradient size"
    );
    gx.fill(0.0);
    let gx_ptr = Shared(gx.as_mut_ptr());
    // Even bands, then odd ones: a band's input rows overlap only its neighbours'.
    for parity in 0..2 {
        let jobs: Vec<usize> = (0..n * b.count)
            .filter(|j| (j % b.count) % 2 == parity)
            .collect();
        jobs.into_par_iter().for_each(|job| {
            let (img, band) = (job / b.count, job % b.count);
            let (y0, y1) = b.span(band);
            let t = (y1 - y0) * b.ow;
            with_col(kk * t, |col| {
                // SAFETY: col is kk × t; wᵀ is read with swapped strides; g's band has t
                // columns at row stride ohw.
                unsafe {
                    gemm_strided(
                        (kk, t, cout),
                        Strided::rows(col.as_mut_ptr(), t),
                        Strided {
                            ptr: weight.as_ptr(),
                            rs: 1,
                            cs: kk,
                        },
                        Strided::rows(g.as_ptr().add(img * cout * ohw + y0 * b.ow), ohw),
                        false,
                    );
                    col2im(
                        col,
                        shape,
                        (h, w),
                        b,
                        (y0, y1),
                        gx_ptr.get().add(img * cin * h * w),
                    );
                }
            });
        });
    }
}

/// Gradient of [`conv2d`] with respect to its weights and bias, added to `gw`
/// (`cout × cin × k × k`) and `gb` (`cout`, or empty for none), for input `x` and output
/// gradient `g`.
pub fn conv2d_backward_weights(
    x: &[f32],
    g: &[f32],
    batch: Batch,
    shape: ConvShape,
    gw: &mut [f32],
    gb: &mut [f32],
) {
    let Batch { n, h, w } = batch;
    let b = Bands::new(shape, h, w);
    let (cin, cout, kk) = (shape.cin, shape.cout, shape.depth());
    let ohw = b.oh * b.ow;
    assert_eq!(
        x.len(),
        n * cin * h * w,
        "conv2d_backward_weights: input size"
    );
    assert_eq!(
        g.len(),
        n * cout * ohw,
        "conv2d_backward_weights: gradient size"
    );
    assert_eq!(
        gw.len(),
        shape.weights(),
        "conv2d_backward_weights: weight size"
    );
    assert!(
        gb.is_empty() || gb.len() == cout,
        "conv2d_backward_weights: bias size"
    );
    // One partial sum per band, added in band order: the same bits whatever the scheduling.
    let partials: Vec<Vec<f32>> = (0..n * b.count)
        .into_par_iter()
        .map(|job| {
            let (img, band) = (job / b.count, job % b.count);
            let (y0, y1) = b.span(band);
            let t = (y1 - y0) * b.ow;
            let mut acc = vec![0.0f32; cout * kk];
            with_col(kk * t, |col| {
                im2col(
                    &x[img * cin * h * w..][..cin * h * w],
                    shape,
                    (h, w),
                    b,
                    (y0, y1),
                    col,
                );
                // SAFETY: acc is cout × kk; g's band is cout × t at row stride ohw; colᵀ is
                // read with swapped strides.
                unsafe {
                    gemm_strided(
                        (cout, kk, t),
                        Strided::rows(acc.as_mut_ptr(), kk),
                        Strided::rows(g.as_ptr().add(img * cout * ohw + y0 * b.ow), ohw),
                        Strided {
                            ptr: col.as_ptr(),
                            rs: 1,
                            cs: t,
                        },
                        true,
                    );
                }
            });
            acc
        })
        .collect();
    for part in &partials {
        gw.iter_mut().zip(part).for_each(|(a, b)| *a += b);
    }
    if !gb.is_empty() {
        for img in 0..n {
            for (co, acc) in gb.iter_mut().enumerate() {
                let plane = &g[(img * cout + co) * ohw..][..ohw];
                *acc += plane.iter().map(|&v| v as f64).sum::<f64>() as f32;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::Lcg;

    /// A direct six-fold loop with f64 sums.
    fn reference(x: &[f32], batch: Batch, s: ConvShape, wt: &[f32], bias: &[f32]) -> Vec<f32> {
        let Batch { n, h, w } = batch;
        let (oh, ow) = s.out_size(h, w);
        let mut out = vec![0.0; n * s.cout * oh * ow];
        for img in 0..n {
            for co in 0..s.cout {
                for y in 0..oh {
                    for xx in 0..ow {
                        let mut acc = bias.get(co).copied().unwrap_or(0.0) as f64;
                        for ci in 0..s.cin {
                            for ky in 0..s.k {
                                for kx in 0..s.k {
                                    let v = x[((img * s.cin + ci) * h + y * s.stride + ky) * w
                                        + xx * s.stride
                                        + kx];
                                    acc +=
                                        (v * wt[((co * s.cin + ci) * s.k + ky) * s.k + kx]) as f64;
                                }
                            }
                        }
                        out[((img * s.cout + co) * oh + y) * ow + xx] = acc as f32;
                    }
                }
            }
        }
        out
    }

    const CASES: [(ConvShape, Batch); 4] = [
        (
            ConvShape {
                cin: 3,
                cout: 5,
                k: 9,
                stride: 1,
            },
            Batch { n: 2, h: 14, w: 17 },
        ),
        (
            ConvShape {
                cin: 4,
                cout: 6,
                k: 3,
                stride: 2,
            },
            Batch { n: 1, h: 15, w: 12 },
        ),
        (
            ConvShape {
                cin: 7,
                cout: 3,
                k: 3,
                stride: 1,
            },
            Batch { n: 2, h: 40, w: 70 },
        ),
        (
            ConvShape {
                cin: 2,
                cout: 2,
                k: 4,
                stride: 3,
            },
            Batch { n: 1, h: 11, w: 10 },
        ),
    ];

    #[test]
    fn matches_the_reference() {
        let mut rng = Lcg(11);
        for (shape, batch) in CASES {
            let x = rng.vec(batch.n * shape.cin * batch.h * batch.w, 1.0);
            let wt = rng.vec(shape.weights(), 1.0);
            let bias = rng.vec(shape.cout, 1.0);
            let want = reference(&x, batch, shape, &wt, &bias);
            let mut got = vec![f32::NAN; want.len()];
            conv2d(&x, batch, shape, &wt, &bias, &mut got);
            for (a, b) in got.iter().zip(&want) {
                assert!((a - b).abs() < 1e-4, "{shape:?}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn gradients_match_finite_differences() {
        // The loss is Σ out · r for a fixed random r, so its output gradient is r; the
        // convolution is linear, so central differences are exact up to rounding.
        let mut rng = Lcg(12);
        for (shape, batch) in CASES {
            let x = rng.vec(batch.n * shape.cin * batch.h * batch.w, 1.0);
            let wt = rng.vec(shape.weights(), 1.0);
            let bias = rng.vec(shape.cout, 1.0);
            let (oh, ow) = shape.out_size(batch.h, batch.w);
            let r = rng.vec(batch.n * shape.cout * oh * ow, 1.0);
            let loss = |x: &[f32], wt: &[f32], bias: &[f32]| -> f64 {
                let out = reference(x, batch, shape, wt, bias);
                out.iter()
                    .zip(&r)
                    .map(|(a, b)| (*a as f64) * (*b as f64))
                    .sum()
            };
            let mut gx = vec![f32::NAN; x.len()];
            conv2d_backward_input(&r, batch, shape, &wt, &mut gx);
            let (mut gw, mut gb) = (vec![0.0; wt.len()], vec![0.0; shape.cout]);
            conv2d_backward_weights(&x, &r, batch, shape, &mut gw, &mut gb);
            let h = 0.5f32;
            let step = x.len() / 7;
            for i in (0..x.len()).step_by(step.max(1)) {
                let (mut a, mut b) = (x.clone(), x.clone());
                a[i] += h;
                b[i] -= h;
                let fd = (loss(&a, &wt, &bias) - loss(&b, &wt, &bias)) / (2.0 * h as f64);
                assert!(
                    (fd - gx[i] as f64).abs() < 1e-3,
                    "{shape:?} x[{i}]: {fd} vs {}",
                    gx[i]
                );
            }
            for i in (0..wt.len()).step_by((wt.len() / 7).max(1)) {
                let (mut a, mut b) = (wt.clone(), wt.clone());
                a[i] += h;
                b[i] -= h;
                let fd = (loss(&x, &a, &bias) - loss(&x, &b, &bias)) / (2.0 * h as f64);
                assert!(
                    (fd - gw[i] as f64).abs() < 2e-3 * fd.abs().max(1.0),
                    "{shape:?} w[{i}]: {fd} vs {}",
                    gw[i]
                );
            }
            for co in 0..shape.cout {
                let (mut a, mut b) = (bias.clone(), bias.clone());
                a[co] += h;
                b[co] -= h;
                let fd = (loss(&x, &wt, &a) - loss(&x, &wt, &b)) / (2.0 * h as f64);
                assert!(
                    (fd - gb[co] as f64).abs() < 2e-3 * fd.abs().max(1.0),
                    "{shape:?} b[{co}]: {fd} vs {}",
                    gb[co]
                );
            }
        }
    }
}
