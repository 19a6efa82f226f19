//! `impasto video --chunk I/N`: one of N contiguous stretches of a video's frames (counted at
//! the output frame rate), stylised after a lead-in of the frames before it, and written
//! losslessly (FFV1 in Matroska, no sound) with a [`Record`] that `video join` reads.

use std::ops::Range;
use std::path::Path;

use impasto_io::video::{Ffmpeg, VideoInfo};
use impasto_io::{Error, Result};
use serde::{Deserialize, Serialize};

use crate::args::VideoArgs;

/// Frames stylised before a chunk's first and cross-faded at the join (see BENCHMARKS.md).
pub const DEFAULT_LEAD_IN: usize = 16;
/// The Matroska tag holding a chunk's [`Record`] as JSON.
pub const TAG: &str = "IMPASTO_CHUNK";

/// Which chunk to stylise: `index` (0-based) of `count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChunkSpec {
    /// The chunk, from 0.
    pub index: usize,
    /// How many chunks the video is split into.
    pub count: usize,
}

/// Parses `I/N` with `I < N` (clap's value parser for `--chunk`).
pub fn parse_spec(s: &str) -> std::result::Result<ChunkSpec, String> {
    let bad = |why: &str| {
        format!("`{s}` is not a chunk: {why}; use I/N, e.g. 0/3 for the first of three")
    };
    let (i, n) = s.split_once('/').ok_or_else(|| bad("no `/`"))?;
    let index = i
        .trim()
        .parse::<usize>()
        .map_err(|_| bad("I is not a whole number"))?;
    let count = n
        .trim()
        .parse::<usize>()
        .map_err(|_| bad("N is not a whole number"))?;
    if count == 0 {
        return Err(bad("N must be at least 1"));
    }
    if index >= count {
        return Err(bad(&format!("chunks are numbered from 0 to {}", count - 1)));
    }
    Ok(ChunkSpec { index, count })
}

/// Where a chunk lies in the frames its input is read as.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// The chunk.
    pub spec: ChunkSpec,
    /// Frames read and stylised before the first kept one.
    pub lead_in: usize,
    /// The kept frames (the last chunk's runs to the end of the stretch, which may be open).
    pub kept: Range<usize>,
    /// The first frame of the stretch split into chunks.
    pub stretch_start: usize,
}

impl Plan {
    /// Splits `stretch` (its end cut to `total` frames, when known) into `spec.count` equal
    /// contiguous chunks, and places chunk `spec.index` with up to `lead_in` frames before it.
    pub fn new(
        spec: ChunkSpec,
        lead_in: usize,
        stretch: Range<usize>,
        total: Option<usize>,
    ) -> Result<Self> {
        let end = total.map_or(stretch.end, |n| stretch.end.min(n));
        if end == usize::MAX {
            return Err(Error::Usage(
                "--chunk needs to know how many frames the video has, and ffprobe cannot tell: give the stretch to split with --frames A..B".into(),
            ));
        }
        let len = end.saturating_sub(stretch.start);
        if len < spec.count {
            return Err(Error::Usage(format!(
                "--chunk {}/{}: the video has {len} frames to split from frame {}, fewer than {} chunks; use fewer chunks",
                spec.index, spec.count, stretch.start, spec.count
            )));
        }
        let at = |i: usize| stretch.start + i * len / spec.count;
        let kept_end = match spec.index + 1 == spec.count {
            // The frame count may be an estimate: the last chunk reads to the stretch's end.
            true => stretch.end,
            false => at(spec.index + 1),
        };
        let kept = at(spec.index)..kept_end;
        Ok(Self {
            spec,
            lead_in: lead_in.min(kept.start - stretch.start),
            kept,
            stretch_start: stretch.start,
        })
    }

    /// The chunk of the video `a` asks for, read as `info` at `fps`: `None` without
    /// `--chunk`. `range` is the stretch the reader is given (`--frames`), if any.
    pub fn for_run(
        a: &VideoArgs,
        info: &VideoInfo,
        fps: f64,
        range: Option<Range<usize>>,
    ) -> Result<Option<Self>> {
        let Some(spec) = a.chunk else {
            return Ok(None);
        };
        let total = info
            .frames
            .map(|n| (n as f64 * fps / info.fps).round() as usize);
        let stretch = range.unwrap_or(0..usize::MAX);
        let lead_in = a.lead_in.unwrap_or(DEFAULT_LEAD_IN);
        Self::new(spec, lead_in, stretch, total).map(Some)
    }

    /// The frames to read: the lead-in and the kept frames.
    pub fn read_range(&self) -> Range<usize> {
        self.kept.start - self.lead_in..self.kept.end
    }

    /// Frames between the stretch's start and the first frame read.
    pub fn skipped(&self) -> usize {
        self.read_range().start - self.stretch_start
    }
}

