//! Medical photos through the `impasto` binary: DICOM and NIfTI in, windows and slices, DICOM
//! out, and the privacy rule (nothing identifying the patient in any output, message or JSON).

use std::path::{Path, PathBuf};
use std::process::Output;

use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::meta::FileMetaTableBuilder;
use dicom_object::{InMemDicomObject, OpenFileOptions};

mod common;

use common::*;

const CANARY: &str = "PHI-CANARY";

fn sample(name: &str) -> String {
    let p = repo("../shared/data/medical").join(name);
    assert!(p.is_file(), "sample file missing: {}", p.display());
    p.display().to_string()
}

/// A 64×64 CT slice (a bright disc in air, in Hounsfield units through the rescale) whose
/// header identifies a patient: every identifying value carries the canary.
fn identified_ct(dir: &Path) -> PathBuf {
    identified_slice(dir, "ct.dcm", 0.0)
}

/// [`identified_ct`] at height `z` (Image Position Patient), written as `dir/name`.
fn identified_slice(dir: &Path, name: &str, z: f64) -> PathBuf {
    identified_slice_at(dir, name, [0.0, 0.0, z], None)
}

/// [`identified_ct`] at `position` (Image Position Patient) with `spacing` (Pixel Spacing, if
/// any), written as `dir/name`.
fn identified_slice_at(
    dir: &Path,
    name: &str,
    position: [f64; 3],
    spacing: Option<&str>,
) -> PathBuf {
    let (rows, cols) = (64u16, 64u16);
    let stored: Vec<u16> = (0..64 * 64)
        .map(|i| {
            let (x, y) = ((i % 64) as f32 - 32.0, (i / 64) as f32 - 32.0);
            if x * x + y * y < 400.0 {
                1064 + (i % 7) as u16 * 20
            } else {
                24
            }
        })
        .collect();
    let s = |tag: Tag, vr: VR, v: &str| DataElement::new(tag, vr, PrimitiveValue::from(v));
    let us = |tag: Tag, v: u16| DataElement::new(tag, VR::US, PrimitiveValue::from(v));
    let obj = InMemDicomObject::from_element_iter([
        s(tags::SOP_CLASS_UID, VR::UI, "1.2.840.10008.5.1.4.1.1.2"),
        s(tags::SOP_INSTANCE_UID, VR::UI, "2.25.31337"),
        s(tags::STUDY_INSTANCE_UID, VR::UI, "2.25.4242"),
        s(tags::SERIES_INSTANCE_UID, VR::UI, "2.25.4343"),
        s(tags::MODALITY, VR::CS, "CT"),
        s(tags::PATIENT_NAME, VR::PN, "Doe^Jane^PHI-CANARY"),
        s(tags::PATIENT_ID, VR::LO, "PHI-CANARY-ID"),
        s(tags::PATIENT_BIRTH_DATE, VR::DA, "19700101"),
        s(tags::ACCESSION_NUMBER, VR::SH, "PHI-CANARY-AN"),
        s(
            tags::INSTITUTION_NAME,
            VR::LO,
            "PHI-CANARY General Hospital",
        ),
        s(tags::REFERRING_PHYSICIAN_NAME, VR::PN, "Who^PHI-CANARY"),
        s(tags::STUDY_DATE, VR::DA, "20240102"),
        s(tags::IMAGE_ORIENTATION_PATIENT, VR::DS, "1\\0\\0\\0\\1\\0"),
        s(
            tags::IMAGE_POSITION_PATIENT,
            VR::DS,
            &format!("{}\\{}\\{}", position[0], position[1], position[2]),
        ),
        s(tags::PHOTOMETRIC_INTERPRETATION, VR::CS, "MONOCHROME2"),
        s(tags::RESCALE_INTERCEPT, VR::DS, "-1024"),
        s(tags::RESCALE_SLOPE, VR::DS, "1"),
        us(tags::SAMPLES_PER_PIXEL, 1),
        us(tags::ROWS, rows),
        us(tags::COLUMNS, cols),
        us(tags::BITS_ALLOCATED, 16),
        us(tags::BITS_STORED, 16),
        us(tags::HIGH_BIT, 15),
        us(tags::PIXEL_REPRESENTATION, 0),
        DataElement::new(tags::PIXEL_DATA, VR::OW, PrimitiveValue::U16(stored.into())),
    ]);
    let mut obj = obj;
    if let Some(spacing) = spacing {
        obj.put(s(tags::PIXEL_SPACING, VR::DS, spacing));
    }
    let p = dir.join(name);
    obj.with_meta(FileMetaTableBuilder::new().transfer_syntax("1.2.840.10008.1.2.1"))
        .unwrap()
        .write_to_file(&p)
        .unwrap();
    p
}

