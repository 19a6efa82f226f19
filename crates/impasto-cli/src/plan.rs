//! The plan of an optimisation before it runs: scales, tiles, estimated peak memory and time
//! on this machine (`stylize --plan`, and printed at the start of every tiled run).

use std::sync::Arc;
use std::time::Instant;

use impasto::image::Rgb;
use impasto::plan::ScalePlan;
use impasto::{Session, Settings, Start, StyleTargets, Vgg19};
use impasto_io::Result;

/// Objective evaluations per L-BFGS iteration, on average over a run (its line search rarely
/// needs a second).
const EVALS_PER_ITER: f64 = 1.15;

/// Evaluations' worth of work a scale spends outside its iterations: the photo's features and
/// the painting's Gram matrices at its size (forward passes, a third of an evaluation each).
const TARGETS_EVALS: f64 = 0.67;

/// Evaluations' worth of the final measurements (SSIM, and the Gram cosine's forward passes
/// of the result and the painting at full size).
const METRICS_EVALS: f64 = 0.67;

/// Sides of the calibration images.
const CALIBRATION: [usize; 2] = [256, 512];

/// Evaluations timed at each calibration size, of which the median counts: one alone can be
/// off by half on a busy machine, and the fit to two sizes carries that to print sizes.
const TIMED: usize = 3;

/// The time of one evaluation (forward and backward) on this machine: `fixed + per_px · px`
/// per pass of the network, fitted to short runs at the [`CALIBRATION`] sizes with the run's
/// own settings and precision.
#[derive(Clone, Copy, Debug)]
pub struct Rate {
    /// Seconds a pass costs whatever its size (per tile, for tiled scales).
    pub fixed: f64,
    /// Seconds per pixel.
    pub per_px: f64,
}

/// Measures this machine's [`Rate`].
pub fn calibrate(
    model: &Vgg19,
    content: &Rgb,
    styles: &Arc<StyleTargets>,
    settings: &Settings,
) -> Result<Rate> {
    let mut points = Vec::new();
    for size in CALIBRATION {
        let s = Settings {
            size,
            scales: Some(vec![size]),
            iters: 1,
            ..settings.clone()
        };
        let mut session = Session::new(model, content.clone(), styles.clone(), s, Start::Content)?;
        session.evaluate()?; // prepares the kernels and the targets
        let mut times = Vec::with_capacity(TIMED);
        for _ in 0..TIMED {
            let start = Instant::now();
            session.evaluate()?;
            times.push(start.elapsed().as_secs_f64());
        }
        times.sort_by(f64::total_cmp);
        let plan = &session.memory_plan()[0];
        points.push(((plan.width * plan.height) as f64, times[TIMED / 2]));
    }
    let ((p0, t0), (p1, t1)) = (points[0], points[1]);
    let per_px = ((t1 - t0) / (p1 - p0)).max(t1 / p1 / 2.0);
    Ok(Rate {
        fixed: (t1 - per_px * p1).max(0.0),
        per_px,
    })
}

/// Seconds of one evaluation at scale `p`: every tile pays the fixed cost (a third more for
/// the tiles' extra forward pass, as [`ScalePlan::work_px`] counts its pixels).
fn evaluation(p: &ScalePlan, r: Rate) -> f64 {
    let passes = match p.tiles {
        1 => 1.0,
        n => n as f64 * 4.0 / 3.0,
    };
    r.fixed * passes + r.per_px * p.work_px
}

/// Estimated seconds of one scale (its targets and iterations; the last one's measurements).
pub fn seconds(p: &ScalePlan, r: Rate, last: bool) -> f64 {
    let metrics = if last { METRICS_EVALS } else { 0.0 };
    evaluation(p, r) * (p.iters as f64 * EVALS_PER_ITER + TARGETS_EVALS + metrics)
}

/// Estimated seconds of each scale.
fn each(plan: &[ScalePlan], r: Rate) -> Vec<f64> {
    plan.iter()
        .enumerate()
        .map(|(i, p)| seconds(p, r, i + 1 == plan.len()))
        .collect()
}

/// The plan as a table for people.
pub fn table(plan: &[ScalePlan], rate: Rate, budget_mb: u64) -> String {
    let times = each(plan, rate);
    let mut out = format!(
        "{:<7} {:<11} {:>5}  {:<26} {:>9} {:>8}\n",
        "scale", "size", "iters", "runs as", "peak mem", "time"
    );
    for (i, p) in plan.iter().enumerate() {
        let runs = match p.layout.grid {
            None => "whole image".to_string(),
            Some(g) => format!("{} tiles of {} px (+{} halo)", p.tiles, g.core, g.halo),
        };
        out += &format!(
            "{:<7} {:<11} {:>5}  {:<26} {:>6} MB {:>8}\n",
            format!("{}/{}", i + 1, plan.len()),
            format!("{}×{}", p.width, p.height),
            p.iters,
            runs,
            p.peak_bytes >> 20,
            duration(times[i])
        );
    }
    let total: f64 = times.iter().sum();
    let peak = plan.iter().map(|p| p.peak_bytes).max().unwrap_or(0) >> 20;
    out += &format!(
        "peak memory about {peak} MB of the {budget_mb} MB allowed; about {} on this machine \
         (at most: a reached style target ends the last scale sooner)",
        duration(total)
    );
    out
}

/// The plan as one JSON object.
pub fn json(plan: &[ScalePlan], rate: Rate, budget_mb: u64) -> serde_json::Value {
    let times = each(plan, rate);
    let scales: Vec<_> = plan
        .iter()
        .zip(&times)
        .map(|(p, seconds)| {
            serde_json::json!({
                "width": p.width, "height": p.height, "iters": p.iters, "tiles": p.tiles,
                "tile_core": p.layout.grid.map(|g| g.core), "halo": p.layout.grid.map(|g| g.halo),
                "history": p.layout.history, "peak_memory_mb": p.peak_bytes >> 20,
                "seconds": seconds,
            })
        })
        .collect();
    serde_json::json!({
        "peak_memory_mb": plan.iter().map(|p| p.peak_bytes).max().unwrap_or(0) >> 20,
        "seconds": times.iter().sum::<f64>(),
        "tiles": plan.iter().map(|p| p.tiles).max().unwrap_or(1),
        "max_memory_mb": budget_mb,
        "scales": scales,
    })
}

/// `1 h 05 min`, `12 min`, `40 s`.
fn duration(s: f64) -> String {
    let s = s.round() as u64;
    match s {
        0..=99 => format!("{s} s"),
        100..=3599 => format!("{} min", (s + 30) / 60),
        _ => format!("{} h {:02} min", s / 3600, (s % 3600 + 30) / 60),
    }
}
