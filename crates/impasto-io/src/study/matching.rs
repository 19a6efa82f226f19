//! Which results make a study: the file stems every method's folder has, and for each the
//! photo and painting it was made from (from a batch sidecar, or by name in reference folders).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::batch::sidecar::Sidecar;
use crate::error::{Error, Result};

/// One method's folder of results.
#[derive(Clone, Debug)]
pub struct Source {
    /// The method's name (the folder's name unless given).
    pub name: String,
    /// The folder.
    pub dir: PathBuf,
}

/// One matched item: each method's result, the photo and the painting.
#[derive(Clone, Debug)]
pub struct Matched {
    /// The results' common stem.
    pub name: String,
    /// Each source's result, in the order of the sources.
    pub results: Vec<PathBuf>,
    /// The photo.
    pub photo: PathBuf,
    /// The painting.
    pub painting: PathBuf,
}

/// What [`match_items`] found.
#[derive(Clone, Debug)]
pub struct Matching {
    /// Items every folder has, by name.
    pub items: Vec<Matched>,
    /// Stems only some folders have, left out, with the folders that lack them.
    pub left_out: Vec<(String, Vec<String>)>,
}

/// Matches the results of `sources` by file stem. Each item's photo and painting come from a
/// batch sidecar (`STEM.json`) beside a result, else from `photos` and `paintings` by name: a
/// result `PHOTO_PAINTING` (as `impasto batch` names them) or `PHOTO` with a single painting.
pub fn match_items(
    sources: &[Source],
    photos: Option<&Path>,
    paintings: Option<&Path>,
) -> Result<Matching> {
    let mut by_source = Vec::new();
    for s in sources {
        by_source.push(images_in(&s.dir)?);
    }
    let all: BTreeSet<&String> = by_source.iter().flat_map(|m| m.keys()).collect();
    let photo_files = photos.map(images_in).transpose()?;
    let painting_files = paintings.map(images_in).transpose()?;
    let mut items = Vec::new();
    let mut left_out = Vec::new();
    for stem in all {
        let missing: Vec<String> = sources
            .iter()
            .zip(&by_source)
            .filter(|(_, m)| !m.contains_key(stem))
            .map(|(s, _)| s.name.clone())
            .collect();
        if !missing.is_empty() {
            left_out.push((stem.clone(), missing));
            continue;
        }
        let results: Vec<PathBuf> = by_source.iter().map(|m| m[stem].clone()).collect();
        let (photo, painting) = results
            .iter()
            .find_map(|r| from_sidecar(r))
            .or_else(|| by_name(stem, photo_files.as_ref(), painting_files.as_ref()))
            .ok_or_else(|| Error::Usage(no_reference(stem, &results[0])))?;
        items.push(Matched {
            name: stem.clone(),
            results,
            photo,
            painting,
        });
    }
    Ok(Matching { items, left_out })
}

fn no_reference(stem: &str, result: &Path) -> String {
    format!(
        "cannot tell which photo and painting made {}: it has no batch sidecar ({stem}.json) \
         naming them; give --photos DIR and --paintings DIR where the result's name is \
         PHOTO_PAINTING (as `impasto batch` names results)",
        result.display()
    )
}

/// The PNG and JPEG files directly in `dir` by stem (hidden files left out).
fn images_in(dir: &Path) -> Result<BTreeMap<String, PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::Input {
        path: dir.to_path_buf(),
        msg: format!("cannot read the folder: {e}; give a folder of results"),
    })?;
    let mut out = BTreeMap::new();
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some((stem, ext)) = name.rsplit_once('.') else {
            continue;
        };
        let image = matches!(ext.to_ascii_lowercase().as_str(), "png" | "jpg" | "jpeg");
        if image && !stem.is_empty() && !name.starts_with('.') && path.is_file() {
            if let Some(other) = out.insert(stem.to_string(), path.clone()) {
                return Err(Error::Input {
                    path: dir.to_path_buf(),
                    msg: format!(
                        "holds two results named {stem} ({} and {}); keep one",
                        other.display(),
                        path.display()
                    ),
                });
            }
        }
    }
    Ok(out)
}

/// The photo and (first) painting a batch sidecar names, where both files exist (relative
/// paths as the job gave them: from the current folder, else from the results' folder).
fn from_sidecar(result: &Path) -> Option<(PathBuf, PathBuf)> {
    let sidecar = Sidecar::read(result)?;
    let style = sidecar.styles.first()?;
    let style = match style.rsplit_once(':') {
        Some((path, w)) if w.parse::<f32>().is_ok() => path,
        _ => style.as_str(),
    };
    let base = result.parent()?;
    let find = |p: &Path| {
        [p.to_path_buf(), base.join(p)]
            .into_iter()
            .find(|c| c.is_file())
    };
    Some((find(&sidecar.input)?, find(Path::new(style))?))
}

