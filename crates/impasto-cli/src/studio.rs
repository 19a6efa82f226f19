//! `impasto studio`: loads the weights as `stylize` does, and the trained models of `--models`,
//! and serves the studio until Ctrl-C.

use std::path::Path;
use std::sync::Arc;

use impasto_studio::{Config, Models};

use crate::args::StudioArgs;
use crate::Failure;

/// Runs `impasto studio`.
pub fn run(a: StudioArgs) -> Result<(), Failure> {
    if a.max_runs == 0 || a.max_sessions == 0 {
        return Err(Failure::usage(
            "--max-runs and --max-sessions must be at least 1",
        ));
    }
    // The studio logs sessions opening and closing, and failures, on stderr.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(tracing_subscriber::filter::LevelFilter::INFO)
        .with_target(false)
        .init();
    let models = load_models(a.models.as_deref())?;
    let model = Arc::new(crate::weights::load_model(
        a.weights.weights.as_deref(),
        false,
        impasto::Precision::auto(),
    )?);
    let config = Config {
        host: a.host,
        port: a.port,
        max_runs: a.max_runs,
        max_sessions: a.max_sessions,
        study: a.study.clone(),
        ..Config::default()
    };
    let open = a.open;
    impasto_studio::run_blocking(config, model, models, |addr, rating| {
        let url = format!("http://{addr}/");
        eprintln!("Impasto Studio is at {url} (Ctrl-C stops it)");
        if let Some(link) = rating {
            eprintln!("The rating study's page for raters: {link}");
        }
        if !addr.ip().is_loopback() {
            eprintln!("impasto: warning: listening on {addr}, reachable from other machines");
        }
        if open {
            open_browser(&url);
        }
    })?;
    Ok(())
}

/// The models of `dir`, or of `models/` when there is one; a file that does not load is
/// skipped with a warning.
fn load_models(dir: Option<&Path>) -> Result<Models, Failure> {
    let default = Path::new("models");
    let dir = match dir {
        Some(dir) => dir,
        None if default.is_dir() => default,
        None => return Ok(Models::default()),
    };
    Models::load(dir, |w| eprintln!("impasto: warning: {w}"))
        .map_err(|e| Failure::usage(format!("{e}; check --models")))
}

/// Asks the desktop to open `url`; says so when it cannot.
fn open_browser(url: &str) {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    if let Err(e) = std::process::Command::new(opener).arg(url).spawn() {
        eprintln!("impasto: cannot open a browser ({opener}: {e}); open {url} by hand");
    }
}
