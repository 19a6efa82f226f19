//! Decoding: ffmpeg writes raw RGB frames to a pipe, read here one frame at a time; a folder's
//! files are decoded with [`crate::codec`].

use std::io::Read;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Stdio};
use std::thread::JoinHandle;

use super::folder::{FolderFrames, FOLDER_FPS};
use super::probe::{no_frames, FileVideo, Source};
use super::tool::{collect_tail, file_url, reason, Ffmpeg, Program};
use crate::codec::Limits;
use crate::error::{Error, Result};
use impasto::image::Rgb;

/// Range ends beyond this are clipped (ffmpeg parses frame counts through a `double`).
const MAX_FRAME_INDEX: usize = i32::MAX as usize;
/// Largest frame width or height read (that of image files).
const MAX_SIDE: usize = Limits::FILES.max_width as usize;
/// Highest frame rate [`ReadOptions::fps`] accepts.
const MAX_FPS: f64 = 1000.0;

/// How to read a video.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReadOptions {
    /// Scale every frame to `(width, height)`; `None` keeps the video's size.
    pub size: Option<(usize, usize)>,
    /// Resample to this many frames per second (repeating or dropping frames); `None` keeps
    /// the video's rate. For a folder of frames it only sets the nominal rate.
    pub fps: Option<f64>,
    /// Keep only the frames with these indices (counted after resampling); a range past the
    /// end yields fewer frames.
    pub range: Option<Range<usize>>,
}

/// The frames of a video, decoded one at a time: an iterator of `Result<Rgb>` that ends
/// after the first error. Dropping it stops ffmpeg.
#[derive(Debug)]
pub struct FrameReader {
    width: usize,
    height: usize,
    fps: f64,
    frames: Frames,
    finished: bool,
}

#[derive(Debug)]
enum Frames {
    Pipe(Pipe),
    Folder(FolderFrames),
}

impl FrameReader {
    /// Width of the frames yielded, in pixels.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Height of the frames yielded, in pixels.
    pub fn height(&self) -> usize {
        self.height
    }

    /// Frames per second of the frames yielded ([`ReadOptions::fps`] or the video's rate).
    pub fn fps(&self) -> f64 {
        self.fps
    }
}

impl Iterator for FrameReader {
    type Item = Result<Rgb>;

    fn next(&mut self) -> Option<Result<Rgb>> {
        if self.finished {
            return None;
        }
        let item = match &mut self.frames {
            Frames::Pipe(p) => p.next_frame(self.width, self.height),
            Frames::Folder(f) => f.next_frame(),
        };
        self.finished = !matches!(item, Some(Ok(_)));
        item
    }
}

impl std::iter::FusedIterator for FrameReader {}

impl Ffmpeg {
    /// Streams the frames of a video file (decoded by ffmpeg) or of a folder of PNG/JPEG
    /// frames (in name order), scaled, resampled and cut as `opts` says.
    pub fn read(&self, path: &Path, opts: &ReadOptions) -> Result<FrameReader> {
        check(opts)?;
        match self.open(path)? {
            Source::File(video) => self.read_file(path, &video, opts),
            Source::Folder(folder) => {
                let (width, height) = opts.size.unwrap_or((folder.width, folder.height));
                let mut files = folder.files;
                if let Some(r) = &opts.range {
                    files.truncate(r.end);
                    files.drain(..r.start.min(files.len()));
                }
                Ok(FrameReader {
                    width,
                    height,
                    fps: opts.fps.unwrap_or(FOLDER_FPS),
                    frames: Frames::Folder(FolderFrames::new(files, width, height)),
                    finished: false,
                })
            }
        }
    }

