//! A stylisation that front ends step: one optimiser iteration per [`Session::step`], with the
//! coarse-to-fine schedule, targets and optimiser state kept inside. Settings can change
//! between steps without starting over, and steering a finished run continues it.
//!
//! `styles.rs` holds the paintings and their shared Gram matrices ([`StyleTargets`]),
//! `scale.rs` builds one scale's targets and image, `control.rs` is the style-match
//! controller, `state.rs` what a checkpoint saves ([`Session::state`], [`Session::restore`]).

mod control;
mod scale;
pub(crate) mod state;
mod styles;

use std::sync::Arc;

pub use state::{Array, Arrays, OptimizerState, OwnedArray, RunState};
pub use styles::{Style, StyleTargets};

use crate::guide::Guides;
use crate::image::{colour, resize, Rgb};
use crate::model::vgg::{from_bgr_centered, Vgg19};
use crate::objective::{evaluate, evaluate_tiled, Losses, Targets};
use crate::optim::{adam::Adam, lbfgs::Lbfgs};
use crate::plan::{self, Layout, ScalePlan};
use crate::prior::Prior;
use crate::schedule::{self, Stage};
use crate::settings::{Change, Optimizer, PreserveColor, Settings, Start};
use crate::{Error, Result, Setting};
use control::{recolour_if_far, StyleControl, CONTROL_EVERY};
use scale::{Scale, ScaleInputs};

/// Iterations at full size before a reached style target may end the run.
const MIN_FINAL_ITERS: usize = 2;

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

impl Opt {
    fn new(o: Optimizer, layout: Layout) -> Opt {
        match o {
            Optimizer::Lbfgs => Opt::Lbfgs(Lbfgs::with_history(layout.history, layout.storage)),
            Optimizer::Adam { lr } => Opt::Adam(Adam::new(lr)),
        }
    }

    /// Forgets the last objective value (the objective changed), keeping the curvature.
    fn forget_value(&mut self) {
        if let Opt::Lbfgs(o) = self {
            o.forget_value();
        }
    }
}

/// A running stylisation.
pub struct Session<'m> {
    model: &'m Vgg19,
    content: Rgb,
    styles: Arc<StyleTargets>,
    /// Blend weights of the styles, in their order.
    weights: Vec<f32>,
    settings: Settings,
    start: Start,
    plan: Vec<Stage>,
    /// How each stage runs in the memory budget.
    layouts: Vec<ScalePlan>,
    stage: usize,
    iter: usize,
    scale: Option<Scale>,
    opt: Opt,
    losses: Losses,
    control: StyleControl,
    /// An image the result is pulled towards (video's temporal loss).
    prior: Option<Prior>,
    /// Where the styles go, if the run is guided.
    guides: Option<Guides>,
}

impl<'m> Session<'m> {
    /// Prepares a run of `content` in the styles of `styles` (with their default blend
    /// weights) from `start`; nothing is computed until the first [`Session::step`].
    pub fn new(
        model: &'m Vgg19,
        content: Rgb,
        styles: Arc<StyleTargets>,
        settings: Settings,
        start: Start,
    ) -> Result<Self> {
        settings.validate()?;
        let plan = plan_for(&settings)?;
        let weights = styles.styles().iter().map(|s| s.weight).collect();
        let layouts = lay_out(model, &content, &settings, &plan)?;
        Ok(Self {
            model,
            content,
            styles,
            weights,
            opt: Opt::new(settings.optimizer, layouts[0].layout),
            settings,
            start,
            plan,
            layouts,
            stage: 0,
            iter: 0,
            scale: None,
            losses: Losses::default(),
            control: StyleControl::default(),
            prior: None,
            guides: None,
        })
    }

