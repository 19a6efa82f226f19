//! The medical readers and writer on the real sample files (`../shared/data/medical`) and on
//! small synthetic files made here.

use std::path::{Path, PathBuf};

use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::meta::FileMetaTableBuilder;
use dicom_object::{InMemDicomObject, OpenFileOptions};
use dicom_pixeldata::PixelDecoder;

use super::*;
use crate::error::Error;

fn sample(name: &str) -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/medical")
        .join(name);
    assert!(p.is_file(), "sample file missing: {}", p.display());
    p
}

fn volume(path: &Path) -> Volume {
    open(path, &Limits::default())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .expect("a medical input")
}

fn grey(v: &Volume, spec: SliceSpec) -> Slice {
    match v.slice(spec).unwrap() {
        Image::Grey(s) => s,
        Image::Colour(_) => panic!("expected grey"),
    }
}

fn first(v: &Volume) -> Slice {
    grey(v, v.default_slice())
}

fn input_message(r: Result<Option<Volume>>) -> String {
    match r {
        Err(Error::Input { msg, .. }) => msg,
        other => panic!("expected an input error, got {other:?}"),
    }
}

/// A synthetic DICOM file: `values` (signed 16-bit, `frames` frames of rows × cols) with the
/// given header elements on top of the image attributes.
fn synthetic(
    path: &Path,
    (rows, cols, frames): (u16, u16, usize),
    values: &[i16],
    extra: Vec<DataElement<InMemDicomObject>>,
) {
    let mut obj = InMemDicomObject::new_empty();
    let us = |tag: Tag, v: u16| DataElement::new(tag, VR::US, PrimitiveValue::from(v));
    for e in [
        DataElement::new(tags::SOP_CLASS_UID, VR::UI, "1.2.840.10008.5.1.4.1.1.2"),
        DataElement::new(tags::SOP_INSTANCE_UID, VR::UI, "2.25.1"),
        DataElement::new(tags::MODALITY, VR::CS, "CT"),
        DataElement::new(tags::PHOTOMETRIC_INTERPRETATION, VR::CS, "MONOCHROME2"),
        DataElement::new(
            tags::NUMBER_OF_FRAMES,
            VR::IS,
            PrimitiveValue::from(frames.to_string()),
        ),
        us(tags::SAMPLES_PER_PIXEL, 1),
        us(tags::ROWS, rows),
        us(tags::COLUMNS, cols),
        us(tags::BITS_ALLOCATED, 16),
        us(tags::BITS_STORED, 16),
        us(tags::HIGH_BIT, 15),
        us(tags::PIXEL_REPRESENTATION, 1),
        DataElement::new(
            tags::PIXEL_DATA,
            VR::OW,
            PrimitiveValue::U16(values.iter().map(|&v| v as u16).collect()),
        ),
    ]
    .into_iter()
    .chain(extra)
    {
        obj.put(e);
    }
    let file = obj
        .with_meta(FileMetaTableBuilder::new().transfer_syntax(transfer::EXPLICIT_VR_LE))
        .unwrap();
    file.write_to_file(path).unwrap();
}

fn text(tag: Tag, vr: VR, v: &str) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, vr, PrimitiveValue::from(v))
}

#[test]
fn ct_is_read_in_hounsfield_units() {
    let v = volume(&sample("CT_small.dcm"));
    assert_eq!(
        v.info,
        Info {
            format: Format::Dicom("Explicit VR Little Endian"),
            modality: Some("CT".into()),
            width: 128,
            height: 128,
            slices: 1,
            spacing: Some([0.661468, 0.661468]),
        }
    );
    let s = first(&v);
    // Stored 128..2191, intercept -1024.
    assert_eq!(s.range(), (-896.0, 1167.0));
    assert_eq!(s.default_window, None);
    assert_eq!(s.window(), Window::full_range(-896.0, 1167.0));
    // Soft tissue: air black, bone white, water (0 HU) a little below the middle.
    let g = s.windowed(Window::parse("soft-tissue").ok());
    let at = |hu: f32| g[s.values.iter().position(|&v| v == hu).unwrap()];
    assert_eq!(at(-896.0), 0.0);
    assert_eq!(at(1167.0), 1.0);
    assert!(s.values.iter().all(|v| v.fract() == 0.0));
}

