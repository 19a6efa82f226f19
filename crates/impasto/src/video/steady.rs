//! Steadying a video stylised frame by frame in one pass: each output frame blends the
//! network's result with the previous output warped along the optical flow of the input,
//! where that flow can be trusted.
//!
//! For frame `t` with network result `y_t`, `o_t = y_t + b·m·(warp(o_{t-1}) − y_t)`: `b` is
//! [`SteadySettings::blend`] and `m` is 0 where [`occlusion_mask`] flags the pixel and falls
//! from 1 to 0 as the input's luma after the warp differs from frame `t` by up to
//! [`SteadySettings::luma_tolerance`] (a wrong flow the round trip missed, a change of light).
//! The flow is estimated on the input shrunk by `2^flow_halvings` and scaled back up.

use rayon::prelude::*;

use super::flow::{dense_flow, Flow, FlowParams};
use super::gray::{sample_plane, Gray};
use super::warp::{occlusion_mask, warp_rgb, ROWS_PER_JOB};
use crate::image::Rgb;
use crate::{Error, Result, Setting};

/// Default [`SteadySettings::blend`]: on a 640×360 pan, flicker (warping error) fell to 0.30×,
/// 0.20×, 0.17×, 0.16× of frame by frame at 0.5, 0.7, 0.8, 0.9 while the departure from the
/// frame-by-frame result (lag, smear) grew 2.6, 3.7, 4.5, 5.7 levels: 0.7 is the knee.
pub const DEFAULT_BLEND: f32 = 0.7;
/// Default [`SteadySettings::flow_halvings`]: flow at a quarter of the size (640×360 → 160×90)
/// costs under half of half size and steadies about as well.
pub const DEFAULT_FLOW_HALVINGS: usize = 2;
/// Default [`SteadySettings::luma_tolerance`].
pub const DEFAULT_LUMA_TOLERANCE: f32 = 24.0;

/// How frames are steadied.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct SteadySettings {
    /// Weight of the warped previous output where the flow is trusted, in `[0, 1)`; 0 gives
    /// plain frame-by-frame output.
    pub blend: f32,
    /// The flow is estimated at `1 / 2^flow_halvings` of the frame size.
    pub flow_halvings: usize,
    /// Luma difference (0..255) after the warp at which a pixel stops being trusted.
    pub luma_tolerance: f32,
    /// Optical flow settings.
    pub flow: FlowParams,
}

impl Default for SteadySettings {
    fn default() -> Self {
        Self {
            blend: DEFAULT_BLEND,
            flow_halvings: DEFAULT_FLOW_HALVINGS,
            luma_tolerance: DEFAULT_LUMA_TOLERANCE,
            flow: FlowParams::default(),
        }
    }
}

/// One steadied frame.
#[derive(Clone, Debug)]
pub struct Steadied {
    /// The output frame.
    pub image: Rgb,
    /// How the frame follows the previous one; `None` for the first frame. The warping
    /// error reuses it.
    pub motion: Option<Motion>,
    /// Fraction of pixels that took nothing from the previous output (0 for the first frame).
    pub fresh: f64,
}

/// How a frame follows the previous one, at frame size.
#[derive(Clone, Debug)]
pub struct Motion {
    /// The input's flow from this frame to the previous one.
    pub back: Flow,
    /// The input's flow from the previous frame to this one.
    pub fwd: Flow,
    /// The pixels the previous frame cannot supply ([`occlusion_mask`] of the two flows).
    pub occluded: Vec<bool>,
    /// The previous output warped into this frame along `back`.
    pub warped: Rgb,
}

/// The previous frame: its input (luma at frame size and at flow size) and its output.
struct Previous {
    gray: Gray,
    small: Gray,
    output: Rgb,
}

/// Steadies the frames of one video, fed in order.
pub struct Steadier {
    settings: SteadySettings,
    prev: Option<Previous>,
}

impl Steadier {
    /// A steadier for a new video.
    ///
    /// # Errors
    /// [`Error::Setting`] if `blend` is outside `[0, 1)` or `luma_tolerance` is not positive.
    pub fn new(settings: SteadySettings) -> Result<Self> {
        if !(0.0..1.0).contains(&settings.blend) {
            return Err(Error::setting(
                Setting::TemporalWeight,
                settings.blend.to_string(),
                "the steadiness (weight of the previous output) must be at least 0 and below 1",
            ));
        }
        if settings.luma_tolerance.is_nan() || settings.luma_tolerance <= 0.0 {
            return Err(Error::setting(
                Setting::TemporalWeight,
                settings.luma_tolerance.to_string(),
                "the luma tolerance must be positive",
            ));
        }
        Ok(Self {
            settings,
            prev: None,
        })
    }

