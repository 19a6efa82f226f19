//! What a video holds: ffprobe's JSON report for a file, the files themselves for a folder.

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;

use super::folder::{self, FolderVideo, FOLDER_FPS};
use super::tool::{file_url, reason, stderr_lines, Ffmpeg, Program};
use crate::error::{Error, Result};

/// Frame rate assumed when a video states none.
const FALLBACK_RATE: (u64, u64) = (25, 1);
/// What every "cannot read this video" message suggests.
const READABLE_KINDS: &str = "check that the file is a video ffmpeg can open (mp4, webm, avi, \
                              mov, mkv, gif) or a folder of PNG/JPEG frames";

/// What a video holds.
#[derive(Clone, Debug, PartialEq)]
pub struct VideoInfo {
    /// Width of the frames as displayed (rotation and non-square pixels applied), in pixels.
    pub width: usize,
    /// Height of the frames as displayed, in pixels.
    pub height: usize,
    /// Frames per second (the stream's nominal rate, or its average rate when they disagree).
    pub fps: f64,
    /// Number of frames, as stored in the file or estimated from the duration; `None` if
    /// unknown. Reading a variable-rate video at [`fps`](Self::fps) may give a few more or less.
    pub frames: Option<usize>,
    /// Length of the video in seconds, if known.
    pub duration_s: Option<f64>,
    /// True if the file also holds sound.
    pub has_audio: bool,
}

/// A video file as [`Ffmpeg::read`] needs it.
pub(super) struct FileVideo {
    pub info: VideoInfo,
    /// ffmpeg's index of the video stream to decode.
    pub stream: usize,
    /// The frame rate as an exact ffmpeg rational (`30000/1001`).
    pub rate: String,
}

/// A probed input: a video file or a folder of frames.
pub(super) enum Source {
    File(FileVideo),
    Folder(FolderVideo),
}

impl Ffmpeg {
    /// Probes a video file (with ffprobe) or a folder of PNG/JPEG frames (in name order,
    /// 25 frames per second, no audio).
    pub fn probe(&self, path: &Path) -> Result<VideoInfo> {
        Ok(match self.open(path)? {
            Source::File(f) => f.info,
            Source::Folder(f) => folder_info(&f),
        })
    }

    /// Probes `path`, keeping what reading it needs.
    pub(super) fn open(&self, path: &Path) -> Result<Source> {
        match std::fs::metadata(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(Error::input(
                path,
                "file not found; check the path (relative paths start from the current directory)",
            )),
            Err(e) => Err(Error::input(path, format!("cannot read the file: {e}"))),
            Ok(m) if m.is_dir() => folder::open(path).map(Source::Folder),
            Ok(_) => self.probe_file(path).map(Source::File),
        }
    }

    /// Whether `path` holds sound (a folder never does).
    pub(super) fn has_audio(&self, path: &Path) -> Result<bool> {
        if path.is_dir() {
            return Ok(false);
        }
        Ok(self
            .ffprobe_report(path)?
            .streams
            .iter()
            .any(|s| s.codec_type.as_deref() == Some("audio")))
    }

    /// The container's tags (ffprobe's format tags, such as Matroska's), by name.
    pub fn tags(&self, path: &Path) -> Result<HashMap<String, String>> {
        Ok(self
            .ffprobe_report(path)?
            .format
            .map(|f| f.tags)
            .unwrap_or_default())
    }

    /// The number of packets (one per frame) in the first video stream of a file just
    /// written; reads the file but decodes nothing. Fails with ffprobe's reason.
    pub(super) fn count_video_packets(&self, path: &Path) -> std::result::Result<usize, String> {
        let out = self
            .ffprobe_command()
            .args(["-select_streams", "v:0", "-count_packets"])
            .args(["-show_entries", "stream=nb_read_packets", "-of", "csv=p=0"])
            .arg(file_url(path))
            .output()
            .map_err(|e| self.spawn_error(Program::Ffprobe, e).to_string())?;
        let text = String::from_utf8_lossy(&out.stdout);
        match text.trim().parse() {
            Ok(n) if out.status.success() => Ok(n),
            _ => Err(format!(
                "ffprobe cannot count the frames just written: {}",
                reason(&stderr_lines(&out.stderr), path)
            )),
        }
    }

    fn probe_file(&self, path: &Path) -> Result<FileVideo> {
        describe(path, &self.ffprobe_report(path)?)
    }

    /// ffprobe's report on the streams of `path`.
    fn ffprobe_report(&self, path: &Path) -> Result<Report> {
        let out = self
            .ffprobe_command()
            .args(["-show_streams", "-show_format", "-of", "json"])
            .arg(file_url(path))
            .output()
            .map_err(|e| self.spawn_error(Program::Ffprobe, e))?;
        if !out.status.success() {
            return Err(unreadable(path, &reason(&stderr_lines(&out.stderr), path)));
        }
        serde_json::from_slice(&out.stdout).map_err(|e| {
            unreadable(
                path,
                &format!("ffprobe's report could not be understood ({e})"),
            )
        })
    }
}

