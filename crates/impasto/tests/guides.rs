//! Spatial control with the real VGG19: a style over half the photo leaves the other half
//! the photo and matches the painting where it goes.

use impasto::guide::{Guides, Mask};
use impasto::image::{resize, Rgb};
use impasto::metrics::{gram::gram_cosine_similarity, ssim::ssim_rgb_luma};
use impasto::{Session, Settings, Start, Style, StyleTargets};

mod common;

/// Columns `x0..x1` of `img`.
fn columns(img: &Rgb, x0: usize, x1: usize) -> Rgb {
    let (w, h) = (img.width, img.height);
    let mut data = Vec::with_capacity(3 * (x1 - x0) * h);
    for c in 0..3 {
        for y in 0..h {
            data.extend_from_slice(&img.plane(c)[y * w + x0..y * w + x1]);
        }
    }
    Rgb::new(x1 - x0, h, data)
}

#[test]
fn a_half_mask_styles_one_half_and_keeps_the_other() {
    let model = common::model(impasto::Precision::F32);
    let (photo, painting) = common::images();
    let (w, h) = (photo.width, photo.height);
    let left = Mask::soft(
        w,
        h,
        (0..w * h).map(|i| ((i % w) < w / 2) as u8 as f32).collect(),
    )
    .unwrap();
    let settings = Settings {
        size: 160,
        iters: 40,
        ..Settings::default()
    };
    let styles = StyleTargets::new(vec![Style {
        image: painting.clone(),
        weight: 1.0,
    }])
    .unwrap();
    let mut s = Session::new(&model, photo.clone(), styles, settings, Start::Content)
        .unwrap()
        .with_guides(Guides {
            masks: vec![left],
            keep: None,
        })
        .unwrap();
    while !s.done() {
        s.step().unwrap();
    }
    let out = s.image();
    let ow = out.width;
    let reference = resize::resize(&photo, ow, out.height);
    // Past the soft edge (1% of the side each way), the right half is the photo.
    let right = ssim_rgb_luma(
        &columns(&reference, ow / 2 + 4, ow),
        &columns(&out, ow / 2 + 4, ow),
    )
    .unwrap();
    assert!(right >= 0.95, "right half SSIM {right}");
    let cos = |img: &Rgb| gram_cosine_similarity(&model, &painting, img, 1 << 30).unwrap();
    let (styled, kept) = (
        cos(&columns(&out, 0, ow / 2 - 4)),
        cos(&columns(&out, ow / 2 + 4, ow)),
    );
    let photo_left = cos(&columns(&reference, 0, ow / 2 - 4));
    assert!(
        styled >= 0.8 && styled >= photo_left + 0.15 && styled >= kept + 0.15,
        "Gram cosine with the painting: styled half {styled}, kept half {kept}, photo's \
         half {photo_left}"
    );
}
