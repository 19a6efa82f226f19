//! A medical input as an ordered sequence of slices: the frames of a DICOM file, the files of
//! a DICOM series, a NIfTI volume cut across any axis, or a single 16-bit grey image.

use std::path::{Path, PathBuf};

use super::axis::{Axis, SliceSpec};
use super::dicom;
use super::nifti::NiftiVolume;
use super::series::Series;
use super::slice::{Image, Info};
use crate::codec::Limits;
use crate::error::{Error, Result};

/// An ordered sequence of slices and what is safe to say about it.
#[derive(Clone, Debug)]
pub struct Volume {
    /// The whitelisted header facts.
    pub info: Info,
    /// The path the user gave.
    path: PathBuf,
    source: Source,
}

#[derive(Clone, Debug)]
enum Source {
    /// Decoded already, stacked along an axis: the frames of one DICOM file, or one 16-bit
    /// grey image.
    Images(Vec<Image>, Axis),
    /// A DICOM series, one file per slice, decoded when asked, and its grid (or why it has
    /// none).
    Series(
        Series,
        Limits,
        Box<std::result::Result<super::Geometry, String>>,
    ),
    /// A NIfTI volume, sliced across any axis.
    Nifti(Box<NiftiVolume>),
}

impl Volume {
    /// Images already decoded (the frames of a DICOM file, or one grey image), stacked
    /// along `axis`.
    pub(crate) fn images(path: &Path, images: Vec<Image>, axis: Axis, info: Info) -> Volume {
        Volume {
            info,
            path: path.to_path_buf(),
            source: Source::Images(images, axis),
        }
    }

    /// A DICOM series in a folder.
    pub(crate) fn series(path: &Path, series: Series, limits: Limits, info: Info) -> Volume {
        let grid = super::Geometry::from_dicom_series(
            &series.positions,
            &series.orientations,
            (info.width, info.height),
            info.spacing,
        );
        Volume {
            info,
            path: path.to_path_buf(),
            source: Source::Series(series, limits, Box::new(grid)),
        }
    }

    /// A NIfTI volume.
    pub(crate) fn nifti(path: &Path, volume: NiftiVolume, info: Info) -> Volume {
        Volume {
            info,
            path: path.to_path_buf(),
            source: Source::Nifti(Box::new(volume)),
        }
    }

    /// The axis the stored slices are stacked along (axial for NIfTI, which cuts any way).
    pub fn stacking(&self) -> Axis {
        match &self.source {
            Source::Images(_, axis) => *axis,
            Source::Series(s, _, _) => s.axis,
            Source::Nifti(_) => Axis::Axial,
        }
    }

    /// How many slices there are across `axis`. A DICOM file or series has slices across its
    /// stacking axis only; asking for another is an error that says which.
    pub fn count(&self, axis: Axis) -> Result<usize> {
        let stacked = |n: usize| {
            if axis == self.stacking() {
                Ok(n)
            } else {
                Err(Error::Usage(format!(
                    "{}: its {n} slice(s) are {} images, so only --slice {}:INDEX can be taken \
                     (cutting other ways needs a NIfTI volume)",
                    self.path.display(),
                    self.stacking(),
                    self.stacking()
                )))
            }
        };
        match &self.source {
            Source::Images(images, _) => stacked(images.len()),
            Source::Series(s, _, _) => stacked(s.files.len()),
            Source::Nifti(v) => Ok(v.count(axis)),
        }
    }

    /// The voxel grid to write a result on as NIfTI: a NIfTI volume's own, or the one a DICOM
    /// series' slice positions span; else why there is none (to follow "it has none: ").
    pub fn nifti_geometry(&self) -> std::result::Result<&super::Geometry, String> {
        match &self.source {
            Source::Nifti(v) => Ok(&v.geometry),
            Source::Series(_, _, grid) => grid.as_ref().as_ref().map_err(|why| why.clone()),
            Source::Images(images, _) if images.len() > 1 => Err(
                "a multi-frame DICOM file's per-frame positions are not read; give a folder of \
                 the series, one file per slice"
                    .into(),
            ),
            Source::Images(..) => Err(
                "a single image has no slice positions; give a folder of the DICOM series, one \
                 file per slice"
                    .into(),
            ),
        }
    }

    /// One window for every slice of a grey NIfTI volume when the user names none: the
    /// volume's full range, so neighbouring slices are shown alike (`None` for other inputs,
    /// whose slices carry their own window or use their own range).
    pub fn volume_window(&self) -> Option<super::Window> {
        match &self.source {
            Source::Nifti(v) => {
                let (lo, hi) = v.range();
                Some(super::Window::full_range(lo, hi))
            }
            _ => None,
        }
    }

    /// The slice asked for when none is: the middle one across the stacking axis.
    pub fn default_slice(&self) -> SliceSpec {
        let axis = self.stacking();
        let n = self.count(axis).unwrap_or(1);
        SliceSpec {
            axis,
            index: n.saturating_sub(1) / 2,
        }
    }

    /// The slice `spec` names, or an error that gives the valid range.
    pub fn slice(&self, spec: SliceSpec) -> Result<Image> {
        let n = self.count(spec.axis)?;
        if spec.index >= n {
            return Err(Error::Usage(format!(
                "--slice {}:{} is out of range: {} has {n} {} slice(s), numbered 0 to {}",
                spec.axis,
                spec.index,
                self.path.display(),
                spec.axis,
                n - 1
            )));
        }
        match &self.source {
            Source::Images(images, _) => Ok(images[spec.index].clone()),
            Source::Nifti(v) => Ok(Image::Grey(v.slice(spec.axis, spec.index))),
            Source::Series(s, limits, _) => {
                let file = &s.files[spec.index];
                let bytes = super::read::bytes(file)?;
                let (mut images, _, _) = dicom::read(file, &bytes, limits)?;
                if images.len() != 1 || images[0].size() != (self.info.width, self.info.height) {
                    return Err(Error::input(
                        file,
                        format!(
                            "this slice is not a {}×{} single-frame image like the rest of the \
                             series in {}; remove it from the folder",
                            self.info.width,
                            self.info.height,
                            self.path.display()
                        ),
                    ));
                }
                Ok(images.remove(0))
            }
        }
    }
}
