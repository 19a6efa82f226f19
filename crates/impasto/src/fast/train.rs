//! Training a feed-forward network on photos with Impasto's VGG19 losses: for each photo crop,
//! the network's output is scored like an optimisation's image (content against the crop,
//! Gram matrices against the painting, total variation), and Adam follows the gradient.

use std::time::Instant;

use candle_core::{Device, Tensor};

use super::adam::{zeros_like, Adam};
use super::arch::{Arch, Layer, MULTIPLE};
use super::net::{to_input, FastNet};
use super::params::Params;
use super::rng::Rng;
use super::run::{self, Tape};
use crate::image::{resize, Rgb};
use crate::model::layers::LayerId;
use crate::model::vgg::{to_bgr_centered, Vgg19};
use crate::objective::{self, Losses, Targets};
use crate::session::{Style, StyleTargets};
use crate::settings::{LossWeights, Settings, DEFAULT_CONTENT_LAYERS};
use crate::{parse_weighted_layers, Error, Result, Setting};

/// Style layers for training. Beside an optimisation's weights, relu5_1 (the painting's large
/// strokes) weighs 4× more and relu1_1 (its finest texture) 3× less: a network answers each
/// patch from what the patch holds and leaves even regions calm unless the large strokes
/// count this much (measured in BENCHMARKS.md, "third round").
pub const DEFAULT_TRAIN_STYLE_LAYERS: &str =
    "relu1_1:3,relu2_1:0.1,relu3_1:0.1,relu4_1:0.1,relu5_1:1200";

/// α for training: 1.5, to keep the photo's structure against the heavier large strokes.
pub const DEFAULT_TRAIN_CONTENT_WEIGHT: f32 = 1.5;

/// How a network is trained.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct TrainSettings {
    /// The network's width and depth.
    pub arch: Arch,
    /// Side of the square photo crops, in pixels (a multiple of 4).
    pub crop: usize,
    /// Crops per step.
    pub batch: usize,
    /// Steps in all.
    pub steps: usize,
    /// Adam's learning rate.
    pub lr: f32,
    /// α, β, γ.
    pub weights: LossWeights,
    /// Content layers and their weights.
    pub content_layers: Vec<(LayerId, f32)>,
    /// Style layers and their weights.
    pub style_layers: Vec<(LayerId, f32)>,
    /// Longer side the paintings are scaled to for their Gram matrices.
    pub style_size: usize,
    /// Seed of the initial weights and of every random choice of crop.
    pub seed: u64,
}

impl Default for TrainSettings {
    fn default() -> Self {
        Self {
            arch: Arch::default(),
            crop: 256,
            batch: 4,
            steps: 2000,
            lr: 1e-3,
            weights: LossWeights {
                content: DEFAULT_TRAIN_CONTENT_WEIGHT,
                style: 10.0,
                tv: 1.0,
            },
            content_layers: parse_weighted_layers(DEFAULT_CONTENT_LAYERS, Setting::ContentLayers)
                .expect("valid default"),
            style_layers: parse_weighted_layers(DEFAULT_TRAIN_STYLE_LAYERS, Setting::StyleLayers)
                .expect("valid default"),
            style_size: 512,
            seed: 0,
        }
    }
}

impl TrainSettings {
    /// Checks every value and says which is wrong and what would be right.
    pub fn validate(&self) -> Result<()> {
        self.arch.validate()?;
        if self.crop < 32 || !self.crop.is_multiple_of(MULTIPLE) || self.crop > 1024 {
            return Err(Error::setting(
                Setting::Crop,
                self.crop,
                "give a crop of 32 to 1024 pixels, a multiple of 4",
            ));
        }
        if self.batch == 0 || self.batch > 64 {
            return Err(Error::setting(
                Setting::Batch,
                self.batch,
                "give 1 to 64 crops per step",
            ));
        }
        if self.steps == 0 {
            return Err(Error::setting(Setting::Steps, 0, "give at least 1 step"));
        }
        if !(self.lr > 0.0 && self.lr < 1.0) {
            return Err(Error::setting(
                Setting::LearningRate,
                self.lr,
                "give a learning rate between 0 and 1, e.g. 0.001",
            ));
        }
        if self.style_size < 64 || self.style_size > 2048 {
            return Err(Error::setting(
                Setting::StyleSize,
                self.style_size,
                "give the paintings a size of 64 to 2048 pixels",
            ));
        }
        self.loss_settings().validate()
    }

    /// The losses as an optimisation's settings (what [`objective::evaluate`] reads).
    fn loss_settings(&self) -> Settings {
        Settings {
            size: self.crop,
            weights: self.weights,
            content_layers: self.content_layers.clone(),
            style_layers: self.style_layers.clone(),
            style_target: None,
            ..Settings::default()
        }
    }
}

/// What one training step did.
#[derive(Clone, Debug)]
pub struct TrainReport {
    /// Steps done so far (this one included).
    pub step: usize,
    /// Steps in all.
    pub steps: usize,
    /// The loss terms, averaged over the step's crops.
    pub losses: Losses,
    /// Seconds this step took.
    pub seconds: f64,
}

