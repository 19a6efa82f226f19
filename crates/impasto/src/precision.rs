//! Choosing the precision of the network's passes by name, as front ends let users do.

use crate::{Error, Precision, Result, Setting};

/// The names [`choose_precision`] takes.
pub const PRECISION_NAMES: [&str; 3] = ["f32", "bf16", "auto"];

/// The precision named `f32`, `bf16` (bf16 storage on every CPU, bf16 products where it has
/// bf16 dot products) or `auto` (the faster of the two on this CPU, measured once in a few
/// milliseconds).
pub fn choose_precision(name: &str) -> Result<Precision> {
    match name {
        "f32" => Ok(Precision::F32),
        "bf16" => Ok(Precision::Bf16),
        "auto" => Ok(Precision::auto()),
        _ => Err(Error::setting(
            Setting::Precision,
            name,
            "use f32, bf16 or auto",
        )),
    }
}

/// Longer side past which `auto` holds activations in bf16 whatever the products run in: the
/// whole image's f32 step no longer fits [`crate::plan::DEFAULT_EVALUATION_BYTES`], and half
/// the memory buys tiles twice as large.
pub const AUTO_BF16_SIZE: usize = 1024;

/// [`choose_precision`] for a result of longer side `size`: `auto` is bf16 past
/// [`AUTO_BF16_SIZE`].
pub fn precision_for(name: &str, size: usize) -> Result<Precision> {
    match name {
        "auto" if size > AUTO_BF16_SIZE => Ok(Precision::Bf16),
        _ => choose_precision(name),
    }
}
