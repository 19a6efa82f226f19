//! Decoding and encoding PNG and JPEG files.
//!
//! Loading detects the format from the file's content (not its extension), honours the EXIF
//! orientation, guards against decompression bombs and keeps any alpha channel apart from the
//! colour. Saving is atomic: the image is written to a temporary file beside the target and
//! renamed over it, so an existing output is never left half-written.

use std::io::{BufWriter, Cursor, Write};
use std::path::{Path, PathBuf};

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::{
    DynamicImage, ExtendedColorType, ImageDecoder, ImageEncoder, ImageError, ImageFormat,
    ImageReader, Limits,
};

use crate::error::{Error, Result};
use impasto::image::{clamp255, Rgb};

/// Largest width or height accepted when loading (pixels).
pub const MAX_DIMENSION: u32 = 30_000;
/// Largest decoded buffer accepted when loading (bytes, in the file's own sample format).
pub const MAX_DECODE_BYTES: u64 = 2 << 30;
/// JPEG quality used when saving.
pub const JPEG_QUALITY: u8 = 95;

/// A decoded image file.
#[derive(Clone, Debug, PartialEq)]
pub struct Loaded {
    /// The colour, composited onto white where the file had transparency.
    pub image: Rgb,
    /// The file's alpha channel as a `0..=255` plane, if it had one.
    pub alpha: Option<Vec<f32>>,
    /// True if the file stored 16 bits per sample.
    pub sixteen_bit: bool,
}

/// Sample depth for [`save`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BitDepth {
    /// 8 bits per sample.
    Eight,
    /// 16 bits per sample (PNG only; JPEG is always written with 8).
    Sixteen,
}

/// Loads a PNG or JPEG file (format detected from its content).
///
/// Gray images are replicated to RGB; transparent images are composited onto white with the
/// alpha returned separately; the EXIF orientation is applied.
pub fn load(path: &Path) -> Result<Loaded> {
    let bytes = read_input(path)?;
    let format = sniff(&bytes).map_err(|found| {
        Error::input(
            path,
            format!("not a PNG or JPEG image (found {found}); convert it to PNG or JPEG"),
        )
    })?;
    let name = format_name(format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_DIMENSION);
    limits.max_image_height = Some(MAX_DIMENSION);
    limits.max_alloc = Some(MAX_DECODE_BYTES);

    let mut reader = ImageReader::with_format(Cursor::new(&bytes[..]), format);
    reader.limits(limits);
    let decode_err = |e: ImageError| decode_error(path, name, e);
    let mut decoder = reader.into_decoder().map_err(decode_err)?;
    if decoder.total_bytes() > MAX_DECODE_BYTES {
        let (w, h) = decoder.dimensions();
        return Err(too_large(path, &format!("{w}x{h} pixels")));
    }
    // A malformed EXIF block should not make an otherwise good image unreadable.
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut img = DynamicImage::from_decoder(decoder).map_err(decode_err)?;
    img.apply_orientation(orientation);
    Ok(to_loaded(img))
}

/// Saves `image` (and `alpha`, a `0..=255` plane, if given) as PNG or JPEG by the extension
/// of `path`; JPEG ignores `alpha` and `depth`. The write is atomic.
pub fn save(path: &Path, image: &Rgb, alpha: Option<&[f32]>, depth: BitDepth) -> Result<()> {
    let format = output_format(path)?;
    if let Some(a) = alpha {
        if a.len() != image.pixel_count() {
            return Err(Error::Usage(format!(
                "{}: alpha plane has {} samples but the image is {}x{}",
                path.display(),
                a.len(),
                image.width,
                image.height
            )));
        }
    }
    check_encodable(image).map_err(Error::Usage)?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let out_err = |source: std::io::Error| Error::Output {
        path: path.to_path_buf(),
        source,
    };
    if !dir.is_dir() {
        return Err(out_err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!(
                "the output directory {} does not exist; create it first or choose another path",
                dir.display()
            ),
        )));
    }
    let mut tmp = tempfile::Builder::new()
        .prefix(".impasto-")
        .suffix(".tmp")
        .tempfile_in(&dir)
        .map_err(out_err)?;
    {
        let mut w = BufWriter::new(tmp.as_file_mut());
        let encoded = match format {
            ImageFormat::Jpeg => {
                let enc = JpegEncoder::new_with_quality(&mut w, JPEG_QUALITY);
                write_8bit(enc, image, None)
            }
            _ => {
                let enc = PngEncoder::new(&mut w);
                match depth {
                    BitDepth::Eight => write_8bit(enc, image, alpha),
                    BitDepth::Sixteen => write_16bit(enc, image, alpha),
                }
            }
        };
        encoded.map_err(|e| out_err(image_to_io(e)))?;
        w.flush().map_err(out_err)?;
    }
    set_output_permissions(tmp.as_file(), path);
    tmp.as_file().sync_all().map_err(out_err)?;
    tmp.persist(path).map_err(|e| out_err(e.error))?;
    Ok(())
}

