//! CPU kernel: 3×3 convolution, stride 1, zero padding 1, NCHW f32, optional bias and ReLU.
//!
//! The image is processed in bands of rows. Each band is unrolled into a small column matrix
//! (im2col restricted to the band, so memory stays bounded) and multiplied by the weights:
//! with the AVX-512 kernel in [`super::gemm_avx512`] where the CPU has it, else with the
//! `gemm` crate (AVX2/FMA or portable, chosen at run time). Bands run in parallel on rayon.

use rayon::prelude::*;

use super::{gemm_avx512, Mask, Shared};

/// Pixels per band: wide enough for efficient products, small enough for two bands a core.
const BAND_PIXELS: usize = 1024;
/// Column-matrix budget per band, in f32 elements (16 MiB).
const BAND_ELEMS: usize = 1 << 22;

/// Weights of one 3×3 convolution in `[cout, cin, 3, 3]` order, plus an optional bias.
#[derive(Debug, Clone)]
pub struct Conv3x3Weights {
    /// Output channels.
    pub cout: usize,
    /// Input channels.
    pub cin: usize,
    /// `cout × cin × 9` weights, row-major.
    pub w: Vec<f32>,
    /// `cout` biases, or empty for none.
    pub bias: Vec<f32>,
}

impl Conv3x3Weights {
    /// The weights of the adjoint convolution (input gradient): channels swapped, taps flipped,
    /// no bias. Convolving an output gradient with these gives the input gradient.
    pub fn adjoint(&self) -> Self {
        let (cout, cin) = (self.cout, self.cin);
        let mut w = vec![0.0; cout * cin * 9];
        for co in 0..cout {
            for ci in 0..cin {
                for k in 0..9 {
                    w[(ci * cout + co) * 9 + (8 - k)] = self.w[(co * cin + ci) * 9 + k];
                }
            }
        }
        Self {
            cout: cin,
            cin: cout,
            w,
            bias: Vec::new(),
        }
    }
}

/// `out[n, cout, h, w] = relu?(conv3x3(x[n, cin, h, w], weights) + bias)`.
pub fn conv3x3(
    x: &[f32],
    n: usize,
    h: usize,
    w: usize,
    k: &Conv3x3Weights,
    relu: bool,
    out: &mut [f32],
) {
    conv3x3_masked(x, Mask::None, n, h, w, k, relu, out)
}

/// Like [`conv3x3`], but input elements the mask rules out count as zero. With the adjoint
/// weights and a layer's ReLU mask, this is that layer's input gradient with the ReLU
/// derivative fused in.
#[allow(clippy::too_many_arguments)]
pub fn conv3x3_masked(
    x: &[f32],
    mask: Mask,
    n: usize,
    h: usize,
    w: usize,
    k: &Conv3x3Weights,
    relu: bool,
    out: &mut [f32],
) {
    let fast = gemm_avx512::available();
    conv3x3_with(x, mask, n, h, w, k, relu, out, fast)
}

/// [`conv3x3_masked`] with the kernel chosen by the caller: AVX-512 if `avx512`, else `gemm`.
#[allow(clippy::too_many_arguments)]
fn conv3x3_with(
    x: &[f32],
    mask: Mask,
    n: usize,
    h: usize,
    w: usize,
    k: &Conv3x3Weights,
    relu: bool,
    out: &mut [f32],
    avx512: bool,
) {
    let (cin, cout) = (k.cin, k.cout);
    let hw = h * w;
    assert_eq!(x.len(), n * cin * hw, "conv3x3: input size");
    assert_eq!(out.len(), n * cout * hw, "conv3x3: output size");
    assert_eq!(k.w.len(), cout * cin * 9, "conv3x3: weight size");
    mask.check(x.len());
    if hw == 0 || n == 0 {
        return;
    }
    let kk = cin * 9;
    let rows = (BAND_PIXELS / w).min(BAND_ELEMS / (kk * w)).clamp(1, h);
    let bands = h.div_ceil(rows);
    let out_ptr = Shared(out.as_mut_ptr());
    let packed_a = avx512.then(|| gemm_avx512::pack_a(&k.w, cout, kk));
    (0..n * bands).into_par_iter().for_each(|job| {
        let (img, band) = (job / bands, job % bands);
        let y0 = band * rows;
        let y1 = (y0 + rows).min(h);
        let t = (y1 - y0) * w;
        let range = img * cin * hw..(img + 1) * cin * hw;
        let layout = ColLayout {
            k: kk,
            t,
            panel: packed_a.as_ref().map(|_| gemm_avx512::NR),
        };
        SCRATCH.with_borrow_mut(|(col, masked)| {
            // Stale values in the padding of the last panel only reach output columns
            // that are never stored.
            if col.len() < layout.len() {
                col.resize(layout.len(), 0.0);
            }
            let col = &mut col[..layout.len()];
            im2col_band(
                &x[range],
                mask.image(img, cin * hw),
                cin,
                h,
                w,
                (y0, y1),
                layout,
                col,
                masked,
            );
            // SAFETY: dst points at column y0*w of image `img`, rows strided by hw; the band's
            // columns [y0*w, y1*w) are written by this job only.
            let dst = unsafe { out_ptr.get().add(img * cout * hw + y0 * w) };
            match &packed_a {
                // SAFETY: the kernel is available (checked when packing A); sizes match.
                #[cfg(target_arch = "x86_64")]
                Some(pa) => unsafe {
                    gemm_avx512::gemm_band(cout, kk, t, pa, col, &k.bias, relu, dst, hw)
                },
                _ => gemm_crate_band(cout, kk, t, &k.w, col, &k.bias, relu, dst, hw),
            }
        });
    });
}

