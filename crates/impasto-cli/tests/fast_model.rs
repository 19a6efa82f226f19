//! `impasto train` and `impasto stylize --model` as users run them: a tiny real training run,
//! a one-pass result, resuming, and clear errors for bad folders and damaged models.

mod common;

use common::{assert_usage_error, content, impasto, photo_dir, style};

fn json(out: &std::process::Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON object")
}

#[test]
fn train_then_stylize_in_one_pass_then_resume() {
    let dir = tempfile::tempdir().unwrap();
    let photos = photo_dir(dir.path());
    let model = dir.path().join("starry.safetensors");
    let m = model.to_str().unwrap();
    let s = style();
    let train = |steps: &str, resume: bool| {
        let mut args = vec![
            "train",
            "--style",
            &s,
            "--photos",
            photos.to_str().unwrap(),
            "-o",
            m,
            "--steps",
            steps,
            "--crop",
            "64",
            "--batch",
            "1",
            "--style-size",
            "128",
            "--channels",
            "8,16",
            "--blocks",
            "1",
            "--seed",
            "3",
            "--json",
        ];
        if resume {
            args.push("--resume");
        }
        json(&impasto(&args, dir.path()))
    };
    let v = train("2", false);
    assert_eq!(v["steps"], 2);
    assert_eq!(v["styles"][0], "starry_night");
    assert!(dir.path().join("starry.checkpoint.safetensors").is_file());
    let v = train("4", true);
    assert_eq!(v["steps"], 4, "{v}");
    let out = dir.path().join("fast.png");
    let v = json(&impasto(
        &[
            "stylize",
            &content(),
            "--model",
            m,
            "-o",
            out.to_str().unwrap(),
            "--size",
            "96",
            "--style",
            &style(),
            "--json",
        ],
        dir.path(),
    ));
    assert_eq!(
        (v["width"].as_u64(), v["height"].as_u64()),
        (Some(96), Some(96))
    );
    assert!(
        v["gram_cosine"].as_f64().is_some() && v["ssim"].as_f64().is_some(),
        "{v}"
    );
    assert_eq!(v["style_mix"]["starry_night"], 1.0);
    let img = image::open(&out).unwrap();
    assert_eq!((img.width(), img.height()), (96, 96));
    // The ONNX export: written, with its opset; a wrong extension is refused.
    let onnx = dir.path().join("starry.onnx");
    let v = json(&impasto(
        &["export", m, "-o", onnx.to_str().unwrap(), "--json"],
        dir.path(),
    ));
    assert_eq!(v["opset"], 17);
    assert!(std::fs::metadata(&onnx).unwrap().len() > 1000);
    let bad = impasto(&["export", m, "-o", out.to_str().unwrap()], dir.path());
    assert_usage_error(&bad, &[".onnx"]);
    // A blend naming a style the model lacks is the user's mistake.
    let bad = impasto(
        &[
            "stylize",
            &content(),
            "--model",
            m,
            "-o",
            out.to_str().unwrap(),
            "--style-mix",
            "scream:1",
        ],
        dir.path(),
    );
    assert_usage_error(&bad, &["--style-mix", "starry_night"]);
    // Resuming with other options is refused, not silently mixed.
    let other = impasto(
        &[
            "train",
            "--style",
            &style(),
            "--photos",
            photos.to_str().unwrap(),
            "-o",
            m,
            "--crop",
            "96",
            "--resume",
        ],
        dir.path(),
    );
    assert_usage_error(&other, &["other settings"]);
}

#[test]
fn bad_photo_folders_and_damaged_models_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.safetensors");
    let o = out.to_str().unwrap();
    let missing = dir.path().join("nowhere");
    let r = impasto(
        &[
            "train",
            "--style",
            &style(),
            "--photos",
            missing.to_str().unwrap(),
            "-o",
            o,
        ],
        dir.path(),
    );
    assert_usage_error(&r, &["nowhere", "photos folder"]);
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    std::fs::write(empty.join("notes.txt"), "no photos here").unwrap();
    let r = impasto(
        &[
            "train",
            "--style",
            &style(),
            "--photos",
            empty.to_str().unwrap(),
            "-o",
            o,
        ],
        dir.path(),
    );
    assert_usage_error(&r, &["no PNG or JPEG"]);
    let r = impasto(
        &[
            "train",
            "--style",
            &style(),
            "--photos",
            empty.to_str().unwrap(),
            "-o",
            "m.onnx",
        ],
        dir.path(),
    );
    assert_usage_error(&r, &[".safetensors"]);
    let damaged = dir.path().join("damaged.safetensors");
    std::fs::write(
        &damaged,
        b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all",
    )
    .unwrap();
    let png = dir.path().join("x.png");
    let r = impasto(
        &[
            "stylize",
            &content(),
            "--model",
            damaged.to_str().unwrap(),
            "-o",
            png.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert_usage_error(&r, &["damaged.safetensors", "not an Impasto model"]);
    assert!(!png.exists());
}
