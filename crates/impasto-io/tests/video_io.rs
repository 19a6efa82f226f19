//! Reading and writing video through the real ffmpeg and ffprobe programs, on tiny clips
//! made in a temporary folder with ffmpeg's built-in sources.

use std::path::{Path, PathBuf};
use std::process::Command;

use impasto::image::Rgb;
use impasto_io::codec as io;
use impasto_io::video::{AudioSource, EncodeOptions, Ffmpeg, FrameReader, ReadOptions};
use impasto_io::Error;

fn ffmpeg() -> Ffmpeg {
    Ffmpeg::locate().expect("the video tests need ffmpeg and ffprobe on PATH")
}

/// Runs the ffmpeg program with `args` (split at spaces; quiet, overwriting) in `dir` and
/// expects success.
fn run_ffmpeg(dir: &Path, args: &str) {
    let status = Command::new(ffmpeg().ffmpeg_path())
        .current_dir(dir)
        .args(["-nostdin", "-v", "error", "-y"])
        .args(args.split_whitespace())
        .status()
        .unwrap();
    assert!(status.success(), "ffmpeg {args:?} failed");
}

/// A 96x64, 10 fps, 1.2 s (12 frames) clip of moving test pattern with a 440 Hz tone.
fn test_clip(dir: &Path) -> PathBuf {
    run_ffmpeg(
        dir,
        "-f lavfi -i testsrc2=size=96x64:rate=10 -f lavfi -i sine=frequency=440:sample_rate=44100 \
         -t 1.2 -c:v libx264 -pix_fmt yuv420p -c:a aac -shortest clip.mp4",
    );
    dir.join("clip.mp4")
}

fn read_all(reader: FrameReader) -> Vec<Rgb> {
    reader.map(|f| f.unwrap()).collect()
}

fn input_msg(result: Result<impl std::fmt::Debug, Error>, path: &Path) -> String {
    match result {
        Err(Error::Input { path: p, msg }) => {
            assert_eq!(p, path);
            msg
        }
        other => panic!(
            "expected an input error about {}, got {other:?}",
            path.display()
        ),
    }
}

