//! A network's parameters by name, their initialisation, and the check that a set of
//! parameters (from a file, say) fits an architecture.

use std::collections::BTreeMap;

use super::arch::{Arch, Layer};
use super::rng::Rng;
use crate::{Error, Result};

/// One named parameter: its shape and values (row-major).
#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    /// Dimensions, outermost first.
    pub shape: Vec<usize>,
    /// Values, row-major.
    pub data: Vec<f32>,
}

/// Every parameter of a network, by name (`conv3.weight`, `norm2.scale`, …).
pub type Params = BTreeMap<String, Param>;

/// The name and shape of every parameter of `arch` with `styles` styles.
pub fn expected(arch: &Arch, styles: usize) -> Vec<(String, Vec<usize>)> {
    let mut out = Vec::new();
    for l in arch.layers() {
        match l {
            Layer::Conv { index, shape, bias } => {
                out.push((
                    format!("conv{index}.weight"),
                    vec![shape.cout, shape.cin, shape.k, shape.k],
                ));
                if bias {
                    out.push((format!("conv{index}.bias"), vec![shape.cout]));
                }
            }
            Layer::Norm {
                index, channels, ..
            } => {
                out.push((format!("norm{index}.scale"), vec![styles, channels]));
                out.push((format!("norm{index}.shift"), vec![styles, channels]));
            }
            _ => {}
        }
    }
    out
}

/// Fresh parameters: He-scaled weights (uniform, of the variance of He's normal), unit
/// scales, zero shifts, and a last convolution a tenth of that scale with a mid-grey bias, so
/// that the first outputs are a quiet grey rather than noise of the full pixel range.
pub fn init(arch: &Arch, styles: usize, rng: &mut Rng) -> Params {
    let mut out = Params::new();
    let expected = expected(arch, styles);
    // The last convolution is the one with a bias.
    let has_bias = |weight: &str| {
        let bias = weight.replace(".weight", ".bias");
        expected.iter().any(|(n, _)| *n == bias)
    };
    for (name, shape) in expected.clone() {
        let n: usize = shape.iter().product();
        let data = if name.ends_with(".weight") {
            let fan_in: usize = shape[1..].iter().product();
            // Uniform in ±√3·σ has variance σ²; σ² = 2 / fan_in keeps ReLU activations steady.
            let quiet = if has_bias(&name) { 0.1 } else { 1.0 };
            let bound = (3.0 * 2.0 / fan_in as f32).sqrt() * quiet;
            (0..n).map(|_| rng.uniform() * bound).collect()
        } else if name.ends_with(".scale") {
            vec![1.0; n]
        } else if name.ends_with(".bias") {
            vec![0.5; n]
        } else {
            vec![0.0; n]
        };
        out.insert(name, Param { shape, data });
    }
    out
}

/// Checks that `params` are exactly the parameters of `arch` with `styles` styles, with
/// finite values.
pub fn check(arch: &Arch, styles: usize, params: &Params) -> Result<()> {
    let want = expected(arch, styles);
    for (name, shape) in &want {
        let Some(p) = params.get(name) else {
            return Err(Error::Model(format!("the tensor '{name}' is missing")));
        };
        if &p.shape != shape || p.data.len() != shape.iter().product::<usize>() {
            return Err(Error::Model(format!(
                "the tensor '{name}' has shape {:?}, but the architecture needs {shape:?}",
                p.shape
            )));
        }
        if p.data.iter().any(|v| !v.is_finite()) {
            return Err(Error::Model(format!(
                "the tensor '{name}' holds values that are not finite numbers"
            )));
        }
    }
    if let Some(extra) = params.keys().find(|k| !want.iter().any(|(n, _)| n == *k)) {
        return Err(Error::Model(format!(
            "the tensor '{extra}' is not part of this architecture"
        )));
    }
    Ok(())
}
