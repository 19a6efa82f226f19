//! What the command-line tests share: paths, the real weights, running the binary.

#![allow(dead_code)] // each test file uses part of it

pub mod batch;
pub mod rate;

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

/// The first `n` training photos (../shared/data/train, in name order).
pub fn training_photos(n: usize) -> Vec<PathBuf> {
    let mut src: Vec<_> = std::fs::read_dir(repo("../shared/data/train"))
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "jpg"))
        .collect();
    src.sort();
    src.truncate(n);
    src
}

/// A folder `dir/photos` with the first two training photos.
pub fn photo_dir(dir: &Path) -> PathBuf {
    let photos = dir.join("photos");
    std::fs::create_dir(&photos).unwrap();
    for p in training_photos(2) {
        std::fs::copy(&p, photos.join(p.file_name().unwrap())).unwrap();
    }
    photos
}

/// A tiny model of Starry Night, `dir/m.safetensors`: 3 steps on 64 px crops of the photos
/// in `photos`.
pub fn tiny_model(dir: &Path, photos: &Path) -> PathBuf {
    let model = dir.join("m.safetensors");
    let (s, p, m) = (
        style(),
        photos.display().to_string(),
        model.display().to_string(),
    );
    let args = [
        "train",
        "--style",
        &s,
        "--photos",
        &p,
        "-o",
        &m,
        "--steps",
        "3",
        "--crop",
        "64",
        "--batch",
        "1",
        "--channels",
        "8,16",
        "--blocks",
        "1",
        "--style-size",
        "128",
    ];
    let o = impasto(&args, dir);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    model
}

/// The streams of a media file, by ffprobe (frames counted).
pub fn streams(path: &Path) -> Vec<serde_json::Value> {
    let o = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-count_frames",
            "-show_streams",
            "-of",
            "json",
        ])
        .arg(path)
        .output()
        .expect("ffprobe runs (apt-get install ffmpeg)");
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    v["streams"].as_array().cloned().unwrap_or_default()
}
