//! A medical volume as a video: its slices across the stacking axis (axial for NIfTI),
//! windowed, become numbered PNG frames in a private temporary folder beside the output, which
//! the frame loop reads like any folder of frames. The folder is removed when the run ends.

use std::path::{Path, PathBuf};

use impasto_io::codec::{self as io, Limits};
use impasto_io::medical::{self, Window};
use impasto_io::{Error, Result};
use tempfile::TempDir;

use crate::args::MedicalArgs;

/// The input the frame loop reads: the user's own, or the slices of a medical volume.
pub struct Input {
    path: PathBuf,
    _slices: Option<TempDir>,
}

impl Input {
    /// What to probe and read.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The frames of `input` for a run writing `out`: the slices of a medical volume written as
/// PNG frames, else `input` itself. `--slice` is refused (a video runs through every slice;
/// `--frames` picks a stretch), and `--window` is refused for an ordinary video.
pub fn frames(input: &Path, out: &Path, a: &MedicalArgs) -> Result<Input> {
    let plain = || Input {
        path: input.to_path_buf(),
        _slices: None,
    };
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
    let Some(volume) = volume else {
        if window.is_some() {
            return Err(Error::Usage(format!(
                "{}: --window applies to medical volumes (NIfTI, DICOM), and this is an ordinary \
                 video; leave it out",
                input.display()
            )));
        }
        return Ok(plain());
    };
    let axis = volume.stacking();
    let n = volume.count(axis)?;
    let dir = impasto_io::atomic::output_dir(out)?;
    let tmp = tempfile::Builder::new()
        .prefix(".impasto-slices.")
        .tempdir_in(&dir)
        .map_err(|e| Error::output(&dir, e))?;
    for index in 0..n {
        let image = volume.slice(medical::SliceSpec { axis, index })?;
        let frame = tmp.path().join(format!("{index:06}.png"));
        io::save(&frame, &image.to_rgb(window), None, io::BitDepth::Eight)?;
    }
    eprintln!(
        "impasto: note: {} holds {n} {axis} slices; they are the frames, in order",
        input.display()
    );
    Ok(Input {
        path: tmp.path().to_path_buf(),
        _slices: Some(tmp),
    })
}