/// The same band product with the `gemm` crate (AVX2/FMA or portable), bias and ReLU after.
#[allow(clippy::too_many_arguments)]
fn gemm_crate_band(
    m: usize,
    kk: usize,
    t: usize,
    a: &[f32],
    col: &[f32],
    bias: &[f32],
    relu: bool,
    dst: *mut f32,
    hw: usize,
) {
    // SAFETY: the caller gives a `dst` valid for m rows of t columns at stride hw; gemm reads
    // `a` (m × kk) and `col` (kk × t) with the strides given.
    unsafe {
        super::gemm_rows(m, t, kk, dst, hw, a.as_ptr(), kk, col.as_ptr(), t);
        for co in 0..m {
            let row = std::slice::from_raw_parts_mut(dst.add(co * hw), t);
            let b = bias.get(co).copied().unwrap_or(0.0);
            if relu {
                row.iter_mut().for_each(|v| *v = (*v + b).max(0.0));
            } else if b != 0.0 {
                row.iter_mut().for_each(|v| *v += b);
            }
        }
    }
}

/// How a band's column matrix `col[k, t]` is laid out in memory.
#[derive(Clone, Copy)]
struct ColLayout {
    /// Rows (`cin × 9`).
    k: usize,
    /// Columns (pixels in the band).
    t: usize,
    /// `Some(NR)`: panels `[t / NR][k][NR]` for the AVX-512 kernel; `None`: row-major.
    panel: Option<usize>,
}

impl ColLayout {
    /// Elements the layout needs.
    fn len(&self) -> usize {
        match self.panel {
            Some(nr) => self.t.div_ceil(nr) * nr * self.k,
            None => self.k * self.t,
        }
    }

    /// Writes `src` to row `k`, columns `t0..t0 + src.len()`.
    #[inline]
    fn put(&self, col: &mut [f32], k: usize, t0: usize, src: &[f32]) {
        match self.panel {
            None => col[k * self.t + t0..][..src.len()].copy_from_slice(src),
            Some(nr) => {
                let mut done = 0;
                while done < src.len() {
                    let t = t0 + done;
                    let (p, off) = (t / nr, t % nr);
                    let n = (nr - off).min(src.len() - done);
                    col[(p * self.k + k) * nr + off..][..n].copy_from_slice(&src[done..done + n]);
                    done += n;
                }
            }
        }
    }
}

/// Unrolls rows `y0..y1` of a `[cin, h, w]` image into `col[(ci*9 + ky*3 + kx), t]`,
/// zeroing elements whose mask is not positive. `masked` is scratch space.
#[allow(clippy::too_many_arguments)]
fn im2col_band(
    x: &[f32],
    mask: Mask,
    cin: usize,
    h: usize,
    w: usize,
    (y0, y1): (usize, usize),
    layout: ColLayout,
    col: &mut [f32],
    masked: &mut Vec<f32>,
) {
    let zeros = vec![0.0f32; w];
    // Rows r0..r1 (the band plus one row of halo each side) are all that is read.
    let (r0, r1) = (y0.saturating_sub(1), (y1 + 1).min(h));
    for ci in 0..cin {
        let full = &x[ci * h * w..(ci + 1) * h * w];
        let (plane, base) = match mask {
            Mask::None => (full, 0),
            _ => {
                masked.clear();
                masked.extend_from_slice(&full[r0 * w..r1 * w]);
                mask.apply(ci * h * w + r0 * w, masked);
                (&masked[..], r0)
            }
        };
        for ky in 0..3 {
            for kx in 0..3 {
                let k = ci * 9 + ky * 3 + kx;
                for y in y0..y1 {
                    let t0 = (y - y0) * w;
                    let sy = y as isize + ky as isize - 1;
                    if sy < 0 || sy >= h as isize {
                        layout.put(col, k, t0, &zeros);
                        continue;
                    }
                    let src = &plane[(sy as usize - base) * w..][..w];
                    match kx {
                        0 => {
                            layout.put(col, k, t0, &zeros[..1]);
                            layout.put(col, k, t0 + 1, &src[..w - 1]);
                        }
                        1 => layout.put(col, k, t0, src),
                        _ => {
                            layout.put(col, k, t0, &src[1..]);
                            layout.put(col, k, t0 + w - 1, &zeros[..1]);
                        }
                    }
                }
            }
        }
    }
}

