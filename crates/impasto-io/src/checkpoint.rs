//! Checkpoints of long stylisations: where the run stands and its arrays (the image, the
//! optimiser's vectors) in a safetensors file. The arrays are written straight from the run's
//! memory, without a copy (an 8K run's are gigabytes), atomically, and read back through a
//! memory map.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::Path;

use half::bf16;
use impasto::{Array, Arrays, OwnedArray, RunState};
use safetensors::{Dtype, SafeTensors, View};

use crate::{atomic, Error, Result};

/// The format tag of a stylisation checkpoint.
const FORMAT: &str = "impasto-stylize-checkpoint-1";

/// One borrowed array as safetensors sees it: one dimension, little-endian bytes.
struct ArrayView<'a> {
    array: &'a Array<'a>,
    shape: [usize; 1],
}

impl View for ArrayView<'_> {
    fn dtype(&self) -> Dtype {
        match self.array {
            Array::F32(_) => Dtype::F32,
            Array::Bf16(_) => Dtype::BF16,
        }
    }

    fn shape(&self) -> &[usize] {
        &self.shape
    }

    fn data(&self) -> Cow<'_, [u8]> {
        #[cfg(target_endian = "big")]
        compile_error!("checkpoints are written in the machine's byte order, little-endian");
        match self.array {
            Array::F32(v) => Cow::Borrowed(bytemuck::cast_slice(v)),
            Array::Bf16(v) => Cow::Borrowed(bytemuck::cast_slice(v)),
        }
    }

    fn data_len(&self) -> usize {
        match self.array {
            Array::F32(v) => 4 * v.len(),
            Array::Bf16(v) => 2 * v.len(),
        }
    }
}

/// What a checkpoint says about the run besides its state.
#[derive(Clone, Debug, PartialEq)]
pub struct Saved {
    /// Names the run's inputs and settings (any text that changes when they do).
    pub key: String,
    /// Seconds the run had taken when it was saved.
    pub seconds: f64,
}

/// Writes a checkpoint of the run `saved` names.
pub fn save(
    path: &Path,
    saved: &Saved,
    state: &RunState,
    arrays: &[(String, Array)],
) -> Result<()> {
    let views = arrays.iter().map(|(name, array)| {
        let len = match array {
            Array::F32(v) => v.len(),
            Array::Bf16(v) => v.len(),
        };
        (
            name.as_str(),
            ArrayView {
                array,
                shape: [len],
            },
        )
    });
    let state = serde_json::to_string(state)
        .map_err(|e| Error::Usage(format!("cannot encode the run's state: {e}")))?;
    let info = HashMap::from([
        ("format".to_string(), FORMAT.to_string()),
        ("key".to_string(), saved.key.clone()),
        ("seconds".to_string(), saved.seconds.to_string()),
        ("run".to_string(), state),
    ]);
    atomic::write_via(path, |tmp| {
        safetensors::serialize_to_file(views, Some(info), tmp)
            .map_err(|e| Error::input(path, format!("cannot write the checkpoint: {e}")))
    })
}

/// Reads a checkpoint: what it says about the run, where the run stood, and its arrays.
pub fn load(path: &Path) -> Result<(Saved, RunState, Arrays)> {
    let bad = |msg: String| Error::input(path, msg);
    let file =
        std::fs::File::open(path).map_err(|e| bad(format!("cannot read the checkpoint: {e}")))?;
    // SAFETY: the file is only read, and checkpoints are written by rename, never in place.
    let map = unsafe { memmap2::Mmap::map(&file) }
        .map_err(|e| bad(format!("cannot read the checkpoint: {e}")))?;
    let not_ours = |e: String| bad(format!("not an Impasto checkpoint ({e})"));
    let (_, header) =
        SafeTensors::read_metadata(&map).map_err(|e| not_ours(format!("not safetensors: {e}")))?;
    let info = header.metadata().clone().unwrap_or_default();
    if info.get("format").map(String::as_str) != Some(FORMAT) {
        return Err(not_ours("no stylisation checkpoint metadata".into()));
    }
    let saved = Saved {
        key: info.get("key").cloned().unwrap_or_default(),
        seconds: info
            .get("seconds")
            .and_then(|s| s.parse().ok())
            .unwrap_or(0.0),
    };
    let state: RunState = serde_json::from_str(info.get("run").map_or("", String::as_str))
        .map_err(|e| not_ours(format!("its run state is unreadable: {e}")))?;
    let st = SafeTensors::deserialize(&map).map_err(|e| not_ours(e.to_string()))?;
    let mut arrays = Arrays::new();
    for (name, view) in st.tensors() {
        let data = view.data();
        let array = match view.dtype() {
            Dtype::F32 => OwnedArray::F32(
                data.chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect(),
            ),
            Dtype::BF16 => OwnedArray::Bf16(
                data.chunks_exact(2)
                    .map(|b| bf16::from_le_bytes([b[0], b[1]]))
                    .collect(),
            ),
            other => return Err(not_ours(format!("the array {name} is {other:?}"))),
        };
        arrays.insert(name, array);
    }
    Ok((saved, state, arrays))
}

#[cfg(test)]
mod tests {
    use super::*;
    use impasto::{Losses, OptimizerState};

    /// What is saved is what is read back, bit for bit, and other files are refused.
    #[test]
    fn a_checkpoint_reads_back_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.checkpoint.safetensors");
        let state = RunState {
            stage: 2,
            iter: 3,
            width: 4,
            height: 1,
            style_scale: 1.5,
            losses: Losses {
                total: 0.1 + 0.2,
                ..Losses::default()
            },
            optimizer: OptimizerState::Lbfgs {
                rhos: vec![1.0 / 3.0],
                value: Some(7.25),
            },
        };
        let x = [0.1f32, -2.5, f32::MIN_POSITIVE, 1e30];
        let s = [bf16::from_f32(0.3), bf16::from_f32(-1e-3)];
        let arrays = vec![
            ("x".to_string(), Array::F32(&x)),
            ("lbfgs.s.0".to_string(), Array::Bf16(&s)),
        ];
        let saved = Saved {
            key: "key".into(),
            seconds: 12.5,
        };
        save(&path, &saved, &state, &arrays).unwrap();
        let (again, back, mut got) = load(&path).unwrap();
        assert_eq!((again, &back), (saved, &state));
        assert!(matches!(got.remove("x"), Some(OwnedArray::F32(v)) if v == x));
        assert!(matches!(got.remove("lbfgs.s.0"), Some(OwnedArray::Bf16(v)) if v == s));
        std::fs::write(&path, b"not a checkpoint").unwrap();
        let e = load(&path).unwrap_err().to_string();
        assert!(e.contains("not an Impasto checkpoint"), "{e}");
    }
}
