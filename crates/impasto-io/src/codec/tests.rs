//! Loading and saving real files: every colour type, depth and orientation, and each way a
//! file can be refused.

use std::path::{Path, PathBuf};

use image::codecs::jpeg::JpegEncoder;
use image::{ExtendedColorType, ImageBuffer, ImageEncoder, Luma, LumaA, Rgb as PxRgb, Rgba};

use super::{encode, save, BitDepth, Decoded, Format, Limits};
use crate::error::{Error, Result};
use impasto::image::Rgb;

/// Loads under the limits for files.
fn load(path: &Path) -> Result<Decoded> {
    super::load(path, &Limits::default())
}

fn pattern(w: usize, h: usize) -> Rgb {
    let n = w * h;
    let mut data = vec![0.0; 3 * n];
    for y in 0..h {
        for x in 0..w {
            let i = y * w + x;
            data[i] = ((x * 37 + y * 11) % 256) as f32;
            data[n + i] = ((x * 5 + y * 71) % 256) as f32;
            data[2 * n + i] = ((x * y + 3) % 256) as f32;
        }
    }
    Rgb::new(w, h, data)
}

fn real_image(name: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/")).join(name)
}

#[test]
fn png_8bit_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("out.png");
    let img = pattern(13, 7);
    save(&p, &img, None, BitDepth::Eight).unwrap();
    let l = load(&p).unwrap();
    assert_eq!(l.image, img);
    assert_eq!(l.alpha, None);
    assert!(!l.sixteen_bit);
}

#[test]
fn png_16bit_round_trip_keeps_fractions() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("out16.PNG");
    let mut img = pattern(9, 5);
    for v in &mut img.data {
        *v = (*v + 0.5).min(255.0);
    }
    save(&p, &img, None, BitDepth::Sixteen).unwrap();
    let l = load(&p).unwrap();
    assert!(l.sixteen_bit);
    for (a, b) in l.image.data.iter().zip(&img.data) {
        assert!((a - b).abs() <= 0.5 / 257.0 + 1e-4, "{a} vs {b}");
    }
}

#[test]
fn gray_png_is_replicated() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("gray.png");
    let buf = ImageBuffer::from_fn(4, 3, |x, y| Luma([(x * 60 + y) as u8]));
    buf.save(&p).unwrap();
    let l = load(&p).unwrap();
    assert_eq!((l.image.width, l.image.height), (4, 3));
    assert_eq!(l.image.pixel(2, 1), [121.0; 3]);
    assert_eq!(l.alpha, None);

    let buf16 = ImageBuffer::from_fn(2, 2, |x, _| Luma([if x == 0 { 0u16 } else { 65535 }]));
    let p16 = dir.path().join("gray16.png");
    buf16.save(&p16).unwrap();
    let l = load(&p16).unwrap();
    assert!(l.sixteen_bit);
    assert_eq!(l.image.pixel(1, 1), [255.0; 3]);
}

#[test]
fn rgba_png_composites_on_white_and_keeps_alpha() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("rgba.png");
    let buf = ImageBuffer::from_fn(2, 1, |x, _| {
        if x == 0 {
            Rgba([0u8, 0, 0, 0])
        } else {
            Rgba([100u8, 50, 0, 255])
        }
    });
    buf.save(&p).unwrap();
    let l = load(&p).unwrap();
    assert_eq!(l.image.pixel(0, 0), [255.0; 3]);
    assert_eq!(l.image.pixel(1, 0), [100.0, 50.0, 0.0]);
    assert_eq!(l.alpha.as_deref(), Some(&[0.0, 255.0][..]));

    // Half transparency blends halfway to white.
    let la = ImageBuffer::from_pixel(1, 1, LumaA([0u8, 51]));
    let p2 = dir.path().join("la.png");
    la.save(&p2).unwrap();
    let l = load(&p2).unwrap();
    assert!((l.image.pixel(0, 0)[0] - 204.0).abs() < 1e-3);
    assert_eq!(l.alpha, Some(vec![51.0]));
}

