//! `impasto batch`: a job over many photos × styles that a scheduler can spread over machines.
//! Every shard lists the same sorted items ([`items`]) and does its share ([`shard`]); an item
//! whose result carries its key ([`key`]) in a sidecar is skipped, so a rerun or a retried
//! shard does only what is missing. Items flow through three threads ([`work`]): reading and
//! keying, painting, writing and measuring. Failures are counted, not fatal ([`report`]); the
//! contact sheet ([`sheet`]) shows everything made so far.

mod items;
mod key;
mod options;
mod report;
pub mod shard;
mod sheet;
mod stop;
mod work;

use std::sync::mpsc::sync_channel;
use std::sync::Mutex;

use impasto_io::{Error, Result};

use crate::args::BatchArgs;
use crate::error::Failure;
use key::Keyer;
use report::{Report, Tally};
use work::{Job, Look, Networks, Painter, Step, StyleCache};

/// Runs `impasto batch`; the report says whether any item failed.
pub fn run(a: BatchArgs) -> std::result::Result<Report, Failure> {
    Ok(run_job(a)?)
}

fn run_job(a: BatchArgs) -> Result<Report> {
    refuse_per_photo_options(&a)?;
    let shard = shard::choose(a.shard, |k| std::env::var(k).ok())?;
    std::fs::create_dir_all(&a.output).map_err(|e| {
        Error::Usage(format!(
            "{}: cannot create the output folder ({e})",
            a.output.display()
        ))
    })?;
    let (painter, network_file, tag) = match &a.model {
        Some(path) => {
            let model = impasto_io::model::load_model(path)?;
            let mix = match &a.style_mix {
                Some(spec) => Some(crate::stylize_model::parse_mix(spec)?),
                None => None,
            };
            let mix = model.net.mix(mix.as_deref())?;
            let precision = crate::stylize_model::precision(&a.look.precision)?;
            let tag = path.file_stem().map(|s| s.to_string_lossy().into_owned());
            (
                Painter::Network {
                    model: Box::new(model),
                    mix,
                    precision,
                },
                path.clone(),
                tag,
            )
        }
        None => {
            let nets = Networks::new(a.look.weights.weights.clone());
            // Loads (or fetches) the weights before the work starts, and checks them.
            let first = impasto::precision_for(&a.look.precision, a.size)?;
            nets.get(first)?;
            let (path, _) = impasto_io::weights::resolve(a.look.weights.weights.as_deref())?;
            (Painter::Optimise(nets), path, None)
        }
    };
    let all = items::expand(&a.inputs, &a.look.styles, tag.as_deref())?;
    let mine: Vec<_> = all
        .iter()
        .enumerate()
        .filter(|(i, _)| shard.owns(*i))
        .map(|(_, it)| it.clone())
        .collect();
    let blend = match &painter {
        Painter::Network { model, mix, .. } => model
            .net
            .styles()
            .iter()
            .zip(mix)
            .map(|(name, w)| format!("{name}:{w}"))
            .collect(),
        Painter::Optimise(_) => Vec::new(),
    };
    let mut keyer = Keyer::new(&network_file)?;
    let tally = Tally::new(shard, all.len(), mine.len(), a.json);
    let json = a.json;
    let a_jobs = painters(a.jobs, a.size, a.model.is_some());
    let out = a.output.clone();
    let job = Job {
        out: a.output.clone(),
        argv: std::env::args_os().collect(),
        base: Look::from(a),
        painter,
        measures: Mutex::default(),
        stop: stop::Stop::install()?,
        blend,
    };
    let painters = a_jobs;
    let (to_paint, ready) = sync_channel(painters);
    let ready = Mutex::new(ready);
    let (to_write, painted) = sync_channel(painters);
    std::thread::scope(|s| {
        let (job, tally, ready) = (&job, &tally, &ready);
        s.spawn(move || {
            let mut styles = StyleCache::default();
            for item in mine {
                if job.stop.requested().is_some() {
                    return;
                }
                match job.prepare(item, &mut keyer, &mut styles) {
                    Step::Next(r) => {
                        if to_paint.send(r).is_err() {
                            return;
                        }
                    }
                    Step::End(o) => tally.record(o),
                }
            }
        });
        s.spawn(move || {
            for p in painted {
                tally.record(job.finish(p));
            }
        });
        for _ in 0..painters {
            let to_write = to_write.clone();
            s.spawn(move || {
                let runner = match &job.painter {
                    Painter::Network {
                        model, precision, ..
                    } => Some(model.net.runner(*precision)),
                    Painter::Optimise(_) => None,
                };
                loop {
                    let next = ready.lock().expect("queue lock").recv();
                    let Ok(r) = next else { return };
                    if job.stop.requested().is_some() {
                        tally.record(work::Outcome::Stopped(r.into_item()));
                        continue;
                    }
                    match job.paint(r, runner.as_ref()) {
                        Step::Next(p) => {
                            if to_write.send(p).is_err() {
                                return;
                            }
                        }
                        Step::End(o) => tally.record(o),
                    }
                }
            });
        }
        drop(to_write);
    });
    let report = tally.finish(job.stop.requested());
    let path = Report::path(&out, shard);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::output(dir, e))?;
    }
    let text = serde_json::to_string_pretty(&report)
        .map_err(|e| Error::output(&path, std::io::Error::other(e)))?;
    impasto_io::atomic::write(&path, text.as_bytes())?;
    let sheet = sheet::write(&out)?;
    if json {
        println!(
            "{}",
            serde_json::to_string(&report).expect("a report serialises")
        );
    } else {
        println!(
            "shard {shard} of {} items: {} done, {} skipped (done before), {} failed in {:.1} s{}\nreport {}\ncontact sheet {}",
            report.job_items,
            report.done,
            report.skipped,
            report.failed,
            report.seconds,
            report
                .seconds_per_item
                .map_or(String::new(), |s| format!(" ({s:.1} s per item)")),
            path.display(),
            sheet.display()
        );
        for f in &report.failures {
            println!("  failed {}: {}", f.input.display(), f.error);
        }
        if report.stopped_by.is_some() {
            println!(
                "stopped by a signal with {} items left: run the same command again to make them",
                report.left
            );
        }
    }
    Ok(report)
}

