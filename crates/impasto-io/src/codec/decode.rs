//! From the bytes of a PNG or JPEG image to planar colour (and alpha).

use std::io::Cursor;

use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageError, ImageFormat, ImageReader};

use super::integrity;
use super::limits::Limits;
use super::sniff::{format_name, sniff};
use crate::error::{Error, Result};
use impasto::image::Rgb;

/// A decoded image.
#[derive(Clone, Debug, PartialEq)]
pub struct Decoded {
    /// The colour, composited onto white where the image had transparency.
    pub image: Rgb,
    /// The image's alpha channel as a `0..=255` plane, if it had one.
    pub alpha: Option<Vec<f32>>,
    /// True if the image stored 16 bits per sample.
    pub sixteen_bit: bool,
}

/// Decodes the bytes of a PNG or JPEG image (the format is detected from them).
///
/// Gray images are replicated to RGB; transparent images are composited onto white with the
/// alpha returned separately; the EXIF orientation is applied. An image larger than `limits`
/// is refused from its header ([`Error::TooLarge`]); data that is not a PNG or JPEG image, or
/// is damaged or truncated, is refused as [`Error::Input`]. The errors name no file: callers
/// name the data with [`Error::named`].
pub fn decode(bytes: &[u8], limits: &Limits) -> Result<Decoded> {
    let format = sniff(bytes).map_err(|found| {
        unnamed(format!(
            "not a PNG or JPEG image (found {found}); convert it to PNG or JPEG"
        ))
    })?;
    if let Some((width, height)) = png_size(format, bytes) {
        limits.check(width, height, 0)?;
    }
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(limits.for_decoder());
    let mut decoder = reader.into_decoder().map_err(|e| header_error(format, e))?;
    let (width, height) = decoder.dimensions();
    limits.check(width, height, decoder.total_bytes())?;
    integrity::check(format, bytes).map_err(unnamed)?;
    // A malformed EXIF block should not make an otherwise good image unreadable.
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let mut img =
        DynamicImage::from_decoder(decoder).map_err(|e| pixel_error(format, (width, height), e))?;
    img.apply_orientation(orientation);
    Ok(to_decoded(img))
}

/// The size a PNG's header (its first chunk, `IHDR`) declares. The PNG decoder reads on to the
/// image data before it tells the size, so the limits are checked on this first.
fn png_size(format: ImageFormat, bytes: &[u8]) -> Option<(u32, u32)> {
    let ihdr = (format == ImageFormat::Png)
        .then_some(bytes)?
        .get(8..24)
        .filter(|h| h.starts_with(&[0, 0, 0, 13]) && &h[4..8] == b"IHDR")?;
    let be = |b: &[u8]| u32::from_be_bytes(b.try_into().expect("4 bytes"));
    Some((be(&ihdr[8..12]), be(&ihdr[12..16])))
}

/// An [`Error::Input`] about data not yet named.
fn unnamed(msg: String) -> Error {
    Error::input("", msg)
}

/// The error for data whose header the decoder cannot read.
fn header_error(format: ImageFormat, e: ImageError) -> Error {
    let name = format_name(format);
    match e {
        ImageError::Limits(l) => too_large(l),
        ImageError::Unsupported(u) => unnamed(format!(
            "unsupported {name} variant ({u}); re-save it as an ordinary 8-bit PNG or JPEG"
        )),
        other => unnamed(format!(
            "corrupt or truncated {name} image ({other}); re-export it from the original"
        )),
    }
}

/// The error for an image whose header was read but whose pixels could not be decoded.
fn pixel_error(format: ImageFormat, (width, height): (u32, u32), e: ImageError) -> Error {
    let name = format_name(format);
    match e {
        ImageError::Limits(l) => too_large(l),
        ImageError::Unsupported(_) => header_error(format, e),
        other => unnamed(format!(
            "the {name} image data is damaged or does not fill the {width}×{height} pixels its \
             header declares ({other}); export or download it again"
        )),
    }
}

fn too_large(l: image::error::LimitError) -> Error {
    Error::TooLarge(format!(
        "the image is too large to decode ({l}); downscale it first"
    ))
}

/// Converts a decoded image to planar `f32`, compositing transparency onto white.
fn to_decoded(img: DynamicImage) -> Decoded {
    let colour = img.color();
    let sixteen_bit = colour.bytes_per_pixel() / colour.channel_count() == 2;
    let has_alpha = colour.has_alpha();
    let (width, height) = (img.width() as usize, img.height() as usize);
    match (has_alpha, sixteen_bit) {
        (true, true) => {
            let buf = img.into_rgba16();
            planarise(width, height, buf.as_raw(), 4, 1.0 / 257.0, sixteen_bit)
        }
        (true, false) => {
            let buf = img.into_rgba8();
            planarise(width, height, buf.as_raw(), 4, 1.0, sixteen_bit)
        }
        (false, true) => {
            let buf = img.into_rgb16();
            planarise(width, height, buf.as_raw(), 3, 1.0 / 257.0, sixteen_bit)
        }
        (false, false) => {
            let buf = img.into_rgb8();
            planarise(width, height, buf.as_raw(), 3, 1.0, sixteen_bit)
        }
    }
}

/// Interleaved samples (3 or 4 channels) scaled by `scale` to `0..=255` planes.
fn planarise<T: Copy + Into<f32>>(
    width: usize,
    height: usize,
    raw: &[T],
    channels: usize,
    scale: f32,
    sixteen_bit: bool,
) -> Decoded {
    let n = width * height;
    let mut data = vec![0.0f32; 3 * n];
    let mut alpha = (channels == 4).then(|| vec![0.0f32; n]);
    for (i, px) in raw.chunks_exact(channels).enumerate() {
        let rgb = [
            px[0].into() * scale,
            px[1].into() * scale,
            px[2].into() * scale,
        ];
        match alpha.as_mut() {
            Some(a) => {
                let av = px[3].into() * scale;
                a[i] = av;
                let t = av / 255.0;
                for c in 0..3 {
                    data[c * n + i] = rgb[c] * t + 255.0 * (1.0 - t);
                }
            }
            None => {
                for c in 0..3 {
                    data[c * n + i] = rgb[c];
                }
            }
        }
    }
    Decoded {
        image: Rgb::new(width, height, data),
        alpha,
        sixteen_bit,
    }
}
