//! The precision of the convolution products, and the choice between them on this CPU.

use std::sync::OnceLock;

use crate::Isa;

/// Precision of a network's passes: f32 throughout, or bf16 storage of activations and
/// gradients with products in bf16 where the CPU has bf16 dot products (sums always f32).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// f32 throughout.
    F32,
    /// bf16 storage on every CPU; bf16 inputs and weights with f32 accumulation in the
    /// products where the CPU has AVX512_BF16, f32 products elsewhere.
    Bf16,
}

impl Precision {
    /// The faster precision with the instruction set in force, measured once: bf16 where it
    /// has bf16 dot products and they outrun f32 FMAs by a clear margin, f32 otherwise. Some
    /// CPUs report AVX512_BF16 but run it at half the f32 rate, so the flag alone does not
    /// decide.
    pub fn auto() -> Precision {
        static CHOICE: OnceLock<Precision> = OnceLock::new();
        if !Isa::get().has_bf16() {
            return Precision::F32;
        }
        *CHOICE.get_or_init(|| match product_rates() {
            Some((f32_rate, bf16_rate)) if bf16_rate > 1.2 * f32_rate => Precision::Bf16,
            _ => Precision::F32,
        })
    }

    /// Whether the products run in bf16 with the instruction set in force (bf16 precision on
    /// a CPU with AVX512_BF16).
    pub fn bf16_products(self) -> bool {
        self == Precision::Bf16 && Isa::get().has_bf16()
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
/// few short runs, a few milliseconds in all); `None` without bf16 dot products.
#[cfg(target_arch = "x86_64")]
fn product_rates() -> Option<(f64, f64)> {
    use crate::gemm::{self, avx512, bf16, Dest, Operands};
    if !Isa::get().has_bf16() {
        return None;
    }
    let (m, k, t) = (64, 512, 192);
    let a: Vec<f32> = (0..m * k).map(|i| (i % 7) as f32 * 0.1).collect();
    let b: Vec<f32> = (0..k * t).map(|i| (i % 5) as f32 * 0.1).collect();
    let (pa, pa16) = (avx512::pack_a(&a, m, k), bf16::pack_a(&a, m, k));
    let (mut pb, mut pb16) = (Vec::new(), Vec::new());
    avx512::pack_b(&b, k, t, t, &mut pb);
    bf16::pack_b(&b, k, t, &mut pb16);
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
    let dst = Dest::plain(out.as_mut_ptr(), t);
    let (f32_ops, bf16_ops) = (
        Operands::new(m, k, t, &pa, &pb),
        Operands::new(m, k, t, &pa16, &pb16),
    );
    // SAFETY: the instruction set has both kernels (checked above) and the operands were
    // packed for these sizes; dst holds m rows of t columns.
    let f32_time = best(&mut || unsafe { gemm::band::<avx512::F32>(f32_ops, dst) });
    let bf16_time = best(&mut || unsafe { gemm::band::<bf16::Bf16>(bf16_ops, dst) });
    Some((1.0 / f32_time, 1.0 / bf16_time))
}

/// Products per second of the f32 and bf16 kernels; `None` off x86_64.
#[cfg(not(target_arch = "x86_64"))]
fn product_rates() -> Option<(f64, f64)> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bf16_follows_the_instruction_set_in_force() {
        for isa in Isa::supported() {
            Isa::with(isa, || {
                assert_eq!(Precision::Bf16.bf16_products(), isa.has_bf16(), "{isa:?}");
                assert!(!Precision::F32.bf16_products());
                assert_eq!(product_rates().is_some(), isa.has_bf16(), "{isa:?}");
                if !isa.has_bf16() {
                    assert_eq!(Precision::auto(), Precision::F32, "{isa:?}");
                }
            });
        }
    }
}
