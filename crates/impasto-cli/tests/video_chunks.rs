//! `impasto video --chunk I/N` and `impasto video join` as a user runs them: a short clip in
//! two chunks joined back to the frames of the whole run, with its sound once and the seam
//! measured against the inside of the chunks; bad chunk specs and incomplete sets refused.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;

/// A 24-frame, 12 fps clip of a camera panning over the bundled photo, with a 440 Hz tone
/// (cropped in RGB: a crop of 4:2:0 frames moves by even steps only, so every other pair
/// would move more).
fn clip(dir: &Path) -> PathBuf {
    let o = Command::new("ffmpeg")
        .current_dir(dir)
        .args(["-v", "error", "-y", "-loop", "1", "-framerate", "12", "-i"])
        .arg(repo("examples/portrait_astronaut.jpg"))
        .args(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100"])
        .args([
            "-filter_complex",
            "[0:v]scale=160:160,format=rgb24,crop=64:48:x=20+3*n:y=30+n[v]",
        ])
        .args(["-map", "[v]", "-map", "1:a", "-t", "2"])
        .args([
            "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "clip.mp4",
        ])
        .output()
        .expect("ffmpeg runs (apt-get install ffmpeg)");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    dir.join("clip.mp4")
}

/// `(video frames, audio streams)` of a file, by ffprobe.
fn streams(path: &Path) -> (usize, usize) {
    let s = common::streams(path);
    let video = s.iter().find(|s| s["codec_type"] == "video").unwrap();
    let audio = s.iter().filter(|s| s["codec_type"] == "audio").count();
    (
        video["nb_read_frames"].as_str().unwrap().parse().unwrap(),
        audio,
    )
}

fn json(o: &Output) -> serde_json::Value {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).expect("one JSON object")
}

#[test]
fn two_chunks_join_to_the_whole_video_with_a_steady_seam() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let input = clip(d);
    let (i, s) = (input.to_str().unwrap().to_string(), style());
    let run = |out: &str, extra: &[&str]| {
        let out = d.join(out).display().to_string();
        let mut args = vec!["video", &i, "-o", &out, "--style", &s, "--size", "48"];
        args.extend(["--iters", "12", "--later-iters", "4", "--json"]);
        args.extend(extra);
        impasto(&args, d)
    };
    let whole = json(&run("whole.mp4", &[]));
    for k in ["0/2", "1/2"] {
        let name = format!("c{}.mkv", &k[..1]);
        let v = json(&run(&name, &["--chunk", k, "--lead-in", "10"]));
        assert_eq!(v["has_audio"], false);
    }
    let (c0, c1, joined) = (d.join("c0.mkv"), d.join("c1.mkv"), d.join("joined.mp4"));
    let (c0, c1, out) = (
        c0.to_str().unwrap(),
        c1.to_str().unwrap(),
        joined.to_str().unwrap(),
    );
    // Given in any order: each chunk records its place.
    let v = json(&impasto(
        &["video", "join", c1, c0, "-o", out, "--source", &i, "--json"],
        d,
    ));
    assert_eq!(v["frames"], whole["frames"]);
    assert_eq!(streams(&joined), (24, 1), "every frame, and the sound once");
    let seam = &v["seams"][0];
    let (seam_error, inside) = (
        seam["seam_error"].as_f64().unwrap(),
        seam["inside_error"].as_f64().unwrap(),
    );
    assert!(
        seam_error <= 1.5 * inside,
        "seam {seam_error} vs inside {inside}: {v}"
    );
    assert!(v["worst_ratio"].as_f64().unwrap() <= 1.5);
    // Cut at the seam instead, the two chunks' strokes do not match: the lead-in alone does
    // not settle them, the cross-fade is what makes the seam steady.
    let cut = json(&impasto(
        &[
            "video",
            "join",
            c0,
            c1,
            "-o",
            out,
            "--source",
            &i,
            "--cross-fade",
            "0",
            "--json",
        ],
        d,
    ));
    assert!(cut["worst_ratio"].as_f64().unwrap() > 1.5, "{cut}");

    // Bad chunk specs and incomplete sets: exit 2, naming the problem.
    assert_usage_error(&run("c.mkv", &["--chunk", "2/2"]), &["2/2", "I/N"]);
    assert_usage_error(&run("c.mkv", &["--chunk", "0/0"]), &["0/0"]);
    assert_usage_error(&run("c.mkv", &["--chunk", "one/2"]), &["one/2"]);
    assert_usage_error(&run("c.mp4", &["--chunk", "0/2"]), &["c.mp4", ".mkv"]);
    let join = |chunks: &[&str]| {
        let mut args = vec!["video", "join"];
        args.extend(chunks);
        args.extend(["-o", out]);
        impasto(&args, d)
    };
    assert_usage_error(&join(&[c0]), &["chunk 1/2 missing"]);
    assert_usage_error(&join(&[c0, c0, c1]), &["c0.mkv", "both chunk 0/2"]);
    assert_usage_error(&join(&[i.as_str()]), &["clip.mp4", "not a chunk"]);
}
