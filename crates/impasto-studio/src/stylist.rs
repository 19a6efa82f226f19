//! One-pass stylisation for one session: passes run on tokio's blocking pool, one at a time,
//! and a request made while one runs replaces any still waiting, so only the latest is computed.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use impasto::guide::Mask;
use impasto::image::Rgb;

use crate::models::TrainedModel;
use crate::preview;
use crate::protocol::{ServerMsg, Stylized};
use crate::run::Outlet;

/// Products of the one-pass networks: f32, as fast as bf16 for these narrow layers.
const PRECISION: impasto::Precision = impasto::Precision::F32;

/// What one pass computes.
pub struct Pass {
    /// Revision of the page's pick.
    pub rev: u64,
    /// The model.
    pub model: Arc<TrainedModel>,
    /// One weight per style of the model, summing to 1.
    pub mix: Vec<f32>,
    /// The photo.
    pub photo: Arc<Rgb>,
    /// Where the style goes, if a mask is set.
    pub mask: Option<Arc<Mask>>,
}

#[derive(Default)]
struct State {
    waiting: Option<Pass>,
    busy: bool,
    /// Whether a model is picked: passes that end after it is dropped are not shown.
    wanted: bool,
    /// The latest result, for Refine.
    result: Option<Arc<Rgb>>,
}

/// A session's one-pass runner.
pub struct Stylist {
    state: Mutex<State>,
    cancel: Arc<AtomicBool>,
    outlet: Outlet,
}

impl Stylist {
    /// A runner that reports to `outlet` and stops once `cancel` is set.
    pub fn new(cancel: Arc<AtomicBool>, outlet: Outlet) -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(State::default()),
            cancel,
            outlet,
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Computes `pass` after the one running, replacing any other still waiting.
    pub fn request(self: &Arc<Self>, pass: Pass) {
        let mut st = self.lock();
        st.waiting = Some(pass);
        st.wanted = true;
        if !st.busy {
            st.busy = true;
            let this = Arc::clone(self);
            tokio::task::spawn_blocking(move || this.work());
        }
    }

    /// No model is picked any more: nothing waiting is computed and no result is kept.
    pub fn clear(&self) {
        let mut st = self.lock();
        st.waiting = None;
        st.wanted = false;
        st.result = None;
    }

    /// The latest one-pass result.
    pub fn result(&self) -> Option<Arc<Rgb>> {
        self.lock().result.clone()
    }

    fn work(&self) {
        loop {
            let pass = {
                let mut st = self.lock();
                match st.waiting.take() {
                    Some(p) if !self.cancel.load(Ordering::Relaxed) => p,
                    _ => {
                        st.busy = false;
                        return;
                    }
                }
            };
            let msg = match run(&pass) {
                Ok((img, msg)) => {
                    let mut st = self.lock();
                    if !st.wanted {
                        continue;
                    }
                    st.result = Some(Arc::new(img));
                    msg
                }
                Err(message) => ServerMsg::Error { message },
            };
            self.outlet.send(msg);
        }
    }
}

/// One pass: the image, and the message that shows it.
fn run(p: &Pass) -> Result<(Rgb, ServerMsg), String> {
    let start = Instant::now();
    let img = p
        .model
        .net
        .runner(PRECISION)
        .stylize(&p.photo, &p.mix)
        .map_err(|e| {
            let why = crate::words::describe(&e);
            format!(
                "the model {} cannot stylise this photo: {why}",
                p.model.name
            )
        })?;
    let img = match &p.mask {
        Some(m) => crate::mask::apply(&img, &p.photo, m),
        None => img,
    };
    let ms = start.elapsed().as_secs_f64() * 1e3;
    let msg = ServerMsg::Stylized(Box::new(Stylized {
        rev: p.rev,
        model: p.model.name.clone(),
        mix: p.mix.clone(),
        width: img.width,
        height: img.height,
        ms,
        image: preview::jpeg_data_url(&img)?,
    }));
    Ok((img, msg))
}
