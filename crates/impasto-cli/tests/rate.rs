//! `impasto rate`: a study made from folders of results, raters simulated over HTTP against
//! the real `rate serve`, and the report recovering what they preferred.

mod common;

use std::collections::HashMap;
use std::path::Path;

use common::rate::{sources, Serve};
use common::{assert_usage_error, impasto};
use impasto_io::study::Study;
use serde_json::{json, Value};

/// A rater's answer from a hash of what it is about, so the data do not depend on the order
/// or sides the server drew.
fn unit(parts: &[u64]) -> f64 {
    let mut z = 0x9e37_79b9_7f4a_7c15u64;
    for p in parts {
        z = (z ^ p).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z ^= z >> 31;
        z = z.wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 29;
    }
    (z >> 11) as f64 / (1u64 << 53) as f64
}

/// What each image of the study shows: a method's result, or a gold (broken) copy.
#[derive(Clone, Copy, Debug)]
enum Shows {
    Method(usize),
    Broken,
    Reference,
}

fn image_map(study: &Study) -> HashMap<String, Shows> {
    let mut m = HashMap::new();
    for item in &study.items {
        for (k, r) in item.results.iter().enumerate() {
            m.insert(format!("/rate/img/{r}"), Shows::Method(k));
        }
        m.insert(format!("/rate/img/{}", item.gold), Shows::Broken);
        for r in item.photo.iter().chain(item.painting.iter()) {
            m.insert(format!("/rate/img/{r}"), Shows::Reference);
        }
    }
    m
}

fn join(serve: &Serve, name: &str, study: &Study) -> (Value, Value) {
    let (status, joined) = serve.post(
        "/rate/api/join",
        &json!({
            "pseudonym": name,
            "consent": true,
            "instructions_version": study.instructions_version,
            "viewport": {"width": 1280, "height": 800},
            "device_pixel_ratio": 2.0,
        }),
    );
    assert_eq!(status, 200, "{joined}");
    (joined["rater"].clone(), joined["key"].clone())
}

/// Answers every trial of a new rater with `choose(left, right, item) -> response` (for a
/// single image, `left` and `right` are the same).
fn rate_all(
    serve: &Serve,
    study: &Study,
    name: &str,
    mut choose: impl FnMut(Shows, Shows, usize) -> Value,
) -> usize {
    let (rater, key) = join(serve, name, study);
    let (status, mut trial) = serve.post("/rate/api/next", &json!({"rater": rater, "key": key}));
    assert_eq!(status, 200, "{trial}");
    let images = image_map(study);
    let mut answered = 0;
    while trial["done"] != json!(true) {
        let show = |k: &str| images[trial[k].as_str().unwrap_or_else(|| panic!("{trial}"))];
        let (left, right) = match trial.get("image") {
            Some(_) => (show("image"), show("image")),
            None => (show("left"), show("right")),
        };
        let refs = |i: &impasto_io::study::Item| {
            let url = |n: &Option<String>| format!("/rate/img/{}", n.as_deref().unwrap());
            (url(&i.photo), url(&i.painting))
        };
        let item = study
            .items
            .iter()
            .position(|i| {
                refs(i)
                    == (
                        trial["photo"].as_str().unwrap().to_string(),
                        trial["painting"].as_str().unwrap().to_string(),
                    )
            })
            .expect("the trial's photo and painting are an item's");
        let response = choose(left, right, item);
        let (status, next) = serve.post(
            "/rate/api/answer",
            &json!({"rater": rater, "key": key, "index": trial["index"], "response": response,
                    "response_ms": 1500, "zooms": 0}),
        );
        assert_eq!(status, 200, "{next}");
        trial = next;
        answered += 1;
    }
    answered
}

