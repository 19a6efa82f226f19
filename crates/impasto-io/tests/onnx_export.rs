//! The exported ONNX model, run by an independent runtime (tract), gives what Impasto's own
//! one-pass stylisation gives, and carries its metadata.

use impasto::fast::{Arch, Params, DEFAULT_ARCH};
use impasto::{FastNet, Precision, Rgb};
use impasto_io::onnx;
use tract_onnx::prelude::*;

/// A deterministic stream of numbers in [0, 1).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 40) as f32 / (1u64 << 24) as f32
    }
}

/// A network with random weights whose styles differ: every norm scale and shift is moved.
fn network(arch: Arch, styles: &[&str], seed: u64) -> FastNet {
    let styles: Vec<String> = styles.iter().map(|s| s.to_string()).collect();
    let net = FastNet::new(arch.clone(), styles.clone(), seed).unwrap();
    let mut rng = Lcg(seed ^ 0x9e37_79b9);
    let mut params: Params = net.params().clone();
    for (name, p) in params.iter_mut() {
        if name.ends_with(".scale") || name.ends_with(".shift") {
            p.data.iter_mut().for_each(|v| *v += rng.next() - 0.5);
        }
    }
    FastNet::from_params(arch, styles, params).unwrap()
}

/// A `w × h` image of smooth gradients and noise, RGB 0..255.
fn image(w: usize, h: usize, seed: u64) -> Rgb {
    let mut rng = Lcg(seed);
    let mut data = Vec::with_capacity(3 * w * h);
    for c in 0..3 {
        for y in 0..h {
            for x in 0..w {
                let smooth = ((x * (c + 1) + 2 * y) % 64) as f32 / 64.0;
                data.push(255.0 * (0.7 * smooth + 0.3 * rng.next()));
            }
        }
    }
    Rgb::new(w, h, data)
}

/// Runs the ONNX model `bytes` with tract on `image` (0..255); returns RGB in 0..1.
fn run_tract(bytes: &[u8], image: &Rgb) -> Vec<f32> {
    let (w, h) = (image.width, image.height);
    let model = tract_onnx::onnx()
        .model_for_read(&mut &bytes[..])
        .unwrap()
        .with_input_fact(0, f32::fact([1, 3, h, w]).into())
        .unwrap()
        .into_optimized()
        .unwrap()
        .into_runnable()
        .unwrap();
    let x: Vec<f32> = image.data.iter().map(|v| v / 255.0).collect();
    let x: Tensor = tract_ndarray::Array4::from_shape_vec((1, 3, h, w), x)
        .unwrap()
        .into();
    let out = model.run(tvec!(x.into())).unwrap();
    let out = out[0].to_plain_array_view::<f32>().unwrap();
    assert_eq!(out.shape(), [1, 3, h, w]);
    out.iter().copied().collect()
}

/// The largest difference between tract's run of the export and Impasto's, in 0..1 units.
fn max_difference(net: &FastNet, blend: &[(&str, f32)], image: &Rgb) -> f32 {
    let blend: Vec<(String, f32)> = blend.iter().map(|(s, w)| (s.to_string(), *w)).collect();
    let mix = net.mix(Some(&blend)).unwrap();
    let bytes = onnx::encode(net, &mix).unwrap();
    let ours = net.runner(Precision::F32).stylize(image, &mix).unwrap();
    let theirs = run_tract(&bytes, image);
    assert!(theirs.iter().all(|v| (0.0..=1.0).contains(v)), "clipped");
    // Many values inside, not at the clip limits: the comparison says something.
    let inside = theirs.iter().filter(|v| (0.01..0.99).contains(*v)).count();
    assert!(inside * 4 > theirs.len(), "{inside} of {}", theirs.len());
    ours.data
        .iter()
        .zip(&theirs)
        .map(|(a, b)| (a / 255.0 - b).abs())
        .fold(0.0, f32::max)
}

