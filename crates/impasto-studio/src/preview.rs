//! Preview frames: the image as a small JPEG data URL, and cheap quality numbers.

use base64::Engine as _;
use impasto::image::{resize, Rgb};
use impasto::metrics::ssim::ssim_rgb_luma;
use impasto_io::codec::{encode, Format};

/// JPEG quality of preview frames.
const PREVIEW_QUALITY: u8 = 85;

/// `img` as a `data:image/jpeg;base64,...` URL.
pub fn jpeg_data_url(img: &Rgb) -> Result<String, String> {
    let format = Format::Jpeg {
        quality: PREVIEW_QUALITY,
    };
    let jpeg = encode(img, None, format).map_err(|e| format!("cannot encode the preview: {e}"))?;
    Ok(format!(
        "data:image/jpeg;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(jpeg)
    ))
}

/// SSIM between the lumas of `content` (resized to the image) and `img`.
pub fn ssim(content: &Rgb, img: &Rgb) -> Result<f32, String> {
    let reference = resize::resize(content, img.width, img.height);
    ssim_rgb_luma(&reference, img).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_url_is_a_jpeg() {
        let url = jpeg_data_url(&Rgb::filled(8, 4, [10.0, 200.0, 30.0])).unwrap();
        let b64 = url.strip_prefix("data:image/jpeg;base64,").unwrap();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap();
        assert!(bytes.starts_with(&[0xFF, 0xD8, 0xFF]));
    }

    #[test]
    fn ssim_of_the_photo_itself_is_one() {
        let mut img = Rgb::filled(20, 10, [0.0; 3]);
        for (i, v) in img.data.iter_mut().enumerate() {
            *v = (i * 37 % 255) as f32;
        }
        assert!((ssim(&img, &img).unwrap() - 1.0).abs() < 1e-4);
    }
}
