//! `impasto rate export`: the answers as CSV, to a file (atomically) or standard output.

use impasto_io::study::export::write_csv;
use impasto_io::study::store::Store;
use impasto_io::study::Study;

use super::args::ExportArgs;
use crate::Failure;

/// Runs `impasto rate export`.
pub fn run(a: ExportArgs) -> Result<(), Failure> {
    let study = Study::load(&a.study)?;
    let store = Store::open(&a.study)?;
    let (raters, answers) = (store.raters()?, store.answers()?);
    match &a.output {
        Some(path) => {
            let mut bytes = Vec::new();
            write_csv(&study, &raters, &answers, &mut bytes)?;
            impasto_io::atomic::write(path, &bytes)?;
            eprintln!("Wrote {} answers to {}", answers.len(), path.display());
        }
        None => write_csv(&study, &raters, &answers, std::io::stdout().lock())?,
    }
    Ok(())
}
