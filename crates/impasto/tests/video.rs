//! The video stylizer with the real weights on a camera pan over the bundled photo: it is far
//! steadier than frame-by-frame stylisation, later frames take only their few iterations, and
//! a resumed run continues exactly where the uninterrupted one would be.

mod common;

use impasto::image::{resize, Rgb};
use std::sync::Arc;

use impasto::video::{VideoSettings, VideoStylizer, WarpingError};
use impasto::Precision;
use impasto::{PreserveColor, Settings, Style, StyleTargets, Vgg19};

use common::{images, model};

/// `n` frames of a 72×56 window panning 3 px right and 1 px down per frame over the photo
/// (scaled to 128 px): the motion of a camera sweeping a real scene.
fn pan(photo: &Rgb, n: usize) -> Vec<Rgb> {
    let p = resize::resize(photo, 128, 128);
    let (w, h) = (72, 56);
    (0..n)
        .map(|t| {
            let (x0, y0) = (20 + 3 * t, 30 + t);
            let mut data = Vec::with_capacity(3 * w * h);
            for c in 0..3 {
                for y in 0..h {
                    let row = &p.plane(c)[(y0 + y) * 128..];
                    data.extend_from_slice(&row[x0..x0 + w]);
                }
            }
            Rgb::new(w, h, data)
        })
        .collect()
}

/// The model, `n` frames of the pan, and the painting as the one style.
fn setup(n: usize) -> (Vgg19, Vec<Rgb>, Arc<StyleTargets>) {
    let (photo, painting) = images();
    let styles = StyleTargets::new(vec![Style {
        image: painting,
        weight: 1.0,
    }])
    .unwrap();
    (model(Precision::F32), pan(&photo, n), styles)
}

fn settings(consistent: bool) -> VideoSettings {
    VideoSettings {
        first: Settings {
            size: 72,
            iters: 30,
            ..Settings::default()
        },
        later_iters: 6,
        consistent,
        ..VideoSettings::default()
    }
}

/// Warping errors of the temporal and the frame-by-frame stylisation of a 5-frame pan.
fn warping_errors(preserve_color: PreserveColor) -> [f64; 2] {
    let (model, frames, styles) = setup(5);
    [true, false].map(|consistent| {
        let mut s = settings(consistent);
        s.first.preserve_color = preserve_color;
        let mut st = VideoStylizer::new(&model, styles.clone(), s).unwrap();
        let mut metric = WarpingError::default();
        for (i, f) in frames.iter().enumerate() {
            let out = st.frame(f, &mut |_| {}).unwrap();
            assert_eq!((out.image.width, out.image.height), (72, 56));
            assert!(out.image.data.iter().all(|v| (0.0..=255.0).contains(v)));
            if i > 0 {
                assert_eq!(out.iters, 6, "later frames run --later-iters");
                assert!(out.occluded < 0.3, "a pan hides little: {}", out.occluded);
            }
            metric.push(f, &out.image).unwrap();
        }
        metric.value().unwrap()
    })
}

#[test]
fn temporal_consistency_halves_the_warping_error_at_least() {
    let [temporal, independent] = warping_errors(PreserveColor::Off);
    println!("warping error: temporal {temporal:.5}, frame by frame {independent:.5}");
    assert!(temporal <= 0.5 * independent, "{temporal} vs {independent}");
}

#[test]
fn temporal_consistency_holds_when_keeping_the_photos_colours() {
    let [temporal, independent] = warping_errors(PreserveColor::Luminance);
    println!("luminance mode: temporal {temporal:.5}, frame by frame {independent:.5}");
    assert!(temporal <= 0.5 * independent, "{temporal} vs {independent}");
}

#[test]
fn a_resumed_run_continues_exactly() {
    let (model, frames, styles) = setup(3);
    let mut whole = VideoStylizer::new(&model, styles.clone(), settings(true)).unwrap();
    let outs: Vec<_> = frames
        .iter()
        .map(|f| whole.frame(f, &mut |_| {}).unwrap())
        .collect();
    let mut resumed = VideoStylizer::new(&model, styles, settings(true)).unwrap();
    resumed.resume(&frames[1], outs[1].image.clone(), outs[0].style_weight);
    let last = resumed.frame(&frames[2], &mut |_| {}).unwrap();
    assert_eq!(last.image, outs[2].image);
    assert_eq!(last.style_weight, outs[2].style_weight);
}
