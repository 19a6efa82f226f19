//! One stylisation of a video's frames (temporally consistent, or frame by frame for
//! comparison): its stylizer, its checkpointed frames and its warping error.

use std::time::Instant;

use impasto::guide::Guides;
use impasto::image::Rgb;
use impasto::Vgg19;
use std::sync::Arc;

use impasto::video::{VideoSettings, VideoStylizer, WarpingError};
use impasto::{Report, StyleTargets};
use impasto_io::{Error, Result};
use serde::Serialize;

use super::work::Work;
use crate::medical::{keep_anatomy, Anatomy};

/// A run over the frames, resumable from its work folder.
pub struct Run<'m> {
    name: &'static str,
    stylizer: VideoStylizer<'m>,
    metric: WarpingError,
    /// Frames finished by an earlier, interrupted run.
    resumed: usize,
    first_seconds: Option<f64>,
    later_seconds: Vec<f64>,
    later_iters: Vec<usize>,
    gram_cosine: Vec<f64>,
    occluded: Vec<f64>,
    last_seconds: f64,
    /// What the written frames keep of each input frame's light and shade (grey medical
    /// slices): `auto` settles on the first frame's share, which the later frames keep.
    anatomy: Option<Anatomy>,
}

/// What a run did, for the summary.
#[derive(Serialize)]
pub struct RunSummary {
    /// "styled" or "independent".
    pub name: &'static str,
    /// Mean warping error over frame pairs (Lai et al. 2018); `None` for a single frame.
    pub warping_error: Option<f64>,
    /// Frames taken from the work folder instead of stylised now.
    pub frames_resumed: usize,
    /// Seconds the first frame took (when stylised now).
    pub first_frame_seconds: Option<f64>,
    /// Mean seconds of the later frames stylised now.
    pub later_frame_seconds: Option<f64>,
    /// Mean iterations of the later frames stylised now.
    pub later_frame_iters: Option<f64>,
    /// Mean Gram cosine at the end of each frame stylised now (style matched, at frame size).
    pub gram_cosine: Option<f64>,
    /// Mean fraction of pixels the previous frame could not supply.
    pub occluded: Option<f64>,
}

impl<'m> Run<'m> {
    /// A run named `name` (its frames live in that folder of `work`).
    pub fn new(
        model: &'m Vgg19,
        styles: Arc<StyleTargets>,
        settings: VideoSettings,
        name: &'static str,
        work: &Work,
    ) -> Result<Self> {
        Ok(Self {
            name,
            stylizer: VideoStylizer::new(model, styles, settings)?,
            metric: WarpingError::default(),
            resumed: work.done(name),
            first_seconds: None,
            later_seconds: Vec::new(),
            later_iters: Vec::new(),
            gram_cosine: Vec::new(),
            occluded: Vec::new(),
            last_seconds: 0.0,
            anatomy: None,
        })
    }

    /// Frame `i`: taken from the work folder when an earlier run finished it, else stylised
    /// and saved there.
    pub fn frame(
        &mut self,
        i: usize,
        input: &Rgb,
        work: &mut Work,
        on_step: &mut dyn FnMut(&Report),
    ) -> Result<()> {
        if i < self.resumed {
            let output = work.load_frame(self.name, i)?;
            if i + 1 == self.resumed {
                let beta = work.style_weight(self.name).ok_or_else(|| {
                    Error::input(
                        work.dir(),
                        "the run record has no style weight for the finished frames; delete this folder to start over",
                    )
                })?;
                self.stylizer.resume(input, output.clone(), beta);
            }
            self.metric.push(input, &output)?;
            return Ok(());
        }
        let t = Instant::now();
        let f = self.stylizer.frame(input, on_step)?;
        // β first: a saved frame 0 always has its β recorded.
        if i == 0 {
            work.set_style_weight(self.name, f.style_weight)?;
        }
        let image = match self.anatomy {
            Some(k) => {
                let (image, share) = keep_anatomy(&f.image, input, k)?;
                self.anatomy = Some(Anatomy::Share(share));
                image
            }
            None => f.image.clone(),
        };
        work.save_frame(self.name, i, &image)?;
        match &f.flows {
            Some((back, fwd)) => self.metric.push_with_flows(&image, back, fwd)?,
            None => self.metric.push_first(&image)?,
        }
        self.last_seconds = t.elapsed().as_secs_f64();
        if i == 0 {
            self.first_seconds = Some(self.last_seconds);
        } else {
            self.later_seconds.push(self.last_seconds);
            self.later_iters.push(f.iters);
            self.occluded.push(f.occluded);
        }
        // A frame no mask covers took no iterations and has no style to match.
        if f.iters > 0 {
            self.gram_cosine.push(f.losses.gram_cosine);
        }
        Ok(())
    }

    /// Keeps each input frame's light and shade in the frames written as `anatomy` says;
    /// the stylizer carries on from its own results.
    pub fn set_anatomy(&mut self, anatomy: Option<Anatomy>) {
        self.anatomy = anatomy;
    }

    /// Places the styles in the frames from the next one on.
    pub fn set_guides(&mut self, guides: Option<Guides>) {
        self.stylizer.set_guides(guides);
    }

    /// Seconds the last frame stylised now took.
    pub fn last_seconds(&self) -> f64 {
        self.last_seconds
    }

    /// The run's figures.
    pub fn summary(&self) -> RunSummary {
        RunSummary {
            name: self.name,
            warping_error: self.metric.value(),
            frames_resumed: self.resumed,
            first_frame_seconds: self.first_seconds,
            later_frame_seconds: mean(&self.later_seconds),
            later_frame_iters: mean(
                &self
                    .later_iters
                    .iter()
                    .map(|&n| n as f64)
                    .collect::<Vec<_>>(),
            ),
            gram_cosine: mean(&self.gram_cosine),
            occluded: mean(&self.occluded),
        }
    }
}

impl RunSummary {
    /// One line for the terminal.
    pub fn line(&self) -> String {
        let f = |v: Option<f64>, unit: &str| v.map_or("–".into(), |v| format!("{v:.2}{unit}"));
        format!(
            "{:<11} warping error {}  first frame {}  later frames {} each ({} iterations)  Gram cosine {}{}",
            self.name,
            self.warping_error.map_or("–".into(), |v| format!("{v:.5}")),
            f(self.first_frame_seconds, " s"),
            f(self.later_frame_seconds, " s"),
            self.later_frame_iters.map_or("–".into(), |v| format!("{v:.0}")),
            self.gram_cosine.map_or("–".into(), |v| format!("{v:.3}")),
            if self.frames_resumed > 0 {
                format!("  ({} frames resumed)", self.frames_resumed)
            } else {
                String::new()
            }
        )
    }
}

fn mean(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}
