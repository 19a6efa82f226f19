//! `impasto bench --model`: median time of one pass of a trained network at a given size.

use std::path::Path;
use std::time::Instant;

use impasto::image::resize;
use impasto::{sysmem, Isa};
use impasto_io::codec::{self as io, Limits};
use impasto_io::{model, Result};

use crate::args::BenchArgs;

/// Runs `impasto bench --model MODEL`: two warm-up passes, then `--steps` timed ones, with the
/// instruction set in force on this thread.
pub fn run(a: &BenchArgs, model_path: &Path, content: &Path) -> Result<()> {
    let m = model::load_model(model_path)?;
    let photo = resize::resize(
        &io::load(content, &Limits::default())?.image,
        a.size,
        a.size,
    );
    let precision = crate::stylize_model::precision(&a.precision)?;
    let runner = m.net.runner(precision);
    let mix = m.net.mix(None)?;
    for _ in 0..2 {
        runner.stylize(&photo, &mix)?;
    }
    let mut times = Vec::with_capacity(a.steps);
    for _ in 0..a.steps {
        let t = Instant::now();
        runner.stylize(&photo, &mix)?;
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    let peak = sysmem::peak_rss_bytes().unwrap_or(0) / (1 << 20);
    let isa = Isa::get().name();
    let gmac = m.net.arch().macs(a.size, a.size) as f64 / 1e9;
    if a.json {
        let v = serde_json::json!({
            "size": a.size, "model": model_path, "precision": precision, "isa": isa,
            "steps": a.steps, "median_ms": median, "min_ms": times[0], "peak_rss_mb": peak,
            "gmac": gmac, "threads": std::thread::available_parallelism().map_or(1, |n| n.get()),
        });
        println!("{v}");
    } else {
        println!(
            "{} px, one pass of {}, {}, {isa}: median {median:.1} ms (min {:.1} ms over {} passes, {gmac:.2} GMAC), peak RSS {peak} MB",
            a.size,
            model_path.display(),
            precision.name(),
            times[0],
            a.steps
        );
    }
    Ok(())
}
