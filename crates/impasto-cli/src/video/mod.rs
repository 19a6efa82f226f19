//! `impasto video`: decode with ffmpeg, stylise frame by frame with temporal consistency (with
//! `--model`, one network pass per frame: [`fast`]),
//! checkpoint every frame, encode with the input's sound and frame rate (or, for a NIfTI
//! volume's slices, write an RGB NIfTI volume: [`nifti_out`]), report the warping error.
//! A long video can run in chunks on several machines ([`chunk`]) and be put back together
//! by `video join` ([`join`]).

pub mod chunk;
mod chunk_style;
mod fast;
mod join;
mod nifti_out;
mod progress;
mod run;
mod seams;
mod slices;
mod work;

use std::path::{Path, PathBuf};
use std::time::Instant;

use impasto::image::resize::fit_longer_side;
use impasto::sysmem;
use impasto::video::{FlowParams, VideoSettings};
use impasto_io::video::{AudioSource, EncodeOptions, Ffmpeg, FrameReader, ReadOptions};
use impasto_io::{Error, Result};

use crate::args::{VideoAction, VideoArgs, VideoCommand};
use crate::guides::Placement;
use crate::look;
use chunk::{Plan, Record};
use progress::VideoProgress;
use run::{Run, RunSummary};
use work::Work;

/// Runs `impasto video` or `impasto video join`.
pub fn dispatch(c: VideoCommand) -> Result<()> {
    match c {
        VideoCommand::Action(VideoAction::Join(a)) => join::run(a),
        VideoCommand::Run(a) => run(a),
    }
}

/// Runs `impasto video`.
fn run(a: VideoArgs) -> Result<()> {
    chunk::check_args(&a)?;
    if let Some(model) = a.model.clone() {
        return fast::run(a, &model);
    }
    let start = Instant::now();
    let ff = Ffmpeg::locate()?;
    if a.chunk.is_none() {
        nifti_out::check_output(&a.output)?;
    }
    let independent_out = a
        .compare_independent
        .then(|| sibling(&a.output, "_independent"));
    let input = slices::frames(&a.input, &a.output, &a.medical, a.frames.clone())?;
    let info = ff.probe(input.path())?;
    let fps = a.fps.unwrap_or(info.fps);
    let (w, h) = fit_longer_side(info.width, info.height, a.size);
    let settings = VideoSettings {
        first: look::settings(&a.look, a.size, input.grey())?,
        later_iters: a.later_iters,
        temporal_weight: a.temporal_weight,
        consistent: true,
        flow: FlowParams::default(),
    };
    let size = (info.width, info.height);
    let (styles, placement) = Placement::new(&a.look, look::styles(&a.look)?, size, true)?;
    let precision = impasto::choose_precision(&a.look.precision)?;
    let model = crate::weights::load_model(a.look.weights.weights.as_deref(), a.json, precision)?;
    let plan = Plan::for_run(&a, &info, fps, input.range())?;
    let read_range = plan.as_ref().map(Plan::read_range).or(input.range());
    let range = read_range.clone().unwrap_or(0..usize::MAX);
    // Masks in a folder count frames as the user does (a volume's slices from its first).
    let stretch_first = a.frames.as_ref().map_or(0, |r| r.start);
    let mask_first = stretch_first + plan.as_ref().map_or(0, Plan::skipped);
    let settings = match &plan {
        Some(p) if p.skipped() > 0 => {
            eprintln!("impasto: note: settling β on the video's first frame, as chunk 0 does");
            let read = ReadOptions {
                size: Some((w, h)),
                fps: a.fps,
                range: Some(p.stretch_start..p.stretch_start + 1),
            };
            let guides = placement.guides(stretch_first, (w, h))?;
            let (input, styles) = (input.path(), styles.clone());
            chunk_style::settle(&model, styles, settings, (&ff, input, read), guides)?
        }
        _ => settings,
    };
    let fingerprint = fingerprint(&a, fps, &settings, precision, &placement.digest);
    let expected = info
        .frames
        .map(|n| (n as f64 * fps / info.fps).round() as usize)
        .map(|n| n.min(range.end).saturating_sub(range.start));
    if let Some(n) = expected {
        placement.check_frames(mask_first + n)?;
    }
    let reader = ff.read(
        input.path(),
        &ReadOptions {
            size: Some((w, h)),
            fps: a.fps,
            range: read_range,
        },
    )?;
    let mut work = Work::open(&a.output, fingerprint, a.resume)?;
    let mut runs = vec![Run::new(
        &model,
        styles.clone(),
        settings.clone(),
        "styled",
        &work,
    )?];
    if a.compare_independent {
        let independent = VideoSettings {
            consistent: false,
            ..settings
        };
        runs.push(Run::new(&model, styles, independent, "independent", &work)?);
    }
    let anatomy = crate::medical::anatomy(&a.input, input.grey(), a.anatomy)?;
    runs.iter_mut().for_each(|r| r.set_anatomy(anatomy));
    let place = Place {
        placement: &placement,
        first: mask_first,
    };
    let frames = match stylise(reader, &mut runs, &mut work, expected, &place) {
        Ok(0) => Err(Error::input(
            &a.input,
            "no frames to stylise: the video is empty or --frames starts past its end",
        )),
        other => other,
    };
    let frames = match frames {
        Ok(n) => n,
        Err(e) => {
            work.discard_if_empty();
            return Err(e);
        }
    };
    let encode = |run: &str, out: &Path| -> Result<()> {
        let opts = EncodeOptions {
            fps,
            audio: Some(AudioSource {
                path: input.path().to_path_buf(),
                start_s: range.start as f64 / fps,
                duration_s: Some(frames as f64 / fps),
            }),
        };
        nifti_out::encode(&ff, &work.frames_dir(run)?, out, frames, &opts, &input)
    };
    let record = match &plan {
        Some(p) => {
            let r = Record::new(p, frames, &a.input, &a, (w, h), fps)?;
            r.write(&ff, &work.frames_dir("styled")?, &a.output)?;
            Some(r)
        }
        None => {
            encode("styled", &a.output)?;
            None
        }
    };
    if let Some(out) = &independent_out {
        encode("independent", out)?;
    }
    let summaries: Vec<RunSummary> = runs.iter().map(Run::summary).collect();
    let seconds = start.elapsed().as_secs_f64();
    let peak_mb = sysmem::peak_rss_bytes().unwrap_or(0) / (1 << 20);
    if !a.keep_frames {
        work.remove()?;
    }
    if a.json {
        let v = serde_json::json!({
            "output": a.output, "independent_output": independent_out,
            "width": w, "height": h, "fps": fps, "frames": frames,
            "seconds": seconds, "peak_rss_mb": peak_mb, "precision": model.precision(),
            "has_audio": info.has_audio && record.is_none(), "chunk": record,
            "styled": summaries[0],
            "independent": summaries.get(1),
        });
        println!("{v}");
        return Ok(());
    }
    println!(
        "wrote {} ({frames} frames, {w}×{h}, {fps:.3} fps{}) in {seconds:.1} s, peak memory {peak_mb} MB",
        a.output.display(),
        match &record {
            Some(r) => chunk::describe(r),
            None if info.has_audio => ", with sound".into(),
            None => String::new(),
        },
    );
    for s in &summaries {
        println!("{}", s.line());
    }
    if let [styled, independent] = &summaries[..] {
        if let (Some(a), Some(b)) = (styled.warping_error, independent.warping_error) {
            println!(
                "temporal consistency: warping error {:.2}× that of frame-by-frame stylisation",
                a / b
            );
        }
    }
    Ok(())
}

