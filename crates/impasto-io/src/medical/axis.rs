//! Which slice of a volume to take: `--slice AXIS:INDEX`.

use std::fmt;

use crate::error::{Error, Result};

/// An anatomical axis, named by the slices across it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Axis {
    /// Left–right (x): sagittal slices.
    Sagittal,
    /// Posterior–anterior (y): coronal slices.
    Coronal,
    /// Inferior–superior (z): axial slices.
    Axial,
}

impl Axis {
    /// The axis's world index: 0 for x, 1 for y, 2 for z.
    pub fn index(self) -> usize {
        match self {
            Axis::Sagittal => 0,
            Axis::Coronal => 1,
            Axis::Axial => 2,
        }
    }

    /// The axis of world index 0, 1 or 2.
    pub fn from_index(i: usize) -> Axis {
        [Axis::Sagittal, Axis::Coronal, Axis::Axial][i]
    }

    /// The slice normal of DICOM's Image Orientation Patient (row and column directions) and
    /// the axis it lies closest to.
    pub fn of_orientation(o: [f64; 6]) -> ([f64; 3], Axis) {
        let (r, c) = ([o[0], o[1], o[2]], [o[3], o[4], o[5]]);
        let n = [
            r[1] * c[2] - r[2] * c[1],
            r[2] * c[0] - r[0] * c[2],
            r[0] * c[1] - r[1] * c[0],
        ];
        let i = (0..3)
            .max_by(|&a, &b| n[a].abs().total_cmp(&n[b].abs()))
            .expect("three components");
        (n, Axis::from_index(i))
    }

    fn parse(s: &str) -> Option<Axis> {
        match s.trim().to_ascii_lowercase().as_str() {
            "x" | "sagittal" => Some(Axis::Sagittal),
            "y" | "coronal" => Some(Axis::Coronal),
            "z" | "axial" => Some(Axis::Axial),
            _ => None,
        }
    }
}

impl fmt::Display for Axis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Axis::Sagittal => "sagittal",
            Axis::Coronal => "coronal",
            Axis::Axial => "axial",
        })
    }
}

/// A slice asked for by `--slice AXIS:INDEX`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SliceSpec {
    /// Across which axis.
    pub axis: Axis,
    /// Which slice, from 0.
    pub index: usize,
}

impl SliceSpec {
    /// `AXIS:INDEX` with AXIS one of x, y, z, sagittal, coronal, axial (e.g. `axial:90`).
    pub fn parse(spec: &str) -> Result<SliceSpec> {
        let bad = |why: &str| {
            Error::Usage(format!(
                "--slice {spec} is invalid: {why}; give AXIS:INDEX with AXIS x|y|z or \
                 sagittal|coronal|axial, e.g. axial:90"
            ))
        };
        let (a, i) = spec.split_once(':').ok_or_else(|| bad("no `:`"))?;
        let axis = Axis::parse(a).ok_or_else(|| bad(&format!("unknown axis `{a}`")))?;
        let index = i
            .trim()
            .parse::<usize>()
            .map_err(|_| bad(&format!("`{i}` is not a slice number (0, 1, ...)")))?;
        Ok(SliceSpec { axis, index })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_axis_and_index() {
        let s = |a, index| SliceSpec { axis: a, index };
        assert_eq!(SliceSpec::parse("z:90").unwrap(), s(Axis::Axial, 90));
        assert_eq!(SliceSpec::parse("Axial:0").unwrap(), s(Axis::Axial, 0));
        assert_eq!(SliceSpec::parse("x:3").unwrap(), s(Axis::Sagittal, 3));
        assert_eq!(
            SliceSpec::parse("coronal:108").unwrap(),
            s(Axis::Coronal, 108)
        );
        for (bad, says) in [
            ("90", "no `:`"),
            ("w:3", "unknown axis `w`"),
            ("z:-1", "`-1` is not a slice number"),
            ("z:", "`` is not a slice number"),
        ] {
            let msg = SliceSpec::parse(bad).unwrap_err().to_string();
            assert!(
                msg.starts_with(&format!("--slice {bad} is invalid: {says}")),
                "{msg}"
            );
        }
    }
}
