//! bf16 matrix product for one convolution band: `out[m, t] = relu?(A[m, k]·B[k, t] + bias)`
//! with bf16 inputs and f32 accumulation, on AVX512_BF16 (`vdpbf16ps`).
//!
//! The sibling of [`super::gemm_avx512`]: the same 8 × 48 block of the output in 24 zmm
//! registers, but each `vdpbf16ps` consumes two `k` steps, so `A` and `B` are packed in pairs
//! of consecutive `k` rows: one `u32` holds `bf16(x[2q])` in its low half and `bf16(x[2q + 1])`
//! in its high half (zero past an odd `k`).
//!
//! Layouts (`kp = k.div_ceil(2)` pair rows):
//! - `A`: panels `[m.div_ceil(MR)][kp][MR]` of `u32`, built by [`pack_a`].
//! - `B`: panels `[t.div_ceil(NR)][kp][NR]` of `u32`, built by [`pack_b`] or written directly
//!   with [`b_index`] and [`pack_pair`] into a buffer of [`packed_b_len`] entries.
//!
//! A producer writing `B` itself must zero the high halves of the last pair row when `k` is odd
//! (`0 × inf` would poison real columns); columns `≥ t` of the last panel may hold anything,
//! since they only reach accumulator lanes that are never stored.

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

/// Rows of `A` per panel.
pub const MR: usize = 8;
/// Columns of `B` per panel (three zmm registers).
pub const NR: usize = 48;
/// Pair rows in one pass over `k`: an `A` block (`KC × MR` u32) stays in L1, a `B` panel in L2.
#[cfg(target_arch = "x86_64")]
const KC: usize = 256;

/// True when this CPU can run the kernel (AVX-512F and AVX512_BF16).
pub fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bf16")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Rounds `x` to bf16 (round to nearest, ties to even; NaN stays a quiet NaN of the same sign).
pub fn to_bf16(x: f32) -> u16 {
    let bits = x.to_bits();
    // Branch-free so that packing loops vectorise; the sum only wraps for NaN, not selected.
    let rounded = bits.wrapping_add(0x7fff + ((bits >> 16) & 1)) >> 16;
    let nan = (bits >> 16) | 0x0040;
    (if x.is_nan() { nan } else { rounded }) as u16
}

/// The f32 value of bf16 bits `h` (exact).
pub fn bf16_to_f32(h: u16) -> f32 {
    f32::from_bits((h as u32) << 16)
}

/// One packed entry: `bf16(even)` (row `2q`) in the low half, `bf16(odd)` (row `2q + 1`) in the
/// high half. Pass `0.0` as `odd` for the padding after an odd `k`.
pub fn pack_pair(even: f32, odd: f32) -> u32 {
    to_bf16(even) as u32 | (to_bf16(odd) as u32) << 16
}

/// Packs row-major `a[m, k]` into panels `[m.div_ceil(MR)][k.div_ceil(2)][MR]` of
/// [`pack_pair`] entries, zero-padding the odd last `k` and the last panel.
pub fn pack_a(a: &[f32], m: usize, k: usize) -> Vec<u32> {
    let kp = k.div_ceil(2);
    let mut out = vec![0; m.div_ceil(MR) * kp * MR];
    for (i, row) in a.chunks_exact(k).enumerate().take(m) {
        let (p, r) = (i / MR, i % MR);
        for (q, pair) in row.chunks(2).enumerate() {
            out[(p * kp + q) * MR + r] = pack_pair(pair[0], pair.get(1).copied().unwrap_or(0.0));
        }
    }
    out
}

/// Length in `u32` of packed `B` for `b[k, t]`: `t.div_ceil(NR) * k.div_ceil(2) * NR`.
pub fn packed_b_len(k: usize, t: usize) -> usize {
    t.div_ceil(NR) * k.div_ceil(2) * NR
}

/// Index in packed `B` (with `kpairs = k.div_ceil(2)`) of pair row `k2` (rows `2·k2`,
/// `2·k2 + 1`), column `col`: `((col / NR) * kpairs + k2) * NR + col % NR`.
pub fn b_index(k2: usize, kpairs: usize, col: usize) -> usize {
    ((col / NR) * kpairs + k2) * NR + col % NR
}

