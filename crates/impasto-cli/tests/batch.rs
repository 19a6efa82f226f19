//! `impasto batch` as users and schedulers run it: a folder with a broken photo among good
//! ones, reruns that skip what is done, shards that cover the job once, a killed job resumed,
//! manifests with items' own options, and a trained model painting a folder.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{assert_usage_error, impasto, repo, style, tiny_model, training_photos, weights};
use serde_json::Value;

/// A folder with `n` of the training photos and a broken one.
fn photos(dir: &Path, n: usize) -> PathBuf {
    let photos = dir.join("photos");
    std::fs::create_dir_all(photos.join("more")).unwrap();
    for (i, p) in training_photos(n).iter().enumerate() {
        // One in a subfolder: results keep the folders' shape.
        let to = match i {
            0 => photos.join("more"),
            _ => photos.clone(),
        };
        std::fs::copy(p, to.join(p.file_name().unwrap())).unwrap();
    }
    std::fs::write(photos.join("broken.jpg"), b"\xff\xd8 not really a JPEG").unwrap();
    photos
}

/// Quick settings: each item takes a second or two.
const QUICK: &[&str] = &["--size", "64", "--iters", "12", "--style-target", "off"];

fn batch(dir: &Path, extra: &[&str]) -> (Output, Value) {
    let mut args = vec!["batch", "--json"];
    args.extend_from_slice(QUICK);
    args.extend_from_slice(extra);
    let out = impasto(&args, dir);
    let v = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("no JSON report: {}", String::from_utf8_lossy(&out.stderr)));
    (out, v)
}

/// The results in `out` (PNG files), relative; none when it does not exist yet.
fn results(out: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, found: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(root, &p, found);
            } else if p.extension().is_some_and(|x| x == "png") {
                found.push(p.strip_prefix(root).unwrap().display().to_string());
            }
        }
    }
    let mut found = Vec::new();
    walk(out, out, &mut found);
    found.sort();
    found
}

