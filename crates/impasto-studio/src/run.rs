//! The worker: one blocking thread per session steps the engine's [`Session`], applies steering
//! between steps (keeping the current image), renders final images, and reports frames and
//! events. It holds a run slot only while it has work, and stops within a step once cancelled.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::time::Duration;

use impasto::guide::Mask;
use impasto::image::Rgb;
use impasto::{Report, Session, Start, Style, StyleTargets, Vgg19};
use impasto_io::codec::{self as io, BitDepth};
use tempfile::TempDir;
use tokio::sync::{mpsc::UnboundedSender, watch};

use crate::preview;
use crate::protocol::{Controls, Frame, ServerMsg};
use crate::queue::Queue;

/// How often an idle worker looks at its cancel flag.
const POLL: Duration = Duration::from_millis(100);
/// Name of the final render inside the session's temporary folder.
pub const FINAL_FILE: &str = "final.png";

/// The images a run works on.
#[derive(Clone)]
pub struct Inputs {
    /// The photo.
    pub content: Arc<Rgb>,
    /// The paintings, in upload order.
    pub styles: Vec<Arc<Rgb>>,
    /// Where the styles go (the photo's size), if a mask is set.
    pub mask: Option<Arc<Mask>>,
}

/// What the session tells its worker.
pub enum Command {
    /// New controls, tagged with the page's revision.
    Steer {
        /// Revision.
        rev: u64,
        /// Controls.
        controls: Controls,
    },
    /// New images (and the controls that go with them, one blend weight per style).
    Inputs {
        /// The images.
        inputs: Inputs,
        /// The controls.
        controls: Controls,
    },
    /// Render at `size` with `iters` iterations and offer the PNG.
    RenderFinal {
        /// Longer side.
        size: usize,
        /// Iterations.
        iters: usize,
    },
    /// Stop the final render.
    CancelFinal,
    /// Restart the preview run from this image (a trained model's result).
    Restart {
        /// The image it starts from (resized to the run's size).
        start: Arc<Rgb>,
    },
}

/// Where a worker's output goes: events in order, frames latest-only.
#[derive(Clone)]
pub struct Outlet {
    /// Ordered events (never dropped).
    pub events: UnboundedSender<ServerMsg>,
    /// The latest preview frame as JSON; a newer one replaces one not yet sent.
    pub frames: watch::Sender<Option<Arc<str>>>,
}

impl Outlet {
    /// Sends an event; a closed page is not an error here (the cancel flag ends the worker).
    pub fn send(&self, msg: ServerMsg) {
        let _ = self.events.send(msg);
    }
}

/// What a worker shares with the rest of the server.
pub struct RunContext {
    /// The network, loaded once.
    pub model: Arc<Vgg19>,
    /// Run slots.
    pub queue: Arc<Queue>,
    /// The session's temporary folder (removed when the last holder lets go).
    pub dir: Arc<TempDir>,
    /// Download URL of the final render.
    pub final_url: String,
    /// Set when the session ends.
    pub cancel: Arc<AtomicBool>,
    /// Output.
    pub outlet: Outlet,
}

/// Starts a worker thread for `inputs` with `controls`; commands go to the returned sender.
pub fn spawn(
    ctx: RunContext,
    inputs: Inputs,
    rev: u64,
    controls: Controls,
) -> std::io::Result<Sender<Command>> {
    let (tx, rx) = mpsc::channel();
    let worker = Worker {
        ctx,
        targets: None,
        inputs,
        rev,
        controls,
        step: 0,
        last_image: None,
        broken: false,
        final_req: None,
        final_no: 0,
        deferred: Vec::new(),
    };
    std::thread::Builder::new()
        .name("impasto-run".into())
        .spawn(move || worker.run(rx))?;
    Ok(tx)
}

struct Worker {
    ctx: RunContext,
    /// The paintings of `inputs` with their Gram matrices, built on first use and shared by
    /// the preview runs and final renders until the images change.
    targets: Option<Arc<StyleTargets>>,
    inputs: Inputs,
    rev: u64,
    controls: Controls,
    /// Preview steps taken (across rebuilds), for the loss plot.
    step: u64,
    /// The latest preview image: a rebuilt run starts from it.
    last_image: Option<Rgb>,
    /// The last build or steer failed: nothing to do until the controls or inputs change.
    broken: bool,
    final_req: Option<(usize, usize)>,
    final_no: u64,
    /// Commands that arrived during a final render, applied after it.
    deferred: Vec<Command>,
}

