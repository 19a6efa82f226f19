//! Choosing the precision of the convolution products by name, as front ends let users do.

use crate::{Error, Precision, Result, Setting};

/// The names [`choose_precision`] takes.
pub const PRECISION_NAMES: [&str; 3] = ["f32", "bf16", "auto"];

/// The precision named `f32`, `bf16` (where this CPU has bf16 dot products) or `auto` (the
/// faster of the two on this CPU, measured once in a few milliseconds).
pub fn choose_precision(name: &str) -> Result<Precision> {
    match name {
        "f32" => Ok(Precision::F32),
        "bf16" if Precision::Bf16.is_supported() => Ok(Precision::Bf16),
        "bf16" => Err(Error::setting(
            Setting::Precision,
            name,
            "bf16 needs a CPU with AVX512_BF16, which this one lacks: use f32 or auto",
        )),
        "auto" => Ok(Precision::auto()),
        _ => Err(Error::setting(
            Setting::Precision,
            name,
            "use f32, bf16 or auto",
        )),
    }
}
