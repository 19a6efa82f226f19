//! What the command-line tests share: paths, the real weights, running the binary.

#![allow(dead_code)] // each test file uses part of it

pub mod batch;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

/// The real weights: `../shared/weights` beside the checkout (CI), else the fetch cache.
pub fn weights() -> PathBuf {
    let shared = repo("../shared/weights").join(impasto_io::weights::WEIGHTS_FILE);
    let w = if shared.is_file() {
        shared
    } else {
        impasto_io::weights::resolve(None).unwrap().0
    };
    assert!(
        w.exists(),
        "the VGG19 weights are needed: run `cargo run --release -- fetch` first"
    );
    w
}

/// Runs impasto with the shared weights and a private cache.
pub fn impasto(args: &[&str], cache: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_impasto"))
        .args(args)
        .env("IMPASTO_WEIGHTS", weights())
        .env("IMPASTO_CACHE", cache)
        .output()
        .expect("impasto runs")
}

pub fn content() -> String {
    repo("examples/portrait_astronaut.jpg")
        .display()
        .to_string()
}

pub fn style() -> String {
    repo("examples/starry_night.jpg").display().to_string()
}

/// Asserts exit code 2 and an error line that mentions each of `words`, with no panic trace.
pub fn assert_usage_error(out: &Output, words: &[&str]) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {err}");
    assert!(!err.contains("panicked"), "{err}");
    for w in words {
        assert!(err.contains(w), "'{w}' missing from: {err}");
    }
}