#[test]
fn alpha_round_trips_through_save() {
    let dir = tempfile::tempdir().unwrap();
    let img = pattern(3, 2);
    let alpha = vec![255.0, 255.0, 0.0, 255.0, 128.0, 255.0];
    for (name, depth) in [("a8.png", BitDepth::Eight), ("a16.png", BitDepth::Sixteen)] {
        let p = dir.path().join(name);
        save(&p, &img, Some(&alpha), depth).unwrap();
        let l = load(&p).unwrap();
        let a = l.alpha.unwrap();
        for (x, y) in a.iter().zip(&alpha) {
            assert!((x - y).abs() < 1e-3);
        }
        // Opaque pixels keep their colour exactly.
        assert!((l.image.pixel(0, 0)[1] - img.pixel(0, 0)[1]).abs() < 1e-3);
    }
    let bad = save(
        &dir.path().join("x.png"),
        &img,
        Some(&[1.0]),
        BitDepth::Eight,
    );
    assert!(matches!(bad, Err(Error::Usage(_))));
}

#[test]
fn palette_png_loads() {
    // 2x1 indexed PNG with a two-entry palette (red, blue), written with the png crate
    // through image's re-exported encoder is not possible, so hand-roll it with chunks.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("pal.png");
    std::fs::write(&p, indexed_png()).unwrap();
    let l = load(&p).unwrap();
    assert_eq!(l.image.pixel(0, 0), [255.0, 0.0, 0.0]);
    assert_eq!(l.image.pixel(1, 0), [0.0, 0.0, 255.0]);
}

/// A minimal 2x1 8-bit indexed PNG, pixels = [0, 1], palette = [red, blue].
fn indexed_png() -> Vec<u8> {
    let mut out = png_start(2, 1, 3);
    chunk(&mut out, b"PLTE", &[255, 0, 0, 0, 0, 255]);
    // zlib stream, stored (uncompressed) block of the filtered row [0, 0, 1].
    let raw = [0u8, 0, 1];
    let mut z = vec![0x78, 0x01, 0x01, 3, 0, !3, !0];
    z.extend_from_slice(&raw);
    z.extend_from_slice(&adler32(&raw).to_be_bytes());
    chunk(&mut out, b"IDAT", &z);
    chunk(&mut out, b"IEND", &[]);
    out
}

/// A PNG's signature and header (IHDR) for a `width`×`height` image of 8-bit samples of
/// `colour_type` (2 RGB, 3 indexed).
fn png_start(width: u32, height: u32, colour_type: u8) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = width.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, colour_type, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    out
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    let start = out.len();
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32fast::hash(&out[start + 4..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &d in data {
        a = (a + d as u32) % 65521;
        b = (b + a) % 65521;
    }
    (b << 16) | a
}

#[test]
fn jpeg_round_trip_is_close() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("out.JPEG");
    let img = Rgb::filled(16, 16, [200.0, 100.0, 50.0]);
    // A 16-bit request for JPEG silently writes 8 bits.
    save(&p, &img, None, BitDepth::Sixteen).unwrap();
    let l = load(&p).unwrap();
    assert!(!l.sixteen_bit);
    for (a, b) in l.image.data.iter().zip(&img.data) {
        assert!((a - b).abs() < 4.0, "{a} vs {b}");
    }
}

#[test]
fn gray_jpeg_loads_as_rgb() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("g.jpg");
    let buf = ImageBuffer::from_pixel(8, 8, Luma([90u8]));
    let f = std::fs::File::create(&p).unwrap();
    JpegEncoder::new_with_quality(f, 95)
        .write_image(buf.as_raw(), 8, 8, ExtendedColorType::L8)
        .unwrap();
    let l = load(&p).unwrap();
    let px = l.image.pixel(3, 3);
    assert!((px[0] - 90.0).abs() < 2.0 && px[0] == px[1] && px[1] == px[2]);
}

