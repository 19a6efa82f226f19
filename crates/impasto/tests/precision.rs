//! bf16 precision on every instruction set (bf16 storage everywhere, bf16 products where the
//! CPU has them): stable from the very first L-BFGS iteration at small sizes (where bf16
//! autocast in PyTorch blows up), on the same path as f32, and with results a viewer cannot
//! tell apart by the metrics.

use impasto::image::Rgb;
use impasto::metrics::gram::gram_cosine_similarity;
use impasto::metrics::ssim::ssim_rgb_luma;
use impasto::{Isa, Precision};
use impasto::{Session, Settings, Start, Style, StyleTargets, Vgg19};
use impasto_io::codec as io;

mod common;

use common::{model, repo};

fn image(name: &str) -> Rgb {
    io::load(&repo("examples").join(name), &Default::default())
        .unwrap()
        .image
}

/// Total loss and Gram cosine after each of `iters` iterations at one size, and the result.
fn run(model: &Vgg19, size: usize, iters: usize) -> (Vec<(f64, f64)>, Rgb) {
    let settings = Settings {
        size,
        scales: Some(vec![size]),
        iters,
        style_target: None,
        ..Settings::default()
    };
    let style = Style {
        image: image("starry_night.jpg"),
        weight: 1.0,
    };
    let mut s = Session::new(
        model,
        image("portrait_astronaut.jpg"),
        StyleTargets::new(vec![style]).unwrap(),
        settings,
        Start::Content,
    )
    .expect("session");
    let mut out = Vec::new();
    while !s.done() {
        let l = s.step().expect("step").losses;
        out.push((l.total, l.gram_cosine));
    }
    (out, s.image())
}

#[test]
fn bf16_from_the_first_iteration_is_stable_and_tracks_f32() {
    let f32_model = model(Precision::F32);
    let (photo, painting) = (image("portrait_astronaut.jpg"), image("starry_night.jpg"));
    let (want, want_img) = run(&f32_model, 256, 8);
    let metrics = |img: &Rgb| {
        let ssim = ssim_rgb_luma(img, &resized(&photo, img)).unwrap() as f64;
        let gram = gram_cosine_similarity(&f32_model, &painting, img, 1 << 30).unwrap() as f64;
        (ssim, gram)
    };
    let (want_ssim, want_gram) = metrics(&want_img);
    // Kernels are made for the instruction set in force when first used: one model per set.
    for isa in Isa::supported() {
        let bf16_model = Isa::with(isa, || model(Precision::Bf16));
        let (small, _) = Isa::with(isa, || run(&bf16_model, 64, 12));
        let (got, img) = Isa::with(isa, || run(&bf16_model, 256, 8));
        for (size, b) in [(64, &small), (256, &got)] {
            let first = b[0].0;
            for (i, &(total, _)) in b.iter().enumerate() {
                assert!(
                    total.is_finite(),
                    "{isa:?} {size} px, iteration {i}: loss {total}"
                );
                assert!(
                    total <= first * 1.001,
                    "{isa:?} {size} px, iteration {i}: loss rose from {first} to {total}"
                );
            }
        }
        let ((fa, _), (fb, _)) = (*want.last().unwrap(), *got.last().unwrap());
        assert!(
            (fb - fa).abs() <= 0.1 * fa,
            "{isa:?}: bf16 ends at loss {fb}, f32 at {fa}"
        );
        let (ssim, gram) = metrics(&img);
        eprintln!(
            "{isa:?}: SSIM {ssim:.4} (f32 {want_ssim:.4}), Gram cosine {gram:.4} (f32 {want_gram:.4})"
        );
        assert!(
            (ssim - want_ssim).abs() <= 0.01,
            "{isa:?}: SSIM {ssim} vs {want_ssim}"
        );
        assert!(
            (gram - want_gram).abs() <= 0.01,
            "{isa:?}: Gram {gram} vs {want_gram}"
        );
    }
}

/// `photo` at the size of `like`.
fn resized(photo: &Rgb, like: &Rgb) -> Rgb {
    impasto::image::resize::resize(photo, like.width, like.height)
}
