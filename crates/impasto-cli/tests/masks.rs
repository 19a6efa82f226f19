//! Masks, label maps and kept regions from the command line: what they do to the result, and
//! one clear error (exit code 2) for each kind of bad mask.

use std::path::{Path, PathBuf};

mod common;

use common::*;

/// A grey PNG of `w × h` in `dir`, white where `white(x, y)`.
fn grey(dir: &Path, name: &str, (w, h): (u32, u32), white: impl Fn(u32, u32) -> bool) -> PathBuf {
    let path = dir.join(name);
    image::GrayImage::from_fn(w, h, |x, y| {
        image::Luma([if white(x, y) { 255 } else { 0 }])
    })
    .save(&path)
    .unwrap();
    path
}

/// A label map of `w × h`: red above `split` (a share of the height), blue below.
fn labels(dir: &Path, name: &str, (w, h): (u32, u32), split: f32) -> PathBuf {
    let path = dir.join(name);
    image::RgbImage::from_fn(w, h, |_, y| match (y as f32) < split * h as f32 {
        true => image::Rgb([255, 0, 0]),
        false => image::Rgb([0, 0, 255]),
    })
    .save(&path)
    .unwrap();
    path
}

fn size_of(path: &str) -> (u32, u32) {
    image::image_dimensions(path).unwrap()
}

fn stylize(dir: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "stylize".to_string(),
        content(),
        "--style".into(),
        style(),
        "-o".into(),
        out.display().to_string(),
        "--size".into(),
        "64".into(),
        "--iters".into(),
        "8".into(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    impasto(&args, dir)
}

#[test]
fn bad_masks_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let photo = size_of(&content());
    let painting = size_of(&style());
    let wide = grey(d, "wide.png", (photo.0 * 2, photo.1), |_, _| true);
    let black = grey(d, "black.png", photo, |_, _| false);
    let white = grey(d, "white.png", photo, |_, _| true);
    let half = grey(d, "half.png", photo, |x, _| x < photo.0 / 2);
    let photo_labels = labels(d, "photo_labels.png", photo, 0.5);
    let green = d.join("green.png");
    image::RgbImage::from_pixel(painting.0, painting.1, image::Rgb([0, 255, 0]))
        .save(&green)
        .unwrap();
    let out = d.join("o.png");
    let p = |p: &PathBuf| p.display().to_string();
    for (args, says) in [
        (
            vec!["--mask".into(), p(&wide)],
            format!("{}: the --mask image is", p(&wide)),
        ),
        (
            vec!["--mask".into(), p(&black)],
            format!("{}: the --mask image is all black", p(&black)),
        ),
        (
            vec!["--mask".into(), p(&half), "--mask".into(), p(&half)],
            "2 --mask given for 1 --style".into(),
        ),
        (
            vec!["--keep".into(), p(&white)],
            "--keep that is all white is invalid".into(),
        ),
        (
            vec!["--keep".into(), p(&d.join("none.png"))],
            "none.png: file not found".into(),
        ),
        (
            vec!["--mask".into(), p(&d.to_path_buf())],
            "a folder of masks is for a video".into(),
        ),
        (
            vec![
                "--regions".into(),
                p(&photo_labels),
                "--style-regions".into(),
                p(&green),
            ],
            "no colour of the --regions map is in any --style-regions map".into(),
        ),
    ] {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        assert_usage_error(&stylize(d, &out, &args), &[&says]);
    }
    assert!(!out.exists());
}

