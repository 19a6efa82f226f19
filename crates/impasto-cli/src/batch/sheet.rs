//! The contact sheet, `OUTDIR/index.html`: every result in the folder (from all shards and
//! runs, found by their sidecars) as a thumbnail with its photo, styles and metrics, and the
//! failed items of every shard's report, for people to look over a job at a glance.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use impasto_io::batch::Sidecar;
use impasto_io::Result;

use super::report::FailedItem;

/// Writes the contact sheet of the results in `out` (atomically) and returns its path.
pub fn write(out: &Path) -> Result<PathBuf> {
    let mut results = Vec::new();
    collect(out, out, &mut results);
    results.sort_by(|a, b| a.0.cmp(&b.0));
    let failures = failures(out);
    let mut html = String::from(HEAD);
    let _ = write!(
        html,
        "<h1>Impasto batch</h1><p>{} results{}</p>",
        results.len(),
        match failures.len() {
            0 => String::new(),
            n => format!(", <a href=\"#failed\">{n} failed</a>"),
        }
    );
    html.push_str("<div class=\"grid\">");
    for (rel, s) in &results {
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
             <figcaption><b>{photo}</b> · {styles}<br>SSIM {ssim} · Gram {gram} · {secs:.1} s</figcaption></figure>",
            src = escape(&url(rel)),
            alt = escape(&rel.display().to_string()),
            photo = escape(&name_of(&s.input.display().to_string())),
            styles = escape(&styles),
            ssim = fmt(metric("ssim")),
            gram = fmt(metric("gram_cosine")),
            secs = s.seconds,
        );
    }
    html.push_str("</div>");
    if !failures.is_empty() {
        html.push_str("<h2 id=\"failed\">Failed</h2><table><tr><th>photo</th><th>result</th><th>error</th></tr>");
        for f in &failures {
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
    html.push_str("</body></html>\n");
    let path = out.join("index.html");
    impasto_io::atomic::write(&path, html.as_bytes())?;
    Ok(path)
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
        failures: Vec<Failed>,
    }
    #[derive(serde::Deserialize)]
    struct Failed {
        input: PathBuf,
        output: PathBuf,
        styles: Vec<String>,
        error: String,
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
            all.extend(r.failures.into_iter().map(|f| FailedItem {
                input: f.input,
                output: f.output,
                styles: f.styles,
                error: f.error,
            }));
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