thread_local! {
    /// Per-thread scratch (column matrix, masked rows), reused across bands and calls.
    static SCRATCH: std::cell::RefCell<(Vec<f32>, Vec<f32>)> = const { std::cell::RefCell::new((Vec::new(), Vec::new())) };
}

/// Plain reference: a direct six-fold loop, used to test the fast path.
#[cfg(test)]
pub fn conv3x3_reference(
    x: &[f32],
    n: usize,
    h: usize,
    w: usize,
    k: &Conv3x3Weights,
    relu: bool,
) -> Vec<f32> {
    let (cin, cout) = (k.cin, k.cout);
    let mut out = vec![0.0; n * cout * h * w];
    for img in 0..n {
        for co in 0..cout {
            for y in 0..h {
                for xx in 0..w {
                    let mut acc = k.bias.get(co).copied().unwrap_or(0.0) as f64;
                    for ci in 0..cin {
                        for ky in 0..3 {
                            for kx in 0..3 {
                                let sy = y as isize + ky as isize - 1;
                                let sx = xx as isize + kx as isize - 1;
                                if sy < 0 || sx < 0 || sy >= h as isize || sx >= w as isize {
                                    continue;
                                }
                                let v = x[((img * cin + ci) * h + sy as usize) * w + sx as usize];
                                acc += (v * k.w[(co * cin + ci) * 9 + ky * 3 + kx]) as f64;
                            }
                        }
                    }
                    let v = acc as f32;
                    out[((img * cout + co) * h + y) * w + xx] = if relu { v.max(0.0) } else { v };
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::Lcg;

    fn weights(cout: usize, cin: usize, rng: &mut Lcg) -> Conv3x3Weights {
        Conv3x3Weights {
            cout,
            cin,
            w: rng.vec(cout * cin * 9, 1.0),
            bias: rng.vec(cout, 0.5),
        }
    }

    #[test]
    fn matches_reference_on_odd_shapes() {
        let mut rng = Lcg(7);
        for &(n, cin, cout, h, w) in &[
            (1, 3, 8, 5, 7),
            (2, 4, 3, 1, 1),
            (1, 16, 5, 9, 2),
            (1, 70, 9, 40, 33),
        ] {
            let k = weights(cout, cin, &mut rng);
            let x = rng.vec(n * cin * h * w, 2.0);
            // Both paths: AVX-512 (where the CPU has it) and the portable `gemm` one.
            for (relu, avx512) in [(false, false), (true, false), (false, true), (true, true)] {
                if avx512 && !gemm_avx512::available() {
                    continue;
                }
                let mut out = vec![f32::NAN; n * cout * h * w];
                conv3x3_with(&x, Mask::None, n, h, w, &k, relu, &mut out, avx512);
                let r = conv3x3_reference(&x, n, h, w, &k, relu);
                let scale = (cin * 9) as f32 * 2.0;
                for (a, b) in out.iter().zip(&r) {
                    assert!((a - b).abs() <= 1e-6 * scale, "{a} vs {b}");
                }
            }
        }
    }

    #[test]
    fn mask_zeroes_inputs() {
        let mut rng = Lcg(5);
        let (cin, cout, h, w) = (6, 4, 11, 8);
        let k = weights(cout, cin, &mut rng);
        let x = rng.vec(cin * h * w, 1.0);
        let mask = rng.vec(cin * h * w, 1.0);
        let xm: Vec<f32> = x
            .iter()
            .zip(&mask)
            .map(|(&v, &m)| if m > 0.0 { v } else { 0.0 })
            .collect();
        let b = conv3x3_reference(&xm, 1, h, w, &k, false);
        for avx512 in [false, gemm_avx512::available()] {
            let mut a = vec![0.0; cout * h * w];
            conv3x3_with(
                &x,
                Mask::Positive(&mask),
                1,
                h,
                w,
                &k,
                false,
                &mut a,
                avx512,
            );
            for (a, b) in a.iter().zip(&b) {
                assert!((a - b).abs() < 1e-4, "{a} vs {b}");
            }
        }
    }

    #[test]
    fn adjoint_is_the_transpose() {
        // <conv(x), g> == <x, conv_adjoint(g)> for any x, g: the input gradient is exact.
        let mut rng = Lcg(3);
        let (cin, cout, h, w) = (5, 6, 7, 9);
        let mut k = weights(cout, cin, &mut rng);
        k.bias.clear();
        let x = rng.vec(cin * h * w, 1.0);
        let g = rng.vec(cout * h * w, 1.0);
        let mut y = vec![0.0; cout * h * w];
        conv3x3(&x, 1, h, w, &k, false, &mut y);
        let mut gx = vec![0.0; cin * h * w];
        conv3x3(&g, 1, h, w, &k.adjoint(), false, &mut gx);
        let lhs: f64 = y.iter().zip(&g).map(|(a, b)| (a * b) as f64).sum();
        let rhs: f64 = x.iter().zip(&gx).map(|(a, b)| (a * b) as f64).sum();
        assert!(
            (lhs - rhs).abs() < 1e-4 * lhs.abs().max(1.0),
            "{lhs} vs {rhs}"
        );
    }
}
