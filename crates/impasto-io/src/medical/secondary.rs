//! Writing a result as a DICOM Secondary Capture Image (SOP Class 1.2.840.10008.5.1.4.1.1.7):
//! RGB, 8 bits, Explicit VR Little Endian, new SOP Instance and Series UIDs, written
//! atomically. From the source it keeps only what files it beside the original study
//! ([`KEPT_ATTRIBUTES`]), or, anonymised, none of it.

use std::fmt;
use std::path::Path;

use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::meta::FileMetaTableBuilder;
use dicom_object::{InMemDicomObject, OpenFileOptions};
use impasto::image::Rgb;

use super::transfer::EXPLICIT_VR_LE;
use super::uid;
use crate::atomic;
use crate::error::{Error, Result};

/// Secondary Capture Image Storage.
const SECONDARY_CAPTURE: &str = "1.2.840.10008.5.1.4.1.1.7";
/// Impasto's implementation class UID (a UUID-derived UID).
const IMPLEMENTATION_UID: &str = "2.25.219087863892129826702804382337345408659";

/// The attributes copied from the source, so that a PACS files the result in the original
/// patient's study: Patient's Name, Patient ID, Patient's Birth Date, Patient's Sex, Study
/// Instance UID, Study Date, Study Time, Accession Number, Study ID, Referring Physician's
/// Name. Nothing else of the source is written.
pub const KEPT_ATTRIBUTES: [(Tag, VR, &str); 10] = [
    (tags::PATIENT_NAME, VR::PN, "Patient's Name"),
    (tags::PATIENT_ID, VR::LO, "Patient ID"),
    (tags::PATIENT_BIRTH_DATE, VR::DA, "Patient's Birth Date"),
    (tags::PATIENT_SEX, VR::CS, "Patient's Sex"),
    (tags::STUDY_INSTANCE_UID, VR::UI, "Study Instance UID"),
    (tags::STUDY_DATE, VR::DA, "Study Date"),
    (tags::STUDY_TIME, VR::TM, "Study Time"),
    (tags::ACCESSION_NUMBER, VR::SH, "Accession Number"),
    (tags::STUDY_ID, VR::SH, "Study ID"),
    (
        tags::REFERRING_PHYSICIAN_NAME,
        VR::PN,
        "Referring Physician's Name",
    ),
];

/// Where a result is filed: the source's patient and study, a new study (a source that was
/// not DICOM), or a new study with the patient's identity removed.
#[derive(Clone)]
pub struct Filing {
    /// The kept attributes' values, by position in [`KEPT_ATTRIBUTES`] (empty when unknown).
    values: Vec<String>,
    anonymized: bool,
}

impl fmt::Debug for Filing {
    /// Never shows the values: they identify the patient.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Filing {{ {} attribute(s) kept, anonymized: {} }}",
            self.values.iter().filter(|v| !v.is_empty()).count(),
            self.anonymized
        )
    }
}

impl Filing {
    /// The patient and study of the DICOM file at `path` (the first file of a series folder).
    pub fn from_source(path: &Path) -> Result<Filing> {
        let file = match path.is_dir() {
            true => match super::series::scan(path)? {
                Some(mut s) => s.files.remove(0),
                None => return Ok(Filing::new_study()),
            },
            false => path.to_path_buf(),
        };
        let obj = OpenFileOptions::new()
            .read_until(tags::PIXEL_DATA)
            .open_file(&file)
            .map_err(|_| {
                Error::input(
                    &file,
                    "the DICOM header cannot be read for the output's patient and study; copy \
                     the file again, or write with --anonymize",
                )
            })?;
        let values = KEPT_ATTRIBUTES
            .iter()
            .map(|(tag, _, _)| {
                obj.get(*tag)
                    .and_then(|e| e.to_str().ok())
                    .map(|s| s.trim_end_matches(['\0', ' ']).to_string())
                    .unwrap_or_default()
            })
            .collect();
        Ok(Filing {
            values,
            anonymized: false,
        })
    }

    /// A new study with no patient details, for a source that was not DICOM.
    pub fn new_study() -> Filing {
        Filing {
            values: vec![String::new(); KEPT_ATTRIBUTES.len()],
            anonymized: false,
        }
    }

    /// A new study with the patient's identity removed (`--anonymize`).
    pub fn anonymized() -> Filing {
        Filing {
            anonymized: true,
            ..Filing::new_study()
        }
    }
}