fn sidecar(out: &Path, result: &str) -> Value {
    let p = out.join(result).with_extension("json");
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

#[test]
fn a_broken_photo_fails_alone_and_reruns_make_only_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let photos = photos(dir.path(), 3);
    let out = dir.path().join("out");
    let (p, o, s) = (photos.to_str().unwrap(), out.to_str().unwrap(), style());
    let (run, v) = batch(dir.path(), &[p, "--style", &s, "-o", o]);
    assert_eq!(run.status.code(), Some(3), "some items failed: exit 3");
    assert_eq!(
        (v["items"].as_u64(), v["done"].as_u64()),
        (Some(4), Some(3)),
        "{v}"
    );
    assert_eq!(
        (v["skipped"].as_u64(), v["failed"].as_u64()),
        (Some(0), Some(1))
    );
    let failure = &v["failures"][0];
    assert!(failure["input"].as_str().unwrap().ends_with("broken.jpg"));
    assert!(
        failure["error"].as_str().unwrap().contains("broken.jpg"),
        "{failure}"
    );
    let made = results(&out);
    assert_eq!(
        made,
        [
            "0002_bee_starry_night.png",
            "0003_butterfly_starry_night.png",
            "more/0001_alpaca_starry_night.png"
        ]
    );
    for r in &made {
        let img = image::open(out.join(r)).unwrap();
        assert_eq!(img.width().max(img.height()), 64, "{r}");
        let side = sidecar(&out, r);
        assert_eq!(side["key"].as_str().unwrap().len(), 64);
        assert!(side["metrics"]["ssim"].as_f64().unwrap() > 0.0);
        assert!(side["metrics"]["gram_cosine"].as_f64().unwrap() > 0.0);
        assert_eq!(side["settings"]["size"], 64);
    }
    // The same photo through `stylize` with the same options: the same bytes.
    let single = dir.path().join("single.png");
    let bee = photos.join("0002_bee.jpg");
    let mut args = vec!["stylize", bee.to_str().unwrap(), "--style", &s, "-o"];
    args.push(single.to_str().unwrap());
    args.extend_from_slice(QUICK);
    assert!(impasto(&args, dir.path()).status.success());
    assert!(
        std::fs::read(&single).unwrap() == std::fs::read(out.join(&made[0])).unwrap(),
        "a batch item is the result `stylize` gives"
    );
    let report: Value =
        serde_json::from_slice(&std::fs::read(out.join("reports/shard-0-of-1.json")).unwrap())
            .unwrap();
    assert_eq!(report["done"], 3);
    let sheet = std::fs::read_to_string(out.join("index.html")).unwrap();
    for r in &made {
        assert!(sheet.contains(r.as_str()), "the contact sheet shows {r}");
    }
    assert!(sheet.contains("broken.jpg") && sheet.contains("1 failed"));

    // A rerun makes nothing; a changed photo or setting makes only what it changes.
    let before = std::fs::metadata(out.join(&made[0]))
        .unwrap()
        .modified()
        .unwrap();
    let (_, v) = batch(dir.path(), &[p, "--style", &s, "-o", o]);
    assert_eq!(
        (v["done"].as_u64(), v["skipped"].as_u64()),
        (Some(0), Some(3)),
        "{v}"
    );
    assert_eq!(
        std::fs::metadata(out.join(&made[0]))
            .unwrap()
            .modified()
            .unwrap(),
        before
    );
    let bee = photos.join("0002_bee.jpg");
    let flipped = image::open(&bee).unwrap().fliph();
    flipped.save(&bee).unwrap();
    let (_, v) = batch(dir.path(), &[p, "--style", &s, "-o", o]);
    assert_eq!(
        (v["done"].as_u64(), v["skipped"].as_u64()),
        (Some(1), Some(2)),
        "{v}"
    );
    let (_, v) = batch(dir.path(), &[p, "--style", &s, "-o", o, "--tv-weight", "2"]);
    assert_eq!(
        (v["done"].as_u64(), v["skipped"].as_u64()),
        (Some(3), Some(0)),
        "{v}"
    );
    assert_eq!(results(&out).len(), 3, "no stray files among the results");
}