fn max_diff(a: &Rgb, b: &Rgb) -> f32 {
    assert_eq!((a.width, a.height), (b.width, b.height));
    a.data
        .iter()
        .zip(&b.data)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

fn assert_colour(img: &Rgb, x: usize, y: usize, want: [f32; 3], tolerance: f32) {
    let got = img.pixel(x, y);
    for c in 0..3 {
        assert!(
            (got[c] - want[c]).abs() <= tolerance,
            "pixel ({x},{y}) is {got:?}, expected about {want:?}"
        );
    }
}

/// The colour of frame `i` in the frames [`write_frames`] makes.
fn frame_colour(i: usize) -> [f32; 3] {
    [(i * 20) as f32, 128.0, 255.0 - (i * 20) as f32]
}

/// Writes `n` solid `w`x`h` frames 000000.png, … into `dir/frames`.
fn write_frames(dir: &Path, n: usize, w: usize, h: usize) -> PathBuf {
    let frames = dir.join("frames");
    std::fs::create_dir_all(&frames).unwrap();
    for i in 0..n {
        let img = Rgb::filled(w, h, frame_colour(i));
        io::save(
            &frames.join(format!("{i:06}.png")),
            &img,
            None,
            io::BitDepth::Eight,
        )
        .unwrap();
    }
    frames
}

/// Seconds of sound in `path`, by decoding it.
fn audio_seconds(path: &Path) -> f64 {
    let out = Command::new(ffmpeg().ffmpeg_path())
        .args(["-nostdin", "-v", "error", "-i"])
        .arg(path)
        .args([
            "-map", "0:a:0", "-ac", "1", "-ar", "8000", "-f", "s16le", "pipe:1",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "no sound in {}", path.display());
    out.stdout.len() as f64 / 16000.0
}

#[test]
fn probe_reports_size_rate_frames_and_sound() {
    let dir = tempfile::tempdir().unwrap();
    let info = ffmpeg().probe(&test_clip(dir.path())).unwrap();
    assert_eq!((info.width, info.height), (96, 64));
    assert_eq!(info.fps, 10.0);
    assert_eq!(info.frames, Some(12));
    assert!((info.duration_s.unwrap() - 1.2).abs() < 0.01);
    assert!(info.has_audio);

    // WebM stores no frame count: it is estimated from the duration.
    run_ffmpeg(
        dir.path(),
        "-f lavfi -i testsrc2=size=40x30:rate=25 -t 0.4 -c:v libvpx-vp9 mute.webm",
    );
    let info = ffmpeg().probe(&dir.path().join("mute.webm")).unwrap();
    assert_eq!((info.width, info.height, info.fps), (40, 30, 25.0));
    assert_eq!(info.frames, Some(10));
    assert!(!info.has_audio);
}

#[test]
fn reads_every_frame_at_the_video_size() {
    let dir = tempfile::tempdir().unwrap();
    let reader = ffmpeg()
        .read(&test_clip(dir.path()), &ReadOptions::default())
        .unwrap();
    assert_eq!(
        (reader.width(), reader.height(), reader.fps()),
        (96, 64, 10.0)
    );
    let frames = read_all(reader);
    assert_eq!(frames.len(), 12);
    assert!(frames.iter().all(|f| (f.width, f.height) == (96, 64)));
    // The pattern moves: consecutive frames differ.
    assert!(max_diff(&frames[0], &frames[1]) > 50.0);
}

#[test]
fn solid_colour_reads_back_close_and_scales() {
    let dir = tempfile::tempdir().unwrap();
    run_ffmpeg(
        dir.path(),
        "-f lavfi -i color=c=red:size=64x48:rate=10 -t 0.5 -c:v libx264 -pix_fmt yuv420p \
         red.mp4",
    );
    let red = dir.path().join("red.mp4");
    let frames = read_all(ffmpeg().read(&red, &ReadOptions::default()).unwrap());
    assert_eq!(frames.len(), 5);
    for f in &frames {
        for (x, y) in [(0, 0), (31, 20), (63, 47)] {
            assert_colour(f, x, y, [255.0, 0.0, 0.0], 8.0);
        }
    }
    let opts = ReadOptions {
        size: Some((21, 13)),
        ..Default::default()
    };
    let reader = ffmpeg().read(&red, &opts).unwrap();
    assert_eq!((reader.width(), reader.height()), (21, 13));
    let small = read_all(reader);
    assert_eq!(small.len(), 5);
    assert_colour(&small[4], 10, 6, [255.0, 0.0, 0.0], 8.0);
    assert_colour(&small[4], 20, 12, [255.0, 0.0, 0.0], 8.0);
}

#[test]
fn scaling_keeps_the_picture() {
    let dir = tempfile::tempdir().unwrap();
    let clip = test_clip(dir.path());
    let full = read_all(ffmpeg().read(&clip, &ReadOptions::default()).unwrap());
    let opts = ReadOptions {
        size: Some((48, 32)),
        ..Default::default()
    };
    let half = read_all(ffmpeg().read(&clip, &opts).unwrap());
    assert_eq!(half.len(), 12);
    // ffmpeg's downscale matches ours closely away from sharp edges: compare the means.
    let ours = impasto::image::resize::resize(&full[6], 48, 32);
    let mean = |img: &Rgb| img.data.iter().sum::<f32>() / img.data.len() as f32;
    assert!((mean(&ours) - mean(&half[6])).abs() < 2.0);
}

#[test]
fn fps_resampling_gives_the_expected_count() {
    let dir = tempfile::tempdir().unwrap();
    let clip = test_clip(dir.path());
    for (fps, expected) in [(5.0, 6), (25.0, 30), (10.0, 12)] {
        let opts = ReadOptions {
            fps: Some(fps),
            ..Default::default()
        };
        let reader = ffmpeg().read(&clip, &opts).unwrap();
        assert_eq!(reader.fps(), fps);
        assert_eq!(read_all(reader).len(), expected, "at {fps} fps");
    }
}

#[test]
fn ranges_are_exact() {
    let dir = tempfile::tempdir().unwrap();
    let clip = test_clip(dir.path());
    let full = read_all(ffmpeg().read(&clip, &ReadOptions::default()).unwrap());
    let opts = ReadOptions {
        range: Some(3..7),
        ..Default::default()
    };
    let part = read_all(ffmpeg().read(&clip, &opts).unwrap());
    assert_eq!(part.len(), 4);
    for (k, frame) in part.iter().enumerate() {
        assert!(max_diff(frame, &full[3 + k]) < 0.5, "frame {k} of 3..7");
        assert!(max_diff(frame, &full[2 + k]) > 50.0);
    }

    // Indices count after resampling.
    let at = |fps: f64, range: Option<std::ops::Range<usize>>| {
        let opts = ReadOptions {
            fps: Some(fps),
            range,
            ..Default::default()
        };
        read_all(ffmpeg().read(&clip, &opts).unwrap())
    };
    let slow = at(5.0, None);
    let slow_part = at(5.0, Some(2..4));
    assert_eq!(slow_part.len(), 2);
    assert!(max_diff(&slow_part[0], &slow[2]) < 0.5);
    assert!(max_diff(&slow_part[1], &slow[3]) < 0.5);
}

#[test]
fn ranges_past_the_end_yield_fewer_frames_and_empty_ranges_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let clip = test_clip(dir.path());
    let count = |range: std::ops::Range<usize>| {
        let opts = ReadOptions {
            range: Some(range),
            ..Default::default()
        };
        read_all(ffmpeg().read(&clip, &opts).unwrap()).len()
    };
    assert_eq!(count(10..20), 2);
    assert_eq!(count(20..30), 0);
    assert_eq!(count(0..usize::MAX), 12);
    let opts = ReadOptions {
        range: Some(5..5),
        ..Default::default()
    };
    match ffmpeg().read(&clip, &opts) {
        Err(Error::Usage(msg)) => assert!(msg.contains("5..5") && msg.contains("empty"), "{msg}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn rotated_and_anamorphic_videos_read_as_displayed() {
    let dir = tempfile::tempdir().unwrap();
    test_clip(dir.path());
    run_ffmpeg(
        dir.path(),
        "-i clip.mp4 -c copy -metadata:s:v rotate=90 rot.mp4",
    );
    run_ffmpeg(
        dir.path(),
        "-f lavfi -i testsrc2=size=48x32:rate=10 -t 0.3 -vf setsar=2 -c:v libx264 wide.mp4",
    );
    for (name, size) in [("rot.mp4", (64, 96)), ("wide.mp4", (96, 32))] {
        let path = dir.path().join(name);
        let info = ffmpeg().probe(&path).unwrap();
        assert_eq!((info.width, info.height), size, "{name}");
        let frames = read_all(ffmpeg().read(&path, &ReadOptions::default()).unwrap());
        assert!(!frames.is_empty());
        assert!(frames.iter().all(|f| (f.width, f.height) == size), "{name}");
    }
}

#[test]
fn unreadable_videos_are_input_errors() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("clip.mp4");
    std::fs::write(&text, "hello, I am text\n").unwrap();
    for result in [
        ffmpeg().probe(&text).map(|_| ()),
        ffmpeg().read(&text, &ReadOptions::default()).map(|_| ()),
    ] {
        let msg = input_msg(result, &text);
        assert!(
            msg.contains("cannot read this video: ")
                && msg.contains("Invalid data")
                && msg.contains("mp4, webm, avi, mov, mkv, gif")
                && msg.contains("folder of PNG/JPEG frames"),
            "{msg}"
        );
    }

    let missing = dir.path().join("missing.webm");
    let msg = input_msg(ffmpeg().probe(&missing), &missing);
    assert!(msg.contains("not found"), "{msg}");

    // A download cut short.
    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    let bytes = std::fs::read(test_clip(&sub)).unwrap();
    let cut = dir.path().join("cut.mp4");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let msg = input_msg(ffmpeg().probe(&cut), &cut);
    assert!(msg.contains("cannot read this video"), "{msg}");
}

#[test]
fn videos_without_frames_are_input_errors() {
    let dir = tempfile::tempdir().unwrap();
    test_clip(dir.path());
    run_ffmpeg(
        dir.path(),
        "-f lavfi -i testsrc2=size=96x64:rate=10 -t 1 -frames:v 0 -c:v libx264 zero.mp4",
    );
    run_ffmpeg(dir.path(), "-i clip.mp4 -map 0:a -c copy sound.m4a");
    // Stream copy from past the end: packets remain, but the edit list shows none of them.
    run_ffmpeg(dir.path(), "-ss 5 -i clip.mp4 -c copy cut.mp4");

    let zero = dir.path().join("zero.mp4");
    let msg = input_msg(ffmpeg().probe(&zero), &zero);
    assert!(msg.contains("no video"), "{msg}");
    let sound = dir.path().join("sound.m4a");
    let msg = input_msg(ffmpeg().read(&sound, &ReadOptions::default()), &sound);
    assert!(msg.contains("only sound, no video stream"), "{msg}");
    let cut = dir.path().join("cut.mp4");
    let msg = input_msg(ffmpeg().probe(&cut), &cut);
    assert!(msg.contains("no video"), "{msg}");
}

#[test]
fn missing_programs_say_how_to_install() {
    let dir = tempfile::tempdir().unwrap();
    let err = Ffmpeg::at(dir.path().join("ffmpeg"), dir.path().join("ffprobe")).unwrap_err();
    assert!(err.is_user_error());
    let msg = err.to_string();
    for part in [
        "ffmpeg was not found",
        "apt-get install ffmpeg",
        "brew install ffmpeg",
        "winget install ffmpeg",
        "IMPASTO_FFMPEG",
    ] {
        assert!(msg.contains(part), "{msg}");
    }
    let real = ffmpeg();
    let msg = Ffmpeg::at(real.ffmpeg_path().to_path_buf(), dir.path().join("ffprobe"))
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("ffprobe was not found") && msg.contains("IMPASTO_FFPROBE"),
        "{msg}"
    );
}

#[test]
fn folders_of_frames_read_in_name_order() {
    let dir = tempfile::tempdir().unwrap();
    let frames = dir.path().join("shots");
    std::fs::create_dir(&frames).unwrap();
    // Unpadded numbers: 2 comes before 10.
    for i in 1..=10 {
        let img = Rgb::filled(8, 6, frame_colour(i));
        let name = if i % 2 == 0 {
            format!("{i}.png")
        } else {
            format!("{i}.jpg")
        };
        io::save(&frames.join(name), &img, None, io::BitDepth::Eight).unwrap();
    }
    // A frame of another size is resized to the first's; other files are ignored.
    io::save(
        &frames.join("11.png"),
        &Rgb::filled(16, 12, frame_colour(11)),
        None,
        io::BitDepth::Eight,
    )
    .unwrap();
    std::fs::write(frames.join("notes.txt"), "not a frame").unwrap();

    let info = ffmpeg().probe(&frames).unwrap();
    assert_eq!((info.width, info.height, info.frames), (8, 6, Some(11)));
    assert_eq!((info.fps, info.has_audio), (25.0, false));

    let all = read_all(ffmpeg().read(&frames, &ReadOptions::default()).unwrap());
    assert_eq!(all.len(), 11);
    for (k, f) in all.iter().enumerate() {
        assert_eq!((f.width, f.height), (8, 6));
        assert_colour(f, 4, 3, frame_colour(k + 1), 3.0);
    }
    let opts = ReadOptions {
        size: Some((4, 3)),
        fps: Some(12.0),
        range: Some(8..20),
    };
    let reader = ffmpeg().read(&frames, &opts).unwrap();
    assert_eq!(
        (reader.width(), reader.height(), reader.fps()),
        (4, 3, 12.0)
    );
    let part = read_all(reader);
    assert_eq!(part.len(), 3);
    assert_colour(&part[0], 2, 1, frame_colour(9), 3.0);
}

#[test]
fn empty_folders_are_input_errors() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let msg = input_msg(ffmpeg().probe(&empty), &empty);
    assert!(
        msg.contains("empty folder") && msg.contains(".png or .jpg"),
        "{msg}"
    );

    let junk = dir.path().join("junk");
    std::fs::create_dir(&junk).unwrap();
    std::fs::write(junk.join("a.txt"), "x").unwrap();
    std::fs::write(junk.join("b.mp3"), "x").unwrap();
    let msg = input_msg(ffmpeg().read(&junk, &ReadOptions::default()), &junk);
    assert!(
        msg.contains("no PNG or JPEG frames (only 2 other files)"),
        "{msg}"
    );
}

