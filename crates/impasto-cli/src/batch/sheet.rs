//! The contact sheet, `OUTDIR/index.html` (and further pages): every result in the folder (from
//! all shards and runs, found by their sidecars) as a thumbnail with its photo, styles and
//! metrics, and the failed items of every shard's report that no later run made good, for
//! people to look over a job at a glance.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use impasto_io::batch::Sidecar;
use impasto_io::Result;

use super::report::FailedItem;

/// Results per page of the sheet: a page of a 100,000-photo job stays quick to open.
const PAGE: usize = 500;

/// Writes the contact sheet of the results in `out` (atomically): `index.html`, then
/// `index-2.html` and on for every further [`PAGE`] results. Returns the first page's path.
pub fn write(out: &Path) -> Result<PathBuf> {
    let mut results = Vec::new();
    collect(out, out, &mut results);
    results.sort_by(|a, b| a.0.cmp(&b.0));
    // A failure that a later run made good is no longer one.
    let made: std::collections::HashSet<&Path> = results.iter().map(|(r, _)| r.as_path()).collect();
    let failures: Vec<_> = failures(out)
        .into_iter()
        .filter(|f| !made.contains(f.output.as_path()))
        .collect();
    let pages = results.len().div_ceil(PAGE).max(1);
    for page in 0..pages {
        let mut html = String::from(HEAD);
        let _ = write!(
            html,
            "<h1>Impasto batch</h1><p>{} results{}</p>",
            results.len(),
            match failures.len() {
                0 => String::new(),
                n => format!(", <a href=\"index.html#failed\">{n} failed</a>"),
            }
        );
        if pages > 1 {
            html.push_str("<nav>pages:");
            for p in 0..pages {
                let _ = match p == page {
                    true => write!(html, " <b>{}</b>", p + 1),
                    false => write!(html, " <a href=\"{}\">{}</a>", page_name(p), p + 1),
                };
            }
            html.push_str("</nav>");
        }
        html.push_str("<div class=\"grid\">");
        for (rel, s) in results.iter().skip(page * PAGE).take(PAGE) {
            figure(&mut html, rel, s);
        }
        html.push_str("</div>");
        if page == 0 && !failures.is_empty() {
            failed_table(&mut html, &failures);
        }
        html.push_str("</body></html>\n");
        impasto_io::atomic::write(&out.join(page_name(page)), html.as_bytes())?;
    }
    Ok(out.join(page_name(0)))
}

/// `index.html`, `index-2.html`, ...
fn page_name(page: usize) -> String {
    match page {
        0 => "index.html".into(),
        p => format!("index-{}.html", p + 1),
    }
}

/// One result: its thumbnail (a link to it), photo, styles and metrics.
fn figure(html: &mut String, rel: &Path, s: &Sidecar) {
    let metric = |k: &str| s.metrics.get(k).and_then(|v| v.as_f64());
    let styles = s
        .styles
        .iter()
        .map(|p| name_of(p))
        .collect::<Vec<_>>()
        .join(" + ");
    let _ = write!(
        html,
        "<figure><a href=\"{src}\"><img loading=\"lazy\" src=\"{src}\" alt=\"{alt}\"></a>\
         <figcaption><b>{photo}</b> · {styles}<br>SSIM {ssim} · Gram cosine {gram} · {secs:.1} s</figcaption></figure>",
        src = escape(&url(rel)),
        alt = escape(&rel.display().to_string()),
        photo = escape(&name_of(&s.input.display().to_string())),
        styles = escape(&styles),
        ssim = fmt(metric("ssim")),
        gram = fmt(metric("gram_cosine")),
        secs = s.seconds,
    );
}

/// The failed items with their errors.
fn failed_table(html: &mut String, failures: &[FailedItem]) {
    html.push_str(
        "<h2 id=\"failed\">Failed</h2><table><tr><th>photo</th><th>result</th><th>error</th></tr>",
    );
    for f in failures {
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&f.input.display().to_string()),
            escape(&f.output.display().to_string()),
            escape(&f.error)
        );
    }
    html.push_str("</table>");
}

const HEAD: &str = "<!doctype html><html><head><meta charset=\"utf-8\"><title>Impasto batch</title>\
<style>body{font:14px system-ui,sans-serif;margin:1.5em;background:#fafafa}\
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(220px,1fr));gap:12px}\
figure{margin:0;background:#fff;border:1px solid #ddd;padding:6px}\
img{width:100%;height:200px;object-fit:contain;background:#eee}\
figcaption{font-size:12px;color:#333;overflow-wrap:anywhere}\
td,th{border-bottom:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}</style></head><body>";

