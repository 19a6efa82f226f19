//! Encoding: numbered PNG frames (plus a stretch of sound) into a video file with ffmpeg, or
//! into a folder, written atomically.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::numbered::{count_numbered, numbered_frame, write_folder};
use super::tool::{file_url, reason, stderr_lines, Ffmpeg, Program};
use crate::codec::{self as io, Limits};
use crate::error::{Error, Result};

/// Highest frame rate [`EncodeOptions::fps`] accepts.
const MAX_FPS: f64 = 1000.0;
/// The outputs [`Ffmpeg::encode`] writes, for error messages.
const KINDS: &str = ".mp4, .mov, .mkv (H.264), .webm (VP9), .avi (MPEG-4), .gif, or a folder \
                     name without extension for PNG frames";

/// How to encode.
#[derive(Clone, Debug, PartialEq)]
pub struct EncodeOptions {
    /// Frames per second of the output.
    pub fps: f64,
    /// Sound to add, if any (ignored for GIF and folder outputs).
    pub audio: Option<AudioSource>,
}

/// A stretch of the sound of a file (usually the video the frames came from).
#[derive(Clone, Debug, PartialEq)]
pub struct AudioSource {
    /// The file holding the sound; a file without sound (or a folder) adds none.
    pub path: PathBuf,
    /// Where the stretch starts, in seconds.
    pub start_s: f64,
    /// How long it lasts in seconds; `None` up to the end (never longer than the video).
    pub duration_s: Option<f64>,
}

/// What an output path asks for.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    /// H.264 + AAC in the named muxer (mp4, mov, matroska).
    H264(&'static str),
    /// VP9 + Opus in WebM.
    Vp9,
    /// MPEG-4 part 2 + MP3 in AVI.
    Avi,
    /// An animated GIF with one palette for the whole clip.
    Gif,
    /// A folder of PNG frames.
    Folder,
}

impl Ffmpeg {
    /// Encodes the numbered PNG frames `dir/000000.png, 000001.png, …` into `out` at
    /// `opts.fps`, with `opts.audio`'s sound; `out`'s extension picks the format (see the
    /// [module docs](super)). Atomic: on failure a previous `out` is left untouched.
    pub fn encode(&self, dir: &Path, out: &Path, opts: &EncodeOptions) -> Result<()> {
        check(opts)?;
        let kind = output_kind(out)?;
        let count = count_numbered(dir)?;
        if kind == Kind::Folder {
            return write_folder(dir, count, out);
        }
        crate::atomic::output_dir(out)?;
        let first = io::load(&numbered_frame(dir, 0), &Limits::default())?.image;
        let video_s = count as f64 / opts.fps;

        let mut cmd = self.ffmpeg_command();
        cmd.args(["-y", "-f", "image2", "-pattern_type", "sequence"])
            .args(["-framerate", &opts.fps.to_string(), "-start_number", "0"])
            .arg("-i")
            .arg(frame_pattern(dir));
        let mut with_audio = false;
        if let (Some(a), true) = (&opts.audio, kind != Kind::Gif) {
            let seconds = a.duration_s.unwrap_or(f64::INFINITY).min(video_s);
            if seconds > 0.0 && self.has_audio(&a.path)? {
                cmd.args(["-ss", &a.start_s.to_string(), "-t", &seconds.to_string()])
                    .arg("-i")
                    .arg(file_url(&a.path));
                with_audio = true;
            }
        }
        // One output frame per input frame: no frame repeated to cover one that failed to
        // decode, so the count check below sees it. (`-vsync` rather than the newer
        // `-fps_mode`, which ffmpeg 4 lacks.)
        cmd.args(["-map", "0:v:0", "-vsync", "passthrough"]);
        if with_audio {
            cmd.args(["-map", "1:a:0"]);
        }
        cmd.args(codec_args(kind, first.width, first.height, with_audio));

        crate::atomic::write_via(out, |tmp| {
            cmd.arg(file_url(tmp));
            self.run_encoder(cmd, tmp, out, (dir, count))
        })
    }

