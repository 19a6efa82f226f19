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

/// Side of the calibration image.
const CALIBRATION: usize = 256;

/// Seconds per pixel of one evaluation (forward and backward) on this machine, from a
/// short run at [`CALIBRATION`] px with the run's own settings and precision.
pub fn calibrate(
    model: &Vgg19,
    content: &Rgb,
    styles: &Arc<StyleTargets>,
    settings: &Settings,
) -> Result<f64> {
    let s = Settings {
        size: CALIBRATION,
        scales: Some(vec![CALIBRATION]),
        iters: 1,
        ..settings.clone()
    };
    let mut session = Session::new(model, content.clone(), styles.clone(), s, Start::Content)?;
    session.evaluate()?; // prepares the kernels and the targets
    let start = Instant::now();
    session.evaluate()?;
    let plan = &session.memory_plan()[0];
    Ok(start.elapsed().as_secs_f64() / (plan.width * plan.height) as f64)
}

/// Estimated seconds of one scale.
pub fn seconds(p: &ScalePlan, per_px: f64) -> f64 {
    p.work_px * per_px * p.iters as f64 * EVALS_PER_ITER
}

/// The plan as a table for people.
pub fn table(plan: &[ScalePlan], per_px: f64, budget_mb: u64) -> String {
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
            duration(seconds(p, per_px))
        );
    }
    let total: f64 = plan.iter().map(|p| seconds(p, per_px)).sum();
    let peak = plan.iter().map(|p| p.peak_bytes).max().unwrap_or(0) >> 20;
    out += &format!(
        "peak memory about {peak} MB of the {budget_mb} MB allowed; about {} on this machine \
         (at most: a reached style target ends the last scale sooner)",
        duration(total)
    );
    out
}

/// The plan as one JSON object.
pub fn json(plan: &[ScalePlan], per_px: f64, budget_mb: u64) -> serde_json::Value {
    let scales: Vec<_> = plan
        .iter()
        .map(|p| {
            serde_json::json!({
                "width": p.width, "height": p.height, "iters": p.iters, "tiles": p.tiles,
                "tile_core": p.layout.grid.map(|g| g.core), "halo": p.layout.grid.map(|g| g.halo),
                "history": p.layout.history, "peak_memory_mb": p.peak_bytes >> 20,
                "seconds": seconds(p, per_px),
            })
        })
        .collect();
    serde_json::json!({
        "peak_memory_mb": plan.iter().map(|p| p.peak_bytes).max().unwrap_or(0) >> 20,
        "seconds": plan.iter().map(|p| seconds(p, per_px)).sum::<f64>(),
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
