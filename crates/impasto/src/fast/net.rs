//! A trained (or training) feed-forward style network: its architecture, its styles and its
//! parameters, and one-pass stylisation.

use std::sync::Mutex;

use impasto_kernels::conv::{Conv3x3Weights, ConvKernel};
use impasto_kernels::Precision;

use super::arch::{Arch, Layer, MULTIPLE};
use super::infer::{self, Buffers, Kernels, Stats};
use super::params::{self, Params};
use super::rng::Rng;
use super::run::Act;
use super::tiles::{self, Tiling};
use crate::image::Rgb;
use crate::{Error, Result, Setting};

/// The smallest side a network can stylise.
pub const MIN_SIDE: usize = 16;

/// A feed-forward style network with one or more styles (conditional instance norm).
#[derive(Clone, Debug)]
pub struct FastNet {
    arch: Arch,
    styles: Vec<String>,
    params: Params,
}

impl FastNet {
    /// A freshly initialised network for the styles named `styles`, from `seed`.
    pub fn new(arch: Arch, styles: Vec<String>, seed: u64) -> Result<Self> {
        arch.validate()?;
        check_styles(&styles)?;
        let params = params::init(&arch, styles.len(), &mut Rng(seed));
        Ok(Self {
            arch,
            styles,
            params,
        })
    }

    /// A network from saved parameters; errors say what does not fit the architecture.
    pub fn from_params(arch: Arch, styles: Vec<String>, params: Params) -> Result<Self> {
        arch.validate().map_err(|e| Error::Model(e.to_string()))?;
        check_styles(&styles).map_err(|e| Error::Model(e.to_string()))?;
        params::check(&arch, styles.len(), &params)?;
        Ok(Self {
            arch,
            styles,
            params,
        })
    }

    /// The architecture.
    pub fn arch(&self) -> &Arch {
        &self.arch
    }

    /// The style names, in the order of the norms' rows.
    pub fn styles(&self) -> &[String] {
        &self.styles
    }

    /// The parameters by name.
    pub fn params(&self) -> &Params {
        &self.params
    }

    pub(crate) fn params_mut(&mut self) -> &mut Params {
        &mut self.params
    }

    /// The layers, in order (for exporting the network to other runtimes).
    pub fn layers(&self) -> Vec<Layer> {
        self.arch.layers()
    }

    /// The blend of styles: `weights` by name (`None`: the first style alone), as one weight
    /// per style summing to 1. Unknown names and weights that are negative or all 0 are errors.
    pub fn mix(&self, weights: Option<&[(String, f32)]>) -> Result<Vec<f32>> {
        let mut out = vec![0.0; self.styles.len()];
        let Some(weights) = weights else {
            out[0] = 1.0;
            return Ok(out);
        };
        for (name, w) in weights {
            let Some(i) = self.styles.iter().position(|s| s == name) else {
                return Err(Error::setting(
                    Setting::StyleMix,
                    name,
                    format!("this model's styles are {}", self.styles.join(", ")),
                ));
            };
            if !w.is_finite() || *w < 0.0 {
                return Err(Error::setting(
                    Setting::StyleMix,
                    format!("{name}:{w}"),
                    "weights must be 0 or more",
                ));
            }
            out[i] += w;
        }
        let total: f32 = out.iter().sum();
        if total <= 0.0 {
            return Err(Error::setting(
                Setting::StyleMix,
                "all 0",
                "give at least one style a weight above 0",
            ));
        }
        out.iter_mut().for_each(|v| *v /= total);
        Ok(out)
    }

    /// Prepares the network for repeated one-pass stylisation with products in `precision`.
    pub fn runner(&self, precision: Precision) -> Runner<'_> {
        let mut kernels: Kernels = Vec::new();
        for l in self.layers() {
            if let Layer::Conv { index, shape, bias } = l {
                let fast = shape.k == 3 && shape.stride == 1;
                let kernel = fast.then(|| {
                    let w = Conv3x3Weights {
                        cout: shape.cout,
                        cin: shape.cin,
                        w: self.params[&format!("conv{index}.weight")].data.clone(),
                        bias: match bias {
                            true => self.params[&format!("conv{index}.bias")].data.clone(),
                            false => Vec::new(),
                        },
                    };
                    ConvKernel::new(w, precision)
                });
                kernels.push(kernel);
            }
        }
        Runner {
            net: self,
            layers: self.layers(),
            kernels,
            buffers: Mutex::default(),
            tiling: Tiling::default(),
        }
    }
}

