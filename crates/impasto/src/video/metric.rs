//! The warping error, a measure of a stylised video's temporal consistency (Lai et al.,
//! "Learning Blind Video Temporal Consistency", ECCV 2018).
//!
//! For each pair of consecutive frames `t`, `t+1`, output frame `O_t` is warped into frame
//! `t+1` along the flow of the *input* video from `t+1` to `t`, and the squared difference to
//! `O_{t+1}` (samples scaled to `[0, 1]`) is averaged over the three channels and the pixels
//! that frame `t` can supply: those not flagged by [`occlusion_mask`], which also leaves out
//! pixels whose source lies outside frame `t` (content entering the view in a pan does not
//! count against the stylisation). The video's value is the mean of the per-pair values;
//! lower is more consistent, 0 for output that moves exactly with its input.

use super::flow::{dense_flow, Flow, FlowParams};
use super::gray::Gray;
use super::warp::{occlusion_mask, warp_rgb};
use crate::image::Rgb;
use crate::{Error, Result};

/// Streams a video's warping error: push the (input, output) frames in order.
///
/// Only the previous frame's input (as [`Gray`]) and output are kept, so memory does not grow
/// with the video's length (beyond one `f64` per pair for [`per_pair`](Self::per_pair)).
#[derive(Clone, Debug)]
pub struct WarpingError {
    params: FlowParams,
    /// The previous input frame, when it was given (by [`push`](Self::push)); `Some` only
    /// with `prev_output`.
    prev_input: Option<Gray>,
    /// The previous output frame.
    prev_output: Option<Rgb>,
    per_pair: Vec<f64>,
    skipped: usize,
}

impl Default for WarpingError {
    /// Flow estimated with [`FlowParams::default`].
    fn default() -> Self {
        WarpingError::new(FlowParams::default())
    }
}

impl WarpingError {
    /// An empty measurement whose flows [`push`](Self::push) estimates with `params`.
    pub fn new(params: FlowParams) -> Self {
        WarpingError {
            params,
            prev_input: None,
            prev_output: None,
            per_pair: Vec::new(),
            skipped: 0,
        }
    }

    /// Adds the next frame: `input` is the source frame, `output` its stylisation. The flows
    /// between the previous input and this one are estimated here (both directions in parallel).
    ///
    /// # Errors
    /// [`Error::Mismatch`] if `input` and `output` differ in size or from the previous
    /// frame; [`Error::Internal`] if the previous frame was added without its input
    /// ([`push_first`](Self::push_first) or [`push_with_flows`](Self::push_with_flows)).
    pub fn push(&mut self, input: &Rgb, output: &Rgb) -> Result<()> {
        if (input.width, input.height) != (output.width, output.height) {
            return Err(Error::Mismatch(format!(
                "warping error: input frame {}x{} and output frame {}x{} differ in size",
                input.width, input.height, output.width, output.height
            )));
        }
        self.check_size(output)?;
        if self.prev_output.is_some() && self.prev_input.is_none() {
            return Err(Error::Internal(
                "warping error: push after a frame added without its input".into(),
            ));
        }
        let gray = Gray::from_rgb(input);
        if let Some(prev) = &self.prev_input {
            let (back, fwd) = rayon::join(
                || dense_flow(&gray, prev, &self.params),
                || dense_flow(prev, &gray, &self.params),
            );
            self.add_pair(output, &back, &fwd);
        }
        self.prev_input = Some(gray);
        self.prev_output = Some(output.clone());
        Ok(())
    }

    /// Adds the first output frame of a video measured with known flows
    /// ([`push_with_flows`](Self::push_with_flows) adds the following ones).
    ///
    /// # Errors
    /// [`Error::Internal`] if a frame was already added.
    pub fn push_first(&mut self, output: &Rgb) -> Result<()> {
        if self.prev_output.is_some() {
            return Err(Error::Internal(
                "warping error: push_first after frames were added".into(),
            ));
        }
        self.prev_output = Some(output.clone());
        Ok(())
    }

    /// Adds the next output frame when the flows of the input between the previous frame and
    /// this one are known: `back` = this→previous, `fwd` = previous→this.
    ///
    /// # Errors
    /// [`Error::Internal`] if no frame was added before; [`Error::Mismatch`] if `output`, the
    /// flows and the previous frame differ in size.
    pub fn push_with_flows(&mut self, output: &Rgb, back: &Flow, fwd: &Flow) -> Result<()> {
        if self.prev_output.is_none() {
            return Err(Error::Internal(
                "warping error: push_with_flows before the first frame".into(),
            ));
        }
        self.check_size(output)?;
        let size = (output.width, output.height);
        if (back.width, back.height) != size || (fwd.width, fwd.height) != size {
            return Err(Error::Mismatch(format!(
                "warping error: flows {}x{} and {}x{} for a {}x{} frame",
                back.width, back.height, fwd.width, fwd.height, size.0, size.1
            )));
        }
        self.add_pair(output, back, fwd);
        self.prev_input = None;
        self.prev_output = Some(output.clone());
        Ok(())
    }