/// What a folder of frames holds: its frames at [`FOLDER_FPS`], no sound.
fn folder_info(f: &FolderVideo) -> VideoInfo {
    let n = f.files.len();
    VideoInfo {
        width: f.width,
        height: f.height,
        fps: FOLDER_FPS,
        frames: Some(n),
        duration_s: Some(n as f64 / FOLDER_FPS),
        has_audio: false,
    }
}

/// The input error for a file ffmpeg cannot open, with ffprobe's `why`.
pub(super) fn unreadable(path: &Path, why: &str) -> Error {
    Error::input(
        path,
        format!("cannot read this video: {why}; {READABLE_KINDS}"),
    )
}

/// The input error for a video without a single frame.
pub(super) fn no_frames(path: &Path) -> Error {
    Error::input(
        path,
        format!("has no video frames (the video is empty); {READABLE_KINDS}"),
    )
}

/// The parts of ffprobe's `-show_streams -show_format -of json` report used here.
#[derive(Deserialize)]
struct Report {
    #[serde(default)]
    streams: Vec<StreamReport>,
    format: Option<FormatReport>,
}

#[derive(Deserialize)]
struct StreamReport {
    index: usize,
    codec_type: Option<String>,
    width: Option<usize>,
    height: Option<usize>,
    sample_aspect_ratio: Option<String>,
    r_frame_rate: Option<String>,
    avg_frame_rate: Option<String>,
    nb_frames: Option<String>,
    duration: Option<String>,
    #[serde(default)]
    disposition: HashMap<String, i64>,
    #[serde(default)]
    tags: HashMap<String, String>,
    #[serde(default)]
    side_data_list: Vec<SideData>,
}

#[derive(Deserialize)]
struct SideData {
    rotation: Option<f64>,
}

#[derive(Deserialize)]
struct FormatReport {
    duration: Option<String>,
    #[serde(default)]
    tags: HashMap<String, String>,
}

/// Turns ffprobe's report into what the video holds (or the reason it holds no video).
fn describe(path: &Path, report: &Report) -> Result<FileVideo> {
    let has_audio = report
        .streams
        .iter()
        .any(|s| s.codec_type.as_deref() == Some("audio"));
    // Cover art in music files is a "video" stream of one attached picture: not a video.
    let video = report.streams.iter().find(|s| {
        s.codec_type.as_deref() == Some("video")
            && s.disposition.get("attached_pic").copied().unwrap_or(0) == 0
            && s.width.unwrap_or(0) > 0
            && s.height.unwrap_or(0) > 0
    });
    let Some(v) = video else {
        let what = if has_audio {
            "holds only sound, no video stream"
        } else {
            "has no video stream (it holds no video frames)"
        };
        return Err(Error::input(
            path,
            format!("{what}; give a video file (mp4, webm, avi, mov, mkv, gif) or a folder of PNG/JPEG frames"),
        ));
    };
    let (mut width, mut height) = (v.width.unwrap_or(0), v.height.unwrap_or(0));
    if let Some((num, den)) = rational(v.sample_aspect_ratio.as_deref()) {
        if num != den {
            width = ((width as f64 * num as f64 / den as f64).round() as usize).max(1);
        }
    }
    if rotation(v) % 180 == 90 {
        std::mem::swap(&mut width, &mut height);
    }

    let (num, den) = frame_rate(
        rational(v.r_frame_rate.as_deref()),
        rational(v.avg_frame_rate.as_deref()),
    );
    let fps = num as f64 / den as f64;
    let format_duration = report
        .format
        .as_ref()
        .and_then(|f| seconds(f.duration.as_deref()));
    let duration_s = seconds(v.duration.as_deref())
        .or_else(|| v.tags.get("DURATION").and_then(|d| clock(d)))
        .or(format_duration);
    let frames = match v.nb_frames.as_deref().and_then(|n| n.parse::<usize>().ok()) {
        Some(n) => Some(n),
        None => duration_s.map(|d| (d * fps).round() as usize),
    };
    // A zero-length file: its stream may still list packets that an edit list hides.
    if frames == Some(0) || format_duration == Some(0.0) {
        return Err(no_frames(path));
    }
    Ok(FileVideo {
        info: VideoInfo {
            width,
            height,
            fps,
            frames,
            duration_s,
            has_audio,
        },
        stream: v.index,
        rate: format!("{num}/{den}"),
    })
}

