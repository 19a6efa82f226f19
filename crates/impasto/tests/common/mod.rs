//! What the engine's integration tests share: repository paths and the real weights.

#![allow(dead_code)] // each test file uses part of it

use std::path::PathBuf;

use impasto::image::Rgb;
use impasto::Precision;
use impasto::Vgg19;
use impasto_io::codec as io;
use impasto_io::weights;

/// A path inside the repository.
pub fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

/// VGG19 with the real weights: `../shared/weights` beside the checkout (CI), else the
/// fetch cache.
pub fn model(precision: Precision) -> Vgg19 {
    let shared = repo("../shared/weights").join(weights::WEIGHTS_FILE);
    let w = if shared.is_file() {
        shared
    } else {
        weights::resolve(None).unwrap().0
    };
    assert!(
        w.exists(),
        "the VGG19 weights are needed: run `cargo run --release -- fetch` first"
    );
    weights::load_vgg(&w, precision).expect("weights load")
}

/// The bundled photo and painting.
pub fn images() -> (Rgb, Rgb) {
    let c = io::load(
        &repo("examples/portrait_astronaut.jpg"),
        &Default::default(),
    )
    .unwrap()
    .image;
    let s = io::load(&repo("examples/starry_night.jpg"), &Default::default())
        .unwrap()
        .image;
    (c, s)
}
