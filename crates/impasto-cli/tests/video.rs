//! `impasto video` and `impasto metrics-video` as a user runs them, through the real ffmpeg:
//! sound and frame rate kept, temporal consistency measured, interruption and resume, and one
//! clear error (exit code 2) for each kind of bad input.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// Runs ffmpeg with `args` (split on spaces) in `dir`.
fn ffmpeg(dir: &Path, args: &str) {
    let o = Command::new("ffmpeg")
        .current_dir(dir)
        .args(["-v", "error", "-y"])
        .args(args.split(' '))
        .output()
        .expect("ffmpeg runs (apt-get install ffmpeg)");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// A 6-frame, 12 fps clip of a camera panning over the bundled photo, with a 440 Hz tone.
fn clip(dir: &Path) -> PathBuf {
    let photo = repo("examples/portrait_astronaut.jpg");
    ffmpeg(
        dir,
        &format!(
            "-loop 1 -framerate 12 -i {} -f lavfi -i sine=frequency=440:sample_rate=44100 \
             -filter_complex [0:v]scale=160:160,crop=80:60:x=20+3*n:y=30+n[v] \
             -map [v] -map 1:a -t 0.5 -c:v libx264 -pix_fmt yuv420p -c:a aac clip.mp4",
            photo.display()
        ),
    );
    dir.join("clip.mp4")
}

/// `(frames, frame rate, audio seconds or None)` of a video, by ffprobe.
fn probe(path: &Path) -> (usize, String, Option<f64>) {
    let streams = common::streams(path);
    let video = streams.iter().find(|s| s["codec_type"] == "video").unwrap();
    let audio = streams.iter().find(|s| s["codec_type"] == "audio");
    (
        video["nb_read_frames"].as_str().unwrap().parse().unwrap(),
        video["r_frame_rate"].as_str().unwrap().to_string(),
        audio.map(|a| a["duration"].as_str().unwrap().parse().unwrap()),
    )
}

fn video_args<'a>(input: &'a str, out: &'a str, style: &'a str) -> Vec<&'a str> {
    vec![
        "video",
        input,
        "-o",
        out,
        "--style",
        style,
        "--size",
        "48",
        "--iters",
        "12",
        "--later-iters",
        "4",
    ]
}

fn json(o: &std::process::Output) -> serde_json::Value {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).expect("one JSON object")
}

#[test]
fn video_keeps_sound_and_frame_rate_and_is_steadier_than_frame_by_frame() {
    let dir = tempfile::tempdir().unwrap();
    let input = clip(dir.path());
    let out = dir.path().join("out.mp4");
    let (i, o, s) = (input.to_str().unwrap(), out.to_str().unwrap(), style());
    let mut args = video_args(i, o, &s);
    args.extend(["--compare-independent", "--json"]);
    let v = json(&impasto(&args, dir.path()));
    assert_eq!(v["frames"], 6);
    assert_eq!(v["fps"], 12.0);
    assert_eq!(
        (v["width"].as_u64(), v["height"].as_u64()),
        (Some(48), Some(36))
    );
    assert_eq!(v["has_audio"], true);
    let styled = v["styled"]["warping_error"].as_f64().unwrap();
    let independent = v["independent"]["warping_error"].as_f64().unwrap();
    assert!(styled < independent, "{styled} vs {independent}");
    assert_eq!(v["styled"]["later_frame_iters"], 4.0);
    assert!(
        !dir.path().join("out.mp4.impasto-work").exists(),
        "work folder removed"
    );

    let (frames, rate, audio) = probe(&out);
    assert_eq!((frames, rate.as_str()), (6, "12/1"));
    let audio = audio.expect("the sound is kept");
    assert!((audio - 0.5).abs() < 0.1, "sound lasts {audio} s");
    let independent_out = dir.path().join("out_independent.mp4");
    assert_eq!(probe(&independent_out).0, 6);

    // metrics-video ranks the two the same way from the encoded files.
    let measure = |p: &Path| {
        let o = impasto(
            &[
                "metrics-video",
                p.to_str().unwrap(),
                "--reference",
                i,
                "--json",
            ],
            dir.path(),
        );
        json(&o)["warping_error"].as_f64().unwrap()
    };
    let (a, b) = (measure(&out), measure(&independent_out));
    assert!(a < b, "metrics-video: styled {a} vs frame by frame {b}");
    // The input moves exactly with itself.
    assert!(measure(&input) < 1e-3);
}

#[test]
fn an_interrupted_video_resumes_without_redoing_frames() {
    let dir = tempfile::tempdir().unwrap();
    let input = clip(dir.path());
    let out = dir.path().join("out.gif");
    let (i, o, s) = (input.to_str().unwrap(), out.to_str().unwrap(), style());
    let args = video_args(i, o, &s);
    let mut child = Command::new(env!("CARGO_BIN_EXE_impasto"))
        .args(&args)
        .env("IMPASTO_WEIGHTS", weights())
        .env("IMPASTO_CACHE", dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let third = dir.path().join("out.gif.impasto-work/styled/000002.png");
    let start = Instant::now();
    while !third.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "no frames written"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!out.exists(), "no output from an interrupted run");

    // Starting over would throw the frames away: refused, with the way out.
    assert_usage_error(&impasto(&args, dir.path()), &["--resume", "impasto-work"]);

    let mut resume = args.clone();
    resume.extend(["--resume", "--keep-frames", "--json"]);
    let v = json(&impasto(&resume, dir.path()));
    let resumed = v["styled"]["frames_resumed"].as_u64().unwrap();
    assert!((3..6).contains(&resumed), "{resumed} frames resumed");
    assert_eq!(v["frames"], 6);
    assert_eq!(probe(&out).0, 6);

    // The kept frames measure as the run reported (8-bit PNGs against its own frames).
    let frames = dir.path().join("out.gif.impasto-work/styled");
    let m = json(&impasto(
        &[
            "metrics-video",
            frames.to_str().unwrap(),
            "--fps",
            "12",
            "--reference",
            i,
            "--json",
        ],
        dir.path(),
    ));
    let (measured, reported) = (
        m["warping_error"].as_f64().unwrap(),
        v["styled"]["warping_error"].as_f64().unwrap(),
    );
    assert_eq!(m["frames"], 6);
    assert!(
        (measured - reported).abs() <= 0.1 * reported,
        "metrics-video {measured} vs video {reported}"
    );
}