/// A painting a network learns, with its name and the weight of its style loss (× β).
#[derive(Clone, Debug)]
pub struct TrainStyle {
    /// The name blends use.
    pub name: String,
    /// The painting, RGB 0..255.
    pub image: Rgb,
    /// Multiplies β for this style (1 by default).
    pub weight: f32,
}

/// Everything a training run needs to continue exactly where it stopped.
#[derive(Clone, Debug)]
pub struct Checkpoint {
    /// Steps done.
    pub step: usize,
    /// The random generator's state.
    pub rng: u64,
    /// The network's parameters.
    pub params: Params,
    /// Adam's state.
    pub adam: Adam,
}

/// A training run, stepped by a front end: `step` until `done`, `checkpoint` now and then.
pub struct Trainer<'a> {
    vgg: &'a Vgg19,
    settings: TrainSettings,
    loss: Settings,
    /// Gram targets of each style, one per style layer.
    grams: Vec<Vec<Tensor>>,
    /// Each style's weight (× β).
    style_weights: Vec<f32>,
    photos: Vec<Rgb>,
    net: FastNet,
    adam: Adam,
    rng: Rng,
    step: usize,
}

impl<'a> Trainer<'a> {
    /// A new run for the paintings `styles` (name, image) on `photos`.
    pub fn new(
        vgg: &'a Vgg19,
        settings: TrainSettings,
        styles: &[TrainStyle],
        photos: Vec<Rgb>,
    ) -> Result<Self> {
        settings.validate()?;
        let names = styles.iter().map(|s| s.name.clone()).collect();
        let net = FastNet::new(settings.arch.clone(), names, settings.seed)?;
        let adam = Adam::new(net.params());
        // The initial weights used the seed; the crops draw from a generator of their own.
        let rng = Rng(settings.seed ^ 0x5eed_c0de);
        Self::build(vgg, settings, styles, photos, net, adam, rng, 0)
    }

    /// A run continued from `checkpoint` (made with the same settings, styles and photos).
    pub fn resume(
        vgg: &'a Vgg19,
        settings: TrainSettings,
        styles: &[TrainStyle],
        photos: Vec<Rgb>,
        checkpoint: Checkpoint,
    ) -> Result<Self> {
        settings.validate()?;
        let names = styles.iter().map(|s| s.name.clone()).collect();
        let net = FastNet::from_params(settings.arch.clone(), names, checkpoint.params)?;
        let rng = Rng(checkpoint.rng);
        Self::build(
            vgg,
            settings,
            styles,
            photos,
            net,
            checkpoint.adam,
            rng,
            checkpoint.step,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn build(
        vgg: &'a Vgg19,
        settings: TrainSettings,
        styles: &[TrainStyle],
        photos: Vec<Rgb>,
        net: FastNet,
        adam: Adam,
        rng: Rng,
        step: usize,
    ) -> Result<Self> {
        if photos.is_empty() {
            return Err(Error::setting(
                Setting::Photos,
                "none",
                "give at least one photo",
            ));
        }
        let loss = settings.loss_settings();
        let mut grams = Vec::new();
        for st in styles {
            if !(st.weight.is_finite() && st.weight > 0.0) {
                return Err(Error::setting(
                    Setting::Styles,
                    format!("{}:{}", st.name, st.weight),
                    "a style's weight must be above 0",
                ));
            }
            let painting = &st.image;
            let targets = StyleTargets::new(vec![Style {
                image: painting.clone(),
                weight: 1.0,
            }])?;
            grams.push(targets.blended(
                vgg,
                &loss,
                &[1.0],
                painting,
                settings.style_size,
                crate::plan::forward_budget(&loss, 0),
            )?);
        }
        Ok(Self {
            vgg,
            settings,
            loss,
            grams,
            style_weights: styles.iter().map(|s| s.weight).collect(),
            photos,
            net,
            adam,
            rng,
            step,
        })
    }

    /// Whether every step is done.
    pub fn done(&self) -> bool {
        self.step >= self.settings.steps
    }

    /// Steps done.
    pub fn steps_done(&self) -> usize {
        self.step
    }

    /// The settings of the run.
    pub fn settings(&self) -> &TrainSettings {
        &self.settings
    }

    /// The network as trained so far.
    pub fn net(&self) -> &FastNet {
        &self.net
    }

    /// The state to save, from which [`Trainer::resume`] continues exactly.
    pub fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            step: self.step,
            rng: self.rng.0,
            params: self.net.params().clone(),
            adam: self.adam.clone(),
        }
    }

