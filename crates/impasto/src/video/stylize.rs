//! Frame-by-frame stylisation with temporal consistency (Ruder et al. 2016, adapted).
//!
//! The first frame is stylised like a photo (coarse to fine, with the style-match controller).
//! Every later frame starts from the previous result warped along the optical flow of the
//! input, with the regions the previous frame cannot supply (disocclusions, motion boundaries)
//! taken from the frame itself, and a temporal loss pulls the trusted pixels towards that
//! warped result. Starting so close to the answer, a later frame needs far fewer iterations.
//! β stays at the value the first frame settled on, so every frame has the same objective.

use crate::guide::{Guides, Mask};
use crate::image::{colour, Rgb};
use crate::model::vgg::Vgg19;
use crate::objective::Losses;
use crate::prior::Prior;
use std::sync::Arc;

use crate::session::{Report, Session, StyleTargets};
use crate::settings::{LossWeights, PreserveColor, Settings, Start};
use crate::video::{dense_flow, occlusion_mask, warp_rgb, Flow, FlowParams, Gray};
use crate::{Error, Result, Setting};

/// Default strength of the temporal loss (on squared differences in 0..255 pixel units).
pub const DEFAULT_TEMPORAL_WEIGHT: f32 = 1000.0;
/// Default iterations of each frame after the first.
pub const DEFAULT_LATER_ITERS: usize = 20;
/// Share of a frame newly given style by its masks (the previous result showed the photo
/// there) above which the frame is stylised coarse to fine like the first: a few iterations
/// at full size cannot paint a new region from the photo.
const NEW_REGION_SHARE: f64 = 0.02;

/// How a video is stylised.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct VideoSettings {
    /// The settings of the first frame, which starts from itself; later frames keep its size,
    /// layers and weights.
    pub first: Settings,
    /// Iterations of each later frame, at full size.
    pub later_iters: usize,
    /// Strength of the temporal loss (0: none).
    pub temporal_weight: f32,
    /// Start each later frame from the warped previous result (true), or from the frame
    /// itself with no temporal loss: plain frame-by-frame stylisation, for comparison.
    pub consistent: bool,
    /// Optical flow settings.
    pub flow: FlowParams,
}

impl Default for VideoSettings {
    fn default() -> Self {
        Self {
            first: Settings::default(),
            later_iters: DEFAULT_LATER_ITERS,
            temporal_weight: DEFAULT_TEMPORAL_WEIGHT,
            consistent: true,
            flow: FlowParams::default(),
        }
    }
}

/// One stylised frame and how it was made.
#[derive(Clone, Debug)]
pub struct Frame {
    /// The result, at the size of the input frame.
    pub image: Rgb,
    /// Optimiser iterations it took (0 where every mask is all black: the frame is the input).
    pub iters: usize,
    /// Loss terms at the end (all 0 where it took no iterations).
    pub losses: Losses,
    /// The β in force.
    pub style_weight: f64,
    /// Fraction of pixels the previous frame could not supply (0 for the first frame).
    pub occluded: f64,
    /// The input's flows to and from the previous frame, (this → previous, previous → this);
    /// `None` for the first frame. The warping error reuses them.
    pub flows: Option<(Flow, Flow)>,
}

/// The previous frame: its input (for the flow), its result (to warp) and where the result
/// showed the photo (its masks' photo share; `None`: nowhere).
struct Previous {
    gray: Gray,
    output: Rgb,
    share: Option<Mask>,
}

/// Stylises the frames of one video in order.
pub struct VideoStylizer<'m> {
    model: &'m Vgg19,
    /// The paintings; their Gram matrices are computed once for all frames.
    styles: Arc<StyleTargets>,
    settings: VideoSettings,
    prev: Option<Previous>,
    /// β settled on by the first frame.
    beta: Option<f64>,
    /// Where the styles go in the next frames.
    guides: Option<Guides>,
}

impl<'m> VideoStylizer<'m> {
    /// Checks the settings; nothing is computed until the first frame.
    pub fn new(
        model: &'m Vgg19,
        styles: Arc<StyleTargets>,
        settings: VideoSettings,
    ) -> Result<Self> {
        settings.first.validate()?;
        if settings.later_iters == 0 {
            return Err(Error::setting(
                Setting::LaterIters,
                0,
                "use at least 1 (e.g. 20)",
            ));
        }
        if !(settings.temporal_weight.is_finite() && settings.temporal_weight >= 0.0) {
            return Err(Error::setting(
                Setting::TemporalWeight,
                settings.temporal_weight,
                "use a finite number ≥ 0",
            ));
        }
        Ok(Self {
            model,
            styles,
            settings,
            prev: None,
            beta: None,
            guides: None,
        })
    }

    /// Places the styles in the frames from the next one on (one fixed mask set, or a new
    /// one before every frame), as [`Session::with_guides`] does; `None` styles the whole
    /// frame. A frame where every style's mask is all black is the input frame.
    pub fn set_guides(&mut self, guides: Option<Guides>) {
        self.guides = guides;
    }

    /// Continues after frames done earlier: the last input frame, its result, and the β
    /// the first frame settled on ([`Frame::style_weight`]).
    pub fn resume(&mut self, input: &Rgb, output: Rgb, style_weight: f64) {
        self.prev = Some(Previous {
            gray: Gray::from_rgb(input),
            output,
            share: self.photo_share(input),
        });
        self.beta = Some(style_weight);
    }