impl Worker {
    fn run(mut self, rx: Receiver<Command>) {
        let model = Arc::clone(&self.ctx.model);
        let mut preview: Option<Session<'_>> = None;
        loop {
            while !self.has_work(preview.as_ref()) {
                match self.next_command(&rx, true) {
                    Some(cmd) => self.apply(cmd, &mut preview),
                    None => return,
                }
            }
            let outlet = self.ctx.outlet.clone();
            let Some(slot) = self.ctx.queue.acquire(&self.ctx.cancel, |position| {
                outlet.send(ServerMsg::Queued { position })
            }) else {
                return;
            };
            self.send(ServerMsg::Running);
            while self.has_work(preview.as_ref()) {
                if self.cancelled() {
                    return;
                }
                while let Some(cmd) = self.next_command(&rx, false) {
                    self.apply(cmd, &mut preview);
                }
                if let Some((size, iters)) = self.final_req.take() {
                    self.render_final(&model, size, iters, &rx);
                } else {
                    self.preview_step(&model, &mut preview);
                }
            }
            drop(slot);
            if self.cancelled() {
                return;
            }
            self.send(ServerMsg::Idle);
        }
    }

    fn send(&self, msg: ServerMsg) {
        self.ctx.outlet.send(msg);
    }

    fn cancelled(&self) -> bool {
        self.ctx.cancel.load(Ordering::Relaxed)
    }

    fn has_work(&self, preview: Option<&Session<'_>>) -> bool {
        self.final_req.is_some() || (!self.broken && preview.is_none_or(|s| !s.done()))
    }

    /// The next deferred or received command; `block` waits for one (until cancelled).
    fn next_command(&mut self, rx: &Receiver<Command>, block: bool) -> Option<Command> {
        if !self.deferred.is_empty() {
            return Some(self.deferred.remove(0));
        }
        if !block {
            return rx.try_recv().ok();
        }
        loop {
            match rx.recv_timeout(POLL) {
                Ok(cmd) => return Some(cmd),
                Err(RecvTimeoutError::Timeout) if !self.cancelled() => {}
                Err(_) => return None,
            }
        }
    }

    /// Reports a failure; the run waits for new controls or inputs.
    fn fail(&mut self, message: String) {
        self.broken = true;
        self.send(ServerMsg::Error { message });
    }

    fn apply(&mut self, cmd: Command, preview: &mut Option<Session<'_>>) {
        match cmd {
            Command::Steer { rev, controls } => {
                let old = std::mem::replace(&mut self.controls, controls);
                self.rev = rev;
                self.broken = false;
                if let Some(s) = preview.as_mut() {
                    if let Err(e) = steer(s, &old, &self.controls) {
                        *preview = None;
                        self.fail(format!(
                            "cannot apply these settings: {}",
                            crate::words::describe(&e)
                        ));
                    }
                }
            }
            Command::Inputs { inputs, controls } => {
                let same_photo = Arc::ptr_eq(&inputs.content, &self.inputs.content);
                let same_mask = match (&inputs.mask, &self.inputs.mask) {
                    (Some(a), Some(b)) => Arc::ptr_eq(a, b),
                    (a, b) => a.is_none() && b.is_none(),
                };
                let same_styles = inputs.styles.len() == self.inputs.styles.len()
                    && (inputs.styles.iter().zip(&self.inputs.styles))
                        .all(|(a, b)| Arc::ptr_eq(a, b));
                if !(same_photo && same_mask) {
                    self.last_image = None;
                }
                // A new mask alone keeps the paintings' targets.
                if !(same_photo && same_styles) {
                    self.targets = None;
                }
                self.inputs = inputs;
                self.controls = controls;
                self.broken = false;
                *preview = None;
            }
            Command::Restart { start } => {
                self.last_image = Some(Rgb::clone(&start));
                self.broken = false;
                *preview = None;
            }
            Command::RenderFinal { size, iters } => self.final_req = Some((size, iters)),
            Command::CancelFinal => {
                if self.final_req.take().is_some() {
                    self.send(ServerMsg::FinalCancelled);
                }
            }
        }
    }

    /// The paintings as targets (built once per set of images), with the blend weights of
    /// the controls.
    fn targets(&mut self) -> impasto::Result<Arc<StyleTargets>> {
        if let Some(t) = &self.targets {
            return Ok(t.clone());
        }
        let styles = self
            .inputs
            .styles
            .iter()
            .zip(&self.controls.style_weights)
            .map(|(image, &weight)| Style {
                image: Rgb::clone(image),
                weight,
            })
            .collect();
        let t = StyleTargets::new(styles)?;
        self.targets = Some(t.clone());
        Ok(t)
    }

