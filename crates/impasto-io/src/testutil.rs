//! Helpers shared by unit tests.

/// The real VGG19 weights (.bin): `../shared/weights` beside the checkout where it exists (CI),
/// else the cache that `impasto fetch` (or the first `stylize`) fills. Panics, saying how to get
/// them, when neither is there: these tests never skip.
pub fn real_weights() -> std::path::PathBuf {
    let shared = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/weights")
        .join(crate::weights::WEIGHTS_FILE);
    if shared.is_file() {
        return shared;
    }
    let cached = crate::weights::cache_dir()
        .map(|d| d.join(crate::weights::WEIGHTS_FILE))
        .ok()
        .filter(|p| p.is_file());
    cached.unwrap_or_else(|| {
        panic!("the VGG19 weights are needed: run `cargo run --release -- fetch` first (or lay out ../shared/weights)")
    })
}