#[test]
fn every_mr_encoding_decodes_to_the_same_pixels() {
    let reference = first(&volume(&sample("MR_small.dcm")));
    assert_eq!((reference.width, reference.height), (64, 64));
    assert_eq!(reference.range(), (127.0, 2145.0));
    assert_eq!(
        reference.default_window,
        Some(Window {
            width: 1600.0,
            level: 600.0
        })
    );
    for (name, ts) in [
        ("MR_small_RLE.dcm", "RLE Lossless"),
        ("MR_small_jp2klossless.dcm", "JPEG 2000 Lossless"),
    ] {
        let v = volume(&sample(name));
        assert_eq!(v.info.format, Format::Dicom(ts));
        assert_eq!(first(&v), reference, "{name}");
    }
    // No JPEG-LS decoder builds without cmake: refused, saying how to convert.
    let msg = input_message(open(
        &sample("MR_small_jpeg_ls_lossless.dcm"),
        &Limits::default(),
    ));
    assert!(
        msg.starts_with(
            "unsupported transfer syntax JPEG-LS Lossless (1.2.840.10008.1.2.4.80): convert with \
             e.g. `gdcmconv --raw`"
        ),
        "{msg}"
    );
}

#[test]
fn rgb_jpeg_lossless_passes_through_as_colour() {
    let v = volume(&sample("SC_rgb_jpeg_gdcm.dcm"));
    assert_eq!(v.info.format, Format::Dicom("JPEG Lossless SV1"));
    let Image::Colour(rgb) = v.slice(v.default_slice()).unwrap() else {
        panic!("expected colour");
    };
    assert_eq!((rgb.width, rgb.height), (100, 100));
    let px = |x: usize, y: usize| [0, 1, 2].map(|c| rgb.plane(c)[y * 100 + x]);
    // Horizontal bars: red at the top, then green, then blue.
    assert_eq!(px(50, 2), [255.0, 0.0, 0.0]);
    let rows: Vec<[f32; 3]> = (0..100).map(|y| px(50, y)).collect();
    assert!(rows.contains(&[0.0, 255.0, 0.0]), "{rows:?}");
    assert!(rows.contains(&[0.0, 0.0, 255.0]), "{rows:?}");
}

#[test]
fn damaged_and_foreign_files_are_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let ct = std::fs::read(sample("CT_small.dcm")).unwrap();
    for (name, bytes, says) in [
        ("cut.dcm", ct[..ct.len() / 2].to_vec(), "ends early"),
        ("head.dcm", ct[..200].to_vec(), "ends early"),
        (
            "noise.dcm",
            (0..5000u32)
                .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
                .collect(),
            "not a DICOM file (no DICM marker at byte 128)",
        ),
    ] {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        let e = open(&p, &Limits::default()).unwrap_err();
        let text = e.to_string();
        assert!(text.starts_with(&p.display().to_string()), "{text}");
        assert!(text.contains(says), "{name}: {text}");
        assert!(e.is_user_error());
    }
    let brain = std::fs::read(sample("ch2bet.nii.gz")).unwrap();
    let p = dir.path().join("cut.nii.gz");
    std::fs::write(&p, &brain[..brain.len() / 2]).unwrap();
    assert!(input_message(open(&p, &Limits::default())).contains("ends early"));
    // An ordinary photo is not a medical input.
    let photo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/starry_night.jpg");
    assert!(open(&photo, &Limits::default()).unwrap().is_none());
}

#[test]
fn absurd_sizes_are_refused_before_decoding() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("huge.dcm");
    // 30000 × 30000 × 50 frames declared, four pixels stored.
    synthetic(&p, (30_000, 30_000, 50), &[1, 2, 3, 4], vec![]);
    let e = open(&p, &Limits::default()).unwrap_err();
    assert!(matches!(e, Error::TooLarge(_)), "{e}");
    assert!(
        e.to_string().contains("GiB decoded, more than the limit"),
        "{e}"
    );
    // A NIfTI header declaring 65535³ voxels, and nothing after it.
    let mut h = std::fs::read(sample("ch2bet.nii.gz")).unwrap();
    let mut raw = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&h[..]), &mut raw).unwrap();
    raw.truncate(352);
    for d in 1..4 {
        raw[40 + 2 * d..42 + 2 * d].copy_from_slice(&65535u16.to_le_bytes());
    }
    h = raw;
    let p = dir.path().join("huge.nii");
    std::fs::write(&p, &h).unwrap();
    assert!(matches!(
        open(&p, &Limits::default()),
        Err(Error::TooLarge(_))
    ));
}

