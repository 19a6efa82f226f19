//! `impasto rate new`: a study folder from folders of results.

use std::path::{Path, PathBuf};

use impasto::rating::Mode;
use impasto_io::codec::Limits;
use impasto_io::study::{self, NewStudy, Source, Study};

use super::args::{ModeArg, NewArgs};
use crate::Failure;

/// Runs `impasto rate new`.
pub fn run(a: NewArgs) -> Result<(), Failure> {
    let sources = sources(&a.from)?;
    let mode = match a.mode {
        ModeArg::Pairs => Mode::Pairs,
        ModeArg::Acr => Mode::Acr,
    };
    if mode == Mode::Pairs && sources.len() < 2 {
        return Err(Failure::usage(
            "a study of pairs compares at least two methods: give --from twice or more \
             (or --mode acr to rate one method's results)",
        ));
    }
    if a.trials == 0 {
        return Err(Failure::usage("--trials must be at least 1"));
    }
    let instructions = match &a.instructions {
        Some(path) => Some(read_instructions(path)?),
        None => None,
    };
    let matching = study::match_items(&sources, a.photos.as_deref(), a.paintings.as_deref())?;
    if matching.items.is_empty() {
        return Err(Failure::usage(format!(
            "no result is in every folder ({}); results are matched by file name, so each \
             folder needs the same names",
            sources
                .iter()
                .map(|s| s.dir.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let new = NewStudy {
        title: a.title.clone(),
        mode,
        instructions,
        instructions_version: a.instructions_version.clone(),
        trials: a.trials,
        gold: a.gold,
        repeats: a.repeats,
    };
    let study = study::create(&a.study, &sources, &matching.items, &new, &Limits::FILES)?;
    let left_out: Vec<_> = matching
        .left_out
        .iter()
        .map(|(name, missing)| serde_json::json!({ "name": name, "missing_from": missing }))
        .collect();
    if a.json {
        let out = serde_json::json!({
            "study": a.study,
            "mode": study.mode,
            "methods": study.methods,
            "items": study.items.len(),
            "distinct_trials": study.design().distinct_trials(),
            "trials_per_rater": per_rater(&study),
            "left_out": left_out,
        });
        println!("{out}");
        return Ok(());
    }
    for (name, missing) in &matching.left_out {
        eprintln!(
            "impasto: warning: {name} left out: not in {}",
            missing.join(", ")
        );
    }
    println!(
        "Made {}: {} items × {} methods ({}), {} trials per rater.",
        a.study.display(),
        study.items.len(),
        study.methods.len(),
        study.methods.join(", "),
        per_rater(&study)
    );
    println!("Serve it with: impasto rate serve {}", a.study.display());
    Ok(())
}

/// Ordinary, gold and repeated trials one rater does.
fn per_rater(study: &Study) -> usize {
    let d = study.design();
    let ordinary = d.trials.min(d.distinct_trials());
    ordinary + d.gold + d.repeats.min(ordinary)
}

/// The methods of `--from [NAME=]DIR`, with distinct names.
fn sources(from: &[String]) -> Result<Vec<Source>, Failure> {
    let mut out: Vec<Source> = Vec::new();
    for spec in from {
        let (name, dir) = if Path::new(spec).is_dir() {
            let name = std::fs::canonicalize(spec)
                .ok()
                .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
                .unwrap_or_else(|| spec.clone());
            (name, PathBuf::from(spec))
        } else {
            // NAME=DIR splits at the first `=` after which a folder is named (names may
            // hold `=`).
            spec.match_indices('=')
                .map(|(i, _)| (&spec[..i], &spec[i + 1..]))
                .find(|(n, d)| !n.is_empty() && Path::new(d).is_dir())
                .map(|(n, d)| (n.to_string(), PathBuf::from(d)))
                .ok_or_else(|| {
                    Failure::usage(format!(
                        "--from {spec}: {} is not a folder; give a folder of results, as DIR \
                         or NAME=DIR",
                        spec.rsplit_once('=').map_or(spec.as_str(), |(_, d)| d)
                    ))
                })?
        };
        if out.iter().any(|s| s.name == name) {
            return Err(Failure::usage(format!(
                "two methods are called {name}; name them with --from NAME=DIR"
            )));
        }
        out.push(Source { name, dir });
    }
    Ok(out)
}

/// The instructions file's text.
fn read_instructions(path: &Path) -> Result<String, Failure> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Failure::usage(format!(
            "--instructions {}: cannot read it as text ({e})",
            path.display()
        ))
    })?;
    let text = text.trim();
    if text.is_empty() || text.len() > 20_000 {
        return Err(Failure::usage(format!(
            "--instructions {}: give between 1 and 20000 characters of text",
            path.display()
        )));
    }
    Ok(text.to_string())
}