/// The display rotation in degrees, `0..360`, from the display matrix or the old `rotate` tag.
fn rotation(v: &StreamReport) -> i64 {
    let degrees = v
        .side_data_list
        .iter()
        .find_map(|s| s.rotation)
        .or_else(|| v.tags.get("rotate").and_then(|r| r.parse().ok()))
        .unwrap_or(0.0);
    (degrees.round() as i64).rem_euclid(360)
}

/// The rate to decode at: the nominal rate, unless the average differs (variable frame rate),
/// where the average keeps the frame count and the sound in step.
fn frame_rate(nominal: Option<(u64, u64)>, average: Option<(u64, u64)>) -> (u64, u64) {
    let value = |(n, d): (u64, u64)| n as f64 / d as f64;
    match (nominal, average) {
        (Some(r), Some(a)) if (value(r) - value(a)).abs() <= 0.01 * value(a) => r,
        (_, Some(a)) => a,
        (Some(r), None) => r,
        (None, None) => FALLBACK_RATE,
    }
}

/// Parses a positive ffprobe rational, `"30000/1001"` or `"16:9"`.
fn rational(s: Option<&str>) -> Option<(u64, u64)> {
    let (n, d) = s?.split_once(['/', ':'])?;
    let (n, d) = (n.trim().parse::<u64>().ok()?, d.trim().parse::<u64>().ok()?);
    (n > 0 && d > 0).then_some((n, d))
}

/// Parses a duration in seconds (`"1.200000"`); `N/A` and negatives are unknown.
fn seconds(s: Option<&str>) -> Option<f64> {
    s?.parse::<f64>()
        .ok()
        .filter(|d| d.is_finite() && *d >= 0.0)
}

/// Parses a Matroska `DURATION` tag, `"00:00:01.200000000"`.
fn clock(s: &str) -> Option<f64> {
    let mut total = 0.0;
    for part in s.split(':') {
        total = total * 60.0 + part.trim().parse::<f64>().ok()?;
    }
    (total.is_finite() && total >= 0.0).then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn describe_json(json: &str) -> Result<FileVideo> {
        describe(Path::new("v.mp4"), &serde_json::from_str(json).unwrap())
    }

    #[test]
    fn rotation_and_non_square_pixels_give_the_displayed_size() {
        let v = describe_json(
            r#"{"streams":[{"index":0,"codec_type":"video","width":96,"height":64,
            "sample_aspect_ratio":"2:1","r_frame_rate":"10/1","avg_frame_rate":"10/1",
            "nb_frames":"12","side_data_list":[{"side_data_type":"Display Matrix","rotation":-90}]},
            {"index":1,"codec_type":"audio"}],"format":{"duration":"1.2"}}"#,
        )
        .unwrap();
        assert_eq!((v.info.width, v.info.height), (64, 192));
        assert_eq!((v.info.frames, v.info.has_audio), (Some(12), true));
        assert_eq!(v.rate, "10/1");
    }

    #[test]
    fn variable_rate_uses_the_average_and_estimates_frames() {
        let v = describe_json(
            r#"{"streams":[{"index":2,"codec_type":"video","width":8,"height":8,
            "r_frame_rate":"90000/1","avg_frame_rate":"30000/1001",
            "tags":{"DURATION":"00:00:02.002000000"}}],"format":{"duration":"2.1"}}"#,
        )
        .unwrap();
        assert_eq!((v.stream, v.rate.as_str()), (2, "30000/1001"));
        assert_eq!(v.info.frames, Some(60));
        assert!((v.info.duration_s.unwrap() - 2.002).abs() < 1e-9);
        assert!(!v.info.has_audio);
    }

    #[test]
    fn cover_art_and_empty_streams_are_not_videos() {
        let cover = describe_json(
            r#"{"streams":[{"index":0,"codec_type":"audio"},{"index":1,"codec_type":"video",
            "width":500,"height":500,"disposition":{"attached_pic":1}}]}"#,
        );
        match cover {
            Err(Error::Input { msg, .. }) => assert!(msg.contains("only sound"), "{msg}"),
            _ => panic!("cover art taken for a video"),
        }
        let empty = describe_json(
            r#"{"streams":[{"index":0,"codec_type":"video","width":8,"height":8,
            "r_frame_rate":"10/1","nb_frames":"12"}],"format":{"duration":"0.000000"}}"#,
        );
        match empty {
            Err(Error::Input { msg, .. }) => assert!(msg.contains("no video frames"), "{msg}"),
            _ => panic!("an empty video was accepted"),
        }
    }

    #[test]
    fn parsing_helpers() {
        assert_eq!(rational(Some("0/0")), None);
        assert_eq!(rational(Some("16:9")), Some((16, 9)));
        assert_eq!(seconds(Some("N/A")), None);
        assert_eq!(clock("01:00:01.5"), Some(3601.5));
        assert_eq!(frame_rate(None, None), FALLBACK_RATE);
        assert_eq!(frame_rate(Some((25, 1)), Some((2497, 100))), (25, 1));
    }
}
