//! From planar colour (and alpha) to the bytes of a PNG, JPEG or TIFF image.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::codecs::tiff::TiffEncoder;
use image::{ExtendedColorType, ImageEncoder};

use crate::error::{Error, Result};
use impasto::image::{clamp255, Rgb};

/// JPEG quality [`save`](super::save) writes.
pub const JPEG_QUALITY: u8 = 95;

/// What [`encode`] writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// PNG with 8 bits per sample.
    Png8,
    /// PNG with 16 bits per sample.
    Png16,
    /// JPEG (8 bits per sample, no alpha) at a quality from 1 to 100.
    Jpeg {
        /// 1 (smallest) to 100 (best).
        quality: u8,
    },
    /// TIFF with 8 bits per sample (uncompressed, for print).
    Tiff8,
    /// TIFF with 16 bits per sample.
    Tiff16,
}

/// Encodes `image` (and `alpha`, a `0..=255` plane, if given; JPEG leaves it out) as `format`.
/// Values are rounded and clamped to the sample range.
pub fn encode(image: &Rgb, alpha: Option<&[f32]>, format: Format) -> Result<Vec<u8>> {
    check_encodable(image, alpha)?;
    let mut out = Vec::new();
    let written = match format {
        Format::Png8 => write_8bit(PngEncoder::new(&mut out), image, alpha),
        Format::Png16 => write_16bit(PngEncoder::new(&mut out), image, alpha),
        Format::Jpeg { quality } => write_8bit(
            JpegEncoder::new_with_quality(&mut out, quality),
            image,
            None,
        ),
        Format::Tiff8 => write_8bit(TiffEncoder::new(Cursor::new(&mut out)), image, alpha),
        Format::Tiff16 => write_16bit(TiffEncoder::new(Cursor::new(&mut out)), image, alpha),
    };
    let name = match format {
        Format::Jpeg { .. } => "JPEG",
        Format::Png8 | Format::Png16 => "PNG",
        Format::Tiff8 | Format::Tiff16 => "TIFF",
    };
    written.map_err(|e| Error::Usage(format!("cannot encode the image as {name}: {e}")))?;
    Ok(out)
}

fn check_encodable(image: &Rgb, alpha: Option<&[f32]>) -> Result<()> {
    let max = u32::MAX as usize;
    if image.width == 0 || image.height == 0 || image.width > max || image.height > max {
        return Err(Error::Usage(format!(
            "cannot encode a {}x{} image; width and height must be between 1 and {max}",
            image.width, image.height
        )));
    }
    match alpha {
        Some(a) if a.len() != image.pixel_count() => Err(Error::Usage(format!(
            "the alpha plane has {} samples but the image is {}x{}",
            a.len(),
            image.width,
            image.height
        ))),
        _ => Ok(()),
    }
}

fn to_u8(v: f32) -> u8 {
    clamp255(v).round() as u8
}

fn to_u16(v: f32) -> u16 {
    (clamp255(v) * 257.0).round() as u16
}

/// Interleaves `image` (plus `alpha`) into samples of type `T`.
fn interleave<T: Copy>(image: &Rgb, alpha: Option<&[f32]>, conv: fn(f32) -> T) -> Vec<T> {
    let [r, g, b] = image.planes();
    let channels = if alpha.is_some() { 4 } else { 3 };
    let mut out = Vec::with_capacity(channels * image.pixel_count());
    for i in 0..image.pixel_count() {
        out.push(conv(r[i]));
        out.push(conv(g[i]));
        out.push(conv(b[i]));
        if let Some(a) = alpha {
            out.push(conv(a[i]));
        }
    }
    out
}

fn write_8bit(
    enc: impl ImageEncoder,
    image: &Rgb,
    alpha: Option<&[f32]>,
) -> image::ImageResult<()> {
    let buf = interleave(image, alpha, to_u8);
    let colour = if alpha.is_some() {
        ExtendedColorType::Rgba8
    } else {
        ExtendedColorType::Rgb8
    };
    enc.write_image(&buf, image.width as u32, image.height as u32, colour)
}

fn write_16bit(
    enc: impl ImageEncoder,
    image: &Rgb,
    alpha: Option<&[f32]>,
) -> image::ImageResult<()> {
    // The encoders take 16-bit samples as native-endian bytes.
    let buf: Vec<u8> = interleave(image, alpha, to_u16)
        .into_iter()
        .flat_map(u16::to_ne_bytes)
        .collect();
    let colour = if alpha.is_some() {
        ExtendedColorType::Rgba16
    } else {
        ExtendedColorType::Rgb16
    };
    enc.write_image(&buf, image.width as u32, image.height as u32, colour)
}