    /// Places the styles: each over its mask on the photo (one per style, in the order of the
    /// [`StyleTargets`]), and none over the kept regions, where the result is the photo. A
    /// mask is the photo's size or its shape; a style whose mask is all black is not used
    /// (a video's subject may leave the frame), but some mask must cover something.
    pub fn with_guides(mut self, guides: Guides) -> Result<Self> {
        let styles = self.styles.styles().len();
        if !guides.masks.is_empty() && guides.masks.len() != styles {
            return Err(Error::setting(
                Setting::Masks,
                format!("{} for {styles} styles", guides.masks.len()),
                "give one mask per style, or none",
            ));
        }
        for m in &guides.masks {
            styles::check_shape(m, &self.content, Setting::Masks)?;
        }
        if !guides.masks.is_empty() && guides.masks.iter().all(|m| m.coverage() == 0.0) {
            return Err(Error::setting(
                Setting::Masks,
                "that are all black",
                "a mask must cover part of its image (white where the style goes)",
            ));
        }
        if let Some(k) = &guides.keep {
            styles::check_shape(k, &self.content, Setting::Keep)?;
            if k.coverage() == 0.0 {
                return Err(Error::setting(
                    Setting::Keep,
                    "that is all black",
                    "paint white where the photo stays, or leave the kept region out",
                ));
            }
            if k.coverage() >= 1.0 {
                return Err(Error::setting(
                    Setting::Keep,
                    "that is all white",
                    "a kept region leaves no room for the style: keep part of the photo",
                ));
            }
        }
        self.guides = Some(guides);
        self.scale = None;
        Ok(self)
    }

    /// How each scale runs (whole or in tiles, the optimiser's history) and its estimated
    /// peak memory: the plan `--plan` shows.
    pub fn memory_plan(&self) -> &[ScalePlan] {
        &self.layouts
    }

