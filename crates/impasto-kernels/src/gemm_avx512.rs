//! AVX-512 matrix product for one convolution band: `out[m, t] = relu?(A[m, k]·B[k, t] + bias)`.
//!
//! The `gemm` crate only uses AVX2 on stable Rust, half the width this CPU has. This kernel
//! keeps an 8 × 48 block of the output in 24 zmm registers across the whole `k` loop, with
//! `A` and `B` packed so that every load is contiguous.

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

/// Rows of `A` per panel.
pub const MR: usize = 8;
/// Columns of `B` per panel (three zmm registers).
pub const NR: usize = 48;
/// Depth of one pass over `k`: an `A` block (`KC × MR`) stays in L1, a `B` block in L2.
const KC: usize = 256;

/// True when this CPU can run the kernel.
pub fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Packs row-major `a[m, k]` into panels `[m / MR][k][MR]`, zero-padding the last panel.
pub fn pack_a(a: &[f32], m: usize, k: usize) -> Vec<f32> {
    let panels = m.div_ceil(MR);
    let mut out = vec![0.0; panels * k * MR];
    for (i, row) in a.chunks_exact(k).enumerate().take(m) {
        let (p, r) = (i / MR, i % MR);
        for (kk, &v) in row.iter().enumerate() {
            out[(p * k + kk) * MR + r] = v;
        }
    }
    out
}

/// Packs `b[k, t]` (row `kk` at `b[kk * ldb..]`) into panels `[t / NR][k][NR]`, zero-padding
/// the last panel.
pub fn pack_b(b: &[f32], k: usize, t: usize, ldb: usize, out: &mut Vec<f32>) {
    let panels = t.div_ceil(NR);
    out.clear();
    out.resize(panels * k * NR, 0.0);
    for kk in 0..k {
        for (p, chunk) in b[kk * ldb..][..t].chunks(NR).enumerate() {
            out[(p * k + kk) * NR..][..chunk.len()].copy_from_slice(chunk);
        }
    }
}

/// `dst[i * ldc + j] = relu?(Σ_p A[i, p]·B[p, j] + bias[i])` for `i < m`, `j < t`.
///
/// # Safety
/// [`available`] must be true; `a` and `b` come from [`pack_a`] / [`pack_b`] with these sizes;
/// `dst` must be valid for writes at `i * ldc + j` for every `i < m`, `j < t`.
#[cfg(target_arch = "x86_64")]
#[allow(clippy::too_many_arguments)]
pub unsafe fn gemm_band(
    m: usize,
    k: usize,
    t: usize,
    a: &[f32],
    b: &[f32],
    bias: &[f32],
    relu: bool,
    dst: *mut f32,
    ldc: usize,
) {
    let mut biases = vec![0.0f32; m.div_ceil(MR) * MR];
    biases[..m.min(bias.len())].copy_from_slice(&bias[..m.min(bias.len())]);
    let mut k0 = 0;
    while k0 < k {
        let kc = KC.min(k - k0);
        let pass = Pass {
            first: k0 == 0,
            last: k0 + kc == k,
            relu,
        };
        for pi in 0..m.div_ceil(MR) {
            let rows = (m - pi * MR).min(MR);
            let ap = a.as_ptr().add((pi * k + k0) * MR);
            let bias: &[f32; MR] = biases[pi * MR..][..MR].try_into().expect("MR biases");
            for pj in 0..t.div_ceil(NR) {
                let cols = (t - pj * NR).min(NR);
                let bp = b.as_ptr().add((pj * k + k0) * NR);
                kernel(
                    kc,
                    ap,
                    bp,
                    dst.add(pi * MR * ldc + pj * NR),
                    ldc,
                    rows,
                    cols,
                    bias,
                    pass,
                );
            }
        }
        k0 += kc;
    }
}

/// Where one pass over a block of `k` stands.
#[derive(Clone, Copy)]
struct Pass {
    /// The first block: start from zero instead of the partial sums in `dst`.
    first: bool,
    /// The last block: add the bias, apply ReLU.
    last: bool,
    /// Whether to apply ReLU on the last block.
    relu: bool,
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)]
unsafe fn kernel(
    k: usize,
    a: *const f32,
    b: *const f32,
    dst: *mut f32,
    ldc: usize,
    rows: usize,
    cols: usize,
    bias: &[f32; MR],
    pass: Pass,
) {
    let mask = |j: usize| -> __mmask16 {
        let n = cols.saturating_sub(j * 16).min(16);
        if n == 16 {
            0xffff
        } else {
            (1u16 << n) - 1
        }
    };
    let mut c = [[_mm512_setzero_ps(); 3]; MR];
    if !pass.first {
        for (i, ci) in c.iter_mut().enumerate().take(rows) {
            for (j, cij) in ci.iter_mut().enumerate() {
                *cij = _mm512_maskz_loadu_ps(mask(j), dst.add(i * ldc + j * 16));
            }
        }
    }
    for p in 0..k {
        let bp = b.add(p * NR);
        let b0 = _mm512_loadu_ps(bp);
        let b1 = _mm512_loadu_ps(bp.add(16));
        let b2 = _mm512_loadu_ps(bp.add(32));
        let ap = a.add(p * MR);
        for (i, ci) in c.iter_mut().enumerate() {
            let av = _mm512_set1_ps(*ap.add(i));
            ci[0] = _mm512_fmadd_ps(av, b0, ci[0]);
            ci[1] = _mm512_fmadd_ps(av, b1, ci[1]);
            ci[2] = _mm512_fmadd_ps(av, b2, ci[2]);
        }
    }
    let zero = _mm512_setzero_ps();
    for (i, ci) in c.iter().enumerate().take(rows) {
        let bv = _mm512_set1_ps(bias[i]);
        for (j, &acc) in ci.iter().enumerate() {
            let mut v = acc;
            if pass.last {
                v = _mm512_add_ps(v, bv);
                if pass.relu {
                    v = _mm512_max_ps(v, zero);
                }
            }
            _mm512_mask_storeu_ps(dst.add(i * ldc + j * 16), mask(j), v);
        }
    }
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use super::*;
    use crate::testutil::Lcg;

    #[test]
    fn matches_a_plain_product_on_ragged_sizes() {
        if !available() {
            eprintln!("no AVX-512 here: kernel not exercised");
            return;
        }
        let mut rng = Lcg(21);
        for &(m, k, t) in &[
            (3, 27, 5),
            (8, 1, 48),
            (13, 70, 100),
            (64, 576, 97),
            (9, 1100, 50),
        ] {
            let a = rng.vec(m * k, 1.0);
            let b = rng.vec(k * t, 1.0);
            let bias = rng.vec(m, 1.0);
            let (pa, mut pb) = (pack_a(&a, m, k), Vec::new());
            pack_b(&b, k, t, t, &mut pb);
            let ldc = t + 3;
            let mut out = vec![f32::NAN; m * ldc];
            for relu in [false, true] {
                unsafe { gemm_band(m, k, t, &pa, &pb, &bias, relu, out.as_mut_ptr(), ldc) };
                for i in 0..m {
                    for j in 0..t {
                        let mut want = bias[i] as f64;
                        for p in 0..k {
                            want += (a[i * k + p] * b[p * t + j]) as f64;
                        }
                        let want = if relu { want.max(0.0) } else { want } as f32;
                        let got = out[i * ldc + j];
                        assert!(
                            (got - want).abs() <= 1e-5 * k as f32,
                            "({i},{j}): {got} vs {want}"
                        );
                    }
                    // Padding columns of dst are never touched.
                    assert!(out[i * ldc + t].is_nan());
                }
            }
        }
    }
}