fn quick(content: &str, out: &Path, extra: &[&str], cache: &Path) -> Output {
    let (s, o) = (style(), out.display().to_string());
    let mut args = vec!["stylize", content, "--style", &s, "-o", &o];
    args.extend(["--size", "64", "--iters", "2", "--json"]);
    args.extend(extra);
    impasto(&args, cache)
}

fn has_canary(bytes: &[u8]) -> bool {
    bytes.windows(CANARY.len()).any(|w| w == CANARY.as_bytes())
}

fn assert_clean(o: &Output) {
    assert!(
        !has_canary(&o.stdout),
        "stdout: {}",
        String::from_utf8_lossy(&o.stdout)
    );
    assert!(
        !has_canary(&o.stderr),
        "stderr: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn nothing_identifying_reaches_outputs_messages_or_json() {
    let dir = tempfile::tempdir().unwrap();
    let ct = identified_ct(dir.path());
    let ct = ct.to_str().unwrap();
    // A PNG and a JPEG result: no trace of the patient in their bytes, stdout or stderr.
    for name in ["out.png", "out.jpg"] {
        let out = dir.path().join(name);
        let o = quick(ct, &out, &["--window", "soft-tissue"], dir.path());
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert_clean(&o);
        assert!(!has_canary(&std::fs::read(&out).unwrap()), "{name}");
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["width"], 64);
    }
    // Refused runs name the file, not the patient.
    for bad in [&["--window", "0/40"][..], &["--slice", "axial:5"]] {
        let o = quick(ct, &dir.path().join("x.png"), bad, dir.path());
        assert_usage_error(&o, &[bad[0]]);
        assert_clean(&o);
    }
    // DICOM output files the result beside the study, or keeps nothing with --anonymize.
    let kept = dir.path().join("kept.dcm");
    let o = quick(ct, &kept, &[], dir.path());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_clean(&o);
    let obj = OpenFileOptions::new().open_file(&kept).unwrap();
    let get = |obj: &dicom_object::DefaultDicomObject, tag| {
        obj.get(tag)
            .map(|e| e.to_str().unwrap().trim_end_matches('\0').to_string())
    };
    assert_eq!(
        get(&obj, tags::PATIENT_NAME).unwrap(),
        "Doe^Jane^PHI-CANARY"
    );
    assert_eq!(get(&obj, tags::STUDY_INSTANCE_UID).unwrap(), "2.25.4242");
    assert_eq!(get(&obj, tags::INSTITUTION_NAME), None);
    assert_eq!(get(&obj, tags::ROWS).unwrap(), "64");
    let anon = dir.path().join("anon.dcm");
    let o = quick(ct, &anon, &["--anonymize"], dir.path());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(!has_canary(&std::fs::read(&anon).unwrap()));
    let obj = OpenFileOptions::new().open_file(&anon).unwrap();
    assert_eq!(get(&obj, tags::PATIENT_IDENTITY_REMOVED).unwrap(), "YES");
    assert_ne!(get(&obj, tags::STUDY_INSTANCE_UID).unwrap(), "2.25.4242");
    // metrics reads the DICOM result and the DICOM photo.
    let m = impasto(
        &[
            "metrics",
            anon.to_str().unwrap(),
            "--content",
            ct,
            "--style",
            &style(),
            "--json",
        ],
        dir.path(),
    );
    assert!(m.status.success(), "{}", String::from_utf8_lossy(&m.stderr));
    assert_clean(&m);
    let v: serde_json::Value = serde_json::from_slice(&m.stdout).unwrap();
    assert!(v["ssim"].as_f64().unwrap() > 0.0, "{v}");
}