/// Sidecars under `dir` whose results exist, with the results' paths relative to `root`.
fn collect(root: &Path, dir: &Path, found: &mut Vec<(PathBuf, Sidecar)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        let hidden = e.file_name().to_string_lossy().starts_with('.');
        if hidden || (dir == root && e.file_name() == "reports") {
            continue;
        }
        if path.is_dir() {
            collect(root, &path, found);
        } else if path.extension().is_some_and(|x| x == "json") {
            let Some(s) = std::fs::read(&path)
                .ok()
                .and_then(|b| serde_json::from_slice::<Sidecar>(&b).ok())
            else {
                continue;
            };
            let result = path.with_file_name(&s.output);
            if let Ok(rel) = result.strip_prefix(root) {
                if result.is_file() {
                    found.push((rel.to_path_buf(), s));
                }
            }
        }
    }
}

/// The failed items of every shard's report in `out/reports`.
fn failures(out: &Path) -> Vec<FailedItem> {
    #[derive(serde::Deserialize)]
    struct Failures {
        failures: Vec<FailedItem>,
    }
    let mut all = Vec::new();
    let Ok(entries) = std::fs::read_dir(out.join("reports")) else {
        return all;
    };
    let mut paths: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    for p in paths {
        if let Some(r) = std::fs::read(&p)
            .ok()
            .and_then(|b| serde_json::from_slice::<Failures>(&b).ok())
        {
            all.extend(r.failures);
        }
    }
    all
}

fn name_of(path: &str) -> String {
    Path::new(path)
        .file_name()
        .map_or_else(|| path.to_string(), |n| n.to_string_lossy().into_owned())
}

fn fmt(v: Option<f64>) -> String {
    v.map_or_else(|| "–".into(), |v| format!("{v:.3}"))
}

/// A relative path as a URL path: each segment percent-encoded.
fn url(rel: &Path) -> String {
    rel.components()
        .map(|c| {
            c.as_os_str()
                .to_string_lossy()
                .bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                        (b as char).to_string()
                    }
                    _ => format!("%{b:02X}"),
                })
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Text for HTML: the five characters that could start markup or end an attribute escaped.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(out: &Path, name: &str) {
        std::fs::write(out.join(format!("{name}.png")), b"png").unwrap();
        let s = Sidecar {
            key: "k".into(),
            input: PathBuf::from(format!("in/{name}.jpg")),
            styles: vec!["styles/starry.jpg".into()],
            output: format!("{name}.png"),
            settings: serde_json::json!({}),
            metrics: serde_json::json!({"ssim": 0.5, "gram_cosine": 0.9}),
            seconds: 1.0,
            version: "0".into(),
        };
        s.write(&out.join(format!("{name}.png"))).unwrap();
    }

    #[test]
    fn pages_of_results_and_failures_not_made_good_since() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path();
        for i in 0..PAGE + 1 {
            result(out, &format!("p{i:04}"));
        }
        std::fs::create_dir(out.join("reports")).unwrap();
        let report = serde_json::json!({"failures": [
            {"input": "in/p0000.jpg", "output": "p0000.png", "styles": [], "error": "was broken"},
            {"input": "in/<b>x.jpg", "output": "x.png", "styles": [], "error": "not a JPEG"},
        ]});
        std::fs::write(out.join("reports/shard-0-of-1.json"), report.to_string()).unwrap();
        assert_eq!(write(out).unwrap(), out.join("index.html"));
        let first = std::fs::read_to_string(out.join("index.html")).unwrap();
        let second = std::fs::read_to_string(out.join("index-2.html")).unwrap();
        assert_eq!(first.matches("<figure>").count(), PAGE);
        assert_eq!(second.matches("<figure>").count(), 1);
        assert!(first.contains("501 results") && first.contains("href=\"index-2.html\""));
        assert!(first.contains("1 failed") && first.contains("&lt;b&gt;x.jpg"));
        assert!(!first.contains("was broken"), "made good by a later run");
    }

    #[test]
    fn names_cannot_break_out_of_the_page() {
        assert_eq!(
            escape("<img src=x onerror='a'>&\""),
            "&lt;img src=x onerror=&#39;a&#39;&gt;&amp;&quot;"
        );
        assert_eq!(
            url(Path::new("sub dir/a\"b<.png")),
            "sub%20dir/a%22b%3C.png"
        );
    }
}
