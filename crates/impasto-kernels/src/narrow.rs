//! CPU kernel: direct 3×3 convolution for a few output channels, such as the image gradient of
//! conv1_1 (64 → 3 channels). Winograd would spend nearly all its time transforming 64 input
//! channels for 3 outputs, and the product kernels' 8-row panels would be mostly padding.
//! Bands of rows run in parallel; 16 pixels of every output channel stay in registers while
//! all input channels and taps are summed.

use std::cell::RefCell;

use rayon::prelude::*;

use crate::conv::{Conv3x3Weights, ConvInput};
use crate::{Isa, Shared};

/// Output channels up to which this kernel is the better choice.
pub(crate) const MAX_COUT: usize = 4;
/// Output rows per band.
const BAND_ROWS: usize = 8;
/// Pixels summed together.
const LANES: usize = 16;

thread_local! {
    /// Per-thread masked, zero-padded input rows of a band.
    static PLANE: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// `out[n, cout, h, w] = relu?(conv3x3(x · mask, k) + bias)`, `cout ≤ MAX_COUT`, padded as the
/// input's border says, with code for `isa`; sizes are the caller's to check.
pub(crate) fn convolve(
    isa: Isa,
    input: ConvInput,
    k: &Conv3x3Weights,
    relu: bool,
    out: &mut [f32],
) {
    let ConvInput {
        n, h, w, border, ..
    } = input;
    let (cin, cout, hw) = (k.cin, k.cout, h * w);
    assert!(cout <= MAX_COUT, "conv_narrow: {cout} output channels");
    // Taps as [ci][ky][kx][MAX_COUT], zero for missing channels, so the sums are branch-free.
    let mut taps = vec![0.0f32; cin * 9 * MAX_COUT];
    for co in 0..cout {
        for t in 0..cin * 9 {
            taps[t * MAX_COUT + co] = k.w[co * cin * 9 + t];
        }
    }
    let bias: Vec<f32> = (0..MAX_COUT)
        .map(|co| k.bias.get(co).copied().unwrap_or(0.0))
        .collect();
    let bands = h.div_ceil(BAND_ROWS);
    let o = Shared(out.as_mut_ptr());
    (0..n * bands).into_par_iter().for_each(|job| {
        let (img, y0) = (job / bands, (job % bands) * BAND_ROWS);
        let rows = BAND_ROWS.min(h - y0);
        // Padded width: one zero column left, the rest right, a whole number of lane groups.
        let pw = w.div_ceil(LANES) * LANES + 2;
        PLANE.with_borrow_mut(|plane| {
            plane.clear();
            plane.resize(cin * (rows + 2) * pw, 0.0);
            for ci in 0..cin {
                for r in 0..rows + 2 {
                    let Some(sy) = border.row((y0 + r) as isize - 1, h) else {
                        continue;
                    };
                    let line = &mut plane[(ci * (rows + 2) + r) * pw..][..w + 2];
                    input.read_row(isa, img * cin + ci, sy, &mut line[1..=w]);
                    border.pad_columns(line, w);
                }
            }
            let band = Band {
                plane,
                taps: &taps,
                bias: &bias,
                cin,
                cout,
                rows,
                w,
                pw,
                relu,
            };
            // SAFETY: the band writes rows y0..y0 + rows of its image only.
            let dst = unsafe { o.get().add(img * cout * hw + y0 * w) };
            unsafe { sum_band(isa, band, dst, hw) };
        })
    });
}

/// One band's inputs and what to do with its sums.
#[derive(Clone, Copy)]
struct Band<'a> {
    /// The band's input rows with one row of halo each side, `[cin][rows + 2][pw]`, masked
    /// and zero-padded.
    plane: &'a [f32],
    /// Weights as `[cin][ky][kx][MAX_COUT]`.
    taps: &'a [f32],
    /// `MAX_COUT` biases.
    bias: &'a [f32],
    /// Input channels.
    cin: usize,
    /// Output channels.
    cout: usize,
    /// Output rows.
    rows: usize,
    /// Image width.
    w: usize,
    /// Padded width of a plane row.
    pw: usize,
    /// Whether ReLU follows.
    relu: bool,
}

