//! `impasto video --model` as a user runs it: a tiny model trained here, a short panning clip,
//! the steadied and frame-by-frame videos and their warping errors, the video in two chunks
//! joined again, and bad input.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{assert_usage_error, impasto, photo_dir, repo, tiny_model};

/// A 10-frame, 10 fps 96×64 clip of a camera panning over the bundled photo.
fn clip(dir: &Path) -> PathBuf {
    let photo = repo("examples/portrait_astronaut.jpg");
    let o = Command::new("ffmpeg")
        .current_dir(dir)
        .args(["-v", "error", "-y", "-loop", "1", "-framerate", "10", "-i"])
        .arg(&photo)
        .args(["-vf", "scale=256:256,crop=96:64:x=40+2*n:y=60+n", "-t", "1"])
        .args(["-c:v", "libx264", "-pix_fmt", "yuv420p", "clip.mp4"])
        .output()
        .expect("ffmpeg runs (apt-get install ffmpeg)");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    dir.join("clip.mp4")
}

fn frame_count(path: &Path) -> usize {
    let o = Command::new("ffprobe")
        .args(["-v", "error", "-count_frames", "-select_streams", "v:0"])
        .args(["-show_entries", "stream=nb_read_frames", "-of", "csv=p=0"])
        .arg(path)
        .output()
        .expect("ffprobe runs");
    String::from_utf8_lossy(&o.stdout).trim().parse().unwrap()
}

#[test]
fn one_pass_video_is_steadier_than_frame_by_frame() {
    let dir = tempfile::tempdir().unwrap();
    let input = clip(dir.path());
    let model = tiny_model(dir.path(), &photo_dir(dir.path()));
    let out = dir.path().join("out.mp4");
    let (i, o, m) = (
        input.to_str().unwrap(),
        out.to_str().unwrap(),
        model.to_str().unwrap(),
    );
    let args = [
        "video",
        i,
        "--model",
        m,
        "-o",
        o,
        "--size",
        "96",
        "--compare-independent",
        "--json",
    ];
    let run = impasto(&args, dir.path());
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&run.stdout).expect("one JSON object");
    assert_eq!(v["frames"], 10);
    assert_eq!(
        (v["width"].as_u64(), v["height"].as_u64()),
        (Some(96), Some(64))
    );
    assert!(v["frames_per_second"].as_f64().unwrap() > 0.0);
    let steadied = v["styled"]["warping_error"].as_f64().unwrap();
    let plain = v["independent"]["warping_error"].as_f64().unwrap();
    assert!(
        steadied < plain,
        "steadied {steadied} vs frame by frame {plain}"
    );
    assert_eq!(frame_count(&out), 10);
    assert_eq!(frame_count(&dir.path().join("out_independent.mp4")), 10);
    assert!(
        !dir.path().join("out.mp4.impasto-frames").exists(),
        "frames removed"
    );

    // In two chunks (with a lead-in of 3 frames), joined back to the same 10 frames.
    let chunk = |k: &str| {
        let c = dir.path().join(format!("c{}.mkv", &k[..1]));
        let c = c.to_str().unwrap().to_string();
        let args = ["video", i, "--model", m, "-o", &c, "--size", "96"];
        let run = impasto(
            &[&args[..], &["--chunk", k, "--lead-in", "3"]].concat(),
            dir.path(),
        );
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        c
    };
    let (c0, c1) = (chunk("0/2"), chunk("1/2"));
    let joined = dir.path().join("joined.mp4");
    let j = joined.to_str().unwrap();
    let run = impasto(
        &["video", "join", &c0, &c1, "-o", j, "--source", i],
        dir.path(),
    );
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(frame_count(&joined), 10);

    // Bad input: exit 2 with a clear message.
    let bad = |extra: &[&str], words: &[&str]| {
        let mut args = vec!["video", i, "--model", m, "-o", o];
        args.extend(extra);
        assert_usage_error(&impasto(&args, dir.path()), words);
    };
    bad(&["--steadiness", "1.5"], &["steadiness"]);
    bad(&["--style-mix", "nope:1"], &["nope"]);
    bad(&["--resume"], &["--resume"]);
    let missing = dir.path().join("missing.safetensors");
    let mut args = vec!["video", i, "-o", o, "--model"];
    args.push(missing.to_str().unwrap());
    assert_usage_error(&impasto(&args, dir.path()), &["missing.safetensors"]);
}