    /// Where the run stands and the arrays to save beside it (the image, the optimiser's
    /// vectors), for a checkpoint; `None` before the first step and once finished.
    pub fn state(&self) -> Option<(RunState, Vec<(String, Array<'_>)>)> {
        let sc = self.scale.as_ref().filter(|_| !self.done())?;
        let mut arrays = vec![("x".to_string(), Array::F32(&sc.x))];
        let optimizer = match &self.opt {
            Opt::Lbfgs(o) => o.save(&mut arrays),
            Opt::Adam(o) => o.save(&mut arrays),
        };
        let state = RunState {
            stage: self.stage,
            iter: self.iter,
            width: sc.width,
            height: sc.height,
            style_scale: self.control.scale,
            losses: self.losses,
            optimizer,
        };
        Some((state, arrays))
    }

    /// Continues from a checkpoint of a run with the same inputs and settings: the scale is
    /// rebuilt at the saved stage and the image and optimiser take the saved values, so the
    /// run goes on exactly as it would have.
    pub fn restore(&mut self, state: &RunState, mut arrays: Arrays) -> Result<()> {
        if state.stage >= self.plan.len() {
            return Err(state::mismatch(format!(
                "it is at scale {} of a run with {}",
                state.stage + 1,
                self.plan.len()
            )));
        }
        self.stage = state.stage;
        self.iter = state.iter;
        self.control.scale = state.style_scale;
        self.losses = state.losses;
        self.opt = self.new_opt();
        let mut sc = self
            .inputs()
            .build(self.plan[self.stage].size, None, &self.start)?;
        if (sc.width, sc.height) != (state.width, state.height) {
            return Err(state::mismatch(format!(
                "its image is {}×{} where this run's is {}×{}",
                state.width, state.height, sc.width, sc.height
            )));
        }
        let len = sc.x.len();
        sc.x = state::take_f32(&mut arrays, "x", len)?;
        match (&mut self.opt, &state.optimizer) {
            (Opt::Lbfgs(o), OptimizerState::Lbfgs { rhos, value }) => {
                o.restore(rhos, *value, &mut arrays, len)?
            }
            (Opt::Adam(o), OptimizerState::Adam { t }) => o.restore(*t, &mut arrays, len)?,
            _ => return Err(state::mismatch("it was made with another optimiser".into())),
        }
        self.scale = Some(sc);
        Ok(())
    }

    /// The optimiser for the current stage.
    fn new_opt(&self) -> Opt {
        let stage = self.stage.min(self.plan.len() - 1);
        Opt::new(self.settings.optimizer, self.layouts[stage].layout)
    }

    /// The settings in force.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The coarse-to-fine plan.
    pub fn plan(&self) -> &[Stage] {
        &self.plan
    }

    /// True once every planned iteration has run (or the style target ended the run).
    pub fn done(&self) -> bool {
        self.stage >= self.plan.len()
    }

    /// The loss terms after the last step.
    pub fn losses(&self) -> Losses {
        self.losses
    }

    /// Replaces the settings; the run continues from the current image. What is redone
    /// depends on [`Settings::change_from`]: new loss weights take effect at the next step,
    /// new targets are rebuilt at the current scale, a new schedule restarts the current
    /// scale's iterations. A finished run continues with the last scale's iterations.
    pub fn set_settings(&mut self, settings: Settings) -> Result<()> {
        settings.validate()?;
        let change = settings.change_from(&self.settings);
        let plan = plan_for(&settings)?;
        self.layouts = lay_out(self.model, &self.content, &settings, &plan)?;
        self.settings = settings;
        if self.done() {
            self.plan = plan;
            return self.reopen();
        }
        match change {
            Change::None => Ok(()),
            Change::Weights => {
                if self.scale.is_some() {
                    self.opt.forget_value();
                    Ok(())
                } else {
                    self.rebuild(plan, false)
                }
            }
            Change::Targets => self.rebuild(plan, false),
            Change::Schedule => self.rebuild(plan, true),
        }
    }

    /// Changes the blend weights of the styles (same order as in [`StyleTargets`]). The
    /// targets are rebuilt at the current scale; a finished run continues.
    pub fn set_style_weights(&mut self, weights: &[f32]) -> Result<()> {
        if weights.len() != self.weights.len() {
            return Err(Error::Internal(format!(
                "{} style weights given for {} styles",
                weights.len(),
                self.weights.len()
            )));
        }
        styles::check_weights(weights)?;
        self.weights = weights.to_vec();
        if self.done() {
            return self.reopen();
        }
        self.opt = self.new_opt();
        self.retarget()
    }

    /// Takes a new plan: the optimiser restarts and the targets are rebuilt from the current
    /// image; `restart_scale` (or a stage past the new plan's end) starts the scale over.
    fn rebuild(&mut self, plan: Vec<Stage>, restart_scale: bool) -> Result<()> {
        self.plan = plan;
        self.opt = self.new_opt();
        if restart_scale || self.stage >= self.plan.len() {
            self.stage = self.stage.min(self.plan.len() - 1);
            self.iter = 0;
        }
        self.retarget()
    }

    /// Continues a finished run: the last scale's iterations run again from the current image.
    fn reopen(&mut self) -> Result<()> {
        self.stage = self.plan.len() - 1;
        self.iter = 0;
        self.opt = self.new_opt();
        self.retarget()
    }

    /// Pulls the result towards an image (the previous video frame, warped) from the next
    /// step on, or stops doing so (`None`). The prior must have the size of the last scale;
    /// it applies there only.
    pub fn set_prior(&mut self, prior: Option<Prior>) -> Result<()> {
        if let Some(p) = &prior {
            let last = self.plan[self.plan.len() - 1].size;
            let (w, h) = resize::fit_longer_side(self.content.width, self.content.height, last);
            if p.size() != (w, h) {
                return Err(Error::Internal(format!(
                    "the prior image is {}×{} but the result will be {w}×{h}",
                    p.size().0,
                    p.size().1
                )));
            }
        }
        self.prior = prior;
        self.opt.forget_value();
        Ok(())
    }

    /// The prior in force at `stage`: only the last scale has the prior's size.
    fn prior_at(&self, stage: usize) -> Option<&Prior> {
        self.prior.as_ref().filter(|_| stage + 1 >= self.plan.len())
    }

    /// What the current scale is built from.
    fn inputs(&self) -> ScaleInputs<'_> {
        ScaleInputs {
            model: self.model,
            content: &self.content,
            styles: &self.styles,
            weights: &self.weights,
            settings: &self.settings,
            guides: self.guides.as_ref(),
            budget: plan::forward_budget(
                &self.settings,
                plan::fixed_bytes(
                    self.model.precision(),
                    self.content.width * self.content.height,
                ),
            ),
        }
    }

    /// Size of the scale the run is at (the last one once finished).
    fn current_size(&self) -> usize {
        self.plan[self.stage.min(self.plan.len() - 1)].size
    }

