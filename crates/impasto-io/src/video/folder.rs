//! Folders of frames: PNG/JPEG files read in name order, and folder outputs (a copy of the
//! numbered PNG frames `000000.png`, `000001.png`, … the encoder takes).

use std::cmp::Ordering;
use std::path::{Path, PathBuf};

use super::probe::VideoInfo;
use crate::codec::{self as io, Limits};
use crate::error::{Error, Result};
use impasto::image::{resize::resize, Rgb};

/// Nominal frame rate of a folder of frames.
pub(super) const FOLDER_FPS: f64 = 25.0;

/// A folder of frames as [`super::Ffmpeg::read`] needs it.
pub(super) struct FolderVideo {
    pub info: VideoInfo,
    /// The frame files in playing order.
    pub files: Vec<PathBuf>,
}

/// Lists the frames of `dir` and reads the first for the size.
pub(super) fn probe(dir: &Path) -> Result<FolderVideo> {
    let files = list_frames(dir)?;
    let first = io::load(&files[0], &Limits::default())?.image;
    let n = files.len();
    Ok(FolderVideo {
        info: VideoInfo {
            width: first.width,
            height: first.height,
            fps: FOLDER_FPS,
            frames: Some(n),
            duration_s: Some(n as f64 / FOLDER_FPS),
            has_audio: false,
        },
        files,
    })
}

/// The PNG and JPEG files of `dir` (by extension), in natural name order
/// (`frame2.png` before `frame10.png`).
fn list_frames(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        Error::input(
            dir,
            format!("cannot list the folder: {e}; check that it exists and is readable"),
        )
    })?;
    let mut frames = Vec::new();
    let mut others = 0usize;
    for entry in entries {
        let entry = entry.map_err(|e| Error::input(dir, format!("cannot list the folder: {e}")))?;
        let path = entry.path();
        let is_image = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| ["png", "jpg", "jpeg"].contains(&e.to_ascii_lowercase().as_str()));
        // Follows links, so a folder of linked frames works.
        if is_image && path.is_file() {
            frames.push(path);
        } else {
            others += 1;
        }
    }
    if frames.is_empty() {
        let what = match others {
            0 => "is an empty folder".to_string(),
            1 => "holds no PNG or JPEG frames (only 1 other file)".to_string(),
            n => format!("holds no PNG or JPEG frames (only {n} other files)"),
        };
        return Err(Error::input(
            dir,
            format!(
                "{what}; a folder used as a video needs its frames as .png or .jpg files named \
                 in playing order (e.g. 000000.png, 000001.png, …), or give a video file instead"
            ),
        ));
    }
    frames.sort_by(|a, b| {
        let (a, b) = (file_name(a), file_name(b));
        natural_cmp(&a, &b).then_with(|| a.cmp(&b))
    });
    Ok(frames)
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Compares names with runs of digits taken as numbers.
fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut x, mut y) = (a.as_bytes(), b.as_bytes());
    loop {
        match (x.first(), y.first()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(c), Some(d)) if c.is_ascii_digit() && d.is_ascii_digit() => {
                let (nx, rx) = split_number(x);
                let (ny, ry) = split_number(y);
                let ord = nx.len().cmp(&ny.len()).then_with(|| nx.cmp(ny));
                if ord != Ordering::Equal {
                    return ord;
                }
                (x, y) = (rx, ry);
            }
            (Some(c), Some(d)) => {
                if c != d {
                    return c.cmp(d);
                }
                (x, y) = (&x[1..], &y[1..]);
            }
        }
    }
}

/// Splits off the leading run of digits (without its leading zeros) from the rest.
fn split_number(s: &[u8]) -> (&[u8], &[u8]) {
    let end = s
        .iter()
        .position(|c| !c.is_ascii_digit())
        .unwrap_or(s.len());
    let zeros = s[..end].iter().take_while(|&&c| c == b'0').count();
    (&s[zeros..end], &s[end..])
}

/// Frames of a folder, decoded one at a time and resized to one size.
#[derive(Debug)]
pub(super) struct FolderFrames {
    files: std::vec::IntoIter<PathBuf>,
    width: usize,
    height: usize,
}

impl FolderFrames {
    /// Yields `files` as `width`×`height` frames.
    pub fn new(files: Vec<PathBuf>, width: usize, height: usize) -> Self {
        FolderFrames {
            files: files.into_iter(),
            width,
            height,
        }
    }

    /// The next frame, `None` after the last.
    pub fn next_frame(&mut self) -> Option<Result<Rgb>> {
        let path = self.files.next()?;
        Some(io::load(&path, &Limits::default()).map(|l| {
            if (l.image.width, l.image.height) == (self.width, self.height) {
                l.image
            } else {
                resize(&l.image, self.width, self.height)
            }
        }))
    }
}

/// The path of frame `i` of an encoder input folder.
pub(super) fn numbered_frame(dir: &Path, i: usize) -> PathBuf {
    dir.join(numbered_name(i))
}

fn numbered_name(i: usize) -> String {
    format!("{i:06}.png")
}

