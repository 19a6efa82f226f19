//! How large an image [`decode`](super::decode) accepts: a plain value the caller chooses.

use crate::error::{Error, Result};

/// The largest image a caller accepts, checked against the image's header before any pixel
/// is decoded (so a small file that declares a huge image costs nothing).
/// `Limits::default()` suits image files given on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Widest image accepted (pixels).
    pub max_width: u32,
    /// Tallest image accepted (pixels).
    pub max_height: u32,
    /// Most pixels (width × height) accepted.
    pub max_pixels: u64,
    /// Largest decoded buffer accepted, in the image's own sample format (bytes); it also
    /// bounds what the decoder may allocate.
    pub max_decoded_bytes: u64,
}

impl Default for Limits {
    /// [`Limits::FILES`].
    fn default() -> Self {
        Limits::FILES
    }
}

impl Limits {
    /// The limits for image files: 30 000 pixels a side (so at most 900 megapixels) and 2 GiB
    /// decoded.
    pub const FILES: Limits = Limits {
        max_width: 30_000,
        max_height: 30_000,
        max_pixels: 30_000 * 30_000,
        max_decoded_bytes: 2 << 30,
    };

    /// Refuses a `width`×`height` image whose samples take `decoded_bytes`, if it exceeds these
    /// limits: an [`Error::TooLarge`] that names no file (see [`Error::named`]).
    pub(crate) fn check(&self, width: u32, height: u32, decoded_bytes: u64) -> Result<()> {
        let limit = if width > self.max_width || height > self.max_height {
            format!(
                "more than the {}×{} pixels allowed",
                self.max_width, self.max_height
            )
        } else if u64::from(width) * u64::from(height) > self.max_pixels {
            format!(
                "more than the limit of {} megapixels",
                self.max_pixels as f64 / 1e6
            )
        } else if decoded_bytes > self.max_decoded_bytes {
            format!(
                "{} decoded, more than the limit of {}",
                gib(decoded_bytes),
                gib(self.max_decoded_bytes)
            )
        } else {
            return Ok(());
        };
        Err(Error::TooLarge(format!(
            "the image declares {width}×{height} pixels, {limit}; downscale it first"
        )))
    }

    /// The decoder's allocation limits.
    pub(crate) fn for_decoder(&self) -> image::Limits {
        let mut limits = image::Limits::default();
        limits.max_alloc = Some(self.max_decoded_bytes);
        limits
    }
}

/// `bytes` in GiB, to one decimal where it has one.
fn gib(bytes: u64) -> String {
    format!(
        "{} GiB",
        (bytes as f64 / f64::from(1u32 << 30) * 10.0).round() / 10.0
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(limits: &Limits, w: u32, h: u32, bytes: u64) -> String {
        match limits.check(w, h, bytes) {
            Err(Error::TooLarge(msg)) => msg,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn each_limit_is_named() {
        let l = Limits::default();
        assert!(l.check(30_000, 30_000, 1 << 30).is_ok());
        assert_eq!(
            refusal(&l, 30_001, 2, 0),
            "the image declares 30001×2 pixels, more than the 30000×30000 pixels allowed; \
             downscale it first"
        );
        let studio = Limits {
            max_pixels: 40_000_000,
            ..l
        };
        assert!(refusal(&studio, 8_000, 8_000, 0).contains("more than the limit of 40 megapixels"));
        assert!(refusal(&l, 20_000, 20_000, 3 << 30)
            .contains("3 GiB decoded, more than the limit of 2 GiB"));
    }
}
