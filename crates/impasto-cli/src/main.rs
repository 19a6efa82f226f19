//! The `impasto` command line: a thin front end over the `impasto` engine.

mod args;
mod batch;
mod bench;
mod bench_model;
mod error;
mod export;
mod guides;
mod look;
mod medical;
mod metrics;
mod metrics_video;
mod plan;
mod progress;
mod rate;
mod resume;
mod studio;
mod stylize;
mod stylize_model;
mod train;
mod video;
mod weights;

use std::process::ExitCode;

use clap::Parser;

use error::Failure;

/// Keeps freed tensor buffers in the heap for reuse: without this, glibc returns every large
/// buffer to the kernel and the next step pays page faults to get it back (about 5% of a step).
/// glibc refuses a mmap threshold above 32 MiB (and a refused one would leave it at 128 KiB),
/// so buffers past 32 MiB are still mapped afresh.
fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator thresholds; called before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
    }
}

fn main() -> ExitCode {
    tune_allocator();
    let cli = args::Cli::parse();
    let result = match cli.command {
        args::Command::Stylize(a) => stylize::run(a).map_err(Failure::from),
        args::Command::Fetch(a) => fetch(a).map_err(Failure::from),
        args::Command::Metrics(a) => metrics::run(a).map_err(Failure::from),
        args::Command::Bench(a) => bench::run(a).map_err(Failure::from),
        args::Command::Video(a) => video::dispatch(a).map_err(Failure::from),
        args::Command::MetricsVideo(a) => metrics_video::run(a).map_err(Failure::from),
        args::Command::Studio(a) => studio::run(a),
        args::Command::Train(a) => train::run(a).map_err(Failure::from),
        args::Command::Export(a) => export::run(a).map_err(Failure::from),
        args::Command::Rate(a) => rate::run(a),
        // Failed items and a stop by a signal are told to the scheduler by the exit code.
        args::Command::Batch(a) => match batch::run(a).map(|r| r.exit_code()) {
            Ok(Some(code)) => return ExitCode::from(code),
            Ok(None) => Ok(()),
            Err(e) => Err(e),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("impasto: error: {}", e.message);
            if e.user {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

fn fetch(a: args::FetchArgs) -> impasto_io::Result<()> {
    let path = impasto_io::weights::fetch::fetch(&mut |line| eprintln!("  {line}"))?;
    if a.json {
        println!("{}", serde_json::json!({ "weights": path }));
    } else {
        println!("weights ready: {}", path.display());
    }
    Ok(())
}
