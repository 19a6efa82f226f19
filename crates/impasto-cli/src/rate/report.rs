//! `impasto rate report`: scores per method with 95 % intervals over raters, win rates, rater
//! agreement and checks, as text or JSON, and a plot.

use std::path::PathBuf;

use impasto::rating::{
    alpha_comparisons, alpha_ratings, bradley_terry, bradley_terry_ci, mos_ci, pairwise_agreement,
    win_rates, Interval, Mode, Thresholds,
};
use impasto_io::study::plot::{self, Plot, Row};
use impasto_io::study::store::Store;
use impasto_io::study::Study;
use serde::Serialize;

use super::args::ReportArgs;
use super::tally::{tally, RaterSummary};
use crate::Failure;

/// One method's line of the report.
#[derive(Serialize)]
struct MethodScore {
    name: String,
    /// Bradley–Terry log-strength (pairs) or mean opinion score (ACR), with its interval.
    score: Option<Interval>,
    /// Answers that involved the method.
    answers: usize,
}

/// The whole report, as `--json` prints it.
#[derive(Serialize)]
struct Report {
    title: String,
    mode: Mode,
    scale: &'static str,
    methods: Vec<MethodScore>,
    #[serde(skip_serializing_if = "Option::is_none")]
    win_rates: Option<WinTable>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tie_parameter: Option<f64>,
    agreement: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pairwise_agreement: Option<f64>,
    raters: Vec<RaterSummary>,
    raters_used: usize,
    flagged_kept: bool,
    bootstrap: usize,
    plot: PathBuf,
}

/// Observed win rates, methods in the report's order.
#[derive(Serialize)]
struct WinTable {
    methods: Vec<String>,
    rate: Vec<Vec<Option<f64>>>,
    count: Vec<Vec<usize>>,
}

/// Runs `impasto rate report`.
pub fn run(a: ReportArgs) -> Result<(), Failure> {
    let study = Study::load(&a.study)?;
    let store = Store::open(&a.study)?;
    let (raters, answers) = (store.raters()?, store.answers()?);
    let t = tally(&raters, &answers, &Thresholds::default(), a.keep_flagged);
    let m = study.methods.len();
    let mut report = Report {
        title: study.title.clone(),
        mode: study.mode,
        scale: "",
        methods: Vec::new(),
        win_rates: None,
        tie_parameter: None,
        agreement: None,
        pairwise_agreement: None,
        raters_used: t.used,
        flagged_kept: a.keep_flagged,
        bootstrap: a.bootstrap,
        raters: t.raters,
        plot: a.plot.clone().unwrap_or_else(|| a.study.join("report.svg")),
    };
    let mut scores: Vec<(usize, Option<Interval>, usize)> = match study.mode {
        Mode::Pairs => {
            report.scale = "Bradley–Terry log-strength (0 = average method)";
            let fit = bradley_terry(m, &t.comparisons);
            report.tie_parameter = Some(fit.tie);
            report.agreement = alpha_comparisons(&t.comparisons);
            report.pairwise_agreement = pairwise_agreement(&t.comparisons);
            let ci = bradley_terry_ci(m, t.used, &t.comparisons, a.bootstrap, a.seed);
            let count = |k| {
                t.comparisons
                    .iter()
                    .filter(|c| c.a == k || c.b == k)
                    .count()
            };
            (0..m)
                .map(|k| (k, fit.compared[k].then_some(ci[k]), count(k)))
                .collect()
        }
        Mode::Acr => {
            report.scale = "mean opinion score (1 bad – 5 excellent)";
            report.agreement = alpha_ratings(&t.ratings);
            let ci = mos_ci(m, t.used, &t.ratings, a.bootstrap, a.seed);
            let count = |k| t.ratings.iter().filter(|r| r.method == k).count();
            (0..m).map(|k| (k, ci[k], count(k))).collect()
        }
    };
    scores.sort_by(|x, y| {
        let v = |s: &Option<Interval>| s.map_or(f64::NEG_INFINITY, |i| i.estimate);
        v(&y.1).total_cmp(&v(&x.1))
    });
    let order: Vec<usize> = scores.iter().map(|s| s.0).collect();
    report.methods = scores
        .iter()
        .map(|&(k, score, answers)| MethodScore {
            name: study.methods[k].clone(),
            score,
            answers,
        })
        .collect();
    if study.mode == Mode::Pairs {
        let w = win_rates(m, &t.comparisons);
        report.win_rates = Some(WinTable {
            methods: report.methods.iter().map(|s| s.name.clone()).collect(),
            rate: order
                .iter()
                .map(|&i| order.iter().map(|&j| w.rate[i][j]).collect())
                .collect(),
            count: order
                .iter()
                .map(|&i| order.iter().map(|&j| w.count[i][j]).collect())
                .collect(),
        });
    }
    write_plot(&report)?;
    if a.json {
        let json = serde_json::to_string_pretty(&report)
            .map_err(|e| Failure::usage(format!("cannot write the report as JSON: {e}")))?;
        println!("{json}");
    } else {
        print_text(&report);
    }
    Ok(())
}