/// The variables a scheduler sets for task `i` of 4: a Slurm array 5-8, or a Kubernetes
/// Indexed Job (with the count the manifest sets).
fn scheduler_env(way: &str, i: usize) -> Vec<(String, String)> {
    let pairs: Vec<(&str, String)> = match way {
        "slurm" => vec![
            ("SLURM_ARRAY_TASK_ID", (i + 5).to_string()),
            ("SLURM_ARRAY_TASK_MIN", "5".into()),
            ("SLURM_ARRAY_TASK_COUNT", "4".into()),
        ],
        "k8s" => vec![
            ("JOB_COMPLETION_INDEX", i.to_string()),
            ("IMPASTO_SHARD_COUNT", "4".into()),
        ],
        _ => vec![],
    };
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

#[test]
fn shards_from_flags_slurm_and_kubernetes_cover_the_job_once() {
    let dir = tempfile::tempdir().unwrap();
    let photos = photos(dir.path(), 3);
    std::fs::remove_file(photos.join("broken.jpg")).unwrap();
    let second = repo("examples/durer_lion.jpg").display().to_string();
    let (p, s) = (photos.to_str().unwrap(), style());
    // 3 photos × 2 styles = 6 items over 4 shards, given three ways.
    for name in ["flag", "slurm", "k8s"] {
        let out = dir.path().join(name);
        let o = out.to_str().unwrap();
        let mut done = 0;
        for i in 0..4 {
            let shard = format!("{i}/4");
            let mut args = vec![
                "batch", "--json", p, "--style", &s, "--style", &second, "-o", o,
            ];
            args.extend_from_slice(QUICK);
            if name == "flag" {
                args.extend(["--shard", shard.as_str()]);
            }
            let run = Command::new(env!("CARGO_BIN_EXE_impasto"))
                .args(&args)
                .env("IMPASTO_WEIGHTS", weights())
                .envs(scheduler_env(name, i))
                .output()
                .unwrap();
            assert!(
                run.status.success(),
                "{}",
                String::from_utf8_lossy(&run.stderr)
            );
            let v: Value = serde_json::from_slice(&run.stdout).unwrap();
            assert_eq!(
                (v["shard"].as_u64(), v["shards"].as_u64()),
                (Some(i as u64), Some(4))
            );
            assert_eq!(v["job_items"], 6);
            assert_eq!(v["items"].as_u64(), Some(if i < 2 { 2 } else { 1 }), "{v}");
            done += v["done"].as_u64().unwrap();
        }
        assert_eq!(done, 6, "{name}: every item made once");
        assert_eq!(results(&out).len(), 6, "{name}");
        assert_eq!(std::fs::read_dir(out.join("reports")).unwrap().count(), 4);
    }
}

/// Starts a batch of `args` and returns it once `n` results are finished.
fn start_until(args: &[&str], out: &Path, n: usize) -> std::process::Child {
    let child = Command::new(env!("CARGO_BIN_EXE_impasto"))
        .args(args)
        .env("IMPASTO_WEIGHTS", weights())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while finished(out) < n {
        assert!(
            std::time::Instant::now() < deadline,
            "no result within 2 minutes"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child
}

/// Results with their sidecars.
fn finished(out: &Path) -> usize {
    results(out)
        .iter()
        .filter(|r| out.join(r).with_extension("json").exists())
        .count()
}

#[test]
fn a_killed_job_resumes_with_only_the_missing_items() {
    let dir = tempfile::tempdir().unwrap();
    let photos = photos(dir.path(), 5);
    std::fs::remove_file(photos.join("broken.jpg")).unwrap();
    let out = dir.path().join("out");
    let (p, o, s) = (photos.to_str().unwrap(), out.to_str().unwrap(), style());
    let mut args = vec!["batch", "--json", p, "--style", &s, "-o", o, "--jobs", "1"];
    args.extend_from_slice(QUICK);

    // Killed outright (a node lost): no report, the finished results stay.
    let mut child = start_until(&args, &out, 1);
    child.kill().unwrap();
    child.wait().unwrap();
    let first = finished(&out);
    assert!(
        (1..5).contains(&first),
        "killed part-way: {first} of 5 done"
    );

    // Stopped by the scheduler (SIGTERM): a report of what is left, the shell's exit code.
    let child = start_until(&args, &out, first + 1);
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let stopped = child.wait_with_output().unwrap();
    assert_eq!(stopped.status.code(), Some(143), "128 + SIGTERM");
    let v: Value = serde_json::from_slice(&stopped.stdout).expect("a report when stopped");
    assert_eq!(v["stopped_by"], 15);
    assert_eq!(v["skipped"].as_u64(), Some(first as u64), "{v}");
    let second = finished(&out);
    assert_eq!(v["done"].as_u64(), Some((second - first) as u64), "{v}");
    assert_eq!(v["left"].as_u64(), Some(5 - second as u64), "{v}");

    // The same command again makes only what is missing.
    let (run, v) = batch(dir.path(), &[p, "--style", &s, "-o", o]);
    assert!(run.status.success());
    assert_eq!(v["skipped"].as_u64(), Some(second as u64), "{v}");
    assert_eq!(v["done"].as_u64(), Some(5 - second as u64), "{v}");
    for r in results(&out) {
        image::open(out.join(&r)).expect("every result is a whole image");
    }
    assert_eq!(results(&out).len(), 5);
    let leftovers: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "the killed run's temporary files are gone: {leftovers:?}"
    );
}

#[test]
fn manifest_items_take_their_own_styles_outputs_and_options() {
    let dir = tempfile::tempdir().unwrap();
    let photos = photos(dir.path(), 2);
    let lion = repo("examples/durer_lion.jpg");
    let manifest = dir.path().join("job.jsonl");
    let line = |v: Value| v.to_string() + "\n";
    let text = [
        line(serde_json::json!({"input": photos.join("0002_bee.jpg"), "style": style(), "output": "a/bee.png", "size": 48})),
        line(serde_json::json!({"input": photos.join("more/0001_alpaca.jpg"), "style": [format!("{}:0.5", style()), format!("{}:0.5", lion.display())]})),
        line(serde_json::json!({"input": photos.join("0002_bee.jpg"), "style": style(), "output": "bad.png", "size": "huge"})),
    ]
    .concat();
    std::fs::write(&manifest, text).unwrap();
    let out = dir.path().join("out");
    let (run, v) = batch(
        dir.path(),
        &[manifest.to_str().unwrap(), "-o", out.to_str().unwrap()],
    );
    assert_eq!(run.status.code(), Some(3));
    assert_eq!(
        (v["done"].as_u64(), v["failed"].as_u64()),
        (Some(2), Some(1)),
        "{v}"
    );
    assert!(
        v["failures"][0]["error"]
            .as_str()
            .unwrap()
            .contains("--size"),
        "{v}"
    );
    assert_eq!(
        results(&out),
        ["0001_alpaca_starry_night+durer_lion.png", "a/bee.png"]
    );
    let bee = image::open(out.join("a/bee.png")).unwrap();
    assert_eq!(bee.width().max(bee.height()), 48, "the item's own --size");
    let blend = sidecar(&out, "0001_alpaca_starry_night+durer_lion.png");
    assert_eq!(blend["styles"].as_array().unwrap().len(), 2);

    let escape = dir.path().join("escape.jsonl");
    std::fs::write(
        &escape,
        line(serde_json::json!({"input": "x.jpg", "style": "s.jpg", "output": "../x.png"})),
    )
    .unwrap();
    let bad = impasto(
        &[
            "batch",
            escape.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert_usage_error(
        &bad,
        &["escape.jsonl", "line 1", "inside the output folder"],
    );
    let mask = impasto(
        &[
            "batch",
            photos.to_str().unwrap(),
            "--style",
            &style(),
            "--mask",
            &style(),
            "-o",
            out.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert_usage_error(&mask, &["--mask", "impasto stylize"]);
    let shard = impasto(
        &[
            "batch",
            photos.to_str().unwrap(),
            "--style",
            &style(),
            "-o",
            "x",
            "--shard",
            "4/4",
        ],
        dir.path(),
    );
    assert_usage_error(&shard, &["4/4", "I/N"]);
}

#[test]
fn a_trained_model_paints_a_folder_in_one_pass_each() {
    let dir = tempfile::tempdir().unwrap();
    let photos = photos(dir.path(), 2);
    std::fs::remove_file(photos.join("broken.jpg")).unwrap();
    let model = tiny_model(dir.path(), &photos);
    let out = dir.path().join("out");
    let args = [
        photos.to_str().unwrap(),
        "--model",
        model.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ];
    let (run, v) = batch(dir.path(), &args);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(v["done"], 2);
    assert_eq!(results(&out), ["0002_bee_m.png", "more/0001_alpaca_m.png"]);
    let side = sidecar(&out, "0002_bee_m.png");
    assert_eq!(side["metrics"]["iters"], 1);
    assert_eq!(side["styles"], serde_json::json!(["starry_night:1"]));
    let (_, again) = batch(dir.path(), &args);
    assert_eq!(again["skipped"], 2);
    // A bigger size is another result.
    let mut bigger = args.to_vec();
    bigger.extend(["--size", "96"]);
    let (_, other) = batch(dir.path(), &bigger);
    assert_eq!(other["done"], 2, "{other}");
}
