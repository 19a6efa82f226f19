//! Hand-written CPU kernels for the VGG path. They know nothing of tensors or autodiff.

/// Generates the AVX-512, AVX2+FMA and portable versions of a kernel body (plain loops the
/// compiler vectorises for each) and a dispatcher over them.
macro_rules! dispatch {
    ($name:ident, $body:ident, ($($arg:ident: $ty:ty),*)) => {
        /// Runs the body compiled for `isa`.
        ///
        /// # Safety
        /// The destination pointers inside the arguments must be valid for the writes the
        /// body makes; `isa` must be supported by this CPU.
        unsafe fn $name(isa: Isa, $($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f")]
                unsafe fn avx512($($arg: $ty),*) { $body($($arg),*) }
                #[target_feature(enable = "avx2,fma")]
                unsafe fn avx2($($arg: $ty),*) { $body($($arg),*) }
                match isa {
                    Isa::Avx512 => return avx512($($arg),*),
                    Isa::Avx2 => return avx2($($arg),*),
                    Isa::Portable => {}
                }
            }
            let _ = isa;
            $body($($arg),*)
        }
    };
}

pub mod bits;
pub mod conv;
pub mod conv3x3;
pub mod conv_narrow;
pub mod gemm_avx512;
pub mod gemm_bf16;
pub mod gram;
pub mod maxpool;
pub mod winograd;

#[cfg(test)]
mod testutil;

use std::cell::Cell;
use std::sync::OnceLock;

/// The vector instruction set the kernels run with, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isa {
    /// AVX-512F (512-bit vectors, own product kernels).
    Avx512,
    /// AVX2 with FMA (256-bit vectors; products by the `gemm` crate).
    Avx2,
    /// Plain code for any CPU.
    Portable,
}

thread_local! {
    /// A test's choice of instruction set for this thread.
    static FORCED: Cell<Option<Isa>> = const { Cell::new(None) };
}

impl Isa {
    /// The best instruction set this CPU has (detected once).
    pub fn get() -> Isa {
        static BEST: OnceLock<Isa> = OnceLock::new();
        FORCED
            .get()
            .unwrap_or_else(|| *BEST.get_or_init(|| Isa::supported()[0]))
    }

    /// Every instruction set this CPU can run, best first.
    pub fn supported() -> Vec<Isa> {
        let mut out = Vec::new();
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") {
                out.push(Isa::Avx512);
            }
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                out.push(Isa::Avx2);
            }
        }
        out.push(Isa::Portable);
        out
    }

    /// Runs `f` with the kernels called from this thread limited to `isa` (for tests and
    /// benchmarks of the slower paths). `isa` must be one of [`Isa::supported`].
    pub fn with<R>(isa: Isa, f: impl FnOnce() -> R) -> R {
        assert!(
            Isa::supported().contains(&isa),
            "{isa:?} is not supported here"
        );
        let before = FORCED.replace(Some(isa));
        let r = f();
        FORCED.set(before);
        r
    }
}

/// `dst = a · b` with row-major `a` (m × k, row stride `lda`), `b` (k × n, `ldb`) and `dst`
/// (m × n, `ldc`), on this thread, by the `gemm` crate (AVX2+FMA or portable): the product
/// for CPUs without AVX-512.
///
/// # Safety
/// Each pointer must be valid for its rows at its stride.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn gemm_rows(
    m: usize,
    n: usize,
    k: usize,
    dst: *mut f32,
    ldc: usize,
    a: *const f32,
    lda: usize,
    b: *const f32,
    ldb: usize,
) {
    gemm::gemm(
        m,
        n,
        k,
        dst,
        1,
        ldc as isize,
        false,
        a,
        1,
        lda as isize,
        b,
        1,
        ldb as isize,
        0.0,
        1.0,
        false,
        false,
        false,
        gemm::Parallelism::None,
    )
}

/// A raw pointer shared by parallel jobs that write disjoint elements.
#[derive(Clone, Copy)]
pub(crate) struct Shared<T>(pub(crate) *mut T);
// SAFETY: every user writes disjoint elements from different jobs.
unsafe impl<T> Send for Shared<T> {}
unsafe impl<T> Sync for Shared<T> {}

impl<T> Shared<T> {
    /// The pointer (a method, so closures capture the whole `Send` wrapper).
    pub(crate) fn get(self) -> *mut T {
        self.0
    }
}

/// Precision of the convolution products: inputs and weights in f32 or bf16, sums always f32.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// f32 throughout.
    F32,
    /// bf16 inputs and weights, f32 accumulation (needs AVX512_BF16).
    Bf16,
}

impl Precision {
    /// The faster precision on this CPU, measured once: bf16 where the CPU has bf16 dot
    /// products and they outrun f32 FMAs by a clear margin, f32 otherwise. Some CPUs report
    /// AVX512_BF16 but run it at half the f32 rate, so the flag alone does not decide.
    pub fn auto() -> Precision {
        static CHOICE: OnceLock<Precision> = OnceLock::new();
        *CHOICE.get_or_init(|| match product_rates() {
            Some((f32_rate, bf16_rate)) if bf16_rate > 1.2 * f32_rate => Precision::Bf16,
            _ => Precision::F32,
        })
    }

