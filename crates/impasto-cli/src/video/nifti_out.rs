//! `impasto video VOLUME.nii.gz -o OUT.nii.gz`: the stylised slices written back as an RGB
//! NIfTI volume on the source's voxel grid (`impasto_io::medical::Geometry`: a NIfTI volume's,
//! or the patient-space grid of a DICOM series folder), instead of a video. Every other output
//! goes to ffmpeg's encoder.

use std::path::Path;

use impasto_io::codec::{self as io, Limits};
use impasto_io::video::{self, EncodeOptions, Ffmpeg};
use impasto_io::{Error, Result};

use super::slices::Input;

/// True when `out` names a NIfTI file (`.nii` or `.nii.gz`, any case).
pub fn is_nifti(out: &Path) -> bool {
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    name.ends_with(".nii") || name.ends_with(".nii.gz")
}

/// Checks before any work that `out` can be written: a NIfTI file or a video kind, in a
/// folder that exists.
pub fn check_output(out: &Path) -> Result<()> {
    if !is_nifti(out) {
        return video::check_output(out);
    }
    impasto_io::atomic::output_dir(out)
        .map(|_| ())
        .map_err(|e| Error::Usage(e.to_string()))
}

/// Writes the `count` numbered PNG frames of `dir` as `out`: a NIfTI volume on the grid of
/// `input`'s slices (which [`super::slices::frames`] has checked has a grid: a NIfTI volume or DICOM series), or a video
/// by `ff` with `opts`.
pub fn encode(
    ff: &Ffmpeg,
    dir: &Path,
    out: &Path,
    count: usize,
    opts: &EncodeOptions,
    input: &Input,
) -> Result<()> {
    if !is_nifti(out) {
        return ff.encode(dir, out, opts);
    }
    let grid = input.grid().ok_or_else(|| {
        Error::Usage(format!(
            "{}: a NIfTI output needs a NIfTI volume or a DICOM series as the input",
            out.display()
        ))
    })?;
    grid.geometry
        .write_rgb(out, grid.axis, grid.first, count, |k| {
            let frame = dir.join(format!("{k:06}.png"));
            Ok(io::load(&frame, &Limits::default())?.image)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nifti_names() {
        for yes in ["a.nii", "b/c.NII.GZ", "x.nii.gz"] {
            assert!(is_nifti(Path::new(yes)), "{yes}");
        }
        for no in ["a.gz", "a.mp4", "nii", "a.nii.zip", "frames"] {
            assert!(!is_nifti(Path::new(no)), "{no}");
        }
    }
}
