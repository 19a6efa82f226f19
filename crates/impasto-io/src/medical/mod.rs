//! Medical images in and out: DICOM files and series, NIfTI volumes and 16-bit grey PNG/TIFF
//! read as grey slices in physical units ([`open`]), display windows ([`Window`]), and the
//! result written back as a DICOM Secondary Capture ([`write_secondary_capture`]) or, for a
//! NIfTI volume's or a DICOM series' stylised slices, as an RGB NIfTI volume on the source's
//! grid ([`Geometry`]).
//!
//! Privacy: readers hand on only pixels and the whitelisted [`Info`] (format, modality code,
//! size, spacing); errors name the file the user gave and never quote a header value.

mod axis;
mod dicom;
mod grey16;
mod header;
mod nifti;
mod nifti_out;
mod orient;
mod read;
mod secondary;
mod series;
mod slice;
mod transfer;
mod uid;
mod volume;
mod window;

pub use axis::{Axis, SliceSpec};
pub use nifti_out::{header_bytes, Geometry, DESCRIPTION};
pub use secondary::{write_secondary_capture, Filing, KEPT_ATTRIBUTES};
pub use slice::{Format, Image, Info, Slice};
pub use volume::Volume;
pub use window::{Window, PRESETS};

use std::path::Path;

use crate::codec::Limits;
use crate::error::{Error, Result};

/// Opens `path` as a medical input when its content says it is one: a DICOM file (`DICM` at
/// byte 128), a NIfTI-1 file (plain or gzip), a 16-bit grey PNG or TIFF, or a folder of one
/// DICOM series. `None` for anything else (an ordinary photo, a folder without DICOM files),
/// whatever its name.
pub fn open(path: &Path, limits: &Limits) -> Result<Option<Volume>> {
    if path.is_dir() {
        let Some(series) = series::scan(path)? else {
            return Ok(None);
        };
        let first = &series.files[0];
        let (_, _, mut info) = dicom::read(first, &read::bytes(first)?, limits)?;
        if let Format::Dicom(ts) = info.format {
            info.format = Format::DicomSeries(ts);
        }
        info.slices = series.files.len();
        return Ok(Some(Volume::series(path, series, *limits, info)));
    }
    let bytes = read::bytes(path)?;
    if dicom::is_dicom(&bytes) {
        let (images, axis, info) = dicom::read(path, &bytes, limits)?;
        return Ok(Some(Volume::images(path, images, axis, info)));
    }
    if nifti::is_gzip(&bytes) || nifti::is_nifti(&bytes) {
        let v = nifti::read(path, &bytes, limits)?;
        // As an axial stack: x across, y down.
        let [x, y, _] = v.orientation.0.map(|(axis, _)| axis);
        let info = Info {
            format: Format::Nifti,
            modality: None,
            width: v.count(Axis::Sagittal),
            height: v.count(Axis::Coronal),
            slices: v.count(Axis::Axial),
            spacing: Some([v.pixdim[y], v.pixdim[x]]),
        };
        return Ok(Some(Volume::nifti(path, v, info)));
    }
    if let Some(format) = grey16::sniff(&bytes) {
        let slice = grey16::read(path, &bytes, format, limits)?;
        let info = Info {
            format,
            modality: None,
            width: slice.width,
            height: slice.height,
            slices: 1,
            spacing: None,
        };
        let images = vec![Image::Grey(slice)];
        return Ok(Some(Volume::images(path, images, Axis::Axial, info)));
    }
    let name = path.to_string_lossy().to_ascii_lowercase();
    if name.ends_with(".dcm") {
        return Err(Error::input(
            path,
            "not a DICOM file (no DICM marker at byte 128); give a DICOM Part 10 file",
        ));
    }
    if name.ends_with(".nii") || name.ends_with(".nii.gz") {
        return Err(Error::input(
            path,
            "not a NIfTI file (no NIfTI-1 header); give a .nii or .nii.gz volume",
        ));
    }
    Ok(None)
}

/// True when the file at `path` starts like a DICOM or NIfTI file. Reads its first bytes only,
/// for callers that must not read a large file of another kind (a video) whole.
pub fn is_volume_file(path: &Path) -> bool {
    let mut head = Vec::with_capacity(352);
    let read = std::fs::File::open(path)
        .and_then(|f| std::io::Read::read_to_end(&mut std::io::Read::take(f, 352), &mut head));
    read.is_ok() && (dicom::is_dicom(&head) || nifti::is_gzip(&head) || nifti::is_nifti(&head))
}

#[cfg(test)]
mod tests;
