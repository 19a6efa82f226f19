//! `impasto train`: teach a feed-forward network a painting's style on a folder of photos,
//! with a progress bar, checkpoints every few minutes and `--resume`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use impasto::fast::{Arch, TrainSettings, TrainStyle, Trainer};
use impasto::image::{resize, Rgb};
use impasto::{parse_weighted_layers, LossWeights, Setting};
use impasto_io::codec::{self as io, Limits};
use impasto_io::model::{self, ModelMeta, StyleMeta};
use impasto_io::{Error, Result};
use indicatif::{ProgressBar, ProgressStyle};
use sha2::{Digest, Sha256};

use crate::args::TrainArgs;

/// Photos are scaled down to this shorter side when loaded (crops are taken from them).
const PHOTO_SHORT_SIDE: usize = 512;

/// Runs `impasto train`.
pub fn run(a: TrainArgs) -> Result<()> {
    let started = Instant::now();
    check_output(&a.output)?;
    let settings = settings(&a)?;
    let styles = styles(&a.styles)?;
    let photos = photos(&a.photos)?;
    let checkpoint_path = checkpoint_path(&a.output);
    let precision = impasto::choose_precision(&a.precision)?;
    let vgg = crate::weights::load_model(a.weights.weights.as_deref(), a.json, precision)?;
    let mut meta = ModelMeta {
        arch: settings.arch.clone(),
        styles: styles.iter().map(|(m, _)| m.clone()).collect(),
        training: settings.clone(),
        photos: photos.len(),
        steps_done: 0,
        seconds: 0.0,
        vgg19_sha256: impasto_io::weights::WEIGHTS_SHA256.to_string(),
        impasto_version: env!("CARGO_PKG_VERSION").to_string(),
    };
    let train_styles: Vec<TrainStyle> = styles.into_iter().map(|(_, s)| s).collect();
    let mut trainer = if a.resume {
        let (old, cp) = model::load_checkpoint(&checkpoint_path)?;
        check_resumable(&old, &meta, &checkpoint_path)?;
        meta.seconds = old.seconds;
        Trainer::resume(&vgg, settings, &train_styles, photos, cp)?
    } else {
        Trainer::new(&vgg, settings, &train_styles, photos)?
    };
    let bar = bar(&trainer, a.json);
    let every = Duration::from_secs_f64(a.checkpoint_minutes * 60.0);
    let mut last_save = Instant::now();
    let base_seconds = meta.seconds;
    let mut last = None;
    let deadline = a.minutes.map(|m| Duration::from_secs_f64(m * 60.0));
    while !trainer.done() {
        let r = trainer.step()?;
        bar.set_position(r.step as u64);
        bar.set_message(format!(
            "loss {:.3e} (content {:.3e} style {:.3e}) Gram cosine {:.3}",
            r.losses.total, r.losses.content, r.losses.style, r.losses.gram_cosine
        ));
        last = Some(r);
        let out_of_time = deadline.is_some_and(|d| started.elapsed() >= d);
        if last_save.elapsed() >= every || out_of_time {
            meta.seconds = base_seconds + started.elapsed().as_secs_f64();
            save(&trainer, &mut meta, &a.output, &checkpoint_path)?;
            last_save = Instant::now();
        }
        if out_of_time {
            break;
        }
    }
    meta.seconds = base_seconds + started.elapsed().as_secs_f64();
    save(&trainer, &mut meta, &a.output, &checkpoint_path)?;
    bar.finish_and_clear();
    let finished = trainer.done();
    let losses = last.map(|r| r.losses).unwrap_or_default();
    if a.json {
        let v = serde_json::json!({
            "output": a.output, "checkpoint": checkpoint_path, "steps": trainer.steps_done(),
            "finished": finished, "seconds": meta.seconds, "photos": meta.photos,
            "styles": meta.style_names(),
            "losses": { "content": losses.content, "style": losses.style, "tv": losses.tv,
                        "total": losses.total, "gram_cosine": losses.gram_cosine },
        });
        println!("{v}");
    } else {
        println!(
            "wrote {} after {} steps ({:.1} min of training{})\nlast step: loss {:.3e}, Gram cosine {:.3}",
            a.output.display(),
            trainer.steps_done(),
            meta.seconds / 60.0,
            if finished { "" } else { "; continue with --resume" },
            losses.total,
            losses.gram_cosine
        );
    }
    Ok(())
}

/// Writes the model and the checkpoint it continues from.
fn save(trainer: &Trainer, meta: &mut ModelMeta, out: &Path, checkpoint: &Path) -> Result<()> {
    meta.steps_done = trainer.steps_done();
    model::save_checkpoint(checkpoint, meta, &trainer.checkpoint())?;
    model::save_model(out, trainer.net(), meta)
}

/// `MODEL.safetensors` → `MODEL.checkpoint.safetensors`.
fn checkpoint_path(out: &Path) -> PathBuf {
    out.with_extension("checkpoint.safetensors")
}

