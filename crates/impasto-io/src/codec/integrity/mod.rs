//! Checks that image data is whole, where the decoders let damage pass.
//!
//! The PNG decoder stops reading once it has the pixels, so it never sees a missing end chunk
//! (`IEND`) or a bad checksum in what follows; the JPEG decoder, used in its lenient mode,
//! fills whatever the data lacks with gray and reports success. So before decoding:
//!
//! - PNG: every chunk must be whole and pass its checksum (CRC-32), up to the `IEND` chunk.
//! - JPEG: the segments must be whole up to the end marker (`EOI`), and each sequential
//!   Huffman-coded scan (baseline JPEG, by far the most common) is walked code by code, without
//!   decoding pixels, to check that its data holds every block the header's size needs and no
//!   invalid code. Progressive scans are only checked to be complete up to `EOI`.
//!
//! Each check answers the message for the user: what is wrong and how to fix it.

mod jpeg;
mod jpeg_entropy;
mod jpeg_frame;
mod jpeg_huffman;
mod png;

use image::ImageFormat;

/// Checks `bytes`, data of `format` (PNG or JPEG): `Err` says what is wrong and what to do.
pub(crate) fn check(format: ImageFormat, bytes: &[u8]) -> Result<(), String> {
    match format {
        ImageFormat::Png => png::check(bytes),
        _ => jpeg::check(bytes),
    }
}

/// What every message about damaged data ends with.
const FIX: &str = "export or download it again";

#[cfg(test)]
mod tests {
    use super::*;

    /// JPEGs of every kind the walk must pass: (name, bytes).
    fn good_jpegs() -> Vec<(&'static str, Vec<u8>)> {
        let examples = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/");
        let mut v: Vec<(&str, Vec<u8>)> = vec![
            (
                "progressive",
                include_bytes!("../testdata/progressive.jpg").to_vec(),
            ),
            (
                "restart_422",
                include_bytes!("../testdata/restart_422.jpg").to_vec(),
            ),
            (
                "restart_rows_420",
                include_bytes!("../testdata/restart_rows_420.jpg").to_vec(),
            ),
            ("gray", include_bytes!("../testdata/gray.jpg").to_vec()),
            ("cmyk", include_bytes!("../testdata/cmyk.jpg").to_vec()),
        ];
        for name in ["starry_night.jpg", "portrait_astronaut.jpg", "result.jpg"] {
            v.push((name, std::fs::read(format!("{examples}{name}")).unwrap()));
        }
        v
    }

    #[test]
    fn good_jpegs_pass() {
        for (name, bytes) in good_jpegs() {
            assert_eq!(check(ImageFormat::Jpeg, &bytes), Ok(()), "{name}");
        }
    }

    #[test]
    fn every_cut_of_a_jpeg_is_refused() {
        for (name, bytes) in good_jpegs().into_iter().take(5) {
            for cut in 3..bytes.len() {
                let msg = check(ImageFormat::Jpeg, &bytes[..cut]).unwrap_err();
                assert!(
                    msg.contains("ends early") && msg.ends_with(FIX),
                    "{name} at {cut}: {msg}"
                );
            }
        }
    }

    #[test]
    fn damaged_scans_never_panic() {
        for (name, bytes) in good_jpegs().into_iter().take(5) {
            for i in (200..bytes.len()).step_by(7) {
                let mut d = bytes.clone();
                d[i] ^= 0x5A;
                if let Err(msg) = check(ImageFormat::Jpeg, &d) {
                    assert!(msg.ends_with(FIX), "{name} at {i}: {msg}");
                }
            }
        }
    }
}
