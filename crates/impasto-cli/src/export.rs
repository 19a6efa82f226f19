//! `impasto export MODEL -o MODEL.onnx`: a trained network as ONNX (opset 17), for
//! onnxruntime, browsers and phones, in one style or a fixed blend of its styles.

use impasto_io::{model, onnx, Error, Result};

use crate::args::ExportArgs;

/// Runs `impasto export`.
pub fn run(a: ExportArgs) -> Result<()> {
    if a.output.extension().and_then(|e| e.to_str()) != Some("onnx") {
        return Err(Error::Usage(format!(
            "{}: the export is an ONNX model; name the output e.g. starry_night.onnx",
            a.output.display()
        )));
    }
    impasto_io::atomic::output_dir(&a.output).map_err(|e| Error::Usage(e.to_string()))?;
    let m = model::load_model(&a.model)?;
    let mix = match &a.style_mix {
        Some(spec) => Some(crate::stylize_model::parse_mix(spec)?),
        None => None,
    };
    let mix = m.net.mix(mix.as_deref())?;
    onnx::write(&a.output, &m.net, &mix)?;
    let blend = crate::stylize_model::blend_json(&m.net, &mix);
    if a.json {
        let v = serde_json::json!({
            "output": a.output, "opset": onnx::OPSET, "input": onnx::INPUT, "output_name": onnx::OUTPUT,
            "style_mix": blend,
        });
        println!("{v}");
    } else {
        println!(
            "wrote {} (ONNX opset {}): input '{}' float32 [1, 3, H, W] RGB 0..1 with H and W multiples of 4, output '{}' the same",
            a.output.display(),
            onnx::OPSET,
            onnx::INPUT,
            onnx::OUTPUT
        );
    }
    Ok(())
}
