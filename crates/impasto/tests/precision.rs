//! bf16 convolutions: stable from the very first L-BFGS iteration at small sizes (where bf16
//! autocast in PyTorch blows up), and on the same path as f32.

use impasto::image::Rgb;
use impasto::Precision;
use impasto::{Session, Settings, Start, Style, StyleTargets, Vgg19};
use impasto_io::codec as io;

mod common;

use common::{model, repo};

fn image(name: &str) -> Rgb {
    io::load(&repo("examples").join(name), &Default::default())
        .unwrap()
        .image
}

/// Total loss and Gram cosine after each of `iters` iterations at one size.
fn run(model: &Vgg19, size: usize, iters: usize) -> Vec<(f64, f64)> {
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
    out
}

#[test]
fn bf16_from_the_first_iteration_is_stable_and_tracks_f32() {
    if !Precision::Bf16.is_supported() {
        eprintln!("this CPU has no AVX512_BF16: bf16 kernels not exercised");
        return;
    }
    let (f32_model, bf16_model) = (model(Precision::F32), model(Precision::Bf16));
    for (size, iters) in [(64, 12), (256, 6)] {
        let a = run(&f32_model, size, iters);
        let b = run(&bf16_model, size, iters);
        let first = b[0].0;
        for (i, &(total, _)) in b.iter().enumerate() {
            assert!(total.is_finite(), "{size} px, iteration {i}: loss {total}");
            assert!(
                total <= first * 1.001,
                "{size} px, iteration {i}: loss rose from {first} to {total}"
            );
        }
        let ((fa, ca), (fb, cb)) = (*a.last().unwrap(), *b.last().unwrap());
        eprintln!("{size} px: f32 loss {fa:.4e} cosine {ca:.4}; bf16 loss {fb:.4e} cosine {cb:.4}");
        assert!(
            (fb - fa).abs() <= 0.1 * fa,
            "{size} px: bf16 ends at loss {fb}, f32 at {fa}"
        );
        assert!(
            (cb - ca).abs() <= 0.02,
            "{size} px: bf16 ends at Gram cosine {cb}, f32 at {ca}"
        );
    }
}