fn new_study(dir: &Path, args: &[&str]) -> Study {
    let study = dir.join("study");
    let mut all = vec!["rate", "new", study.to_str().unwrap()];
    all.extend_from_slice(args);
    let out = impasto(&all, &dir.join("cache"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Study::load(&study).unwrap()
}

fn report(dir: &Path, extra: &[&str]) -> Value {
    let study = dir.join("study");
    let mut all = vec!["rate", "report", study.to_str().unwrap(), "--json"];
    all.extend_from_slice(extra);
    let out = impasto(&all, &dir.join("cache"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn simulated_raters_preferences_are_recovered_and_careless_raters_flagged() {
    let t = tempfile::tempdir().unwrap();
    let hostile = "<img src=x onerror=alert(1)>";
    let dirs = sources(t.path(), &["weak", "mid", "strong"], 3);
    let from = |name: &str, d: &Path| format!("{name}={}", d.display());
    let (weak, mid, strong) = (
        from("weak", &dirs[0]),
        from("mid", &dirs[1]),
        from(hostile, &dirs[2]),
    );
    let (ph, pa) = (t.path().join("photos"), t.path().join("paintings"));
    let study = new_study(
        t.path(),
        &[
            "--from",
            &weak,
            "--from",
            &mid,
            "--from",
            &strong,
            "--photos",
            ph.to_str().unwrap(),
            "--paintings",
            pa.to_str().unwrap(),
            "--trials",
            "18",
            "--gold",
            "3",
            "--repeats",
            "3",
        ],
    );
    assert_eq!(study.items.len(), 6);
    assert_eq!(study.methods, ["weak", "mid", hostile]);
    let serve = Serve::start(&t.path().join("study"), &[]);

    // Bradley–Terry with Davidson's ties: log-strengths (mean 0) and the tie parameter.
    let theta: [f64; 3] = [-0.7, 0.0, 0.7];
    let nu: f64 = 0.3;
    for r in 0..40u64 {
        let mut first: HashMap<(usize, usize, usize), usize> = HashMap::new();
        rate_all(&serve, &study, &format!("rater {r}"), |l, rt, item| {
            let (a, b) = match (l, rt) {
                (Shows::Method(a), Shows::Method(b)) => (a, b),
                (Shows::Broken, _) => return json!("right"),
                (_, Shows::Broken) => return json!("left"),
                other => panic!("{other:?}"),
            };
            let (lo, hi) = (a.min(b), a.max(b));
            // A repeat gets the answer the rater gave the first time.
            let key = (item, lo, hi);
            let winner = *first.entry(key).or_insert_with(|| {
                let (pl, ph) = (theta[lo].exp(), theta[hi].exp());
                let tie = nu * (pl * ph).sqrt();
                let u = unit(&[r, lo as u64, hi as u64, item as u64]);
                let total = pl + ph + tie;
                if u < pl / total {
                    lo
                } else if u < (pl + ph) / total {
                    hi
                } else {
                    usize::MAX
                }
            });
            match winner {
                usize::MAX => json!("tie"),
                w if w == a => json!("left"),
                _ => json!("right"),
            }
        });
    }
    // Careless raters click the left button whatever is shown; one's name is a spreadsheet
    // formula.
    let careless = ["careless 0", "careless 1", "=HYPERLINK(\"http://x\")"];
    for name in careless {
        rate_all(&serve, &study, name, |_, _, _| json!("left"));
    }
    drop(serve);

    let r = report(t.path(), &[]);
    let names: Vec<&str> = r["methods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, [hostile, "mid", "weak"], "{r:#}");
    for (m, truth) in r["methods"]
        .as_array()
        .unwrap()
        .iter()
        .zip([0.7, 0.0, -0.7])
    {
        let s = &m["score"];
        let (lo, hi) = (s["low"].as_f64().unwrap(), s["high"].as_f64().unwrap());
        assert!(
            lo <= truth && truth <= hi,
            "{truth} not in [{lo}, {hi}]: {r:#}"
        );
        assert!(
            hi - lo < 0.8,
            "interval too wide to tell methods apart: {r:#}"
        );
    }
    let flagged: Vec<&str> = r["raters"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| !x["flagged"].is_null())
        .map(|x| x["pseudonym"].as_str().unwrap())
        .collect();
    assert_eq!(flagged, careless, "{r:#}");
    assert_eq!(r["raters_used"], 40);
    let win = &r["win_rates"]["rate"];
    assert!(win[0][2].as_f64().unwrap() > 0.65, "{win}");
    assert!(r["agreement"].as_f64().is_some());
    // Two raters answer a pair alike as often as the model says: p² + q² + t², averaged over
    // the three pairs (each rater sees every pair of every item).
    let expected = [(0, 1), (0, 2), (1, 2)]
        .iter()
        .map(|&(lo, hi): &(usize, usize)| {
            let (pl, ph) = (theta[lo].exp(), theta[hi].exp());
            let tie = nu * (pl * ph).sqrt();
            let total = pl + ph + tie;
            [pl, ph, tie]
                .iter()
                .map(|p| (p / total).powi(2))
                .sum::<f64>()
        })
        .sum::<f64>()
        / 3.0;
    let plain = r["pairwise_agreement"].as_f64().unwrap();
    assert!(
        (plain - expected).abs() < 0.05,
        "{plain} against {expected}"
    );

    // Kept on request, the careless raters are counted, still flagged.
    assert_eq!(report(t.path(), &["--keep-flagged"])["raters_used"], 43);

    // The plot names every method, the hostile one as text.
    let svg = std::fs::read_to_string(t.path().join("study/report.svg")).unwrap();
    assert!(svg.contains("&lt;img src=x"), "{svg}");
    assert!(!svg.contains("<img"));

    // The CSV has every answer, the formula defused.
    let csv_path = t.path().join("answers.csv");
    let study_dir = t.path().join("study");
    let out = impasto(
        &[
            "rate",
            "export",
            study_dir.to_str().unwrap(),
            "-o",
            csv_path.to_str().unwrap(),
        ],
        &t.path().join("cache"),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let csv = std::fs::read_to_string(&csv_path).unwrap();
    let rows = csv.lines().count() - 1;
    assert_eq!(rows, 43 * 24);
    assert!(csv.contains("'=HYPERLINK"), "{}", &csv[..300]);
}

#[test]
fn acr_studies_give_mean_opinion_scores_that_cover_the_truth() {
    let t = tempfile::tempdir().unwrap();
    let dirs = sources(t.path(), &["plain", "fancy"], 2);
    let (ph, pa) = (t.path().join("photos"), t.path().join("paintings"));
    let study = new_study(
        t.path(),
        &[
            "--mode",
            "acr",
            "--from",
            dirs[0].to_str().unwrap(),
            "--from",
            dirs[1].to_str().unwrap(),
            "--photos",
            ph.to_str().unwrap(),
            "--paintings",
            pa.to_str().unwrap(),
            "--trials",
            "8",
            "--repeats",
            "2",
            "--gold",
            "2",
        ],
    );
    let serve = Serve::start(&t.path().join("study"), &[]);
    // Scores spread evenly over {1,2,3} (mean 2) and {3,4,5} (mean 4).
    for r in 0..24u64 {
        let mut first: HashMap<(usize, usize), u64> = HashMap::new();
        rate_all(
            &serve,
            &study,
            &format!("rater {r}"),
            |shown, _, item| match shown {
                Shows::Broken => json!(1),
                Shows::Method(m) => {
                    let s = *first.entry((item, m)).or_insert_with(|| {
                        let u = unit(&[r, m as u64, item as u64]);
                        1 + 2 * m as u64 + (u * 3.0) as u64
                    });
                    json!(s)
                }
                other => panic!("{other:?}"),
            },
        );
    }
    drop(serve);
    let r = report(t.path(), &[]);
    let m = r["methods"].as_array().unwrap();
    assert_eq!(m[0]["name"], "fancy", "{r:#}");
    for (m, truth) in m.iter().zip([4.0, 2.0]) {
        let s = &m["score"];
        let (lo, hi) = (s["low"].as_f64().unwrap(), s["high"].as_f64().unwrap());
        assert!(
            lo <= truth && truth <= hi,
            "{truth} not in [{lo}, {hi}]: {r:#}"
        );
    }
    assert!(r["raters"]
        .as_array()
        .unwrap()
        .iter()
        .all(|x| x["flagged"].is_null()));
}

#[test]
fn bad_studies_are_refused_with_the_way_out() {
    let t = tempfile::tempdir().unwrap();
    let dirs = sources(t.path(), &["a", "b"], 1);
    let cache = t.path().join("cache");
    let study = t.path().join("study");
    let s = study.to_str().unwrap();
    let (a, b) = (dirs[0].to_str().unwrap(), dirs[1].to_str().unwrap());
    // One method cannot be compared with anything.
    let out = impasto(&["rate", "new", s, "--from", a], &cache);
    assert_usage_error(&out, &["at least two methods"]);
    // Results without a sidecar need the reference folders.
    let out = impasto(&["rate", "new", s, "--from", a, "--from", b], &cache);
    assert_usage_error(&out, &["--photos"]);
    let out = impasto(
        &["rate", "new", s, "--from", a, "--from", "nowhere"],
        &cache,
    );
    assert_usage_error(&out, &["nowhere", "not a folder"]);
    let out = impasto(&["rate", "new", s, "--from", a, "--from", a], &cache);
    assert_usage_error(&out, &["NAME=DIR"]);
    // A folder that is not a study.
    let out = impasto(&["rate", "report", t.path().to_str().unwrap()], &cache);
    assert_usage_error(&out, &["study.json", "impasto rate new"]);
    let out = impasto(
        &["rate", "serve", t.path().to_str().unwrap(), "--port", "0"],
        &cache,
    );
    assert_usage_error(&out, &["study.json", "impasto rate new"]);
    // An existing study is never overwritten.
    std::fs::create_dir(&study).unwrap();
    let ph = t.path().join("photos");
    let pa = t.path().join("paintings");
    let out = impasto(
        &[
            "rate",
            "new",
            s,
            "--from",
            a,
            "--from",
            b,
            "--photos",
            ph.to_str().unwrap(),
            "--paintings",
            pa.to_str().unwrap(),
        ],
        &cache,
    );
    assert_usage_error(&out, &["already exists"]);
}
