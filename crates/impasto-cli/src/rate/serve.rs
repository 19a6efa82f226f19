//! `impasto rate serve`: the study's rating page until Ctrl-C.

use super::args::ServeArgs;
use crate::Failure;

/// Runs `impasto rate serve`.
pub fn run(a: ServeArgs) -> Result<(), Failure> {
    // Raters joining and failures go to stderr, as the studio's do.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(tracing_subscriber::filter::LevelFilter::INFO)
        .with_target(false)
        .init();
    impasto_studio::rate::run_blocking(&a.study, a.host, a.port, |addr, link| {
        eprintln!("Rating page: {link} (Ctrl-C stops it)");
        if !addr.ip().is_loopback() {
            eprintln!(
                "impasto: listening on {addr}, reachable from other machines; raters need the \
                 link above (its token is the study's); other requests are refused"
            );
        }
    })?;
    Ok(())
}
