//! `impasto video join`: the chunks of a video (`video --chunk I/N`) put back in order, each
//! chunk's lead-in cross-faded into the end of the one before, the source's sound added once,
//! and the warping error across each seam set beside the error inside the chunks.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};

use impasto::image::Rgb;
use impasto::video::WarpingError;
use impasto_io::codec::{self as io, BitDepth};
use impasto_io::video::{AudioSource, EncodeOptions, Ffmpeg, FrameReader, ReadOptions};
use impasto_io::{Error, Result};
use serde::Serialize;

use super::chunk::{source_id, Record};
use super::seams::{Pairs, SeamReport};
use crate::args::JoinArgs;

/// A chunk file and its record.
struct Piece {
    path: PathBuf,
    record: Record,
}

/// Runs `impasto video join`.
pub fn run(a: JoinArgs) -> Result<()> {
    let ff = Ffmpeg::locate()?;
    impasto_io::video::check_output(&a.output)?;
    let pieces = ordered(&ff, &a.chunks)?;
    let first = &pieces[0].record;
    let (w, h, fps) = (first.width, first.height, first.fps);
    let start = first.first;
    let frames: usize = pieces.iter().map(|p| p.record.frames).sum();
    let mut source = match &a.source {
        Some(s) => Some(open_source(&ff, s, first, frames)?),
        None => None,
    };
    let fades: Vec<usize> = pieces
        .iter()
        .zip(pieces.iter().skip(1))
        .map(|(before, after)| {
            let lead = after.record.lead_in;
            a.cross_fade
                .unwrap_or(lead)
                .min(lead)
                .min(before.record.frames)
        })
        .collect();
    let out_dir = impasto_io::atomic::output_dir(&a.output)?;
    let tmp = tempfile::Builder::new()
        .prefix(".impasto-join")
        .tempdir_in(&out_dir)
        .map_err(|e| Error::output(&out_dir, e))?;
    let mut pairs = Pairs::new(
        &pieces.iter().map(|p| p.record.frames).collect::<Vec<_>>(),
        &fades,
    );
    let mut metric = WarpingError::default();
    let mut written = 0;
    let mut emit = |frame: Rgb| -> Result<()> {
        if let Some(src) = source.as_mut() {
            let input = src.next().transpose()?.ok_or_else(|| {
                Error::input(
                    a.source.as_deref().unwrap_or(Path::new("")),
                    format!("ends before frame {} of the chunks: give the video the chunks were made from", start + written),
                )
            })?;
            let before = metric.per_pair().len();
            metric.push(&input, &frame)?;
            if metric.per_pair().len() > before {
                pairs.record(written, metric.per_pair()[before]);
            }
        }
        io::save(
            &tmp.path().join(format!("{written:06}.png")),
            &frame,
            None,
            BitDepth::Eight,
        )?;
        written += 1;
        Ok(())
    };
    // The last frames of the chunk before, held back to be blended with the next lead-in.
    let mut held: VecDeque<Rgb> = VecDeque::new();
    for (k, piece) in pieces.iter().enumerate() {
        let r = &piece.record;
        let fade_in = if k == 0 { 0 } else { fades[k - 1] };
        let hold = fades.get(k).copied().unwrap_or(0);
        let mut reader = ff.read(&piece.path, &ReadOptions::default())?;
        for _ in 0..r.lead_in - fade_in {
            next_frame(&mut reader, piece)?;
        }
        for j in 0..fade_in {
            let after = next_frame(&mut reader, piece)?;
            let before = held
                .pop_front()
                .expect("held frames for each cross-faded one");
            emit(blend(
                &before,
                &after,
                (j + 1) as f32 / (fade_in + 1) as f32,
            ))?;
        }
        for j in 0..r.frames {
            let frame = next_frame(&mut reader, piece)?;
            if j + hold >= r.frames {
                held.push_back(frame);
            } else {
                emit(frame)?;
            }
        }
        if reader.next().is_some() {
            return Err(damaged(piece, "holds more frames than its record says"));
        }
    }
    for frame in held {
        emit(frame)?;
    }
    let has_audio = match &a.source {
        Some(s) => ff.probe(s)?.has_audio,
        None => false,
    };
    let opts = EncodeOptions {
        fps,
        audio: a.source.as_ref().map(|s| AudioSource {
            path: s.clone(),
            start_s: start as f64 / fps,
            duration_s: Some(frames as f64 / fps),
        }),
    };
    ff.encode(tmp.path(), &a.output, &opts)?;
    let summary = Summary {
        output: &a.output,
        source: a.source.as_deref(),
        chunks: pieces.len(),
        frames,
        width: w,
        height: h,
        fps,
        has_audio,
        report: source.is_some().then(|| pairs.report(&fades)),
    };
    match a.json {
        true => println!(
            "{}",
            serde_json::to_string(&summary).expect("a summary serialises")
        ),
        false => print!("{}", summary.text()),
    }
    Ok(())
}

