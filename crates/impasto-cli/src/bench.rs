//! `impasto bench`: median time of the core step at a given size, and of each layer.

use std::path::{Path, PathBuf};
use std::time::Instant;

use impasto::image::resize;
use impasto::sysmem;
use impasto::Isa;
use impasto::{Session, Settings, Start, Style, StyleTargets};
use impasto_io::codec::{self as io, Limits};
use impasto_io::{Error, Result};

use crate::args::BenchArgs;

/// The bundled example images, found next to the binary's source tree or the working folder.
fn example(name: &str) -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(name);
    if here.exists() {
        here
    } else {
        Path::new("examples").join(name)
    }
}

/// Runs `impasto bench`, with the instruction set `--isa` names (default: the best this CPU
/// has).
pub fn run(a: BenchArgs) -> Result<()> {
    if a.steps == 0 {
        return Err(Error::Usage("--steps must be at least 1".into()));
    }
    if a.batch == 0 || a.batch > 64 {
        return Err(Error::Usage(format!(
            "--batch {} is invalid: give 1 to 64 images per step",
            a.batch
        )));
    }
    let Some(name) = &a.isa else {
        return timed(a);
    };
    let isa = Isa::supported()
        .into_iter()
        .find(|i| i.name() == name)
        .ok_or_else(|| {
            let have: Vec<_> = Isa::supported().iter().map(|i| i.name()).collect();
            Error::Usage(format!(
                "--isa {name} is invalid: this CPU runs {}",
                have.join(", ")
            ))
        })?;
    Isa::with(isa, || timed(a))
}

/// The timing itself, with the instruction set in force on this thread.
fn timed(a: BenchArgs) -> Result<()> {
    let content = a
        .content
        .clone()
        .unwrap_or_else(|| example("portrait_astronaut.jpg"));
    if let Some(model) = &a.model {
        return crate::bench_model::run(&a, model, &content);
    }
    let style = a
        .style
        .clone()
        .unwrap_or_else(|| example("starry_night.jpg"));
    // Square images, as the PyTorch reference step uses.
    let content = resize::resize(
        &io::load(&content, &Limits::default())?.image,
        a.size,
        a.size,
    );
    let style = resize::resize(&io::load(&style, &Limits::default())?.image, a.size, a.size);
    let precision = impasto::precision_for(&a.precision, a.size)?;
    let model = crate::weights::load_model(a.weights.weights.as_deref(), a.json, precision)?;
    let settings = Settings {
        size: a.size,
        scales: Some(vec![a.size]),
        iters: 1,
        ..Settings::default()
    };
    let layers = settings.layers();
    let probe = content.clone();
    let styles = StyleTargets::new(vec![Style {
        image: style,
        weight: 1.0,
    }])?;
    let mut session = Session::new(&model, content, styles, settings, Start::Content)?;
    session.evaluate_batch(a.batch)?;
    session.evaluate_batch(a.batch)?;
    let mut times = Vec::with_capacity(a.steps);
    let mut losses = session.losses();
    for _ in 0..a.steps {
        let t = Instant::now();
        losses = session.evaluate_batch(a.batch)?;
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    // A step whose loss is not finite (overflow, NaN) is a failure, not a timing.
    if !losses.total.is_finite() {
        return Err(Error::Usage(format!(
            "the step's loss is not finite ({losses:?}) at {} px in {}",
            a.size,
            precision.name()
        )));
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    let deepest = *layers.iter().max().expect("layers validated");
    // The network alone, to the deepest layer, with that layer's output as its gradient.
    let per_layer = model.profile(&probe, a.batch, deepest, a.steps)?;
    let peak = sysmem::peak_rss_bytes().unwrap_or(0) / (1 << 20);
    let isa = Isa::get().name();
    if a.json {
        let layers: Vec<_> = per_layer
            .iter()
            .map(|l| {
                serde_json::json!({
                    "layer": l.layer, "shape": l.shape, "gflop": l.gflop,
                    "forward_ms": l.forward_s * 1e3, "backward_ms": l.backward_s * 1e3,
                    "forward_gflops": l.gflop / l.forward_s, "backward_gflops": l.gflop / l.backward_s,
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::json!({
                "size": a.size, "batch": a.batch, "precision": precision, "isa": isa, "steps": a.steps,
                "median_ms": median, "min_ms": times[0], "peak_rss_mb": peak,
                "loss": { "content": losses.content, "style": losses.style, "tv": losses.tv, "total": losses.total },
                "threads": std::thread::available_parallelism().map_or(1, |n| n.get()), "layers": layers,
            })
        );
    } else {
        let images = match a.batch {
            1 => String::new(),
            n => format!(", batch of {n}"),
        };
        println!(
            "{} px{images}, {}, {isa}: median {median:.1} ms per step (min {:.1} ms over {} steps), peak RSS {peak} MB",
            a.size, precision.name(), times[0], a.steps
        );
        println!("layer     shape            forward           backward          (GFLOP/s as direct convolution)");
        for l in &per_layer {
            println!(
                "{:<9} {:>4}×{:>4}×{:<4}  {:>7.1} ms {:>5.0}  {:>7.1} ms {:>5.0}",
                l.layer,
                l.shape[0],
                l.shape[1],
                l.shape[2],
                l.forward_s * 1e3,
                l.gflop / l.forward_s,
                l.backward_s * 1e3,
                l.gflop / l.backward_s
            );
        }
    }
    Ok(())
}
