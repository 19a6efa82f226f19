//! Matrix products for one band of a convolution: `out[m, t] = relu?(A[m, k]·B[k, t] + bias)`.
//!
//! The `gemm` crate only uses AVX2 on stable Rust, half the width AVX-512 has. The AVX-512
//! kernels keep an `MR × NR` (8 × 48) block of the output in 24 zmm registers across a whole
//! pass over `k`, with `A` and `B` packed in panels so that every load is contiguous: f32 FMAs
//! in [`avx512`], bf16 dot products in [`bf16`]. [`band`] drives either over a band; CPUs
//! without AVX-512 use [`gemm_rows`].

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

pub(crate) mod avx512;
pub(crate) mod bf16;

/// Rows of `A` per panel.
pub(crate) const MR: usize = 8;
/// Columns of `B` per panel (three zmm registers).
pub(crate) const NR: usize = 48;
/// Depth steps in one pass over `k`: an `A` block (`KC × MR`) stays in L1, a `B` block in L2.
#[cfg(target_arch = "x86_64")]
const KC: usize = 256;

/// An AVX-512 block kernel and the element its packed panels hold.
pub(crate) trait Kernel {
    /// One packed entry of `A` or `B`.
    type Elem;
    /// Depth steps of a product of depth `k` (the `k` rows one packed row of a panel holds).
    fn steps(k: usize) -> usize;
    /// Sums `steps` depth steps of the packed panels at `a` (`[steps][MR]`) and `b`
    /// (`[steps][NR]`) into `tile`.
    ///
    /// # Safety
    /// The instruction set in force must have the kernel's instructions; the panels must hold
    /// `steps` rows; `tile` must be valid for its rows and columns.
    #[cfg(target_arch = "x86_64")]
    unsafe fn block(steps: usize, a: *const Self::Elem, b: *const Self::Elem, tile: &Tile);
}

/// The packed operands of one band product: `A` (`m × k`) and `B` (`k × t`), in a
/// [`Kernel`]'s panel layout.
#[derive(Clone, Copy)]
pub(crate) struct Operands<'a, E> {
    m: usize,
    k: usize,
    t: usize,
    a: &'a [E],
    b: &'a [E],
}

impl<'a, E> Operands<'a, E> {
    /// `A` (`m × k`) and `B` (`k × t`), packed.
    pub(crate) fn new(m: usize, k: usize, t: usize, a: &'a [E], b: &'a [E]) -> Self {
        Self { m, k, t, a, b }
    }
}

/// Where a product goes and what is done on the way: `dst[i·ldc + j] = relu?(sum + bias[i])`.
#[derive(Clone, Copy)]
pub(crate) struct Dest<'a> {
    /// Element `(0, 0)`.
    pub(crate) ptr: *mut f32,
    /// Row stride.
    pub(crate) ldc: usize,
    /// One bias a row; missing ones are zero.
    pub(crate) bias: &'a [f32],
    /// Whether ReLU follows.
    pub(crate) relu: bool,
}

impl<'a> Dest<'a> {
    /// Rows of `ldc` from `ptr`, no bias, no ReLU.
    pub(crate) fn plain(ptr: *mut f32, ldc: usize) -> Dest<'static> {
        Dest::with(ptr, ldc, &[], false)
    }

    /// Rows of `ldc` from `ptr`, with `bias` added (missing entries zero) and ReLU if `relu`.
    pub(crate) fn with(ptr: *mut f32, ldc: usize, bias: &'a [f32], relu: bool) -> Self {
        Self {
            ptr,
            ldc,
            bias,
            relu,
        }
    }
}

/// Where one pass over a block of `k` stands.
#[derive(Clone, Copy)]
pub(crate) struct Pass {
    /// The first block: start from zero instead of the partial sums in `dst`.
    first: bool,
    /// The last block: add the bias, apply ReLU.
    last: bool,
    /// Whether to apply ReLU on the last block.
    relu: bool,
}

/// One `MR × NR` block of the output and the pass over `k` that adds to it.
pub(crate) struct Tile<'a> {
    /// Element `(0, 0)` of the block.
    dst: *mut f32,
    /// Row stride.
    ldc: usize,
    /// Rows of the block that exist (the rest of the panel is padding).
    rows: usize,
    /// Columns of the block that exist.
    cols: usize,
    /// The rows' biases.
    bias: &'a [f32; MR],
    pass: Pass,
}