/// Where the styles go in each frame: the masks, and the index of the first frame read in
/// the video (masks in a folder count from the video's start).
struct Place<'a> {
    placement: &'a Placement,
    first: usize,
}

/// Stylises every frame the reader yields with every run; returns the number of frames.
fn stylise(
    reader: FrameReader,
    runs: &mut [Run],
    work: &mut Work,
    expected: Option<usize>,
    place: &Place,
) -> Result<usize> {
    let bar = VideoProgress::new(expected, runs.len());
    let mut frames = 0;
    for (i, frame) in reader.enumerate() {
        let frame = frame?;
        if i == 0 || !place.placement.all_fixed() {
            let guides = place
                .placement
                .guides(place.first + i, (frame.width, frame.height))?;
            runs.iter_mut().for_each(|r| r.set_guides(guides.clone()));
        }
        for (k, run) in runs.iter_mut().enumerate() {
            run.frame(i, &frame, work, &mut |r| bar.step(i, k, r))?;
        }
        frames = i + 1;
        bar.frame_done(i, runs[0].last_seconds());
    }
    bar.finish();
    Ok(frames)
}

/// `dir/stem_SUFFIX.ext` beside `out` (for a folder output, `out_SUFFIX`; `.nii.gz` counts as
/// one extension).
fn sibling(out: &Path, suffix: &str) -> PathBuf {
    let name = out
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let dot = match name.to_ascii_lowercase().strip_suffix(".nii.gz") {
        Some(stem) => Some(stem.len()),
        None => name.rfind('.').filter(|&i| i > 0),
    };
    let name = match dot {
        Some(i) => format!("{}{suffix}{}", &name[..i], &name[i..]),
        None => format!("{name}{suffix}"),
    };
    out.with_file_name(name)
}

/// The input's size and modification time, so a resumed run notices a changed input.
fn input_stamp(path: &Path) -> Option<(u64, u64)> {
    let m = std::fs::metadata(path).ok()?;
    let modified = m
        .modified()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?;
    Some((m.len(), modified.as_nanos() as u64))
}

/// What identifies a run in its work folder, as stable JSON: the input (path, size and
/// modification time), the frame rate and range, the style images, the engine's settings,
/// the precision, the masks' digest and Impasto's version. A resumed run must match it exactly.
fn fingerprint(
    a: &VideoArgs,
    fps: f64,
    settings: &VideoSettings,
    precision: impasto::Precision,
    masks: &str,
) -> String {
    serde_json::json!({
        "impasto": env!("CARGO_PKG_VERSION"),
        "input": std::fs::canonicalize(&a.input).unwrap_or_else(|_| a.input.clone()),
        "input_stamp": input_stamp(&a.input),
        "fps": fps,
        "frames": a.frames.as_ref().map(|r| [r.start, r.end]),
        "styles": a.look.styles,
        "settings": settings,
        "precision": precision,
        "masks": masks,
        "anatomy": format!("{:?}", a.anatomy),
        "chunk": a.chunk.map(|c| [c.index, c.count, a.lead_in.unwrap_or(chunk::DEFAULT_LEAD_IN)]),
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn siblings_keep_the_extension() {
        let s = |p: &str| sibling(Path::new(p), "_independent");
        assert_eq!(s("d/out.mp4"), Path::new("d/out_independent.mp4"));
        assert_eq!(s("vol.NII.gz"), Path::new("vol_independent.NII.gz"));
        assert_eq!(s("vol.nii"), Path::new("vol_independent.nii"));
        assert_eq!(s("frames"), Path::new("frames_independent"));
    }
}