    /// One step: a batch of crops, their losses and gradients, and one Adam update.
    pub fn step(&mut self) -> Result<TrainReport> {
        let start = Instant::now();
        let layers = self.net.layers();
        let mut grads = zeros_like(self.net.params());
        let mut sum = Losses::default();
        let batch = self.settings.batch;
        let styles = self.grams.len();
        let crops: Vec<Rgb> = (0..batch).map(|_| self.sample()).collect();
        // Crop i learns style (step·batch + i) mod styles; the crops of one style go through
        // the loss network together.
        for style in 0..styles {
            let group: Vec<&Rgb> = (0..batch)
                .filter(|i| (self.step * batch + i) % styles == style)
                .map(|i| &crops[i])
                .collect();
            if group.is_empty() {
                continue;
            }
            let share = group.len() as f64 / batch as f64;
            let losses = self.group_gradient(&layers, &group, style, share as f32, &mut grads)?;
            add(&mut sum, &losses, share);
        }
        let lr = self.settings.lr;
        self.adam.step(self.net.params_mut(), &grads, lr);
        self.step += 1;
        Ok(TrainReport {
            step: self.step,
            steps: self.settings.steps,
            losses: sum,
            seconds: start.elapsed().as_secs_f64(),
        })
    }

    /// A random crop of a random photo: rescaled so its shorter side lies between the crop
    /// and the photo's own, cut at a random place, flipped half of the time.
    fn sample(&mut self) -> Rgb {
        let crop = self.settings.crop;
        let photo = &self.photos[self.rng.below(self.photos.len())];
        let short = photo.width.min(photo.height);
        let target = crop + self.rng.below(short.saturating_sub(crop) + 1);
        let scale = target as f32 / short as f32;
        let (w, h) = (
            ((photo.width as f32 * scale).round() as usize).max(crop),
            ((photo.height as f32 * scale).round() as usize).max(crop),
        );
        let scaled = resize::resize(photo, w, h);
        let (x0, y0) = (self.rng.below(w - crop + 1), self.rng.below(h - crop + 1));
        let flip = self.rng.below(2) == 1;
        let mut data = Vec::with_capacity(3 * crop * crop);
        for c in 0..3 {
            let plane = scaled.plane(c);
            for y in 0..crop {
                let row = &plane[(y0 + y) * w + x0..][..crop];
                if flip {
                    data.extend(row.iter().rev());
                } else {
                    data.extend_from_slice(row);
                }
            }
        }
        Rgb::new(crop, crop, data)
    }

    /// The losses of the network's outputs for the crops `photos` in `style` (their mean),
    /// with their gradient, times `share`, added to `grads`: the crops run through the loss
    /// network as one batch.
    fn group_gradient(
        &self,
        layers: &[Layer],
        photos: &[&Rgb],
        style: usize,
        share: f32,
        grads: &mut Params,
    ) -> Result<Losses> {
        let (w, h, n) = (photos[0].width, photos[0].height, photos.len());
        let content_layers: Vec<LayerId> = self.loss.content_layers.iter().map(|l| l.0).collect();
        let photos_in: Vec<f32> = photos.iter().flat_map(|p| to_bgr_centered(p)).collect();
        let photos_in = Tensor::from_vec(photos_in, (n, 3, h, w), &Device::Cpu)?;
        let content = self.vgg.features(&photos_in, &content_layers)?;
        let params = self.net.params();
        let mut mix = vec![0.0; self.grams.len()];
        mix[style] = 1.0;
        let mut tapes = Vec::with_capacity(n);
        let mut x = Vec::with_capacity(n * 3 * w * h);
        for photo in photos {
            let mut tape = Tape::new();
            let out = run::forward(layers, params, &mix, to_input(photo), Some(&mut tape));
            let image = Rgb::new(w, h, out.data.iter().map(|v| v * 255.0).collect());
            x.extend(to_bgr_centered(&image));
            tapes.push(tape);
        }
        let targets = Targets {
            size: (w, h),
            content: &content,
            style: &self.grams[style],
            guided: &[],
            style_weight: (self.settings.weights.style * self.style_weights[style]) as f64,
            prior: None,
        };
        let (losses, g) = objective::evaluate(self.vgg, &self.loss, &targets, &x)?;
        // The gradient is of the group's mean; the step's is the batch's mean. The loss
        // network reads BGR, mean subtracted, 0..255; the output is RGB 0..1.
        let scale = 255.0 * share;
        let plane = w * h;
        for (img, tape) in g.chunks(3 * plane).zip(tapes) {
            let mut g_out = vec![0.0; 3 * plane];
            for c in 0..3 {
                let src = &img[(2 - c) * plane..(3 - c) * plane];
                g_out[c * plane..(c + 1) * plane]
                    .iter_mut()
                    .zip(src)
                    .for_each(|(o, v)| *o = v * scale);
            }
            run::backward(layers, params, &mix, tape, g_out, grads);
        }
        Ok(losses)
    }
}

/// `sum += k · x`, term by term.
fn add(sum: &mut Losses, x: &Losses, k: f64) {
    sum.content += k * x.content;
    sum.style += k * x.style;
    sum.tv += k * x.tv;
    sum.prior += k * x.prior;
    sum.total += k * x.total;
    sum.gram_cosine += k * x.gram_cosine;
}
