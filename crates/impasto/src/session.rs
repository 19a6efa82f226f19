//! A stylisation that front ends step: one optimiser iteration per [`Session::step`], with the
//! coarse-to-fine schedule, targets and optimiser state kept inside. Settings can change
//! between steps without starting over.

use candle_core::Tensor;

use crate::image::{colour, resize, Rgb};
use crate::loss;
use crate::model::vgg::{self, from_bgr_centered, to_bgr_centered, Vgg19, MEAN_BGR};
pub use crate::objective::Losses;
use crate::objective::{evaluate, Targets};
use crate::optim::{adam::Adam, lbfgs::Lbfgs, Bounds};
use crate::prior::Prior;
use crate::schedule::{self, Stage};
use crate::settings::{Init, Optimizer, PreserveColor, Settings};
use crate::{sysmem, Error, Result};

/// L-BFGS curvature pairs kept.
const LBFGS_MEMORY: usize = 20;

/// With a style target, the full-size scale checks the match every this many iterations.
const CONTROL_EVERY: usize = 5;
/// The most one check may raise β by.
const CONTROL_STEP: f64 = 4.0;
/// β stays within this factor of the setting.
const CONTROL_RANGE: f64 = 16.0;
/// How far below the style target the first scale may end before its result is recoloured
/// to the painting's palette.
const RECOLOUR_MARGIN: f64 = 0.07;
/// Iterations at full size before a reached style target may end the run.
const MIN_FINAL_ITERS: usize = 2;

/// A style image and its blend weight.
#[derive(Clone, Debug)]
pub struct Style {
    /// The painting, RGB 0..255.
    pub image: Rgb,
    /// Relative weight in the blend (weights are normalised to sum to 1).
    pub weight: f32,
}

/// What one step did.
#[derive(Clone, Copy, Debug)]
pub struct Report {
    /// Index of the current scale (0-based).
    pub stage: usize,
    /// Number of scales.
    pub stages: usize,
    /// Size of the image at this scale.
    pub width: usize,
    /// Height of the image at this scale.
    pub height: usize,
    /// Iterations done at this scale.
    pub iter: usize,
    /// Iterations planned at this scale.
    pub stage_iters: usize,
    /// Iterations done over all scales.
    pub done_iters: usize,
    /// Iterations planned over all scales.
    pub total_iters: usize,
    /// Fraction of the work done, weighted by pixel count (for an ETA).
    pub progress: f64,
    /// Loss terms after the step.
    pub losses: Losses,
    /// Objective evaluations this step took.
    pub evals: usize,
    /// The β in force: the setting, scaled by the style-match controller when it is on.
    pub style_weight: f64,
}

enum Opt {
    Lbfgs(Lbfgs),
    Adam(Adam),
}

/// Targets and current image at one scale.
struct Scale {
    width: usize,
    height: usize,
    content_feats: Vec<Tensor>,
    style_grams: Vec<Tensor>,
    x: Vec<f32>,
    bounds: Bounds,
}

/// A running stylisation.
pub struct Session<'m> {
    model: &'m Vgg19,
    content: Rgb,
    styles: Vec<Style>,
    settings: Settings,
    plan: Vec<Stage>,
    stage: usize,
    iter: usize,
    scale: Option<Scale>,
    opt: Opt,
    losses: Losses,
    /// The style-match controller's factor on β (1 when it is off).
    beta_scale: f64,
    /// An image the result is pulled towards (video's temporal loss).
    prior: Option<Prior>,
}