    fn read_file(&self, path: &Path, video: &FileVideo, opts: &ReadOptions) -> Result<FrameReader> {
        let (width, height) = opts.size.unwrap_or((video.info.width, video.info.height));
        if width.max(height) > MAX_SIDE {
            return Err(Error::TooLarge(format!(
                "{}: the video's {width}x{height} frames are too large to read (the limit is \
                 {MAX_SIDE} pixels a side); read them scaled down",
                path.display()
            )));
        }
        // Always resample, at the video's own rate by default: a variable-rate video then
        // comes out at a constant rate that stays in step with its sound.
        let rate = opts
            .fps
            .map_or_else(|| video.rate.clone(), |f| f.to_string());
        let mut filters = vec![format!("fps=fps={rate}")];
        let mut limit = Vec::new();
        if let Some(r) = &opts.range {
            // Frame indices after resampling; trim then restarts the timestamps at zero so
            // ffmpeg adds no frames to fill the gap before the first one kept, and ffmpeg
            // stops decoding after the last.
            let end = r.end.min(MAX_FRAME_INDEX);
            let start = r.start.min(end);
            filters.push(format!(
                "trim=start_frame={start}:end_frame={end},setpts=PTS-STARTPTS"
            ));
            limit = vec!["-frames:v".to_string(), (end - start).to_string()];
        }
        filters.push(format!(
            "scale=w={width}:h={height}:flags=lanczos+accurate_rnd+full_chroma_int,setsar=1,format=rgb24"
        ));
        let mut cmd = self.ffmpeg_command();
        cmd.arg("-i")
            .arg(file_url(path))
            .args(["-map", &format!("0:{}", video.stream)])
            .args(["-vf", &filters.join(",")])
            .args(limit)
            .args(["-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .map_err(|e| self.spawn_error(Program::Ffmpeg, e))?;
        let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(Error::Usage(
                "could not connect to ffmpeg's output pipes".to_string(),
            ));
        };
        Ok(FrameReader {
            width,
            height,
            fps: opts.fps.unwrap_or(video.info.fps),
            frames: Frames::Pipe(Pipe {
                path: path.to_path_buf(),
                child,
                stdout,
                stderr: Some(collect_tail(stderr)),
                buf: vec![0; 3 * width * height],
                produced: 0,
                empty_means_no_frames: opts.range.as_ref().is_none_or(|r| r.start == 0),
            }),
            finished: false,
        })
    }
}

/// Rejects options no video can satisfy.
fn check(opts: &ReadOptions) -> Result<()> {
    if let Some((w, h)) = opts.size {
        if w == 0 || h == 0 || w.max(h) > MAX_SIDE {
            return Err(Error::Usage(format!(
                "cannot scale video frames to {w}x{h}; width and height must be between 1 and \
                 {MAX_SIDE}"
            )));
        }
    }
    if let Some(f) = opts.fps {
        if !(f.is_finite() && f > 0.0 && f <= MAX_FPS) {
            return Err(Error::Usage(format!(
                "cannot resample a video to {f} frames per second; give a rate above 0 and up \
                 to {MAX_FPS}"
            )));
        }
    }
    if let Some(r) = &opts.range {
        if r.start >= r.end {
            return Err(Error::Usage(format!(
                "the frame range {}..{} is empty; give a range whose end is after its start \
                 (e.g. {}..{})",
                r.start,
                r.end,
                r.start,
                r.start + 1
            )));
        }
    }
    Ok(())
}

/// A running ffmpeg writing `rgb24` frames to its standard output.
#[derive(Debug)]
struct Pipe {
    path: PathBuf,
    child: Child,
    stdout: ChildStdout,
    /// The last lines of ffmpeg's error output, collected on a thread.
    stderr: Option<JoinHandle<Vec<String>>>,
    buf: Vec<u8>,
    produced: usize,
    /// Whether ending before the first frame means the video has none (not so for a range
    /// that starts later).
    empty_means_no_frames: bool,
}

impl Pipe {
    fn next_frame(&mut self, width: usize, height: usize) -> Option<Result<Rgb>> {
        let got = match fill(&mut self.stdout, &mut self.buf) {
            Ok(n) => n,
            Err(e) => {
                return Some(Err(Error::input(
                    &self.path,
                    format!("cannot read ffmpeg's decoded frames: {e}"),
                )))
            }
        };
        if got == self.buf.len() {
            self.produced += 1;
            return Some(Ok(planar(width, height, &self.buf)));
        }
        // The output ended: ffmpeg's exit status and error output tell whether it finished.
        let ok = self.child.wait().is_ok_and(|s| s.success());
        let tail = self
            .stderr
            .take()
            .and_then(|t| t.join().ok())
            .unwrap_or_default();
        let why = reason(&tail, &self.path);
        let frame = self.produced;
        if got > 0 {
            let status = if ok {
                String::new()
            } else {
                format!(": {why}")
            };
            return Some(Err(Error::input(
                &self.path,
                format!(
                    "ffmpeg's output ended inside frame {frame} ({got} of {} bytes){status}; the \
                     file may be damaged or truncated: re-export it, or check that ffmpeg can \
                     play it",
                    self.buf.len()
                ),
            )));
        }
        if !ok {
            return Some(Err(Error::input(
                &self.path,
                format!(
                    "ffmpeg stopped decoding at frame {frame}: {why}; the file may be \
                     damaged or truncated: re-export it, or check that ffmpeg can play it"
                ),
            )));
        }
        if frame == 0 && self.empty_means_no_frames {
            return Some(Err(no_frames(&self.path)));
        }
        None
    }
}

impl Drop for Pipe {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(t) = self.stderr.take() {
            let _ = t.join();
        }
    }
}

/// Reads until `buf` is full or the stream ends; returns the bytes read.
fn fill(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// Interleaved `rgb24` samples as a planar image.
fn planar(width: usize, height: usize, raw: &[u8]) -> Rgb {
    let n = width * height;
    let mut data = vec![0.0f32; 3 * n];
    let (r, gb) = data.split_at_mut(n);
    let (g, b) = gb.split_at_mut(n);
    for (i, px) in raw.chunks_exact(3).enumerate() {
        r[i] = px[0] as f32;
        g[i] = px[1] as f32;
        b[i] = px[2] as f32;
    }
    Rgb::new(width, height, data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn planar_layout() {
        let img = planar(2, 1, &[1, 2, 3, 4, 5, 6]);
        assert_eq!(img.data, vec![1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
    }

    #[test]
    fn bad_options_are_usage_errors() {
        let bad = [
            ReadOptions {
                size: Some((0, 4)),
                ..Default::default()
            },
            ReadOptions {
                fps: Some(f64::NAN),
                ..Default::default()
            },
            ReadOptions {
                fps: Some(0.0),
                ..Default::default()
            },
            ReadOptions {
                range: Some(3..3),
                ..Default::default()
            },
        ];
        for opts in bad {
            assert!(matches!(check(&opts), Err(Error::Usage(_))), "{opts:?}");
        }
        assert!(check(&ReadOptions::default()).is_ok());
    }
}