#[test]
fn frames_monochrome1_and_windows_of_a_synthetic_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("two.dcm");
    synthetic(
        &p,
        (1, 3, 2),
        &[0, 100, 200, 300, 400, 500],
        vec![
            text(tags::PHOTOMETRIC_INTERPRETATION, VR::CS, "MONOCHROME1"),
            text(tags::RESCALE_SLOPE, VR::DS, "2"),
            text(tags::RESCALE_INTERCEPT, VR::DS, "-100"),
            text(tags::WINDOW_CENTER, VR::DS, "300\\50"),
            text(tags::WINDOW_WIDTH, VR::DS, "401\\10"),
        ],
    );
    let v = volume(&p);
    assert_eq!(v.info.slices, 2);
    assert_eq!(v.count(Axis::Axial).unwrap(), 2);
    let s0 = grey(&v, SliceSpec::parse("z:0").unwrap());
    let s1 = grey(&v, SliceSpec::parse("axial:1").unwrap());
    assert_eq!(s0.values, [-100.0, 100.0, 300.0]);
    assert_eq!(s1.values, [500.0, 700.0, 900.0]);
    // The first window, 401/300: -100 → 0, 300 → 0.5; MONOCHROME1 shows them inverted.
    assert_eq!(
        s0.default_window,
        Some(Window {
            width: 401.0,
            level: 300.0
        })
    );
    // 300: (300 - 299.5)/400 + 0.5 = 0.50125, inverted 0.49875; 100: 0.00125, inverted.
    let g = s0.windowed(None);
    assert_eq!(g[0], 1.0);
    assert!(
        (g[1] - 0.99875).abs() < 1e-6 && (g[2] - 0.49875).abs() < 1e-6,
        "{g:?}"
    );
    // Out of range, and an axis a DICOM stack does not have.
    let e = v.slice(SliceSpec::parse("z:2").unwrap()).unwrap_err();
    assert!(
        e.to_string().contains("--slice axial:2 is out of range: ")
            && e.to_string()
                .ends_with("has 2 axial slice(s), numbered 0 to 1"),
        "{e}"
    );
    let e = v.slice(SliceSpec::parse("x:0").unwrap()).unwrap_err();
    assert!(e.to_string().contains("only --slice axial:INDEX"), "{e}");
    // A sagittal image (rows along y, columns down z) is stacked across x.
    let p = dir.path().join("sagittal.dcm");
    let iop = text(tags::IMAGE_ORIENTATION_PATIENT, VR::DS, "0\\1\\0\\0\\0\\-1");
    synthetic(&p, (1, 1, 1), &[5], vec![iop]);
    let v = volume(&p);
    assert_eq!(
        v.default_slice(),
        SliceSpec {
            axis: Axis::Sagittal,
            index: 0
        }
    );
    let e = v.slice(SliceSpec::parse("axial:0").unwrap()).unwrap_err();
    assert!(e.to_string().contains("are sagittal images"), "{e}");
}

#[test]
fn a_folder_is_one_series_in_position_order() {
    let dir = tempfile::tempdir().unwrap();
    let series = dir.path().join("series");
    std::fs::create_dir(&series).unwrap();
    // Named against their order; positions along the normal decide (z = 30, -10, 10).
    for (name, z, value, instance) in [
        ("a.dcm", 30, 3, "1"),
        ("b.dcm", -10, 1, "3"),
        ("c.dcm", 10, 2, "2"),
    ] {
        synthetic(
            &series.join(name),
            (2, 2, 1),
            &[value; 4],
            vec![
                text(tags::SERIES_INSTANCE_UID, VR::UI, "2.25.7"),
                text(tags::INSTANCE_NUMBER, VR::IS, instance),
                text(tags::IMAGE_ORIENTATION_PATIENT, VR::DS, "1\\0\\0\\0\\1\\0"),
                text(tags::IMAGE_POSITION_PATIENT, VR::DS, &format!("0\\0\\{z}")),
            ],
        );
    }
    std::fs::write(series.join("README.txt"), "not DICOM").unwrap();
    let v = volume(&series);
    assert_eq!(
        v.info.format,
        Format::DicomSeries("Explicit VR Little Endian")
    );
    assert_eq!(v.info.slices, 3);
    let values: Vec<f32> = (0..3)
        .map(|i| {
            grey(
                &v,
                SliceSpec {
                    axis: Axis::Axial,
                    index: i,
                },
            )
            .values[0]
        })
        .collect();
    assert_eq!(values, [1.0, 2.0, 3.0]);
    assert_eq!(v.default_slice().index, 1);
    // A file of another series is refused, naming a file of each.
    synthetic(
        &series.join("z.dcm"),
        (2, 2, 1),
        &[9; 4],
        vec![text(tags::SERIES_INSTANCE_UID, VR::UI, "2.25.8")],
    );
    let msg = input_message(open(&series, &Limits::default()));
    assert!(
        msg.contains("holds 2 DICOM series (3 file(s) like a.dcm; 1 file(s) like z.dcm)"),
        "{msg}"
    );
    assert!(!msg.contains("2.25.7"), "{msg}");
}