#[test]
fn exif_orientation_is_applied() {
    // Stored 32x16 with a red top-left block; Orientation 6 means "rotate 90° clockwise
    // to display", so the block must land top-right of a 16x32 image.
    let (w, h) = (32u32, 16u32);
    let buf = ImageBuffer::from_fn(w, h, |x, y| {
        if x < 8 && y < 8 {
            PxRgb([255u8, 0, 0])
        } else {
            PxRgb([0u8, 0, 255])
        }
    });
    let mut tiff = b"II*\0".to_vec();
    tiff.extend_from_slice(&8u32.to_le_bytes()); // IFD offset
    tiff.extend_from_slice(&1u16.to_le_bytes()); // one entry
    tiff.extend_from_slice(&0x0112u16.to_le_bytes()); // Orientation
    tiff.extend_from_slice(&3u16.to_le_bytes()); // SHORT
    tiff.extend_from_slice(&1u32.to_le_bytes()); // count
    tiff.extend_from_slice(&6u16.to_le_bytes()); // value
    tiff.extend_from_slice(&[0, 0]); // padding
    tiff.extend_from_slice(&0u32.to_le_bytes()); // no next IFD
    let mut bytes = Vec::new();
    let mut enc = JpegEncoder::new_with_quality(&mut bytes, 95);
    enc.set_exif_metadata(tiff).unwrap();
    enc.write_image(buf.as_raw(), w, h, ExtendedColorType::Rgb8)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    // A misleading extension: the format is detected from the content.
    let p = dir.path().join("rotated.png");
    std::fs::write(&p, &bytes).unwrap();
    let l = load(&p).unwrap();
    assert_eq!((l.image.width, l.image.height), (16, 32));
    let red = l.image.pixel(12, 3);
    assert!(red[0] > 200.0 && red[2] < 60.0, "{red:?}");
    let blue = l.image.pixel(3, 3);
    assert!(blue[2] > 200.0 && blue[0] < 60.0, "{blue:?}");
}

#[test]
fn real_jpegs_load() {
    let l = load(&real_image("starry_night.jpg")).unwrap();
    assert_eq!((l.image.width, l.image.height), (714, 566));
    assert!(!l.sixteen_bit && l.alpha.is_none());
    assert!(l.image.data.iter().all(|v| (0.0..=255.0).contains(v)));
}

