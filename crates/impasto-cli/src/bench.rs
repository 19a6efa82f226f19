//! `impasto bench`: median time of the core step at a given size.

use std::path::{Path, PathBuf};
use std::time::Instant;

use impasto::image::{io, resize};
use impasto::session::{Session, Style};
use impasto::settings::Settings;
use impasto::{sysmem, Error, Result};

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

/// Runs `impasto bench`.
pub fn run(a: BenchArgs) -> Result<()> {
    if a.steps == 0 {
        return Err(Error::Usage("--steps must be at least 1".into()));
    }
    let content = a
        .content
        .clone()
        .unwrap_or_else(|| example("portrait_astronaut.jpg"));
    let style = a
        .style
        .clone()
        .unwrap_or_else(|| example("starry_night.jpg"));
    // Square images, as the PyTorch reference step uses.
    let content = resize::resize(&io::load(&content)?.image, a.size, a.size);
    let style = resize::resize(&io::load(&style)?.image, a.size, a.size);
    let model = crate::weights::load_model(a.weights.weights.as_deref(), a.json)?;
    let settings = Settings {
        size: a.size,
        scales: Some(vec![a.size]),
        iters: 1,
        ..Settings::default()
    };
    let mut session = Session::new(
        &model,
        content,
        vec![Style {
            image: style,
            weight: 1.0,
        }],
        settings,
    )?;
    session.evaluate()?;
    session.evaluate()?;
    let mut times = Vec::with_capacity(a.steps);
    for _ in 0..a.steps {
        let t = Instant::now();
        session.evaluate()?;
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    let peak = sysmem::peak_rss_bytes().unwrap_or(0) / (1 << 20);
    if a.json {
        println!(
            "{}",
            serde_json::json!({ "size": a.size, "steps": a.steps, "median_ms": median, "min_ms": times[0], "peak_rss_mb": peak, "threads": rayon_threads() })
        );
    } else {
        println!("{} px: median {median:.1} ms per step (min {:.1} ms over {} steps), peak RSS {peak} MB", a.size, times[0], a.steps);
    }
    Ok(())
}

fn rayon_threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}
