//! A run's state for checkpoints: [`RunState`] (where it stands) and the arrays saved beside it
//! (the image and the optimiser's vectors), enough to continue exactly where it stopped.

use std::collections::HashMap;

use half::bf16;
use serde::{Deserialize, Serialize};

use crate::objective::Losses;
use crate::{Error, Result};

/// Values saved beside a [`RunState`], borrowed from the session: f32, or bf16 where the
/// optimiser keeps them so.
#[derive(Debug)]
pub enum Array<'a> {
    /// f32 values.
    F32(&'a [f32]),
    /// bf16 values.
    Bf16(&'a [bf16]),
}

/// Values read back from a checkpoint.
#[derive(Debug)]
pub enum OwnedArray {
    /// f32 values.
    F32(Vec<f32>),
    /// bf16 values.
    Bf16(Vec<bf16>),
}

/// The named arrays of a checkpoint.
pub type Arrays = HashMap<String, OwnedArray>;

/// Where a run stands, besides its arrays.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunState {
    /// The scale the run is at (0-based).
    pub stage: usize,
    /// Iterations done at that scale.
    pub iter: usize,
    /// Size of the image at that scale.
    pub width: usize,
    /// Height of the image at that scale.
    pub height: usize,
    /// The style-match controller's factor on β.
    pub style_scale: f64,
    /// The loss terms after the last step.
    pub losses: Losses,
    /// The optimiser's numbers.
    pub optimizer: OptimizerState,
}

/// An optimiser's numbers (its vectors are arrays of the checkpoint).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum OptimizerState {
    /// L-BFGS: `1 / sᵀy` of each curvature pair, oldest first, and the objective at the
    /// current point when known.
    Lbfgs {
        /// `1 / sᵀy` per pair.
        rhos: Vec<f64>,
        /// The objective at the current point.
        value: Option<f64>,
    },
    /// Adam: steps taken.
    Adam {
        /// Steps taken.
        t: i32,
    },
}

/// Takes the array `name` of `len` values from `arrays`.
pub(crate) fn take(arrays: &mut Arrays, name: &str, len: usize) -> Result<OwnedArray> {
    let a = arrays
        .remove(name)
        .ok_or_else(|| mismatch(format!("the array {name} is missing")))?;
    let n = match &a {
        OwnedArray::F32(v) => v.len(),
        OwnedArray::Bf16(v) => v.len(),
    };
    if n != len {
        return Err(mismatch(format!(
            "the array {name} has {n} values where this run has {len}"
        )));
    }
    Ok(a)
}

/// Takes the f32 array `name` of `len` values from `arrays`.
pub(crate) fn take_f32(arrays: &mut Arrays, name: &str, len: usize) -> Result<Vec<f32>> {
    match take(arrays, name, len)? {
        OwnedArray::F32(v) => Ok(v),
        OwnedArray::Bf16(_) => Err(mismatch(format!("the array {name} is not f32"))),
    }
}

/// A checkpoint that does not fit the run it is resumed into.
pub(crate) fn mismatch(what: String) -> Error {
    Error::Mismatch(format!("the checkpoint does not fit this run: {what}"))
}