/// A folder of one series is a photo too: its middle slice, and a DICOM result filed in its
/// study.
#[test]
fn a_series_folder_is_a_photo_filed_in_its_study() {
    let dir = tempfile::tempdir().unwrap();
    let series = dir.path().join("series");
    std::fs::create_dir(&series).unwrap();
    for (name, z) in [("b.dcm", 5.0), ("a.dcm", 10.0), ("c.dcm", -5.0)] {
        identified_slice(&series, name, z);
    }
    let out = dir.path().join("series.dcm");
    let o = quick(series.to_str().unwrap(), &out, &[], dir.path());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_clean(&o);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("holds 3 axial slices; using the middle one, --slice axial:1"),
        "{err}"
    );
    let obj = OpenFileOptions::new().open_file(&out).unwrap();
    let name = obj
        .get(tags::PATIENT_NAME)
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(name.trim_end_matches('\0'), "Doe^Jane^PHI-CANARY");
}

#[test]
fn real_dicom_and_nifti_photos_are_stylised() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("brain.png");
    let o = quick(&sample("ch2bet.nii.gz"), &out, &[], dir.path());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("holds 181 axial slices; using the middle one, --slice axial:90"),
        "{err}"
    );
    // 181 × 217 voxels, portrait.
    let img = image::open(&out).unwrap();
    assert_eq!((img.width(), img.height()), (53, 64));
    let out = dir.path().join("ct.png");
    let o = quick(
        &sample("CT_small.dcm"),
        &out,
        &["--window", "1500/-600"],
        dir.path(),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = quick(
        &sample("ch2bet.nii.gz"),
        &dir.path().join("sag.png"),
        &["--slice", "sagittal:90", "--window", "brain"],
        dir.path(),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(!String::from_utf8_lossy(&o.stderr).contains("note:"));
}

/// With defaults, a CT slice keeps its anatomy (SSIM ≥ 0.6 against the windowed slice) and
/// takes the painting's palette and brushwork: colour where the slice is grey, and a style
/// match well above the slice's own.
#[test]
fn a_grey_slice_keeps_its_anatomy_and_takes_the_paintings_look() {
    let dir = tempfile::tempdir().unwrap();
    let (ct, s) = (sample("CT_small.dcm"), style());
    let run = |name: &str, extra: &[&str]| {
        let out = dir.path().join(name);
        let o = out.display().to_string();
        let mut args = vec![
            "stylize", &ct, "--style", &s, "-o", &o, "--size", "256", "--json",
        ];
        args.extend(extra);
        let o = impasto(&args, dir.path());
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        (v, image::open(&out).unwrap().to_rgb8())
    };
    let (v, styled) = run("ct.png", &[]);
    let (ssim, gram) = (
        v["ssim"].as_f64().unwrap(),
        v["gram_cosine"].as_f64().unwrap(),
    );
    let share = v["anatomy_share"].as_f64().unwrap();
    assert!(ssim >= 0.6, "SSIM {ssim} against the windowed slice");
    assert!(share > 0.0 && share < 1.0, "anatomy share {share}");
    // The slice itself, as a run that changes nothing measures it.
    let plain = [
        "--anatomy",
        "0",
        "--scales",
        "256",
        "--iters",
        "1",
        "--style-weight",
        "0",
        "--style-target",
        "off",
    ];
    let (v, slice) = run("slice.png", &plain);
    let slice_gram = v["gram_cosine"].as_f64().unwrap();
    assert!(
        gram > slice_gram + 0.2,
        "Gram cosine {gram}, the slice's own {slice_gram}"
    );
    // Colour: the mean distance of a pixel from grey.
    let chroma = |img: &image::RgbImage| {
        let sum: f64 = img
            .pixels()
            .map(|p| {
                let m = (p[0] as f64 + p[1] as f64 + p[2] as f64) / 3.0;
                (0..3).map(|c| (p[c] as f64 - m).abs()).sum::<f64>() / 3.0
            })
            .sum();
        sum / img.pixels().len() as f64
    };
    let (c, c0) = (chroma(&styled), chroma(&slice));
    assert!(c0 < 1.0 && c > 8.0, "colour {c} (the slice's {c0})");
}

#[test]
fn bad_medical_inputs_and_options_exit_2_saying_what_and_how() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o.png");
    let ct = std::fs::read(sample("CT_small.dcm")).unwrap();
    let cut = dir.path().join("cut.dcm");
    std::fs::write(&cut, &ct[..ct.len() / 2]).unwrap();
    let noise = dir.path().join("noise.dcm");
    std::fs::write(
        &noise,
        (0..4096u32)
            .map(|i| (i * 7919 % 251) as u8)
            .collect::<Vec<_>>(),
    )
    .unwrap();
    let brain = std::fs::read(sample("ch2bet.nii.gz")).unwrap();
    let cut_nii = dir.path().join("cut.nii.gz");
    std::fs::write(&cut_nii, &brain[..brain.len() / 3]).unwrap();
    let (cut, noise, cut_nii) = (
        cut.display().to_string(),
        noise.display().to_string(),
        cut_nii.display().to_string(),
    );
    let (nii, jls, jpg) = (
        sample("ch2bet.nii.gz"),
        sample("MR_small_jpeg_ls_lossless.dcm"),
        content(),
    );
    let cases: &[(&str, &[&str], &[&str])] = &[
        (
            &cut,
            &[],
            &[&cut, "DICOM data set ends early (truncated file)"],
        ),
        (
            &noise,
            &[],
            &[&noise, "not a DICOM file (no DICM marker at byte 128)"],
        ),
        (&cut_nii, &[], &[&cut_nii, "NIfTI data ends early"]),
        (
            &jls,
            &[],
            &[
                &jls,
                "unsupported transfer syntax JPEG-LS Lossless (1.2.840.10008.1.2.4.80): \
                 convert with e.g. `gdcmconv --raw`",
            ],
        ),
        (
            &nii,
            &["--window", "-3/40"],
            &["--window -3/40 is invalid", "400/40"],
        ),
        (
            &nii,
            &["--window", "liver"],
            &["--window liver", "soft-tissue"],
        ),
        (
            &nii,
            &["--slice", "axial:181"],
            &["--slice axial:181 is out of range", &nii, "0 to 180"],
        ),
        (
            &nii,
            &["--slice", "q:1"],
            &["--slice q:1 is invalid", "sagittal|coronal|axial"],
        ),
        (&jpg, &["--window", "bone"], &[&jpg, "ordinary photo"]),
        (
            &nii,
            &["--anonymize"],
            &["--anonymize applies to DICOM output"],
        ),
        (&jpg, &["--anatomy", "0.5"], &[&jpg, "grey medical images"]),
        (
            &nii,
            &["--anatomy", "1.5"],
            &["--anatomy", "from 0", "to 1"],
        ),
    ];
    for (input, extra, words) in cases {
        let o = quick(input, &out, extra, dir.path());
        assert_usage_error(&o, words);
    }
    assert!(!out.exists());
}

