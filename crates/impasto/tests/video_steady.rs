//! Steadying one-pass video frames along the flow: a static scene stays put, a moving one is
//! followed, a region the previous frame cannot supply takes the new result, and the warping
//! error reuses the steadier's own warp.

use std::path::PathBuf;

use impasto::image::{resize, Rgb};
use impasto::video::{Steadier, SteadySettings, WarpingError};
use impasto_io::codec as io;

/// The example portrait at 192 px on its longer side.
fn photo() -> Rgb {
    let path = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/"))
        .join("portrait_astronaut.jpg");
    let img = io::load(&path, &Default::default()).unwrap().image;
    let (w, h) = resize::fit_longer_side(img.width, img.height, 192);
    resize::resize(&img, w, h)
}

/// The `w`×`h` window of `img` at `(x0, y0)`, each pixel passed through `f`.
fn window(img: &Rgb, x0: usize, y0: usize, (w, h): (usize, usize), f: impl Fn(f32) -> f32) -> Rgb {
    let mut data = Vec::with_capacity(3 * w * h);
    for c in 0..3 {
        for y in 0..h {
            for x in 0..w {
                data.push(f(img.plane(c)[(y0 + y) * img.width + x0 + x]));
            }
        }
    }
    Rgb::new(w, h, data)
}

/// Mean absolute difference over the pixels at least `m` from the border.
fn interior_mad(a: &Rgb, b: &Rgb, m: usize) -> f64 {
    let (w, h) = (a.width, a.height);
    let mut sum = 0.0;
    let mut n = 0;
    for c in 0..3 {
        for y in m..h - m {
            for x in m..w - m {
                sum += (a.plane(c)[y * w + x] - b.plane(c)[y * w + x]).abs() as f64;
                n += 1;
            }
        }
    }
    sum / n as f64
}

/// A stand-in for a network: the colours inverted, plus a flicker that differs per frame.
fn styled(input: &Rgb, t: usize) -> Rgb {
    let mut out = input.clone();
    for (i, v) in out.data.iter_mut().enumerate() {
        let flicker = (((i * 7919 + t * 104_729) % 41) as f32) - 20.0;
        *v = (255.0 - *v + flicker).clamp(0.0, 255.0);
    }
    out
}

#[test]
fn steady_static_scene_stays_static() {
    let p = photo();
    let frame = window(&p, 0, 0, (128, 96), |v| v);
    let mut s = Steadier::new(SteadySettings::default()).unwrap();
    let mut outs = Vec::new();
    for t in 0..6 {
        outs.push(s.push(&frame, styled(&frame, t)).unwrap().image);
    }
    let plain_change = interior_mad(&styled(&frame, 5), &styled(&frame, 4), 4);
    let steady_change = interior_mad(&outs[5], &outs[4], 4);
    assert!(
        steady_change < 0.35 * plain_change,
        "frame-to-frame change {steady_change} vs {plain_change} frame by frame"
    );
}

#[test]
fn steady_follows_a_moving_scene() {
    let p = photo();
    let size = (128, 96);
    // The camera pans: content moves 3 px left and 1 px up per frame.
    let frames: Vec<Rgb> = (0..5)
        .map(|t| window(&p, 10 + 3 * t, 20 + t, size, |v| v))
        .collect();
    let clean = |f: &Rgb| window(f, 0, 0, size, |v| 255.0 - v);
    let mut s = Steadier::new(SteadySettings::default()).unwrap();
    let mut last = None;
    for (t, f) in frames.iter().enumerate() {
        let out = s.push(f, clean(f)).unwrap();
        assert_eq!(out.motion.is_some(), t > 0);
        last = Some(out.image);
    }
    // Following the motion, the output matches this frame's result, not the stale one.
    let out = last.unwrap();
    let now = clean(&frames[4]);
    let stale = clean(&frames[3]);
    let follow = interior_mad(&out, &now, 12);
    assert!(
        follow < 0.25 * interior_mad(&stale, &now, 12),
        "output differs from the frame's own result by {follow}"
    );
    assert!(follow < 4.0, "{follow}");
}

#[test]
fn steady_region_the_previous_frame_lacks_takes_the_new_result() {
    let p = photo();
    let size = (128, 96);
    let before = window(&p, 0, 0, size, |v| v);
    // A square of new content appears: black where the photo is light, white where dark.
    let mut after = before.clone();
    for y in 30..60 {
        for x in 50..80 {
            let [r, g, b] = before.pixel(x, y);
            let v = if 0.299 * r + 0.587 * g + 0.114 * b > 127.0 {
                0.0
            } else {
                255.0
            };
            for c in 0..3 {
                after.plane_mut(c)[y * 128 + x] = v;
            }
        }
    }
    let mut s = Steadier::new(SteadySettings::default()).unwrap();
    s.push(&before, styled(&before, 0)).unwrap();
    let new = styled(&after, 1);
    let out = s.push(&after, new.clone()).unwrap();
    // Inside the square (the flow may still pair a few of its pixels with look-alikes).
    let (mut exact, mut total) = (0, 0);
    for y in 35..55 {
        for x in 55..75 {
            let i = y * 128 + x;
            total += 1;
            exact += (0..3).all(|c| out.image.plane(c)[i] == new.plane(c)[i]) as usize;
        }
    }
    assert!(
        exact * 100 >= 95 * total,
        "{exact} of {total} pixels take the new result"
    );
    assert!(out.fresh > 0.05, "fresh fraction {}", out.fresh);
}

#[test]
fn steady_rejects_bad_settings_and_sizes() {
    for blend in [-0.1, 1.0, f32::NAN] {
        let settings = SteadySettings {
            blend,
            ..SteadySettings::default()
        };
        assert!(Steadier::new(settings).is_err(), "{blend}");
    }
    let mut s = Steadier::new(SteadySettings::default()).unwrap();
    let a = Rgb::filled(32, 32, [0.0; 3]);
    assert!(s.push(&a, Rgb::filled(32, 24, [0.0; 3])).is_err());
    s.push(&a, a.clone()).unwrap();
    let b = Rgb::filled(24, 32, [0.0; 3]);
    assert!(s.push(&b, b.clone()).is_err());
}

#[test]
fn the_warping_error_from_the_steadiers_warp_is_the_one_from_its_flows() {
    let p = photo();
    let size = (128, 96);
    let mut s = Steadier::new(SteadySettings::default()).unwrap();
    let (mut from_flows, mut from_warp) = (WarpingError::default(), WarpingError::default());
    for t in 0..4 {
        let f = window(&p, 10 + 3 * t, 20 + t, size, |v| v);
        let out = s.push(&f, window(&f, 0, 0, size, |v| 255.0 - v)).unwrap();
        match &out.motion {
            None => {
                from_flows.push_first(&out.image).unwrap();
                from_warp.push_first(&out.image).unwrap();
            }
            Some(m) => {
                from_flows
                    .push_with_flows(&out.image, &m.back, &m.fwd)
                    .unwrap();
                from_warp
                    .push_warped(&out.image, &m.warped, &m.occluded)
                    .unwrap();
            }
        }
    }
    assert_eq!(from_flows.per_pair().len(), 3);
    assert_eq!(from_flows.per_pair(), from_warp.per_pair());
}