    /// Whether this CPU can run products in this precision (bf16 needs AVX512_BF16).
    pub fn is_supported(self) -> bool {
        match self {
            Precision::F32 => true,
            Precision::Bf16 => gemm_bf16::available(),
        }
    }

    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::Bf16 => "bf16",
        }
    }
}

/// Products per second of the f32 and bf16 kernels on a convolution-sized block (best of a
/// few short runs, a few milliseconds in all); `None` without AVX512_BF16.
#[cfg(target_arch = "x86_64")]
pub fn product_rates() -> Option<(f64, f64)> {
    if !gemm_bf16::available() || !gemm_avx512::available() {
        return None;
    }
    let (m, k, t) = (64, 512, 192);
    let a: Vec<f32> = (0..m * k).map(|i| (i % 7) as f32 * 0.1).collect();
    let b: Vec<f32> = (0..k * t).map(|i| (i % 5) as f32 * 0.1).collect();
    let (pa, pa16) = (gemm_avx512::pack_a(&a, m, k), gemm_bf16::pack_a(&a, m, k));
    let (mut pb, mut pb16) = (Vec::new(), Vec::new());
    gemm_avx512::pack_b(&b, k, t, t, &mut pb);
    gemm_bf16::pack_b(&b, k, t, &mut pb16);
    let mut out = vec![0.0f32; m * t];
    let best = |f: &mut dyn FnMut()| {
        (0..5)
            .map(|_| {
                let start = std::time::Instant::now();
                for _ in 0..4 {
                    f();
                }
                start.elapsed().as_secs_f64()
            })
            .fold(f64::INFINITY, f64::min)
    };
    let dst = out.as_mut_ptr();
    // SAFETY: both kernels are available (checked above) and the operands were packed for
    // these sizes; dst holds m rows of t columns.
    let f32_time =
        best(&mut || unsafe { gemm_avx512::gemm_band(m, k, t, &pa, &pb, &[], false, dst, t) });
    let bf16_time =
        best(&mut || unsafe { gemm_bf16::gemm_band(m, k, t, &pa16, &pb16, &[], false, dst, t) });
    Some((1.0 / f32_time, 1.0 / bf16_time))
}

/// Products per second of the f32 and bf16 kernels; `None` off x86_64.
#[cfg(not(target_arch = "x86_64"))]
pub fn product_rates() -> Option<(f64, f64)> {
    None
}

/// Which inputs of a convolution count as zero: a ReLU's derivative applied on the way in.
#[derive(Clone, Copy)]
pub enum Mask<'a> {
    /// Every input counts.
    None,
    /// Inputs count where this tensor (a ReLU output) is positive.
    Positive(&'a [f32]),
    /// Inputs count where the bit is set (bit `offset + i` for input `i`).
    Bits {
        /// One bit per element, little-endian within each word.
        bits: &'a [u64],
        /// Bit of input element 0.
        offset: usize,
    },
}

impl<'a> Mask<'a> {
    /// Panics unless the mask covers `len` inputs.
    pub fn check(&self, len: usize) {
        match self {
            Mask::None => {}
            Mask::Positive(m) => assert_eq!(m.len(), len, "mask size"),
            Mask::Bits { bits, offset } => assert!(bits.len() * 64 >= offset + len, "mask size"),
        }
    }

    /// The part of the mask for image `img` of a batch whose images have `len` inputs each.
    pub fn image(&self, img: usize, len: usize) -> Mask<'a> {
        match *self {
            Mask::None => Mask::None,
            Mask::Positive(m) => Mask::Positive(&m[img * len..][..len]),
            Mask::Bits { bits, offset } => Mask::Bits {
                bits,
                offset: offset + img * len,
            },
        }
    }

    /// Zeroes the elements of `dst` (inputs `off..off + dst.len()`) that do not count.
    pub fn apply(&self, off: usize, dst: &mut [f32]) {
        // SAFETY: plain slices; the instruction set is this CPU's.
        unsafe { apply_mask(Isa::get(), *self, off, dst) }
    }
}

/// The body of [`Mask::apply`].
#[inline(always)]
unsafe fn apply_mask_body(mask: Mask, off: usize, dst: &mut [f32]) {
    match mask {
        Mask::None => {}
        Mask::Positive(m) => {
            for (v, &m) in dst.iter_mut().zip(&m[off..]) {
                *v = if m > 0.0 { *v } else { 0.0 };
            }
        }
        Mask::Bits { bits, offset } => {
            let start = offset + off;
            for (k, chunk) in dst.chunks_mut(16).enumerate() {
                let word = bits_at(bits, start + 16 * k);
                for (l, v) in chunk.iter_mut().enumerate() {
                    *v = if word >> l & 1 != 0 { *v } else { 0.0 };
                }
            }
        }
    }
}

dispatch!(apply_mask, apply_mask_body, (mask: Mask, off: usize, dst: &mut [f32]));

/// The 16 bits from bit `b` on (bits past the end read as zero).
#[inline]
fn bits_at(bits: &[u64], b: usize) -> u32 {
    let (w, sh) = (b / 64, b % 64);
    let lo = bits[w] >> sh;
    let hi = match (sh, bits.get(w + 1)) {
        (0, _) | (_, None) => 0,
        (_, Some(next)) => next << (64 - sh),
    };
    ((lo | hi) & 0xffff) as u32
}