    /// Runs the encoding command `cmd` that writes `tmp` (standing in for `out` in messages), and
    /// checks that the `count` frames of `dir` are all in it.
    pub(super) fn run_encoder(
        &self,
        mut cmd: Command,
        tmp: &Path,
        out: &Path,
        (dir, count): (&Path, usize),
    ) -> Result<()> {
        let out_err = |source: std::io::Error| Error::output(out, source);
        let done = cmd
            .output()
            .map_err(|e| self.spawn_error(Program::Ffmpeg, e))?;
        if !done.status.success() {
            let why = reason(&stderr_lines(&done.stderr), tmp);
            let hint = if why.contains("Unknown encoder") || why.contains("Encoder not found") {
                "; this ffmpeg lacks that encoder: install a complete build (Debian/Ubuntu: \
                 `apt-get install ffmpeg`) or choose another output format"
            } else {
                ""
            };
            return Err(out_err(std::io::Error::other(format!(
                "ffmpeg could not encode the video: {why}{hint}"
            ))));
        }
        // ffmpeg goes on past frames it cannot decode: make sure every frame is there.
        let written = self
            .count_video_packets(tmp)
            .map_err(|why| out_err(std::io::Error::other(why)))?;
        if written != count {
            return Err(out_err(std::io::Error::other(format!(
                "ffmpeg wrote {written} frames instead of the {count} in {}: {}",
                dir.display(),
                reason(&stderr_lines(&done.stderr), tmp)
            ))));
        }
        Ok(())
    }
}

/// Rejects options no output can satisfy.
pub(super) fn check(opts: &EncodeOptions) -> Result<()> {
    if !(opts.fps.is_finite() && opts.fps > 0.0 && opts.fps <= MAX_FPS) {
        return Err(Error::Usage(format!(
            "cannot encode a video at {} frames per second; give a rate above 0 and up to {MAX_FPS}",
            opts.fps
        )));
    }
    if let Some(a) = &opts.audio {
        let bad_start = !(a.start_s.is_finite() && a.start_s >= 0.0);
        let bad_length = a.duration_s.is_some_and(|d| !(d.is_finite() && d >= 0.0));
        if bad_start || bad_length {
            return Err(Error::Usage(format!(
                "{}: cannot take the sound from {} s for {} s; start and length must be \
                 non-negative numbers of seconds",
                a.path.display(),
                a.start_s,
                a.duration_s
                    .map_or("the rest".to_string(), |d| d.to_string())
            )));
        }
    }
    Ok(())
}

/// The kind of output `out` names: by extension, or a folder for a path without one, an
/// existing folder, or a path ending in a separator.
fn output_kind(out: &Path) -> Result<Kind> {
    let text = out.as_os_str().to_string_lossy();
    let ends_with_separator = text.ends_with('/') || text.ends_with(std::path::MAIN_SEPARATOR);
    if ends_with_separator || out.is_dir() {
        return Ok(Kind::Folder);
    }
    let Some(ext) = out.extension() else {
        return Ok(Kind::Folder);
    };
    let ext = ext.to_string_lossy().to_ascii_lowercase();
    Ok(match ext.as_str() {
        "mp4" => Kind::H264("mp4"),
        "mov" => Kind::H264("mov"),
        "mkv" => Kind::H264("matroska"),
        "webm" => Kind::Vp9,
        "avi" => Kind::Avi,
        "gif" => Kind::Gif,
        _ => {
            return Err(Error::Usage(format!(
                "{}: cannot write video as \".{ext}\"; use {KINDS}",
                out.display()
            )))
        }
    })
}

/// ffmpeg's image-sequence pattern for the numbered frames of `dir` (a `%` in the folder's
/// name doubled so it is not taken for a placeholder).
pub(super) fn frame_pattern(dir: &Path) -> OsString {
    let dir = match dir.to_str() {
        Some(s) if s.contains('%') => PathBuf::from(s.replace('%', "%%")),
        _ => dir.to_path_buf(),
    };
    file_url(&dir.join("%06d.png"))
}

