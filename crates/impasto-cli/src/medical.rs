//! Medical photos on the command line: DICOM files and series, NIfTI volumes and 16-bit grey
//! images read as the photo (`--window`, `--slice`), and results written as DICOM
//! (`-o OUT.dcm`, `--anonymize`). Nothing read from a header reaches a message but the
//! whitelisted facts (`impasto_io::medical::Info`).

use std::path::Path;

use impasto::image::{colour, structure, Rgb};
use impasto_io::codec::{self as io, Decoded, Limits};
use impasto_io::medical::{self, Filing, Format, Image, SliceSpec, Window};
use impasto_io::{Error, Result};

use crate::args::{MedicalArgs, StylizeMedicalArgs};

/// SSIM against the windowed slice that a grey medical result keeps by default: over the
/// 0.6 that keeps the anatomy readable, with a margin, while the painting's palette and
/// brushwork show (BENCHMARKS.md).
pub const DEFAULT_ANATOMY_SSIM: f32 = 0.65;

/// Style layers for a grey medical photo: the painting's brushwork and palette (relu1_1 to
/// relu3_1) without the parts of things the deeper layers match (a lion's face would grow
/// in a vertebra).
pub const ANATOMY_STYLE_LAYERS: &str = "relu1_1,relu2_1,relu3_1";

/// How much of a grey medical slice's own light and shade a result keeps.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Anatomy {
    /// The least share that brings SSIM against the slice to this value.
    Ssim(f32),
    /// A fixed share, 0..=1.
    Share(f32),
}

/// Parses `--anatomy`: `auto` or a share from 0 to 1.
pub fn parse_anatomy(s: &str) -> std::result::Result<Anatomy, String> {
    if s == "auto" {
        return Ok(Anatomy::Ssim(DEFAULT_ANATOMY_SSIM));
    }
    match s.parse::<f32>() {
        Ok(v) if (0.0..=1.0).contains(&v) => Ok(Anatomy::Share(v)),
        _ => Err(format!(
            "give auto, or a share from 0 (the painting's look alone) to 1 (the slice's own \
             light and shade), e.g. 0.7; not '{s}'"
        )),
    }
}

/// What a result keeps of its photo's anatomy (`None`: nothing): `--anatomy`, else `auto`
/// for a grey medical photo. `--anatomy` on an ordinary or colour photo is refused.
pub fn anatomy(path: &Path, grey_medical: bool, given: Option<Anatomy>) -> Result<Option<Anatomy>> {
    match (given, grey_medical) {
        (Some(_), false) => Err(Error::Usage(format!(
            "{}: --anatomy applies to grey medical images (DICOM, NIfTI, 16-bit grey PNG/TIFF), \
             and this is not one; leave it out",
            path.display()
        ))),
        (Some(a), true) => Ok(Some(a)),
        (None, true) => Ok(Some(Anatomy::Ssim(DEFAULT_ANATOMY_SSIM))),
        (None, false) => Ok(None),
    }
}

/// `styled` with `photo`'s light and shade put back as `anatomy` says, and the share used.
pub fn keep_anatomy(styled: &Rgb, photo: &Rgb, anatomy: Anatomy) -> Result<(Rgb, f32)> {
    Ok(match anatomy {
        Anatomy::Ssim(target) => structure::keep_structure(styled, photo, target)?,
        Anatomy::Share(share) => (colour::keep_luminance(styled, photo, share), share),
    })
}

/// A photo as loaded, and what kind of medical file it was (`None`: an ordinary photo).
pub struct Photo {
    /// The picture (a grey medical slice windowed into all three channels).
    pub decoded: Decoded,
    /// The medical format, if it was one.
    pub format: Option<Format>,
    /// True for a grey medical image (windowed), which keeps its anatomy by default.
    pub grey: bool,
}

impl Photo {
    /// True when the photo came from DICOM, so a DICOM result can be filed beside it.
    pub fn is_dicom(&self) -> bool {
        matches!(self.format, Some(Format::Dicom(_) | Format::DicomSeries(_)))
    }
}

/// Loads the photo at `path`: a medical image windowed to grey (or its colour), else an
/// ordinary PNG or JPEG. `--window` and `--slice` are refused for an ordinary photo.
pub fn load_photo(path: &Path, a: &MedicalArgs) -> Result<Photo> {
    let window = a.window.as_deref().map(Window::parse).transpose()?;
    let spec = a.slice.as_deref().map(SliceSpec::parse).transpose()?;
    let Some(volume) = medical::open(path, &Limits::default())? else {
        if a.window.is_some() || a.slice.is_some() {
            return Err(Error::Usage(format!(
                "{}: --window and --slice apply to medical images (DICOM, NIfTI, 16-bit grey \
                 PNG/TIFF), and this is an ordinary photo; leave them out",
                path.display()
            )));
        }
        return Ok(Photo {
            decoded: io::load(path, &Limits::default())?,
            format: None,
            grey: false,
        });
    };
    let spec = match spec {
        Some(s) => s,
        None => {
            let s = volume.default_slice();
            let n = volume.count(s.axis)?;
            if n > 1 {
                eprintln!(
                    "impasto: note: {} holds {n} {} slices; using the middle one, --slice {}:{}",
                    path.display(),
                    s.axis,
                    s.axis,
                    s.index
                );
            }
            s
        }
    };
    let image = volume.slice(spec)?;
    if window.is_some() && matches!(image, Image::Colour(_)) {
        return Err(Error::Usage(format!(
            "{}: --window applies to grey images, and this one is in colour; leave it out",
            path.display()
        )));
    }
    let format = volume.info.format;
    let grey = matches!(image, Image::Grey(_));
    Ok(Photo {
        decoded: Decoded {
            image: image.to_rgb(window),
            alpha: None,
            sixteen_bit: matches!(format, Format::Png16 | Format::Tiff16),
        },
        format: Some(format),
        grey,
    })
}

/// True when `path` names a DICOM output (`.dcm`).
pub fn is_dicom_output(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("dcm"))
}

/// Where a DICOM result is filed, decided before the run so that a bad source fails early:
/// `None` for other outputs. The source's patient and study when the photo is DICOM and
/// `--anonymize` is not given; a new study otherwise.
pub fn filing(
    out: &Path,
    photo: &Path,
    loaded: &Photo,
    a: &StylizeMedicalArgs,
) -> Result<Option<Filing>> {
    match (is_dicom_output(out), a.anonymize) {
        (false, true) => Err(Error::Usage(format!(
            "--anonymize applies to DICOM output (-o OUT.dcm); {} carries no patient data, so \
             leave it out",
            out.display()
        ))),
        (false, false) => Ok(None),
        (true, true) => Ok(Some(Filing::anonymized())),
        (true, false) if loaded.is_dicom() => Ok(Some(Filing::from_source(photo)?)),
        (true, false) => Ok(Some(Filing::new_study())),
    }
}