/// True for the names the encoder's numbered frames have (`000123.png`).
fn is_numbered_name(name: &str) -> bool {
    let b = name.as_bytes();
    b.len() == 10 && b.ends_with(b".png") && b[..6].iter().all(u8::is_ascii_digit)
}

/// How many consecutive numbered frames `dir` holds from `000000.png`; none is an error.
pub(super) fn count_numbered(dir: &Path) -> Result<usize> {
    if !dir.is_dir() {
        return Err(Error::input(
            dir,
            "the folder of frames to encode does not exist; it must hold the frames as \
             000000.png, 000001.png, …",
        ));
    }
    let n = (0..)
        .take_while(|&i| numbered_frame(dir, i).is_file())
        .count();
    if n == 0 {
        return Err(Error::input(
            dir,
            "holds no frame 000000.png, so there is nothing to encode; the frames must be named \
             000000.png, 000001.png, …",
        ));
    }
    Ok(n)
}

/// Writes frames `0..count` of `frames` as the folder `out`: copied into a temporary folder
/// beside it that is renamed into place, so a failure leaves any previous `out` as it was.
/// An existing `out` is replaced only if it holds nothing but numbered frames.
pub(super) fn write_folder(frames: &Path, count: usize, out: &Path) -> Result<()> {
    let out_err = |source: std::io::Error| Error::Output {
        path: out.to_path_buf(),
        source,
    };
    let Some(name) = out.file_name().map(|n| n.to_string_lossy().into_owned()) else {
        return Err(Error::Usage(format!(
            "{}: not a folder name to write frames to; give a path such as out/frames",
            out.display()
        )));
    };
    let parent = crate::atomic::output_dir(out)?;
    let existing = std::fs::symlink_metadata(out).ok();
    if let Some(m) = &existing {
        check_replaceable(out, m)?;
    }
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}.tmp"))
        .tempdir_in(&parent)
        .map_err(out_err)?;
    for i in 0..count {
        std::fs::copy(numbered_frame(frames, i), tmp.path().join(numbered_name(i)))
            .map_err(out_err)?;
    }
    set_folder_permissions(tmp.path(), existing.as_ref());
    if existing.is_some() {
        // Move the old folder aside (into a temporary folder that removes it when dropped),
        // put the new one in place, and move the old one back if that fails.
        let old = tempfile::Builder::new()
            .prefix(&format!(".{name}.old"))
            .tempdir_in(&parent)
            .map_err(out_err)?;
        let aside = old.path().join(&name);
        std::fs::rename(out, &aside).map_err(out_err)?;
        if let Err(e) = std::fs::rename(tmp.path(), out) {
            let _ = std::fs::rename(&aside, out);
            return Err(out_err(e));
        }
    } else {
        std::fs::rename(tmp.path(), out).map_err(out_err)?;
    }
    // Renamed away: nothing left for the guard to remove.
    let _ = tmp.keep();
    Ok(())
}

/// Refuses to replace anything but an earlier folder output.
fn check_replaceable(out: &Path, meta: &std::fs::Metadata) -> Result<()> {
    let refuse = |what: String| {
        Error::Usage(format!(
            "{}: {what}; a folder output replaces only a folder of frames 000000.png, \
             000001.png, … (so nothing else is lost): choose a new or empty folder, or give a \
             video file name such as out.mp4",
            out.display()
        ))
    };
    if !meta.is_dir() {
        return Err(refuse(
            "exists but is a file or a link, not a folder".to_string(),
        ));
    }
    let entries = std::fs::read_dir(out).map_err(|source| Error::Output {
        path: out.to_path_buf(),
        source,
    })?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !is_numbered_name(&name) || !entry.file_type().is_ok_and(|t| t.is_file()) {
            return Err(refuse(format!(
                "the folder holds {name}, which is not a frame"
            )));
        }
    }
    Ok(())
}

/// Gives a new output folder the permissions of the folder it replaces, or `rwxr-xr-x`
/// (temporary folders are created private). Best effort.
#[cfg(unix)]
fn set_folder_permissions(dir: &Path, replaced: Option<&std::fs::Metadata>) {
    use std::os::unix::fs::PermissionsExt;
    let perms = replaced
        .map(|m| m.permissions())
        .unwrap_or_else(|| std::fs::Permissions::from_mode(0o755));
    let _ = std::fs::set_permissions(dir, perms);
}

#[cfg(not(unix))]
fn set_folder_permissions(_dir: &Path, _replaced: Option<&std::fs::Metadata>) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_order() {
        let mut names = vec!["f10.png", "f2.png", "f1.png", "f01.png", "a.png", "f2b.png"];
        names.sort_by(|a, b| natural_cmp(a, b).then_with(|| a.cmp(b)));
        assert_eq!(
            names,
            ["a.png", "f01.png", "f1.png", "f2.png", "f2b.png", "f10.png"]
        );
    }

    #[test]
    fn numbered_names() {
        assert!(is_numbered_name("000123.png"));
        assert!(!is_numbered_name("00123.png"));
        assert!(!is_numbered_name("abcdef.png"));
        assert!(!is_numbered_name("000123.jpg"));
        assert_eq!(numbered_name(7), "000007.png");
    }
}