/// `PHOTO_PAINTING` split at the `_` where both halves name files, or `PHOTO` alone when
/// there is exactly one painting.
fn by_name(
    stem: &str,
    photos: Option<&BTreeMap<String, PathBuf>>,
    paintings: Option<&BTreeMap<String, PathBuf>>,
) -> Option<(PathBuf, PathBuf)> {
    let (photos, paintings) = (photos?, paintings?);
    for (i, _) in stem.match_indices('_') {
        let (p, s) = (&stem[..i], &stem[i + 1..]);
        if let (Some(p), Some(s)) = (photos.get(p), paintings.get(s)) {
            return Some((p.clone(), s.clone()));
        }
    }
    match (photos.get(stem), paintings.len()) {
        (Some(p), 1) => Some((p.clone(), paintings.values().next()?.clone())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(dir: &Path, name: &str) {
        std::fs::write(dir.join(name), b"x").unwrap();
    }

    #[test]
    fn items_are_the_stems_every_folder_has_with_references_by_name() {
        let t = tempfile::tempdir().unwrap();
        let [a, b, ph, pa] = ["a", "b", "photos", "paintings"].map(|d| {
            let p = t.path().join(d);
            std::fs::create_dir(&p).unwrap();
            p
        });
        for n in [
            "cat_monet.png",
            "dog_the_wave.jpg",
            "only_a_monet.png",
            ".hidden.png",
        ] {
            touch(&a, n);
        }
        for n in ["cat_monet.png", "dog_the_wave.png", "notes.txt"] {
            touch(&b, n);
        }
        for n in ["cat.jpg", "dog.png", "only_a.png"] {
            touch(&ph, n);
        }
        for n in ["monet.jpg", "the_wave.png"] {
            touch(&pa, n);
        }
        let sources = [("A", &a), ("B", &b)].map(|(n, d)| Source {
            name: n.into(),
            dir: d.clone(),
        });
        let m = match_items(&sources, Some(&ph), Some(&pa)).unwrap();
        let names: Vec<_> = m.items.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, ["cat_monet", "dog_the_wave"]);
        assert_eq!(m.items[1].photo, ph.join("dog.png"));
        assert_eq!(m.items[1].painting, pa.join("the_wave.png"));
        assert_eq!(
            m.items[1].results,
            [a.join("dog_the_wave.jpg"), b.join("dog_the_wave.png")]
        );
        assert_eq!(
            m.left_out,
            [("only_a_monet".to_string(), vec!["B".to_string()])]
        );
    }

    #[test]
    fn a_batch_sidecar_names_the_photo_and_painting() {
        let t = tempfile::tempdir().unwrap();
        let [a, b] = ["a", "b"].map(|d| {
            let p = t.path().join(d);
            std::fs::create_dir(&p).unwrap();
            p
        });
        touch(t.path(), "bee.jpg");
        touch(t.path(), "wave.png");
        touch(&a, "x.png");
        touch(&b, "x.png");
        let sidecar = serde_json::json!({
            "key": "k", "input": t.path().join("bee.jpg"), "output": "x.png",
            "styles": [format!("{}:0.5", t.path().join("wave.png").display())],
            "settings": {}, "metrics": {}, "seconds": 1.0, "version": "0"
        });
        std::fs::write(b.join("x.json"), sidecar.to_string()).unwrap();
        let sources = [("A", &a), ("B", &b)].map(|(n, d)| Source {
            name: n.into(),
            dir: d.clone(),
        });
        let m = match_items(&sources, None, None).unwrap();
        assert_eq!(m.items[0].photo, t.path().join("bee.jpg"));
        assert_eq!(m.items[0].painting, t.path().join("wave.png"));
    }

    #[test]
    fn a_result_without_references_is_refused_with_the_way_out() {
        let t = tempfile::tempdir().unwrap();
        touch(t.path(), "cat_monet.png");
        let s = Source {
            name: "A".into(),
            dir: t.path().to_path_buf(),
        };
        let e = match_items(&[s], None, None).unwrap_err().to_string();
        assert!(e.contains("cat_monet.png") && e.contains("--photos"), "{e}");
    }
}