impl<'m> Session<'m> {
    /// Prepares a run; nothing is computed until the first [`Session::step`].
    pub fn new(
        model: &'m Vgg19,
        content: Rgb,
        styles: Vec<Style>,
        settings: Settings,
    ) -> Result<Self> {
        if styles.is_empty() {
            return Err(Error::Usage(
                "at least one style image is needed (--style PATH)".into(),
            ));
        }
        if styles
            .iter()
            .any(|s| !(s.weight.is_finite() && s.weight >= 0.0))
            || styles.iter().all(|s| s.weight == 0.0)
        {
            return Err(Error::Usage(
                "style weights must be ≥ 0 and not all 0, e.g. --style a.jpg:0.7 --style b.jpg:0.3"
                    .into(),
            ));
        }
        settings.validate()?;
        let plan = Self::plan_for(&settings)?;
        let opt = Self::new_opt(settings.optimizer);
        let s = Self {
            model,
            content,
            styles,
            settings,
            plan,
            stage: 0,
            iter: 0,
            scale: None,
            opt,
            losses: Losses::default(),
            beta_scale: 1.0,
            prior: None,
        };
        s.check_memory()?;
        Ok(s)
    }

    fn plan_for(settings: &Settings) -> Result<Vec<Stage>> {
        let scales = match &settings.scales {
            Some(s) => s.clone(),
            None => schedule::default_scales(settings.size),
        };
        schedule::plan(&scales, settings.iters)
    }

    fn new_opt(o: Optimizer) -> Opt {
        match o {
            Optimizer::Lbfgs => Opt::Lbfgs(Lbfgs::new(LBFGS_MEMORY)),
            Optimizer::Adam { lr } => Opt::Adam(Adam::new(lr)),
        }
    }

    /// Refuses sizes whose step would not fit in the memory available now.
    fn check_memory(&self) -> Result<()> {
        let Some(avail) = sysmem::available_bytes() else {
            return Ok(());
        };
        let layers = self.settings.layers();
        let largest = self.plan.iter().map(|s| s.size).max().unwrap_or(0);
        let (w, h) = resize::fit_longer_side(self.content.width, self.content.height, largest);
        let need = vgg::step_memory_bytes(w, h, &layers);
        if need > avail {
            let mut ok = largest;
            while ok > 16 {
                let (w, h) = resize::fit_longer_side(self.content.width, self.content.height, ok);
                if vgg::step_memory_bytes(w, h, &layers) <= avail {
                    break;
                }
                ok = ok * 9 / 10;
            }
            return Err(Error::TooLarge {
                width: w,
                height: h,
                needed: need,
                available: avail,
                fits: ok,
            });
        }
        Ok(())
    }

    /// The settings in force.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The coarse-to-fine plan.
    pub fn plan(&self) -> &[Stage] {
        &self.plan
    }

    /// True once every planned iteration has run.
    pub fn done(&self) -> bool {
        self.stage >= self.plan.len()
    }

    /// The loss terms after the last step.
    pub fn losses(&self) -> Losses {
        self.losses
    }

    /// Replaces the settings; the run continues from the current image. A change of the loss
    /// weights alone takes effect at the next step (the optimiser keeps its curvature history,
    /// still a fair model of the new objective); any other change rebuilds the targets and
    /// restarts the optimiser.
    pub fn set_settings(&mut self, settings: Settings) -> Result<()> {
        settings.validate()?;
        let plan = Self::plan_for(&settings)?;
        let weights_only = Settings {
            content_weight: self.settings.content_weight,
            style_weight: self.settings.style_weight,
            tv_weight: self.settings.tv_weight,
            style_target: self.settings.style_target,
            ..settings.clone()
        } == self.settings;
        if weights_only && self.scale.is_some() && !self.done() {
            self.settings = settings;
            if let Opt::Lbfgs(o) = &mut self.opt {
                o.forget_value();
            }
            return Ok(());
        }
        let restart_scale =
            settings.size != self.settings.size || settings.scales != self.settings.scales;
        self.settings = settings;
        self.plan = plan;
        self.opt = Self::new_opt(self.settings.optimizer);
        if restart_scale || self.stage >= self.plan.len() {
            self.stage = self.stage.min(self.plan.len() - 1);
            self.iter = 0;
        }
        self.check_memory()?;
        self.retarget()
    }