#[test]
fn encode_round_trips_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let clip = test_clip(dir.path());
    let frames = write_frames(dir.path(), 12, 64, 48);
    let opts = EncodeOptions {
        fps: 10.0,
        audio: Some(AudioSource {
            path: clip,
            start_s: 0.0,
            duration_s: Some(1.2),
        }),
    };
    for (name, sound) in [
        ("out.mp4", true),
        ("out.webm", true),
        ("out.avi", true),
        ("out.gif", false),
        ("out_frames", false),
    ] {
        let out = dir.path().join(name);
        ffmpeg().encode(&frames, &out, &opts).unwrap();
        let info = ffmpeg().probe(&out).unwrap();
        assert_eq!((info.width, info.height), (64, 48), "{name}");
        assert_eq!(info.has_audio, sound, "{name}");
        if name == "out_frames" {
            assert_eq!(info.frames, Some(12));
        } else {
            assert!((info.fps - 10.0).abs() < 1e-6, "{name}: {} fps", info.fps);
        }
        if name == "out.mp4" {
            assert_eq!(info.frames, Some(12));
        }
        if sound {
            let s = audio_seconds(&out);
            assert!((s - 1.2).abs() < 0.1, "{name}: {s} s of sound");
        }
        let back = read_all(ffmpeg().read(&out, &ReadOptions::default()).unwrap());
        assert_eq!(back.len(), 12, "{name}");
        for (i, f) in back.iter().enumerate() {
            assert_colour(f, 32, 24, frame_colour(i), 6.0);
        }
    }
    // No temporary files are left beside the outputs.
    let stray: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(stray.is_empty(), "{stray:?}");
}