/// A NIfTI volume as a video: its axial slices are the frames (`--frames` picks a stretch),
/// written here as a folder of PNG frames; the temporary slice frames are gone afterwards.
#[test]
fn a_volume_runs_as_a_video_of_its_slices() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("flythrough");
    let nii = sample("ch2bet.nii.gz");
    let run = |extra: &[&str]| volume_video(&nii, &out, extra, dir.path());
    let r = run(&["--window", "brain"]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(
        err.contains("holds 181 axial slices; they are the frames"),
        "{err}"
    );
    let v: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
    assert_eq!(v["frames"], 3, "{v}");
    let mut frames: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    frames.sort();
    assert_eq!(frames.len(), 3, "{frames:?}");
    let first = image::open(&frames[0]).unwrap();
    assert_eq!(first.height(), 32);
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        !names.iter().any(|n| n.starts_with(".impasto-slices")),
        "{names:?}"
    );
    assert_usage_error(&run(&["--slice", "axial:3"]), &["--slice", "--frames A..B"]);
}

/// `dir/brain.nii`: the sample brain with the canary in every free-text field of its header
/// (descrip, aux_file, intent_name, db_name).
fn identified_brain(dir: &Path) -> PathBuf {
    let mut bytes = Vec::new();
    let gz = std::fs::File::open(sample("ch2bet.nii.gz")).unwrap();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(gz), &mut bytes).unwrap();
    for (at, len) in [(148, 80), (228, 24), (328, 16), (14, 18)] {
        let text = format!("{CANARY} Doe^Jane");
        let n = text.len().min(len - 1);
        bytes[at..at + n].copy_from_slice(&text.as_bytes()[..n]);
    }
    let p = dir.join("brain.nii");
    std::fs::write(&p, bytes).unwrap();
    p
}

