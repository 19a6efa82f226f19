//! CPU kernels for Gram matrices `G = scale·F·Fᵀ` of features `F` (`c` rows of `hw` values)
//! and for the gradient through them.
//!
//! The forward product is a set of dot products between rows: only blocks of rows on or above
//! the diagonal are multiplied, then mirrored. Columns go in chunks whose rows stay in L2 (and
//! one block's in L1); the threads split the chunks, each summing its own partial matrix. The
//! backward product `scale·(dG + dGᵀ)·F` runs in column bands with the AVX-512 product kernel
//! where the instruction set has it, else with the `gemm` crate.

use std::cell::RefCell;
use std::ops::Range;

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

use rayon::prelude::*;

use crate::gemm::{self, avx512, gemm_rows, Rows};
use crate::{Isa, Shared};

/// Rows per block: a kernel call gives the `R × R` dot products of two blocks.
const R: usize = 4;
/// Values per vector of a packed block (one zmm register).
const V: usize = 16;
/// Values of `F` per chunk or band (1 MiB), so that it stays in L2.
const PANEL: usize = 1 << 18;
/// Longest chunk: one block (16 KiB) stays in L1 while the other blocks stream past.
const MAX_CHUNK: usize = 1024;

/// `V` values of a row, aligned to a cache line.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Lanes([f32; V]);

/// The `R × R` dot products of two packed blocks of rows (`[len / V][R]` vectors each).
type Block = unsafe fn(&[Lanes], &[Lanes]) -> [[f32; R]; R];

/// Columns per chunk of a Gram product over `c` rows: a multiple of `V`, at most [`MAX_CHUNK`].
fn chunk_len(c: usize) -> usize {
    (PANEL / c.max(1)).clamp(V, MAX_CHUNK) / V * V
}

/// `out[i * c + j] = scale · Σ_p f[i * hw + p] · f[j * hw + p]` for `c` rows of `hw` values.
/// Each sum is blocked (lanes, chunks, threads): its error is at most `n·2⁻²⁴·scale·Σ_p |f_ip·f_jp|`
/// with `n = chunk_len(c) / 8 + 2·⌈hw / chunk_len(c)⌉ + 10` (650 for `c = 64`, `hw = 512²`).
pub fn gram(f: &[f32], c: usize, hw: usize, scale: f32, out: &mut [f32]) {
    assert_eq!(f.len(), c * hw, "gram: feature size");
    assert_eq!(out.len(), c * c, "gram: output size");
    let block = block_kernel(Isa::get());
    let len = chunk_len(c);
    let chunks = hw.div_ceil(len);
    let parts = rayon::current_num_threads().clamp(1, chunks.max(1));
    let partials: Vec<Vec<f32>> = (0..parts)
        .into_par_iter()
        .map(|part| {
            let (mut acc, mut packed) = (vec![0.0; c * c], Vec::new());
            for chunk in part * chunks / parts..(part + 1) * chunks / parts {
                let cols = chunk * len..((chunk + 1) * len).min(hw);
                pack_chunk(f, c, hw, cols, &mut packed);
                add_chunk(&packed, c, block, &mut acc);
            }
            acc
        })
        .collect();
    for i in 0..c {
        for j in i..c {
            let v = scale * partials.iter().map(|p| p[i * c + j]).sum::<f32>();
            out[i * c + j] = v;
            out[j * c + i] = v;
        }
    }
}

/// Packs columns `cols` of `f` (`c` rows of `hw`) as blocks of `R` rows, each `[len / V][R]`
/// vectors with its rows interleaved, so that a kernel reads one stream per block. Rows past
/// `c` and columns past the chunk are zero.
fn pack_chunk(f: &[f32], c: usize, hw: usize, cols: Range<usize>, out: &mut Vec<Lanes>) {
    let vectors = cols.len().div_ceil(V);
    out.resize(c.div_ceil(R) * vectors * R, Lanes([0.0; V]));
    for (b, block) in out.chunks_exact_mut(vectors * R).enumerate() {
        for r in 0..R {
            let row = match b * R + r {
                i if i < c => &f[i * hw..][cols.clone()],
                _ => &[],
            };
            for (v, dst) in block.iter_mut().skip(r).step_by(R).enumerate() {
                let src = row.get(v * V..).unwrap_or(&[]);
                let n = src.len().min(V);
                dst.0[..n].copy_from_slice(&src[..n]);
                dst.0[n..].fill(0.0);
            }
        }
    }
}