#[test]
fn non_images_are_input_errors() {
    let dir = tempfile::tempdir().unwrap();
    let txt = dir.path().join("notes.png");
    std::fs::write(&txt, "hello, I am text\n").unwrap();
    match load(&txt) {
        Err(Error::Input { path, msg }) => {
            assert_eq!(path, txt);
            assert!(
                msg.contains("not a PNG or JPEG image (found text)"),
                "{msg}"
            );
        }
        other => panic!("{other:?}"),
    }
    let empty = dir.path().join("empty.jpg");
    std::fs::write(&empty, b"").unwrap();
    assert!(matches!(load(&empty), Err(Error::Input { .. })));

    let missing = dir.path().join("missing.png");
    match load(&missing) {
        Err(Error::Input { path, msg }) => {
            assert_eq!(path, missing);
            assert!(msg.contains("not found"), "{msg}");
        }
        other => panic!("{other:?}"),
    }
    match load(dir.path()) {
        Err(Error::Input { msg, .. }) => assert!(msg.contains("directory"), "{msg}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn truncated_files_are_input_errors() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("full.png");
    save(&p, &pattern(40, 40), None, BitDepth::Eight).unwrap();
    let bytes = std::fs::read(&p).unwrap();
    let t = dir.path().join("trunc.png");
    std::fs::write(&t, &bytes[..bytes.len() / 2]).unwrap();
    match load(&t) {
        Err(Error::Input { path, msg }) => {
            assert_eq!(path, t);
            assert!(msg.contains("the PNG data ends early"), "{msg}");
        }
        other => panic!("{other:?}"),
    }
    let j = dir.path().join("trunc.jpg");
    std::fs::write(&j, [0xFF, 0xD8, 0xFF, 0xE0, 0, 16]).unwrap();
    assert!(matches!(load(&j), Err(Error::Input { .. })));
}

#[test]
fn decompression_bomb_is_too_large() {
    let mut out = png_start(100_000, 100_000, 2);
    chunk(&mut out, b"IEND", &[]);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bomb.png");
    std::fs::write(&p, &out).unwrap();
    match load(&p) {
        Err(Error::TooLarge(msg)) => {
            assert!(
                msg.contains("bomb.png") && msg.contains("downscale"),
                "{msg}"
            )
        }
        other => panic!("{other:?}"),
    }
}

/// A print-size result saved as TIFF reads back (with the `tiff` decoder, an independent
/// reader) with every sample: 8-bit exactly, 16-bit to within half a 16-bit step.
#[test]
fn tiff_round_trips_in_8_and_16_bits() {
    let dir = tempfile::tempdir().unwrap();
    let mut img = pattern(11, 6);
    for v in &mut img.data {
        *v = (*v + 0.25).min(255.0);
    }
    for (name, depth) in [
        ("out.tif", BitDepth::Eight),
        ("out16.TIFF", BitDepth::Sixteen),
    ] {
        let p = dir.path().join(name);
        save(&p, &img, None, depth).unwrap();
        let mut dec = tiff::decoder::Decoder::new(std::fs::File::open(&p).unwrap()).unwrap();
        assert_eq!(dec.dimensions().unwrap(), (11, 6));
        let samples: Vec<f32> = match dec.read_image().unwrap() {
            tiff::decoder::DecodingResult::U8(v) => v.iter().map(|&s| s as f32).collect(),
            tiff::decoder::DecodingResult::U16(v) => v.iter().map(|&s| s as f32 / 257.0).collect(),
            other => panic!(
                "{name}: unexpected samples {:?}",
                std::mem::discriminant(&other)
            ),
        };
        let [r, g, b] = img.planes();
        for (i, px) in samples.chunks(3).enumerate() {
            for (got, want) in px.iter().zip([r[i], g[i], b[i]]) {
                let tol = match depth {
                    BitDepth::Eight => 0.5,
                    BitDepth::Sixteen => 0.5 / 257.0 + 1e-4,
                };
                assert!((got - want).abs() <= tol, "{name}: {got} vs {want}");
            }
        }
    }
}

#[test]
fn save_errors() {
    let dir = tempfile::tempdir().unwrap();
    let img = pattern(2, 2);
    let missing = dir.path().join("no/such/dir/out.png");
    match save(&missing, &img, None, BitDepth::Eight) {
        Err(e @ Error::Output { .. }) => {
            let s = e.to_string();
            assert!(s.contains("does not exist") && s.contains("out.png"), "{s}");
        }
        other => panic!("{other:?}"),
    }
    match save(&dir.path().join("out.bmp"), &img, None, BitDepth::Eight) {
        Err(Error::Usage(msg)) => assert!(msg.contains("use .png, .jpg or .tif"), "{msg}"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        save(&dir.path().join("noext"), &img, None, BitDepth::Eight),
        Err(Error::Usage(_))
    ));
    let empty = Rgb::new(0, 0, vec![]);
    assert!(matches!(
        save(&dir.path().join("e.png"), &empty, None, BitDepth::Eight),
        Err(Error::Usage(_))
    ));
}

#[test]
fn atomic_save_replaces_and_leaves_no_temp_files() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("out.png");
    std::fs::write(&p, b"old contents").unwrap();
    let img = pattern(5, 4);
    save(&p, &img, None, BitDepth::Eight).unwrap();
    assert_eq!(load(&p).unwrap().image, img);
    let img2 = Rgb::filled(3, 3, [1.0, 2.0, 3.0]);
    save(&p, &img2, None, BitDepth::Eight).unwrap();
    assert_eq!(load(&p).unwrap().image, img2);
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("out.png")]);
}

#[test]
fn values_are_rounded_and_clamped() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("c.png");
    let img = Rgb::new(1, 1, vec![-20.0, 300.0, 127.6]);
    save(&p, &img, None, BitDepth::Eight).unwrap();
    assert_eq!(load(&p).unwrap().image.data, vec![0.0, 255.0, 128.0]);
}

#[test]
fn encode_png_in_memory() {
    let img = pattern(6, 3);
    let bytes = encode(&img, None, Format::Png8).unwrap();
    assert!(bytes.starts_with(b"\x89PNG"));
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("m.png");
    std::fs::write(&p, &bytes).unwrap();
    assert_eq!(load(&p).unwrap().image, img);
}

