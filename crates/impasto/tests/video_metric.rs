//! Tests of the warping error on hand-made sequences whose value is known.

use std::path::PathBuf;

use impasto::image::{resize, Rgb};
use impasto::video::*;
use impasto::Error;
use impasto_io::codec as io;

/// An example image from the repository's `examples/`, resized to `w`×`h`.
fn example(name: &str, w: usize, h: usize) -> Rgb {
    let path = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/")).join(name);
    let img = io::load(&path, &Default::default())
        .expect("example image")
        .image;
    resize::resize(&img, w, h)
}

/// The `w`×`h` window of `img` whose top-left corner is at `(x0, y0)`.
fn crop(img: &Rgb, x0: usize, y0: usize, w: usize, h: usize) -> Rgb {
    let mut data = Vec::with_capacity(3 * w * h);
    for c in 0..3 {
        let p = img.plane(c);
        for y in y0..y0 + h {
            data.extend_from_slice(&p[y * img.width + x0..y * img.width + x0 + w]);
        }
    }
    Rgb::new(w, h, data)
}

/// The measured value of a whole sequence of (input, output) frames.
fn measure(frames: &[(Rgb, Rgb)]) -> WarpingError {
    let mut m = WarpingError::default();
    for (input, output) in frames {
        m.push(input, output).expect("same-size frames");
    }
    m
}

#[test]
fn video_metric_static_sequence_is_zero() {
    let input = example("portrait_astronaut.jpg", 96, 96);
    let output = example("starry_night.jpg", 96, 96);
    let frames = vec![(input, output); 4];
    let m = measure(&frames);
    let v = m.value().expect("three pairs");
    println!("static sequence: warping error {v:e}");
    assert_eq!((m.per_pair().len(), m.skipped()), (3, 0));
    assert!(v < 1e-6, "static sequence: {v}");
}

#[test]
fn video_metric_flickering_colours() {
    // A static input; the output alternates between two solid colours 51 apart in every
    // channel, so each pair differs by 51/255 = 0.2 everywhere.
    let input = example("portrait_astronaut.jpg", 96, 96);
    let (a, b) = ([100.0, 150.0, 200.0], [151.0, 201.0, 251.0]);
    let frames: Vec<(Rgb, Rgb)> = (0..5)
        .map(|t| {
            let colour = if t % 2 == 0 { a } else { b };
            (input.clone(), Rgb::filled(96, 96, colour))
        })
        .collect();
    let m = measure(&frames);
    let v = m.value().expect("four pairs");
    println!("flickering colours: warping error {v} (expected 0.04)");
    assert_eq!(m.per_pair().len(), 4);
    for &p in m.per_pair() {
        assert!((p - 0.04).abs() < 1e-9, "pair value {p}");
    }
}

#[test]
fn video_metric_brightening_ramp() {
    // A static input; the (textured) output brightens by d = 12 per frame: (12/255)² a pair.
    let input = example("portrait_astronaut.jpg", 96, 96);
    let mut base = example("starry_night.jpg", 96, 96);
    base.data.iter_mut().for_each(|s| *s *= 0.75);
    let d = 12.0f32;
    let frames: Vec<(Rgb, Rgb)> = (0..6)
        .map(|t| {
            let mut out = base.clone();
            out.data.iter_mut().for_each(|s| *s += t as f32 * d);
            (input.clone(), out)
        })
        .collect();
    let m = measure(&frames);
    let want = (12.0f64 / 255.0).powi(2);
    let v = m.value().expect("five pairs");
    println!("brightening ramp: warping error {v:e} (expected {want:e})");
    assert_eq!(m.per_pair().len(), 5);
    for &p in m.per_pair() {
        assert!(
            (p - want).abs() < 1e-6 * want,
            "pair value {p}, expected {want}"
        );
    }
}

/// Frames of a pan: the window of the source moves by (−2, −1) px a frame, so the content
/// moves by (2, 1).
fn pan(src: &Rgb, frames: usize) -> Vec<Rgb> {
    let (x0, y0) = (2 * frames, frames);
    (0..frames)
        .map(|t| crop(src, x0 - 2 * t, y0 - t, 128, 112))
        .collect()
}

#[test]
fn video_metric_output_following_the_motion() {
    // Input: the photo panned by (2, 1) px a frame. An output that moves with the content (the
    // same pan of another image) scores near 0; one that stays still scores far more.
    // Observed (128×112, 5 frames): following 3.6e-5, still 2.05e-2 (564×).
    let input = pan(&example("portrait_astronaut.jpg", 160, 160), 5);
    let painting = example("starry_night.jpg", 160, 160);
    let moving = pan(&painting, 5);
    let still = vec![moving[2].clone(); 5];
    let follows = measure(&input.iter().cloned().zip(moving).collect::<Vec<_>>());
    let stays = measure(&input.iter().cloned().zip(still).collect::<Vec<_>>());
    let (f, s) = (
        follows.value().expect("pairs"),
        stays.value().expect("pairs"),
    );
    println!(
        "pan (2,1): output following the motion {f:e} {:?}, still output {s:e} ({:.0}x)",
        follows.per_pair(),
        s / f
    );
    assert!(f < 1e-4, "output following the motion: {f}");
    assert!(s > 10.0 * f, "still output {s} vs following {f}");
}