/// Writes `image` to `path` as a Secondary Capture filed by `filing`, atomically.
pub fn write_secondary_capture(path: &Path, image: &Rgb, filing: &Filing) -> Result<()> {
    let (rows, cols) = match (u16::try_from(image.height), u16::try_from(image.width)) {
        (Ok(r), Ok(c)) => (r, c),
        _ => {
            return Err(Error::Usage(format!(
                "{}: DICOM images are at most 65535 pixels a side; use a smaller --size",
                path.display()
            )))
        }
    };
    let sop = uid::new()?;
    let mut obj = InMemDicomObject::new_empty();
    let mut put = |tag: Tag, vr: VR, value: PrimitiveValue| {
        obj.put(DataElement::new(tag, vr, value));
    };
    put(tags::SPECIFIC_CHARACTER_SET, VR::CS, "ISO_IR 192".into());
    put(
        tags::IMAGE_TYPE,
        VR::CS,
        PrimitiveValue::Strs(["DERIVED", "SECONDARY"].map(String::from).into()),
    );
    put(tags::SOP_CLASS_UID, VR::UI, SECONDARY_CAPTURE.into());
    put(tags::SOP_INSTANCE_UID, VR::UI, sop.as_str().into());
    put(tags::MODALITY, VR::CS, "OT".into());
    put(tags::CONVERSION_TYPE, VR::CS, "WSD".into());
    put(tags::SERIES_INSTANCE_UID, VR::UI, uid::new()?.into());
    put(tags::SERIES_NUMBER, VR::IS, "999".into());
    put(tags::INSTANCE_NUMBER, VR::IS, "1".into());
    put(tags::PATIENT_ORIENTATION, VR::CS, PrimitiveValue::Empty);
    put(
        tags::DERIVATION_DESCRIPTION,
        VR::ST,
        "Repainted in the style of a painting by Impasto (neural style transfer); not for \
         diagnosis"
            .into(),
    );
    put(tags::BURNED_IN_ANNOTATION, VR::CS, "NO".into());
    for ((tag, vr, _), value) in KEPT_ATTRIBUTES.iter().zip(&filing.values) {
        let v = match (*tag == tags::STUDY_INSTANCE_UID, value.is_empty()) {
            (true, true) => uid::new()?.into(),
            (_, true) => PrimitiveValue::Empty,
            (_, false) => value.as_str().into(),
        };
        put(*tag, *vr, v);
    }
    if filing.anonymized {
        put(tags::PATIENT_IDENTITY_REMOVED, VR::CS, "YES".into());
        put(
            tags::DEIDENTIFICATION_METHOD,
            VR::LO,
            "Impasto --anonymize: no patient or study attribute of the source kept".into(),
        );
    }
    put(tags::SAMPLES_PER_PIXEL, VR::US, PrimitiveValue::from(3u16));
    put(tags::PHOTOMETRIC_INTERPRETATION, VR::CS, "RGB".into());
    put(
        tags::PLANAR_CONFIGURATION,
        VR::US,
        PrimitiveValue::from(0u16),
    );
    put(tags::ROWS, VR::US, PrimitiveValue::from(rows));
    put(tags::COLUMNS, VR::US, PrimitiveValue::from(cols));
    put(tags::BITS_ALLOCATED, VR::US, PrimitiveValue::from(8u16));
    put(tags::BITS_STORED, VR::US, PrimitiveValue::from(8u16));
    put(tags::HIGH_BIT, VR::US, PrimitiveValue::from(7u16));
    put(
        tags::PIXEL_REPRESENTATION,
        VR::US,
        PrimitiveValue::from(0u16),
    );
    put(
        tags::PIXEL_DATA,
        VR::OB,
        PrimitiveValue::from(interleave(image)),
    );
    let file = obj
        .with_meta(
            FileMetaTableBuilder::new()
                .transfer_syntax(EXPLICIT_VR_LE)
                .implementation_class_uid(IMPLEMENTATION_UID)
                .implementation_version_name("IMPASTO"),
        )
        .map_err(|e| {
            Error::Usage(format!(
                "{}: cannot build the DICOM file: {e}",
                path.display()
            ))
        })?;
    atomic::write_with(path, |f| {
        file.write_all(f)
            .map_err(|e| Error::output(path, std::io::Error::other(e.to_string())))
    })
}

/// Planar `0..=255` colour as interleaved 8-bit RGB (padded to an even length, as DICOM
/// values must be).
fn interleave(image: &Rgb) -> Vec<u8> {
    let n = image.pixel_count();
    let mut out = Vec::with_capacity(3 * n + 1);
    for i in 0..n {
        for c in 0..3 {
            out.push(image.plane(c)[i].round().clamp(0.0, 255.0) as u8);
        }
    }
    if out.len() % 2 == 1 {
        out.push(0);
    }
    out
}
