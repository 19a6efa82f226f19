//! Folders of frames read as a video: the PNG/JPEG files in name order.

use std::cmp::Ordering;
use std::path::{Path, PathBuf};

use crate::codec::{self as io, Limits};
use crate::error::{Error, Result};
use impasto::image::{resize::resize, Rgb};

/// Nominal frame rate of a folder of frames.
pub(super) const FOLDER_FPS: f64 = 25.0;

/// A folder of frames as [`super::Ffmpeg::read`] needs it.
pub(super) struct FolderVideo {
    /// The frame files in playing order.
    pub files: Vec<PathBuf>,
    /// The size of the first frame.
    pub width: usize,
    pub height: usize,
}

/// Lists the frames of `dir` and reads the first for the size.
pub(super) fn open(dir: &Path) -> Result<FolderVideo> {
    let files = list_frames(dir)?;
    let first = io::load(&files[0], &Limits::default())?.image;
    Ok(FolderVideo {
        files,
        width: first.width,
        height: first.height,
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
}