#[test]
fn nifti_brain_slices_in_radiological_orientation() {
    let v = volume(&sample("ch2bet.nii.gz"));
    assert_eq!(v.info.format, Format::Nifti);
    assert_eq!(
        (v.info.width, v.info.height, v.info.slices),
        (181, 217, 181)
    );
    assert_eq!(v.count(Axis::Sagittal).unwrap(), 181);
    assert_eq!(v.count(Axis::Coronal).unwrap(), 217);
    assert_eq!(
        v.default_slice(),
        SliceSpec {
            axis: Axis::Axial,
            index: 90
        }
    );
    let axial = first(&v);
    assert_eq!((axial.width, axial.height), (181, 217));
    assert_eq!(axial.spacing, Some([1.0, 1.0]));
    let (lo, hi) = axial.range();
    assert!(lo == 0.0 && hi > 50.0 && hi <= 133.0, "{lo}..{hi}");
    let coronal = grey(&v, SliceSpec::parse("coronal:108").unwrap());
    assert_eq!((coronal.width, coronal.height), (181, 181));
    let sagittal = grey(&v, SliceSpec::parse("x:90").unwrap());
    assert_eq!((sagittal.width, sagittal.height), (217, 181));
    // Superior up: above the brain there is empty space, below it the brainstem reaches the
    // bottom of the volume.
    let rows_with_brain = |s: &Slice| -> Vec<usize> {
        (0..s.height)
            .filter(|&r| {
                s.values[r * s.width..(r + 1) * s.width]
                    .iter()
                    .any(|&v| v > 0.0)
            })
            .collect()
    };
    let rows = rows_with_brain(&sagittal);
    let (top, bottom) = (rows[0], sagittal.height - 1 - rows[rows.len() - 1]);
    assert!(top > bottom + 10, "empty rows above {top}, below {bottom}");
    // Out of range names the count.
    let e = v.slice(SliceSpec::parse("y:217").unwrap()).unwrap_err();
    assert!(
        e.to_string()
            .ends_with("has 217 coronal slice(s), numbered 0 to 216"),
        "{e}"
    );
}

