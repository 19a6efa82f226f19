//! An optimisation run in tiles is the whole-image optimisation: the same image to rounding,
//! and no seam along the tiles' borders (real weights, the bundled photo and painting).

use impasto::image::Rgb;
use impasto::plan::{self, Grid, History, Layout};
use impasto::{Optimizer, Session, Settings, Start, Style, StyleTargets};

mod common;

/// Side of the result: 2×2 tiles of the smallest core, each smaller than the image.
const SIZE: usize = 512;

/// The result after a few Adam steps (whose path does not depend on the optimiser's history,
/// unlike L-BFGS's) within `max_memory`, and whether the run was tiled.
fn run(max_memory: u64) -> (Rgb, Option<Grid>) {
    let model = common::model(impasto::Precision::F32);
    let (content, style) = common::images();
    let settings = Settings {
        max_memory: Some(max_memory),
        ..settings()
    };
    let styles = StyleTargets::new(vec![Style {
        image: style,
        weight: 1.0,
    }])
    .unwrap();
    let mut s = Session::new(&model, content, styles, settings, Start::Content).unwrap();
    while !s.done() {
        s.step().unwrap();
    }
    (s.image(), s.memory_plan()[0].layout.grid)
}

/// A few Adam steps at [`SIZE`], with no style target.
fn settings() -> Settings {
    Settings {
        size: SIZE,
        scales: Some(vec![SIZE]),
        iters: 4,
        optimizer: Optimizer::Adam { lr: 4.0 },
        style_target: None,
        ..Settings::default()
    }
}

/// Mean absolute difference between horizontal neighbours, over the columns where `at`
/// says, over all rows and channels.
fn step_across(img: &Rgb, at: impl Fn(usize) -> bool) -> f64 {
    let (w, h) = (img.width, img.height);
    let (mut sum, mut n) = (0.0, 0usize);
    for c in 0..3 {
        let p = img.plane(c);
        for y in 0..h {
            for x in (0..w - 1).filter(|&x| at(x + 1)) {
                sum += (p[y * w + x + 1] - p[y * w + x]).abs() as f64;
                n += 1;
            }
        }
    }
    sum / n as f64
}

#[test]
fn tiles_give_the_whole_image_result_without_seams() {
    let s = settings();
    let (content, _) = common::images();
    let fixed = plan::fixed_bytes(impasto::Precision::F32, content.width * content.height);
    let tiled_layout = Layout {
        grid: Some(Grid {
            core: 256,
            halo: 96,
        }),
        history: 5,
        storage: History::Bf16,
    };
    let tiled_bytes = plan::scale_bytes(SIZE, SIZE, &s, impasto::Store::F32, tiled_layout);
    let (whole, grid) = run(8 << 30);
    assert_eq!(grid, None);
    let (tiled, grid) = run(fixed + tiled_bytes);
    assert_eq!(
        grid,
        Some(Grid {
            core: 256,
            halo: 96
        })
    );

    // Adam's first steps move each pixel by about ±lr whatever its gradient's size, so a
    // gradient that is 0 up to rounding may go either way: compare the mean, and how many
    // pixels differ visibly.
    let n = whole.data.len() as f64;
    let diffs: Vec<f32> = whole
        .data
        .iter()
        .zip(&tiled.data)
        .map(|(a, b)| (a - b).abs())
        .collect();
    let mean = diffs.iter().map(|&d| d as f64).sum::<f64>() / n;
    let visible = diffs.iter().filter(|&&d| d > 1.0).count() as f64 / n;
    eprintln!(
        "mean difference {mean:.5}, {:.4}% over 1 of 255",
        100.0 * visible
    );
    assert!(
        mean < 0.01,
        "tiled and whole results differ by {mean} (of 255) on average"
    );
    assert!(
        visible < 1e-3,
        "{:.3}% of values differ by more than 1 of 255",
        100.0 * visible
    );

    // The seam statistic: steps between neighbours across the tiles' border (column 256)
    // against steps elsewhere, in the tiled result and in the whole-image one (which has no
    // border there: the photo alone decides its ratio).
    let ratio = |img: &Rgb| step_across(img, |x| x == 256) / step_across(img, |x| x != 256);
    let (tiled_ratio, whole_ratio) = (ratio(&tiled), ratio(&whole));
    assert!(
        (tiled_ratio - whole_ratio).abs() < 0.01 * whole_ratio,
        "steps across the border are {tiled_ratio:.4}× those elsewhere in tiles, \
         {whole_ratio:.4}× in the whole image"
    );
}
