//! `impasto video --model`: one pass of a trained network per frame, steadied along the
//! optical flow; frames are written on another thread while the next ones are stylised.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread;
use std::time::Instant;

use impasto::image::resize::fit_longer_side;
use impasto::image::{colour, Rgb};
use impasto::sysmem;
use impasto::video::{FastVideo, SteadySettings, WarpingError};
use impasto_io::codec::{self as io, BitDepth};
use impasto_io::model;
use impasto_io::video::{AudioSource, EncodeOptions, Ffmpeg, ReadOptions};
use impasto_io::{Error, Result};

use super::chunk::{Plan, Record};
use super::sibling;
use crate::args::VideoArgs;
use crate::guides::Placement;
use crate::medical::{keep_anatomy, Anatomy};
use crate::stylize_model::{parse_mix, precision};

/// Seconds spent in each stage, summed over the frames.
#[derive(Default, serde::Serialize)]
struct Timing {
    decode: f64,
    net: f64,
    steady: f64,
    metric: f64,
    write_frames: f64,
    encode: f64,
}

/// Runs `impasto video --model MODEL`.
pub fn run(a: VideoArgs, model_path: &Path) -> Result<()> {
    let start = Instant::now();
    if a.resume {
        return Err(Error::Usage(
            "--resume does not apply with --model: one-pass videos are quick to redo and are not checkpointed; run again without --resume".into(),
        ));
    }
    if !(0.0..1.0).contains(&a.steadiness) {
        return Err(Error::Usage(format!(
            "--steadiness {} is invalid: give a weight of at least 0 (frame by frame) and below 1",
            a.steadiness
        )));
    }
    let ff = Ffmpeg::locate()?;
    if a.chunk.is_none() {
        super::nifti_out::check_output(&a.output)?;
    }
    let m = model::load_model(model_path)?;
    let mix = match &a.style_mix {
        Some(spec) => Some(parse_mix(spec)?),
        None => None,
    };
    let mix = m.net.mix(mix.as_deref())?;
    let precision = precision(&a.look.precision)?;
    let settings = SteadySettings {
        blend: a.steadiness,
        ..SteadySettings::default()
    };
    let mut video = FastVideo::new(m.net.runner(precision), mix.clone(), settings)?;
    let input = super::slices::frames(&a.input, &a.output, &a.medical, a.frames.clone())?;
    let info = ff.probe(input.path())?;
    let fps = a.fps.unwrap_or(info.fps);
    let (w, h) = fit_longer_side(info.width, info.height, a.size);
    let placement = Placement::for_network(&a.look, (info.width, info.height), true)?;
    let plan = Plan::for_run(&a, &info, fps, input.range())?;
    let read_range = plan.as_ref().map(Plan::read_range).or(input.range());
    // Masks in a folder count frames as the user does (a volume's slices from its first).
    let start_frame =
        a.frames.as_ref().map_or(0, |r| r.start) + plan.as_ref().map_or(0, Plan::skipped);
    let mut anatomy = crate::medical::anatomy(&a.input, input.grey(), a.anatomy)?;
    if let Some(n) = info.frames {
        let n = (n as f64 * fps / info.fps).round() as usize;
        let end = read_range
            .as_ref()
            .map_or(start_frame + n, |r| r.end.min(n));
        placement.check_frames(end)?;
    }
    let mut reader = ff.read(
        input.path(),
        &ReadOptions {
            size: Some((w, h)),
            fps: a.fps,
            range: read_range.clone(),
        },
    )?;
    let frames_dir = fresh_dir(&a.output)?;
    let writer = FrameWriter::spawn(frames_dir.clone(), a.compare_independent)?;
    let mut styled_metric = WarpingError::default();
    let mut plain_metric = WarpingError::default();
    let mut timing = Timing::default();
    let mut fresh = Vec::new();
    let mut departure = Vec::new();
    let mut frames = 0;
    let result = (|| -> Result<()> {
        loop {
            let t = Instant::now();
            let Some(input) = reader.next().transpose()? else {
                return Ok(());
            };
            timing.decode += t.elapsed().as_secs_f64();
            let f = video.frame(&input)?;
            timing.net += f.net_seconds;
            timing.steady += f.steady_seconds;
            let t = Instant::now();
            match &f.steadied.motion {
                Some(m) => {
                    fresh.push(f.steadied.fresh);
                    departure.push(mean_abs_diff(&f.steadied.image, &f.plain));
                    styled_metric.push_warped(&f.steadied.image, &m.warped, &m.occluded)?;
                    if a.compare_independent {
                        plain_metric.push_with_flows(&f.plain, &m.back, &m.fwd)?;
                    }
                }
                None => {
                    styled_metric.push_first(&f.steadied.image)?;
                    plain_metric.push_first(&f.plain)?;
                }
            }
            timing.metric += t.elapsed().as_secs_f64();
            // The masks place the output as written; the warping error is the network's.
            let (mut styled, mut plain) =
                (f.steadied.image, a.compare_independent.then_some(f.plain));
            if let Some(g) = placement.guides(start_frame + frames, (w, h))? {
                styled = g.show_photo(styled, &input);
                plain = plain.map(|p| g.show_photo(p, &input));
            }
            // `auto` settles on the first frame's share; the later frames keep it.
            if let Some(k) = anatomy {
                let share;
                (styled, share) = keep_anatomy(&styled, &input, k)?;
                plain = plain.map(|p| colour::keep_luminance(&p, &input, share));
                anatomy = Some(Anatomy::Share(share));
            }
            writer.send(frames, styled, plain)?;
            frames += 1;
        }
    })();
    timing.write_frames = writer.finish()?;
    let result = result.and_then(|()| match frames {
        0 => Err(Error::input(
            &a.input,
            "no frames to stylise: the video is empty or --frames starts past its end",
        )),
        _ => Ok(()),
    });
    if let Err(e) = result {
        let _ = std::fs::remove_dir_all(&frames_dir);
        return Err(e);
    }
    let t = Instant::now();
    let audio_start = read_range.map_or(0, |r| r.start);
    let opts = EncodeOptions {
        fps,
        audio: Some(AudioSource {
            path: input.path().to_path_buf(),
            start_s: audio_start as f64 / fps,
            duration_s: Some(frames as f64 / fps),
        }),
    };
    let encode = |run: &str, out: &Path| {
        super::nifti_out::encode(&ff, &frames_dir.join(run), out, frames, &opts, &input)
    };
    let record = match &plan {
        Some(p) => {
            let r = Record::new(p, frames, &a.input, &a, (w, h), fps)?;
            r.write(&ff, &frames_dir.join("styled"), &a.output)?;
            Some(r)
        }
        None => {
            encode("styled", &a.output)?;
            None
        }
    };
    let independent_out = a
        .compare_independent
        .then(|| sibling(&a.output, "_independent"));
    if let Some(out) = &independent_out {
        encode("independent", out)?;
    }
    timing.encode = t.elapsed().as_secs_f64();
    if a.keep_frames {
        eprintln!("frames kept in {}", frames_dir.display());
    } else {
        std::fs::remove_dir_all(&frames_dir).map_err(|e| Error::output(&frames_dir, e))?;
    }
    let seconds = start.elapsed().as_secs_f64();
    let rate = frames as f64 / seconds;
    let peak_mb = sysmem::peak_rss_bytes().unwrap_or(0) / (1 << 20);
    let styled_err = styled_metric.value();
    let plain_err = plain_metric.value();
    let fresh = mean(&fresh);
    let departure = mean(&departure);
    if a.json {
        let blend = crate::stylize_model::blend_json(&m.net, &mix);
        let v = serde_json::json!({
            "output": a.output, "independent_output": independent_out,
            "model": model_path, "style_mix": blend, "steadiness": a.steadiness,
            "width": w, "height": h, "fps": fps, "frames": frames,
            "seconds": seconds, "frames_per_second": rate, "peak_rss_mb": peak_mb,
            "precision": precision, "has_audio": info.has_audio && record.is_none(),
            "chunk": record,
            "styled": { "warping_error": styled_err, "fresh": fresh, "departure": departure },
            "independent": a.compare_independent.then(|| serde_json::json!({ "warping_error": plain_err })),
            "timing_seconds": timing,
        });
        println!("{v}");
        return Ok(());
    }
    println!(
        "wrote {} ({frames} frames, {w}×{h}, {fps:.3} fps{}) in {seconds:.1} s: {rate:.1} frames per second, peak memory {peak_mb} MB",
        a.output.display(),
        match &record {
            Some(r) => super::chunk::describe(r),
            None if info.has_audio => ", with sound".into(),
            None => String::new(),
        },
    );
    let f = |v: Option<f64>| v.map_or("–".into(), |v| format!("{v:.5}"));
    println!(
        "steadied    warping error {}  (fresh pixels {:.1}%, {:.2} levels from the frame-by-frame result on average)",
        f(styled_err),
        100.0 * fresh.unwrap_or(0.0),
        departure.unwrap_or(0.0)
    );
    if a.compare_independent {
        println!("independent warping error {}", f(plain_err));
        if let (Some(s), Some(p)) = (styled_err, plain_err) {
            println!(
                "temporal consistency: warping error {:.2}× that of frame-by-frame stylisation",
                s / p
            );
        }
    }
    println!(
        "time: decode {:.1} s, network {:.1} s, flow and blend {:.1} s, warping error {:.1} s, frame files {:.1} s (other thread), encode {:.1} s",
        timing.decode, timing.net, timing.steady, timing.metric, timing.write_frames, timing.encode
    );
    Ok(())
}

