//! `impasto stylize --model`: one pass of a trained network instead of an optimisation.

use std::path::Path;
use std::time::Instant;

use impasto::image::resize;
use impasto::metrics::{gram::gram_cosine_similarity, ssim::ssim_rgb_luma};
use impasto::sysmem;
use impasto_io::codec::{self as io, Limits};
use impasto_io::model;
use impasto_io::{Error, Result};

use crate::args::StylizeArgs;

/// Parses `name:w,name2:w2` (a bare name weighs 1).
pub fn parse_mix(spec: &str) -> Result<Vec<(String, f32)>> {
    spec.split(',')
        .filter(|p| !p.trim().is_empty())
        .map(|part| match part.rsplit_once(':') {
            Some((name, w)) => w
                .trim()
                .parse::<f32>()
                .map(|w| (name.trim().to_string(), w))
                .map_err(|_| {
                    Error::Usage(format!(
                        "--style-mix {spec} is invalid: '{w}' in '{part}' is not a number; give e.g. starry_night:0.7,scream:0.3"
                    ))
                }),
            None => Ok((part.trim().to_string(), 1.0)),
        })
        .collect()
}

/// The precision of a one-pass network: `auto` is f32, which runs these narrow layers as
/// fast as bf16 products do (measured in BENCHMARKS.md) and the same on every CPU.
pub fn precision(name: &str) -> Result<impasto::Precision> {
    match name {
        "auto" => Ok(impasto::Precision::F32),
        other => Ok(impasto::choose_precision(other)?),
    }
}

/// A model's blend by name, as `--json` reports it.
pub fn blend_json(
    net: &impasto::FastNet,
    mix: &[f32],
) -> serde_json::Map<String, serde_json::Value> {
    net.styles()
        .iter()
        .zip(mix)
        .map(|(n, w)| (n.clone(), (*w).into()))
        .collect()
}

/// Runs `impasto stylize --model MODEL`.
pub fn run(a: StylizeArgs, model_path: &Path) -> Result<()> {
    let start = Instant::now();
    crate::stylize::check_output(&a.output)?;
    let m = model::load_model(model_path)?;
    let mix = match &a.style_mix {
        Some(spec) => Some(parse_mix(spec)?),
        None => None,
    };
    let mix = m.net.mix(mix.as_deref())?;
    let photo = crate::medical::load_photo(&a.content, &a.medical.read)?;
    let filing = crate::medical::filing(&a.output, &a.content, &photo, &a.medical)?;
    let anatomy = crate::medical::anatomy(&a.content, photo.grey, a.medical.anatomy)?;
    let content = photo.decoded;
    let size = (content.image.width, content.image.height);
    let placement = crate::guides::Placement::for_network(&a.look, size, false)?;
    let (w, h) = resize::fit_longer_side(size.0, size.1, a.size);
    let photo = resize::resize(&content.image, w, h);
    let precision = precision(&a.look.precision)?;
    let runner = m.net.runner(precision);
    let pass = Instant::now();
    let result = runner.stylize(&photo, &mix)?;
    let pass_ms = pass.elapsed().as_secs_f64() * 1e3;
    let result = match placement.guides(0, (w, h))? {
        Some(g) => g.show_photo(result, &photo),
        None => result,
    };
    let (result, anatomy_share) = match anatomy {
        Some(k) => {
            let (img, share) = crate::medical::keep_anatomy(&result, &photo, k)?;
            (img, Some(share))
        }
        None => (result, None),
    };
    let alpha = content
        .alpha
        .map(|p| resize::resize_plane(&p, content.image.width, content.image.height, w, h));
    let depth = match content.sixteen_bit {
        true => io::BitDepth::Sixteen,
        false => io::BitDepth::Eight,
    };
    match &filing {
        Some(f) => impasto_io::medical::write_secondary_capture(&a.output, &result, f)?,
        None => io::save(&a.output, &result, alpha.as_deref(), depth)?,
    }
    let seconds = start.elapsed().as_secs_f64();
    let ssim = ssim_rgb_luma(&photo, &result)?;
    // The Gram cosine needs the painting and the loss network: only with --style.
    let gram = match a.look.styles.first() {
        Some(spec) => {
            let (path, _) = crate::look::parse_style(spec);
            let painting = io::load(&path, &Limits::default())?.image;
            let vgg =
                crate::weights::load_model(a.look.weights.weights.as_deref(), a.json, precision)?;
            Some(gram_cosine_similarity(
                &vgg,
                &painting,
                &result,
                impasto::plan::default_budget() / 2,
            )?)
        }
        None => None,
    };
    let peak_mb = sysmem::peak_rss_bytes().unwrap_or(0) / (1 << 20);
    let blend = blend_json(&m.net, &mix);
    if a.json {
        let v = serde_json::json!({
            "output": a.output, "width": w, "height": h, "model": model_path, "style_mix": blend,
            "pass_ms": pass_ms, "seconds": seconds, "peak_rss_mb": peak_mb,
            "precision": precision, "ssim": ssim, "gram_cosine": gram,
            "anatomy_share": anatomy_share,
        });
        println!("{v}");
    } else {
        println!(
            "wrote {} ({w}×{h}) in one pass of {pass_ms:.0} ms ({:.1} s in all, {}), peak memory {peak_mb} MB",
            a.output.display(),
            seconds,
            precision.name()
        );
        match gram {
            Some(g) => {
                println!("SSIM {ssim:.3} (content kept)  Gram cosine {g:.3} (style matched)")
            }
            None => println!(
                "SSIM {ssim:.3} (content kept)  (give --style PAINTING for the Gram cosine)"
            ),
        }
    }
    Ok(())
}
