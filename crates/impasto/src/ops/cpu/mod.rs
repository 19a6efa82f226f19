//! Hand-written CPU kernels for the VGG path. They know nothing of tensors or autodiff.

pub mod bits;
pub mod conv;
pub mod conv3x3;
pub mod gemm_avx512;
pub mod gemm_bf16;
pub mod gram;
pub mod maxpool;
pub mod winograd;

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
    /// The fastest precision this CPU runs well: bf16 where it has bf16 dot products.
    pub fn auto() -> Precision {
        if gemm_bf16::available() {
            Precision::Bf16
        } else {
            Precision::F32
        }
    }
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
        match *self {
            Mask::None => {}
            Mask::Positive(m) => {
                for (v, &m) in dst.iter_mut().zip(&m[off..]) {
                    if m <= 0.0 {
                        *v = 0.0;
                    }
                }
            }
            Mask::Bits { bits, offset } => {
                for (i, v) in dst.iter_mut().enumerate() {
                    let b = offset + off + i;
                    if bits[b / 64] >> (b % 64) & 1 == 0 {
                        *v = 0.0;
                    }
                }
            }
        }
    }
}
