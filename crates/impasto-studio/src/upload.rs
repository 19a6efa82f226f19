//! Uploaded images: decoded from the request's bytes once, under the studio's limits
//! ([`Config::upload_limits`](crate::Config::upload_limits): larger images are refused from
//! their header before any pixel is decoded), and downscaled to what the studio renders.

use std::path::Path;

use impasto::image::{resize, Rgb};
use impasto_io::codec::{self as io, Limits};

use crate::error::Error;

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

/// Decodes the uploaded `bytes` under `limits`, colour and any alpha, at their own size;
/// `name` is what messages call it.
pub fn decode_full(name: &str, bytes: &[u8], limits: &Limits) -> Result<io::Decoded, Error> {
    if bytes.is_empty() {
        return Err(Error::BadInput(format!(
            "{name} is empty; choose a PNG or JPEG image"
        )));
    }
    io::decode(bytes, limits).map_err(|e| match e.named(Path::new(name)) {
        e @ impasto_io::Error::Input { .. } => Error::BadInput(e.to_string()),
        e @ impasto_io::Error::TooLarge(_) => Error::TooLarge(e.to_string()),
        e => Error::Internal(e.to_string()),
    })
}

/// Decodes the uploaded `bytes` under `limits` and fits the image into [`MAX_SIDE`]; `name` is
/// what messages call it.
pub fn decode(name: &str, bytes: &[u8], limits: &Limits) -> Result<Rgb, Error> {
    let img = decode_full(name, bytes, limits)?.image;
    if img.longer_side() <= MAX_SIDE {
        return Ok(img);
    }
    let (w, h) = resize::fit_longer_side(img.width, img.height, MAX_SIDE);
    Ok(resize::resize(&img, w, h))
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
    fn text_is_refused_by_its_name() {
        match decode("notes.txt", b"hello there", &Limits::default()) {
            Err(Error::BadInput(m)) => {
                assert!(m.starts_with("notes.txt: not a PNG or JPEG image"), "{m}")
            }
            other => panic!("{other:?}"),
        }
    }
}
