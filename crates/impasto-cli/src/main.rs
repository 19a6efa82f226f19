//! The `impasto` command line: a thin front end over the `impasto` engine.

mod args;
mod bench;
mod metrics;
mod progress;
mod stylize;
mod weights;

use std::process::ExitCode;

use clap::Parser;

/// Keeps freed tensor buffers in the heap for reuse: without this, glibc returns every large
/// buffer to the kernel and the next step pays page faults to get it back (about 5% of a step).
fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator thresholds; called before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 30);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
    }
}

fn main() -> ExitCode {
    tune_allocator();
    let cli = args::Cli::parse();
    let result = match cli.command {
        args::Command::Stylize(a) => stylize::run(a),
        args::Command::Fetch(a) => fetch(a),
        args::Command::Metrics(a) => metrics::run(a),
        args::Command::Bench(a) => bench::run(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("impasto: error: {e}");
            if e.is_user_error() {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

fn fetch(a: args::FetchArgs) -> impasto::Result<()> {
    let path = impasto::model::fetch::fetch(&mut |line| eprintln!("  {line}"))?;
    if a.json {
        println!("{}", serde_json::json!({ "weights": path }));
    } else {
        println!("weights ready: {}", path.display());
    }
    Ok(())
}