/// What was joined, and the seams' figures when the source was given.
#[derive(Serialize)]
struct Summary<'a> {
    output: &'a Path,
    source: Option<&'a Path>,
    chunks: usize,
    frames: usize,
    width: usize,
    height: usize,
    fps: f64,
    has_audio: bool,
    #[serde(flatten)]
    report: Option<SeamReport>,
}

impl Summary<'_> {
    /// The summary line and the seams' table, for the terminal.
    fn text(&self) -> String {
        let head = format!(
            "wrote {} ({} chunks, {} frames, {}×{}, {:.3} fps{})\n",
            self.output.display(),
            self.chunks,
            self.frames,
            self.width,
            self.height,
            self.fps,
            if self.has_audio { ", with sound" } else { "" }
        );
        match &self.report {
            Some(r) => head + &r.table(),
            None => head + "give --source IN (the video the chunks were made from) to measure the seams and put its sound back\n",
        }
    }
}

/// The chunk files read and checked: one of each index of the same split, the same frame
/// size and rate, each starting where the one before ends; in order.
fn ordered(ff: &Ffmpeg, paths: &[PathBuf]) -> Result<Vec<Piece>> {
    let mut pieces = paths
        .iter()
        .map(|p| {
            Ok(Piece {
                path: p.clone(),
                record: Record::read(ff, p)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let n = pieces[0].record.count;
    let first = &pieces[0];
    for p in &pieces[1..] {
        let (r, f) = (&p.record, &first.record);
        let why = if r.count != n {
            Some(format!(
                "is chunk {}/{} but {} is one of {n}",
                r.index,
                r.count,
                first.path.display()
            ))
        } else if (r.width, r.height) != (f.width, f.height) || r.fps != f.fps {
            Some(format!(
                "has {}×{} frames at {} fps but {} has {}×{} at {} fps: make every chunk with the same --size and --fps",
                r.width, r.height, r.fps, first.path.display(), f.width, f.height, f.fps
            ))
        } else if r.source != f.source {
            Some(format!(
                "comes from {} but {} from {}",
                r.source.0,
                first.path.display(),
                f.source.0
            ))
        } else {
            None
        };
        if let Some(why) = why {
            return Err(Error::Usage(format!("{}: {why}", p.path.display())));
        }
    }
    pieces.sort_by_key(|p| p.record.index);
    for w in pieces.windows(2) {
        if w[0].record.index == w[1].record.index {
            return Err(Error::Usage(format!(
                "{} and {} are both chunk {}/{n}: give each chunk once",
                w[0].path.display(),
                w[1].path.display(),
                w[0].record.index
            )));
        }
    }
    let missing: Vec<String> = (0..n)
        .filter(|i| !pieces.iter().any(|p| p.record.index == *i))
        .map(|i| format!("{i}/{n}"))
        .collect();
    if !missing.is_empty() {
        return Err(Error::Usage(format!(
            "chunk {} missing: give all {n} chunks (made with --chunk 0/{n} to {}/{n})",
            missing.join(", "),
            n - 1
        )));
    }
    for w in pieces.windows(2) {
        let (a, b) = (&w[0].record, &w[1].record);
        if a.first + a.frames != b.first {
            return Err(Error::Usage(format!(
                "{} ends at frame {} but {} starts at frame {}: make every chunk of the same video with the same --frames",
                w[0].path.display(),
                a.first + a.frames,
                w[1].path.display(),
                b.first
            )));
        }
    }
    Ok(pieces)
}

/// The source's frames under the chunks, read as the chunks read them.
fn open_source(ff: &Ffmpeg, path: &Path, first: &Record, frames: usize) -> Result<FrameReader> {
    let (name, bytes) = source_id(path);
    if (name.as_str(), bytes) != (first.source.0.as_str(), first.source.1) {
        return Err(Error::Usage(format!(
            "{}: the chunks were made from {} ({} bytes): give that video as --source",
            path.display(),
            first.source.0,
            first.source.1.map_or("?".into(), |b| b.to_string())
        )));
    }
    ff.read(
        path,
        &ReadOptions {
            size: Some((first.width, first.height)),
            fps: first.resampled,
            range: Some(first.first..first.first + frames),
        },
    )
}

/// The next frame of a chunk, which must have it.
fn next_frame(reader: &mut FrameReader, piece: &Piece) -> Result<Rgb> {
    reader
        .next()
        .transpose()?
        .ok_or_else(|| damaged(piece, "holds fewer frames than its record says"))
}

/// The error for a chunk file that does not match its record.
fn damaged(piece: &Piece, why: &str) -> Error {
    Error::input(
        &piece.path,
        format!("{why}: the file is damaged; make this chunk again"),
    )
}

/// `(1 - w)·a + w·b`, rounded to whole levels as the frame is written.
fn blend(a: &Rgb, b: &Rgb, w: f32) -> Rgb {
    let data = a
        .data
        .iter()
        .zip(&b.data)
        .map(|(x, y)| (x + w * (y - x)).round())
        .collect();
    Rgb::new(a.width, a.height, data)
}