    /// A session on the current images and controls from `start`, with the blend weights of
    /// the controls.
    fn session<'m>(
        &mut self,
        model: &'m Vgg19,
        settings: impasto::Settings,
        start: Start,
    ) -> impasto::Result<Session<'m>> {
        let targets = self.targets()?;
        let content = Rgb::clone(&self.inputs.content);
        let mut s = Session::new(model, content, targets, settings, start)?;
        if let Some(g) = self.inputs.mask.as_deref().and_then(crate::mask::guides) {
            s = s.with_guides(g)?;
        }
        s.set_style_weights(&self.controls.style_weights)?;
        Ok(s)
    }

    /// A preview session with the current controls, starting from the last preview image.
    fn build<'m>(&mut self, model: &'m Vgg19) -> impasto::Result<Session<'m>> {
        let start = match &self.last_image {
            Some(img) => Start::Image(img.clone()),
            None => Start::Content,
        };
        self.session(model, self.controls.preview_settings(), start)
    }

    fn preview_step<'m>(&mut self, model: &'m Vgg19, preview: &mut Option<Session<'m>>) {
        if preview.is_none() {
            match self.build(model) {
                Ok(s) => *preview = Some(s),
                Err(e) => {
                    let why = crate::words::describe(&e);
                    return self.fail(format!("cannot start the run: {why}"));
                }
            }
        }
        let s = preview.as_mut().expect("built above");
        match s.step() {
            Ok(report) => {
                self.step += 1;
                self.publish(s, &report);
            }
            Err(e) => {
                *preview = None;
                self.fail(format!("the run stopped: {}", crate::words::describe(&e)));
            }
        }
    }

    /// Sends the step's losses, and the image with its controls and quality numbers.
    fn publish(&mut self, s: &Session<'_>, report: &Report) {
        let losses = report.losses.into();
        self.send(ServerMsg::Step {
            rev: self.rev,
            step: self.step,
            losses,
        });
        let img = s.image();
        let ssim = preview::ssim(&self.inputs.content, &img)
            .inspect_err(|e| tracing::warn!("preview SSIM: {e}"))
            .ok();
        let image = match preview::jpeg_data_url(&img) {
            Ok(url) => url,
            Err(e) => return self.fail(e),
        };
        let frame = Frame {
            rev: self.rev,
            controls: self.controls.clone(),
            step: self.step,
            stage: report.stage,
            stages: report.stages,
            width: report.width,
            height: report.height,
            losses,
            ssim,
            mask: self.inputs.mask.as_ref().map(|m| m.coverage() as f32),
            image,
        };
        let json: Arc<str> = ServerMsg::Frame(Box::new(frame)).to_json().into();
        self.ctx.outlet.frames.send_replace(Some(json));
        // The run measures its Gram cosine (to the blended styles, at the current scale) from
        // the Gram matrices its loss computes anyway; it follows the frame.
        self.send(ServerMsg::GramCosine {
            step: self.step,
            value: report.losses.gram_cosine as f32,
        });
        self.last_image = Some(img);
    }

    /// Runs a full-size render with the current controls; other commands wait until it ends.
    fn render_final(&mut self, model: &Vgg19, size: usize, iters: usize, rx: &Receiver<Command>) {
        let settings = self.controls.settings(size, iters);
        let mut s = match self.session(model, settings, Start::Content) {
            Ok(s) => s,
            Err(e) => {
                let why = crate::words::describe(&e);
                return self.final_failed(format!("cannot render the final image: {why}"));
            }
        };
        while !s.done() {
            if self.cancelled() {
                return;
            }
            while let Ok(cmd) = rx.try_recv() {
                match cmd {
                    Command::CancelFinal => return self.send(ServerMsg::FinalCancelled),
                    other => self.deferred.push(other),
                }
            }
            match s.step() {
                Ok(r) => self.send(ServerMsg::FinalProgress {
                    progress: r.progress,
                    done_iters: r.done_iters,
                    total_iters: r.total_iters,
                }),
                Err(e) => {
                    let why = crate::words::describe(&e);
                    return self.final_failed(format!("the final render stopped: {why}"));
                }
            }
        }
        let img = s.image();
        let path = self.ctx.dir.path().join(FINAL_FILE);
        if let Err(e) = io::save(&path, &img, None, BitDepth::Eight) {
            return self.final_failed(format!("cannot save the final image: {e}"));
        }
        self.final_no += 1;
        self.send(ServerMsg::FinalReady {
            url: format!("{}?n={}", self.ctx.final_url, self.final_no),
            width: img.width,
            height: img.height,
        });
    }

    fn final_failed(&mut self, message: String) {
        self.send(ServerMsg::Error { message });
        self.send(ServerMsg::FinalCancelled);
    }
}

/// Applies new controls to a running session without restarting it (a finished run
/// continues).
fn steer(s: &mut Session<'_>, old: &Controls, new: &Controls) -> impasto::Result<()> {
    if new.style_weights != old.style_weights {
        s.set_style_weights(&new.style_weights)?;
    }
    let settings = new.preview_settings();
    if settings != old.preview_settings() {
        s.set_settings(settings)?;
    }
    Ok(())
}
