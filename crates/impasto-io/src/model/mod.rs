//! Feed-forward model files: safetensors with Impasto's metadata ([`ModelMeta`]) beside the
//! parameters; a training checkpoint is the same with Adam's moments and the run's state.
//! Every read is checked: a file that is not an Impasto model, is damaged or does not fit its
//! own architecture is an [`Error::Input`] naming the file.

mod meta;

use std::collections::HashMap;
use std::path::Path;

use impasto::fast::{Checkpoint, FastNet, Param, Params};
use safetensors::{tensor::TensorView, Dtype, SafeTensors};

pub use meta::{ModelMeta, StyleMeta};

use crate::{atomic, Error, Result};

/// Value of the `format` metadata entry of a model file.
pub const MODEL_FORMAT: &str = "impasto-fast-model/1";
/// Value of the `format` metadata entry of a training checkpoint.
pub const CHECKPOINT_FORMAT: &str = "impasto-fast-checkpoint/1";

/// A model read from a file.
pub struct Model {
    /// The network.
    pub net: FastNet,
    /// What the file says about it.
    pub meta: ModelMeta,
}

/// What a checkpoint adds to the model: the run's position and state.
#[derive(serde::Serialize, serde::Deserialize)]
struct RunState {
    step: usize,
    rng: u64,
    adam_steps: u64,
}

/// Writes `net` with `meta` to `path` (atomically).
pub fn save_model(path: &Path, net: &FastNet, meta: &ModelMeta) -> Result<()> {
    let bytes = serialize(&[("", net.params())], MODEL_FORMAT, meta, None)?;
    atomic::write(path, &bytes)
}

/// Reads a model file.
pub fn load_model(path: &Path) -> Result<Model> {
    let bytes =
        std::fs::read(path).map_err(|e| input(path, format!("cannot read the model: {e}")))?;
    load_model_bytes(&bytes).map_err(|e| e.named(path))
}

/// Reads a model from the bytes of a model file (errors carry no path: name them with
/// [`Error::named`]).
pub fn load_model_bytes(bytes: &[u8]) -> Result<Model> {
    let (meta, mut tensors, _) = deserialize(bytes, MODEL_FORMAT)?;
    let params = take_prefixed(&mut tensors, "");
    let net = FastNet::from_params(meta.arch.clone(), meta.style_names(), params)
        .map_err(|e| input(Path::new(""), e.to_string()))?;
    Ok(Model { net, meta })
}

/// Writes a training checkpoint (atomically): the parameters, Adam's moments and the run's
/// position, with `meta`.
pub fn save_checkpoint(path: &Path, meta: &ModelMeta, cp: &Checkpoint) -> Result<()> {
    let state = RunState {
        step: cp.step,
        rng: cp.rng,
        adam_steps: cp.adam.t,
    };
    let groups = [
        ("", &cp.params),
        ("adam.m.", &cp.adam.m),
        ("adam.v.", &cp.adam.v),
    ];
    let bytes = serialize(&groups, CHECKPOINT_FORMAT, meta, Some(&state))?;
    atomic::write(path, &bytes)
}

/// Reads a training checkpoint.
pub fn load_checkpoint(path: &Path) -> Result<(ModelMeta, Checkpoint)> {
    let bytes =
        std::fs::read(path).map_err(|e| input(path, format!("cannot read the checkpoint: {e}")))?;
    let (meta, mut tensors, state) =
        deserialize(&bytes, CHECKPOINT_FORMAT).map_err(|e| e.named(path))?;
    let state: RunState = state.ok_or_else(|| input(path, "the run's state is missing"))?;
    let m = take_prefixed(&mut tensors, "adam.m.");
    let v = take_prefixed(&mut tensors, "adam.v.");
    let params = take_prefixed(&mut tensors, "");
    // Checks the parameters against the architecture (the moments have the same names).
    FastNet::from_params(meta.arch.clone(), meta.style_names(), params.clone())
        .map_err(|e| input(path, e.to_string()))?;
    if m.keys().ne(params.keys()) || v.keys().ne(params.keys()) {
        return Err(input(path, "Adam's moments do not match the parameters"));
    }
    let adam = impasto::fast::Adam {
        m,
        v,
        t: state.adam_steps,
    };
    let cp = Checkpoint {
        step: state.step,
        rng: state.rng,
        params,
        adam,
    };
    Ok((meta, cp))
}

