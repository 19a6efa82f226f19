//! A medical volume as a video: its slices across the stacking axis (axial for NIfTI),
//! windowed, become numbered PNG frames in a private temporary folder beside the output, which
//! the frame loop reads like any folder of frames. Only the slices `--frames` asks for are
//! written. The folder is removed when the run ends.

use std::ops::Range;
use std::path::{Path, PathBuf};

use impasto_io::codec::{self as io, Limits};
use impasto_io::medical::{self, Axis, Geometry, Window};
use impasto_io::{Error, Result};
use tempfile::TempDir;

use super::nifti_out;
use crate::args::MedicalArgs;

/// The input the frame loop reads: the user's own, or the slices of a medical volume.
pub struct Input {
    path: PathBuf,
    /// The frames to ask the reader for (`None` for a volume: its slices are cut already).
    range: Option<Range<usize>>,
    /// Where the slices lie in a NIfTI volume or DICOM series, for a NIfTI output.
    grid: Option<Grid>,
    /// True for a grey medical volume (windowed slices), which keeps its anatomy by default.
    grey: bool,
    _slices: Option<TempDir>,
}

/// The slices of a NIfTI volume or DICOM series that became the frames: across `axis`, from `first` on.
pub struct Grid {
    /// The source's voxel grid.
    pub geometry: Geometry,
    /// The axis the slices are cut across.
    pub axis: Axis,
    /// The slice that is frame 0.
    pub first: usize,
}

impl Input {
    /// What to probe and read.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The frame range to give the reader.
    pub fn range(&self) -> Option<Range<usize>> {
        self.range.clone()
    }

    /// True for the slices of a grey medical volume.
    pub fn grey(&self) -> bool {
        self.grey
    }

    /// The source grid of a NIfTI volume's slices (`None` for other inputs).
    pub fn grid(&self) -> Option<&Grid> {
        self.grid.as_ref()
    }
}

/// The frames of `input` for a run writing `out`: the slices in `range` (all without one) of a
/// medical volume written as PNG frames, else `input` itself. `--slice` is refused (a video
/// runs through the slices; `--frames` picks a stretch), `--window` is refused for an
/// ordinary video, and a NIfTI `out` for anything but a NIfTI volume or an evenly spaced DICOM
/// series.
pub fn frames(
    input: &Path,
    out: &Path,
    a: &MedicalArgs,
    range: Option<Range<usize>>,
) -> Result<Input> {
    if a.slice.is_some() {
        return Err(Error::Usage(
            "--slice picks one slice of a photo; a video runs through every slice across the \
             volume's stacking axis: choose a stretch of them with --frames A..B"
                .into(),
        ));
    }
    let window = a.window.as_deref().map(Window::parse).transpose()?;
    // Only a folder or a file that starts like DICOM or NIfTI is read here: a video file is
    // not read whole, and a missing input is left to the usual message.
    let candidate = input.is_dir() || (input.is_file() && medical::is_volume_file(input));
    let volume = match candidate {
        true => medical::open(input, &Limits::default())?,
        false => None,
    };
    let nifti_out = nifti_out::is_nifti(out);
    let Some(volume) = volume else {
        if window.is_some() {
            return Err(Error::Usage(format!(
                "{}: --window applies to medical volumes (NIfTI, DICOM), and this is an ordinary \
                 video; leave it out",
                input.display()
            )));
        }
        // A missing input is left to the usual message.
        if nifti_out && input.exists() {
            return Err(Error::Usage(format!(
                "{}: -o {} writes a NIfTI volume, which needs a NIfTI volume (.nii, .nii.gz) or a \
                 DICOM series folder as the input, and this is an ordinary video or folder of frames; write .mp4, .gif \
                 or a folder of PNG frames instead",
                input.display(),
                out.display()
            )));
        }
        return Ok(Input {
            path: input.to_path_buf(),
            range,
            grid: None,
            grey: false,
            _slices: None,
        });
    };
    if nifti_out {
        if let Err(why) = volume.nifti_geometry() {
            return Err(Error::Usage(format!(
                "{}: -o {} writes a NIfTI volume on the input's patient-space grid, and it has \
                 none: {why}; or write .mp4, .gif or PNG frames",
                input.display(),
                out.display()
            )));
        }
    }
    let axis = volume.stacking();
    let n = volume.count(axis)?;
    let wanted = slice_range(input, range, n, axis)?;
    let window = window.or_else(|| volume.volume_window());
    let dir = impasto_io::atomic::output_dir(out)?;
    let tmp = tempfile::Builder::new()
        .prefix(".impasto-slices.")
        .tempdir_in(&dir)
        .map_err(|e| Error::output(&dir, e))?;
    let mut grey = true;
    for (frame, index) in wanted.clone().enumerate() {
        let image = volume.slice(medical::SliceSpec { axis, index })?;
        grey &= matches!(image, medical::Image::Grey(_));
        let path = tmp.path().join(format!("{frame:06}.png"));
        io::save(&path, &image.to_rgb(window), None, io::BitDepth::Eight)?;
    }
    eprintln!(
        "impasto: note: {} holds {n} {axis} slices; they are the frames, in order: slices \
         {}..{}",
        input.display(),
        wanted.start,
        wanted.end
    );
    Ok(Input {
        path: tmp.path().to_path_buf(),
        range: None,
        grid: volume.nifti_geometry().ok().map(|g| Grid {
            geometry: g.clone(),
            axis,
            first: wanted.start,
        }),
        grey,
        _slices: Some(tmp),
    })
}

/// The slices `range` (`--frames`) picks of the `n` across `axis`, cut to the volume; an
/// empty range, or one starting past the last slice, is refused.
fn slice_range(
    input: &Path,
    range: Option<Range<usize>>,
    n: usize,
    axis: Axis,
) -> Result<Range<usize>> {
    let r = range.unwrap_or(0..n);
    if r.start >= r.end {
        return Err(Error::Usage(format!(
            "--frames {}..{} is empty; give a range whose end is after its start (e.g. {}..{})",
            r.start,
            r.end,
            r.start,
            r.start + 1
        )));
    }
    if r.start >= n {
        return Err(Error::Usage(format!(
            "--frames {}..{} starts past the last slice: {} has {n} {axis} slices, numbered 0 \
             to {}",
            r.start,
            r.end,
            input.display(),
            n.saturating_sub(1)
        )));
    }
    Ok(r.start..r.end.min(n))
}
