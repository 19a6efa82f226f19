//! Tests of flow, warping and occlusion on a real photo under known motions and on
//! constructed cases.

use std::path::PathBuf;
use std::time::Instant;

use impasto::image::{resize, Rgb};
use impasto::video::*;
use impasto_io::codec as io;

/// The example portrait at 256 px on its longer side.
fn photo() -> Rgb {
    let path = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/"))
        .join("portrait_astronaut.jpg");
    let img = io::load(&path, &Default::default())
        .expect("examples/portrait_astronaut.jpg")
        .image;
    let (w, h) = resize::fit_longer_side(img.width, img.height, 256);
    resize::resize(&img, w, h)
}

/// Frame B = A moved by `motion` (a map of A's points to B's points, inverted by `inverse`),
/// and the true flow `motion(x) - x`.
fn moved(
    a: &Gray,
    motion: impl Fn(f32, f32) -> (f32, f32),
    inverse: impl Fn(f32, f32) -> (f32, f32),
) -> (Gray, Flow) {
    let (w, h) = (a.width, a.height);
    let mut b = Vec::with_capacity(w * h);
    let mut truth = Flow::zeros(w, h);
    for y in 0..h {
        for x in 0..w {
            let (sx, sy) = inverse(x as f32, y as f32);
            b.push(a.sample(sx, sy));
            let (mx, my) = motion(x as f32, y as f32);
            truth.u[y * w + x] = mx - x as f32;
            truth.v[y * w + x] = my - y as f32;
        }
    }
    (Gray::new(w, h, b), truth)
}

/// Mean endpoint error over the interior (a `margin` px border excluded).
fn mean_epe(f: &Flow, truth: &Flow, margin: usize) -> f32 {
    let (mut sum, mut n) = (0.0f64, 0usize);
    for y in margin..f.height - margin {
        for x in margin..f.width - margin {
            let i = y * f.width + x;
            sum += ((f.u[i] - truth.u[i]).powi(2) + (f.v[i] - truth.v[i]).powi(2)).sqrt() as f64;
            n += 1;
        }
    }
    (sum / n as f64) as f32
}

/// Estimates the flow of a known motion of the photo, prints and checks its mean EPE, and
/// checks that the bound is well below the EPE of the zero flow (so it means something).
fn check_motion(
    name: &str,
    motion: impl Fn(f32, f32) -> (f32, f32),
    inverse: impl Fn(f32, f32) -> (f32, f32),
    bound: f32,
) {
    let a = Gray::from_rgb(&photo());
    let (b, truth) = moved(&a, motion, inverse);
    let t = Instant::now();
    let flow = dense_flow(&a, &b, &FlowParams::default());
    let ms = t.elapsed().as_secs_f64() * 1e3;
    let epe = mean_epe(&flow, &truth, 10);
    let zero = mean_epe(&Flow::zeros(a.width, a.height), &truth, 10);
    println!(
        "{name}: {}x{} mean EPE {epe:.3} px (bound {bound}, zero flow {zero:.3}) in {ms:.1} ms",
        a.width, a.height
    );
    assert!(epe < bound, "{name}: mean EPE {epe} ≥ {bound}");
    assert!(
        zero > 2.0 * bound,
        "{name}: the motion is too small to test"
    );
}

#[test]
fn video_flow_integer_shift() {
    check_motion(
        "shift (3,-2)",
        |x, y| (x + 3.0, y - 2.0),
        |x, y| (x - 3.0, y + 2.0),
        0.1,
    );
}

#[test]
fn video_flow_subpixel_shift() {
    check_motion(
        "shift (1.5,0.5)",
        |x, y| (x + 1.5, y + 0.5),
        |x, y| (x - 1.5, y - 0.5),
        0.3,
    );
}

#[test]
fn video_flow_patch_search_iterates_to_the_motion() {
    // One level only (no pyramid to hand each patch a near guess): a (2.6, -1.7) px shift must
    // be found by the patch's own Gauss-Newton iterations. One iteration stops short.
    let a = Gray::from_rgb(&photo());
    let (b, truth) = moved(&a, |x, y| (x + 2.6, y - 1.7), |x, y| (x - 2.6, y + 1.7));
    let epe = |iterations| {
        let params = FlowParams {
            iterations,
            min_level_size: usize::MAX,
            ..FlowParams::default()
        };
        mean_epe(&dense_flow(&a, &b, &params), &truth, 10)
    };
    let (full, one) = (epe(FlowParams::default().iterations), epe(1));
    println!("single level, shift (2.6,-1.7): mean EPE {full:.3} px, {one:.3} with one iteration");
    assert!(full < 0.6, "mean EPE {full}");
    assert!(one > 2.0 * full, "one iteration: {one} vs {full}");
}

