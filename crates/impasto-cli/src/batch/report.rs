//! A shard's tally: a progress bar (items done, skipped, failed, ETA) while it runs, a line
//! per item in a log when no one watches the bar (a scheduler's task), and the report it
//! leaves in `OUTDIR/reports/` and prints with `--json`.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};

use super::shard::Shard;
use super::work::Outcome;

/// An item that could not be made.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FailedItem {
    /// The photo.
    pub input: PathBuf,
    /// The result it was to be, relative to the output folder.
    pub output: PathBuf,
    /// Its styles.
    pub styles: Vec<String>,
    /// Why, and how to fix it.
    pub error: String,
}

/// A shard's report.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// This shard (from 0).
    pub shard: usize,
    /// How many shards share the job.
    pub shards: usize,
    /// Items of the whole job.
    pub job_items: usize,
    /// Items of this shard.
    pub items: usize,
    /// Made now.
    pub done: usize,
    /// Already made with the same key.
    pub skipped: usize,
    /// Could not be made.
    pub failed: usize,
    /// Left undone because the shard was asked to stop (a rerun makes them).
    pub left: usize,
    /// The signal that stopped the shard (15: SIGTERM, 2: SIGINT), if one did.
    pub stopped_by: Option<i32>,
    /// The failed items and their errors.
    pub failures: Vec<FailedItem>,
    /// Wall-clock seconds of the shard.
    pub seconds: f64,
    /// Wall-clock seconds per item made (`seconds / done`).
    pub seconds_per_item: Option<f64>,
    /// Share of the cores' time the shard's work used (user + system over wall × cores),
    /// when it made anything.
    pub cpu_busy: Option<f64>,
}

impl Report {
    /// The process's exit code when not 0: 128 + the signal that stopped the shard (the
    /// shell's code for it, as if killed), else 3 when some items failed.
    pub fn exit_code(&self) -> Option<u8> {
        match (self.stopped_by, self.failed) {
            (Some(sig), _) => Some(128 + sig as u8),
            (None, 0) => None,
            (None, _) => Some(3),
        }
    }

    /// Where shard `s`'s report goes.
    pub fn path(out: &Path, s: Shard) -> PathBuf {
        out.join("reports")
            .join(format!("shard-{}-of-{}.json", s.index, s.count))
    }
}

/// Counts outcomes as they come, from any thread, and shows them.
pub struct Tally {
    report: Mutex<Report>,
    bar: ProgressBar,
    log: bool,
    start: Instant,
    cpu_at_start: Option<f64>,
}

impl Tally {
    /// A tally for `items` of a job of `job_items`, shown unless `quiet`.
    pub fn new(shard: Shard, job_items: usize, items: usize, quiet: bool) -> Self {
        let watched = std::io::stderr().is_terminal() && !quiet;
        let bar = match watched {
            true => ProgressBar::new(items as u64),
            false => ProgressBar::hidden(),
        };
        bar.set_style(
            ProgressStyle::with_template("[{bar:30}] {pos}/{len} {msg} (ETA {eta})")
                .expect("valid template")
                .progress_chars("=> "),
        );
        Self {
            report: Mutex::new(Report {
                shard: shard.index,
                shards: shard.count,
                job_items,
                items,
                done: 0,
                skipped: 0,
                failed: 0,
                left: 0,
                stopped_by: None,
                failures: Vec::new(),
                seconds: 0.0,
                seconds_per_item: None,
                cpu_busy: None,
            }),
            bar,
            log: !watched && !quiet,
            start: Instant::now(),
            cpu_at_start: cpu_seconds(),
        }
    }

    /// Counts an item's outcome.
    pub fn record(&self, outcome: Outcome) {
        let mut r = self.report.lock().expect("tally lock");
        let line = match &outcome {
            Outcome::Done { item, seconds } => {
                r.done += 1;
                format!("done {} in {seconds:.1} s", item.output.display())
            }
            Outcome::Skipped(item) => {
                r.skipped += 1;
                format!("skipped {} (done before)", item.output.display())
            }
            Outcome::Stopped(item) => format!("stopped before {}", item.output.display()),
            Outcome::Failed(item, error) => {
                r.failed += 1;
                r.failures.push(FailedItem {
                    input: item.input.clone(),
                    output: item.output.clone(),
                    styles: item.styles.clone(),
                    error: error.clone(),
                });
                format!("FAILED {}: {error}", item.origin)
            }
        };
        let at = r.done + r.skipped + r.failed;
        self.bar.set_position(at as u64);
        self.bar.set_message(format!(
            "done {} · skipped {} · failed {}",
            r.done, r.skipped, r.failed
        ));
        match self.log {
            true => eprintln!("[{at}/{}] {line}", r.items),
            false if matches!(outcome, Outcome::Failed(..)) => self.bar.println(line),
            false => {}
        }
    }

    /// The finished report; `stopped_by` the signal that stopped the shard, if one did.
    pub fn finish(self, stopped_by: Option<i32>) -> Report {
        self.bar.finish_and_clear();
        let mut r = self.report.into_inner().expect("tally lock");
        r.stopped_by = stopped_by;
        r.left = r.items - r.done - r.skipped - r.failed;
        r.seconds = self.start.elapsed().as_secs_f64();
        r.seconds_per_item = (r.done > 0).then(|| r.seconds / r.done as f64);
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        r.cpu_busy = match (self.cpu_at_start, cpu_seconds()) {
            (Some(a), Some(b)) if r.done > 0 => Some((b - a) / (r.seconds * cores as f64)),
            _ => None,
        };
        r
    }
}

/// User and system CPU seconds of this process so far.
fn cpu_seconds() -> Option<f64> {
    // SAFETY: getrusage only fills the struct it is given.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) } != 0 {
        return None;
    }
    let t = |v: libc::timeval| v.tv_sec as f64 + v.tv_usec as f64 / 1e6;
    Some(t(u.ru_utime) + t(u.ru_stime))
}