    /// Rebuilds the targets at the current stage's size (which a new plan may have changed),
    /// starting from the current image.
    fn retarget(&mut self) -> Result<()> {
        if let Some(sc) = self.scale.take() {
            let img = from_bgr_centered(&sc.x, sc.width, sc.height);
            self.scale = Some(
                self.inputs()
                    .build(self.current_size(), Some(img), &self.start)?,
            );
        }
        Ok(())
    }

    /// Evaluates the losses and their gradient at the current image without moving it:
    /// one forward and backward pass (what `impasto bench` times).
    pub fn evaluate(&mut self) -> Result<Losses> {
        self.evaluate_batch(1)
    }

    /// [`Session::evaluate`] on a batch of `n` copies of the current image, in one batched
    /// pass, as training runs a batch of crops (what `impasto bench --batch` times). A prior
    /// image (video) applies only to a batch of one.
    pub fn evaluate_batch(&mut self, n: usize) -> Result<Losses> {
        if self.scale.is_none() {
            self.scale = Some(
                self.inputs()
                    .build(self.current_size(), None, &self.start)?,
            );
        }
        let sc = self.scale.as_ref().expect("scale built above");
        let targets = Targets {
            size: (sc.width, sc.height),
            content: &sc.content_feats,
            style: &sc.style_grams,
            guided: &sc.guided,
            style_weight: self.style_weight(),
            prior: self.prior_at(self.stage).filter(|_| n == 1),
        };
        let layout = self.layouts[self.stage.min(self.plan.len() - 1)].layout;
        let (l, _) = match layout.grid {
            Some(grid) if n <= 1 => evaluate_tiled(
                self.model,
                &self.settings,
                &targets,
                &sc.x,
                grid,
                &mut |_, _| {},
            )?,
            _ => evaluate(self.model, &self.settings, &targets, &sc.x.repeat(n.max(1)))?,
        };
        Ok(l)
    }

    /// Runs one optimiser iteration (building the next scale first when one is due).
    pub fn step(&mut self) -> Result<Report> {
        self.step_with(&mut |_, _| {})
    }

