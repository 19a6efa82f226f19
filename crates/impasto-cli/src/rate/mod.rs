//! `impasto rate`: blind rating studies of results (make, serve, report, export).

pub mod args;
mod export;
mod new;
mod report;
mod serve;
mod tally;

use crate::Failure;
use args::{RateArgs, RateCommand};

/// Runs `impasto rate …`.
pub fn run(a: RateArgs) -> Result<(), Failure> {
    match a.command {
        RateCommand::New(a) => new::run(a),
        RateCommand::Serve(a) => serve::run(a),
        RateCommand::Report(a) => report::run(a),
        RateCommand::Export(a) => export::run(a),
    }
}