#[test]
fn sound_follows_the_frame_range() {
    let dir = tempfile::tempdir().unwrap();
    let clip = test_clip(dir.path());
    let frames = write_frames(dir.path(), 5, 32, 24);
    let out = dir.path().join("part.mp4");
    let with = |start_s: f64, duration_s: Option<f64>| EncodeOptions {
        fps: 10.0,
        audio: Some(AudioSource {
            path: clip.clone(),
            start_s,
            duration_s,
        }),
    };
    ffmpeg()
        .encode(&frames, &out, &with(0.5, Some(0.5)))
        .unwrap();
    let s = audio_seconds(&out);
    assert!((s - 0.5).abs() < 0.06, "{s} s of sound");
    assert_eq!(ffmpeg().probe(&out).unwrap().frames, Some(5));

    // Sound never runs past the last frame.
    ffmpeg().encode(&frames, &out, &with(0.0, None)).unwrap();
    let s = audio_seconds(&out);
    assert!((s - 0.5).abs() < 0.06, "{s} s of sound");

    // A source without sound adds none.
    ffmpeg()
        .encode(
            &frames,
            &dir.path().join("mute.mp4"),
            &EncodeOptions {
                fps: 10.0,
                audio: None,
            },
        )
        .unwrap();
    let mut opts = with(0.0, None);
    opts.audio.as_mut().unwrap().path = dir.path().join("mute.mp4");
    ffmpeg().encode(&frames, &out, &opts).unwrap();
    assert!(!ffmpeg().probe(&out).unwrap().has_audio);
}