/// The encoder, filter and muxer arguments for `kind`, for `width`×`height` frames.
fn codec_args(kind: Kind, width: usize, height: usize, audio: bool) -> Vec<String> {
    let args = |s: &str| s.split_whitespace().map(String::from).collect::<Vec<_>>();
    let (mut out, audio_args, muxer) = match kind {
        Kind::H264(muxer) => {
            let mut v = args("-c:v libx264 -preset medium -crf 18");
            v.extend(yuv420(width, height, "bt709"));
            if muxer != "matroska" {
                v.extend(args("-movflags +faststart"));
            }
            (v, args("-c:a aac -b:a 192k"), muxer)
        }
        Kind::Vp9 => {
            let mut v = args("-c:v libvpx-vp9 -crf 24 -b:v 0 -row-mt 1");
            // About 4x faster than libvpx's default speed 0, for ~3% more bytes.
            v.extend(args("-deadline good -cpu-used 2"));
            v.extend(yuv420(width, height, "bt709"));
            (v, args("-c:a libopus -b:a 128k"), "webm")
        }
        Kind::Avi => {
            let mut v = args("-c:v mpeg4 -q:v 3");
            v.extend(yuv420(width, height, "bt601"));
            // AVI has no timestamps to shift: shifting them for the MP3 encoder's delay
            // leaves a one-frame hole after the first frame.
            v.extend(args("-avoid_negative_ts disabled"));
            (v, args("-c:a libmp3lame -q:a 2"), "avi")
        }
        Kind::Gif => (
            args("-vf split[a][b];[a]palettegen[p];[b][p]paletteuse -loop 0"),
            Vec::new(),
            "gif",
        ),
        Kind::Folder => (Vec::new(), Vec::new(), ""),
    };
    if audio {
        out.extend(audio_args);
    }
    out.extend(args(&format!("-f {muxer}")));
    out
}

/// Filters and flags for 4:2:0 output: odd sides grow by one pixel (a copy of the last row or
/// column), RGB converts with `matrix` and, for BT.709, the stream says so.
fn yuv420(width: usize, height: usize, matrix: &str) -> Vec<String> {
    let (dx, dy) = (width % 2, height % 2);
    let mut filters = Vec::new();
    if dx + dy > 0 {
        filters.push(format!(
            "pad={}:{},fillborders=right={dx}:bottom={dy}:mode=smear",
            width + dx,
            height + dy
        ));
    }
    filters.push(format!(
        "scale=out_color_matrix={matrix}:out_range=tv:flags=accurate_rnd,format=yuv420p"
    ));
    let mut out = vec![
        "-vf".to_string(),
        filters.join(","),
        "-pix_fmt".to_string(),
        "yuv420p".to_string(),
    ];
    if matrix == "bt709" {
        for flag in ["-colorspace", "-color_primaries", "-color_trc"] {
            out.extend([flag.to_string(), "bt709".to_string()]);
        }
    }
    out
}

/// Checks before any work that [`Ffmpeg::encode`] can write `out`: a known kind, in a folder
/// that exists.
pub fn check_output(out: &Path) -> Result<()> {
    output_kind(out)?;
    crate::atomic::output_dir(out)
        .map(|_| ())
        .map_err(|e| Error::Usage(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_by_extension() {
        assert_eq!(output_kind(Path::new("a.MP4")).unwrap(), Kind::H264("mp4"));
        assert_eq!(
            output_kind(Path::new("a.mkv")).unwrap(),
            Kind::H264("matroska")
        );
        assert_eq!(output_kind(Path::new("a.webm")).unwrap(), Kind::Vp9);
        assert_eq!(output_kind(Path::new("frames")).unwrap(), Kind::Folder);
        assert_eq!(output_kind(Path::new("out.d/")).unwrap(), Kind::Folder);
        match output_kind(Path::new("a.flv")) {
            Err(Error::Usage(msg)) => assert!(msg.contains(".mp4") && msg.contains(".gif")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn odd_sides_are_padded_for_420() {
        let args = yuv420(33, 20, "bt709").join(" ");
        assert!(
            args.contains("pad=34:20,fillborders=right=1:bottom=0"),
            "{args}"
        );
        assert!(!yuv420(32, 20, "bt601").join(" ").contains("pad="));
    }

    #[test]
    fn percent_in_folder_names_is_escaped() {
        let p = frame_pattern(Path::new("/tmp/100%"));
        assert_eq!(p, OsString::from("file:/tmp/100%%/%06d.png"));
    }
}
