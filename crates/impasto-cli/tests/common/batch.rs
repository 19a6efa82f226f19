//! What the scheduler tests (Slurm, Kubernetes) share: a small batch to run, and reading back
//! what the shards of `impasto batch` left in the output folder.

use std::path::{Path, PathBuf};

use serde_json::Value;

/// Options that make each item take a few seconds.
pub const QUICK: [&str; 4] = ["--size", "64", "--iters", "8"];

/// The two paintings of the test batches.
pub fn styles() -> Vec<PathBuf> {
    ["examples/starry_night.jpg", "examples/durer_lion.jpg"]
        .iter()
        .map(|p| super::repo(p))
        .collect()
}

/// Writes `n` small distinct photos `photo-K.png` into `dir` (created).
pub fn photos(dir: &Path, n: u8) {
    std::fs::create_dir_all(dir).unwrap();
    for k in 0..n {
        let img = image::RgbImage::from_fn(48, 40, |x, y| {
            image::Rgb([
                (x * 5) as u8,
                (y * 6) as u8,
                k.wrapping_mul(60).wrapping_add((x ^ y) as u8),
            ])
        });
        img.save(dir.join(format!("photo-{k}.png"))).unwrap();
    }
}

/// The items a batch of every photo in `photos` with each of `styles` must produce, as
/// (photo's file name, painting's file name), sorted.
pub fn expected(photos: &Path, styles: &[PathBuf]) -> Vec<(String, String)> {
    let mut items = Vec::new();
    for entry in std::fs::read_dir(photos).unwrap() {
        for style in styles {
            items.push((file_name(&entry.as_ref().unwrap().path()), file_name(style)));
        }
    }
    items.sort();
    items
}

fn file_name(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}

/// The finished results in `out`: for each sidecar `NAME.json` there whose `NAME.png` exists,
/// the (photo, painting) it was made from, sorted. Panics, naming the file, on a sidecar
/// without its key, input, styles or seconds. Hidden files (temporary files of atomic writes)
/// are not results; a PNG without a sidecar (a shard stopped between the two) is not one yet.
pub fn results(out: &Path) -> Vec<(String, String)> {
    let mut items = Vec::new();
    for path in visible(out, "json") {
        let png = path.with_extension("png");
        if !png.is_file() {
            continue;
        }
        let v: Value = serde_json::from_slice(&std::fs::read(&path).unwrap())
            .unwrap_or_else(|e| panic!("{}: not JSON ({e})", path.display()));
        let field = |k: &str| {
            v.get(k)
                .unwrap_or_else(|| panic!("{} has no {k:?}: {v}", path.display()))
        };
        assert!(field("key").as_str().is_some_and(|k| !k.is_empty()), "{v}");
        assert!(field("seconds").is_number(), "{v}");
        let styles = field("styles").as_array().expect("styles is a list");
        assert_eq!(styles.len(), 1, "one painting per item: {v}");
        items.push((
            file_name(Path::new(field("input").as_str().unwrap())),
            file_name(Path::new(styles[0].as_str().unwrap())),
        ));
    }
    items.sort();
    items
}

/// Asserts that every visible PNG in `out` is a result, with its sidecar: nothing else (a
/// half-made result, a stray file) would be counted as one; and that the contact sheet is there.
pub fn assert_only_results(out: &Path) {
    assert!(
        out.join("index.html").is_file(),
        "no contact sheet in {}",
        out.display()
    );
    for png in visible(out, "png") {
        assert!(
            png.with_extension("json").is_file(),
            "{} has no sidecar: a result without its record, or a stray file",
            png.display()
        );
    }
}

/// The files in `out` with extension `ext` whose names do not start with a dot.
fn visible(out: &Path, ext: &str) -> Vec<PathBuf> {
    std::fs::read_dir(out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == ext))
        .filter(|p| !file_name(p).starts_with('.'))
        .collect()
}

/// Hidden temporary files left in `out` (by a shard killed while writing), for messages.
pub fn temporaries(out: &Path) -> Vec<String> {
    std::fs::read_dir(out)
        .unwrap()
        .map(|e| file_name(&e.unwrap().path()))
        .filter(|n| n.starts_with('.'))
        .collect()
}

/// The reports of all `shards` shards in `out/reports`, checked to name their shard.
pub fn reports(out: &Path, shards: usize) -> Vec<Value> {
    (0..shards)
        .map(|i| {
            let path = out.join(format!("reports/shard-{i}-of-{shards}.json"));
            let bytes = std::fs::read(&path)
                .unwrap_or_else(|e| panic!("no report {} ({e})", path.display()));
            let v: Value = serde_json::from_slice(&bytes).unwrap();
            assert_eq!(v["shard"], i, "{v}");
            assert_eq!(v["shards"], shards, "{v}");
            assert_eq!(v["failures"].as_array().map(Vec::len), Some(0), "{v}");
            v
        })
        .collect()
}

/// The sum of the count `field` over `reports`.
pub fn total(reports: &[Value], field: &str) -> u64 {
    reports
        .iter()
        .map(|r| {
            r[field]
                .as_u64()
                .unwrap_or_else(|| panic!("no {field:?}: {r}"))
        })
        .sum()
}