    /// Adds the next output frame when the previous output, already warped into this frame
    /// along the input's flow, and the pixels that flow cannot be trusted at are known (a
    /// [`Steadier`](super::Steadier) computes both): no flow or warp is computed here.
    ///
    /// # Errors
    /// [`Error::Internal`] if no frame was added before; [`Error::Mismatch`] if `output`,
    /// `prev_warped`, `occluded` and the previous frame differ in size.
    pub fn push_warped(
        &mut self,
        output: &Rgb,
        prev_warped: &Rgb,
        occluded: &[bool],
    ) -> Result<()> {
        if self.prev_output.is_none() {
            return Err(Error::Internal(
                "warping error: push_warped before the first frame".into(),
            ));
        }
        self.check_size(output)?;
        let size = (output.width, output.height);
        if (prev_warped.width, prev_warped.height) != size || occluded.len() != size.0 * size.1 {
            return Err(Error::Mismatch(format!(
                "warping error: a warped frame {}x{} and {} flags for a {}x{} frame",
                prev_warped.width,
                prev_warped.height,
                occluded.len(),
                size.0,
                size.1
            )));
        }
        match masked_mse(output, prev_warped, occluded) {
            Some(v) => self.per_pair.push(v),
            None => self.skipped += 1,
        }
        self.prev_input = None;
        self.prev_output = Some(output.clone());
        Ok(())
    }

    /// The mean over the frame pairs measured so far (`None` before a pair has a value).
    pub fn value(&self) -> Option<f64> {
        (!self.per_pair.is_empty())
            .then(|| self.per_pair.iter().sum::<f64>() / self.per_pair.len() as f64)
    }

    /// The values of the measured pairs, in order (skipped pairs left out).
    pub fn per_pair(&self) -> &[f64] {
        &self.per_pair
    }

    /// Pairs skipped because no pixel of theirs was usable (all occluded).
    pub fn skipped(&self) -> usize {
        self.skipped
    }

    /// `Err` if `frame` differs in size from the previous frame.
    fn check_size(&self, frame: &Rgb) -> Result<()> {
        match &self.prev_output {
            Some(prev) if (prev.width, prev.height) != (frame.width, frame.height) => {
                Err(Error::Mismatch(format!(
                    "warping error: frame {}x{} after a {}x{} frame",
                    frame.width, frame.height, prev.width, prev.height
                )))
            }
            _ => Ok(()),
        }
    }

    /// Measures the pair (previous output, `output`); sizes already checked.
    fn add_pair(&mut self, output: &Rgb, back: &Flow, fwd: &Flow) {
        let prev = self.prev_output.as_ref().expect("a previous frame");
        let warped = warp_rgb(prev, back);
        match masked_mse(output, &warped, &occlusion_mask(back, fwd)) {
            Some(v) => self.per_pair.push(v),
            None => self.skipped += 1,
        }
    }
}

/// One pair's value: the mean squared difference, samples scaled to `[0, 1]`, between `next`
/// and `prev_warped` over the channels and the pixels with `occluded` false; `None` when every
/// pixel is occluded.
///
/// # Panics
/// If the images differ in size or `occluded` is not one flag per pixel.
pub fn masked_mse(next: &Rgb, prev_warped: &Rgb, occluded: &[bool]) -> Option<f64> {
    assert_eq!(
        (next.width, next.height),
        (prev_warped.width, prev_warped.height),
        "masked_mse: images differ in size"
    );
    assert_eq!(
        occluded.len(),
        next.pixel_count(),
        "masked_mse: mask length"
    );
    let usable = occluded.iter().filter(|&&o| !o).count();
    if usable == 0 {
        return None;
    }
    let mut sum = 0.0f64;
    for c in 0..3 {
        let (a, b) = (next.plane(c), prev_warped.plane(c));
        for ((&x, &y), &o) in a.iter().zip(b).zip(occluded) {
            if !o {
                let d = (x as f64 - y as f64) / 255.0;
                sum += d * d;
            }
        }
    }
    Some(sum / (3 * usable) as f64)
}