/// `OUT.impasto-frames/`, emptied: the frames before encoding.
fn fresh_dir(out: &Path) -> Result<PathBuf> {
    let mut name = out
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_else(|| "video".into());
    name.push(".impasto-frames");
    let dir = out.with_file_name(name);
    if dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(|e| Error::output(&dir, e))?;
    }
    for sub in ["styled", "independent"] {
        std::fs::create_dir_all(dir.join(sub)).map_err(|e| Error::output(&dir, e))?;
    }
    Ok(dir)
}

/// Saves frames as numbered PNGs on its own thread.
struct FrameWriter {
    tx: mpsc::SyncSender<(usize, Rgb, Option<Rgb>)>,
    thread: thread::JoinHandle<Result<f64>>,
}

impl FrameWriter {
    /// A writer into `dir/styled` (and `dir/independent` with `plain`).
    fn spawn(dir: PathBuf, plain: bool) -> Result<Self> {
        let (tx, rx) = mpsc::sync_channel::<(usize, Rgb, Option<Rgb>)>(4);
        let thread = thread::Builder::new()
            .name("frame-writer".into())
            .spawn(move || {
                let mut busy = 0.0;
                for (i, styled, independent) in rx {
                    let t = Instant::now();
                    let name = format!("{i:06}.png");
                    io::save(
                        &dir.join("styled").join(&name),
                        &styled,
                        None,
                        BitDepth::Eight,
                    )?;
                    if let (true, Some(img)) = (plain, independent) {
                        io::save(
                            &dir.join("independent").join(&name),
                            &img,
                            None,
                            BitDepth::Eight,
                        )?;
                    }
                    busy += t.elapsed().as_secs_f64();
                }
                Ok(busy)
            })
            .map_err(|e| internal(&format!("cannot start the frame writer: {e}")))?;
        Ok(Self { tx, thread })
    }

    /// Queues frame `i`; `Err` when the writer has stopped (its error comes from `finish`).
    fn send(&self, i: usize, styled: Rgb, plain: Option<Rgb>) -> Result<()> {
        self.tx
            .send((i, styled, plain))
            .map_err(|_| internal("the frame writer stopped"))
    }

    /// Waits for the queued frames; returns the seconds spent writing.
    fn finish(self) -> Result<f64> {
        drop(self.tx);
        self.thread
            .join()
            .map_err(|_| internal("the frame writer panicked"))?
    }
}

/// The mean of `v`; `None` when empty.
fn mean(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

/// Mean absolute difference of two same-size images, in 0..255 levels.
fn mean_abs_diff(a: &Rgb, b: &Rgb) -> f64 {
    let sum: f64 = a
        .data
        .iter()
        .zip(&b.data)
        .map(|(x, y)| (x - y).abs() as f64)
        .sum();
    sum / a.data.len() as f64
}

/// An internal failure (not the user's).
fn internal(msg: &str) -> Error {
    Error::Engine(impasto::Error::Internal(msg.into()))
}
