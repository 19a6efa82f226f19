//! One item's way through a job, in three steps on three threads so that neither core waits
//! between items: [`Job::prepare`] reads and keys it (and skips it when its result is done),
//! [`Job::paint`] stylises it, [`Job::finish`] writes the result, measures it and writes the
//! sidecar.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use impasto::image::{resize, Rgb};
use impasto::metrics::{gram::StyleGrams, ssim::ssim_rgb_luma};
use impasto::{Precision, Runner, Session, Start, StyleTargets, Vgg19};
use impasto_io::batch::Sidecar;
use impasto_io::codec as io;
use serde_json::json;

use super::items::Item;
use super::key::Keyer;
use super::options;
use super::stop::Stop;
use crate::args::{BatchArgs, LookArgs, MedicalArgs};
use crate::error::Failure;
use crate::look;
use crate::medical::{self, Photo};

/// The look of one item: the job's options with the item's own.
#[derive(Clone)]
pub struct Look {
    /// The look options.
    pub look: LookArgs,
    /// Longer side of the result.
    pub size: usize,
}

impl From<BatchArgs> for Look {
    fn from(b: BatchArgs) -> Self {
        Look {
            look: b.look,
            size: b.size,
        }
    }
}

/// What paints the items.
pub enum Painter {
    /// An optimisation on VGG19, one network per precision the items ask for.
    Optimise(Networks),
    /// One pass of a trained network with the blend `mix`.
    Network {
        /// The model.
        model: Box<impasto_io::model::Model>,
        /// Its styles' weights.
        mix: Vec<f32>,
        /// The precision of its passes.
        precision: Precision,
    },
}

/// VGG19, loaded once per precision and shared by the painting and measuring threads.
pub struct Networks {
    weights: Option<PathBuf>,
    loaded: Mutex<Vec<(Precision, Arc<Vgg19>)>>,
}

impl Networks {
    /// The weights at `weights` (else `$IMPASTO_WEIGHTS` or the cache), loaded on first use.
    pub fn new(weights: Option<PathBuf>) -> Self {
        Self {
            weights,
            loaded: Mutex::new(Vec::new()),
        }
    }

    /// VGG19 in `precision`.
    pub fn get(&self, precision: Precision) -> impasto_io::Result<Arc<Vgg19>> {
        let mut loaded = self.loaded.lock().expect("networks lock");
        if let Some((_, n)) = loaded.iter().find(|(p, _)| *p == precision) {
            return Ok(n.clone());
        }
        let n = Arc::new(crate::weights::load_model(
            self.weights.as_deref(),
            true,
            precision,
        )?);
        loaded.push((precision, n.clone()));
        Ok(n)
    }
}