/// Rotation by `deg` degrees about `(cx, cy)`.
fn rotation(deg: f32, cx: f32, cy: f32) -> impl Fn(f32, f32) -> (f32, f32) {
    let (s, c) = deg.to_radians().sin_cos();
    move |x, y| {
        let (dx, dy) = (x - cx, y - cy);
        (cx + c * dx - s * dy, cy + s * dx + c * dy)
    }
}

#[test]
fn video_flow_rotation() {
    let (w, h) = {
        let p = photo();
        (p.width as f32, p.height as f32)
    };
    let (cx, cy) = ((w - 1.0) / 2.0, (h - 1.0) / 2.0);
    check_motion(
        "rotation 2°",
        rotation(2.0, cx, cy),
        rotation(-2.0, cx, cy),
        0.35,
    );
}

#[test]
fn video_flow_zoom() {
    let p = photo();
    let (cx, cy) = ((p.width as f32 - 1.0) / 2.0, (p.height as f32 - 1.0) / 2.0);
    let k = 1.03f32;
    check_motion(
        "zoom 3%",
        move |x, y| (cx + k * (x - cx), cy + k * (y - cy)),
        move |x, y| (cx + (x - cx) / k, cy + (y - cy) / k),
        0.3,
    );
}

#[test]
fn video_flow_identical_frames_is_zero() {
    let a = Gray::from_rgb(&photo());
    let flow = dense_flow(&a, &a, &FlowParams::default());
    let max = flow
        .u
        .iter()
        .chain(&flow.v)
        .fold(0.0f32, |m, d| m.max(d.abs()));
    println!("identical frames: max |flow| {max:e}");
    assert!(max < 1e-3, "identical frames gave flow up to {max}");
}

#[test]
fn video_flow_moving_region() {
    // The photo's block [92,156)×[94,158) moves by (4,2) over the static rest: two motions and
    // occlusions. EPE is measured away (≥ 6 px) from the block's edges in A and in B.
    let a = Gray::from_rgb(&photo());
    let (w, h) = (a.width, a.height);
    let (d, lo, hi) = ((4.0f32, 2.0f32), (92usize, 94usize), (156usize, 158usize));
    let in_block = |x: usize, y: usize, ox: usize, oy: usize| {
        (lo.0 + ox..hi.0 + ox).contains(&x) && (lo.1 + oy..hi.1 + oy).contains(&y)
    };
    let mut b = a.clone();
    let mut truth = Flow::zeros(w, h);
    for y in 0..h {
        for x in 0..w {
            if in_block(x, y, 4, 2) {
                b.data[y * w + x] = a.at(x - 4, y - 2);
            }
            if in_block(x, y, 0, 0) {
                truth.u[y * w + x] = d.0;
                truth.v[y * w + x] = d.1;
            }
        }
    }
    let flow = dense_flow(&a, &b, &FlowParams::default());
    let near_edge = |x: usize, y: usize, ox: usize, oy: usize| {
        let inner = (lo.0 + ox + 6..hi.0 + ox - 6).contains(&x)
            && (lo.1 + oy + 6..hi.1 + oy - 6).contains(&y);
        let outer = (lo.0 + ox - 6..hi.0 + ox + 6).contains(&x)
            && (lo.1 + oy - 6..hi.1 + oy + 6).contains(&y);
        outer && !inner
    };
    let (mut sum, mut n) = (0.0f64, 0usize);
    for y in 10..h - 10 {
        for x in 10..w - 10 {
            if near_edge(x, y, 0, 0) || near_edge(x, y, 4, 2) {
                continue;
            }
            let i = y * w + x;
            sum +=
                ((flow.u[i] - truth.u[i]).powi(2) + (flow.v[i] - truth.v[i]).powi(2)).sqrt() as f64;
            n += 1;
        }
    }
    let epe = sum / n as f64;
    let all = mean_epe(&flow, &truth, 10);
    println!("moving region (4,2): mean EPE {epe:.3} px away from its edges, {all:.3} px overall");
    assert!(
        epe < 0.1,
        "moving region: mean EPE {epe} away from the edges"
    );
    assert!(all < 0.15, "moving region: mean EPE {all} overall");
}

/// A small deterministic RGB test image.
fn pattern(w: usize, h: usize) -> Rgb {
    let mut data = Vec::with_capacity(3 * w * h);
    for c in 0..3 {
        for y in 0..h {
            for x in 0..w {
                data.push(((x * 7 + y * 13 + c * 29) % 256) as f32);
            }
        }
    }
    Rgb::new(w, h, data)
}

#[test]
fn video_warp_zero_flow_is_identity() {
    let img = pattern(23, 17);
    assert_eq!(warp_rgb(&img, &Flow::zeros(23, 17)), img);
}