    /// [`Session::step`], calling `on_tile(done, total)` after each tile of an evaluation
    /// that runs in tiles (a print-size step takes minutes: front ends show where it is).
    pub fn step_with(&mut self, on_tile: &mut dyn FnMut(usize, usize)) -> Result<Report> {
        if self.done() {
            return Err(finished());
        }
        if self.scale.is_none() || self.iter >= self.plan[self.stage].iters {
            if self.scale.is_some() {
                self.stage += 1;
                self.iter = 0;
                if self.done() {
                    return Err(finished());
                }
            }
            let prev = self
                .scale
                .take()
                .map(|sc| from_bgr_centered(&sc.x, sc.width, sc.height))
                .map(|img| self.recolour_after_first(img));
            let size = self.plan[self.stage].size;
            // The last scale's optimiser goes before the next scale's targets are built.
            self.opt = self.new_opt();
            self.scale = Some(self.inputs().build(size, prev, &self.start)?);
        }
        let beta = self.style_weight();
        let last_stage = self.stage + 1 >= self.plan.len();
        let prior = self.prior.as_ref().filter(|_| last_stage);
        let sc = self.scale.as_mut().expect("scale built above");
        let model = self.model;
        let settings = &self.settings;
        let (w, h) = (sc.width, sc.height);
        let mut last = Losses::default();
        let targets = Targets {
            size: (w, h),
            content: &sc.content_feats,
            style: &sc.style_grams,
            guided: &sc.guided,
            style_weight: beta,
            prior,
        };
        let grid = self.layouts[self.stage].layout.grid;
        let mut objective = |x: &[f32]| -> Result<(f64, Vec<f32>)> {
            let (l, g) = match grid {
                Some(grid) => evaluate_tiled(model, settings, &targets, x, grid, on_tile)?,
                None => evaluate(model, settings, &targets, x)?,
            };
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
        let target = self.settings.style_target;
        let reached = target.is_some_and(|t| self.losses.gram_cosine >= t as f64);
        if last_stage
            && (self.iter >= self.plan[stage].iters || (reached && self.iter >= MIN_FINAL_ITERS))
        {
            self.stage += 1;
        } else if last_stage && self.iter.is_multiple_of(CONTROL_EVERY) {
            if let Some(t) = target {
                if self.control.raise(self.losses.gram_cosine, t) {
                    self.opt = self.new_opt();
                }
            }
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

    /// The first scale's result, recoloured to the main painting when it ended far below the
    /// style target (with the photo as start and the painting's own colours).
    fn recolour_after_first(&self, img: Rgb) -> Rgb {
        let Some(target) = self.settings.style_target else {
            return img;
        };
        if self.stage != 1
            || self.start != Start::Content
            || self.settings.preserve_color != PreserveColor::Off
        {
            return img;
        }
        let (main, _) = self
            .styles
            .styles()
            .iter()
            .zip(&self.weights)
            .max_by(|a, b| a.1.total_cmp(b.1))
            .expect("at least one style");
        recolour_if_far(img, self.losses.gram_cosine, target, &main.image)
    }

    /// β as set, times the style-match controller's factor.
    fn style_weight(&self) -> f64 {
        self.settings.weights.style as f64 * self.control.scale
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
        let img = match self.settings.preserve_color {
            PreserveColor::Luminance => {
                let c = resize::resize(&self.content, sc.width, sc.height);
                colour::recombine(&img, &c)
            }
            _ => img,
        };
        match self.guides.as_ref() {
            Some(g) => g.show_photo(img, &self.content),
            None => img,
        }
    }
}

/// The layout of every stage of `plan` in the memory budget of `settings`; a stage that
/// cannot fit is refused with the largest size that would.
fn lay_out(
    model: &Vgg19,
    content: &Rgb,
    settings: &Settings,
    plan: &[Stage],
) -> Result<Vec<ScalePlan>> {
    let budget = settings.max_memory.unwrap_or_else(plan::default_budget);
    let fixed = plan::fixed_bytes(model.precision(), content.width * content.height);
    let layers = settings.layers();
    let fit = |size| resize::fit_longer_side(content.width, content.height, size);
    let scale_budget = budget.saturating_sub(fixed);
    let mut out = Vec::with_capacity(plan.len());
    // Without a budget of the user's, a run keeps to the default peak where it can.
    let preferred = match settings.max_memory {
        Some(_) => None,
        None => Some(
            plan::DEFAULT_PEAK_BYTES
                .saturating_sub(fixed)
                .min(scale_budget),
        ),
    };
    for stage in plan {
        let (w, h) = fit(stage.size);
        let layout_in =
            |budget| plan::layout_for(w, h, settings, model.store(), budget, stage.iters);
        let Some((layout, bytes)) = preferred
            .and_then(layout_in)
            .or_else(|| layout_in(scale_budget))
        else {
            let mut ok = stage.size;
            while ok > 16 {
                ok = ok * 9 / 10;
                let (w, h) = fit(ok);
                if plan::layout_for(w, h, settings, model.store(), scale_budget, stage.iters)
                    .is_some()
                {
                    break;
                }
            }
            let leanest = plan::leanest_bytes(w, h, settings, model.store());
            return Err(Error::TooLarge {
                width: w,
                height: h,
                needed: fixed + leanest,
                available: budget,
                fits: ok,
            });
        };
        let tiles = match layout.grid {
            Some(g) => g.tiles(w, h, &layers)?.len(),
            None => 1,
        };
        out.push(ScalePlan {
            width: w,
            height: h,
            iters: stage.iters,
            layout,
            tiles,
            peak_bytes: fixed + bytes,
            work_px: plan::work_px(w, h, layout, &layers),
        });
    }
    Ok(out)
}

/// The scales and iterations `settings` ask for.
fn plan_for(settings: &Settings) -> Result<Vec<Stage>> {
    let scales = match &settings.scales {
        Some(s) => s.clone(),
        None => schedule::default_scales(settings.size),
    };
    schedule::plan(&scales, settings.iters)
}

/// The error for a step asked of a finished run (front ends check [`Session::done`]).
fn finished() -> Error {
    Error::Internal("step called on a finished run".into())
}
