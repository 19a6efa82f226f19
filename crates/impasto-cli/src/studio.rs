//! `impasto studio`: loads the weights as `stylize` does and serves the studio until Ctrl-C.

use std::sync::Arc;

use impasto_studio::Config;

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
        ..Config::default()
    };
    let open = a.open;
    impasto_studio::run_blocking(config, model, |addr| {
        let url = format!("http://{addr}/");
        eprintln!("Impasto Studio is at {url} (Ctrl-C stops it)");
        if !addr.ip().is_loopback() {
            eprintln!("impasto: warning: listening on {addr}, reachable from other machines");
        }
        if open {
            open_browser(&url);
        }
    })?;
    Ok(())
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
