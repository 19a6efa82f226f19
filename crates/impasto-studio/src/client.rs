//! One page's session: its temporary folder, uploaded images, controls, and the worker that
//! runs them. Closing it cancels the worker; the folder goes when the worker lets go of it.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex, MutexGuard};

use impasto::guide::Mask;
use impasto::image::Rgb;
use impasto::settings::DEFAULT_ITERS;
use impasto::Vgg19;
use tempfile::TempDir;

use crate::error::Error;
use crate::models::{Models, TrainedModel};
use crate::protocol::{
    ClientMsg, Controls, ImageInfo, InputsReply, MaskInfo, ServerMsg, MAX_ITERS,
};
use crate::queue::Queue;
use crate::run::{self, Command, Inputs, Outlet, RunContext};
use crate::stylist::{Pass, Stylist};

/// Most style images one session may blend.
pub const MAX_STYLES: usize = 4;

/// What the server shares with every session.
pub struct Shared {
    /// The network.
    pub model: Arc<Vgg19>,
    /// Run slots.
    pub queue: Arc<Queue>,
    /// Largest final render.
    pub max_final_size: usize,
    /// The trained models on offer.
    pub models: Models,
}

/// One page's studio session.
pub struct Client {
    /// Random id; upload and download URLs carry it.
    pub id: String,
    dir: Arc<TempDir>,
    cancel: Arc<AtomicBool>,
    outlet: Outlet,
    shared: Arc<Shared>,
    stylist: Arc<Stylist>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    content: Option<(ImageInfo, Arc<Rgb>)>,
    styles: Vec<(ImageInfo, Arc<Rgb>)>,
    /// Where the styles go, drawn over the current photo.
    mask: Option<(MaskInfo, Arc<Mask>)>,
    rev: u64,
    controls: Controls,
    worker: Option<Sender<Command>>,
    /// The picked trained model: the pick's revision, the model and its blend.
    pick: Option<(u64, Arc<TrainedModel>, Vec<f32>)>,
}

