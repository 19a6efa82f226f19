//! `impasto rate`'s subcommands and their flags.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

/// `impasto rate new|serve|report|export`.
#[derive(Args, Debug)]
pub struct RateArgs {
    /// What to do with the study.
    #[command(subcommand)]
    pub command: RateCommand,
}

/// The rating subcommands.
#[derive(Subcommand, Debug)]
pub enum RateCommand {
    /// Make a study from folders of results, one folder per method, matched by file name.
    New(NewArgs),
    /// Serve the study's rating page to raters until Ctrl-C.
    Serve(ServeArgs),
    /// Scores per method with 95% intervals, win rates, rater agreement and a plot.
    Report(ReportArgs),
    /// Write every answer as CSV (one row per answered trial).
    Export(ExportArgs),
}

/// How results are judged.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ModeArg {
    /// Two results side by side: A, B or "can't tell" (2AFC); scored by Bradley–Terry.
    Pairs,
    /// One result at a time on a 1–5 scale (ACR); mean opinion scores.
    Acr,
}

/// `impasto rate new`.
#[derive(Args, Debug)]
pub struct NewArgs {
    /// The study folder to make (must not exist).
    pub study: PathBuf,
    /// A method's folder of results, [NAME=]DIR (NAME defaults to the folder's name); repeat
    /// for each method. Results are matched across folders by file name.
    #[arg(long = "from", value_name = "[NAME=]DIR", required = true)]
    pub from: Vec<String>,
    /// Folder of the photos, for results without a batch sidecar (result PHOTO_PAINTING.png).
    #[arg(long, value_name = "DIR")]
    pub photos: Option<PathBuf>,
    /// Folder of the paintings, for results without a batch sidecar.
    #[arg(long, value_name = "DIR")]
    pub paintings: Option<PathBuf>,
    /// Pairs (2AFC) or absolute 1–5 ratings (ACR).
    #[arg(long, value_enum, default_value = "pairs")]
    pub mode: ModeArg,
    /// Ordinary trials per rater (at most the study's distinct trials).
    #[arg(long, default_value_t = 30)]
    pub trials: usize,
    /// Gold trials per rater (a result against a broken copy).
    #[arg(long, default_value_t = 3)]
    pub gold: usize,
    /// Repeated trials per rater (an earlier trial again, sides swapped).
    #[arg(long, default_value_t = 3)]
    pub repeats: usize,
    /// The title raters see.
    #[arg(long, default_value = "Which painting is better?")]
    pub title: String,
    /// A text file of instructions for raters (default: the mode's standard text).
    #[arg(long, value_name = "FILE")]
    pub instructions: Option<PathBuf>,
    /// The instructions' version, recorded with every rater.
    #[arg(long, default_value = "1")]
    pub instructions_version: String,
    /// Print one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

/// `impasto rate serve`.
#[derive(Args, Debug)]
pub struct ServeArgs {
    /// The study folder (from `impasto rate new`).
    pub study: PathBuf,
    /// Address to listen on (only this machine by default; any other needs the study's link).
    #[arg(long, default_value = "127.0.0.1")]
    pub host: IpAddr,
    /// Port to listen on.
    #[arg(long, default_value_t = 7861)]
    pub port: u16,
}

/// `impasto rate report`.
#[derive(Args, Debug)]
pub struct ReportArgs {
    /// The study folder.
    pub study: PathBuf,
    /// Where to write the plot (SVG; default STUDY/report.svg).
    #[arg(long, value_name = "FILE")]
    pub plot: Option<PathBuf>,
    /// Bootstrap resamples of raters for the 95% intervals.
    #[arg(long, default_value_t = 2000)]
    pub bootstrap: usize,
    /// Seed of the bootstrap (the same seed gives the same intervals).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Keep flagged raters (failed gold or repeated trials) in the scores.
    #[arg(long)]
    pub keep_flagged: bool,
    /// Print one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

/// `impasto rate export`.
#[derive(Args, Debug)]
pub struct ExportArgs {
    /// The study folder.
    pub study: PathBuf,
    /// The CSV file to write (default: standard output).
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
}
