//! CPU kernel: 3×3 convolution by im2col and products, for layers with few input channels
//! (conv1_1: 3 → 64).
//!
//! The image is processed in bands of rows. Each band is unrolled into a small column matrix
//! (im2col restricted to the band, so memory stays bounded) and multiplied by the weights:
//! with the AVX-512 kernel in [`crate::gemm`] where the instruction set has it, else with the
//! `gemm` crate (AVX2/FMA or portable, chosen at run time). Bands run in parallel on rayon.

use rayon::prelude::*;

use crate::conv::{Border, Conv3x3Weights, ConvInput};
use crate::gemm::{self, avx512, gemm_rows, panel_index, Dest, Operands, Rows};
use crate::{Isa, Mask, Shared};

/// Pixels per band: wide enough for efficient products, small enough for two bands a core.
const BAND_PIXELS: usize = 1024;
/// Column-matrix budget per band, in f32 elements (16 MiB).
const BAND_ELEMS: usize = 1 << 22;

/// `out[n, cout, h, w] = relu?(conv3x3(x · mask, k) + bias)` with code for `isa`; sizes are
/// the caller's to check.
pub(crate) fn convolve(
    isa: Isa,
    input: ConvInput,
    k: &Conv3x3Weights,
    relu: bool,
    out: &mut [f32],
) {
    let ConvInput {
        x,
        mask,
        n,
        h,
        w,
        border,
        ..
    } = input;
    let (cin, cout, hw) = (k.cin, k.cout, h * w);
    let kk = cin * 9;
    let rows = (BAND_PIXELS / w).min(BAND_ELEMS / (kk * w)).clamp(1, h);
    let bands = h.div_ceil(rows);
    let out_ptr = Shared(out.as_mut_ptr());
    let packed_a = isa.has_avx512().then(|| avx512::pack_a(&k.w, cout, kk));
    (0..n * bands).into_par_iter().for_each(|job| {
        let (img, band) = (job / bands, job % bands);
        let y0 = band * rows;
        let y1 = (y0 + rows).min(h);
        let t = (y1 - y0) * w;
        let image = Image {
            x: &x[img * cin * hw..(img + 1) * cin * hw],
            mask: mask.image(img, cin * hw),
            cin,
            h,
            w,
            border,
        };
        let layout = ColLayout {
            k: kk,
            t,
            panels: packed_a.is_some(),
        };
        SCRATCH.with_borrow_mut(|(col, masked)| {
            // Stale values in the padding of the last panel only reach output columns
            // that are never stored.
            if col.len() < layout.len() {
                col.resize(layout.len(), 0.0);
            }
            let col = &mut col[..layout.len()];
            im2col_band(isa, image, (y0, y1), layout, col, masked);
            // SAFETY: dst points at column y0*w of image `img`, rows strided by hw; the band's
            // columns [y0*w, y1*w) are written by this job only.
            let dst = unsafe { out_ptr.get().add(img * cout * hw + y0 * w) };
            let dst = Dest::with(dst, hw, &k.bias, relu);
            match &packed_a {
                // SAFETY: A was packed because the instruction set has AVX-512; sizes match.
                #[cfg(target_arch = "x86_64")]
                Some(pa) => unsafe {
                    gemm::band::<avx512::F32>(Operands::new(cout, kk, t, pa, col), dst)
                },
                _ => gemm_crate_band((cout, kk, t), &k.w, col, dst),
            }
        });
    });
}

/// The same band product with the `gemm` crate (AVX2/FMA or portable), bias and ReLU after:
/// `a` is `m × kk`, `col` is `kk × t`, both row-major.
fn gemm_crate_band((m, kk, t): (usize, usize, usize), a: &[f32], col: &[f32], dst: Dest) {
    let Dest {
        ptr,
        ldc,
        bias,
        relu,
    } = dst;
    // SAFETY: the caller gives a `dst` valid for m rows of t columns at stride ldc; gemm reads
    // `a` (m × kk) and `col` (kk × t) with the strides given.
    unsafe {
        let (a, col) = (
            Rows {
                ptr: a.as_ptr(),
                ld: kk,
            },
            Rows {
                ptr: col.as_ptr(),
                ld: t,
            },
        );
        gemm_rows((m, t, kk), Rows { ptr, ld: ldc }, a, col);
        for co in 0..m {
            let row = std::slice::from_raw_parts_mut(ptr.add(co * ldc), t);
            let b = bias.get(co).copied().unwrap_or(0.0);
            if relu {
                row.iter_mut().for_each(|v| *v = (*v + b).max(0.0));
            } else if b != 0.0 {
                row.iter_mut().for_each(|v| *v += b);
            }
        }
    }
}

/// One image of the batch and the mask of its values.
#[derive(Clone, Copy)]
struct Image<'a> {
    /// `cin × h × w` values.
    x: &'a [f32],
    mask: Mask<'a>,
    cin: usize,
    h: usize,
    w: usize,
    border: Border,
}

