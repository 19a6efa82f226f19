//! The instruction set the kernels run with: detected once, and forced per thread by tests and
//! benchmarks. Every choice of code path in this crate goes through [`Isa::get`].

use std::cell::Cell;
use std::sync::OnceLock;

/// The vector instruction set the kernels run with, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isa {
    /// AVX-512F with AVX512_BF16 dot products (bf16 products possible).
    Avx512Bf16,
    /// AVX-512F (512-bit vectors, own product kernels), f32 products only.
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
    /// The instruction set in force on this thread: the one [`Isa::with`] forces, else the best
    /// this CPU has (detected once). Kernels read it on the calling thread and hand it to their
    /// parallel jobs.
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
            use std::arch::is_x86_feature_detected as has;
            if has!("avx512f") {
                if has!("avx512bf16") {
                    out.push(Isa::Avx512Bf16);
                }
                out.push(Isa::Avx512);
            }
            if has!("avx2") && has!("fma") {
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

    /// Whether this set has AVX-512F: the AVX-512 product kernels run.
    pub fn has_avx512(self) -> bool {
        matches!(self, Isa::Avx512Bf16 | Isa::Avx512)
    }

    /// Whether this set has AVX512_BF16 dot products: products can run in bf16.
    pub fn has_bf16(self) -> bool {
        self == Isa::Avx512Bf16
    }

    /// The name of the vector width in reports: `avx512`, `avx2` or `portable` (whether the
    /// products run in bf16 is the precision's to say).
    pub fn name(self) -> &'static str {
        match self {
            Isa::Avx512Bf16 | Isa::Avx512 => "avx512",
            Isa::Avx2 => "avx2",
            Isa::Portable => "portable",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forcing_a_set_is_undone_after() {
        let best = Isa::get();
        for isa in Isa::supported() {
            assert_eq!(Isa::with(isa, Isa::get), isa);
            assert_eq!(Isa::get(), best);
        }
        assert!(!Isa::with(Isa::Portable, || Isa::get().has_bf16()));
    }
}
