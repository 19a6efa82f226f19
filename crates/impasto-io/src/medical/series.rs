//! A folder of DICOM files as one series: its files in slice order (by Image Position Patient
//! along the slice normal, else by Instance Number), decoded one slice at a time.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use dicom_dictionary_std::tags;
use dicom_object::OpenFileOptions;

use super::axis::Axis;
use super::dicom::{is_dicom, MAGIC_OFFSET};
use super::header::{int, text, vector};
use crate::error::{Error, Result};

/// The files of one series, in slice order.
#[derive(Clone, Debug)]
pub struct Series {
    /// The files, first slice first.
    pub files: Vec<PathBuf>,
    /// The axis the slices are stacked along (axial when the files do not say).
    pub axis: Axis,
    /// Each file's Image Position Patient, in slice order.
    pub(super) positions: Vec<Option<[f64; 3]>>,
    /// Each file's Image Orientation Patient, in slice order.
    pub(super) orientations: Vec<Option<[f64; 6]>>,
}

/// What the scan keeps of each file's header (never shown: the series UID only groups).
struct Entry {
    path: PathBuf,
    series: Option<String>,
    position: Option<[f64; 3]>,
    orientation: Option<[f64; 6]>,
    instance: Option<i64>,
}

/// Scans `dir` for the DICOM image files of one series (`None` when it holds none). Files
/// that are not DICOM, and DICOM files without an image (a DICOMDIR, a report), are passed
/// over; files of several series are refused, naming one file of each.
pub fn scan(dir: &Path) -> Result<Option<Series>> {
    let listing = std::fs::read_dir(dir)
        .map_err(|e| Error::input(dir, format!("cannot list the folder: {e}")))?;
    let mut paths: Vec<PathBuf> = listing
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    paths.sort();
    let mut groups: BTreeMap<Option<String>, Vec<Entry>> = BTreeMap::new();
    for path in paths {
        if let Some(entry) = entry(&path)? {
            groups.entry(entry.series.clone()).or_default().push(entry);
        }
    }
    let mut groups: Vec<Vec<Entry>> = groups.into_values().collect();
    match groups.len() {
        0 => Ok(None),
        1 => Ok(Some(order(groups.pop().expect("one group")))),
        n => {
            let each: Vec<String> = groups
                .iter()
                .map(|g| {
                    let name = g[0].path.file_name().unwrap_or_default().to_string_lossy();
                    format!("{} file(s) like {name}", g.len())
                })
                .collect();
            Err(Error::input(
                dir,
                format!(
                    "the folder holds {n} DICOM series ({}); move each series into a folder of \
                     its own and give that folder",
                    each.join("; ")
                ),
            ))
        }
    }
}

/// The header facts of `path` if it is a DICOM file with an image, read up to the pixel data.
fn entry(path: &Path) -> Result<Option<Entry>> {
    let mut head = [0u8; MAGIC_OFFSET + 4];
    let is_dcm = std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok()
        && is_dicom(&head);
    if !is_dcm {
        return Ok(None);
    }
    let obj = OpenFileOptions::new()
        .read_until(tags::PIXEL_DATA)
        .open_file(path)
        .map_err(|_| {
            Error::input(
                path,
                "the DICOM header is damaged or truncated; copy or export the file again, or \
                 remove it from the folder",
            )
        })?;
    if int(&obj, tags::ROWS).is_none() {
        return Ok(None);
    }
    if int(&obj, tags::NUMBER_OF_FRAMES).unwrap_or(1) > 1 {
        return Err(Error::input(
            path,
            "a multi-frame DICOM file inside a folder: give the file itself (its frames are \
             the slices)",
        ));
    }
    Ok(Some(Entry {
        path: path.to_path_buf(),
        series: text(&obj, tags::SERIES_INSTANCE_UID),
        position: vector::<3>(&obj, tags::IMAGE_POSITION_PATIENT),
        orientation: vector::<6>(&obj, tags::IMAGE_ORIENTATION_PATIENT),
        instance: int(&obj, tags::INSTANCE_NUMBER),
    }))
}

/// Sorts one series' entries along the slice normal where every file has a position and the
/// first an orientation, else by Instance Number, else by name.
fn order(mut entries: Vec<Entry>) -> Series {
    let (normal, axis) = match entries[0].orientation.map(Axis::of_orientation) {
        Some((n, axis)) => (Some(n), axis),
        None => (None, Axis::Axial),
    };
    match normal {
        Some(n) if entries.iter().all(|e| e.position.is_some()) => {
            let along = |e: &Entry| {
                let p = e.position.expect("checked");
                p[0] * n[0] + p[1] * n[1] + p[2] * n[2]
            };
            entries.sort_by(|a, b| along(a).total_cmp(&along(b)));
        }
        _ if entries.iter().all(|e| e.instance.is_some()) => {
            entries.sort_by_key(|e| e.instance);
        }
        _ => {}
    }
    Series {
        positions: entries.iter().map(|e| e.position).collect(),
        orientations: entries.iter().map(|e| e.orientation).collect(),
        files: entries.into_iter().map(|e| e.path).collect(),
        axis,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(name: &str, z: Option<f64>, instance: Option<i64>) -> Entry {
        Entry {
            path: PathBuf::from(name),
            series: None,
            position: z.map(|z| [0.0, 0.0, z]),
            orientation: Some([1.0, 0.0, 0.0, 0.0, 1.0, 0.0]),
            instance,
        }
    }

    #[test]
    fn orders_by_position_then_instance_number() {
        let s = order(vec![
            e("a", Some(10.0), Some(1)),
            e("b", Some(-5.0), Some(3)),
            e("c", Some(2.5), Some(2)),
        ]);
        assert_eq!(s.files, ["b", "c", "a"].map(PathBuf::from));
        assert_eq!(s.axis, Axis::Axial);
        let s = order(vec![
            e("a", Some(10.0), Some(3)),
            e("b", None, Some(1)),
            e("c", Some(2.5), Some(2)),
        ]);
        assert_eq!(s.files, ["b", "c", "a"].map(PathBuf::from));
    }

    #[test]
    fn a_sagittal_series_is_stacked_along_x() {
        let mut a = e("a", None, None);
        a.orientation = Some([0.0, 1.0, 0.0, 0.0, 0.0, -1.0]);
        assert_eq!(order(vec![a]).axis, Axis::Sagittal);
    }
}