/// `video` over slices 88..91 of `input` at 32 pixels, two iterations, written to `out`,
/// with `extra` options.
fn volume_video(input: &str, out: &Path, extra: &[&str], cache: &Path) -> Output {
    let (s, o) = (style(), out.display().to_string());
    let mut args = vec!["video", input, "-o", &o, "--style", &s, "--size", "32"];
    args.extend([
        "--iters",
        "2",
        "--later-iters",
        "1",
        "--frames",
        "88..91",
        "--json",
    ]);
    args.extend(extra);
    impasto(&args, cache)
}

/// Frames, width and height of the video stream of `path`, counted by ffprobe.
fn probe_frames(path: &Path) -> (usize, usize, usize) {
    let o = std::process::Command::new("ffprobe")
        .args(["-v", "error", "-count_frames", "-select_streams", "v:0"])
        .args(["-show_entries", "stream=nb_read_frames,width,height"])
        .args(["-of", "default=noprint_wrappers=1"])
        .arg(path)
        .output()
        .expect("ffprobe runs");
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    let get = |key: &str| -> usize {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{key}=")))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {key} in {text}"))
    };
    (get("nb_read_frames"), get("width"), get("height"))
}

/// A NIfTI volume in, a NIfTI volume out: RGB24 on the source's grid (its geometry, the
/// origin moved to the first slice asked for), none of the header's free text, the
/// stylised slices the right way round.
#[test]
fn a_volume_is_written_back_as_a_nifti_volume_on_its_grid() {
    let dir = tempfile::tempdir().unwrap();
    let brain = identified_brain(dir.path());
    let out = dir.path().join("styled.nii.gz");
    let r = volume_video(
        brain.to_str().unwrap(),
        &out,
        &["--window", "brain"],
        dir.path(),
    );
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    assert_clean(&r);
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(err.contains("in order: slices 88..91"), "{err}");
    let v: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
    assert_eq!(v["frames"], 3, "{v}");
    let src = nifti::NiftiHeader::from_file(&brain).unwrap();
    let obj = nifti::ReaderOptions::new().read_file(&out).unwrap();
    let h = nifti::NiftiObject::header(&obj).clone();
    assert_eq!(h.dim, [3, 181, 217, 3, 1, 1, 1, 1]);
    assert_eq!((h.datatype, h.bitpix), (128, 24));
    assert_eq!(h.pixdim[..4], src.pixdim[..4]);
    assert_eq!(h.xyzt_units, src.xyzt_units);
    assert_eq!(
        (h.qform_code, h.sform_code),
        (src.qform_code, src.sform_code)
    );
    let q = |h: &nifti::NiftiHeader| [h.quatern_b, h.quatern_c, h.quatern_d];
    assert_eq!(q(&h), q(&src));
    // Output voxel (i, j, k) is source voxel (i, j, k + 88).
    for (o, s) in [
        (h.srow_x, src.srow_x),
        (h.srow_y, src.srow_y),
        (h.srow_z, src.srow_z),
    ] {
        assert_eq!(o[..3], s[..3]);
        assert_eq!(o[3], s[3] + 88.0 * s[2]);
    }
    assert_private_nifti(&out, &h);
    let rgb = nifti::NiftiObject::volume(&obj).raw_data();
    assert_eq!(rgb.len(), 181 * 217 * 3 * 3);
    assert!(rgb.iter().any(|&b| b != rgb[0]));
    // The right way round: inside the brain, the stylised slice follows the source's
    // structure, not its mirror image front to back.
    let source = nifti::ReaderOptions::new().read_file(&brain).unwrap();
    let grey = nifti::NiftiObject::volume(&source).raw_data();
    let at = |i: usize, j: usize, k: usize| i + 181 * (j + 217 * k);
    let (mut lum, mut same, mut mirrored) = (Vec::new(), Vec::new(), Vec::new());
    for j in 0..217 {
        for i in 0..181 {
            let (a, b) = (grey[at(i, j, 89)], grey[at(i, 216 - j, 89)]);
            if a > 0 && b > 0 {
                let o = 3 * at(i, j, 1);
                lum.push(rgb[o..o + 3].iter().map(|&b| f64::from(b)).sum::<f64>());
                same.push(f64::from(a));
                mirrored.push(f64::from(b));
            }
        }
    }
    let (c, m) = (correlation(&lum, &same), correlation(&lum, &mirrored));
    assert!(c > 0.4 && c > m + 0.3, "correlation {c}, mirrored {m}");
}

