//! Uploaded images: written only into the session's temporary folder, refused by their declared
//! size before any pixel is decoded, then decoded by the engine's limited loader.

use std::io::Cursor;
use std::path::Path;

use impasto::image::{resize, Rgb};
use impasto_io::codec as io;

use crate::error::Error;

/// Most pixels an upload may declare (larger ones are refused before decoding).
pub const MAX_UPLOAD_PIXELS: u64 = 40_000_000;
/// Uploads are downscaled to this longer side after decoding (the studio renders at most this).
pub const MAX_SIDE: usize = 2048;
/// Longest file name kept for messages.
const MAX_NAME: usize = 80;

/// A printable file name for messages: the last path component, no control characters.
pub fn display_name(raw: Option<&str>) -> String {
    let base = raw
        .unwrap_or_default()
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default();
    let name: String = base
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_NAME)
        .collect();
    if name.trim().is_empty() {
        "the upload".into()
    } else {
        name
    }
}

/// Stores `bytes` as `dir/stored_as` and decodes it; `name` is what messages call it. A refused
/// file is removed again.
pub fn decode(dir: &Path, stored_as: &str, name: &str, bytes: &[u8]) -> Result<Rgb, Error> {
    if bytes.is_empty() {
        return Err(Error::BadInput(format!(
            "{name} is empty; choose a PNG or JPEG image"
        )));
    }
    check_declared_size(name, bytes)?;
    let path = dir.join(stored_as);
    std::fs::write(&path, bytes)
        .map_err(|e| Error::Internal(format!("cannot store {name} for this session: {e}")))?;
    let loaded = io::load(&path).map_err(|e| {
        let _ = std::fs::remove_file(&path);
        let text = e.to_string().replace(&path.display().to_string(), name);
        match e {
            impasto_io::Error::Input { .. } => Error::BadInput(text),
            impasto_io::Error::TooLarge(_) => Error::TooLarge(text),
            _ => Error::Internal(text),
        }
    })?;
    let img = loaded.image;
    if img.longer_side() <= MAX_SIDE {
        return Ok(img);
    }
    let (w, h) = resize::fit_longer_side(img.width, img.height, MAX_SIDE);
    Ok(resize::resize(&img, w, h))
}

/// Refuses images whose header declares more than [`MAX_UPLOAD_PIXELS`] (decompression bombs).
/// Files whose header cannot be read pass on to the loader, which says what they are.
fn check_declared_size(name: &str, bytes: &[u8]) -> Result<(), Error> {
    // Only the header is read here, so the reader's own allocation limits are not needed.
    let dims = image::ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .ok()
        .and_then(|mut r| {
            r.no_limits();
            r.into_dimensions().ok()
        });
    if let Some((w, h)) = dims {
        if w as u64 * h as u64 > MAX_UPLOAD_PIXELS {
            return Err(Error::TooLarge(format!(
                "{name} declares {w}×{h} pixels, more than the studio's limit of {} megapixels; \
                 downscale it first",
                MAX_UPLOAD_PIXELS / 1_000_000
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_lose_folders_and_control_characters() {
        assert_eq!(display_name(Some("C:\\x\\a.png")), "a.png");
        assert_eq!(display_name(Some("../../etc/pass\nwd")), "passwd");
        assert_eq!(display_name(None), "the upload");
        assert_eq!(display_name(Some(&"n".repeat(500))).len(), MAX_NAME);
    }

    #[test]
    fn text_is_refused_and_not_kept() {
        let dir = tempfile::tempdir().unwrap();
        match decode(dir.path(), "content.img", "notes.txt", b"hello there") {
            Err(Error::BadInput(m)) => {
                assert!(m.starts_with("notes.txt: not a PNG or JPEG image"), "{m}");
                assert!(!m.contains(&dir.path().display().to_string()), "{m}");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