/// The decoding error message for `bytes`, which must be an unnamed [`Error::Input`].
fn refusal(bytes: &[u8]) -> String {
    match super::decode(bytes, &Limits::default()) {
        Err(e @ Error::Input { .. }) => {
            let msg = e.to_string();
            assert!(msg.ends_with("export or download it again"), "{msg}");
            msg
        }
        other => panic!("{other:?}"),
    }
}

/// `jpeg` with the height in its frame header (SOF0) set to `height`.
fn with_jpeg_height(jpeg: &[u8], height: u16) -> Vec<u8> {
    let sof = jpeg.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
    let mut out = jpeg.to_vec();
    out[sof + 5..sof + 7].copy_from_slice(&height.to_be_bytes());
    out
}

/// A 40x40 PNG and the position of its IDAT chunk's data.
fn png_40() -> (Vec<u8>, std::ops::Range<usize>) {
    let bytes = encode(&pattern(40, 40), None, Format::Png8).unwrap();
    let idat = bytes.windows(4).position(|w| w == b"IDAT").unwrap();
    let len = u32::from_be_bytes(bytes[idat - 4..idat].try_into().unwrap()) as usize;
    (bytes, idat + 4..idat + 4 + len)
}

#[test]
fn truncated_jpeg_is_refused_not_padded() {
    let full = std::fs::read(real_image("starry_night.jpg")).unwrap();
    let msg = refusal(&full[..70_000]);
    assert!(
        msg.starts_with("the JPEG data ends early (truncated or damaged file): only ")
            && msg.contains(" of its 566 rows are there"),
        "{msg}"
    );
    // Missing no more than its end marker.
    let msg = refusal(&full[..full.len() - 2]);
    assert!(msg.starts_with("the JPEG data ends early"), "{msg}");
    // Named in a file.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("cut.jpg");
    std::fs::write(&p, &full[..70_000]).unwrap();
    match load(&p) {
        Err(e @ Error::Input { .. }) => {
            assert!(e
                .to_string()
                .starts_with(&format!("{}: the JPEG data ends early", p.display())))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn jpeg_header_taller_than_its_data_is_refused() {
    for (name, height, taller) in [
        ("starry_night.jpg", 566u16, 766),
        ("portrait_astronaut.jpg", 512, 528),
    ] {
        let full = std::fs::read(real_image(name)).unwrap();
        let msg = refusal(&with_jpeg_height(&full, taller));
        // The data holds whole rows of 16×16 blocks.
        let rows = height.next_multiple_of(16);
        assert!(
            msg.contains(&format!("only {rows} of its {taller} rows are there")),
            "{name}: {msg}"
        );
        // A shorter header leaves data over, which decoders pass over too.
        assert!(super::decode(&with_jpeg_height(&full, height - 16), &Limits::default()).is_ok());
    }
}

#[test]
fn png_chunk_failing_its_crc_is_refused() {
    let (mut bytes, idat) = png_40();
    bytes[idat.start + idat.len() / 2] ^= 0x01;
    let msg = refusal(&bytes);
    assert!(
        msg.starts_with("the PNG data is damaged: its IDAT chunk fails its checksum (CRC)"),
        "{msg}"
    );
}

#[test]
fn png_without_its_end_chunk_is_refused() {
    let (bytes, _) = png_40();
    let msg = refusal(&bytes[..bytes.len() - 12]);
    assert!(
        msg.starts_with("the PNG data ends early, before its end chunk (IEND)"),
        "{msg}"
    );
}

#[test]
fn png_header_taller_than_its_data_is_refused() {
    let (mut bytes, _) = png_40();
    bytes[20..24].copy_from_slice(&60u32.to_be_bytes());
    let crc = crc32fast::hash(&bytes[12..29]);
    bytes[29..33].copy_from_slice(&crc.to_be_bytes());
    let msg = refusal(&bytes);
    assert!(
        msg.starts_with(
            "the PNG image data is damaged or does not fill the 40×60 pixels its header declares"
        ),
        "{msg}"
    );
}