/// The job's shared parts.
pub struct Job {
    /// The output folder.
    pub out: PathBuf,
    /// The job's command line, to read items' own options against.
    pub argv: Vec<OsString>,
    /// The job's look.
    pub base: Look,
    /// What paints.
    pub painter: Painter,
    /// The first painting's Gram matrices, per painting, result size and precision, to
    /// measure results against.
    pub measures: Mutex<HashMap<(String, usize, &'static str), StyleGrams>>,
    /// Set when the shard is asked to stop.
    pub stop: Stop,
    /// A model's blend of its styles, `NAME:WEIGHT` (empty for an optimisation): part of
    /// every item's key, and the styles its sidecar names.
    pub blend: Vec<String>,
}

/// An item read and keyed, waiting to be painted.
pub struct Ready {
    item: Item,
    key: String,
    look: Look,
    photo: Photo,
    styles: Option<Arc<StyleTargets>>,
}

impl Ready {
    /// The item, left unpainted.
    pub fn into_item(self) -> Item {
        self.item
    }
}

/// An item painted, waiting to be written.
pub struct Painted {
    ready: Ready,
    paint: Paint,
}

/// A painting and what it is measured against.
struct Paint {
    /// When the painting began.
    started: Instant,
    result: Rgb,
    reference: Rgb,
    iters: usize,
    precision: Precision,
    anatomy_share: Option<f32>,
}

/// What became of an item.
pub enum Outcome {
    /// Written now, in `seconds`.
    Done {
        /// The item.
        item: Item,
        /// Seconds from the start of its painting to its sidecar.
        seconds: f64,
    },
    /// Its result was there with its key.
    Skipped(Item),
    /// It could not be made, for the reason given.
    Failed(Item, String),
    /// The shard was asked to stop before it was made.
    Stopped(Item),
}

/// A step's result: the next step's input, or the item's end.
pub enum Step<T> {
    /// Go on.
    Next(T),
    /// The item ends here.
    End(Outcome),
}

/// The styles of the job, each list's targets built once and shared by its items.
#[derive(Default)]
pub struct StyleCache(HashMap<Vec<String>, Arc<StyleTargets>>);

impl StyleCache {
    fn get(&mut self, specs: &[String]) -> impasto_io::Result<Arc<StyleTargets>> {
        if let Some(t) = self.0.get(specs) {
            return Ok(t.clone());
        }
        let t = look::load_styles(specs)?;
        self.0.insert(specs.to_vec(), t.clone());
        Ok(t)
    }
}

fn message(e: impl Into<Failure>) -> String {
    e.into().message
}

impl Job {
    /// Reads and keys `item`; ends it when its result is done or it cannot be read.
    pub fn prepare(&self, item: Item, keyer: &mut Keyer, styles: &mut StyleCache) -> Step<Ready> {
        let out = self.out.join(&item.output);
        let ready = (|| -> Result<Option<Ready>, String> {
            let look = match item.options.is_empty() {
                true => self.base.clone(),
                false => Look::from(options::for_item(&self.argv, &item.options)?),
            };
            let targets = match (&self.painter, item.styles.is_empty()) {
                (Painter::Network { .. }, _) => None,
                (Painter::Optimise(_), true) => {
                    return Err(
                        "no style: give --style, or a \"style\" for this item in the manifest"
                            .into(),
                    )
                }
                (Painter::Optimise(_), false) => Some(styles.get(&item.styles).map_err(message)?),
            };
            let bytes = std::fs::read(&item.input)
                .map_err(|e| format!("{}: cannot read it ({e})", item.input.display()))?;
            let key = keyer
                .key(
                    &bytes,
                    &item.styles,
                    &format!("{}|{:?}", key_settings(&look), self.blend),
                )
                .map_err(message)?;
            if Sidecar::is_done(&out, &key) {
                return Ok(None);
            }
            drop(bytes);
            let photo =
                medical::load_photo(&item.input, &MedicalArgs::default()).map_err(message)?;
            Ok(Some(Ready {
                item: item.clone(),
                key,
                look,
                photo,
                styles: targets,
            }))
        })();
        match ready {
            Ok(Some(r)) => Step::Next(r),
            Ok(None) => Step::End(Outcome::Skipped(item)),
            Err(e) => Step::End(Outcome::Failed(item, e)),
        }
    }

    /// Stylises a read item (on this thread, with all cores); `runner` is the model's
    /// executor when a model paints.
    pub fn paint(&self, r: Ready, runner: Option<&Runner>) -> Step<Painted> {
        match self.paint_inner(&r, runner) {
            Ok(Some(paint)) => Step::Next(Painted { ready: r, paint }),
            Ok(None) => Step::End(Outcome::Stopped(r.item)),
            Err(e) => Step::End(Outcome::Failed(r.item, e)),
        }
    }

    /// The painting, or `None` when the shard was asked to stop first.
    fn paint_inner(&self, r: &Ready, runner: Option<&Runner>) -> Result<Option<Paint>, String> {
        let started = Instant::now();
        let image = &r.photo.decoded.image;
        let anatomy = medical::anatomy(&r.item.input, r.photo.grey, None).map_err(message)?;
        let (w, h) = resize::fit_longer_side(image.width, image.height, r.look.size);
        let reference = resize::resize(image, w, h);
        let (result, iters, precision) = match &self.painter {
            Painter::Optimise(nets) => {
                let settings =
                    look::settings(&r.look.look, r.look.size, r.photo.grey).map_err(message)?;
                let precision =
                    impasto::precision_for(&r.look.look.precision, r.look.size).map_err(message)?;
                let vgg = nets.get(precision).map_err(message)?;
                let styles = r
                    .styles
                    .clone()
                    .expect("styles prepared for an optimisation");
                let mut session =
                    Session::new(&vgg, image.clone(), styles, settings, Start::Content)
                        .map_err(message)?;
                while !session.done() {
                    if self.stop.requested().is_some() {
                        return Ok(None);
                    }
                    session.step().map_err(message)?;
                }
                let iters = session.plan().iter().map(|s| s.iters).sum();
                (session.image(), iters, precision)
            }
            Painter::Network { mix, precision, .. } => {
                let runner = runner.expect("a runner for the model");
                (
                    runner.stylize(&reference, mix).map_err(message)?,
                    1,
                    *precision,
                )
            }
        };
        let (result, share) = match anatomy {
            Some(k) => {
                let (img, share) =
                    medical::keep_anatomy(&result, &reference, k).map_err(message)?;
                (img, Some(share))
            }
            None => (result, None),
        };
        Ok(Some(Paint {
            started,
            result,
            reference,
            iters,
            precision,
            anatomy_share: share,
        }))
    }