/// Items painted at once: `--jobs`, else two where results are small enough that two
/// sessions fit in memory with room to spare (one fills the other's serial stretches: the
/// optimiser's bookkeeping, small layers a core cannot share), one for print sizes.
fn painters(jobs: Option<usize>, size: usize, model: bool) -> usize {
    // A scheduler's task may see more cores than it was given (Slurm without CPU binding).
    let given = ["SLURM_CPUS_PER_TASK", "RAYON_NUM_THREADS"]
        .iter()
        .find_map(|k| std::env::var(k).ok()?.parse::<usize>().ok());
    let cores =
        given.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    match jobs {
        Some(n) => n.max(1),
        None if cores > 1 && (model || size <= AUTO_JOBS_MAX_SIZE) => 2,
        None => 1,
    }
}

/// The largest result `--jobs auto` paints two at a time.
const AUTO_JOBS_MAX_SIZE: usize = 1024;

/// Masks belong to one photo; a batch of many has none.
fn refuse_per_photo_options(a: &BatchArgs) -> Result<()> {
    let l = &a.look;
    if !l.masks.is_empty() || l.regions.is_some() || l.keep.is_some() {
        return Err(Error::Usage(
            "--mask, --regions and --keep belong to one photo: run `impasto stylize` for a photo with masks".into(),
        ));
    }
    if a.model.is_some() && !l.styles.is_empty() {
        return Err(Error::Usage(
            "--style with --model: the model holds its styles; pick a blend with --style-mix"
                .into(),
        ));
    }
    Ok(())
}
