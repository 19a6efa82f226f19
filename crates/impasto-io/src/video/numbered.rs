//! The numbered PNG frames `000000.png`, `000001.png`, … the encoder takes, and folder outputs
//! (a copy of them, put in place atomically).

use std::path::{Path, PathBuf};

use crate::atomic;
use crate::error::{Error, Result};

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

/// Writes frames `0..count` of `frames` as the folder `out`, atomically
/// ([`atomic::write_dir`]). An existing `out` is replaced only if it holds nothing but
/// numbered frames.
pub(super) fn write_folder(frames: &Path, count: usize, out: &Path) -> Result<()> {
    if out.file_name().is_none() {
        return Err(Error::Usage(format!(
            "{}: not a folder name to write frames to; give a path such as out/frames",
            out.display()
        )));
    }
    if let Ok(m) = std::fs::symlink_metadata(out) {
        check_replaceable(out, &m)?;
    }
    atomic::write_dir(out, |tmp| {
        for i in 0..count {
            std::fs::copy(numbered_frame(frames, i), tmp.join(numbered_name(i)))
                .map_err(|source| Error::output(out, source))?;
        }
        Ok(())
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_names() {
        assert!(is_numbered_name("000123.png"));
        assert!(!is_numbered_name("00123.png"));
        assert!(!is_numbered_name("abcdef.png"));
        assert!(!is_numbered_name("000123.jpg"));
        assert_eq!(numbered_name(7), "000007.png");
    }
}