    /// Pulls the result towards an image (the previous video frame, warped) from the next
    /// step on, or stops doing so (`None`). The prior must have the size of the last scale;
    /// it applies there only.
    pub fn set_prior(&mut self, prior: Option<Prior>) -> Result<()> {
        if let Some(p) = &prior {
            let last = self
                .plan
                .last()
                .expect("a plan has at least one stage")
                .size;
            let (w, h) = resize::fit_longer_side(self.content.width, self.content.height, last);
            if p.size() != (w, h) {
                return Err(Error::Usage(format!(
                    "the prior image is {}×{} but the result will be {w}×{h}",
                    p.size().0,
                    p.size().1
                )));
            }
        }
        self.prior = prior;
        if let Opt::Lbfgs(o) = &mut self.opt {
            o.forget_value();
        }
        Ok(())
    }

    /// The prior in force at the current scale: only the last scale has the prior's size.
    fn prior_at(&self, stage: usize) -> Option<&Prior> {
        self.prior.as_ref().filter(|_| stage + 1 >= self.plan.len())
    }

    /// Changes the blend weights of the styles (same order as given to [`Session::new`]).
    pub fn set_style_weights(&mut self, weights: &[f32]) -> Result<()> {
        if weights.len() != self.styles.len() {
            return Err(Error::Usage(format!(
                "{} style weights given for {} styles",
                weights.len(),
                self.styles.len()
            )));
        }
        for (s, &w) in self.styles.iter_mut().zip(weights) {
            s.weight = w;
        }
        self.opt = Self::new_opt(self.settings.optimizer);
        self.retarget()
    }

    /// Rebuilds the targets at the current stage's size (which a new plan may have changed),
    /// starting from the current image.
    fn retarget(&mut self) -> Result<()> {
        if let Some(sc) = self.scale.take() {
            let img = from_bgr_centered(&sc.x, sc.width, sc.height);
            let size = self.plan[self.stage.min(self.plan.len() - 1)].size;
            self.scale = Some(self.build_scale(size, Some(img))?);
        }
        Ok(())
    }

    /// The content photo as the optimisation sees it (luminance only in that mode).
    fn content_at(&self, w: usize, h: usize) -> Rgb {
        let c = resize::resize(&self.content, w, h);
        match self.settings.preserve_color {
            PreserveColor::Luminance => colour::luminance_only(&c),
            _ => c,
        }
    }

    /// A style image prepared for a result of longer side `size`.
    fn style_at(&self, style: &Rgb, content: &Rgb, size: usize) -> Rgb {
        let longer = ((size as f32 * self.settings.style_scale).round() as usize).max(16);
        let (w, h) = resize::fit_longer_side(style.width, style.height, longer);
        let s = resize::resize(style, w, h);
        match self.settings.preserve_color {
            PreserveColor::Off => s,
            PreserveColor::Histogram => colour::match_colour_stats(&s, content),
            PreserveColor::Luminance => {
                let y = colour::match_luminance(&colour::luma(&s), &colour::luma(content));
                Rgb::from_planes(w, h, [&y, &y, &y])
            }
        }
    }

