//! Every answer as CSV, one row per answered trial with its rater's record, methods named
//! (the analyst's view, not the raters'). Text cells that a spreadsheet would run as a formula
//! are quoted with a leading apostrophe.

use std::io::Write;

use impasto::rating::Shown;

use super::layout::Study;
use super::store::{AnswerRow, RaterRow, Response};
use crate::error::{Error, Result};

const HEADER: [&str; 21] = [
    "rater",
    "pseudonym",
    "consent",
    "instructions_version",
    "viewport_width",
    "viewport_height",
    "device_pixel_ratio",
    "started",
    "trial",
    "kind",
    "repeat_of",
    "item",
    "left",
    "right",
    "method",
    "good_side",
    "response",
    "chosen",
    "response_ms",
    "zooms",
    "answered_at",
];

/// Writes `answers` of `raters` in `study` as CSV to `out`.
pub fn write_csv(
    study: &Study,
    raters: &[RaterRow],
    answers: &[AnswerRow],
    out: impl Write,
) -> Result<()> {
    let fail = |e: csv::Error| Error::Usage(format!("cannot write the CSV: {e}"));
    let mut w = csv::Writer::from_writer(out);
    w.write_record(HEADER).map_err(fail)?;
    let method = |k: usize| cell(study.methods.get(k).map_or("", String::as_str));
    for a in answers {
        let Some(r) = raters.iter().find(|r| r.id == a.rater) else {
            continue;
        };
        let item = study
            .items
            .get(a.trial.item)
            .map_or("", |i| i.name.as_str());
        let (kind, left, right, one, good) = match a.trial.shown {
            Shown::Pair { left, right } => ("pair", method(left), method(right), "".into(), ""),
            Shown::Single { method: m } => ("single", "".into(), "".into(), method(m), ""),
            Shown::GoldPair {
                method: m,
                good_left,
            } => (
                "gold_pair",
                if good_left {
                    method(m)
                } else {
                    "broken".into()
                },
                if good_left {
                    "broken".into()
                } else {
                    method(m)
                },
                "".into(),
                if good_left { "left" } else { "right" },
            ),
            Shown::GoldSingle => ("gold_single", "".into(), "".into(), "broken".into(), ""),
        };
        let (response, chosen) = match a.response {
            Response::Left => ("left".to_string(), left.clone()),
            Response::Right => ("right".to_string(), right.clone()),
            Response::Tie => ("tie".to_string(), String::new()),
            Response::Score(s) => (s.to_string(), String::new()),
        };
        w.write_record([
            r.id.to_string(),
            cell(&r.pseudonym),
            r.consent.to_string(),
            cell(&r.instructions_version),
            r.viewport_width.to_string(),
            r.viewport_height.to_string(),
            r.device_pixel_ratio.to_string(),
            r.started.clone(),
            a.index.to_string(),
            kind.to_string(),
            a.trial.repeat_of.map(|o| o.to_string()).unwrap_or_default(),
            cell(item),
            left,
            right,
            one,
            good.to_string(),
            response,
            chosen,
            a.response_ms.to_string(),
            a.zooms.to_string(),
            a.answered_at.clone(),
        ])
        .map_err(fail)?;
    }
    w.flush()
        .map_err(|e| Error::Usage(format!("cannot write the CSV: {e}")))
}

/// Text a spreadsheet shows as text: a leading `=`, `+`, `-`, `@`, tab or carriage return
/// (a formula to Excel and LibreOffice) gets an apostrophe before it.
fn cell(s: &str) -> String {
    match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{s}"),
        _ => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::cell;

    #[test]
    fn formulas_are_neutralised() {
        assert_eq!(cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(cell("Ann"), "Ann");
    }
}