/// `dst = relu?(A·B + bias)` for the band `ops` describes, with kernel `K`: passes of [`KC`]
/// depth steps over every `MR × NR` block. Columns `≥ t` of `dst` are never touched.
///
/// # Safety
/// The instruction set in force must have `K`'s instructions; `ops` must be packed by `K`'s
/// packing functions for its sizes; `dst` must be valid for writes at `i·ldc + j` for every
/// `i < m`, `j < t`.
#[cfg(target_arch = "x86_64")]
pub(crate) unsafe fn band<K: Kernel>(ops: Operands<K::Elem>, dst: Dest) {
    let Operands { m, k, t, a, b } = ops;
    let steps = K::steps(k);
    debug_assert!(
        a.len() >= m.div_ceil(MR) * steps * MR,
        "gemm: packed A size"
    );
    debug_assert!(
        b.len() >= t.div_ceil(NR) * steps * NR,
        "gemm: packed B size"
    );
    let mut biases = vec![0.0f32; m.div_ceil(MR) * MR];
    let given = m.min(dst.bias.len());
    biases[..given].copy_from_slice(&dst.bias[..given]);
    let mut k0 = 0;
    while k0 < steps {
        let kc = KC.min(steps - k0);
        let pass = Pass {
            first: k0 == 0,
            last: k0 + kc == steps,
            relu: dst.relu,
        };
        for pi in 0..m.div_ceil(MR) {
            let ap = a.as_ptr().add((pi * steps + k0) * MR);
            let bias: &[f32; MR] = biases[pi * MR..][..MR].try_into().expect("MR biases");
            for pj in 0..t.div_ceil(NR) {
                let tile = Tile {
                    dst: dst.ptr.add(pi * MR * dst.ldc + pj * NR),
                    ldc: dst.ldc,
                    rows: (m - pi * MR).min(MR),
                    cols: (t - pj * NR).min(NR),
                    bias,
                    pass,
                };
                K::block(kc, ap, b.as_ptr().add((pj * steps + k0) * NR), &tile);
            }
        }
        k0 += kc;
    }
}

/// The accumulators of a tile: three zmm registers of 16 columns for each of `MR` rows.
#[cfg(target_arch = "x86_64")]
pub(crate) type Acc = [[__m512; 3]; MR];

#[cfg(target_arch = "x86_64")]
impl Tile<'_> {
    /// The lanes of zmm register `j` (columns `16j..16j + 16`) that hold real columns.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn lanes(&self, j: usize) -> __mmask16 {
        let n = self.cols.saturating_sub(j * 16).min(16);
        if n == 16 {
            0xffff
        } else {
            (1u16 << n) - 1
        }
    }

    /// The accumulators at the start of the pass: zero on the first, else the partial sums
    /// in `dst`.
    ///
    /// # Safety
    /// `dst` must be valid for the tile's rows and columns.
    #[inline]
    #[target_feature(enable = "avx512f")]
    pub(crate) unsafe fn start(&self) -> Acc {
        let mut c = [[_mm512_setzero_ps(); 3]; MR];
        if !self.pass.first {
            for (i, ci) in c.iter_mut().enumerate().take(self.rows) {
                for (j, cij) in ci.iter_mut().enumerate() {
                    *cij =
                        _mm512_maskz_loadu_ps(self.lanes(j), self.dst.add(i * self.ldc + j * 16));
                }
            }
        }
        c
    }

    /// Stores the accumulators, with the bias added and ReLU applied on the last pass.
    ///
    /// # Safety
    /// `dst` must be valid for the tile's rows and columns.
    #[inline]
    #[target_feature(enable = "avx512f")]
    pub(crate) unsafe fn finish(&self, c: &Acc) {
        let zero = _mm512_setzero_ps();
        for (i, ci) in c.iter().enumerate().take(self.rows) {
            let bv = _mm512_set1_ps(self.bias[i]);
            for (j, &acc) in ci.iter().enumerate() {
                let mut v = acc;
                if self.pass.last {
                    v = _mm512_add_ps(v, bv);
                    if self.pass.relu {
                        v = _mm512_max_ps(v, zero);
                    }
                }
                _mm512_mask_storeu_ps(self.dst.add(i * self.ldc + j * 16), self.lanes(j), v);
            }
        }
    }
}

/// Index in a packed `B` of `rows` depth rows of the entry at depth row `row`, column `col`:
/// panels `[col / NR][rows][NR]`.
pub(crate) fn panel_index(row: usize, rows: usize, col: usize) -> usize {
    ((col / NR) * rows + row) * NR + col % NR
}