    /// Targets, bounds and starting image for a scale of longer side `size`.
    fn build_scale(&self, size: usize, start: Option<Rgb>) -> Result<Scale> {
        let (w, h) = resize::fit_longer_side(self.content.width, self.content.height, size);
        let model = self.model;
        let content = self.content_at(w, h);
        let content_layers: Vec<_> = self
            .settings
            .content_layers
            .iter()
            .map(|&(l, _)| l)
            .collect();
        let style_layers: Vec<_> = self.settings.style_layers.iter().map(|&(l, _)| l).collect();
        let content_feats = model.features(&model.preprocess(&content)?, &content_layers)?;
        let total_w: f32 = self.styles.iter().map(|s| s.weight).sum();
        let mut style_grams: Vec<Tensor> = Vec::new();
        let reference = resize::resize(&self.content, w, h);
        for st in self.styles.iter().filter(|s| s.weight > 0.0) {
            let img = self.style_at(&st.image, &reference, size);
            let feats = model.features(&model.preprocess(&img)?, &style_layers)?;
            for (i, f) in feats.iter().enumerate() {
                let g = (loss::gram(f)? * (st.weight / total_w) as f64)?;
                if i < style_grams.len() {
                    style_grams[i] = style_grams[i].add(&g)?;
                } else {
                    style_grams.push(g);
                }
            }
        }
        let start = match start {
            Some(img) if img.width == w && img.height == h => img,
            Some(img) => with_detail(&img, &content),
            None => match &self.settings.init {
                Init::Content => content.clone(),
                Init::Image(img) => resize::resize(img, w, h),
                Init::Noise => noise(w, h, self.settings.seed),
            },
        };
        let mut x = to_bgr_centered(&start);
        let n = w * h;
        let mut lo = Vec::with_capacity(3 * n);
        let mut hi = Vec::with_capacity(3 * n);
        for m in MEAN_BGR {
            lo.extend(std::iter::repeat_n(-m, n));
            hi.extend(std::iter::repeat_n(255.0 - m, n));
        }
        let bounds = Bounds { lo, hi };
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

    /// Evaluates the losses and their gradient at the current image without moving it:
    /// one forward and backward pass (what `impasto bench` times).
    pub fn evaluate(&mut self) -> Result<Losses> {
        if self.scale.is_none() {
            let size = self.plan[self.stage.min(self.plan.len() - 1)].size;
            self.scale = Some(self.build_scale(size, None)?);
        }
        let sc = self.scale.as_ref().expect("scale built above");
        let targets = Targets {
            content: &sc.content_feats,
            style: &sc.style_grams,
            style_weight: self.style_weight(),
            prior: self.prior_at(self.stage),
        };
        let (l, _) = evaluate(
            self.model,
            &self.settings,
            &targets,
            &sc.x,
            sc.width,
            sc.height,
        )?;
        Ok(l)
    }

    /// Runs one optimiser iteration (building the next scale first when one is due).
    pub fn step(&mut self) -> Result<Report> {
        if self.done() {
            return Err(Error::Usage(
                "the run is finished; nothing left to step".into(),
            ));
        }
        if self.scale.is_none() || self.iter >= self.plan[self.stage].iters {
            if self.scale.is_some() {
                self.stage += 1;
                self.iter = 0;
                if self.done() {
                    return Err(Error::Usage(
                        "the run is finished; nothing left to step".into(),
                    ));
                }
            }
            let prev = self
                .scale
                .take()
                .map(|sc| from_bgr_centered(&sc.x, sc.width, sc.height))
                .map(|img| self.recolour_if_far(img));
            self.scale = Some(self.build_scale(self.plan[self.stage].size, prev)?);
            self.opt = Self::new_opt(self.settings.optimizer);
        }
        let beta = self.style_weight();
        let prior = self
            .prior
            .as_ref()
            .filter(|_| self.stage + 1 >= self.plan.len());
        let sc = self.scale.as_mut().expect("scale built above");
        let model = self.model;
        let settings = &self.settings;
        let (w, h) = (sc.width, sc.height);
        let mut last = Losses::default();
        let targets = Targets {
            content: &sc.content_feats,
            style: &sc.style_grams,
            style_weight: beta,
            prior,
        };
        let mut objective = |x: &[f32]| -> Result<(f64, Vec<f32>)> {
            let (l, g) = evaluate(model, settings, &targets, x, w, h)?;
            last = l;
            Ok((l.total, g))
        };
        let mut x = std::mem::take(&mut sc.x);
        let info = match &mut self.opt {
            Opt::Lbfgs(o) => o.step(&mut x, Some(&sc.bounds), &mut objective),
            Opt::Adam(o) => o.step(&mut x, Some(&sc.bounds), &mut objective),
        };
        sc.x = x;
        let info = info?;
        self.losses = Losses {
            total: info.loss,
            ..last
        };
        self.iter += 1;
        let stage = self.stage;
        let last_stage = stage + 1 == self.plan.len();
        let reached = self
            .settings
            .style_target
            .is_some_and(|t| self.losses.gram_cosine >= t as f64);
        if last_stage
            && (self.iter >= self.plan[stage].iters || (reached && self.iter >= MIN_FINAL_ITERS))
        {
            self.stage += 1;
        } else if last_stage && self.iter.is_multiple_of(CONTROL_EVERY) {
            self.raise_style_weight();
        }
        Ok(Report {
            stage,
            stages: self.plan.len(),
            width: w,
            height: h,
            iter: self.iter,
            stage_iters: self.plan[stage].iters,
            done_iters: self.plan[..stage].iter().map(|s| s.iters).sum::<usize>() + self.iter,
            total_iters: self.plan.iter().map(|s| s.iters).sum(),
            progress: self.progress(stage, self.iter),
            losses: self.losses,
            evals: info.evals,
            style_weight: beta,
        })
    }

    /// After the first scale, with a style target and the default start: when the match is
    /// still far from the target, the photo's colours are what holds it back (a night photo
    /// against a bright painting, say), and no β fixes that in the iterations left. The
    /// result is then recoloured to the main painting's colour mean and covariance.
    fn recolour_if_far(&self, img: Rgb) -> Rgb {
        let far = self
            .settings
            .style_target
            .is_some_and(|t| self.losses.gram_cosine < t as f64 - RECOLOUR_MARGIN);
        if self.stage != 1
            || !far
            || self.settings.init != Init::Content
            || self.settings.preserve_color != PreserveColor::Off
        {
            return img;
        }
        let main = self
            .styles
            .iter()
            .max_by(|a, b| a.weight.total_cmp(&b.weight))
            .expect("at least one style");
        colour::match_colour_stats(&img, &main.image)
    }

    /// β as set, times the style-match controller's factor.
    fn style_weight(&self) -> f64 {
        self.settings.style_weight as f64 * self.beta_scale
    }

    /// The style-match controller, run every few iterations at full size while the target is
    /// not reached: raises β by the squared ratio of the cosine's distance from 1 to the
    /// target's (at most ×4 at a time). The objective changes, so the optimiser restarts.
    fn raise_style_weight(&mut self) {
        let Some(target) = self.settings.style_target else {
            return;
        };
        let miss = ((1.0 - self.losses.gram_cosine).max(1e-6) / (1.0 - target as f64)).powi(2);
        let scale = (self.beta_scale * miss.min(CONTROL_STEP)).min(CONTROL_RANGE);
        if scale > self.beta_scale * 1.1 {
            self.beta_scale = scale;
            self.opt = Self::new_opt(self.settings.optimizer);
        }
    }

    /// Work done, weighting each iteration by its pixel count.
    fn progress(&self, stage: usize, iter: usize) -> f64 {
        let cost = |s: &Stage| (s.size * s.size) as f64;
        let total: f64 = self.plan.iter().map(|s| cost(s) * s.iters as f64).sum();
        let done: f64 = self.plan[..stage]
            .iter()
            .map(|s| cost(s) * s.iters as f64)
            .sum::<f64>()
            + cost(&self.plan[stage]) * iter as f64;
        (done / total).min(1.0)
    }

    /// The current result as an RGB image (at the current scale; the content itself before the
    /// first step). In luminance mode the photo's colours are put back.
    pub fn image(&self) -> Rgb {
        let Some(sc) = &self.scale else {
            return self.content.clone();
        };
        let img = from_bgr_centered(&sc.x, sc.width, sc.height);
        match self.settings.preserve_color {
            PreserveColor::Luminance => {
                let c = resize::resize(&self.content, sc.width, sc.height);
                colour::recombine(&img, &c)
            }
            _ => img,
        }
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