#[test]
fn bad_videos_and_a_missing_ffmpeg_get_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let s = style();
    let out = dir.path().join("out.mp4");
    let o = out.to_str().unwrap();

    let text = dir.path().join("notes.mp4");
    std::fs::write(&text, "not a video").unwrap();
    let t = text.to_str().unwrap();
    assert_usage_error(&impasto(&video_args(t, o, &s), dir.path()), &[t, "video"]);

    ffmpeg(
        dir.path(),
        "-f lavfi -i testsrc2=size=96x64:rate=10 -t 1 -frames:v 0 -c:v libx264 zero.mp4",
    );
    let zero = dir.path().join("zero.mp4");
    let z = zero.to_str().unwrap();
    assert_usage_error(
        &impasto(&video_args(z, o, &s), dir.path()),
        &[z, "no video"],
    );

    let input = clip(dir.path());
    let i = input.to_str().unwrap();
    let bad_out = dir.path().join("out.xyz");
    assert_usage_error(
        &impasto(&video_args(i, bad_out.to_str().unwrap(), &s), dir.path()),
        &[".xyz", ".mp4"],
    );
    assert_usage_error(
        &impasto(&["metrics-video", t, "--reference", i], dir.path()),
        &[t],
    );

    let empty_path = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_impasto"))
        .args(video_args(i, o, &s))
        .env("PATH", empty_path.path())
        .env_remove("IMPASTO_FFMPEG")
        .env_remove("IMPASTO_FFPROBE")
        .env("IMPASTO_WEIGHTS", weights())
        .output()
        .unwrap();
    assert_usage_error(&o, &["ffmpeg", "apt-get install ffmpeg"]);
    assert!(!out.exists());
    assert!(
        !dir.path().join("out.mp4.impasto-work").exists(),
        "failed starts leave no work folder"
    );
}

/// Mean absolute difference per channel between two 8-bit RGB images over the columns `xs`.
fn diff_in(a: &image::RgbImage, b: &image::RgbImage, xs: std::ops::Range<u32>) -> f64 {
    let (mut sum, mut n) = (0.0, 0);
    for (x, y, p) in a.enumerate_pixels().filter(|(x, _, _)| xs.contains(x)) {
        let q = b.get_pixel(x, y);
        sum += (0..3)
            .map(|c| (p[c] as f64 - q[c] as f64).abs())
            .sum::<f64>()
            / 3.0;
        n += 1;
    }
    sum / n as f64
}

/// A folder of one mask per frame: each frame is styled on its mask's left half only, and a
/// frame whose mask is all black is the input frame.
#[test]
fn masks_follow_the_frames() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Lossless, at the size it is stylised, so input frames compare pixel for pixel.
    ffmpeg(
        d,
        &format!(
            "-loop 1 -framerate 12 -i {} -vf scale=128:128,crop=64:48:x=20+2*n:y=30+n \
             -frames:v 5 -c:v ffv1 clip.mkv",
            repo("examples/portrait_astronaut.jpg").display()
        ),
    );
    std::fs::create_dir(d.join("in")).unwrap();
    ffmpeg(d, "-i clip.mkv in/%06d.png");
    let masks = d.join("masks");
    std::fs::create_dir(&masks).unwrap();
    for i in 0..5 {
        let black = i == 2;
        image::GrayImage::from_fn(64, 48, |x, _| {
            image::Luma([if x < 32 && !black { 255 } else { 0 }])
        })
        .save(masks.join(format!("mask_{i}.png")))
        .unwrap();
    }
    let (s, m) = (style(), masks.to_str().unwrap().to_string());
    let (clip, out) = (d.join("clip.mkv"), d.join("out"));
    let (clip, out) = (clip.to_str().unwrap(), out.to_str().unwrap());
    let mut args = video_args(clip, out, &s);
    let size = args.iter().position(|&a| a == "--size").unwrap();
    args[size + 1] = "64";
    args.extend(["--mask", &m]);
    let o = impasto(&args, d);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for i in 0..5 {
        // ffmpeg numbers the input's frames from 1, the output's from 0.
        let input = d.join("in").join(format!("{:06}.png", i + 1));
        let input = image::open(input).unwrap().to_rgb8();
        let out = d.join("out").join(format!("{i:06}.png"));
        let out = image::open(out).unwrap().to_rgb8();
        let (styled, kept) = (diff_in(&out, &input, 0..28), diff_in(&out, &input, 36..64));
        assert!(
            kept < 3.0,
            "frame {i}: the unmasked half moved {kept} from the photo"
        );
        match i {
            // Within the colour conversion of two ffmpeg decodes, as the kept half is.
            2 => assert!(styled < 3.0, "frame 2 has no mask but moved {styled}"),
            _ => assert!(
                styled > 12.0,
                "frame {i}: the masked half moved only {styled}"
            ),
        }
    }

    // Too few masks for the frames: refused before any work, naming the folder.
    std::fs::remove_file(masks.join("mask_4.png")).unwrap();
    let o = impasto(&args, d);
    assert_usage_error(&o, &["masks", "4 masks for 5 frames"]);
}
