//! One-pass video stylisation: a trained network ([`FastNet`](crate::fast::FastNet)) on each
//! frame, steadied along the optical flow ([`Steadier`]).

use std::time::Instant;

use super::steady::{Steadied, Steadier, SteadySettings};
use crate::fast::Runner;
use crate::image::Rgb;
use crate::Result;

/// One frame of a one-pass video.
#[derive(Clone, Debug)]
pub struct FastFrame {
    /// The network's result on the frame alone (frame-by-frame stylisation).
    pub plain: Rgb,
    /// The steadied output, with the flows it used.
    pub steadied: Steadied,
    /// Seconds the network pass took.
    pub net_seconds: f64,
    /// Seconds the flow and the blend took.
    pub steady_seconds: f64,
}

/// Stylises the frames of one video in order, one network pass each, steadied.
pub struct FastVideo<'a> {
    runner: Runner<'a>,
    mix: Vec<f32>,
    steadier: Steadier,
}

impl<'a> FastVideo<'a> {
    /// A video stylised by `runner` in the style blend `mix` ([`FastNet::mix`]).
    ///
    /// [`FastNet::mix`]: crate::fast::FastNet::mix
    ///
    /// # Errors
    /// As [`Steadier::new`].
    pub fn new(runner: Runner<'a>, mix: Vec<f32>, settings: SteadySettings) -> Result<Self> {
        Ok(Self {
            runner,
            mix,
            steadier: Steadier::new(settings)?,
        })
    }

    /// The next frame.
    ///
    /// # Errors
    /// As [`Runner::stylize`] and [`Steadier::push`].
    pub fn frame(&mut self, input: &Rgb) -> Result<FastFrame> {
        let t = Instant::now();
        let plain = self.runner.stylize(input, &self.mix)?;
        let net_seconds = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let steadied = self.steadier.push(input, plain.clone())?;
        Ok(FastFrame {
            plain,
            steadied,
            net_seconds,
            steady_seconds: t.elapsed().as_secs_f64(),
        })
    }
}
