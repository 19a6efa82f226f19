//! Reading a DICOM file: every frame as a grey slice in physical units (rescale applied) or
//! as colour, with the whitelisted [`Info`]. Errors name the file, never a header value.

use std::path::Path;

use dicom_dictionary_std::tags;
use dicom_object::file::ReadPreamble;
use dicom_object::{DefaultDicomObject, FileMetaTable, OpenFileOptions};
use dicom_pixeldata::{DecodedPixelData, PhotometricInterpretation, PixelDecoder};
use impasto::image::Rgb;

use super::axis::Axis;
use super::header::{int, text, vector};
use super::slice::{plain_code, Format, Image, Info, Slice};
use super::transfer;
use super::window::Window;
use crate::codec::Limits;
use crate::error::{Error, Result};

/// The byte offset of the `DICM` marker in a DICOM file (after the 128-byte preamble).
pub const MAGIC_OFFSET: usize = 128;

/// True when `bytes` start like a DICOM file: `DICM` at byte 128.
pub fn is_dicom(bytes: &[u8]) -> bool {
    bytes.get(MAGIC_OFFSET..MAGIC_OFFSET + 4) == Some(b"DICM")
}

/// A DICOM file's frames, the axis they are stacked along (from Image Orientation Patient;
/// axial when the file does not say) and what is safe to say about them.
pub fn read(path: &Path, bytes: &[u8], limits: &Limits) -> Result<(Vec<Image>, Axis, Info)> {
    let (obj, ts) = open(path, bytes, None)?;
    if obj.get(tags::PIXEL_DATA).is_none() {
        return Err(Error::input(
            path,
            "this DICOM file holds no image (no Pixel Data; a report or a DICOMDIR?); give an \
             image file of the series",
        ));
    }
    let (width, height, frames) = check_size(path, &obj, limits)?;
    let data = obj
        .decode_pixel_data()
        .map_err(|e| decode_error(path, &e))?;
    let modality = text(&obj, tags::MODALITY).and_then(|m| plain_code(&m));
    let axis = vector::<6>(&obj, tags::IMAGE_ORIENTATION_PATIENT)
        .map_or(Axis::Axial, |o| Axis::of_orientation(o).1);
    let spacing = vector::<2>(&obj, tags::PIXEL_SPACING)
        .filter(|s| s.iter().all(|v| *v > 0.0))
        .map(|[r, c]| [r as f32, c as f32]);
    let images = (0..frames)
        .map(|f| frame(path, &data, f, width, height, &modality, spacing))
        .collect::<Result<Vec<_>>>()?;
    let info = Info {
        format: Format::Dicom(ts.name),
        modality,
        width,
        height,
        slices: images.len(),
        spacing,
    };
    Ok((images, axis, info))
}

/// Parses the file (up to `until`, or whole), refusing transfer syntaxes this build cannot
/// decode before reading further than the file meta group.
pub(crate) fn open(
    path: &Path,
    bytes: &[u8],
    until: Option<dicom_core::Tag>,
) -> Result<(DefaultDicomObject, transfer::TransferSyntax)> {
    if !is_dicom(bytes) {
        return Err(Error::input(
            path,
            "not a DICOM file (no DICM marker at byte 128); give a DICOM Part 10 file (.dcm)",
        ));
    }
    let meta = FileMetaTable::from_reader(&bytes[MAGIC_OFFSET..])
        .map_err(|e| damaged(path, &e, "file meta header"))?;
    let uid = meta.transfer_syntax();
    let ts = match transfer::lookup(uid) {
        Some(ts) if transfer::decodes(uid) => ts,
        _ => return Err(Error::input(path, transfer::unsupported(uid))),
    };
    let mut options = OpenFileOptions::new().read_preamble(ReadPreamble::Always);
    if let Some(tag) = until {
        options = options.read_until(tag);
    }
    let obj = options
        .from_reader(bytes)
        .map_err(|e| damaged(path, &e, "data set"))?;
    Ok((obj, ts))
}

/// Rows, columns and frames, refused past `limits` before any pixel is decoded.
fn check_size(
    path: &Path,
    obj: &DefaultDicomObject,
    limits: &Limits,
) -> Result<(usize, usize, usize)> {
    let (rows, cols) =
        match (int(obj, tags::ROWS), int(obj, tags::COLUMNS)) {
            (Some(r), Some(c)) if r > 0 && c > 0 => (r, c),
            _ => return Err(Error::input(
                path,
                "the DICOM header gives no image size (Rows/Columns); the file is damaged or not \
                 an image",
            )),
        };
    let frames = int(obj, tags::NUMBER_OF_FRAMES).unwrap_or(1).max(1);
    let samples = int(obj, tags::SAMPLES_PER_PIXEL).unwrap_or(1).clamp(1, 4);
    let (w, h) = (
        u32::try_from(cols).unwrap_or(u32::MAX),
        u32::try_from(rows).unwrap_or(u32::MAX),
    );
    // Decoded as f32 samples, every frame.
    let bytes = (cols as u64)
        .saturating_mul(rows as u64)
        .saturating_mul(frames as u64)
        .saturating_mul(samples as u64 * 4);
    limits.check(w, h, bytes).map_err(|e| e.named(path))?;
    Ok((cols as usize, rows as usize, frames as usize))
}

