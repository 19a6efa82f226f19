//! Helpers shared by unit tests.

/// A tiny deterministic generator (64-bit LCG) for test data.
pub struct Lcg(pub u64);

impl Lcg {
    /// A uniform value in `[-1, 1)`.
    pub fn next(&mut self) -> f32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }

    /// `n` uniform values in `[-scale, scale)`.
    pub fn vec(&mut self, n: usize, scale: f32) -> Vec<f32> {
        (0..n).map(|_| self.next() * scale).collect()
    }
}

/// The real VGG19 weights (.bin): `../shared/weights` beside the checkout where it exists (CI),
/// else the cache that `impasto fetch` (or the first `stylize`) fills. Panics, saying how to get
/// them, when neither is there: these tests never skip.
pub fn real_weights() -> std::path::PathBuf {
    let shared = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/weights")
        .join(crate::model::weights::WEIGHTS_FILE);
    if shared.is_file() {
        return shared;
    }
    let cached = crate::model::weights::cache_dir()
        .map(|d| d.join(crate::model::weights::WEIGHTS_FILE))
        .ok()
        .filter(|p| p.is_file());
    cached.unwrap_or_else(|| {
        panic!("the VGG19 weights are needed: run `cargo run --release -- fetch` first (or lay out ../shared/weights)")
    })
}