/// Adds the dot products of every pair of packed blocks `(I, J ≥ I)` to `acc` (entries with
/// `j ≥ i` are right; some below the diagonal get sums too).
fn add_chunk(packed: &[Lanes], c: usize, block: Block, acc: &mut [f32]) {
    let blocks = c.div_ceil(R);
    let size = packed.len() / blocks.max(1);
    for bi in 0..blocks {
        let a = &packed[bi * size..][..size];
        for bj in bi..blocks {
            // SAFETY: `block_kernel` picked a kernel for an instruction set this CPU has.
            let d = unsafe { block(a, &packed[bj * size..][..size]) };
            for (i, dr) in d.iter().enumerate().map(|(r, d)| (bi * R + r, d)) {
                for (j, &v) in dr.iter().enumerate().map(|(s, v)| (bj * R + s, v)) {
                    if i < c && j < c {
                        acc[i * c + j] += v;
                    }
                }
            }
        }
    }
}

/// The block kernel for `isa`.
fn block_kernel(isa: Isa) -> Block {
    match isa {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512Bf16 | Isa::Avx512 => block_avx512,
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => block_avx2,
        _ => block_portable,
    }
}

/// The block kernel in AVX-512: `R²` vector accumulators, `2R` loads per `R²` FMAs.
///
/// # Safety
/// The CPU must have AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn block_avx512(a: &[Lanes], b: &[Lanes]) -> [[f32; R]; R] {
    let mut acc = [[_mm512_setzero_ps(); R]; R];
    for (x, y) in a.chunks_exact(R).zip(b.chunks_exact(R)) {
        let y: [__m512; R] = std::array::from_fn(|s| _mm512_load_ps(y[s].0.as_ptr()));
        for (x, acc) in x.iter().zip(&mut acc) {
            let x = _mm512_load_ps(x.0.as_ptr());
            for (v, y) in acc.iter_mut().zip(&y) {
                *v = _mm512_fmadd_ps(x, *y, *v);
            }
        }
    }
    // R × R = 16 accumulators: one vector of sums.
    let sums = hsum16(std::array::from_fn(|k| acc[k / R][k % R]));
    std::array::from_fn(|r| std::array::from_fn(|s| sums[r * R + s]))
}

/// The sums of 16 vectors' lanes, `out[k] = Σ_l v[k][l]`, as a transposing tree of shuffles
/// (a two-way split per level, lanes paired ahead of the adds).
///
/// # Safety
/// The CPU must have AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn hsum16(v: [__m512; 16]) -> [f32; 16] {
    // Halves of 256 bits: w[k] has v[k] in 128-bit lanes 0-1, v[k + 8] in lanes 2-3.
    let w: [__m512; 8] = std::array::from_fn(|k| {
        let lo = _mm512_shuffle_f32x4::<0b01_00_01_00>(v[k], v[k + 8]);
        let hi = _mm512_shuffle_f32x4::<0b11_10_11_10>(v[k], v[k + 8]);
        _mm512_add_ps(lo, hi)
    });
    // 128-bit lanes: x[k] holds v[k], v[k + 8], v[k + 4], v[k + 12] in lanes 0 to 3.
    let x: [__m512; 4] = std::array::from_fn(|k| {
        let lo = _mm512_shuffle_f32x4::<0b10_00_10_00>(w[k], w[k + 4]);
        let hi = _mm512_shuffle_f32x4::<0b11_01_11_01>(w[k], w[k + 4]);
        _mm512_add_ps(lo, hi)
    });
    // Within 128-bit lanes: 4 partial sums of each vector, then 2, then 1.
    let y: [__m512; 2] = std::array::from_fn(|k| {
        let lo = _mm512_unpacklo_ps(x[k], x[k + 2]);
        let hi = _mm512_unpackhi_ps(x[k], x[k + 2]);
        _mm512_add_ps(lo, hi)
    });
    let lo = _mm512_shuffle_ps::<0b01_00_01_00>(y[0], y[1]);
    let hi = _mm512_shuffle_ps::<0b11_10_11_10>(y[0], y[1]);
    let mut z = [0.0f32; 16];
    _mm512_storeu_ps(z.as_mut_ptr(), _mm512_add_ps(lo, hi));
    // Lane 4·l + m of z is the sum of v[[0, 8, 4, 12][l] + [0, 2, 1, 3][m]].
    const FROM: [usize; 16] = [0, 2, 1, 3, 8, 10, 9, 11, 4, 6, 5, 7, 12, 14, 13, 15];
    std::array::from_fn(|k| z[FROM[k]])
}

