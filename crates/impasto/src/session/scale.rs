//! One scale of a run: the targets at its size (content features, blended style Gram
//! matrices), the pixel bounds, and the image being optimised, with how it starts.

use candle_core::Tensor;

use super::styles::StyleTargets;
use crate::image::{colour, resize, Rgb};
use crate::model::vgg::{to_bgr_centered, Vgg19, MEAN_BGR};
use crate::objective::tiled;
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
    /// Blended style Gram matrices, one per style layer.
    pub style_grams: Vec<Tensor>,
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
        let content_layers: Vec<_> = self
            .settings
            .content_layers
            .iter()
            .map(|&(l, _)| l)
            .collect();
        let content_feats =
            match plan::forward_grid(w, h, &content_layers, self.model.store(), self.budget) {
                None => model.features(&model.preprocess(&content)?, &content_layers)?,
                Some(grid) => tiled::features(
                    model,
                    &to_bgr_centered(&content),
                    (w, h),
                    &content_layers,
                    grid,
                )?,
            };
        // Held as the network holds its activations: bf16 halves the largest target of a
        // print-size run.
        let content_feats = match model.store() {
            crate::Store::F32 => content_feats,
            crate::Store::Bf16 => content_feats
                .iter()
                .map(|t| t.to_dtype(candle_core::DType::BF16))
                .collect::<candle_core::Result<_>>()?,
        };
        let reference = resize::resize(c, w, h);
        let style_grams = self.styles.blended(
            model,
            self.settings,
            self.weights,
            &reference,
            size,
            self.budget,
        )?;
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
            x,
            bounds,
        })
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