fn correlation(a: &[f64], b: &[f64]) -> f64 {
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let (ma, mb) = (mean(a), mean(b));
    let (mut ab, mut aa, mut bb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        ab += (x - ma) * (y - mb);
        aa += (x - ma) * (x - ma);
        bb += (y - mb) * (y - mb);
    }
    ab / (aa * bb).sqrt()
}

/// A DICOM series in (three axial slices, files in no order), a NIfTI volume out: RGB24,
/// columns × rows × slices, its sform and qform (scanner) placing voxel (0, 0, k) at slice k's
/// Image Position Patient turned from LPS to RAS, with nothing of the DICOM header but its
/// geometry. Unevenly spaced slices have no grid: exit 2 before any work.
#[test]
fn a_dicom_series_is_written_back_as_a_nifti_volume_on_its_patient_grid() {
    let dir = tempfile::tempdir().unwrap();
    let series = dir.path().join("series");
    std::fs::create_dir(&series).unwrap();
    for (name, z) in [("b.dcm", 5.0), ("a.dcm", 7.5), ("c.dcm", 2.5)] {
        identified_slice_at(&series, name, [-40.0, 30.0, z], Some("0.8\\0.5"));
    }
    let out = dir.path().join("styled.nii.gz");
    let (s, o, input) = (
        style(),
        out.display().to_string(),
        series.display().to_string(),
    );
    let args = [
        "video",
        &input,
        "-o",
        &o,
        "--style",
        &s,
        "--size",
        "32",
        "--iters",
        "2",
        "--later-iters",
        "1",
        "--json",
    ];
    let r = impasto(&args, dir.path());
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    assert_clean(&r);
    let obj = nifti::ReaderOptions::new().read_file(&out).unwrap();
    let h = nifti::NiftiObject::header(&obj).clone();
    assert_eq!(h.dim, [3, 64, 64, 3, 1, 1, 1, 1]);
    assert_eq!((h.datatype, h.bitpix), (128, 24));
    assert_eq!(h.pixdim[1..4], [0.5, 0.8, 2.5]);
    assert_eq!((h.qform_code, h.sform_code, h.xyzt_units), (1, 1, 2));
    let world = |v: [f32; 3]| {
        [h.srow_x, h.srow_y, h.srow_z].map(|r| r[0] * v[0] + r[1] * v[1] + r[2] * v[2] + r[3])
    };
    let near = |a: [f32; 3], b: [f32; 3]| a.iter().zip(&b).all(|(x, y)| (x - y).abs() < 1e-4);
    // LPS (-40, 30, z) is RAS (40, -30, z); a column step is 0.5 mm to the patient's left, a
    // row step 0.8 mm to the back.
    assert!(near(world([0.0, 0.0, 0.0]), [40.0, -30.0, 2.5]));
    assert!(near(world([0.0, 0.0, 1.0]), [40.0, -30.0, 5.0]));
    assert!(near(world([1.0, 1.0, 2.0]), [39.5, -30.8, 7.5]));
    assert_eq!([h.quatern_b, h.quatern_c, h.quatern_d], [0.0, 0.0, 1.0]);
    assert_eq!([h.quatern_x, h.quatern_y, h.quatern_z], [40.0, -30.0, 2.5]);
    let bytes = assert_private_nifti(&out, &h);
    assert!(!bytes.windows(9).any(|w| w == b"2.25.4343"));
    let rgb = nifti::NiftiObject::volume(&obj).raw_data();
    assert_eq!(rgb.len(), 64 * 64 * 3 * 3);
    assert!(rgb.iter().any(|&b| b != rgb[0]));

    let uneven = dir.path().join("uneven");
    std::fs::create_dir(&uneven).unwrap();
    for (name, z) in [("a.dcm", 0.0), ("b.dcm", 2.5), ("c.dcm", 10.0)] {
        identified_slice_at(&uneven, name, [0.0, 0.0, z], Some("1\\1"));
    }
    let (input, o) = (uneven.display().to_string(), dir.path().join("u.nii"));
    let o = o.display().to_string();
    let args = ["video", &input, "-o", &o, "--style", &s, "--size", "32"];
    let r = impasto(&args, dir.path());
    assert_usage_error(&r, &[&input, "not evenly spaced", "slice 2"]);
    assert!(!Path::new(&o).exists());
}