/// The safetensors bytes of the parameter groups (each name prefixed), with the metadata.
fn serialize(
    groups: &[(&str, &Params)],
    format: &str,
    meta: &ModelMeta,
    state: Option<&RunState>,
) -> Result<Vec<u8>> {
    let mut views = Vec::new();
    let bytes: Vec<(String, Vec<usize>, Vec<u8>)> = groups
        .iter()
        .flat_map(|(prefix, params)| {
            params.iter().map(move |(name, p)| {
                let raw = p.data.iter().flat_map(|v| v.to_le_bytes()).collect();
                (format!("{prefix}{name}"), p.shape.clone(), raw)
            })
        })
        .collect();
    for (name, shape, raw) in &bytes {
        let view = TensorView::new(Dtype::F32, shape.clone(), raw)
            .map_err(|e| Error::Usage(format!("cannot encode the tensor {name}: {e}")))?;
        views.push((name.clone(), view));
    }
    let mut info = HashMap::new();
    info.insert("format".to_string(), format.to_string());
    info.insert("impasto".to_string(), json(meta)?);
    if let Some(state) = state {
        info.insert("run".to_string(), json(state)?);
    }
    safetensors::serialize(views, Some(info))
        .map_err(|e| Error::Usage(format!("cannot encode the model: {e}")))
}

/// Parses the bytes of a file of `format`: its metadata, its tensors, and the run's state.
fn deserialize(bytes: &[u8], format: &str) -> Result<(ModelMeta, Params, Option<RunState>)> {
    let here = Path::new("");
    let bad = |e: safetensors::SafeTensorError| {
        input(
            here,
            format!("not an Impasto model (not a valid safetensors file: {e})"),
        )
    };
    let (_, header) = SafeTensors::read_metadata(bytes).map_err(bad)?;
    let info = header.metadata().clone().unwrap_or_default();
    match info.get("format").map(String::as_str) {
        Some(f) if f == format => {}
        Some(f) if f == MODEL_FORMAT || f == CHECKPOINT_FORMAT => {
            let (what, other) = match format {
                MODEL_FORMAT => ("a model", "a training checkpoint"),
                _ => ("a training checkpoint", "a model"),
            };
            return Err(input(here, format!("this is {other}, not {what}")));
        }
        Some(f) => {
            return Err(input(
                here,
                format!("not an Impasto model (format '{f}', expected '{format}')"),
            ))
        }
        None => {
            return Err(input(
                here,
                "not an Impasto model (a safetensors file without Impasto's metadata)",
            ))
        }
    }
    let meta: ModelMeta = parse(info.get("impasto"), "metadata")?;
    let state = match info.get("run") {
        Some(_) => Some(parse(info.get("run"), "run state")?),
        None => None,
    };
    let st = SafeTensors::deserialize(bytes).map_err(bad)?;
    let mut tensors = Params::new();
    for (name, view) in st.tensors() {
        if view.dtype() != Dtype::F32 {
            return Err(input(
                here,
                format!("the tensor '{name}' is {:?}, not f32", view.dtype()),
            ));
        }
        let data = view
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        tensors.insert(
            name,
            Param {
                shape: view.shape().to_vec(),
                data,
            },
        );
    }
    Ok((meta, tensors, state))
}

/// Removes and returns the tensors whose names start with `prefix` (all that are left for an
/// empty prefix), with the prefix taken off.
fn take_prefixed(tensors: &mut Params, prefix: &str) -> Params {
    let names: Vec<String> = tensors
        .keys()
        .filter(|k| k.starts_with(prefix))
        .cloned()
        .collect();
    names
        .into_iter()
        .filter_map(|k| {
            tensors
                .remove(&k)
                .map(|p| (k[prefix.len()..].to_string(), p))
        })
        .collect()
}

fn json<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value)
        .map_err(|e| Error::Usage(format!("cannot encode the metadata: {e}")))
}

fn parse<T: serde::de::DeserializeOwned>(text: Option<&String>, what: &str) -> Result<T> {
    let text =
        text.ok_or_else(|| input(Path::new(""), format!("the model's {what} is missing")))?;
    serde_json::from_str(text).map_err(|e| {
        input(
            Path::new(""),
            format!("the model's {what} is damaged or from an incompatible version: {e}"),
        )
    })
}

fn input(path: &Path, msg: impl Into<String>) -> Error {
    Error::Input {
        path: path.to_path_buf(),
        msg: msg.into(),
    }
}