    /// Stylises the next frame; `on_step` sees every optimiser iteration.
    pub fn frame(&mut self, input: &Rgb, on_step: &mut dyn FnMut(&Report)) -> Result<Frame> {
        let gray = Gray::from_rgb(input);
        let share = self.photo_share(input);
        let (settings, start, prior, flows, occluded) = match (&self.prev, self.beta) {
            (Some(prev), Some(beta)) => {
                if (prev.gray.width, prev.gray.height) != (input.width, input.height) {
                    return Err(Error::Mismatch(format!(
                        "frame size changed from {}×{} to {}×{}",
                        prev.gray.width, prev.gray.height, input.width, input.height
                    )));
                }
                let (back, fwd) = rayon::join(
                    || dense_flow(&gray, &prev.gray, &self.settings.flow),
                    || dense_flow(&prev.gray, &gray, &self.settings.flow),
                );
                let mask = occlusion_mask(&back, &fwd);
                let occluded = mask.iter().filter(|&&m| m).count() as f64 / mask.len() as f64;
                let fresh = newly_styled(prev.share.as_ref(), share.as_ref(), &back);
                let fresh_share = fresh.iter().map(|&v| v as f64).sum::<f64>() / fresh.len() as f64;
                let first = &self.settings.first;
                // A region newly masked is painted from the photo as the first frame was,
                // coarse to fine; otherwise a few iterations at full size follow the motion.
                let (scales, iters) = match fresh_share > NEW_REGION_SHARE {
                    true => (first.scales.clone(), first.iters),
                    false => (Some(vec![first.size]), self.settings.later_iters),
                };
                let s = Settings {
                    scales,
                    iters,
                    weights: LossWeights {
                        style: beta as f32,
                        ..first.weights
                    },
                    style_target: None,
                    ..first.clone()
                };
                let mut prior = None;
                let mut start = Start::Content;
                if self.settings.consistent {
                    let mut warped = warp_rgb(&prev.output, &back);
                    let mut frame = input.clone();
                    // Luminance mode optimises a grey image and puts the photo's colours back
                    // afterwards: start and pull in that grey space.
                    if s.preserve_color == PreserveColor::Luminance {
                        warped = colour::luminance_only(&warped);
                        frame = colour::luminance_only(&frame);
                    }
                    start = Start::Image(fill_occluded(&warped, &frame, &mask));
                    if self.settings.temporal_weight > 0.0 {
                        // No pull towards the photo where the masks newly ask for style.
                        let weights = mask
                            .iter()
                            .zip(&fresh)
                            .map(|(&m, &f)| if m { 0.0 } else { 1.0 - f })
                            .collect();
                        prior = Some(Prior::new(&warped, weights, self.settings.temporal_weight)?);
                    }
                }
                (s, start, prior, Some((back, fwd)), occluded)
            }
            _ => (self.settings.first.clone(), Start::Content, None, None, 0.0),
        };
        let mut beta = self
            .beta
            .unwrap_or(self.settings.first.weights.style as f64);
        let (image, iters, losses) = match &self.guides {
            Some(g) if !g.masks.is_empty() && g.masks.iter().all(|m| m.coverage() == 0.0) => {
                (input.clone(), 0, Losses::default())
            }
            guides => {
                let mut session = Session::new(
                    self.model,
                    input.clone(),
                    self.styles.clone(),
                    settings,
                    start,
                )?;
                if let Some(g) = guides {
                    session = session.with_guides(g.clone())?;
                }
                session.set_prior(prior)?;
                let mut iters = 0;
                while !session.done() {
                    let r = session.step()?;
                    iters += 1;
                    beta = r.style_weight;
                    on_step(&r);
                }
                (session.image(), iters, session.losses())
            }
        };
        // β is settled by the first frame that has style to match.
        if iters > 0 {
            self.beta.get_or_insert(beta);
        }
        self.prev = Some(Previous {
            gray,
            output: image.clone(),
            share,
        });
        Ok(Frame {
            image,
            iters,
            losses,
            style_weight: beta,
            occluded,
            flows,
        })
    }
}

impl VideoStylizer<'_> {
    /// Where the result of `input` shows the photo, by the guides in force.
    fn photo_share(&self, input: &Rgb) -> Option<Mask> {
        let g = self.guides.as_ref()?;
        g.photo_share(input.width, input.height)
    }
}

/// Per pixel, how much the masks newly ask for style: the previous result's photo share,
/// warped along `back` (this frame → previous), less this frame's.
fn newly_styled(prev: Option<&Mask>, now: Option<&Mask>, back: &Flow) -> Vec<f32> {
    let n = back.width * back.height;
    let Some(prev) = prev else {
        return vec![0.0; n];
    };
    let plane = prev.values().iter().map(|&v| v * 255.0);
    let as_image = Rgb::new(
        prev.size().0,
        prev.size().1,
        plane.cycle().take(3 * n).collect(),
    );
    let warped = warp_rgb(&as_image, back);
    (0..n)
        .map(|i| {
            let was = warped.data[i] / 255.0;
            let is = now.map_or(0.0, |m| m.values()[i]);
            (was - is).clamp(0.0, 1.0)
        })
        .collect()
}

/// `warped` where the flow is trusted, `frame` where `occluded`.
fn fill_occluded(warped: &Rgb, frame: &Rgb, occluded: &[bool]) -> Rgb {
    let n = frame.pixel_count();
    let data = (0..3 * n)
        .map(|i| {
            if occluded[i % n] {
                frame.data[i]
            } else {
                warped.data[i]
            }
        })
        .collect();
    Rgb::new(frame.width, frame.height, data)
}
