//! End-to-end runs of the engine with the real VGG19 weights on the bundled example images.

use impasto::image::{resize, Rgb};
use impasto::metrics::{gram::gram_cosine_similarity, ssim::ssim_rgb_luma};
use impasto::{LossWeights, Session, Settings, Start, Style, StyleTargets, Vgg19};

mod common;

use common::images;

/// VGG19 in f32.
fn model() -> Vgg19 {
    common::model(impasto::Precision::F32)
}

fn run(session: &mut Session) -> Vec<f64> {
    let mut style = Vec::new();
    while !session.done() {
        style.push(session.step().unwrap().losses.style);
    }
    style
}

#[test]
fn stylises_at_96px_style_falls_tenfold_and_content_survives() {
    let model = model();
    let (content, style) = images();
    let settings = Settings {
        size: 96,
        iters: 60,
        ..Settings::default()
    };
    let mut s = Session::new(
        &model,
        content.clone(),
        StyleTargets::new(vec![Style {
            image: style,
            weight: 1.0,
        }])
        .unwrap(),
        settings,
        Start::Content,
    )
    .unwrap();
    let losses = run(&mut s);
    let (first, last) = (losses[0], *losses.last().unwrap());
    assert!(
        last * 10.0 <= first,
        "style loss only fell from {first} to {last}"
    );
    let out = s.image();
    assert_eq!((out.width, out.height), (96, 96));
    // The optimised pixels never leave the valid range, so the saved image is the optimised one.
    assert!(out.data.iter().all(|v| (0.0..=255.0).contains(v)));
    let ssim = ssim_rgb_luma(&resize::resize(&content, 96, 96), &out).unwrap();
    assert!(
        ssim > 0.3,
        "SSIM {ssim}: the photo is no longer recognisable"
    );
}

#[test]
fn coarse_to_fine_ends_at_the_requested_size() {
    let model = model();
    let (content, style) = images();
    let settings = Settings {
        size: 128,
        scales: Some(vec![64, 128]),
        iters: 6,
        ..Settings::default()
    };
    let mut s = Session::new(
        &model,
        content,
        StyleTargets::new(vec![Style {
            image: style,
            weight: 1.0,
        }])
        .unwrap(),
        settings,
        Start::Content,
    )
    .unwrap();
    let mut sizes = Vec::new();
    while !s.done() {
        let r = s.step().unwrap();
        sizes.push(r.width);
    }
    assert_eq!(sizes.first(), Some(&64));
    assert_eq!(sizes.last(), Some(&128));
    assert_eq!(s.image().width, 128);
}

#[test]
fn settings_change_mid_run_continues_from_the_current_image() {
    let model = model();
    let (content, style) = images();
    let settings = Settings {
        size: 64,
        iters: 20,
        ..Settings::default()
    };
    let mut s = Session::new(
        &model,
        content,
        StyleTargets::new(vec![Style {
            image: style,
            weight: 1.0,
        }])
        .unwrap(),
        settings.clone(),
        Start::Content,
    )
    .unwrap();
    for _ in 0..5 {
        s.step().unwrap();
    }
    let before = s.image();
    s.set_settings(Settings {
        weights: LossWeights {
            style: settings.weights.style * 10.0,
            ..settings.weights
        },
        ..settings
    })
    .unwrap();
    assert_eq!(
        s.image(),
        before,
        "changing a weight must not restart the image"
    );
    let r = s.step().unwrap();
    assert_eq!(r.iter, 6, "the iteration count goes on");
    assert_ne!(s.image(), before, "the run moves on under the new weights");
    // A new output size takes effect at once, from the current picture.
    s.set_settings(Settings {
        size: 48,
        ..s.settings().clone()
    })
    .unwrap();
    let r = s.step().unwrap();
    assert_eq!((r.width, r.height), (48, 48));
}

#[test]
fn same_seed_same_pixels() {
    let model = model();
    let (content, style) = images();
    let settings = Settings {
        size: 48,
        iters: 4,
        ..Settings::default()
    };
    let mut images = Vec::new();
    for _ in 0..2 {
        let mut s = Session::new(
            &model,
            content.clone(),
            StyleTargets::new(vec![Style {
                image: style.clone(),
                weight: 1.0,
            }])
            .unwrap(),
            settings.clone(),
            Start::Noise { seed: 7 },
        )
        .unwrap();
        run(&mut s);
        images.push(s.image());
    }
    assert_eq!(images[0], images[1]);
}