#[test]
fn a_small_network_in_a_blend_runs_the_same_in_tract() {
    let arch = Arch {
        channels: [6, 8],
        blocks: 1,
        outer_kernel: 3,
    };
    let net = network(arch, &["a", "b"], 7);
    let img = image(36, 28, 1);
    let diff = max_difference(&net, &[("a", 0.3), ("b", 0.7)], &img);
    eprintln!("small network, blend 0.3/0.7: max difference {diff:e}");
    assert!(diff < 1e-3, "{diff}");
}

#[test]
fn the_default_network_runs_the_same_in_tract() {
    let net = network(DEFAULT_ARCH, &["a", "b", "c"], 11);
    let img = image(44, 32, 2);
    let diff = max_difference(&net, &[("a", 1.0), ("c", 3.0)], &img);
    eprintln!("default network, blend 0.25/0/0.75: max difference {diff:e}");
    assert!(diff < 1e-3, "{diff}");
}

#[test]
fn other_kernels_and_no_blocks_run_the_same_in_tract() {
    for outer_kernel in [1, 5] {
        let arch = Arch {
            channels: [4, 5],
            blocks: 0,
            outer_kernel,
        };
        let net = network(arch, &["only"], 3);
        let diff = max_difference(&net, &[("only", 1.0)], &image(20, 24, 3));
        eprintln!("outer kernel {outer_kernel}: max difference {diff:e}");
        assert!(diff < 1e-3, "{diff}");
    }
}

#[test]
fn the_blend_changes_the_export() {
    let arch = Arch {
        channels: [6, 8],
        blocks: 1,
        outer_kernel: 3,
    };
    let net = network(arch, &["a", "b"], 5);
    let img = image(16, 16, 4);
    let a = run_tract(&onnx::encode(&net, &[1.0, 0.0]).unwrap(), &img);
    let b = run_tract(&onnx::encode(&net, &[0.0, 1.0]).unwrap(), &img);
    let moved = a
        .iter()
        .zip(&b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max);
    assert!(moved > 1e-2, "{moved}");
}

#[test]
fn the_metadata_names_the_styles_blend_and_version() {
    let net = network(DEFAULT_ARCH, &["ink", "oil"], 9);
    let bytes = onnx::encode(&net, &[0.25, 0.75]).unwrap();
    let model = tract_onnx::onnx().model_for_read(&mut &bytes[..]).unwrap();
    let prop = |key: &str| -> String {
        let t = &model.properties[&format!("onnx.metadata_props.{key}")];
        let t = t.try_as_plain_ram().unwrap();
        t.to_scalar::<String>().unwrap().clone()
    };
    assert_eq!(prop(onnx::META_STYLES), r#"["ink","oil"]"#);
    assert_eq!(prop(onnx::META_BLEND), r#"{"ink":0.25,"oil":0.75}"#);
    assert_eq!(prop(onnx::META_VERSION), env!("CARGO_PKG_VERSION"));
    assert!(prop(onnx::META_ARCH).contains("\"blocks\":3"));
    let producer = model.properties["onnx.producer_name"]
        .try_as_plain_ram()
        .unwrap();
    assert_eq!(producer.to_scalar::<String>().unwrap(), "impasto");
}

#[test]
fn a_blend_of_the_wrong_length_is_refused_and_write_is_atomic() {
    let net = network(DEFAULT_ARCH, &["a", "b"], 1);
    let err = onnx::encode(&net, &[1.0]).unwrap_err();
    assert!(
        err.is_user_error() && err.to_string().contains("a, b"),
        "{err}"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("net.onnx");
    onnx::write(&path, &net, &[0.5, 0.5]).unwrap();
    assert_eq!(
        std::fs::read(&path).unwrap(),
        onnx::encode(&net, &[0.5, 0.5]).unwrap()
    );
    assert!(onnx::write(&path, &net, &[f32::NAN, 1.0]).is_err());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}
