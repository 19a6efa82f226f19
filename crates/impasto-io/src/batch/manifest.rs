//! A batch manifest: one item per JSON line (`.jsonl`) or CSV row (`.csv`), each naming its
//! input, its style or styles, optionally its output and any look options of its own.
//!
//! ```text
//! {"input": "photos/a.jpg", "style": "starry.jpg", "size": 384}
//! {"input": "photos/b.jpg", "style": ["starry.jpg:0.7", "wave.jpg:0.3"], "output": "b.png"}
//! ```
//!
//! In a CSV file the header names the columns `input`, `style` (several joined by `;`) and
//! optionally `output`; every other column is an option, left empty where an item has none.
//! Relative paths of inputs and styles are taken from the manifest's folder; an output is a
//! relative path inside the job's output folder.

use std::path::{Component, Path, PathBuf};

use serde_json::Value;

use crate::error::{Error, Result};

/// One item of a manifest.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// The photo (resolved against the manifest's folder).
    pub input: PathBuf,
    /// Style specs, `PATH[:WEIGHT]`, paths resolved against the manifest's folder (none: the
    /// job's `--style` or model).
    pub styles: Vec<String>,
    /// Where the result goes, relative to the output folder (none: named after the input).
    pub output: Option<PathBuf>,
    /// Options of this item alone, as `(name, value)` in the command line's spelling
    /// (`size`, `style-weight`, ...); the front end checks them.
    pub options: Vec<(String, String)>,
    /// The line of the manifest it came from (1-based), for messages.
    pub line: usize,
}

/// Reads the manifest at `path` (`.jsonl` or `.csv`); a malformed line is an error naming the
/// file and the line.
pub fn read_manifest(path: &Path) -> Result<Vec<Entry>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::Input {
        path: path.to_path_buf(),
        msg: format!("cannot read the manifest ({e})"),
    })?;
    let base = path.parent().unwrap_or(Path::new("")).to_path_buf();
    let raw = match extension(path).as_str() {
        "jsonl" | "ndjson" => json_lines(&text),
        "csv" => csv_rows(&text),
        _ => Err((0, "a manifest is a .jsonl or .csv file".to_string())),
    };
    let raw = raw.map_err(|(line, msg)| manifest_error(path, line, &msg))?;
    if raw.is_empty() {
        return Err(manifest_error(path, 0, "it lists no items"));
    }
    raw.into_iter()
        .map(|r| {
            r.resolve(&base)
                .map_err(|msg| manifest_error(path, r.line, &msg))
        })
        .collect()
}

/// True when `path` names a manifest rather than an image.
pub fn is_manifest(path: &Path) -> bool {
    matches!(extension(path).as_str(), "jsonl" | "ndjson" | "csv")
}

fn extension(path: &Path) -> String {
    path.extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default()
}

fn manifest_error(path: &Path, line: usize, msg: &str) -> Error {
    let at = match line {
        0 => String::new(),
        n => format!(" line {n}"),
    };
    Error::Input {
        path: path.to_path_buf(),
        msg: format!("manifest{at}: {msg}"),
    }
}

/// An entry as written, before its paths are resolved.
struct Raw {
    input: String,
    styles: Vec<String>,
    output: Option<String>,
    options: Vec<(String, String)>,
    line: usize,
}

impl Raw {
    fn resolve(&self, base: &Path) -> std::result::Result<Entry, String> {
        if self.input.is_empty() {
            return Err("the item has no input".into());
        }
        let output = self.output.as_deref().map(checked_output).transpose()?;
        let styles = self
            .styles
            .iter()
            .map(|s| match s.rsplit_once(':') {
                Some((p, w)) if w.parse::<f32>().is_ok() => {
                    format!("{}:{w}", base.join(p).display())
                }
                _ => base.join(s).display().to_string(),
            })
            .collect();
        Ok(Entry {
            input: base.join(&self.input),
            styles,
            output,
            options: self.options.clone(),
            line: self.line,
        })
    }
}

/// An output must stay inside the job's folder: relative, without `..`, a PNG or JPEG.
fn checked_output(out: &str) -> std::result::Result<PathBuf, String> {
    let p = PathBuf::from(out);
    let inside = p
        .components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    if !inside || out.is_empty() {
        return Err(format!(
            "output {out:?} must be a relative path inside the output folder (no '..', no leading '/')"
        ));
    }
    match extension(&p).as_str() {
        "png" | "jpg" | "jpeg" => Ok(p),
        _ => Err(format!("output {out:?} must end in .png, .jpg or .jpeg")),
    }
}

fn json_lines(text: &str) -> std::result::Result<Vec<Raw>, (usize, String)> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let value: Value =
            serde_json::from_str(line).map_err(|e| (n, format!("not valid JSON ({e})")))?;
        let Value::Object(map) = value else {
            return Err((n, "each line must be a JSON object".into()));
        };
        let mut raw = Raw {
            input: String::new(),
            styles: Vec::new(),
            output: None,
            options: Vec::new(),
            line: n,
        };
        for (k, v) in map {
            match (k.as_str(), v) {
                ("input", Value::String(s)) => raw.input = s,
                ("output", Value::String(s)) => raw.output = Some(s),
                ("style" | "styles", Value::String(s)) => raw.styles = vec![s],
                ("style" | "styles", Value::Array(a)) => {
                    raw.styles = a
                        .into_iter()
                        .map(|v| match v {
                            Value::String(s) => Ok(s),
                            _ => Err((n, "\"style\" lists paths as strings".to_string())),
                        })
                        .collect::<std::result::Result<_, _>>()?
                }
                ("input" | "output" | "style" | "styles", _) => {
                    return Err((n, format!("\"{k}\" must be a string")))
                }
                (_, Value::String(s)) => raw.options.push((k, s)),
                (_, v @ (Value::Number(_) | Value::Bool(_))) => {
                    raw.options.push((k, v.to_string()))
                }
                (_, _) => return Err((n, format!("option \"{k}\" must be a string or a number"))),
            }
        }
        out.push(raw);
    }
    Ok(out)
}

fn csv_rows(text: &str) -> std::result::Result<Vec<Raw>, (usize, String)> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| (1, format!("cannot read the header ({e})")))?
        .iter()
        .map(str::to_string)
        .collect();
    if !header.iter().any(|h| h == "input") {
        return Err((1, "the header needs an 'input' column".into()));
    }
    let mut out = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line() as usize);
            (line, format!("malformed row ({e})"))
        })?;
        let line = record.position().map_or(0, |p| p.line() as usize);
        let mut raw = Raw {
            input: String::new(),
            styles: Vec::new(),
            output: None,
            options: Vec::new(),
            line,
        };
        for (k, v) in header.iter().zip(record.iter()) {
            match k.as_str() {
                "input" => raw.input = v.to_string(),
                "output" if !v.is_empty() => raw.output = Some(v.to_string()),
                "style" | "styles" => {
                    raw.styles = v
                        .split(';')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(str::to_string)
                        .collect()
                }
                _ if !v.is_empty() => raw.options.push((k.clone(), v.to_string())),
                _ => {}
            }
        }
        out.push(raw);
    }
    Ok(out)
}

#[cfg(test)]
#[path = "manifest_tests.rs"]
mod tests;
