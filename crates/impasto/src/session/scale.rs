//! One scale of a run: the targets at its size (content features, blended style Gram
//! matrices), the pixel bounds, and the image being optimised, with how it starts.

use candle_core::Tensor;

use super::styles::StyleTargets;
use crate::guide::{Guides, LayerGuide, Mask};
use crate::image::{colour, resize, Rgb};
use crate::model::layers::LayerId;
use crate::model::vgg::{to_bgr_centered, Vgg19, MEAN_BGR};
use crate::objective::tiled;
use crate::objective::GuidedStyle;
use crate::optim::Bounds;
use crate::plan;
use crate::settings::{PreserveColor, Settings, Start};
use crate::Result;

/// Targets and current image at one scale.
pub(crate) struct Scale {
    /// Width of the image at this scale.
    pub width: usize,
    /// Height of the image at this scale.
    pub height: usize,
    /// Content features, one per content layer.
    pub content_feats: Vec<Tensor>,
    /// Blended style Gram matrices, one per style layer (none when every style has a region).
    pub style_grams: Vec<Tensor>,
    /// Style regions, when the run is guided.
    pub guided: Vec<GuidedStyle>,
    /// The image in the network's layout (BGR, mean subtracted, planar).
    pub x: Vec<f32>,
    /// Pixel bounds (0..255 in the network's layout).
    pub bounds: Bounds,
}

/// What a scale is built from.
pub(crate) struct ScaleInputs<'a> {
    /// The network.
    pub model: &'a Vgg19,
    /// The photo at its own size.
    pub content: &'a Rgb,
    /// The paintings.
    pub styles: &'a StyleTargets,
    /// Their blend weights.
    pub weights: &'a [f32],
    /// The settings in force.
    pub settings: &'a Settings,
    /// Memory a forward pass may take: larger images are run in tiles.
    pub budget: u64,
    /// Where the styles go, if the run is guided.
    pub guides: Option<&'a Guides>,
}

impl ScaleInputs<'_> {
    /// The photo as the optimisation sees it at `w × h` (luminance only in that mode).
    pub fn content_at(&self, w: usize, h: usize) -> Rgb {
        let c = resize::resize(self.content, w, h);
        match self.settings.preserve_color {
            PreserveColor::Luminance => colour::luminance_only(&c),
            _ => c,
        }
    }

    /// Targets, bounds and image for a scale of longer side `size`. The image is `from` (the
    /// previous scale's result, or the current image when targets are rebuilt) when given,
    /// else `start`.
    pub fn build(&self, size: usize, from: Option<Rgb>, start: &Start) -> Result<Scale> {
        let c = self.content;
        let (w, h) = resize::fit_longer_side(c.width, c.height, size);
        let model = self.model;
        let content = self.content_at(w, h);
        // The painting's targets first, while only the photo at this size is held: at print
        // sizes each of these images is hundreds of MB.
        let recoloured;
        let reference = match self.settings.preserve_color {
            PreserveColor::Luminance => {
                recoloured = resize::resize(c, w, h);
                &recoloured
            }
            _ => &content,
        };
        let guided = match self.guides {
            Some(g) => self.guided(g, (w, h), size, reference)?,
            None => Vec::new(),
        };
        let style_grams = match guided.is_empty() {
            true => self.styles.blended(
                model,
                self.settings,
                self.weights,
                reference,
                size,
                self.budget,
            )?,
            false => Vec::new(),
        };
        let content_layers: Vec<_> = self
            .settings
            .content_layers
            .iter()
            .map(|&(l, _)| l)
            .collect();
        // Held as the network holds its activations: bf16 halves the largest target of a
        // print-size run.
        let content_feats =
            match plan::forward_grid(w, h, &content_layers, self.model.store(), self.budget) {
                None => model
                    .features(&model.preprocess(&content)?, &content_layers)?
                    .iter()
                    .map(|t| t.to_dtype(model.store().dtype()))
                    .collect::<candle_core::Result<_>>()?,
                Some(grid) => tiled::features(
                    model,
                    &to_bgr_centered(&content),
                    (w, h),
                    &content_layers,
                    grid,
                )?,
            };
        let image = match from {
            Some(img) if img.width == w && img.height == h => img,
            Some(img) => with_detail(&img, &content),
            None => match start {
                Start::Content => content.clone(),
                Start::Image(img) => resize::resize(img, w, h),
                Start::Noise { seed } => noise(w, h, *seed),
            },
        };
        let mut x = to_bgr_centered(&image);
        let bounds = Bounds {
            ranges: MEAN_BGR.iter().map(|m| (-m, 255.0 - m)).collect(),
            span: w * h,
        };
        bounds.project(&mut x);
        Ok(Scale {
            width: w,
            height: h,
            content_feats,
            style_grams,
            guided,
            x,
            bounds,
        })
    }
}

impl ScaleInputs<'_> {
    /// The style regions at `w × h`: each style over its mask, or every style blended over
    /// what the kept regions leave; the kept regions are taken out of every mask.
    fn guided(
        &self,
        g: &Guides,
        (w, h): (usize, usize),
        size: usize,
        reference: &Rgb,
    ) -> Result<Vec<GuidedStyle>> {
        let layers: Vec<LayerId> = self.settings.style_layers.iter().map(|l| l.0).collect();
        let free = g.keep.as_ref().map(|k| k.resized(w, h).inverted());
        let at = |m: &Mask| {
            let m = m.resized(w, h);
            match &free {
                Some(f) => m.times(f),
                None => m,
            }
        };
        if g.masks.is_empty() {
            let Some(free) = free else {
                return Ok(Vec::new());
            };
            let (model, s, weights) = (self.model, self.settings, self.weights);
            let grams = self
                .styles
                .blended(model, s, weights, reference, size, self.budget)?;
            return Ok(vec![GuidedStyle {
                guides: LayerGuide::for_layers(&free, &layers),
                grams,
                weight: 1.0,
            }]);
        }
        let mean = self.weights.iter().sum::<f32>() as f64 / self.weights.len() as f64;
        let mut out = Vec::with_capacity(g.masks.len());
        for (i, (m, &weight)) in g.masks.iter().zip(self.weights).enumerate() {
            if weight <= 0.0 {
                continue;
            }
            let grams =
                self.styles
                    .of(self.model, self.settings, i, reference, (size, self.budget))?;
            out.push(GuidedStyle {
                guides: LayerGuide::for_layers(&at(m), &layers),
                grams: grams.to_vec(),
                weight: weight as f64 / mean,
            });
        }
        Ok(out)
    }
}

/// `coarse` upsampled to the size of `content`, plus the detail of `content` that the coarse
/// size cannot hold (content minus its own down-and-up-sampled copy). The finer scale then
/// starts with the photo's edges instead of a blurred picture.
fn with_detail(coarse: &Rgb, content: &Rgb) -> Rgb {
    let (w, h) = (content.width, content.height);
    let up = resize::resize(coarse, w, h);
    let blurred = resize::resize(&resize::resize(content, coarse.width, coarse.height), w, h);
    let data = up
        .data
        .iter()
        .zip(content.data.iter().zip(&blurred.data))
        .map(|(&u, (&c, &b))| (u + c - b).clamp(0.0, 255.0))
        .collect();
    Rgb::new(w, h, data)
}

/// Uniform noise in 0..255 from a seed (xorshift64*), the same on every machine.
fn noise(w: usize, h: usize, seed: u64) -> Rgb {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let data = (0..3 * w * h)
        .map(|_| {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            (state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 40) as f32 / (1u64 << 24) as f32 * 255.0
        })
        .collect();
    Rgb::new(w, h, data)
}
