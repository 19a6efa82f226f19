//! Telling PNG and JPEG data apart by their first bytes, and naming what else a file holds.

use image::ImageFormat;

/// PNG's eight-byte signature.
pub(super) const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// Detects PNG or JPEG by magic bytes; otherwise describes what was found.
pub(super) fn sniff(bytes: &[u8]) -> Result<ImageFormat, String> {
    if bytes.starts_with(PNG_SIGNATURE) {
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

/// The format's name for messages.
pub(super) fn format_name(format: ImageFormat) -> &'static str {
    if format == ImageFormat::Png {
        "PNG"
    } else {
        "JPEG"
    }
}