/// Encodes `image` as an 8-bit RGB PNG in memory.
pub fn encode_png(image: &Rgb) -> Result<Vec<u8>> {
    check_encodable(image).map_err(Error::Usage)?;
    let mut out = Vec::new();
    write_8bit(PngEncoder::new(&mut out), image, None)
        .map_err(|e| Error::Usage(format!("cannot encode the image as PNG: {e}")))?;
    Ok(out)
}

fn read_input(path: &Path) -> Result<Vec<u8>> {
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

/// Detects PNG or JPEG by magic bytes; otherwise describes what was found.
fn sniff(bytes: &[u8]) -> std::result::Result<ImageFormat, String> {
    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n";
    if bytes.starts_with(PNG) {
        return Ok(ImageFormat::Png);
    }
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Ok(ImageFormat::Jpeg);
    }
    let found = if bytes.is_empty() {
        "an empty file".to_string()
    } else if bytes.starts_with(b"GIF8") {
        "a GIF image".to_string()
    } else if bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"WEBP") {
        "a WebP image".to_string()
    } else if bytes.starts_with(b"BM") {
        "a BMP image".to_string()
    } else if bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*") {
        "a TIFF image".to_string()
    } else if bytes.get(4..8) == Some(b"ftyp") {
        "an HEIF/AVIF or other ISO media file".to_string()
    } else if bytes.starts_with(b"<svg") || bytes.starts_with(b"<?xml") {
        "an SVG/XML document".to_string()
    } else if bytes.starts_with(b"%PDF") {
        "a PDF document".to_string()
    } else if std::str::from_utf8(&bytes[..bytes.len().min(512)]).is_ok() {
        "text".to_string()
    } else {
        let head: Vec<String> = bytes.iter().take(8).map(|b| format!("{b:02x}")).collect();
        format!("unrecognised data starting {}", head.join(" "))
    };
    Err(found)
}

fn format_name(format: ImageFormat) -> &'static str {
    if format == ImageFormat::Png {
        "PNG"
    } else {
        "JPEG"
    }
}

fn too_large(path: &Path, what: &str) -> Error {
    Error::TooLarge(format!(
        "{}: the image is too large to load ({what}; the limit is {MAX_DIMENSION}x{MAX_DIMENSION} \
         pixels and {} GiB decoded); downscale it first",
        path.display(),
        MAX_DECODE_BYTES >> 30
    ))
}

fn decode_error(path: &Path, name: &str, e: ImageError) -> Error {
    match e {
        ImageError::Limits(l) => too_large(path, &l.to_string()),
        ImageError::Unsupported(u) => Error::input(
            path,
            format!(
                "unsupported {name} variant ({u}); re-save it as an ordinary 8-bit PNG or JPEG"
            ),
        ),
        other => Error::input(
            path,
            format!("corrupt or truncated {name} image ({other}); re-export it from the original"),
        ),
    }
}

/// Converts a decoded image to planar `f32`, compositing transparency onto white.
fn to_loaded(img: DynamicImage) -> Loaded {
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
) -> Loaded {
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
    Loaded {
        image: Rgb::new(width, height, data),
        alpha,
        sixteen_bit,
    }
}

