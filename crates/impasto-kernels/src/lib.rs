//! Hand-written CPU kernels. For the VGG path: 3×3 convolutions ([`conv`]), Gram matrices
//! ([`gram`]), 2×2 max-pools ([`maxpool`]) and ReLU masks ([`bits`]). For the feed-forward
//! networks, with their gradients: convolutions of any size and stride ([`conv2d`]), instance
//! normalisation ([`norm`]), padding ([`pad`]) and upsampling ([`resample`]). They know nothing
//! of tensors or autodiff.
//!
//! Every kernel runs with the instruction set [`Isa::get`] gives, which tests and benchmarks
//! can force with [`Isa::with`]; the products run in a [`Precision`].

#![warn(missing_docs)]

/// Generates the AVX-512, AVX2+FMA and portable versions of a kernel body (plain loops the
/// compiler vectorises for each) and a dispatcher over them.
macro_rules! dispatch {
    ($vis:vis $name:ident, $body:ident, ($($arg:ident: $ty:ty),*)) => {
        /// Runs the body compiled for `isa`.
        ///
        /// # Safety
        /// The destination pointers inside the arguments must be valid for the writes the
        /// body makes; `isa` must be supported by this CPU.
        $vis unsafe fn $name(isa: Isa, $($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f")]
                unsafe fn avx512($($arg: $ty),*) { $body($($arg),*) }
                #[target_feature(enable = "avx2,fma")]
                unsafe fn avx2($($arg: $ty),*) { $body($($arg),*) }
                match isa {
                    Isa::Avx512Bf16 | Isa::Avx512 => return avx512($($arg),*),
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
pub mod conv2d;
mod gemm;
pub mod gram;
mod im2col;
mod isa;
mod mask;
pub mod maxpool;
mod narrow;
pub mod norm;
pub mod pad;
mod precision;
pub mod resample;
mod winograd;

#[cfg(test)]
mod testutil;

pub use isa::Isa;
pub use mask::Mask;
pub use precision::Precision;

/// A raw pointer shared by parallel jobs that write disjoint elements.
#[derive(Clone, Copy)]
struct Shared<T>(*mut T);
// SAFETY: every user writes disjoint elements from different jobs.
unsafe impl<T> Send for Shared<T> {}
unsafe impl<T> Sync for Shared<T> {}

impl<T> Shared<T> {
    /// The pointer (a method, so closures capture the whole `Send` wrapper).
    fn get(self) -> *mut T {
        self.0
    }
}
