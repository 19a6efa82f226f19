//! Vectors an optimiser keeps between steps, in f32 or, to halve their memory, in bf16.

use half::bf16;

use crate::session::{Array, OwnedArray};

/// How an optimiser stores its history (L-BFGS's curvature pairs).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum History {
    /// Full precision.
    #[default]
    F32,
    /// Half the memory; the directions built from it are rounded accordingly, which changes
    /// the path a little, not where it leads.
    Bf16,
}

/// A kept vector.
pub enum Stored {
    F32(Vec<f32>),
    Bf16(Vec<bf16>),
}

impl Stored {
    /// The values of `values`, kept as `history` says.
    pub fn new(values: impl Iterator<Item = f32>, history: History) -> Self {
        match history {
            History::F32 => Stored::F32(values.collect()),
            History::Bf16 => Stored::Bf16(values.map(bf16::from_f32).collect()),
        }
    }

    /// `values` kept as `history` says: moved when f32, rounded into a new vector when bf16.
    pub fn from_vec(values: Vec<f32>, history: History) -> Self {
        match history {
            History::F32 => Stored::F32(values),
            History::Bf16 => Stored::new(values.into_iter(), history),
        }
    }

    /// Element `i`.
    #[inline]
    pub fn get(&self, i: usize) -> f32 {
        match self {
            Stored::F32(v) => v[i],
            Stored::Bf16(v) => v[i].to_f32(),
        }
    }

    /// `Σ self_i · q_i` in f64.
    pub fn dot(&self, q: &[f32]) -> f64 {
        match self {
            Stored::F32(v) => v.iter().zip(q).map(|(&a, &b)| a as f64 * b as f64).sum(),
            Stored::Bf16(v) => v
                .iter()
                .zip(q)
                .map(|(&a, &b)| a.to_f32() as f64 * b as f64)
                .sum(),
        }
    }

    /// `Σ self_i²` in f64.
    pub fn norm2(&self) -> f64 {
        match self {
            Stored::F32(v) => v.iter().map(|&a| a as f64 * a as f64).sum(),
            Stored::Bf16(v) => v.iter().map(|&a| (a.to_f32() as f64).powi(2)).sum(),
        }
    }

    /// `q += a · self`.
    pub fn add_scaled_to(&self, a: f64, q: &mut [f32]) {
        let a = a as f32;
        match self {
            Stored::F32(v) => q.iter_mut().zip(v).for_each(|(q, &s)| *q += a * s),
            Stored::Bf16(v) => q.iter_mut().zip(v).for_each(|(q, &s)| *q += a * s.to_f32()),
        }
    }
}

impl Stored {
    /// The values as a checkpoint array.
    pub fn array(&self) -> Array<'_> {
        match self {
            Stored::F32(v) => Array::F32(v),
            Stored::Bf16(v) => Array::Bf16(v),
        }
    }

    /// Values read back from a checkpoint.
    pub fn from_array(a: OwnedArray) -> Self {
        match a {
            OwnedArray::F32(v) => Stored::F32(v),
            OwnedArray::Bf16(v) => Stored::Bf16(v),
        }
    }
}