/// At least one style, each with a distinct, non-empty name.
fn check_styles(styles: &[String]) -> Result<()> {
    let bad = |v: &str, allowed: &str| Err(Error::setting(Setting::Styles, v, allowed));
    if styles.is_empty() {
        return bad("none", "give at least one style");
    }
    for (i, s) in styles.iter().enumerate() {
        if s.trim().is_empty() {
            return bad("an empty name", "every style needs a name");
        }
        if styles[..i].contains(s) {
            return bad(s, "style names must differ");
        }
    }
    Ok(())
}

/// A network ready for one-pass stylisation (its 3×3 convolutions prepared once, its
/// activation buffers kept from one pass to the next).
pub struct Runner<'a> {
    net: &'a FastNet,
    layers: Vec<Layer>,
    kernels: Kernels,
    buffers: Mutex<Buffers>,
    tiling: Tiling,
}

impl Runner<'_> {
    /// The network this runs.
    pub fn net(&self) -> &FastNet {
        self.net
    }

    /// `image` (RGB 0..255) in the style blend `mix` ([`FastNet::mix`]), same size.
    pub fn stylize(&self, image: &Rgb, mix: &[f32]) -> Result<Rgb> {
        let (w, h) = (image.width, image.height);
        if w.min(h) < MIN_SIDE {
            return Err(Error::setting(
                Setting::Size,
                format!("{w}×{h}"),
                format!("images must be at least {MIN_SIDE} pixels on each side"),
            ));
        }
        if mix.len() != self.net.styles.len() {
            return Err(Error::Internal(format!(
                "a blend of {} styles for a model of {}",
                mix.len(),
                self.net.styles.len()
            )));
        }
        if w * h > self.tiling.max_pixels {
            return Ok(tiles::stylize_tiled(self, image, mix, self.tiling));
        }
        Ok(self.pass(image, mix, Stats::Measure))
    }

    /// The same runner cutting images into tiles as `tiling` says.
    pub fn with_tiling(mut self, tiling: Tiling) -> Self {
        self.tiling = tiling;
        self
    }

    /// One pass over the whole of `image`, the norms' moments from `stats`.
    pub(crate) fn pass(&self, image: &Rgb, mix: &[f32], stats: Stats) -> Rgb {
        let (w, h) = (image.width, image.height);
        // Concurrent passes each get buffers of their own: only one keeps the shared ones.
        let mut own = Buffers::default();
        let mut shared = self.buffers.try_lock().ok();
        let bufs = shared.as_deref_mut().unwrap_or(&mut own);
        let x = input_into(image, bufs.take(3 * padded_len(w) * padded_len(h)));
        let (layers, params) = (&self.layers, &self.net.params);
        let out = infer::forward(layers, params, &self.kernels, mix, (x, stats), bufs);
        let rgb = from_output(&out, w, h);
        bufs.give(out.data);
        rgb
    }
}

/// An RGB image (0..255) as the network's input: 0..1, padded by reflection to a multiple of
/// [`MULTIPLE`] on each side (the extra goes right and bottom).
pub(crate) fn to_input(image: &Rgb) -> Act {
    input_into(image, Vec::new())
}

/// A side padded to a multiple of [`MULTIPLE`].
fn padded_len(side: usize) -> usize {
    side.next_multiple_of(MULTIPLE)
}

/// [`to_input`] in `data`'s storage.
fn input_into(image: &Rgb, mut data: Vec<f32>) -> Act {
    let (w, h) = (image.width, image.height);
    let (pw, ph) = (padded_len(w), padded_len(h));
    data.resize(3 * pw * ph, 0.0);
    for c in 0..3 {
        let src = image.plane(c);
        let dst = &mut data[c * pw * ph..(c + 1) * pw * ph];
        for y in 0..ph {
            let sy = if y < h { y } else { 2 * (h - 1) - y };
            for x in 0..pw {
                let sx = if x < w { x } else { 2 * (w - 1) - x };
                dst[y * pw + x] = src[sy * w + sx] / 255.0;
            }
        }
    }
    Act {
        data,
        c: 3,
        h: ph,
        w: pw,
    }
}

/// The network's output (0..1, padded) as an RGB image of `w × h` (0..255, clamped).
pub(crate) fn from_output(out: &Act, w: usize, h: usize) -> Rgb {
    let mut data = Vec::with_capacity(3 * w * h);
    for c in 0..3 {
        let plane = &out.data[c * out.h * out.w..][..out.h * out.w];
        for y in 0..h {
            data.extend(
                plane[y * out.w..][..w]
                    .iter()
                    .map(|v| (v * 255.0).clamp(0.0, 255.0)),
            );
        }
    }
    Rgb::new(w, h, data)
}
