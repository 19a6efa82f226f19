//! Image files: [`load`] reads the bytes and decodes them, [`save`] encodes and writes
//! atomically.

use std::path::Path;

use super::decode::{decode, Decoded};
use super::encode::{encode, Format, JPEG_QUALITY};
use super::limits::Limits;
use crate::atomic;
use crate::error::{Error, Result};
use impasto::image::Rgb;

/// Sample depth for [`save`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BitDepth {
    /// 8 bits per sample.
    Eight,
    /// 16 bits per sample (PNG only; JPEG is always written with 8).
    Sixteen,
}

/// Loads a PNG or JPEG file: [`decode`] of its bytes under `limits`, with errors naming the
/// file.
pub fn load(path: &Path, limits: &Limits) -> Result<Decoded> {
    let bytes = read_input(path)?;
    decode(&bytes, limits).map_err(|e| e.named(path))
}

/// Saves `image` (and `alpha`, a `0..=255` plane, if given) as PNG or JPEG by the extension of
/// `path` ([`Format::for_path`]), atomically.
pub fn save(path: &Path, image: &Rgb, alpha: Option<&[f32]>, depth: BitDepth) -> Result<()> {
    let bytes = encode(image, alpha, Format::for_path(path, depth)?)?;
    atomic::write(path, &bytes)
}

impl Format {
    /// The format a file called `path` is written in: PNG of `depth` for `.png`, JPEG (at
    /// [`JPEG_QUALITY`], 8 bits whatever `depth` says) for `.jpg` and `.jpeg`, in any case.
    /// Other extensions are an [`Error::Usage`].
    pub fn for_path(path: &Path, depth: BitDepth) -> Result<Format> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match (ext.as_deref(), depth) {
            (Some("png"), BitDepth::Eight) => Ok(Format::Png8),
            (Some("png"), BitDepth::Sixteen) => Ok(Format::Png16),
            (Some("jpg" | "jpeg"), _) => Ok(Format::Jpeg {
                quality: JPEG_QUALITY,
            }),
            (Some("tif" | "tiff"), BitDepth::Eight) => Ok(Format::Tiff8),
            (Some("tif" | "tiff"), BitDepth::Sixteen) => Ok(Format::Tiff16),
            (other, _) => Err(Error::Usage(format!(
                "{}: unsupported output extension {}; use .png, .jpg or .tif",
                path.display(),
                match other {
                    Some(e) => format!("\".{e}\""),
                    None => "(none)".to_string(),
                }
            ))),
        }
    }
}

/// The bytes of an input file, with errors that say what is wrong with the path.
pub fn read_input(path: &Path) -> Result<Vec<u8>> {
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::input(
                path,
                "file not found; check the path (relative paths start from the current directory)",
            ))
        }
        Err(e) => return Err(Error::input(path, format!("cannot read the file: {e}"))),
        Ok(m) if m.is_dir() => {
            return Err(Error::input(
                path,
                "is a directory, not an image file; give the path of a PNG or JPEG file",
            ))
        }
        Ok(_) => {}
    }
    std::fs::read(path).map_err(|e| {
        Error::input(
            path,
            format!("cannot read the file: {e}; check that it exists and is readable"),
        )
    })
}