/// [`block_portable`] compiled for AVX2 and FMA.
///
/// # Safety
/// The CPU must have AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn block_avx2(a: &[Lanes], b: &[Lanes]) -> [[f32; R]; R] {
    block_portable(a, b)
}

/// The block kernel in plain code for the compiler to vectorise: eight lanes per sum, each
/// taking the two halves of a vector.
#[inline(always)]
fn block_portable(a: &[Lanes], b: &[Lanes]) -> [[f32; R]; R] {
    const L: usize = V / 2;
    let mut acc = [[[0.0f32; L]; R]; R];
    for (x, y) in a.chunks_exact(R).zip(b.chunks_exact(R)) {
        for (x, acc) in x.iter().zip(&mut acc) {
            for (y, v) in y.iter().zip(acc.iter_mut()) {
                for (l, v) in v.iter_mut().enumerate() {
                    *v += x.0[l] * y.0[l] + x.0[l + L] * y.0[l + L];
                }
            }
        }
    }
    std::array::from_fn(|r| std::array::from_fn(|s| acc[r][s].iter().sum()))
}

thread_local! {
    /// Per-thread packed band of `F` for the AVX-512 backward product.
    static BAND: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// `out[i * hw + p] = scale · Σ_k (dg[i * c + k] + dg[k * c + i]) · f[k * hw + p]`: the gradient
/// with respect to `f` of `Σ dg ⊙ G` for `G = gram(f, c, hw, scale)`.
pub fn gram_backward(f: &[f32], dg: &[f32], c: usize, hw: usize, scale: f32, out: &mut [f32]) {
    assert_eq!(f.len(), c * hw, "gram_backward: feature size");
    assert_eq!(dg.len(), c * c, "gram_backward: gradient size");
    assert_eq!(out.len(), c * hw, "gram_backward: output size");
    if c == 0 || hw == 0 {
        return;
    }
    let s: Vec<f32> = (0..c * c)
        .map(|k| scale * (dg[k] + dg[k % c * c + k / c]))
        .collect();
    // Bands of at most PANEL values, at least four per thread.
    let cols = (PANEL / c)
        .min(hw.div_ceil(4 * rayon::current_num_threads()))
        .max(1)
        .next_multiple_of(gemm::NR);
    let packed = Isa::get().has_avx512().then(|| avx512::pack_a(&s, c, c));
    let dst = Shared(out.as_mut_ptr());
    (0..hw.div_ceil(cols)).into_par_iter().for_each(|band| {
        let (t0, t) = (band * cols, cols.min(hw - band * cols));
        // SAFETY: this band alone writes columns t0..t0 + t of the c rows of `out`.
        let dst = unsafe { dst.get().add(t0) };
        match &packed {
            #[cfg(target_arch = "x86_64")]
            Some(a) => BAND.with_borrow_mut(|b| {
                avx512::pack_b(&f[t0..], c, t, hw, b);
                let ops = gemm::Operands::new(c, c, t, a, b);
                // SAFETY: the instruction set has AVX-512 (A was packed because it has); A and B
                // were packed for these sizes; dst holds c rows of t at stride hw.
                unsafe { gemm::band::<avx512::F32>(ops, gemm::Dest::plain(dst, hw)) }
            }),
            // SAFETY: `s` is c × c, `f` from column t0 is c rows of t at stride hw, like `dst`.
            _ => unsafe {
                let (s, f) = (
                    Rows {
                        ptr: s.as_ptr(),
                        ld: c,
                    },
                    Rows {
                        ptr: f.as_ptr().add(t0),
                        ld: hw,
                    },
                );
                gemm_rows((c, t, c), Rows { ptr: dst, ld: hw }, s, f)
            },
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::Lcg;

    /// Unit roundoff of f32.
    const U: f64 = 1.0 / (1u64 << 24) as f64;

    #[test]
    fn gram_matches_f64_within_the_stated_bound() {
        let mut rng = Lcg(31);
        let sizes = [
            (1, 1),
            (1, 37),
            (3, 17),
            (5, 100),
            (7, 2100),
            (13, 1000),
            (2, 70_003),
        ];
        for isa in Isa::supported() {
            for &(c, hw) in &sizes {
                // Positive values for the longest rows: no cancellation to hide the error in.
                let f: Vec<f32> = rng.vec(c * hw, 1.0);
                let f: Vec<f32> = if hw > 10_000 {
                    f.iter().map(|v| v.abs()).collect()
                } else {
                    f
                };
                let scale = 1.0 / (c * hw) as f32;
                let mut out = vec![f32::NAN; c * c];
                Isa::with(isa, || gram(&f, c, hw, scale, &mut out));
                let len = chunk_len(c);
                let n = (len / 8 + 2 * hw.div_ceil(len) + 10) as f64;
                for i in 0..c {
                    for j in 0..c {
                        let (row_i, row_j) = (&f[i * hw..][..hw], &f[j * hw..][..hw]);
                        let pairs = row_i.iter().zip(row_j).map(|(&x, &y)| x as f64 * y as f64);
                        let exact = scale as f64 * pairs.clone().sum::<f64>();
                        let bound = n * U * scale as f64 * pairs.map(f64::abs).sum::<f64>();
                        let err = (out[i * c + j] as f64 - exact).abs();
                        assert!(
                            err <= bound,
                            "{isa:?} c={c} hw={hw} ({i},{j}): {} vs {exact}: {err:e} > {bound:e}",
                            out[i * c + j]
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn backward_matches_f64_within_the_stated_bound() {
        let mut rng = Lcg(37);
        for isa in Isa::supported() {
            for &(c, hw) in &[(1, 1), (3, 17), (9, 50), (13, 100), (20, 1000), (70, 333)] {
                let f = rng.vec(c * hw, 1.0);
                let dg = rng.vec(c * c, 1.0);
                let scale = 1.0 / (c * hw) as f32;
                let mut out = vec![f32::NAN; c * hw];
                Isa::with(isa, || gram_backward(&f, &dg, c, hw, scale, &mut out));
                // Each output is a c-term product sum of scale·(dg + dgᵀ), itself rounded twice.
                let n = (c + 3) as f64;
                for i in 0..c {
                    for p in 0..hw {
                        let terms = (0..c).map(|k| {
                            let s = scale as f64 * (dg[i * c + k] as f64 + dg[k * c + i] as f64);
                            s * f[k * hw + p] as f64
                        });
                        let exact: f64 = terms.clone().sum();
                        let bound = n * U * terms.map(f64::abs).sum::<f64>();
                        let err = (out[i * hw + p] as f64 - exact).abs();
                        assert!(
                            err <= bound,
                            "{isa:?} c={c} hw={hw} ({i},{p}): {err:e} > {bound:e}"
                        );
                    }
                }
            }
        }
    }
}