/// Packs row-major `b[k, t]` into panels `[t.div_ceil(NR)][k.div_ceil(2)][NR]` of
/// [`pack_pair`] entries, zero-padding the odd last `k` and the last panel.
pub fn pack_b(b: &[f32], k: usize, t: usize, out: &mut Vec<u32>) {
    let kp = k.div_ceil(2);
    out.clear();
    out.resize(packed_b_len(k, t), 0);
    let zeros = vec![0.0; t];
    for q in 0..kp {
        let even = &b[2 * q * t..][..t];
        let odd = if 2 * q + 1 < k {
            &b[(2 * q + 1) * t..][..t]
        } else {
            &zeros[..]
        };
        for (p, (e, o)) in even.chunks(NR).zip(odd.chunks(NR)).enumerate() {
            let dst = &mut out[(p * kp + q) * NR..][..e.len()];
            for ((d, &x), &y) in dst.iter_mut().zip(e).zip(o) {
                *d = pack_pair(x, y);
            }
        }
    }
}

/// `dst[i * ldc + j] = relu?(Σ_p A[i, p]·B[p, j] + bias[i])` for `i < m`, `j < t`, with bf16
/// inputs and f32 accumulation (`vdpbf16ps`: denormals read as and rounded to zero).
/// `bias` may be shorter than `m` (missing entries are zero); columns `≥ t` are never touched.
///
/// # Safety
/// [`available`] must be true; `a` and `b` are laid out as [`pack_a`] / [`pack_b`] lay them out
/// for these sizes; `dst` must be valid for writes at `i * ldc + j` for every `i < m`, `j < t`.
#[cfg(target_arch = "x86_64")]
#[allow(clippy::too_many_arguments)]
pub unsafe fn gemm_band(
    m: usize,
    k: usize,
    t: usize,
    a: &[u32],
    b: &[u32],
    bias: &[f32],
    relu: bool,
    dst: *mut f32,
    ldc: usize,
) {
    let kp = k.div_ceil(2);
    debug_assert!(
        a.len() >= m.div_ceil(MR) * kp * MR,
        "gemm_bf16: packed A size"
    );
    debug_assert!(b.len() >= packed_b_len(k, t), "gemm_bf16: packed B size");
    let mut biases = vec![0.0f32; m.div_ceil(MR) * MR];
    biases[..m.min(bias.len())].copy_from_slice(&bias[..m.min(bias.len())]);
    let mut k0 = 0;
    while k0 < kp {
        let kc = KC.min(kp - k0);
        let pass = Pass {
            first: k0 == 0,
            last: k0 + kc == kp,
            relu,
        };
        for pi in 0..m.div_ceil(MR) {
            let rows = (m - pi * MR).min(MR);
            let ap = a.as_ptr().add((pi * kp + k0) * MR);
            let bias: &[f32; MR] = biases[pi * MR..][..MR].try_into().expect("MR biases");
            for pj in 0..t.div_ceil(NR) {
                let cols = (t - pj * NR).min(NR);
                let bp = b.as_ptr().add((pj * kp + k0) * NR);
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
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
struct Pass {
    /// The first block: start from zero instead of the partial sums in `dst`.
    first: bool,
    /// The last block: add the bias, apply ReLU.
    last: bool,
    /// Whether to apply ReLU on the last block.
    relu: bool,
}

/// The 8 × 48 block over `kp` pair rows: per pair row, three loads of `B` and, per row of `A`,
/// one broadcast pair and three `vdpbf16ps`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bf16")]
#[allow(clippy::too_many_arguments)]
unsafe fn kernel(
    kp: usize,
    a: *const u32,
    b: *const u32,
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
    // SAFETY (both): a 512-bit integer vector reinterpreted as 32 bf16 lanes.
    let load = |p: *const u32| -> __m512bh {
        std::mem::transmute::<__m512i, __m512bh>(_mm512_loadu_si512(p.cast()))
    };
    let splat = |x: u32| -> __m512bh {
        std::mem::transmute::<__m512i, __m512bh>(_mm512_set1_epi32(x as i32))
    };
    let mut c = [[_mm512_setzero_ps(); 3]; MR];
    if !pass.first {
        for (i, ci) in c.iter_mut().enumerate().take(rows) {
            for (j, cij) in ci.iter_mut().enumerate() {
                *cij = _mm512_maskz_loadu_ps(mask(j), dst.add(i * ldc + j * 16));
            }
        }
    }
    for q in 0..kp {
        let bp = b.add(q * NR);
        let b0 = load(bp);
        let b1 = load(bp.add(16));
        let b2 = load(bp.add(32));
        let ap = a.add(q * MR);
        for (i, ci) in c.iter_mut().enumerate() {
            let av = splat(*ap.add(i));
            ci[0] = _mm512_dpbf16_ps(ci[0], av, b0);
            ci[1] = _mm512_dpbf16_ps(ci[1], av, b1);
            ci[2] = _mm512_dpbf16_ps(ci[2], av, b2);
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

    /// f32 unit roundoff.
    const U32: f64 = 1.0 / (1u64 << 24) as f64;

    fn round(x: f32) -> f32 {
        bf16_to_f32(to_bf16(x))
    }

    #[test]
    fn to_bf16_rounds_to_nearest_even() {
        let h = |x: f32| to_bf16(x);
        let e = |n: i32| 2f32.powi(n);
        assert_eq!(h(1.0), 0x3f80);
        // bf16 has 7 stored mantissa bits: its ulp at 1.0 is 2^-7, a tie is 2^-8.
        assert_eq!(h(1.0 + e(-8)), 0x3f80, "tie, down to even 1.0");
        assert_eq!(h(1.0 + e(-8) + e(-20)), 0x3f81, "just above the tie");
        assert_eq!(h(1.0 + 3.0 * e(-8)), 0x3f82, "tie, up to even 1 + 2^-6");
        assert_eq!(bf16_to_f32(0x3f82), 1.0 + e(-6));
        assert_eq!(h(-(1.0 + 3.0 * e(-8))), 0xbf82);
        assert_eq!(h(1.0 + e(-8) - e(-20)), 0x3f80, "just below the tie");
        assert_eq!(h(0.0), 0x0000);
        assert_eq!(h(-0.0), 0x8000);
        assert_eq!(h(f32::INFINITY), 0x7f80);
        assert_eq!(h(f32::NEG_INFINITY), 0xff80);
        // Largest finite bf16 is (2 - 2^-7)·2^127; f32::MAX lies past its half-ulp, so rounds up.
        let bf16_max = (2.0 - e(-7)) * e(127);
        assert_eq!(h(bf16_max), 0x7f7f);
        assert_eq!(bf16_to_f32(0x7f7f), bf16_max);
        assert_eq!(h(f32::MAX), 0x7f80);
        assert_eq!(h(-f32::MAX), 0xff80);
        // NaN stays NaN, even with its payload only in the bits that are dropped.
        for nan in [
            f32::NAN,
            -f32::NAN,
            f32::from_bits(0x7f80_0001),
            f32::from_bits(0xff80_0001),
        ] {
            let r = h(nan);
            assert!(bf16_to_f32(r).is_nan(), "{:#x} → {r:#x}", nan.to_bits());
            assert_eq!(r >> 15, (nan.to_bits() >> 31) as u16, "sign kept");
        }
        assert_eq!(pack_pair(1.0, -2.0), 0xc000_3f80);
    }

    #[test]
    fn b_index_matches_pack_b() {
        let (k, t) = (5, 100);
        let b: Vec<f32> = (0..k * t).map(|i| i as f32).collect();
        let mut pb = Vec::new();
        pack_b(&b, k, t, &mut pb);
        assert_eq!(pb.len(), packed_b_len(k, t));
        let mut direct = vec![0; packed_b_len(k, t)];
        for k2 in 0..k.div_ceil(2) {
            for col in 0..t {
                let odd = if 2 * k2 + 1 < k {
                    b[(2 * k2 + 1) * t + col]
                } else {
                    0.0
                };
                direct[b_index(k2, k.div_ceil(2), col)] = pack_pair(b[2 * k2 * t + col], odd);
            }
        }
        assert_eq!(pb, direct);
    }

    /// Checks against two references, both in f64:
    /// - the product of the bf16-rounded inputs: only f32 accumulation error, bounded by the
    ///   worst case for `k + 1` f32 additions of exact products (bf16 × bf16 is exact in f32):
    ///   `(k + 2)·2^-24·(Σ|â·b̂| + |bias|)`;
    /// - the exact product of the f32 inputs: what users get, adding bf16's rounding of both
    ///   factors (8 significant bits, unit roundoff 2^-8), `|âb̂ - ab| ≤ (2^-7 + 2^-16)|ab|`,
    ///   to the bound above.
    #[test]
    fn matches_a_plain_product_on_ragged_sizes() {
        if !available() {
            eprintln!("no AVX512_BF16 here: kernel not exercised");
            return;
        }
        let mut rng = Lcg(21);
        for &(m, k, t) in &[
            (3, 27, 5),
            (8, 1, 48),
            (13, 70, 100),
            (64, 576, 97),
            (9, 1101, 50),
        ] {
            let a = rng.vec(m * k, 1.0);
            let b = rng.vec(k * t, 1.0);
            let bias = rng.vec(m, 1.0);
            let (pa, mut pb) = (pack_a(&a, m, k), Vec::new());
            pack_b(&b, k, t, &mut pb);
            let ldc = t + 3;
            let mut out = vec![f32::NAN; m * ldc];
            for relu in [false, true] {
                unsafe { gemm_band(m, k, t, &pa, &pb, &bias, relu, out.as_mut_ptr(), ldc) };
                let act = |x: f64| if relu { x.max(0.0) } else { x };
                for i in 0..m {
                    for j in 0..t {
                        let (mut rounded, mut rounded_abs) = (bias[i] as f64, bias[i].abs() as f64);
                        let (mut exact, mut exact_abs) = (bias[i] as f64, 0.0);
                        for p in 0..k {
                            let (x, y) = (a[i * k + p], b[p * t + j]);
                            let r = round(x) as f64 * round(y) as f64;
                            rounded += r;
                            rounded_abs += r.abs();
                            let e = x as f64 * y as f64;
                            exact += e;
                            exact_abs += e.abs();
                        }
                        let got = out[i * ldc + j] as f64;
                        let acc_bound = (k + 2) as f64 * U32 * rounded_abs;
                        let err = (got - act(rounded)).abs();
                        assert!(
                            err <= acc_bound,
                            "({m},{k},{t}) ({i},{j}): {got} vs {} (bf16 inputs): {err:e} > {acc_bound:e}",
                            act(rounded)
                        );
                        let bf16_bound = (2.0f64.powi(-7) + 2.0f64.powi(-16)) * exact_abs;
                        let err = (got - act(exact)).abs();
                        assert!(
                            err <= bf16_bound + acc_bound,
                            "({m},{k},{t}) ({i},{j}): {got} vs {} (f32 inputs): {err:e} > {:e}",
                            act(exact),
                            bf16_bound + acc_bound
                        );
                    }
                    // Padding columns of dst are never touched.
                    assert!(out[i * ldc + t].is_nan());
                }
            }
        }
    }

    /// By hand: `cargo test --release -p impasto gemm_bf16::tests::throughput -- --ignored
    /// --nocapture`. Single-threaded GFLOP/s of both band kernels on a VGG-sized band.
    #[test]
    #[ignore]
    fn throughput() {
        use super::super::gemm_avx512 as f32k;
        use std::time::Instant;
        if !available() || !f32k::available() {
            eprintln!("no AVX512_BF16 here");
            return;
        }
        let (m, k, t) = (128, 1152, 1024);
        let mut rng = Lcg(7);
        let (a, b, bias) = (rng.vec(m * k, 1.0), rng.vec(k * t, 1.0), rng.vec(m, 1.0));
        let mut out = vec![0.0f32; m * t];
        let flop = 2.0 * (m * k * t) as f64;
        let best = |run: &mut dyn FnMut()| {
            run();
            (0..20)
                .map(|_| {
                    let start = Instant::now();
                    run();
                    start.elapsed().as_secs_f64()
                })
                .fold(f64::INFINITY, f64::min)
        };
        let (pa, mut pb) = (pack_a(&a, m, k), Vec::new());
        let pack = best(&mut || pack_b(&b, k, t, &mut pb));
        let bf =
            best(&mut || unsafe { gemm_band(m, k, t, &pa, &pb, &bias, true, out.as_mut_ptr(), t) });
        let (fa, mut fb) = (f32k::pack_a(&a, m, k), Vec::new());
        f32k::pack_b(&b, k, t, t, &mut fb);
        let f = best(&mut || unsafe {
            f32k::gemm_band(m, k, t, &fa, &fb, &bias, true, out.as_mut_ptr(), t)
        });
        eprintln!(
            "m={m} k={k} t={t}: bf16 {:.1} GFLOP/s ({:.3} ms, pack_b {:.3} ms), f32 {:.1} GFLOP/s ({:.3} ms)",
            flop / bf / 1e9,
            bf * 1e3,
            pack * 1e3,
            flop / f / 1e9,
            f * 1e3
        );
    }
}