/// Refuses what `--chunk` cannot be combined with, before any work.
pub fn check_args(a: &VideoArgs) -> Result<()> {
    if a.chunk.is_none() {
        return Ok(());
    }
    if a.compare_independent {
        return Err(Error::Usage(
            "--compare-independent does not apply with --chunk: compare on the whole video".into(),
        ));
    }
    impasto_io::video::check_lossless_output(&a.output)
}

/// What a chunk's file records for `video join`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// The chunk, from 0.
    pub index: usize,
    /// Chunks in the split.
    pub count: usize,
    /// The source's frame (at the output rate) that is the first kept one.
    pub first: usize,
    /// Kept frames, after the lead-in.
    pub frames: usize,
    /// Lead-in frames at the start of the file, before the kept ones.
    pub lead_in: usize,
    /// Frames per second.
    pub fps: f64,
    /// The rate the source was resampled to (`--fps`), if any.
    pub resampled: Option<f64>,
    /// Frame width in pixels.
    pub width: usize,
    /// Frame height in pixels.
    pub height: usize,
    /// The source's file name and size in bytes.
    pub source: (String, Option<u64>),
}

impl Record {
    /// The record of `plan` after `read` frames (lead-in included) were stylised from `input`.
    pub fn new(
        plan: &Plan,
        read: usize,
        input: &Path,
        a: &VideoArgs,
        size: (usize, usize),
        fps: f64,
    ) -> Result<Self> {
        if read <= plan.lead_in {
            return Err(Error::input(
                input,
                format!(
                    "chunk {}/{} has no frames: the video ends before frame {}",
                    plan.spec.index, plan.spec.count, plan.kept.start
                ),
            ));
        }
        Ok(Self {
            index: plan.spec.index,
            count: plan.spec.count,
            first: plan.kept.start,
            frames: read - plan.lead_in,
            lead_in: plan.lead_in,
            fps,
            resampled: a.fps,
            width: size.0,
            height: size.1,
            source: source_id(input),
        })
    }

    /// Writes the numbered PNG frames of `dir` (lead-in and kept) as the chunk file `out`.
    pub fn write(&self, ff: &Ffmpeg, dir: &Path, out: &Path) -> Result<()> {
        let json = serde_json::to_string(self).expect("a record serialises");
        ff.encode_lossless(dir, out, self.fps, &[(TAG, &json)])
    }

    /// The record in the chunk file `path`.
    pub fn read(ff: &Ffmpeg, path: &Path) -> Result<Self> {
        let tags = ff.tags(path)?;
        let text = tags.get(TAG).ok_or_else(|| {
            Error::input(
                path,
                "is not a chunk: make chunks with `impasto video IN -o CHUNK.mkv --chunk I/N`",
            )
        })?;
        serde_json::from_str(text).map_err(|e| {
            Error::input(
                path,
                format!("has a damaged chunk record ({e}); make this chunk again"),
            )
        })
    }
}

/// How a run's summary line describes the chunk it wrote.
pub fn describe(r: &Record) -> String {
    format!(
        ": chunk {}/{}, frames {}..{} after {} lead-in frames, no sound",
        r.index,
        r.count,
        r.first,
        r.first + r.frames,
        r.lead_in
    )
}

/// A file's name and size, to tell whether a join's `--source` is the chunks' input.
pub fn source_id(path: &Path) -> (String, Option<u64>) {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let bytes = std::fs::metadata(path)
        .ok()
        .filter(|m| m.is_file())
        .map(|m| m.len());
    (name, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_and_bad_ones_say_why() {
        assert_eq!(parse_spec("1/3"), Ok(ChunkSpec { index: 1, count: 3 }));
        for bad in ["3/3", "0/0", "x/2", "1", "-1/2"] {
            assert!(parse_spec(bad).unwrap_err().contains("I/N"), "{bad}");
        }
    }

    #[test]
    fn chunks_cover_the_stretch_once_with_lead_ins() {
        let plans: Vec<Plan> = (0..3)
            .map(|i| Plan::new(ChunkSpec { index: i, count: 3 }, 4, 10..20, Some(100)).unwrap())
            .collect();
        let kept: Vec<_> = plans.iter().map(|p| p.kept.clone()).collect();
        assert_eq!(kept, [10..13, 13..16, 16..20]);
        assert_eq!(plans[0].read_range(), 10..13);
        assert_eq!(plans[1].read_range(), 10..16);
        assert_eq!(plans[2].read_range(), 12..20);
        assert_eq!(plans[2].skipped(), 2);
        // Without --frames the last chunk reads on past an estimated count.
        let last = Plan::new(ChunkSpec { index: 1, count: 2 }, 2, 0..usize::MAX, Some(9)).unwrap();
        assert_eq!(last.kept, 4..usize::MAX);
        assert!(Plan::new(ChunkSpec { index: 0, count: 2 }, 2, 0..usize::MAX, None).is_err());
        assert!(Plan::new(ChunkSpec { index: 0, count: 5 }, 2, 0..4, None).is_err());
    }
}