/// Frame `f` as a grey slice or as colour.
fn frame(
    path: &Path,
    data: &DecodedPixelData<'_>,
    f: usize,
    width: usize,
    height: usize,
    modality: &Option<String>,
    spacing: Option<[f32; 2]>,
) -> Result<Image> {
    let f32_frame = u32::try_from(f).expect("frame count checked");
    let pi = data.photometric_interpretation();
    match pi {
        PhotometricInterpretation::Monochrome1 | PhotometricInterpretation::Monochrome2 => {
            let values: Vec<f32> = data
                .to_vec_frame(f32_frame)
                .map_err(|e| decode_error(path, &e))?;
            check_len(path, values.len(), width * height)?;
            let window = data.window().ok().flatten().and_then(|w| {
                let w = w.get(f).or(w.first())?;
                (w.width > 0.0 && w.center.is_finite()).then_some(Window {
                    width: w.width as f32,
                    level: w.center as f32,
                })
            });
            Ok(Image::Grey(Slice {
                width,
                height,
                values,
                default_window: window,
                inverted: *pi == PhotometricInterpretation::Monochrome1,
                modality: modality.clone(),
                spacing,
            }))
        }
        PhotometricInterpretation::Rgb | PhotometricInterpretation::YbrFull
            if data.samples_per_pixel() == 3 =>
        {
            colour(path, data, f32_frame, width, height, pi)
        }
        other => Err(Error::input(
            path,
            format!(
                "unsupported photometric interpretation {}; Impasto reads MONOCHROME1/2 and RGB \
                 images (convert e.g. with `gdcmconv --raw` or `dcmconv`)",
                plain_code(other.as_str()).unwrap_or_else(|| "(not a valid code)".into())
            ),
        )),
    }
}

/// Frame `f` of 3-sample data as planar RGB in `0..=255` (YBR_FULL converted, 16-bit scaled).
fn colour(
    path: &Path,
    data: &DecodedPixelData<'_>,
    f: u32,
    width: usize,
    height: usize,
    pi: &PhotometricInterpretation,
) -> Result<Image> {
    let n = width * height;
    let raw = data.frame_data(f).map_err(|e| decode_error(path, &e))?;
    let samples: Vec<f32> = match data.bits_allocated() {
        8 => raw.iter().map(|&v| f32::from(v)).collect(),
        16 => {
            let max = ((1u32 << data.bits_stored().clamp(1, 16)) - 1) as f32;
            raw.chunks_exact(2)
                .map(|b| f32::from(u16::from_ne_bytes([b[0], b[1]])) * 255.0 / max)
                .collect()
        }
        _ => {
            return Err(Error::input(
                path,
                "unsupported colour depth (only 8 or 16 bits per sample); convert the file to 8-bit RGB",
            ))
        }
    };
    check_len(path, samples.len(), 3 * n)?;
    let interleaved = data.planar_configuration() == dicom_pixeldata::PlanarConfiguration::Standard;
    let at = |i: usize, c: usize| match interleaved {
        true => samples[3 * i + c],
        false => samples[c * n + i],
    };
    let mut out = vec![0.0f32; 3 * n];
    for i in 0..n {
        let px = [at(i, 0), at(i, 1), at(i, 2)];
        let rgb = match pi {
            PhotometricInterpretation::YbrFull => ybr_to_rgb(px),
            _ => px,
        };
        for c in 0..3 {
            out[c * n + i] = rgb[c].clamp(0.0, 255.0);
        }
    }
    Ok(Image::Colour(Rgb::new(width, height, out)))
}

/// YCbCr (full range, ITU-R BT.601, PS3.3 C.7.6.3.1.2) to RGB.
fn ybr_to_rgb([y, cb, cr]: [f32; 3]) -> [f32; 3] {
    let (b, r) = (cb - 128.0, cr - 128.0);
    [
        y + 1.402 * r,
        y - 0.344_136 * b - 0.714_136 * r,
        y + 1.772 * b,
    ]
}

fn check_len(path: &Path, got: usize, want: usize) -> Result<()> {
    if got < want {
        return Err(Error::input(
            path,
            "the DICOM pixel data is shorter than its header's image size (truncated or damaged \
             file); export it again",
        ));
    }
    Ok(())
}

/// True when the error, or one of its causes, is an input/output error of data ending early.
fn ends_early(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::UnexpectedEof {
                return true;
            }
        }
        cur = err.source();
    }
    false
}

/// The error for a file whose `part` cannot be parsed. The parser's own message is not shown:
/// it may quote header values.
fn damaged(path: &Path, e: &(dyn std::error::Error + 'static), part: &str) -> Error {
    let why = if ends_early(e) {
        "ends early (truncated file)"
    } else {
        "is damaged"
    };
    Error::input(
        path,
        format!("the DICOM {part} {why}; copy or export the file again from the scanner or PACS"),
    )
}

/// The error for pixel data that cannot be decoded.
fn decode_error(path: &Path, e: &(dyn std::error::Error + 'static)) -> Error {
    let why = if ends_early(e) {
        "ends early (truncated file)"
    } else {
        "could not be decoded (damaged data, or an encoding variant this build does not read)"
    };
    Error::input(
        path,
        format!(
            "the DICOM pixel data {why}; export the file again, or convert it to uncompressed \
             DICOM with e.g. `gdcmconv --raw`"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ybr_white_grey_and_red() {
        assert_eq!(ybr_to_rgb([255.0, 128.0, 128.0]), [255.0, 255.0, 255.0]);
        let red = ybr_to_rgb([76.245, 84.972, 255.5]);
        assert!((red[0] - 255.0).abs() < 1.0 && red[1].abs() < 1.0 && red[2].abs() < 1.0);
    }
}
