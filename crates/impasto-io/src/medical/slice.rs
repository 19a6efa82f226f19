//! What reading a medical file gives: grey slices in physical units or colour images, and the
//! few header facts that are safe to show (nothing that identifies the patient).

use impasto::image::Rgb;

use super::window::Window;

/// A grey slice in physical units (Hounsfield units for CT, the scanner's units for MR).
#[derive(Clone, Debug, PartialEq)]
pub struct Slice {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// Row-major values after the rescale (slope and intercept).
    pub values: Vec<f32>,
    /// The file's own display window (DICOM's first Window Center/Width), if it has one.
    pub default_window: Option<Window>,
    /// True for DICOM MONOCHROME1: low values are shown white.
    pub inverted: bool,
    /// The modality (`CT`, `MR`, ...), when the file says and the value is a plain code.
    pub modality: Option<String>,
    /// Millimetres between rows and between columns, where known.
    pub spacing: Option<[f32; 2]>,
}

/// One picture from a medical file: a grey slice, or colour passed through (RGB DICOM).
#[derive(Clone, Debug, PartialEq)]
pub enum Image {
    /// Grey values in physical units, to be windowed.
    Grey(Slice),
    /// Colour in `0..=255`.
    Colour(Rgb),
}

impl Slice {
    /// The smallest and largest value (0, 0 for an empty slice).
    pub fn range(&self) -> (f32, f32) {
        let mut it = self.values.iter().copied().filter(|v| v.is_finite());
        let first = it.next().unwrap_or(0.0);
        it.fold((first, first), |(lo, hi), v| (lo.min(v), hi.max(v)))
    }

    /// The window shown when the user names none: the file's own, else the full range.
    pub fn window(&self) -> Window {
        self.default_window.unwrap_or_else(|| {
            let (lo, hi) = self.range();
            Window::full_range(lo, hi)
        })
    }

    /// The slice through `window` (or [`Slice::window`]) as grey in `0..=1`, row-major.
    pub fn windowed(&self, window: Option<Window>) -> Vec<f32> {
        let w = window.unwrap_or_else(|| self.window());
        self.values
            .iter()
            .map(|&v| {
                let y = w.apply(v);
                if self.inverted {
                    1.0 - y
                } else {
                    y
                }
            })
            .collect()
    }

    /// The windowed slice as an engine image: the grey in all three channels, `0..=255`.
    pub fn to_rgb(&self, window: Option<Window>) -> Rgb {
        let grey: Vec<f32> = self.windowed(window).iter().map(|g| g * 255.0).collect();
        Rgb::from_planes(self.width, self.height, [&grey, &grey, &grey])
    }
}

impl Image {
    /// Width and height in pixels.
    pub fn size(&self) -> (usize, usize) {
        match self {
            Image::Grey(s) => (s.width, s.height),
            Image::Colour(c) => (c.width, c.height),
        }
    }

    /// The picture as an engine image: a grey slice through `window` (its own when `None`),
    /// colour as it is.
    pub fn to_rgb(&self, window: Option<Window>) -> Rgb {
        match self {
            Image::Grey(s) => s.to_rgb(window),
            Image::Colour(c) => c.clone(),
        }
    }
}

/// What kind of file a medical input was, for messages and `--json`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// A DICOM file, with the name of its transfer syntax.
    Dicom(&'static str),
    /// A folder of DICOM files of one series, with the name of its transfer syntax.
    DicomSeries(&'static str),
    /// A NIfTI-1 file (`.nii` or `.nii.gz`).
    Nifti,
    /// A 16-bit grey PNG.
    Png16,
    /// A 16-bit grey TIFF.
    Tiff16,
}

/// The header facts a reader hands on: whitelisted, none of them about the patient.
#[derive(Clone, Debug, PartialEq)]
pub struct Info {
    /// The kind of file.
    pub format: Format,
    /// The modality code, if known.
    pub modality: Option<String>,
    /// Width of a slice across the stacking axis, in pixels.
    pub width: usize,
    /// Height of a slice across the stacking axis, in pixels.
    pub height: usize,
    /// Slices along the stacking axis (frames of a DICOM file, files of a series).
    pub slices: usize,
    /// Millimetres between rows and between columns, where known.
    pub spacing: Option<[f32; 2]>,
}

/// Keeps a DICOM code string (Modality) only if it is a plain code: up to 16 capitals, digits,
/// spaces or underscores. Anything else could be free text and is dropped.
pub fn plain_code(value: &str) -> Option<String> {
    let v = value.trim();
    let ok = !v.is_empty()
        && v.len() <= 16
        && v.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b' ' || b == b'_');
    ok.then(|| v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slice(values: Vec<f32>, inverted: bool) -> Slice {
        Slice {
            width: values.len(),
            height: 1,
            values,
            default_window: None,
            inverted,
            modality: None,
            spacing: None,
        }
    }

    #[test]
    fn grey_goes_to_all_three_channels_and_monochrome1_inverts() {
        let s = slice(vec![-100.0, 0.0, 100.0], false);
        let rgb = s.to_rgb(None);
        assert_eq!(rgb.plane(0), [0.0, 127.5, 255.0]);
        assert_eq!(rgb.plane(0), rgb.plane(1));
        assert_eq!(rgb.plane(1), rgb.plane(2));
        let inv = slice(vec![-100.0, 0.0, 100.0], true).to_rgb(None);
        assert_eq!(inv.plane(0), [255.0, 127.5, 0.0]);
        let w = Window {
            width: 2.0,
            level: 0.5,
        };
        assert_eq!(s.windowed(Some(w)), [0.0, 0.5, 1.0]);
    }

    #[test]
    fn only_plain_codes_pass() {
        assert_eq!(plain_code("CT").as_deref(), Some("CT"));
        assert_eq!(plain_code(" MR ").as_deref(), Some("MR"));
        assert_eq!(plain_code("Doe^Jane"), None);
        assert_eq!(plain_code(""), None);
        assert_eq!(plain_code("ABCDEFGHIJKLMNOPQ"), None);
    }
}