/// The report's plot, written atomically.
fn write_plot(r: &Report) -> Result<(), Failure> {
    let rows = r
        .methods
        .iter()
        .filter_map(|m| {
            m.score.map(|s| Row {
                name: m.name.clone(),
                estimate: s.estimate,
                low: s.low,
                high: s.high,
            })
        })
        .collect();
    let pairs = r.mode == Mode::Pairs;
    let svg = plot::svg(&Plot {
        title: r.title.clone(),
        axis: format!("{}, 95% interval over raters", r.scale),
        rows,
        reference: pairs.then_some(0.0),
        range: (!pairs).then_some((1.0, 5.0)),
        win_rates: r.win_rates.as_ref().map(|w| w.rate.clone()),
    });
    impasto_io::atomic::write(&r.plot, svg.as_bytes())?;
    Ok(())
}

/// The report for a terminal.
fn print_text(r: &Report) {
    println!("{}", r.title);
    let flagged = r.raters.iter().filter(|x| x.flagged.is_some()).count();
    println!(
        "{} raters answered, {} used{}.",
        r.raters.iter().filter(|x| x.answered > 0).count(),
        r.raters_used,
        match (flagged, r.flagged_kept) {
            (0, _) => String::new(),
            (n, false) => format!("; {n} flagged and left out (--keep-flagged keeps them)"),
            (n, true) => format!("; {n} flagged but kept (--keep-flagged)"),
        }
    );
    println!("\n{}, 95% interval over raters:", r.scale);
    let width = r
        .methods
        .iter()
        .map(|m| m.name.chars().count())
        .max()
        .unwrap_or(6)
        .max(6);
    for m in &r.methods {
        match m.score {
            Some(s) => println!(
                "  {:<width$}  {:>6.2}  [{:>6.2}, {:>6.2}]  ({} answers)",
                m.name, s.estimate, s.low, s.high, m.answers
            ),
            None => println!("  {:<width$}  no answers from the raters used", m.name),
        }
    }
    if let Some(w) = &r.win_rates {
        println!("\nWin rate, row over column (ties count half):");
        print!("  {:<width$}", "");
        for n in &w.methods {
            print!("  {:>8}", clip(n, 8));
        }
        println!();
        for (i, row) in w.rate.iter().enumerate() {
            print!("  {:<width$}", w.methods[i]);
            for (j, v) in row.iter().enumerate() {
                match v {
                    Some(v) => print!("  {:>7.0}%", v * 100.0),
                    None if i == j => print!("  {:>8}", ""),
                    None => print!("  {:>8}", "–"),
                }
            }
            println!();
        }
    }
    match (r.agreement, r.pairwise_agreement) {
        (Some(a), Some(p)) => println!(
            "\nRater agreement: Krippendorff's alpha {a:.2}; two raters gave the same answer to \
             the same pair {:.0}% of the time",
            p * 100.0
        ),
        (Some(a), None) => println!("\nRater agreement (Krippendorff's alpha): {a:.2}"),
        _ => println!("\nRater agreement: not enough overlapping answers yet"),
    }
    for x in r.raters.iter().filter(|x| x.flagged.is_some()) {
        println!(
            "Flagged: {} (rater {}): {}",
            x.pseudonym,
            x.id,
            x.flagged.as_deref().unwrap_or_default()
        );
    }
    println!("\nPlot: {}", r.plot.display());
}

/// At most `n` characters.
fn clip(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}