    /// The output for the input frame `input` whose frame-by-frame result is `styled`.
    ///
    /// # Errors
    /// [`Error::Mismatch`] if `input` and `styled` differ in size or from the previous frame.
    pub fn push(&mut self, input: &Rgb, styled: Rgb) -> Result<Steadied> {
        let size = (input.width, input.height);
        let prev_size = self.prev.as_ref().map(|p| (p.gray.width, p.gray.height));
        if (styled.width, styled.height) != size || prev_size.is_some_and(|s| s != size) {
            return Err(Error::Mismatch(format!(
                "steadying: input {}x{}, result {}x{}, previous frame {:?}",
                size.0, size.1, styled.width, styled.height, prev_size
            )));
        }
        let gray = Gray::from_rgb(input);
        let small = (0..self.settings.flow_halvings).fold(gray.clone(), |g, _| g.half());
        let (image, motion, fresh) = match self.prev.take() {
            None => (styled, None, 0.0),
            Some(prev) => {
                let (back, fwd) = rayon::join(
                    || dense_flow(&small, &prev.small, &self.settings.flow),
                    || dense_flow(&prev.small, &small, &self.settings.flow),
                );
                let scale = 1 << self.settings.flow_halvings;
                let (back, fwd) = rayon::join(
                    || upscale(&back, size, scale),
                    || upscale(&fwd, size, scale),
                );
                let (occluded, warped) = rayon::join(
                    || occlusion_mask(&back, &fwd),
                    || warp_rgb(&prev.output, &back),
                );
                let trust = self.trust(&gray, &prev.gray, &back, &occluded);
                let fresh = trust.iter().filter(|&&t| t == 0.0).count() as f64 / trust.len() as f64;
                let image = blend(styled, &warped, &trust);
                let motion = Motion {
                    back,
                    fwd,
                    occluded,
                    warped,
                };
                (image, Some(motion), fresh)
            }
        };
        self.prev = Some(Previous {
            gray,
            small,
            output: image.clone(),
        });
        Ok(Steadied {
            image,
            motion,
            fresh,
        })
    }

    /// Per pixel, the weight of the warped previous output: `blend` times the luma falloff,
    /// 0 where occluded.
    fn trust(&self, gray: &Gray, prev: &Gray, back: &Flow, occluded: &[bool]) -> Vec<f32> {
        let s = &self.settings;
        let (w, h) = (gray.width, gray.height);
        let mut trust = vec![0.0; w * h];
        trust
            .par_chunks_mut(w.max(1))
            .enumerate()
            .with_min_len(ROWS_PER_JOB)
            .for_each(|(y, row)| {
                for (x, t) in row.iter_mut().enumerate() {
                    let i = y * w + x;
                    if occluded[i] {
                        continue;
                    }
                    let (sx, sy) = (x as f32 + back.u[i], y as f32 + back.v[i]);
                    let seen = sample_plane(&prev.data, w, h, sx, sy);
                    let falloff = (1.0 - (seen - gray.data[i]).abs() / s.luma_tolerance).max(0.0);
                    *t = s.blend * falloff;
                }
            });
        trust
    }
}

/// `styled + trust·(warped − styled)`, per pixel and channel.
fn blend(mut styled: Rgb, warped: &Rgb, trust: &[f32]) -> Rgb {
    let w = styled.width.max(1);
    for c in 0..3 {
        styled
            .plane_mut(c)
            .par_chunks_mut(w)
            .zip(warped.plane(c).par_chunks(w))
            .zip(trust.par_chunks(w))
            .with_min_len(ROWS_PER_JOB)
            .for_each(|((v, o), t)| {
                for ((v, &o), &t) in v.iter_mut().zip(o).zip(t) {
                    *v += t * (o - *v);
                }
            });
    }
    styled
}

/// A flow estimated on frames shrunk `scale` times by box averaging, at frame size `size`:
/// bilinear, displacements multiplied by `scale`.
fn upscale(flow: &Flow, size: (usize, usize), scale: usize) -> Flow {
    if scale == 1 {
        return flow.clone();
    }
    let (w, h) = size;
    let s = scale as f32;
    let mut out = Flow::zeros(w, h);
    out.u
        .par_chunks_mut(w.max(1))
        .zip(out.v.par_chunks_mut(w.max(1)))
        .enumerate()
        .with_min_len(ROWS_PER_JOB)
        .for_each(|(y, (us, vs))| {
            let sy = (y as f32 + 0.5) / s - 0.5;
            for (x, (u, v)) in us.iter_mut().zip(vs).enumerate() {
                let (fu, fv) = flow.sample((x as f32 + 0.5) / s - 0.5, sy);
                (*u, *v) = (s * fu, s * fv);
            }
        });
    out
}