#[test]
fn video_metric_known_flows_match_estimated() {
    // push_with_flows with the flows push would estimate gives the same values.
    let input = pan(&example("portrait_astronaut.jpg", 160, 160), 3);
    let output = pan(&example("starry_night.jpg", 160, 160), 3);
    let by_push = measure(
        &input
            .iter()
            .cloned()
            .zip(output.clone())
            .collect::<Vec<_>>(),
    );
    let mut by_flows = WarpingError::default();
    by_flows.push_first(&output[0]).expect("first frame");
    let params = FlowParams::default();
    for t in 1..3 {
        let (prev, this) = (Gray::from_rgb(&input[t - 1]), Gray::from_rgb(&input[t]));
        let back = dense_flow(&this, &prev, &params);
        let fwd = dense_flow(&prev, &this, &params);
        by_flows
            .push_with_flows(&output[t], &back, &fwd)
            .expect("same sizes");
    }
    assert_eq!(by_flows.per_pair(), by_push.per_pair());
}

#[test]
fn video_metric_content_entering_the_view_is_not_counted() {
    // A pan with its exact flows: the pixels whose source lies outside the previous frame (the
    // first 2 columns and first row) are left out, and the whole-pixel warp is exact elsewhere.
    let frames = pan(&example("starry_night.jpg", 160, 160), 2);
    let (w, h) = (frames[0].width, frames[0].height);
    let (mut back, mut fwd) = (Flow::zeros(w, h), Flow::zeros(w, h));
    back.u.fill(-2.0);
    back.v.fill(-1.0);
    fwd.u.fill(2.0);
    fwd.v.fill(1.0);
    let mut m = WarpingError::default();
    m.push_first(&frames[0]).expect("first");
    m.push_with_flows(&frames[1], &back, &fwd)
        .expect("same sizes");
    assert_eq!(m.value(), Some(0.0));
    // Counting them gives a clearly positive value.
    let all = masked_mse(
        &frames[1],
        &warp_rgb(&frames[0], &back),
        &vec![false; w * h],
    );
    println!(
        "exact pan: {:e} with the pixels entering the view",
        all.expect("usable")
    );
    assert!(all.expect("usable") > 1e-4);
}

#[test]
fn video_metric_all_occluded_pair_is_skipped() {
    // Flows that disagree everywhere (5 px forward, 0 back): no pixel is usable.
    let (w, h) = (20, 10);
    let mut fwd = Flow::zeros(w, h);
    fwd.u.fill(5.0);
    let mut m = WarpingError::default();
    m.push_first(&Rgb::filled(w, h, [0.0; 3])).expect("first");
    m.push_with_flows(&Rgb::filled(w, h, [9.0; 3]), &Flow::zeros(w, h), &fwd)
        .expect("same sizes");
    assert_eq!((m.value(), m.per_pair().len(), m.skipped()), (None, 0, 1));
}

#[test]
fn video_metric_masked_mse_by_hand() {
    // 2×2 image, pixels 1 and 3 masked (their large differences are ignored). Usable pixels:
    // 0 differs by 51 in R, 2 by 102 in G: (0.2² + 0.4²) / (3 channels × 2 pixels) = 1/30.
    let zero = Rgb::filled(2, 2, [0.0; 3]);
    let mut next = zero.clone();
    next.plane_mut(0)[0] = 51.0;
    next.plane_mut(0)[1] = 255.0;
    next.plane_mut(1)[2] = 102.0;
    next.plane_mut(2)[3] = 255.0;
    let got = masked_mse(&next, &zero, &[false, true, false, true]).expect("two usable");
    assert!((got - 1.0 / 30.0).abs() < 1e-12, "{got}");
    // Nothing masked: (0.2² + 1 + 0.4² + 1) / 12.
    let all = masked_mse(&next, &zero, &[false; 4]).expect("four usable");
    assert!((all - 2.2 / 12.0).abs() < 1e-12, "{all}");
    assert_eq!(masked_mse(&next, &zero, &[true; 4]), None);
}

#[test]
fn video_metric_errors() {
    // Frames of other sizes are the user's (a video that changes size); calls out of order
    // are a front end's bug.
    let is_mismatch = |r: impasto::Result<()>| matches!(r, Err(Error::Mismatch(_)));
    let is_bug = |r: impasto::Result<()>| matches!(r, Err(Error::Internal(_)));
    let (a, b) = (Rgb::filled(8, 6, [1.0; 3]), Rgb::filled(6, 8, [1.0; 3]));
    let mut m = WarpingError::default();
    assert!(
        is_mismatch(m.push(&a, &b)),
        "input and output differ in size"
    );
    m.push(&a, &a).expect("first frame");
    assert!(is_mismatch(m.push(&b, &b)), "frame size changed");
    assert!(is_bug(m.push_first(&a)), "push_first after a frame");
    let (fa, fb) = (Flow::zeros(8, 6), Flow::zeros(6, 8));
    assert!(is_mismatch(m.push_with_flows(&a, &fb, &fa)), "flow size");
    m.push_with_flows(&a, &fa, &fa).expect("known flows");
    assert!(is_bug(m.push(&a, &a)), "push without the previous input");
    assert_eq!(m.value(), Some(0.0));
    let mut fresh = WarpingError::default();
    assert!(
        is_bug(fresh.push_with_flows(&a, &fa, &fa)),
        "no first frame"
    );
}