fn output_format(path: &Path) -> Result<ImageFormat> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("png") => Ok(ImageFormat::Png),
        Some("jpg") | Some("jpeg") => Ok(ImageFormat::Jpeg),
        other => Err(Error::Usage(format!(
            "{}: unsupported output extension {}; use .png or .jpg",
            path.display(),
            match other {
                Some(e) => format!("\".{e}\""),
                None => "(none)".to_string(),
            }
        ))),
    }
}

fn check_encodable(image: &Rgb) -> std::result::Result<(), String> {
    let max = u32::MAX as usize;
    if image.width == 0 || image.height == 0 || image.width > max || image.height > max {
        return Err(format!(
            "cannot encode a {}x{} image; width and height must be between 1 and {max}",
            image.width, image.height
        ));
    }
    Ok(())
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

fn image_to_io(e: ImageError) -> std::io::Error {
    match e {
        ImageError::IoError(io) => io,
        other => std::io::Error::other(other.to_string()),
    }
}

/// Gives the new file the permissions of the file it replaces, or `rw-r--r--` for a new file
/// (temporary files are created private). Best effort: failure leaves them private.
#[cfg(unix)]
fn set_output_permissions(file: &std::fs::File, target: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let perms = std::fs::metadata(target)
        .map(|m| m.permissions())
        .unwrap_or_else(|_| std::fs::Permissions::from_mode(0o644));
    let _ = file.set_permissions(perms);
}

#[cfg(not(unix))]
fn set_output_permissions(_file: &std::fs::File, _target: &Path) {}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageBuffer, Luma, LumaA, Rgb as PxRgb, Rgba};

    fn pattern(w: usize, h: usize) -> Rgb {
        let n = w * h;
        let mut data = vec![0.0; 3 * n];
        for y in 0..h {
            for x in 0..w {
                let i = y * w + x;
                data[i] = ((x * 37 + y * 11) % 256) as f32;
                data[n + i] = ((x * 5 + y * 71) % 256) as f32;
                data[2 * n + i] = ((x * y + 3) % 256) as f32;
            }
        }
        Rgb::new(w, h, data)
    }

    fn real_image(name: &str) -> PathBuf {
        PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/")).join(name)
    }

    #[test]
    fn png_8bit_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.png");
        let img = pattern(13, 7);
        save(&p, &img, None, BitDepth::Eight).unwrap();
        let l = load(&p).unwrap();
        assert_eq!(l.image, img);
        assert_eq!(l.alpha, None);
        assert!(!l.sixteen_bit);
    }

    #[test]
    fn png_16bit_round_trip_keeps_fractions() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out16.PNG");
        let mut img = pattern(9, 5);
        for v in &mut img.data {
            *v = (*v + 0.5).min(255.0);
        }
        save(&p, &img, None, BitDepth::Sixteen).unwrap();
        let l = load(&p).unwrap();
        assert!(l.sixteen_bit);
        for (a, b) in l.image.data.iter().zip(&img.data) {
            assert!((a - b).abs() <= 0.5 / 257.0 + 1e-4, "{a} vs {b}");
        }
    }

    #[test]
    fn gray_png_is_replicated() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("gray.png");
        let buf = ImageBuffer::from_fn(4, 3, |x, y| Luma([(x * 60 + y) as u8]));
        buf.save(&p).unwrap();
        let l = load(&p).unwrap();
        assert_eq!((l.image.width, l.image.height), (4, 3));
        assert_eq!(l.image.pixel(2, 1), [121.0; 3]);
        assert_eq!(l.alpha, None);

        let buf16 = ImageBuffer::from_fn(2, 2, |x, _| Luma([if x == 0 { 0u16 } else { 65535 }]));
        let p16 = dir.path().join("gray16.png");
        buf16.save(&p16).unwrap();
        let l = load(&p16).unwrap();
        assert!(l.sixteen_bit);
        assert_eq!(l.image.pixel(1, 1), [255.0; 3]);
    }

    #[test]
    fn rgba_png_composites_on_white_and_keeps_alpha() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("rgba.png");
        let buf = ImageBuffer::from_fn(2, 1, |x, _| {
            if x == 0 {
                Rgba([0u8, 0, 0, 0])
            } else {
                Rgba([100u8, 50, 0, 255])
            }
        });
        buf.save(&p).unwrap();
        let l = load(&p).unwrap();
        assert_eq!(l.image.pixel(0, 0), [255.0; 3]);
        assert_eq!(l.image.pixel(1, 0), [100.0, 50.0, 0.0]);
        assert_eq!(l.alpha.as_deref(), Some(&[0.0, 255.0][..]));

        // Half transparency blends halfway to white.
        let la = ImageBuffer::from_pixel(1, 1, LumaA([0u8, 51]));
        let p2 = dir.path().join("la.png");
        la.save(&p2).unwrap();
        let l = load(&p2).unwrap();
        assert!((l.image.pixel(0, 0)[0] - 204.0).abs() < 1e-3);
        assert_eq!(l.alpha, Some(vec![51.0]));
    }

    #[test]
    fn alpha_round_trips_through_save() {
        let dir = tempfile::tempdir().unwrap();
        let img = pattern(3, 2);
        let alpha = vec![255.0, 255.0, 0.0, 255.0, 128.0, 255.0];
        for (name, depth) in [("a8.png", BitDepth::Eight), ("a16.png", BitDepth::Sixteen)] {
            let p = dir.path().join(name);
            save(&p, &img, Some(&alpha), depth).unwrap();
            let l = load(&p).unwrap();
            let a = l.alpha.unwrap();
            for (x, y) in a.iter().zip(&alpha) {
                assert!((x - y).abs() < 1e-3);
            }
            // Opaque pixels keep their colour exactly.
            assert!((l.image.pixel(0, 0)[1] - img.pixel(0, 0)[1]).abs() < 1e-3);
        }
        let bad = save(
            &dir.path().join("x.png"),
            &img,
            Some(&[1.0]),
            BitDepth::Eight,
        );
        assert!(matches!(bad, Err(Error::Usage(_))));
    }

    #[test]
    fn palette_png_loads() {
        // 2x1 indexed PNG with a two-entry palette (red, blue), written with the png crate
        // through image's re-exported encoder is not possible, so hand-roll it with chunks.
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("pal.png");
        std::fs::write(&p, indexed_png()).unwrap();
        let l = load(&p).unwrap();
        assert_eq!(l.image.pixel(0, 0), [255.0, 0.0, 0.0]);
        assert_eq!(l.image.pixel(1, 0), [0.0, 0.0, 255.0]);
    }

    /// A minimal 2x1 8-bit indexed PNG, pixels = [0, 1], palette = [red, blue].
    fn indexed_png() -> Vec<u8> {
        let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut ihdr = Vec::new();
        ihdr.extend_from_slice(&2u32.to_be_bytes());
        ihdr.extend_from_slice(&1u32.to_be_bytes());
        ihdr.extend_from_slice(&[8, 3, 0, 0, 0]);
        chunk(&mut out, b"IHDR", &ihdr);
        chunk(&mut out, b"PLTE", &[255, 0, 0, 0, 0, 255]);
        // zlib stream, stored (uncompressed) block of the filtered row [0, 0, 1].
        let raw = [0u8, 0, 1];
        let mut z = vec![0x78, 0x01, 0x01, 3, 0, !3, !0];
        z.extend_from_slice(&raw);
        z.extend_from_slice(&adler32(&raw).to_be_bytes());
        chunk(&mut out, b"IDAT", &z);
        chunk(&mut out, b"IEND", &[]);
        out
    }

    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        let mut crc = 0xFFFF_FFFFu32;
        for &b in kind.iter().chain(data) {
            crc ^= b as u32;
            for _ in 0..8 {
                crc = if crc & 1 != 0 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        out.extend_from_slice(&(!crc).to_be_bytes());
    }

    fn adler32(data: &[u8]) -> u32 {
        let (mut a, mut b) = (1u32, 0u32);
        for &d in data {
            a = (a + d as u32) % 65521;
            b = (b + a) % 65521;
        }
        (b << 16) | a
    }

    #[test]
    fn jpeg_round_trip_is_close() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.JPEG");
        let img = Rgb::filled(16, 16, [200.0, 100.0, 50.0]);
        // A 16-bit request for JPEG silently writes 8 bits.
        save(&p, &img, None, BitDepth::Sixteen).unwrap();
        let l = load(&p).unwrap();
        assert!(!l.sixteen_bit);
        for (a, b) in l.image.data.iter().zip(&img.data) {
            assert!((a - b).abs() < 4.0, "{a} vs {b}");
        }
    }

    #[test]
    fn gray_jpeg_loads_as_rgb() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("g.jpg");
        let buf = ImageBuffer::from_pixel(8, 8, Luma([90u8]));
        let f = std::fs::File::create(&p).unwrap();
        JpegEncoder::new_with_quality(f, 95)
            .write_image(buf.as_raw(), 8, 8, ExtendedColorType::L8)
            .unwrap();
        let l = load(&p).unwrap();
        let px = l.image.pixel(3, 3);
        assert!((px[0] - 90.0).abs() < 2.0 && px[0] == px[1] && px[1] == px[2]);
    }

    #[test]
    fn exif_orientation_is_applied() {
        // Stored 32x16 with a red top-left block; Orientation 6 means "rotate 90° clockwise
        // to display", so the block must land top-right of a 16x32 image.
        let (w, h) = (32u32, 16u32);
        let buf = ImageBuffer::from_fn(w, h, |x, y| {
            if x < 8 && y < 8 {
                PxRgb([255u8, 0, 0])
            } else {
                PxRgb([0u8, 0, 255])
            }
        });
        let mut tiff = b"II*\0".to_vec();
        tiff.extend_from_slice(&8u32.to_le_bytes()); // IFD offset
        tiff.extend_from_slice(&1u16.to_le_bytes()); // one entry
        tiff.extend_from_slice(&0x0112u16.to_le_bytes()); // Orientation
        tiff.extend_from_slice(&3u16.to_le_bytes()); // SHORT
        tiff.extend_from_slice(&1u32.to_le_bytes()); // count
        tiff.extend_from_slice(&6u16.to_le_bytes()); // value
        tiff.extend_from_slice(&[0, 0]); // padding
        tiff.extend_from_slice(&0u32.to_le_bytes()); // no next IFD
        let mut bytes = Vec::new();
        let mut enc = JpegEncoder::new_with_quality(&mut bytes, 95);
        enc.set_exif_metadata(tiff).unwrap();
        enc.write_image(buf.as_raw(), w, h, ExtendedColorType::Rgb8)
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        // A misleading extension: the format is detected from the content.
        let p = dir.path().join("rotated.png");
        std::fs::write(&p, &bytes).unwrap();
        let l = load(&p).unwrap();
        assert_eq!((l.image.width, l.image.height), (16, 32));
        let red = l.image.pixel(12, 3);
        assert!(red[0] > 200.0 && red[2] < 60.0, "{red:?}");
        let blue = l.image.pixel(3, 3);
        assert!(blue[2] > 200.0 && blue[0] < 60.0, "{blue:?}");
    }

    #[test]
    fn real_jpegs_load() {
        let l = load(&real_image("starry_night.jpg")).unwrap();
        assert_eq!((l.image.width, l.image.height), (714, 566));
        assert!(!l.sixteen_bit && l.alpha.is_none());
        assert!(l.image.data.iter().all(|v| (0.0..=255.0).contains(v)));
    }

    #[test]
    fn non_images_are_input_errors() {
        let dir = tempfile::tempdir().unwrap();
        let txt = dir.path().join("notes.png");
        std::fs::write(&txt, "hello, I am text\n").unwrap();
        match load(&txt) {
            Err(Error::Input { path, msg }) => {
                assert_eq!(path, txt);
                assert!(
                    msg.contains("not a PNG or JPEG image (found text)"),
                    "{msg}"
                );
            }
            other => panic!("{other:?}"),
        }
        let empty = dir.path().join("empty.jpg");
        std::fs::write(&empty, b"").unwrap();
        assert!(matches!(load(&empty), Err(Error::Input { .. })));

        let missing = dir.path().join("missing.png");
        match load(&missing) {
            Err(Error::Input { path, msg }) => {
                assert_eq!(path, missing);
                assert!(msg.contains("not found"), "{msg}");
            }
            other => panic!("{other:?}"),
        }
        match load(dir.path()) {
            Err(Error::Input { msg, .. }) => assert!(msg.contains("directory"), "{msg}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn truncated_files_are_input_errors() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("full.png");
        save(&p, &pattern(40, 40), None, BitDepth::Eight).unwrap();
        let bytes = std::fs::read(&p).unwrap();
        let t = dir.path().join("trunc.png");
        std::fs::write(&t, &bytes[..bytes.len() / 2]).unwrap();
        match load(&t) {
            Err(Error::Input { path, msg }) => {
                assert_eq!(path, t);
                assert!(msg.contains("corrupt or truncated PNG"), "{msg}");
            }
            other => panic!("{other:?}"),
        }
        let j = dir.path().join("trunc.jpg");
        std::fs::write(&j, [0xFF, 0xD8, 0xFF, 0xE0, 0, 16]).unwrap();
        assert!(matches!(load(&j), Err(Error::Input { .. })));
    }

    #[test]
    fn decompression_bomb_is_too_large() {
        let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut ihdr = Vec::new();
        ihdr.extend_from_slice(&100_000u32.to_be_bytes());
        ihdr.extend_from_slice(&100_000u32.to_be_bytes());
        ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
        chunk(&mut out, b"IHDR", &ihdr);
        chunk(&mut out, b"IEND", &[]);
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bomb.png");
        std::fs::write(&p, &out).unwrap();
        match load(&p) {
            Err(Error::TooLarge(msg)) => {
                assert!(
                    msg.contains("bomb.png") && msg.contains("downscale"),
                    "{msg}"
                )
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn save_errors() {
        let dir = tempfile::tempdir().unwrap();
        let img = pattern(2, 2);
        let missing = dir.path().join("no/such/dir/out.png");
        match save(&missing, &img, None, BitDepth::Eight) {
            Err(e @ Error::Output { .. }) => {
                let s = e.to_string();
                assert!(s.contains("does not exist") && s.contains("out.png"), "{s}");
            }
            other => panic!("{other:?}"),
        }
        match save(&dir.path().join("out.bmp"), &img, None, BitDepth::Eight) {
            Err(Error::Usage(msg)) => assert!(msg.contains("use .png or .jpg"), "{msg}"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            save(&dir.path().join("noext"), &img, None, BitDepth::Eight),
            Err(Error::Usage(_))
        ));
        let empty = Rgb::new(0, 0, vec![]);
        assert!(matches!(
            save(&dir.path().join("e.png"), &empty, None, BitDepth::Eight),
            Err(Error::Usage(_))
        ));
    }

    #[test]
    fn atomic_save_replaces_and_leaves_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.png");
        std::fs::write(&p, b"old contents").unwrap();
        let img = pattern(5, 4);
        save(&p, &img, None, BitDepth::Eight).unwrap();
        assert_eq!(load(&p).unwrap().image, img);
        let img2 = Rgb::filled(3, 3, [1.0, 2.0, 3.0]);
        save(&p, &img2, None, BitDepth::Eight).unwrap();
        assert_eq!(load(&p).unwrap().image, img2);
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("out.png")]);
    }

    #[test]
    fn values_are_rounded_and_clamped() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.png");
        let img = Rgb::new(1, 1, vec![-20.0, 300.0, 127.6]);
        save(&p, &img, None, BitDepth::Eight).unwrap();
        assert_eq!(load(&p).unwrap().image.data, vec![0.0, 255.0, 128.0]);
    }

    #[test]
    fn encode_png_in_memory() {
        let img = pattern(6, 3);
        let bytes = encode_png(&img).unwrap();
        assert!(bytes.starts_with(b"\x89PNG"));
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.png");
        std::fs::write(&p, &bytes).unwrap();
        assert_eq!(load(&p).unwrap().image, img);
    }
}