/// A NIfTI file made here: voxel (i, j, k) holds 100 i + 10 j + k, 3 × 2 × 2 voxels, stored
/// with i running to the patient's left (sform x = -i), j to the front, k up.
#[test]
fn nifti_axes_are_flipped_to_the_display_convention() {
    let mut h = vec![0u8; 352];
    h[0..4].copy_from_slice(&348i32.to_le_bytes());
    for (d, n) in [3u16, 3, 2, 2, 1, 1, 1, 1].iter().enumerate() {
        h[40 + 2 * d..42 + 2 * d].copy_from_slice(&n.to_le_bytes());
    }
    h[70..72].copy_from_slice(&4i16.to_le_bytes()); // int16
    h[72..74].copy_from_slice(&16i16.to_le_bytes());
    for (d, p) in [1.0f32, 1.0, 2.0, 3.0].iter().enumerate() {
        h[76 + 4 * d..80 + 4 * d].copy_from_slice(&p.to_le_bytes());
    }
    h[108..112].copy_from_slice(&352f32.to_le_bytes());
    h[112..116].copy_from_slice(&2f32.to_le_bytes()); // scl_slope
    h[116..120].copy_from_slice(&5f32.to_le_bytes()); // scl_inter
    h[254..256].copy_from_slice(&2i16.to_le_bytes()); // sform_code
    for (row, r) in [
        [-1.0f32, 0.0, 0.0, 0.0],
        [0.0, 2.0, 0.0, 0.0],
        [0.0, 0.0, 3.0, 0.0],
    ]
    .iter()
    .enumerate()
    {
        for (c, v) in r.iter().enumerate() {
            let at = 280 + 16 * row + 4 * c;
            h[at..at + 4].copy_from_slice(&v.to_le_bytes());
        }
    }
    h[344..348].copy_from_slice(b"n+1\0");
    for k in 0..2i16 {
        for j in 0..2i16 {
            for i in 0..3i16 {
                h.extend_from_slice(&(100 * i + 10 * j + k).to_le_bytes());
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("tiny.nii");
    std::fs::write(&p, &h).unwrap();
    let v = volume(&p);
    assert_eq!((v.info.width, v.info.height, v.info.slices), (3, 2, 2));
    assert_eq!(v.info.spacing, Some([2.0, 1.0]));
    let raw = |s: &Slice| -> Vec<f32> { s.values.iter().map(|v| (v - 5.0) / 2.0).collect() };
    // Axial k = 1: rows from the front (j = 1) down, columns from the patient's right
    // (i = 0, as i runs to the left) across.
    let axial = grey(&v, SliceSpec::parse("z:1").unwrap());
    assert_eq!((axial.width, axial.height), (3, 2));
    assert_eq!(raw(&axial), [11.0, 111.0, 211.0, 1.0, 101.0, 201.0]);
    assert_eq!(axial.spacing, Some([2.0, 1.0]));
    // Sagittal i = 0: rows from the top (k = 1) down, columns from the front (j = 1).
    let sagittal = grey(&v, SliceSpec::parse("sagittal:0").unwrap());
    assert_eq!(raw(&sagittal), [11.0, 1.0, 10.0, 0.0]);
    // Coronal j = 0: rows from the top, columns from the patient's right.
    let coronal = grey(&v, SliceSpec::parse("coronal:0").unwrap());
    assert_eq!(raw(&coronal), [1.0, 101.0, 201.0, 0.0, 100.0, 200.0]);
}

#[test]
fn sixteen_bit_grey_png_and_tiff_keep_raw_values() {
    let dir = tempfile::tempdir().unwrap();
    let values: Vec<u16> = vec![0, 1000, 40000, 65535, 7, 12345];
    let img = image::ImageBuffer::<image::Luma<u16>, _>::from_raw(3, 2, values.clone()).unwrap();
    for (name, format) in [("g.png", Format::Png16), ("g.tif", Format::Tiff16)] {
        let p = dir.path().join(name);
        img.save(&p).unwrap();
        let v = volume(&p);
        assert_eq!(v.info.format, format);
        let s = first(&v);
        assert_eq!(
            s.values,
            values.iter().map(|&v| f32::from(v)).collect::<Vec<_>>()
        );
        assert_eq!(s.window(), Window::full_range(0.0, 65535.0));
    }
    // 8-bit grey is an ordinary photo.
    let p = dir.path().join("g8.png");
    image::GrayImage::new(2, 2).save(&p).unwrap();
    assert!(open(&p, &Limits::default()).unwrap().is_none());
}

/// A source whose header identifies a patient: every identifying value carries the canary.
fn identified_source(dir: &Path) -> PathBuf {
    let p = dir.join("ct.dcm");
    synthetic(
        &p,
        (4, 4, 1),
        &[0; 16],
        vec![
            text(tags::PATIENT_NAME, VR::PN, "Doe^Jane^PHI-CANARY"),
            text(tags::PATIENT_ID, VR::LO, "PHI-CANARY-ID"),
            text(tags::PATIENT_BIRTH_DATE, VR::DA, "19700101"),
            text(tags::PATIENT_SEX, VR::CS, "F"),
            text(tags::STUDY_INSTANCE_UID, VR::UI, "2.25.4242"),
            text(tags::STUDY_DATE, VR::DA, "20240102"),
            text(tags::STUDY_TIME, VR::TM, "101112"),
            text(tags::ACCESSION_NUMBER, VR::SH, "PHI-CANARY-AN"),
            text(tags::STUDY_ID, VR::SH, "S1"),
            text(tags::REFERRING_PHYSICIAN_NAME, VR::PN, "Who^PHI-CANARY"),
            text(tags::INSTITUTION_NAME, VR::LO, "PHI-CANARY Hospital"),
        ],
    );
    p
}

#[test]
fn secondary_capture_keeps_the_filing_attributes_and_the_pixels() {
    let dir = tempfile::tempdir().unwrap();
    let src = identified_source(dir.path());
    let n = 5 * 3;
    let data: Vec<f32> = (0..3 * n).map(|i| (i * 17 % 256) as f32).collect();
    let image = impasto::image::Rgb::new(5, 3, data.clone());
    let out = dir.path().join("out.dcm");
    let filing = Filing::from_source(&src).unwrap();
    assert!(!format!("{filing:?}").contains("CANARY"));
    write_secondary_capture(&out, &image, &filing).unwrap();
    let obj = OpenFileOptions::new().open_file(&out).unwrap();
    assert_eq!(obj.meta().transfer_syntax(), transfer::EXPLICIT_VR_LE);
    assert_eq!(
        obj.meta().media_storage_sop_class_uid(),
        "1.2.840.10008.5.1.4.1.1.7"
    );
    let get = |tag| {
        obj.get(tag)
            .map(|e| e.to_str().unwrap().trim_end_matches('\0').to_string())
    };
    assert_eq!(
        get(tags::SOP_CLASS_UID).unwrap(),
        "1.2.840.10008.5.1.4.1.1.7"
    );
    assert_eq!(get(tags::PATIENT_NAME).unwrap(), "Doe^Jane^PHI-CANARY");
    assert_eq!(get(tags::PATIENT_ID).unwrap(), "PHI-CANARY-ID");
    assert_eq!(get(tags::PATIENT_BIRTH_DATE).unwrap(), "19700101");
    assert_eq!(get(tags::STUDY_INSTANCE_UID).unwrap(), "2.25.4242");
    assert_eq!(get(tags::ACCESSION_NUMBER).unwrap(), "PHI-CANARY-AN");
    assert_eq!(
        get(tags::REFERRING_PHYSICIAN_NAME).unwrap(),
        "Who^PHI-CANARY"
    );
    assert_eq!(get(tags::INSTITUTION_NAME), None);
    assert_ne!(get(tags::SOP_INSTANCE_UID).unwrap(), "2.25.1");
    assert!(get(tags::SERIES_INSTANCE_UID).unwrap().starts_with("2.25."));
    assert_eq!(get(tags::PATIENT_IDENTITY_REMOVED), None);
    // The pixels, decoded by dicom-pixeldata, are the image's.
    let px = obj.decode_pixel_data().unwrap();
    assert_eq!((px.columns(), px.rows(), px.samples_per_pixel()), (5, 3, 3));
    let bytes = px.frame_data(0).unwrap();
    for i in 0..n {
        for c in 0..3 {
            assert_eq!(f32::from(bytes[3 * i + c]), data[c * n + i]);
        }
    }
    // And it reads back through Impasto as colour.
    let back = volume(&out);
    assert_eq!(
        back.slice(back.default_slice()).unwrap(),
        Image::Colour(image.clone())
    );

    let anon = dir.path().join("anon.dcm");
    write_secondary_capture(&anon, &image, &Filing::anonymized()).unwrap();
    let bytes = std::fs::read(&anon).unwrap();
    assert!(!String::from_utf8_lossy(&bytes).contains("PHI-CANARY"));
    assert!(!String::from_utf8_lossy(&bytes).contains("19700101"));
    let obj = OpenFileOptions::new().open_file(&anon).unwrap();
    let get = |tag| {
        obj.get(tag)
            .map(|e| e.to_str().unwrap().trim_end_matches('\0').to_string())
    };
    assert_eq!(get(tags::PATIENT_IDENTITY_REMOVED).unwrap(), "YES");
    assert!(get(tags::DEIDENTIFICATION_METHOD)
        .unwrap()
        .contains("--anonymize"));
    for (tag, _, name) in KEPT_ATTRIBUTES {
        let v = get(tag).unwrap_or_else(|| panic!("{name} missing"));
        match tag == tags::STUDY_INSTANCE_UID {
            true => assert!(v.starts_with("2.25.") && v != "2.25.4242", "{v}"),
            false => assert_eq!(v, "", "{name}"),
        }
    }
    // No temporary files left beside the outputs.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 3, "{names:?}");
}

#[test]
fn reading_an_identified_file_hands_on_nothing_identifying() {
    let dir = tempfile::tempdir().unwrap();
    let src = identified_source(dir.path());
    let v = volume(&src);
    let shown = format!("{:?} {:?}", v.info, v.slice(v.default_slice()).unwrap());
    assert!(
        !shown.contains("CANARY") && !shown.contains("19700101"),
        "{shown}"
    );
    // Errors too: a damaged copy's message names the file only.
    let bytes = std::fs::read(&src).unwrap();
    let cut = dir.path().join("cut.dcm");
    std::fs::write(&cut, &bytes[..bytes.len() - 10]).unwrap();
    let msg = open(&cut, &Limits::default()).unwrap_err().to_string();
    assert!(!msg.contains("CANARY"), "{msg}");
}