    /// Writes a painted item's result and then its sidecar (atomically), with its metrics.
    pub fn finish(&self, p: Painted) -> Outcome {
        match self.finish_inner(&p) {
            Ok(()) => Outcome::Done {
                seconds: p.paint.started.elapsed().as_secs_f64(),
                item: p.ready.item,
            },
            Err(e) => Outcome::Failed(p.ready.item, e),
        }
    }

    fn finish_inner(&self, painted: &Painted) -> Result<(), String> {
        let (r, p) = (&painted.ready, &painted.paint);
        let out = self.out.join(&r.item.output);
        if let Some(dir) = out.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("{}: cannot create the folder ({e})", dir.display()))?;
        }
        // This shard alone writes this item: what a killed run left half-written goes.
        impasto_io::atomic::remove_stale(&out);
        impasto_io::atomic::remove_stale(&Sidecar::path_for(&out));
        io::save(&out, &p.result, None, io::BitDepth::Eight).map_err(message)?;
        let ssim = ssim_rgb_luma(&p.reference, &p.result).map_err(message)?;
        let gram = match (&self.painter, &r.styles) {
            (Painter::Optimise(nets), Some(styles)) => {
                let vgg = nets.get(p.precision).map_err(message)?;
                let budget = impasto::plan::default_budget() / 2;
                let side = p.result.longer_side();
                let key = (r.item.styles[0].clone(), side, p.precision.name());
                let mut measures = self.measures.lock().expect("measures lock");
                if !measures.contains_key(&key) {
                    let painting = &styles.styles()[0].image;
                    let g = StyleGrams::new(&vgg, painting, side, budget).map_err(message)?;
                    measures.insert(key.clone(), g);
                }
                Some(
                    measures[&key]
                        .cosine(&vgg, &p.result, budget)
                        .map_err(message)?,
                )
            }
            _ => None,
        };
        let sidecar = Sidecar {
            key: r.key.clone(),
            input: r.item.input.clone(),
            styles: match r.item.styles.is_empty() {
                true => self.blend.clone(),
                false => r.item.styles.clone(),
            },
            output: out
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            settings: settings_json(&r.look, &r.item.options),
            metrics: json!({
                "width": p.result.width, "height": p.result.height, "ssim": ssim,
                "gram_cosine": gram, "iters": p.iters, "precision": p.precision,
                "anatomy_share": p.anatomy_share,
            }),
            seconds: p.started.elapsed().as_secs_f64(),
            version: env!("CARGO_PKG_VERSION").to_string(),
        };
        sidecar.write(&out).map_err(message)
    }
}

/// What of an item's look decides its result, written out for its key.
fn key_settings(l: &Look) -> String {
    let mut look = l.look.clone();
    look.styles.clear();
    look.weights.weights = None;
    format!("{look:?}|size={}", l.size)
}

/// An item's settings for its sidecar.
fn settings_json(l: &Look, own: &[(String, String)]) -> serde_json::Value {
    let a = &l.look;
    json!({
        "size": l.size, "iters": a.iters, "content_weight": a.content_weight,
        "style_weight": a.style_weight, "tv_weight": a.tv_weight,
        "style_target": a.style_target.0, "preserve_color": format!("{:?}", a.preserve_color),
        "content_layers": a.content_layers, "style_layers": a.style_layers,
        "optimizer": format!("{:?}", a.optimizer), "precision": a.precision, "seed": a.seed,
        "item_options": own.iter().cloned().collect::<HashMap<_, _>>(),
    })
}
