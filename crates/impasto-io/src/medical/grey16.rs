//! 16-bit grey PNG and TIFF files as raw values (no rescale, no window of their own), the way
//! scanners and research tools export single slices.

use std::io::Cursor;
use std::path::Path;

use image::{ColorType, DynamicImage, ImageDecoder, ImageFormat, ImageReader};

use super::slice::{Format, Slice};
use crate::codec::{integrity, Limits};
use crate::error::{Error, Result};

/// The format of `bytes` if they are a 16-bit grey PNG or TIFF (read from the header only).
pub fn sniff(bytes: &[u8]) -> Option<Format> {
    let format = match bytes {
        b if b.starts_with(b"\x89PNG\r\n\x1a\n") => ImageFormat::Png,
        b if b.starts_with(b"II*\0") || b.starts_with(b"MM\0*") => ImageFormat::Tiff,
        _ => return None,
    };
    let decoder = ImageReader::with_format(Cursor::new(bytes), format)
        .into_decoder()
        .ok()?;
    (decoder.color_type() == ColorType::L16).then_some(match format {
        ImageFormat::Png => Format::Png16,
        _ => Format::Tiff16,
    })
}

/// Reads a 16-bit grey PNG or TIFF (see [`sniff`]) as a slice of its raw values.
pub fn read(path: &Path, bytes: &[u8], format: Format, limits: &Limits) -> Result<Slice> {
    let (image_format, name) = match format {
        Format::Png16 => (ImageFormat::Png, "PNG"),
        _ => (ImageFormat::Tiff, "TIFF"),
    };
    let damaged = |why: String| {
        Error::input(
            path,
            format!("the 16-bit grey {name} is damaged ({why}); export it again"),
        )
    };
    if image_format == ImageFormat::Png {
        integrity::check(image_format, bytes).map_err(|msg| Error::input(path, msg))?;
    }
    let mut reader = ImageReader::with_format(Cursor::new(bytes), image_format);
    reader.limits(limits.for_decoder());
    let decoder = reader.into_decoder().map_err(|e| damaged(e.to_string()))?;
    let (w, h) = decoder.dimensions();
    limits
        .check(w, h, decoder.total_bytes())
        .map_err(|e| e.named(path))?;
    let DynamicImage::ImageLuma16(img) =
        DynamicImage::from_decoder(decoder).map_err(|e| damaged(e.to_string()))?
    else {
        return Err(damaged("not 16-bit grey after all".into()));
    };
    Ok(Slice {
        width: w as usize,
        height: h as usize,
        values: img.as_raw().iter().map(|&v| f32::from(v)).collect(),
        default_window: None,
        inverted: false,
        modality: None,
        spacing: None,
    })
}