#[test]
fn style_target_raises_a_weak_style_weight_and_ends_the_run_once_reached() {
    let model = model();
    let (content, style) = images();
    let styles = StyleTargets::new(vec![Style {
        image: style.clone(),
        weight: 1.0,
    }])
    .unwrap();
    let weak = Settings {
        size: 64,
        iters: 40,
        weights: LossWeights {
            style: 0.5,
            ..LossWeights::default()
        },
        ..Settings::default()
    };
    // Without a target a weak β leaves the style far from matched.
    let mut fixed = Session::new(
        &model,
        content.clone(),
        styles.clone(),
        Settings {
            style_target: None,
            ..weak.clone()
        },
        Start::Content,
    )
    .unwrap();
    let mut fixed_cos = 0.0;
    while !fixed.done() {
        fixed_cos = fixed.step().unwrap().losses.gram_cosine;
    }
    // With one, β is raised until the match is reached, and the run ends there.
    let mut steered = Session::new(&model, content, styles, weak.clone(), Start::Content).unwrap();
    let mut last = None;
    while !steered.done() {
        last = Some(steered.step().unwrap());
    }
    let last = last.unwrap();
    let target = weak.style_target.unwrap() as f64;
    assert!(
        last.style_weight > weak.weights.style as f64 * 3.0,
        "β stayed at {}",
        last.style_weight
    );
    assert!(
        last.losses.gram_cosine > fixed_cos + 0.05,
        "steered match {} is no better than fixed {fixed_cos}",
        last.losses.gram_cosine
    );
    if last.losses.gram_cosine >= target {
        assert!(last.done_iters < 40, "the run went on after the target");
    }
    // The cosine the run reports is the one `impasto metrics` computes.
    let metric = gram_cosine_similarity(&model, &style, &steered.image(), 1 << 30).unwrap() as f64;
    assert!(
        (metric - last.losses.gram_cosine).abs() < 0.02,
        "run says {} but the metric says {metric}",
        last.losses.gram_cosine
    );
}

#[test]
fn a_weight_change_mid_run_descends_on_the_new_objective() {
    let model = model();
    let (content, style) = images();
    let settings = Settings {
        size: 64,
        iters: 30,
        style_target: None,
        ..Settings::default()
    };
    let styles = StyleTargets::new(vec![Style {
        image: style,
        weight: 1.0,
    }])
    .unwrap();
    let mut s = Session::new(&model, content, styles, settings.clone(), Start::Content).unwrap();
    for _ in 0..8 {
        s.step().unwrap();
    }
    for beta in [
        settings.weights.style / 100.0,
        settings.weights.style * 100.0,
    ] {
        s.set_settings(Settings {
            weights: LossWeights {
                style: beta,
                ..settings.weights
            },
            ..settings.clone()
        })
        .unwrap();
        let at_change = s.evaluate().unwrap().total;
        let mut last = at_change;
        for _ in 0..3 {
            let now = s.step().unwrap().losses.total;
            assert!(
                now <= last,
                "β {beta}: the objective rose from {last} to {now}"
            );
            last = now;
        }
        assert!(last < at_change, "β {beta}: no progress from {at_change}");
    }
}

#[test]
fn a_dark_photo_far_from_the_painting_takes_its_palette_after_the_first_scale() {
    let model = model();
    let (content, style) = images();
    // A night-dark version of the photo: its colours alone keep the style match far off.
    let dark = Rgb::new(
        content.width,
        content.height,
        content.data.iter().map(|v| v * 0.1).collect(),
    );
    let mean = |img: &Rgb| img.data.iter().sum::<f32>() / img.data.len() as f32;
    let settings = Settings {
        size: 96,
        scales: Some(vec![48, 96]),
        iters: 24,
        ..Settings::default()
    };
    let first_at_full_size = |settings: Settings| {
        let styles = StyleTargets::new(vec![Style {
            image: style.clone(),
            weight: 1.0,
        }])
        .unwrap();
        let mut s = Session::new(&model, dark.clone(), styles, settings, Start::Content).unwrap();
        loop {
            let r = s.step().unwrap();
            if r.stage == 1 {
                return s.image();
            }
        }
    };
    let steered = mean(&first_at_full_size(settings.clone()));
    let fixed = mean(&first_at_full_size(Settings {
        style_target: None,
        ..settings
    }));
    let painting = mean(&style);
    assert!(
        (steered - painting).abs() < 20.0 && (fixed - painting).abs() > 40.0,
        "mean level: painting {painting}, steered {steered}, fixed β {fixed}"
    );
}

#[test]
fn steering_a_finished_run_continues_it() {
    let model = model();
    let (content, style) = images();
    let settings = Settings {
        size: 48,
        scales: Some(vec![24, 48]),
        iters: 6,
        style_target: None,
        ..Settings::default()
    };
    let styles = StyleTargets::new(vec![Style {
        image: style,
        weight: 1.0,
    }])
    .unwrap();
    let mut s = Session::new(&model, content, styles, settings.clone(), Start::Content).unwrap();
    run(&mut s);
    let finished = s.image();
    // New weights after the end: the last scale's iterations run again from the result.
    s.set_settings(Settings {
        weights: LossWeights {
            style: settings.weights.style * 10.0,
            ..settings.weights
        },
        ..settings.clone()
    })
    .unwrap();
    assert!(!s.done(), "a steered finished run goes on");
    assert_eq!(s.image(), finished, "from where it stopped");
    let r = s.step().unwrap();
    assert_eq!((r.stage, r.iter, r.width), (1, 1, 48));
    let more = run(&mut s);
    assert_eq!(more.len() + 1, s.plan()[1].iters);
    // So does a new blend weight.
    s.set_style_weights(&[2.0]).unwrap();
    assert!(!s.done());
    assert!(
        s.set_style_weights(&[0.0]).is_err(),
        "all-zero blend refused"
    );
}