#[test]
fn video_warp_constant_flow_is_a_shift() {
    let (w, h) = (30, 20);
    let img = pattern(w, h);
    let mut flow = Flow::zeros(w, h);
    flow.u.fill(3.0);
    flow.v.fill(-2.0);
    let out = warp_rgb(&img, &flow);
    for c in 0..3 {
        for y in 2..h {
            for x in 0..w - 3 {
                let (got, want) = (out.plane(c)[y * w + x], img.plane(c)[(y - 2) * w + x + 3]);
                assert_eq!(got, want, "channel {c} at ({x},{y})");
            }
        }
    }
    // Half-pixel shift: the mean of the two neighbours.
    flow.u.fill(0.5);
    flow.v.fill(0.0);
    let out = warp_rgb(&img, &flow);
    let p = img.plane(0);
    let want = 0.5 * (p[5 * w + 4] + p[5 * w + 5]);
    assert!((out.plane(0)[5 * w + 4] - want).abs() < 1e-4);
}

/// Mean absolute difference between `a` and channel 0 of `b` over the interior (10 px margin).
fn interior_mae(a: &Gray, b: &Rgb) -> f64 {
    let (mut sum, mut n) = (0.0f64, 0usize);
    for y in 10..a.height - 10 {
        for x in 10..a.width - 10 {
            sum += (b.plane(0)[y * a.width + x] - a.at(x, y)).abs() as f64;
            n += 1;
        }
    }
    sum / n as f64
}

#[test]
fn video_warp_undoes_a_shift_with_estimated_flow() {
    // Warping B by the estimated A→B flow reproduces A in the interior about as well as
    // warping by the true flow (both lose detail to the double bilinear interpolation).
    let a = Gray::from_rgb(&photo());
    let (b, truth) = moved(&a, |x, y| (x + 1.5, y + 0.5), |x, y| (x - 1.5, y - 0.5));
    let flow = dense_flow(&a, &b, &FlowParams::default());
    let b_rgb = Rgb::from_planes(a.width, a.height, [&b.data, &b.data, &b.data]);
    let est = interior_mae(&a, &warp_rgb(&b_rgb, &flow));
    let exact = interior_mae(&a, &warp_rgb(&b_rgb, &truth));
    let none = interior_mae(&a, &b_rgb);
    println!("warp back: mean abs error {est:.3} (true flow {exact:.3}, no warp {none:.3})");
    assert!(
        est < exact + 1.0,
        "warped-back error {est} vs {exact} with the true flow"
    );
    assert!(none > exact + 3.0, "the shift is too small to test");
}

#[test]
fn video_occlusion_of_a_moving_square() {
    // A 20 px square at x,y ∈ [40,60) moves 5 px right over a static background (80×80).
    let (w, h, d) = (80usize, 80usize, 5.0f32);
    let square =
        |x: usize, y: usize, x0: usize| (x0..x0 + 20).contains(&x) && (40..60).contains(&y);
    let mut fwd = Flow::zeros(w, h); // A→B
    let mut bwd = Flow::zeros(w, h); // B→A
    for y in 0..h {
        for x in 0..w {
            if square(x, y, 40) {
                fwd.u[y * w + x] = d;
            }
            if square(x, y, 45) {
                bwd.u[y * w + x] = -d;
            }
        }
    }
    let far = |x: usize, y: usize| !(35..70).contains(&x) || !(35..65).contains(&y);
    // A's pixels: the background strip x ∈ [60,65) gets covered in B.
    let in_a = occlusion_mask(&fwd, &bwd);
    // B's pixels: the strip x ∈ [40,45) is disoccluded (not visible in A).
    let in_b = occlusion_mask(&bwd, &fwd);
    for (mask, strip, name) in [
        (&in_a, 60..65, "A (covered)"),
        (&in_b, 40..45, "B (disoccluded)"),
    ] {
        for y in 40..60 {
            for x in strip.clone() {
                assert!(mask[y * w + x], "{name}: ({x},{y}) not flagged");
            }
        }
        let flagged_far = (0..w * h).filter(|&i| far(i % w, i / w) && mask[i]).count();
        assert_eq!(flagged_far, 0, "{name}: static background flagged");
        let total = mask.iter().filter(|&&m| m).count();
        println!("{name}: {total} px flagged");
    }
    // The moving square's interior is consistent in both directions.
    for y in 43..57 {
        for x in 43..57 {
            assert!(!in_a[y * w + x], "A: square interior ({x},{y}) flagged");
            assert!(
                !in_b[y * w + x + 5],
                "B: square interior ({},{y}) flagged",
                x + 5
            );
        }
    }
}

#[test]
fn video_flow_small_and_odd_sizes() {
    // Frames smaller than a patch or with odd sides give a finite flow of the right size.
    for (w, h) in [(1, 1), (5, 3), (37, 20), (70, 33)] {
        let a = Gray::new(w, h, (0..w * h).map(|i| ((i * 37) % 251) as f32).collect());
        let b = Gray::new(w, h, (0..w * h).map(|i| ((i * 41) % 241) as f32).collect());
        let flow = dense_flow(&a, &b, &FlowParams::default());
        assert_eq!((flow.width, flow.height, flow.u.len()), (w, h, w * h));
        assert!(flow.u.iter().chain(&flow.v).all(|d| d.is_finite()));
    }
}