#[test]
fn failed_encodes_leave_the_previous_output() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("keep.mp4");
    std::fs::write(&out, b"the previous video").unwrap();
    let opts = EncodeOptions {
        fps: 10.0,
        audio: None,
    };
    let missing = dir.path().join("no-frames");
    let msg = input_msg(ffmpeg().encode(&missing, &out, &opts), &missing);
    assert!(msg.contains("000000.png"), "{msg}");
    assert_eq!(std::fs::read(&out).unwrap(), b"the previous video");

    // ffmpeg itself fails on a damaged frame: an output error, and no temporary file left.
    let frames = write_frames(dir.path(), 3, 16, 16);
    std::fs::write(frames.join("000001.png"), b"\x89PNG\r\n\x1a\ngarbage").unwrap();
    match ffmpeg().encode(&frames, &out, &opts) {
        Err(e @ Error::Output { .. }) => {
            let s = e.to_string();
            assert!(
                s.contains("keep.mp4") && s.contains("wrote 2 frames instead of the 3"),
                "{s}"
            );
            assert!(s.contains("Invalid data"), "{s}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(std::fs::read(&out).unwrap(), b"the previous video");
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");

    // A missing output folder and an unknown format are refused before any work.
    let frames_ok = write_frames(&dir.path().join("ok"), 2, 8, 8);
    let nowhere = dir.path().join("no/such/dir/out.mp4");
    match ffmpeg().encode(&frames_ok, &nowhere, &opts) {
        Err(e @ Error::Output { .. }) => assert!(e.to_string().contains("does not exist")),
        other => panic!("{other:?}"),
    }
    match ffmpeg().encode(&frames_ok, &dir.path().join("out.flv"), &opts) {
        Err(Error::Usage(msg)) => assert!(msg.contains(".webm") && msg.contains(".avi"), "{msg}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn odd_sizes_encode_to_h264() {
    let dir = tempfile::tempdir().unwrap();
    let frames = write_frames(dir.path(), 4, 33, 21);
    let out = dir.path().join("odd.mp4");
    ffmpeg()
        .encode(
            &frames,
            &out,
            &EncodeOptions {
                fps: 24.0,
                audio: None,
            },
        )
        .unwrap();
    let info = ffmpeg().probe(&out).unwrap();
    // 4:2:0 colour needs even sides: the last column and row are repeated.
    assert_eq!((info.width, info.height, info.frames), (34, 22, Some(4)));
    assert_eq!(info.fps, 24.0);
    let back = read_all(ffmpeg().read(&out, &ReadOptions::default()).unwrap());
    assert_eq!(back.len(), 4);
    assert_colour(&back[3], 33, 21, frame_colour(3), 6.0);
}

#[test]
fn folder_outputs_replace_only_frame_folders() {
    let dir = tempfile::tempdir().unwrap();
    let opts = EncodeOptions {
        fps: 10.0,
        audio: None,
    };
    let out = dir.path().join("styled");
    ffmpeg()
        .encode(&write_frames(&dir.path().join("a"), 4, 8, 8), &out, &opts)
        .unwrap();
    // A second, shorter run replaces the whole folder: no stale frames remain.
    ffmpeg()
        .encode(&write_frames(&dir.path().join("b"), 2, 8, 8), &out, &opts)
        .unwrap();
    let mut names: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["000000.png", "000001.png"]);

    // A path ending in a separator names a folder too.
    let slash = PathBuf::from(format!("{}/", dir.path().join("new.d").display()));
    ffmpeg()
        .encode(&dir.path().join("b/frames"), &slash, &opts)
        .unwrap();
    assert!(dir.path().join("new.d/000001.png").is_file());

    // A folder holding anything else is never replaced.
    let precious = dir.path().join("photos");
    std::fs::create_dir(&precious).unwrap();
    std::fs::write(precious.join("holiday.jpg"), b"memories").unwrap();
    match ffmpeg().encode(&dir.path().join("b/frames"), &precious, &opts) {
        Err(Error::Usage(msg)) => assert!(msg.contains("holiday.jpg"), "{msg}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        std::fs::read(precious.join("holiday.jpg")).unwrap(),
        b"memories"
    );
}

/// Stand-ins for ffmpeg that misbehave, with the real ffprobe.
#[cfg(unix)]
mod broken_ffmpeg {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn fake(dir: &Path, script: &str) -> Ffmpeg {
        let path = dir.join("fake-ffmpeg");
        std::fs::write(&path, format!("#!/bin/sh\n{script}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        Ffmpeg::at(path, ffmpeg().ffprobe_path().to_path_buf()).unwrap()
    }

    #[test]
    fn an_error_mid_stream_ends_with_ffmpegs_message() {
        let dir = tempfile::tempdir().unwrap();
        let clip = test_clip(dir.path());
        // One whole 96x64 frame, then a failure.
        let ff = fake(
            dir.path(),
            "head -c 18432 /dev/zero; echo '[h264 @ 0x1] decoder exploded' >&2; exit 1",
        );
        let mut reader = ff.read(&clip, &ReadOptions::default()).unwrap();
        assert!(reader.next().unwrap().is_ok());
        let msg = input_msg(reader.next().unwrap(), &clip);
        assert!(msg.contains("at frame 1: decoder exploded"), "{msg}");
        assert!(reader.next().is_none());
    }

    #[test]
    fn a_truncated_frame_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let clip = test_clip(dir.path());
        let ff = fake(dir.path(), "head -c 20000 /dev/zero");
        let mut reader = ff.read(&clip, &ReadOptions::default()).unwrap();
        assert!(reader.next().unwrap().is_ok());
        let msg = input_msg(reader.next().unwrap(), &clip);
        assert!(
            msg.contains("ended inside frame 1 (1568 of 18432 bytes)"),
            "{msg}"
        );
    }

    #[test]
    fn dropping_a_reader_stops_ffmpeg() {
        let dir = tempfile::tempdir().unwrap();
        let clip = test_clip(dir.path());
        // Would write frames forever.
        let ff = fake(dir.path(), "exec cat /dev/zero");
        let mut reader = ff.read(&clip, &ReadOptions::default()).unwrap();
        assert!(reader.next().unwrap().is_ok());
        let start = std::time::Instant::now();
        drop(reader);
        assert!(start.elapsed() < std::time::Duration::from_secs(5));
    }
}
