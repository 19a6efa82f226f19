//! A short training run on real photos with the real VGG19: the loss falls threefold, and a
//! resumed run continues exactly where the checkpoint left it.

mod common;

use impasto::fast::{Arch, TrainSettings, TrainStyle, Trainer};
use impasto::image::{resize, Rgb};
use impasto::Precision;

/// A few training photos at a small size.
fn photos() -> Vec<Rgb> {
    let dir = common::repo("../shared/data/train");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .expect("the training photos in ../shared/data/train")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "jpg" || e == "png"))
        .collect();
    paths.sort();
    paths
        .iter()
        .take(2)
        .map(|p| {
            let img = impasto_io::codec::load(p, &Default::default())
                .unwrap()
                .image;
            // Shorter side 64: each step sees nearly the same crop, which a short run can learn.
            let k = 64.0 / img.width.min(img.height) as f32;
            let (w, h) = (img.width as f32 * k, img.height as f32 * k);
            resize::resize(&img, w.round() as usize, h.round() as usize)
        })
        .collect()
}

fn settings(steps: usize) -> TrainSettings {
    TrainSettings {
        arch: Arch {
            channels: [8, 16],
            blocks: 1,
            outer_kernel: 3,
        },
        crop: 64,
        batch: 2,
        steps,
        lr: 1e-2,
        // Content alone: learning to carry the photo through the network is what a short run
        // at this size can show (the style's Gram cosine climbs more slowly; see BENCHMARKS.md).
        weights: impasto::LossWeights {
            content: 1.0,
            style: 0.0,
            tv: 1.0,
        },
        style_size: 128,
        seed: 5,
        ..TrainSettings::default()
    }
}

#[test]
fn the_loss_falls_threefold_and_a_resumed_run_matches() {
    let vgg = common::model(Precision::F32);
    let (_, painting) = common::images();
    let styles = [TrainStyle {
        name: "starry_night".into(),
        image: painting,
        weight: 1.0,
    }];
    let mut t = Trainer::new(&vgg, settings(80), &styles, photos()).unwrap();
    let mut losses = Vec::new();
    let mut halfway = None;
    while !t.done() {
        losses.push(t.step().unwrap().losses.total);
        if t.steps_done() == 70 {
            halfway = Some(t.checkpoint());
        }
    }
    let first: f64 = losses[..5].iter().sum::<f64>() / 5.0;
    let last: f64 = losses[losses.len() - 5..].iter().sum::<f64>() / 5.0;
    assert!(
        last * 3.0 < first,
        "loss fell from {first:.3e} to only {last:.3e}"
    );
    // Resume from step 70: the same parameters at the end, to the bit.
    let mut r = Trainer::resume(&vgg, settings(80), &styles, photos(), halfway.unwrap()).unwrap();
    while !r.done() {
        r.step().unwrap();
    }
    assert_eq!(r.net().params(), t.net().params());
}
