//! `impasto metrics`: SSIM and Gram cosine of a result.

use impasto::image::resize;
use impasto::metrics::{gram::gram_cosine_by_layer, ssim::ssim_rgb_luma};
use impasto_io::codec::{self as io, Limits};
use impasto_io::Result;

use crate::args::{MedicalArgs, MetricsArgs};
use crate::medical::load_photo;

/// Runs `impasto metrics`.
pub fn run(a: MetricsArgs) -> Result<()> {
    // A DICOM result reads back as its colour; the content as stylize read it.
    let output = load_photo(&a.output, &MedicalArgs::default())?
        .decoded
        .image;
    let content = load_photo(&a.content, &a.medical)?.decoded.image;
    let style = io::load(&a.style, &Limits::default())?.image;
    let reference = resize::resize(&content, output.width, output.height);
    let ssim = ssim_rgb_luma(&reference, &output)?;
    // Metrics always run in f32, so results of either precision are measured alike.
    let model = crate::weights::load_model(
        a.weights.weights.as_deref(),
        a.json,
        impasto::Precision::F32,
    )?;
    let layers =
        gram_cosine_by_layer(&model, &style, &output, impasto::plan::default_budget() / 2)?;
    let gram = layers.iter().map(|(_, c)| c).sum::<f32>() / layers.len() as f32;
    if a.json {
        let by_layer: serde_json::Map<_, _> = layers
            .iter()
            .map(|(name, c)| (name.clone(), serde_json::json!(c)))
            .collect();
        println!(
            "{}",
            serde_json::json!({ "ssim": ssim, "gram_cosine": gram, "gram_cosine_layers": by_layer })
        );
    } else {
        println!("SSIM {ssim:.4} (content kept)\nGram cosine {gram:.4} (style matched)");
        let by_layer: Vec<String> = layers.iter().map(|(n, c)| format!("{n} {c:.3}")).collect();
        println!("  by layer: {}", by_layer.join(", "));
    }
    Ok(())
}