/// A checkpoint continues a run only with the same network, styles, photos and losses (more
/// steps are allowed).
fn check_resumable(old: &ModelMeta, new: &ModelMeta, path: &Path) -> Result<()> {
    let mut a = old.training.clone();
    a.steps = new.training.steps;
    let same = serde_json::to_value(&a).ok() == serde_json::to_value(&new.training).ok()
        && old.styles == new.styles
        && old.photos == new.photos;
    if same {
        return Ok(());
    }
    Err(Error::Usage(format!(
        "{} was made with other settings, styles or photos; resume with the same options as \
         the first run (only --steps may change), or start afresh without --resume",
        path.display()
    )))
}

/// Refuses an output that is not `.safetensors` or whose folder does not exist.
fn check_output(out: &Path) -> Result<()> {
    if out.extension().and_then(|e| e.to_str()) != Some("safetensors") {
        return Err(Error::Usage(format!(
            "{}: a model is written as .safetensors; name the output e.g. starry_night.safetensors",
            out.display()
        )));
    }
    impasto_io::atomic::output_dir(out)
        .map(|_| ())
        .map_err(|e| Error::Usage(e.to_string()))
}

/// The engine's training settings from the options, checked.
fn settings(a: &TrainArgs) -> Result<TrainSettings> {
    let [c1, c2] = match a.channels.as_slice() {
        [c1, c2] => [*c1, *c2],
        _ => {
            return Err(Error::Usage(format!(
                "--channels {:?} is invalid: give two counts, e.g. --channels 16,48",
                a.channels
            )))
        }
    };
    let s = TrainSettings {
        arch: Arch {
            channels: [c1, c2],
            blocks: a.blocks,
            outer_kernel: a.outer_kernel,
        },
        crop: a.crop,
        batch: a.batch,
        steps: a.steps,
        lr: a.lr,
        weights: LossWeights {
            content: a.content_weight,
            style: a.style_weight,
            tv: a.tv_weight,
        },
        content_layers: parse_weighted_layers(&a.content_layers, Setting::ContentLayers)?,
        style_layers: parse_weighted_layers(&a.style_layers, Setting::StyleLayers)?,
        style_size: a.style_size,
        seed: a.seed,
    };
    s.validate()?;
    Ok(s)
}

/// The paintings: `PATH[:WEIGHT]`, named after the file stem, with the hash of their bytes.
fn styles(specs: &[String]) -> Result<Vec<(StyleMeta, TrainStyle)>> {
    let mut out: Vec<(StyleMeta, TrainStyle)> = Vec::new();
    for spec in specs {
        let (path, weight) = crate::look::parse_style(spec);
        let bytes = std::fs::read(&path).map_err(|e| Error::Input {
            path: path.clone(),
            msg: format!("cannot read the painting: {e}"),
        })?;
        let image = io::decode(&bytes, &Limits::default())
            .map_err(|e| e.named(&path))?
            .image;
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "style".into());
        if out.iter().any(|(m, _)| m.name == name) {
            return Err(Error::Usage(format!(
                "two paintings are named '{name}': give the files different names"
            )));
        }
        let meta = StyleMeta {
            name: name.clone(),
            sha256: format!("{:x}", Sha256::digest(&bytes)),
        };
        let style = TrainStyle {
            name,
            image,
            weight: weight.unwrap_or(1.0),
        };
        out.push((meta, style));
    }
    Ok(out)
}

/// Every PNG and JPEG in `dir` (sorted by name), scaled down to a shorter side of at most
/// [`PHOTO_SHORT_SIDE`].
fn photos(dir: &Path) -> Result<Vec<Rgb>> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::Input {
        path: dir.to_path_buf(),
        msg: format!("cannot read the photos folder: {e}"),
    })?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("");
            p.is_file() && ["png", "jpg", "jpeg"].contains(&ext.to_ascii_lowercase().as_str())
        })
        .collect();
    paths.sort();
    if paths.is_empty() {
        return Err(Error::Input {
            path: dir.to_path_buf(),
            msg: "no PNG or JPEG photos in this folder: give a folder of training photos".into(),
        });
    }
    paths
        .iter()
        .map(|p| {
            let img = io::load(p, &Limits::default())?.image;
            let short = img.width.min(img.height);
            if short <= PHOTO_SHORT_SIDE {
                return Ok(img);
            }
            let k = PHOTO_SHORT_SIDE as f64 / short as f64;
            let (w, h) = (
                (img.width as f64 * k).round() as usize,
                (img.height as f64 * k).round() as usize,
            );
            Ok(resize::resize(&img, w, h))
        })
        .collect()
}

/// The progress bar (hidden with `--json` or when stderr is not a terminal).
fn bar(trainer: &Trainer, quiet: bool) -> ProgressBar {
    let bar = if quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(trainer.settings().steps as u64)
    };
    bar.set_style(
        ProgressStyle::with_template("step {pos}/{len} [{bar:30}] {msg} (ETA {eta})")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_position(trainer.steps_done() as u64);
    bar.reset_eta();
    bar
}