impl Client {
    /// A session with its own temporary folder.
    pub fn new(id: String, dir: TempDir, shared: Arc<Shared>, outlet: Outlet) -> Self {
        let cancel = Arc::new(AtomicBool::new(false));
        Self {
            id,
            dir: Arc::new(dir),
            stylist: Stylist::new(Arc::clone(&cancel), outlet.clone()),
            cancel,
            outlet,
            shared,
            state: Mutex::new(State::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The session's temporary folder.
    pub fn dir(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    /// Refuses another style image once the session has [`MAX_STYLES`].
    pub fn check_style_room(&self) -> Result<(), Error> {
        if self.lock().styles.len() >= MAX_STYLES {
            return Err(too_many_styles());
        }
        Ok(())
    }

    /// Sets the photo (dropping the mask drawn over the last one); the run restarts from it,
    /// and a picked model stylises it.
    pub fn set_content(&self, info: ImageInfo, img: Rgb) -> Result<InputsReply, Error> {
        let mut st = self.lock();
        st.content = Some((info, Arc::new(img)));
        st.mask = None;
        self.stylist.clear();
        self.stylize(&st);
        self.inputs_changed(&mut st)?;
        Ok(reply(&st))
    }

    /// The photo a mask is drawn over.
    pub fn photo(&self) -> Result<Arc<Rgb>, Error> {
        match &self.lock().content {
            Some((_, photo)) => Ok(Arc::clone(photo)),
            None => Err(Error::BadInput(
                "add the photo first: a mask is drawn over it".into(),
            )),
        }
    }

    /// Sets the mask drawn over `photo`, or none; the run restarts with it, and a picked
    /// model's result follows it (removing no mask changes nothing). Refused if the photo
    /// changed since.
    pub fn set_mask(
        &self,
        photo: &Arc<Rgb>,
        mask: Option<(MaskInfo, Mask)>,
    ) -> Result<InputsReply, Error> {
        let mut st = self.lock();
        if !st
            .content
            .as_ref()
            .is_some_and(|(_, p)| Arc::ptr_eq(p, photo))
        {
            return Err(Error::BadInput(
                "the photo changed while the mask was on its way; draw the mask again".into(),
            ));
        }
        if mask.is_none() && st.mask.is_none() {
            return Ok(reply(&st));
        }
        st.mask = mask.map(|(info, m)| (info, Arc::new(m)));
        self.stylize(&st);
        self.inputs_changed(&mut st)?;
        Ok(reply(&st))
    }

    /// Adds a painting with blend weight 1; the run goes on from the current image.
    pub fn add_style(&self, info: ImageInfo, img: Rgb) -> Result<InputsReply, Error> {
        let mut st = self.lock();
        if st.styles.len() >= MAX_STYLES {
            return Err(too_many_styles());
        }
        st.styles.push((info, Arc::new(img)));
        st.controls.style_weights.push(1.0);
        self.inputs_changed(&mut st)?;
        Ok(reply(&st))
    }

    /// Handles a message from the page: `Ok` carries any answer, `Err` a message for the user.
    pub fn handle(&self, msg: ClientMsg) -> Result<Option<ServerMsg>, String> {
        let mut st = self.lock();
        match msg {
            ClientMsg::Steer { rev, controls } => {
                controls.validate(st.styles.len())?;
                st.rev = rev;
                st.controls = controls.clone();
                self.tell(&mut st, Command::Steer { rev, controls });
                Ok(Some(ServerMsg::Steered { rev }))
            }
            ClientMsg::RenderFinal { size, iters } => {
                let iters = iters.unwrap_or(DEFAULT_ITERS);
                let max = self.shared.max_final_size;
                if !(16..=max).contains(&size) {
                    return Err(format!(
                        "final size {size} px is out of range: use 16 to {max} px"
                    ));
                }
                if !(1..=MAX_ITERS).contains(&iters) {
                    return Err(format!(
                        "{iters} final iterations is out of range: use 1 to {MAX_ITERS}"
                    ));
                }
                st.controls
                    .settings(size, iters)
                    .validate()
                    .map_err(|e| e.to_string())?;
                if st.worker.is_none() {
                    return Err("add a photo and a painting first".into());
                }
                self.tell(&mut st, Command::RenderFinal { size, iters });
                Ok(None)
            }
            ClientMsg::CancelFinal => {
                self.tell(&mut st, Command::CancelFinal);
                Ok(None)
            }
            ClientMsg::PickModel { rev, model, blend } => {
                let Some(name) = model else {
                    st.pick = None;
                    self.stylist.clear();
                    return Ok(None);
                };
                let model = self.shared.models.get(&name)?;
                let blend: Option<Vec<(String, f32)>> = blend.map(|b| b.into_iter().collect());
                let mix = model
                    .net
                    .mix(blend.as_deref())
                    .map_err(|e| crate::words::describe(&e))?;
                st.pick = Some((rev, model, mix));
                self.stylize(&st);
                Ok(None)
            }
            ClientMsg::Refine => {
                let Some(start) = self.stylist.result() else {
                    return Err("pick a trained model and add a photo first: Refine starts \
                                from the model's result"
                        .into());
                };
                if st.worker.is_none() {
                    return Err("add a painting as a style image first: Refine matches its \
                                style"
                        .into());
                }
                self.tell(&mut st, Command::Restart { start });
                Ok(None)
            }
        }
    }

    /// Asks for the picked model's one pass of the photo, once there are both.
    fn stylize(&self, st: &State) {
        if let (Some((rev, model, mix)), Some((_, photo))) = (&st.pick, &st.content) {
            self.stylist.request(Pass {
                rev: *rev,
                model: Arc::clone(model),
                mix: mix.clone(),
                photo: Arc::clone(photo),
                mask: st.mask.as_ref().map(|(_, m)| Arc::clone(m)),
            });
        }
    }

    /// Ends the session: the worker stops within a step and the folder is removed after it.
    pub fn close(&self) {
        self.cancel.store(true, Ordering::Relaxed);
        self.lock().worker = None;
    }

    /// Sends a command to the worker, if there is one.
    fn tell(&self, st: &mut State, cmd: Command) {
        if let Some(w) = &st.worker {
            if w.send(cmd).is_err() {
                st.worker = None;
            }
        }
    }

    /// Starts the worker once there is a photo and a painting, or gives it the new images.
    fn inputs_changed(&self, st: &mut State) -> Result<(), Error> {
        let Some((_, content)) = &st.content else {
            return Ok(());
        };
        if st.styles.is_empty() {
            return Ok(());
        }
        let inputs = Inputs {
            content: Arc::clone(content),
            styles: st.styles.iter().map(|(_, img)| Arc::clone(img)).collect(),
            mask: st.mask.as_ref().map(|(_, m)| Arc::clone(m)),
        };
        let controls = st.controls.clone();
        if let Some(w) = &st.worker {
            let cmd = Command::Inputs {
                inputs: inputs.clone(),
                controls: controls.clone(),
            };
            if w.send(cmd).is_ok() {
                return Ok(());
            }
        }
        let ctx = RunContext {
            model: Arc::clone(&self.shared.model),
            queue: Arc::clone(&self.shared.queue),
            dir: Arc::clone(&self.dir),
            final_url: format!("/api/session/{}/{}", self.id, run::FINAL_FILE),
            cancel: Arc::clone(&self.cancel),
            outlet: self.outlet.clone(),
        };
        let worker = run::spawn(ctx, inputs, st.rev, controls)
            .map_err(|e| Error::Internal(format!("cannot start a run: {e}")))?;
        st.worker = Some(worker);
        Ok(())
    }
}

fn too_many_styles() -> Error {
    Error::BadInput(format!(
        "this session already blends {MAX_STYLES} style images, the most it can; \
         reload the page to start over"
    ))
}

fn reply(st: &State) -> InputsReply {
    InputsReply {
        content: st.content.as_ref().map(|(i, _)| i.clone()),
        styles: st.styles.iter().map(|(i, _)| i.clone()).collect(),
        mask: st.mask.as_ref().map(|(i, _)| i.clone()),
        controls: st.controls.clone(),
    }
}