/// The band's sums, 16 pixels × `MAX_COUT` channels at a time; `dst` is the band's first
/// output row of channel 0, channels `hw` apart.
#[inline(always)]
unsafe fn sum_band_body(b: Band, dst: *mut f32, hw: usize) {
    for y in 0..b.rows {
        for x0 in (0..b.w).step_by(LANES) {
            let mut acc = [[0.0f32; LANES]; MAX_COUT];
            for ci in 0..b.cin {
                for ky in 0..3 {
                    let row = &b.plane[(ci * (b.rows + 2) + y + ky) * b.pw + x0..][..LANES + 2];
                    for kx in 0..3 {
                        let t = &b.taps[((ci * 3 + ky) * 3 + kx) * MAX_COUT..][..MAX_COUT];
                        for (co, a) in acc.iter_mut().enumerate() {
                            for l in 0..LANES {
                                a[l] += t[co] * row[kx + l];
                            }
                        }
                    }
                }
            }
            let n = LANES.min(b.w - x0);
            for (co, a) in acc.iter().enumerate().take(b.cout) {
                let out = std::slice::from_raw_parts_mut(dst.add(co * hw + y * b.w + x0), n);
                for (o, &v) in out.iter_mut().zip(a) {
                    let v = v + b.bias[co];
                    *o = if b.relu { v.max(0.0) } else { v };
                }
            }
        }
    }
}

dispatch!(sum_band_generic, sum_band_body, (b: Band, dst: *mut f32, hw: usize));

/// The band's sums with the kernel for `isa`. The compiler's own vectorisation of the generic
/// body varies from build to build here, so AVX-512 has its own hand-written loop.
///
/// # Safety
/// `dst` must be valid for the band's rows of every output channel, `hw` apart; `isa` must be
/// supported by this CPU.
unsafe fn sum_band(isa: Isa, b: Band, dst: *mut f32, hw: usize) {
    #[cfg(target_arch = "x86_64")]
    if isa.has_avx512() {
        return sum_band_avx512(b, dst, hw);
    }
    sum_band_generic(isa, b, dst, hw)
}

/// [`sum_band_body`] with AVX-512 intrinsics: four accumulators of 16 pixels.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn sum_band_avx512(b: Band, dst: *mut f32, hw: usize) {
    use std::arch::x86_64::*;
    for y in 0..b.rows {
        for x0 in (0..b.w).step_by(LANES) {
            let mut acc = [_mm512_setzero_ps(); MAX_COUT];
            for ci in 0..b.cin {
                for ky in 0..3 {
                    let row = b
                        .plane
                        .as_ptr()
                        .add((ci * (b.rows + 2) + y + ky) * b.pw + x0);
                    for kx in 0..3 {
                        let v = _mm512_loadu_ps(row.add(kx));
                        let t = b.taps.as_ptr().add(((ci * 3 + ky) * 3 + kx) * MAX_COUT);
                        for (co, a) in acc.iter_mut().enumerate() {
                            *a = _mm512_fmadd_ps(_mm512_set1_ps(*t.add(co)), v, *a);
                        }
                    }
                }
            }
            let n = LANES.min(b.w - x0);
            let keep: __mmask16 = if n == LANES { 0xffff } else { (1 << n) - 1 };
            for (co, &a) in acc.iter().enumerate().take(b.cout) {
                let mut v = _mm512_add_ps(a, _mm512_set1_ps(b.bias[co]));
                if b.relu {
                    v = _mm512_max_ps(v, _mm512_setzero_ps());
                }
                _mm512_mask_storeu_ps(dst.add(co * hw + y * b.w + x0), keep, v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{conv_reference, masked, Lcg};
    use crate::Mask;

    #[test]
    fn matches_the_reference_with_and_without_a_mask() {
        let mut rng = Lcg(51);
        for &(n, cin, cout, h, w) in &[(1, 64, 3, 19, 37), (2, 5, 1, 1, 1), (1, 7, 4, 6, 2)] {
            let k = rng.conv(cout, cin, 1.0);
            let x = rng.vec(n * cin * h * w, 1.0);
            let m = rng.vec(x.len(), 1.0);
            for isa in Isa::supported() {
                for relu in [false, true] {
                    let want = conv_reference(&masked(&x, &m), n, h, w, &k, relu);
                    let mut got = vec![f32::NAN; want.len()];
                    let input = ConvInput::new(&x, n, h, w).masked(Mask::Positive(&m));
                    convolve(isa, input, &k, relu, &mut got);
                    for (a, b) in got.iter().zip(&want) {
                        assert!(
                            (a - b).abs() <= 1e-5 * (cin * 9) as f32,
                            "{isa:?}: {a} vs {b}"
                        );
                    }
                }
            }
        }
    }
}
