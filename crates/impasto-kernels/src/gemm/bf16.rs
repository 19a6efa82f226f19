//! The bf16 band product on AVX512_BF16 (`vdpbf16ps`): bf16 inputs, f32 accumulation.
//!
//! Each `vdpbf16ps` consumes two `k` steps, so `A` and `B` are packed in pairs of consecutive
//! `k` rows: one `u32` holds `bf16(x[2q])` in its low half and `bf16(x[2q + 1])` in its high
//! half (zero past an odd `k`). A depth step of the band driver is one pair row.
//!
//! Layouts (`kp = k.div_ceil(2)` pair rows):
//! - `A`: panels `[m.div_ceil(MR)][kp][MR]` of `u32`, built by [`pack_a`].
//! - `B`: panels `[t.div_ceil(NR)][kp][NR]` of `u32`, built by [`pack_b`] or written directly
//!   at [`super::panel_index`] with [`pack_pair`] (or [`to_bf16`] for each half).
//!
//! A producer writing `B` itself must zero the high halves of the last pair row when `k` is odd
//! (`0 × inf` would poison real columns); columns `≥ t` of the last panel may hold anything,
//! since they only reach accumulator lanes that are never stored.

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

#[cfg(target_arch = "x86_64")]
use super::{Acc, Tile};
use super::{Kernel, MR, NR};

/// The bf16 kernel: `A` and `B` hold [`pack_pair`] entries, one pair of `k` rows a depth step
/// (denormals read as and rounded to zero).
pub(crate) struct Bf16;

impl Kernel for Bf16 {
    type Elem = u32;

    fn steps(k: usize) -> usize {
        k.div_ceil(2)
    }

    #[cfg(target_arch = "x86_64")]
    unsafe fn block(steps: usize, a: *const u32, b: *const u32, tile: &Tile) {
        block(steps, a, b, tile)
    }
}

/// Rounds `x` to bf16 (round to nearest, ties to even; NaN stays a quiet NaN of the same sign).
pub(crate) fn to_bf16(x: f32) -> u16 {
    let bits = x.to_bits();
    // Branch-free so that packing loops vectorise; the sum only wraps for NaN, not selected.
    let rounded = bits.wrapping_add(0x7fff + ((bits >> 16) & 1)) >> 16;
    let nan = (bits >> 16) | 0x0040;
    (if x.is_nan() { nan } else { rounded }) as u16
}

/// One packed entry: `bf16(even)` (row `2q`) in the low half, `bf16(odd)` (row `2q + 1`) in the
/// high half. Pass `0.0` as `odd` for the padding after an odd `k`.
pub(crate) fn pack_pair(even: f32, odd: f32) -> u32 {
    to_bf16(even) as u32 | (to_bf16(odd) as u32) << 16
}

/// Packs row-major `a[m, k]` into panels `[m.div_ceil(MR)][k.div_ceil(2)][MR]` of
/// [`pack_pair`] entries, zero-padding the odd last `k` and the last panel.
pub(crate) fn pack_a(a: &[f32], m: usize, k: usize) -> Vec<u32> {
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

/// Packs row-major `b[k, t]` into panels `[t.div_ceil(NR)][k.div_ceil(2)][NR]` of
/// [`pack_pair`] entries, zero-padding the odd last `k` and the last panel.
pub(crate) fn pack_b(b: &[f32], k: usize, t: usize, out: &mut Vec<u32>) {
    let kp = k.div_ceil(2);
    out.clear();
    out.resize(t.div_ceil(NR) * kp * NR, 0);
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

/// The 8 × 48 block over `kp` pair rows: per pair row, three loads of `B` and, per row of `A`,
/// one broadcast pair and three `vdpbf16ps`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bf16")]
unsafe fn block(kp: usize, a: *const u32, b: *const u32, tile: &Tile) {
    // SAFETY (both): a 512-bit integer vector reinterpreted as 32 bf16 lanes.
    let load = |p: *const u32| -> __m512bh {
        std::mem::transmute::<__m512i, __m512bh>(_mm512_loadu_si512(p.cast()))
    };
    let splat = |x: u32| -> __m512bh {
        std::mem::transmute::<__m512i, __m512bh>(_mm512_set1_epi32(x as i32))
    };
    let mut c: Acc = tile.start();
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
    tile.finish(&c);
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use super::super::{avx512, band, check_band, panel_index, Dest, Operands};
    use super::*;
    use crate::testutil::Lcg;
    use crate::Isa;

    /// f32 unit roundoff.
    const U32: f64 = 1.0 / (1u64 << 24) as f64;

    /// The f32 value of bf16 bits `h` (exact).
    fn bf16_to_f32(h: u16) -> f32 {
        f32::from_bits((h as u32) << 16)
    }

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
    fn panel_index_matches_pack_b() {
        let (k, t) = (5, 100);
        let b: Vec<f32> = (0..k * t).map(|i| i as f32).collect();
        let mut pb = Vec::new();
        pack_b(&b, k, t, &mut pb);
        let mut direct = vec![0; pb.len()];
        for k2 in 0..k.div_ceil(2) {
            for col in 0..t {
                let odd = if 2 * k2 + 1 < k {
                    b[(2 * k2 + 1) * t + col]
                } else {
                    0.0
                };
                direct[panel_index(k2, k.div_ceil(2), col)] = pack_pair(b[2 * k2 * t + col], odd);
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
    ///   to the bound above (whose `Σ|â·b̂|` is at most `1 + 2^-7 + 2^-16` times `Σ|ab|`).
    #[test]
    fn matches_a_plain_product_on_ragged_sizes() {
        if !Isa::get().has_bf16() {
            eprintln!("no AVX512_BF16 here: kernel not exercised");
            return;
        }
        let pack_b = |b: &[f32], k, t| {
            let mut out = Vec::new();
            pack_b(b, k, t, &mut out);
            out
        };
        let acc = |k: usize, size: f64| (k + 2) as f64 * U32 * size;
        let rounded = |x: f32, y: f32| round(x) as f64 * round(y) as f64;
        check_band::<Bf16>(pack_a, pack_b, rounded, acc);
        let widen = 1.0 + 2.0f64.powi(-7) + 2.0f64.powi(-16);
        check_band::<Bf16>(
            pack_a,
            pack_b,
            |x, y| x as f64 * y as f64,
            |k, size| (widen - 1.0) * size + acc(k, widen * size),
        );
    }

    /// By hand: `cargo test --release -p impasto-kernels gemm::bf16::tests::throughput --
    /// --ignored --nocapture`. Single-threaded GFLOP/s of both band kernels on a VGG-sized band.
    #[test]
    #[ignore]
    fn throughput() {
        use std::time::Instant;
        if !Isa::get().has_bf16() {
            eprintln!("no AVX512_BF16 here");
            return;
        }
        let (m, k, t) = (128, 1152, 1024);
        let mut rng = Lcg(7);
        let (a, b, bias) = (rng.vec(m * k, 1.0), rng.vec(k * t, 1.0), rng.vec(m, 1.0));
        let mut out = vec![0.0f32; m * t];
        let dst = Dest::with(out.as_mut_ptr(), t, &bias, true);
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
        let ops = Operands::new(m, k, t, &pa, &pb);
        let bf = best(&mut || unsafe { band::<Bf16>(ops, dst) });
        let (fa, mut fb) = (avx512::pack_a(&a, m, k), Vec::new());
        avx512::pack_b(&b, k, t, t, &mut fb);
        let ops = Operands::new(m, k, t, &fa, &fb);
        let f = best(&mut || unsafe { band::<avx512::F32>(ops, dst) });
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
