//! A job's items: every photo of the inputs with every style (or each manifest line), named,
//! checked for clashes and sorted, so that every shard sees the same list.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use impasto_io::batch::manifest::{is_manifest, read_manifest};
use impasto_io::{Error, Result};

use crate::look::parse_style;

/// One result to make.
#[derive(Clone, Debug)]
pub struct Item {
    /// The photo.
    pub input: PathBuf,
    /// Its style specs, `PATH[:WEIGHT]` (empty with a model).
    pub styles: Vec<String>,
    /// The result, relative to the output folder.
    pub output: PathBuf,
    /// Options of this item alone (`name`, `value`), from a manifest.
    pub options: Vec<(String, String)>,
    /// Where it came from, for messages: the photo, or the manifest and line.
    pub origin: String,
}

/// Files a folder contributes (by extension); anything else in it is left alone.
const IMAGE_EXTENSIONS: &[&str] = &["png", "jpg", "jpeg", "dcm", "tif", "tiff", "nii", "gz"];

/// The job's items, sorted by output: each photo in `inputs` (files and folders) once per
/// style of `styles` (or once with `tag`, the model's name, when a model styles them), and
/// each line of the manifests among `inputs`.
pub fn expand(inputs: &[PathBuf], styles: &[String], tag: Option<&str>) -> Result<Vec<Item>> {
    let mut items = Vec::new();
    for input in inputs {
        if input.is_file() && is_manifest(input) {
            for e in read_manifest(input)? {
                let styles = match e.styles.is_empty() {
                    true => styles.to_vec(),
                    false => e.styles,
                };
                let output = match e.output {
                    Some(o) => o,
                    None => named(Path::new(""), &e.input, &style_tag(&styles, tag)),
                };
                items.push(Item {
                    origin: format!("{} line {}", input.display(), e.line),
                    input: e.input,
                    styles,
                    output,
                    options: e.options,
                });
            }
            continue;
        }
        let photos = photos(input)?;
        let per_style: Vec<Vec<String>> = match (styles.is_empty(), tag) {
            (_, Some(_)) | (true, None) => vec![Vec::new()],
            (false, None) => styles.iter().map(|s| vec![s.clone()]).collect(),
        };
        for (rel, path) in photos {
            for styles in &per_style {
                let output = named(
                    rel.parent().unwrap_or(Path::new("")),
                    &path,
                    &style_tag(styles, tag),
                );
                items.push(Item {
                    origin: path.display().to_string(),
                    input: path.clone(),
                    styles: styles.clone(),
                    output,
                    options: Vec::new(),
                });
            }
        }
    }
    check_outputs_distinct(&items)?;
    items.sort_by(|a, b| a.output.cmp(&b.output));
    Ok(items)
}

/// `dir/STEM_TAG.png` for the photo `path`.
fn named(dir: &Path, path: &Path, tag: &str) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let stem = name
        .trim_end_matches(".gz")
        .rsplit_once('.')
        .map_or(name.as_ref(), |(s, _)| s)
        .to_string();
    match tag.is_empty() {
        true => dir.join(format!("{stem}.png")),
        false => dir.join(format!("{stem}_{tag}.png")),
    }
}

/// A name for a list of styles: their file stems joined by `+` (or the model's name).
fn style_tag(styles: &[String], tag: Option<&str>) -> String {
    if let Some(t) = tag {
        return t.to_string();
    }
    styles
        .iter()
        .map(|s| {
            let (p, _) = parse_style(s);
            p.file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join("+")
}

/// A file is one photo; a folder gives its photos (recursively, sorted, hidden files and
/// folders left out), each with its path relative to the folder.
fn photos(input: &Path) -> Result<Vec<(PathBuf, PathBuf)>> {
    if input.is_file() {
        let name = PathBuf::from(input.file_name().unwrap_or_default());
        return Ok(vec![(name, input.to_path_buf())]);
    }
    if !input.is_dir() {
        return Err(Error::Input {
            path: input.to_path_buf(),
            msg: "no such file or folder".into(),
        });
    }
    let mut found = Vec::new();
    walk(input, Path::new(""), &mut found)?;
    if found.is_empty() {
        return Err(Error::Input {
            path: input.to_path_buf(),
            msg: format!(
                "the folder holds no photos ({})",
                IMAGE_EXTENSIONS.join(", ")
            ),
        });
    }
    Ok(found)
}

fn walk(dir: &Path, rel: &Path, found: &mut Vec<(PathBuf, PathBuf)>) -> Result<()> {
    let read = |e: std::io::Error| Error::Input {
        path: dir.to_path_buf(),
        msg: format!("cannot list the folder ({e})"),
    };
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(read)?
        .collect::<std::io::Result<_>>()
        .map_err(read)?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        let path = e.path();
        if path.is_dir() {
            walk(&path, &rel.join(&name), found)?;
        } else if is_photo(&path) {
            found.push((rel.join(&name), path));
        }
    }
    Ok(())
}

fn is_photo(path: &Path) -> bool {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    IMAGE_EXTENSIONS.contains(&ext.as_str())
        && (ext != "gz" || path.to_string_lossy().ends_with(".nii.gz"))
}

/// Two items writing one result would overwrite each other: refuse the job, naming both.
fn check_outputs_distinct(items: &[Item]) -> Result<()> {
    let mut seen: BTreeMap<&Path, &Item> = BTreeMap::new();
    for item in items {
        if let Some(other) = seen.insert(&item.output, item) {
            return Err(Error::Usage(format!(
                "{} and {} would both be written to {}: rename one, or give outputs in a manifest",
                other.origin,
                item.origin,
                item.output.display()
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_times_styles_are_named_sorted_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join("in/sub")).unwrap();
        std::fs::create_dir_all(d.join("in/.hidden")).unwrap();
        for f in [
            "in/b.jpg",
            "in/a.png",
            "in/sub/c.JPG",
            "in/notes.txt",
            "in/.x.png",
            "in/.hidden/d.png",
        ] {
            std::fs::write(d.join(f), b"x").unwrap();
        }
        let styles = vec!["s/starry.jpg".to_string(), "wave.png:0.5".to_string()];
        let items = expand(&[d.join("in")], &styles, None).unwrap();
        let outs: Vec<_> = items
            .iter()
            .map(|i| i.output.display().to_string())
            .collect();
        assert_eq!(
            outs,
            [
                "a_starry.png",
                "a_wave.png",
                "b_starry.png",
                "b_wave.png",
                "sub/c_starry.png",
                "sub/c_wave.png"
            ]
        );
        assert_eq!(items[1].styles, vec!["wave.png:0.5".to_string()]);
        let model = expand(&[d.join("in")], &[], Some("mosaic")).unwrap();
        assert_eq!(model.len(), 3);
        assert!(model[0].styles.is_empty());
        std::fs::write(d.join("in/a.jpg"), b"x").unwrap();
        let clash = expand(&[d.join("in")], &styles, None)
            .unwrap_err()
            .to_string();
        assert!(
            clash.contains("a.jpg") && clash.contains("a.png"),
            "{clash}"
        );
        let empty = d.join("empty");
        std::fs::create_dir(&empty).unwrap();
        assert!(expand(&[empty], &styles, None).is_err());
        assert!(expand(&[d.join("missing")], &styles, None).is_err());
    }
}