/// A fly-through of three slices as MP4 and GIF: three frames each at the size the run
/// reports (MP4 grows an odd side by one); NIfTI output from anything but a NIfTI volume, or
/// a stretch past the last slice, exits 2 before any work.
#[test]
fn a_volume_flythrough_has_one_frame_per_slice_and_bad_outputs_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let nii = sample("ch2bet.nii.gz");
    for name in ["fly.mp4", "fly.gif"] {
        let out = dir.path().join(name);
        let r = volume_video(&nii, &out, &["--window", "brain"], dir.path());
        assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
        let v: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
        let (w, h) = (
            v["width"].as_u64().unwrap() as usize,
            v["height"].as_u64().unwrap() as usize,
        );
        assert_eq!(h, 32);
        let even = |n: usize| if name.ends_with(".mp4") { n + n % 2 } else { n };
        assert_eq!(probe_frames(&out), (3, even(w), even(h)), "{name}");
    }
    let frames = dir.path().join("frames");
    std::fs::create_dir(&frames).unwrap();
    for i in 0..2 {
        image::RgbImage::new(8, 8)
            .save(frames.join(format!("{i:06}.png")))
            .unwrap();
    }
    let out = dir.path().join("x.nii.gz");
    let (frames, ct) = (frames.display().to_string(), sample("CT_small.dcm"));
    let r = volume_video(&frames, &out, &[], dir.path());
    assert_usage_error(&r, &[&frames, "needs a NIfTI volume"]);
    let r = volume_video(&ct, &dir.path().join("x.nii"), &[], dir.path());
    assert_usage_error(&r, &[&ct, "patient-space grid", "single image", "series"]);
    let (s, o) = (style(), out.display().to_string());
    let args = [
        "video", &nii, "-o", &o, "--style", &s, "--frames", "181..190",
    ];
    assert_usage_error(
        &impasto(&args, dir.path()),
        &[
            "--frames 181..190 starts past the last slice",
            &nii,
            "0 to 180",
        ],
    );
    assert!(!out.exists());
}

/// Asserts that the NIfTI volume at `out` (header `h`) says only "impasto stylised" and holds
/// no canary of the source's patient data; returns its unzipped bytes.
fn assert_private_nifti(out: &Path, h: &nifti::NiftiHeader) -> Vec<u8> {
    let descrip = String::from_utf8_lossy(&h.descrip);
    assert_eq!(descrip.trim_end_matches('\0'), "impasto stylised");
    let mut bytes = Vec::new();
    let gz = std::fs::File::open(out).unwrap();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(gz), &mut bytes).unwrap();
    assert!(!has_canary(&bytes));
    bytes
}