/// A row-major matrix in memory: element `(0, 0)` and the row stride.
#[derive(Clone, Copy)]
pub(crate) struct Rows<P> {
    /// Element `(0, 0)`.
    pub(crate) ptr: P,
    /// Row stride.
    pub(crate) ld: usize,
}

/// `dst = a · b` for row-major `a` (`m × k`), `b` (`k × n`) and `dst` (`m × n`), on this
/// thread, by the `gemm` crate (AVX2+FMA or portable): the product without AVX-512.
///
/// # Safety
/// Each pointer must be valid for its rows at its stride.
pub(crate) unsafe fn gemm_rows(
    (m, n, k): (usize, usize, usize),
    dst: Rows<*mut f32>,
    a: Rows<*const f32>,
    b: Rows<*const f32>,
) {
    gemm::gemm(
        m,
        n,
        k,
        dst.ptr,
        1,
        dst.ld as isize,
        false,
        a.ptr,
        1,
        a.ld as isize,
        b.ptr,
        1,
        b.ld as isize,
        0.0,
        1.0,
        false,
        false,
        false,
        gemm::Parallelism::None,
    )
}

/// Checks a band product against a plain f64 one on ragged sizes, for every relu and with a
/// padded `dst`; `bound(k, Σ|terms|)` is the error allowed.
#[cfg(all(test, target_arch = "x86_64"))]
pub(crate) fn check_band<K: Kernel>(
    pack_a: impl Fn(&[f32], usize, usize) -> Vec<K::Elem>,
    pack_b: impl Fn(&[f32], usize, usize) -> Vec<K::Elem>,
    exact: impl Fn(f32, f32) -> f64,
    bound: impl Fn(usize, f64) -> f64,
) {
    use crate::testutil::Lcg;
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
        let (pa, pb) = (pack_a(&a, m, k), pack_b(&b, k, t));
        let ldc = t + 3;
        let mut out = vec![f32::NAN; m * ldc];
        for relu in [false, true] {
            let dst = Dest::with(out.as_mut_ptr(), ldc, &bias, relu);
            // SAFETY: the caller runs this where the kernel is available; sizes match.
            unsafe { band::<K>(Operands::new(m, k, t, &pa, &pb), dst) };
            for i in 0..m {
                for j in 0..t {
                    let (mut want, mut size) = (bias[i] as f64, bias[i].abs() as f64);
                    for p in 0..k {
                        let term = exact(a[i * k + p], b[p * t + j]);
                        want += term;
                        size += term.abs();
                    }
                    let want = if relu { want.max(0.0) } else { want };
                    let got = out[i * ldc + j] as f64;
                    let err = (got - want).abs();
                    assert!(
                        err <= bound(k, size),
                        "({m},{k},{t}) ({i},{j}): {got} vs {want}: {err:e} > {:e}",
                        bound(k, size)
                    );
                }
                // Padding columns of dst are never touched.
                assert!(out[i * ldc + t].is_nan());
            }
        }
    }
}

/// A matrix in memory with any row and column strides (a transpose is a swap of strides).
#[derive(Clone, Copy)]
pub(crate) struct Strided<P> {
    /// Element `(0, 0)`.
    pub(crate) ptr: P,
    /// Row stride.
    pub(crate) rs: usize,
    /// Column stride.
    pub(crate) cs: usize,
}

impl<P> Strided<P> {
    /// A row-major matrix with row stride `ld`.
    pub(crate) fn rows(ptr: P, ld: usize) -> Self {
        Self { ptr, rs: ld, cs: 1 }
    }
}

/// `dst = a · b` (or `dst += a · b` with `accumulate`) for `a` (`m × k`), `b` (`k × n`) and
/// `dst` (`m × n`) with any strides, on this thread, by the `gemm` crate (which picks its
/// AVX-512, AVX2+FMA or portable kernel at run time).
///
/// # Safety
/// Each pointer must be valid for its elements at its strides.
pub(crate) unsafe fn gemm_strided(
    (m, n, k): (usize, usize, usize),
    dst: Strided<*mut f32>,
    a: Strided<*const f32>,
    b: Strided<*const f32>,
    accumulate: bool,
) {
    gemm::gemm(
        m,
        n,
        k,
        dst.ptr,
        dst.cs as isize,
        dst.rs as isize,
        accumulate,
        a.ptr,
        a.cs as isize,
        a.rs as isize,
        b.ptr,
        b.cs as isize,
        b.rs as isize,
        1.0,
        1.0,
        false,
        false,
        false,
        gemm::Parallelism::None,
    )
}
