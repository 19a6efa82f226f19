//! Export of a feed-forward style network ([`FastNet`]) in one style blend as an ONNX model,
//! for other runtimes (onnxruntime, onnxruntime-web in browsers, tract).
//!
//! The model takes [`INPUT`], float32 `[1, 3, height, width]`: RGB in 0..1, planar, with
//! `height` and `width` multiples of [`MULTIPLE`](impasto::fast::MULTIPLE) (pad the image by
//! reflection first, and crop the result, as Impasto does). It returns [`OUTPUT`], RGB in 0..1
//! of the same size. Opset [`OPSET`]; the operators are Pad (reflect), Conv,
//! InstanceNormalization, Relu, Add, Resize (nearest) and Clip. The style names, the blend and
//! the architecture are in the model's metadata under the `META_*` keys.

mod graph;
mod proto;

use std::path::Path;

use impasto::FastNet;
use prost::Message;

use crate::error::{Error, Result};
use proto::{ModelProto, OperatorSetIdProto, StringStringEntryProto};

/// The version of the ONNX operator set the models use (onnxruntime 1.12+, tract, browsers).
pub const OPSET: i64 = 17;
/// The ONNX IR version that goes with [`OPSET`].
const IR_VERSION: i64 = 8;
/// The name of the model's input.
pub const INPUT: &str = "image";
/// The name of the model's output.
pub const OUTPUT: &str = "stylized";
/// Metadata key: the network's style names, a JSON array.
pub const META_STYLES: &str = "impasto.styles";
/// Metadata key: the blend exported, a JSON object of style name to weight (summing to 1).
pub const META_BLEND: &str = "impasto.blend";
/// Metadata key: the network's architecture, as JSON.
pub const META_ARCH: &str = "impasto.arch";
/// Metadata key: the version of Impasto that wrote the model.
pub const META_VERSION: &str = "impasto.version";

/// The ONNX model of `net` in the style blend `mix` (from [`FastNet::mix`]), as bytes.
pub fn encode(net: &FastNet, mix: &[f32]) -> Result<Vec<u8>> {
    let styles = net.styles();
    if mix.len() != styles.len() || mix.iter().any(|m| !m.is_finite() || *m < 0.0) {
        return Err(Error::Usage(format!(
            "a blend needs one weight of 0 or more per style ({}); got {mix:?}",
            styles.join(", ")
        )));
    }
    let blend: serde_json::Map<String, serde_json::Value> = styles
        .iter()
        .zip(mix)
        .map(|(s, &m)| (s.clone(), m.into()))
        .collect();
    let version = env!("CARGO_PKG_VERSION");
    let meta = [
        (META_STYLES, serde_json::to_string(styles)),
        (META_BLEND, serde_json::to_string(&blend)),
        (META_ARCH, serde_json::to_string(net.arch())),
        (META_VERSION, Ok(version.to_string())),
    ];
    let metadata_props = meta
        .into_iter()
        .map(|(key, value)| StringStringEntryProto {
            key: key.into(),
            value: value.expect("plain values serialise"),
        })
        .collect();
    let model = ModelProto {
        ir_version: IR_VERSION,
        producer_name: "impasto".into(),
        producer_version: version.into(),
        doc_string: format!(
            "Impasto feed-forward style network, styles {} in the blend {}",
            styles.join(", "),
            mix.iter()
                .map(|m| format!("{m:.3}"))
                .collect::<Vec<_>>()
                .join("/"),
        ),
        graph: Some(graph::build(net, mix)),
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: OPSET,
        }],
        metadata_props,
    };
    Ok(model.encode_to_vec())
}

/// Writes the ONNX model of `net` in the blend `mix` ([`encode`]) to `path`, atomically.
pub fn write(path: &Path, net: &FastNet, mix: &[f32]) -> Result<()> {
    crate::atomic::write(path, &encode(net, mix)?)
}