/// A kept square stays the photo; label maps map the painting's regions onto the photo's.
#[test]
fn kept_regions_stay_the_photo_and_label_maps_run() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let photo = size_of(&content());
    let (w, h) = photo;
    let keep = grey(d, "keep.png", photo, |x, y| {
        (w / 4..3 * w / 4).contains(&x) && (h / 4..3 * h / 4).contains(&y)
    });
    let out = d.join("kept.png");
    let o = stylize(d, &out, &["--keep", keep.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let result = image::open(&out).unwrap().to_rgb8();
    let (rw, rh) = result.dimensions();
    let original = image::open(content())
        .unwrap()
        .resize_exact(rw, rh, image::imageops::FilterType::Lanczos3)
        .to_rgb8();
    // Mean difference from the photo inside the square (3 px from its edge) and outside it.
    let (mut inside, mut outside, mut n_in, mut n_out) = (0.0, 0.0, 0, 0);
    for (x, y, px) in result.enumerate_pixels() {
        let diff: f64 =
            px.0.iter()
                .zip(original.get_pixel(x, y).0)
                .map(|(&a, b)| (a as f64 - b as f64).abs())
                .sum::<f64>()
                / 3.0;
        let (q0, q1) = (rw / 4, 3 * rw / 4);
        if (q0 + 3..q1 - 3).contains(&x) && (q0 + 3..q1 - 3).contains(&y) {
            inside += diff;
            n_in += 1;
        } else if !(q0 - 3..q1 + 3).contains(&x) || !(q0 - 3..q1 + 3).contains(&y) {
            outside += diff;
            n_out += 1;
        }
    }
    let (inside, outside) = (inside / n_in as f64, outside / n_out as f64);
    assert!(
        inside < 4.0 && outside > 12.0,
        "mean difference from the photo: {inside} in the kept square, {outside} outside"
    );

    let painting = size_of(&style());
    let photo_labels = labels(d, "photo_labels.png", photo, 0.5);
    let style_labels = labels(d, "style_labels.png", painting, 0.65);
    let out = d.join("regions.png");
    let o = stylize(
        d,
        &out,
        &[
            "--regions",
            photo_labels.to_str().unwrap(),
            "--style-regions",
            style_labels.to_str().unwrap(),
            "--json",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(image::image_dimensions(&out).unwrap(), (64, 64));
}

/// A trained network's one pass is placed by `--mask` too: the photo stays where the mask is
/// black. Label maps, which pair paintings, are refused with `--model`.
#[test]
fn a_network_output_follows_its_mask() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (w, h) = size_of(&content());
    let mask = grey(d, "left.png", (w, h), |x, _| x < w / 2);
    let out = d.join("one_pass.png");
    let model = repo("models/starry_night.safetensors");
    let (c, m, o) = (content(), model.to_str().unwrap(), out.to_str().unwrap());
    let args = ["stylize", &c, "--model", m, "-o", o, "--size", "128"];
    let run = |extra: &[&str]| impasto(&[&args[..], extra].concat(), d);
    let r = run(&["--mask", mask.to_str().unwrap()]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let result = image::open(&out).unwrap().to_rgb8();
    let photo = image::open(content())
        .unwrap()
        .resize_exact(128, 128, image::imageops::FilterType::Lanczos3)
        .to_rgb8();
    let diff = |xs: std::ops::Range<u32>| {
        let px = result.enumerate_pixels().filter(|(x, _, _)| xs.contains(x));
        let d: Vec<f64> = px
            .map(|(x, y, p)| {
                (0..3)
                    .map(|c| (p[c] as f64 - photo.get_pixel(x, y)[c] as f64).abs())
                    .sum::<f64>()
                    / 3.0
            })
            .collect();
        d.iter().sum::<f64>() / d.len() as f64
    };
    let (styled, kept) = (diff(0..60), diff(68..128));
    assert!(
        kept < 3.0 && styled > 15.0,
        "mean difference from the photo: {styled} under the mask, {kept} outside it"
    );

    let labels = labels(d, "labels.png", (w, h), 0.5);
    let r = run(&[
        "--regions",
        labels.to_str().unwrap(),
        "--style-regions",
        labels.to_str().unwrap(),
        "--style",
        &style(),
    ]);
    assert_usage_error(&r, &["--regions", "--model"]);
}

/// Masks hold with the photo's colours kept and activations in bf16: the unmasked half stays
/// the photo, and the masked half takes the texture in the photo's colours.
#[test]
fn masks_keep_with_colour_preservation_and_bf16() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let photo = size_of(&content());
    let half = grey(d, "half.png", photo, |x, _| x < photo.0 / 2);
    let out = d.join("lum.png");
    let o = stylize(
        d,
        &out,
        &[
            "--mask",
            half.to_str().unwrap(),
            "--preserve-color",
            "luminance",
            "--precision",
            "bf16",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let result = image::open(&out).unwrap().to_rgb8();
    let original = image::open(content())
        .unwrap()
        .resize_exact(64, 64, image::imageops::FilterType::Lanczos3)
        .to_rgb8();
    // Mean |difference| from the photo and mean chroma (R−B, G−B) over the columns `xs`.
    let stats = |img: &image::RgbImage, xs: std::ops::Range<u32>| {
        let (mut diff, mut rb, mut gb, mut n) = (0.0, 0.0, 0.0, 0.0);
        for (x, y, p) in img.enumerate_pixels().filter(|(x, _, _)| xs.contains(x)) {
            let q = original.get_pixel(x, y);
            diff += (0..3)
                .map(|c| (p[c] as f64 - q[c] as f64).abs())
                .sum::<f64>()
                / 3.0;
            rb += p[0] as f64 - p[2] as f64;
            gb += p[1] as f64 - p[2] as f64;
            n += 1.0;
        }
        (diff / n, rb / n, gb / n)
    };
    let (styled, rb, gb) = stats(&result, 0..29);
    let (kept, _, _) = stats(&result, 35..64);
    let (_, photo_rb, photo_gb) = stats(&original, 0..29);
    assert!(
        kept < 2.0 && styled > 4.0,
        "mean difference from the photo: {styled} under the mask, {kept} outside it"
    );
    assert!(
        (rb - photo_rb).abs() < 12.0 && (gb - photo_gb).abs() < 12.0,
        "the masked half's colours moved: R−B {rb} vs {photo_rb}, G−B {gb} vs {photo_gb}"
    );
}