/// How a band's column matrix `col[k, t]` is laid out in memory.
#[derive(Clone, Copy)]
struct ColLayout {
    /// Rows (`cin × 9`).
    k: usize,
    /// Columns (pixels in the band).
    t: usize,
    /// Panels `[t / NR][k][NR]` for the AVX-512 kernel, else row-major.
    panels: bool,
}

impl ColLayout {
    /// Elements the layout needs.
    fn len(&self) -> usize {
        if self.panels {
            self.t.div_ceil(gemm::NR) * gemm::NR * self.k
        } else {
            self.k * self.t
        }
    }

    /// Writes `src` to row `k`, columns `t0..t0 + src.len()`.
    #[inline]
    fn put(&self, col: &mut [f32], k: usize, t0: usize, src: &[f32]) {
        if !self.panels {
            col[k * self.t + t0..][..src.len()].copy_from_slice(src);
            return;
        }
        let mut done = 0;
        while done < src.len() {
            let t = t0 + done;
            let n = (gemm::NR - t % gemm::NR).min(src.len() - done);
            col[panel_index(k, self.k, t)..][..n].copy_from_slice(&src[done..done + n]);
            done += n;
        }
    }
}

/// Unrolls rows `y0..y1` of `image` into `col[(ci*9 + ky*3 + kx), t]`, padded as its border
/// says, zeroing the elements its mask rules out (with code for `isa`). `masked` is scratch
/// space.
fn im2col_band(
    isa: Isa,
    image: Image,
    (y0, y1): (usize, usize),
    layout: ColLayout,
    col: &mut [f32],
    masked: &mut Vec<f32>,
) {
    let Image {
        x,
        mask,
        cin,
        h,
        w,
        border,
    } = image;
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
                mask.apply(isa, ci * h * w + r0 * w, masked);
                (&masked[..], r0)
            }
        };
        for ky in 0..3 {
            for kx in 0..3 {
                let k = ci * 9 + ky * 3 + kx;
                for y in y0..y1 {
                    let t0 = (y - y0) * w;
                    let Some(sy) = border.row(y as isize + ky as isize - 1, h) else {
                        layout.put(col, k, t0, &zeros);
                        continue;
                    };
                    let src = &plane[(sy - base) * w..][..w];
                    let edges = match border {
                        Border::Zero => [0.0; 2],
                        Border::Reflect => [src[1], src[w - 2]],
                    };
                    match kx {
                        0 => {
                            layout.put(col, k, t0, &edges[..1]);
                            layout.put(col, k, t0 + 1, &src[..w - 1]);
                        }
                        1 => layout.put(col, k, t0, src),
                        _ => {
                            layout.put(col, k, t0, &src[1..]);
                            layout.put(col, k, t0 + w - 1, &edges[1..]);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{conv_reference, masked, Lcg};

    #[test]
    fn matches_reference_on_odd_shapes() {
        let mut rng = Lcg(7);
        for &(n, cin, cout, h, w) in &[
            (1, 3, 8, 5, 7),
            (2, 4, 3, 1, 1),
            (1, 16, 5, 9, 2),
            (1, 70, 9, 40, 33),
        ] {
            let k = rng.conv(cout, cin, 0.5);
            let x = rng.vec(n * cin * h * w, 2.0);
            // Every path: AVX-512 panels where the CPU has them, the `gemm` crate otherwise.
            for isa in Isa::supported() {
                for relu in [false, true] {
                    let mut out = vec![f32::NAN; n * cout * h * w];
                    convolve(isa, ConvInput::new(&x, n, h, w), &k, relu, &mut out);
                    let r = conv_reference(&x, n, h, w, &k, relu);
                    let scale = (cin * 9) as f32 * 2.0;
                    for (a, b) in out.iter().zip(&r) {
                        assert!((a - b).abs() <= 1e-6 * scale, "{isa:?}: {a} vs {b}");
                    }
                }
            }
        }
    }

    #[test]
    fn mask_zeroes_inputs() {
        let mut rng = Lcg(5);
        let (cin, cout, h, w) = (6, 4, 11, 8);
        let k = rng.conv(cout, cin, 0.5);
        let x = rng.vec(cin * h * w, 1.0);
        let mask = rng.vec(cin * h * w, 1.0);
        let b = conv_reference(&masked(&x, &mask), 1, h, w, &k, false);
        for isa in Isa::supported() {
            let mut a = vec![0.0; cout * h * w];
            let input = ConvInput::new(&x, 1, h, w).masked(Mask::Positive(&mask));
            convolve(isa, input, &k, false, &mut a);
            for (a, b) in a.iter().zip(&b) {
                assert!((a - b).abs() < 1e-4, "{isa:?}: {a} vs {b}");
            }
        }
    }
}
