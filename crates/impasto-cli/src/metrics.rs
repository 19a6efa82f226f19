//! `impasto metrics`: SSIM and Gram cosine of a result.

use impasto::image::resize;
use impasto::metrics::{gram::gram_cosine_similarity, ssim::ssim_rgb_luma};
use impasto_io::codec::{self as io, Limits};
use impasto_io::Result;

use crate::args::MetricsArgs;

/// Runs `impasto metrics`.
pub fn run(a: MetricsArgs) -> Result<()> {
    let output = io::load(&a.output, &Limits::default())?.image;
    let content = io::load(&a.content, &Limits::default())?.image;
    let style = io::load(&a.style, &Limits::default())?.image;
    let reference = resize::resize(&content, output.width, output.height);
    let ssim = ssim_rgb_luma(&reference, &output)?;
    // Metrics always run in f32, so results of either precision are measured alike.
    let model = crate::weights::load_model(
        a.weights.weights.as_deref(),
        a.json,
        impasto::Precision::F32,
    )?;
    let gram = gram_cosine_similarity(&model, &style, &output)?;
    if a.json {
        println!(
            "{}",
            serde_json::json!({ "ssim": ssim, "gram_cosine": gram })
        );
    } else {
        println!("SSIM {ssim:.4} (content kept)\nGram cosine {gram:.4} (style matched)");
    }
    Ok(())
}
