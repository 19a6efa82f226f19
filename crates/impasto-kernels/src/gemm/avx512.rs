//! The f32 band product on AVX-512F: packing of `A` and `B`, and the block kernel (one FMA a
//! row and register for each `k`).

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

#[cfg(target_arch = "x86_64")]
use super::{Acc, Tile};
use super::{Kernel, MR, NR};

/// The f32 kernel: `A` and `B` hold f32 values, one `k` row a depth step.
pub(crate) struct F32;

impl Kernel for F32 {
    type Elem = f32;

    fn steps(k: usize) -> usize {
        k
    }

    #[cfg(target_arch = "x86_64")]
    unsafe fn block(steps: usize, a: *const f32, b: *const f32, tile: &Tile) {
        block(steps, a, b, tile)
    }
}

/// Packs row-major `a[m, k]` into panels `[m / MR][k][MR]`, zero-padding the last panel.
pub(crate) fn pack_a(a: &[f32], m: usize, k: usize) -> Vec<f32> {
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
pub(crate) fn pack_b(b: &[f32], k: usize, t: usize, ldb: usize, out: &mut Vec<f32>) {
    let panels = t.div_ceil(NR);
    out.clear();
    out.resize(panels * k * NR, 0.0);
    for kk in 0..k {
        for (p, chunk) in b[kk * ldb..][..t].chunks(NR).enumerate() {
            out[(p * k + kk) * NR..][..chunk.len()].copy_from_slice(chunk);
        }
    }
}

/// The 8 × 48 block over `k` steps: per step, three loads of `B` and, per row of `A`, one
/// broadcast and three FMAs.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn block(k: usize, a: *const f32, b: *const f32, tile: &Tile) {
    let mut c: Acc = tile.start();
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
    tile.finish(&c);
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use super::*;
    use crate::Isa;

    /// f32 unit roundoff.
    const U: f64 = 1.0 / (1u64 << 24) as f64;

    #[test]
    fn matches_a_plain_product_on_ragged_sizes() {
        if !Isa::get().has_avx512() {
            eprintln!("no AVX-512 here: kernel not exercised");
            return;
        }
        let pack_b = |b: &[f32], k, t| {
            let mut out = Vec::new();
            pack_b(b, k, t, t, &mut out);
            out
        };
        // k FMAs and the bias: at most k + 1 roundings of partial sums.
        super::super::check_band::<F32>(
            pack_a,
            pack_b,
            |x, y| x as f64 * y as f64,
            |k, size| (k + 2) as f64 * U * size,
        );
    }
}
