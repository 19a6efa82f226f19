//! Whole-network checks: the backward pass against finite differences, and the prepared
//! one-pass kernels against the training path.

use super::arch::{Arch, DEFAULT_ARCH};
use super::net::{to_input, FastNet};
use super::params::Params;
use super::run::{self, Tape};
use super::tiles::Tiling;
use crate::image::Rgb;
use crate::testutil::Lcg;
use impasto_kernels::{Isa, Precision};

/// A small network with two styles.
fn small() -> FastNet {
    with_arch(Arch {
        channels: [6, 8],
        blocks: 1,
        outer_kernel: 5,
    })
}

/// A network of `arch` with two styles.
fn with_arch(arch: Arch) -> FastNet {
    let mut net = FastNet::new(arch, vec!["a".into(), "b".into()], 3).unwrap();
    // Non-trivial scales and shifts, so both styles' rows matter.
    let mut rng = Lcg(5);
    for (name, p) in net.params_mut().iter_mut() {
        if name.contains("norm") {
            p.data.iter_mut().for_each(|v| *v += 0.3 * rng.next());
        }
    }
    net
}

fn photo(w: usize, h: usize) -> Rgb {
    let mut rng = Lcg(9);
    Rgb::new(
        w,
        h,
        rng.vec(3 * w * h, 1.0)
            .iter()
            .map(|v| 127.5 + 120.0 * v)
            .collect(),
    )
}

/// `Σ out · r`: its gradient with respect to the output is `r`.
fn loss(net: &FastNet, params: &Params, image: &Rgb, mix: &[f32], r: &[f32]) -> f64 {
    let out = run::forward(&net.layers(), params, mix, to_input(image), None);
    out.data
        .iter()
        .zip(r)
        .map(|(a, b)| (*a as f64) * (*b as f64))
        .sum()
}

#[test]
fn parameter_gradients_match_finite_differences() {
    let net = small();
    let image = photo(20, 16);
    let mix = [0.7, 0.3];
    let mut rng = Lcg(2);
    let r = rng.vec(3 * 20 * 16, 1.0);
    let mut tape = Tape::new();
    let layers = net.layers();
    run::forward(
        &layers,
        net.params(),
        &mix,
        to_input(&image),
        Some(&mut tape),
    );
    let mut grads = super::adam::zeros_like(net.params());
    run::backward(&layers, net.params(), &mix, tape, r.clone(), &mut grads);
    let h = 1e-3f32;
    // ReLU kinks and f32 rounding blur single differences a little: every parameter must
    // agree roughly and the typical one closely (a wrong formula is off by order 1).
    let mut errors = Vec::new();
    for (name, p) in net.params() {
        for i in [0, p.data.len() / 2, p.data.len() - 1] {
            let at = |d: f32| {
                let mut q = net.params().clone();
                q.get_mut(name).unwrap().data[i] += d;
                loss(&net, &q, &image, &mix, &r)
            };
            let fd = (at(h) - at(-h)) / (2.0 * h as f64);
            let got = grads[name].data[i] as f64;
            let err = (fd - got).abs() / fd.abs().max(1.0);
            assert!(
                err < 0.1,
                "{name}[{i}]: finite differences {fd}, backward {got}"
            );
            errors.push(err);
        }
    }
    errors.sort_by(f64::total_cmp);
    assert!(errors.len() >= 45, "{} parameters checked", errors.len());
    let median = errors[errors.len() / 2];
    assert!(median < 0.01, "median relative error {median}");
}

#[test]
fn one_pass_kernels_match_the_training_path_on_every_instruction_set() {
    // The small network's 3×3 convolutions run im2col and narrow kernels, the default
    // one's Winograd and narrow ones.
    for net in [small(), with_arch(DEFAULT_ARCH)] {
        let image = photo(37, 22);
        let mix = net
            .mix(Some(&[("b".into(), 1.0), ("a".into(), 3.0)]))
            .unwrap();
        assert_eq!(mix, vec![0.75, 0.25]);
        let plain = run::forward(&net.layers(), net.params(), &mix, to_input(&image), None);
        let plain = super::net::from_output(&plain, 37, 22);
        for isa in Isa::supported() {
            let runner = Isa::with(isa, || net.runner(Precision::F32));
            // Twice: the second pass reuses the first one's buffers.
            for _ in 0..2 {
                let got = Isa::with(isa, || runner.stylize(&image, &mix)).unwrap();
                assert_eq!((got.width, got.height), (37, 22));
                let worst = got
                    .data
                    .iter()
                    .zip(&plain.data)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0, f32::max);
                assert!(worst < 0.05, "{:?} {isa:?}: {worst}", net.arch());
            }
        }
    }
}

#[test]
fn bad_blends_and_tiny_images_are_refused() {
    let net = small();
    assert!(net.mix(Some(&[("c".into(), 1.0)])).is_err());
    assert!(net.mix(Some(&[("a".into(), 0.0)])).is_err());
    assert!(net.mix(Some(&[("a".into(), -1.0)])).is_err());
    let err = net
        .runner(Precision::F32)
        .stylize(&photo(8, 40), &[1.0, 0.0])
        .unwrap_err();
    assert!(err.is_user_error(), "{err}");
}

#[test]
fn tiles_reproduce_the_whole_image_pass() {
    // With statistics taken at full size, a tiled pass must give the whole-image pass back
    // to rounding: the halo covers what each core sees, so no seam can appear.
    let net = FastNet::new(DEFAULT_ARCH, vec!["s".into()], 4).unwrap();
    let image = photo(150, 118);
    let whole = net.runner(Precision::F32).stylize(&image, &[1.0]).unwrap();
    let tiling = Tiling {
        max_pixels: 1000,
        tile: 48,
        stats_side: 150,
    };
    let tiled = net
        .runner(Precision::F32)
        .with_tiling(tiling)
        .stylize(&image, &[1.0])
        .unwrap();
    let worst = tiled
        .data
        .iter()
        .zip(&whole.data)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max);
    assert!(worst < 0.05, "tiled differs from whole by {worst} (0..255)");
    // Statistics from a copy at half size, on a smooth picture (as photos are; noise is not,
    // and its statistics change with scale): close to the whole pass.
    let (w, h) = (150, 118);
    let smooth: Vec<f32> = (0..3 * w * h)
        .map(|i| {
            let (c, p) = (i / (w * h), i % (w * h));
            let (x, y) = ((p % w) as f32, (p / w) as f32);
            127.5 + 100.0 * ((x * 0.07 + c as f32).sin() * (y * 0.05).cos())
        })
        .collect();
    let smooth = Rgb::new(w, h, smooth);
    let whole = net.runner(Precision::F32).stylize(&smooth, &[1.0]).unwrap();
    let tiling = Tiling {
        stats_side: 76,
        ..tiling
    };
    let approx = net
        .runner(Precision::F32)
        .with_tiling(tiling)
        .stylize(&smooth, &[1.0])
        .unwrap();
    let mean = approx
        .data
        .iter()
        .zip(&whole.data)
        .map(|(a, b)| (a - b).abs())
        .sum::<f32>()
        / whole.data.len() as f32;
    assert!(mean < 12.0, "mean difference {mean} (0..255)");
}
