//! JPEG: the segments whole up to the end marker, and each sequential scan's data complete.

use super::jpeg_entropy::{end_of_data, next_marker, walk, Damage, Marker};
use super::jpeg_frame::{Frame, Scan};
use super::jpeg_huffman::Tables;
use super::FIX;

/// Walks the segments of `bytes` (which start with the SOI marker) up to `EOI`.
pub(super) fn check(bytes: &[u8]) -> Result<(), String> {
    let mut pos = 2;
    let mut frame = None;
    let mut tables = Tables::default();
    let mut restart_interval = 0;
    let mut scans = 0;
    loop {
        let Marker { code, after, .. } = next_marker(bytes, pos).ok_or_else(|| ends_early(None))?;
        pos = after;
        match code {
            0xD9 if scans > 0 => return Ok(()),
            0xD9 => return Err(format!("the JPEG holds no image data; {FIX}")),
            // Markers without a segment.
            0x01 | 0xD0..=0xD8 => continue,
            _ => {}
        }
        // A segment: its length (counting the length's two bytes), then its body.
        let seg = bytes
            .get(after..after + 2)
            .map(|n| usize::from(u16::from_be_bytes([n[0], n[1]])))
            .and_then(|len| bytes.get(after + 2..after + len.max(2)))
            .ok_or_else(|| ends_early(None))?;
        pos = after + 2 + seg.len();
        match code {
            // Sequential Huffman-coded frames are walked; others (progressive, ...) are not.
            0xC0 | 0xC1 => frame = Frame::parse(seg),
            0xC2 | 0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF => frame = None,
            0xC4 => tables.define(seg),
            0xDD if seg.len() >= 2 => {
                restart_interval = usize::from(u16::from_be_bytes([seg[0], seg[1]]))
            }
            0xDA => {
                scans += 1;
                pos = scan_end(bytes, pos, seg, &frame, &tables, restart_interval)?;
            }
            _ => {}
        }
    }
}

/// Where the data of the scan whose header is `seg` ends, data starting at `pos`; walked when
/// the frame is sequential (`frame` is `None` otherwise) and every table is known.
fn scan_end(
    bytes: &[u8],
    pos: usize,
    seg: &[u8],
    frame: &Option<Frame>,
    tables: &Tables,
    restart_interval: usize,
) -> Result<usize, String> {
    let known = match frame {
        Some(f) if !tables.broken => Scan::parse(seg, f).map(|s| (f, s)),
        _ => None,
    };
    let walked = match &known {
        Some((f, scan)) => {
            walk(bytes, pos, scan, tables, restart_interval).map_err(|d| match d {
                Damage::EndsEarly { rows } => ends_early(Some((rows, f.height))),
                Damage::BadCode { row } => format!(
                    "the JPEG image data is damaged (an invalid code at row {row} of {}); {FIX}",
                    f.height
                ),
            })?
        }
        None => None,
    };
    // Not walked (or the walk ran up to the end): look for the end of the data.
    walked
        .or_else(|| end_of_data(bytes, pos))
        .ok_or_else(|| ends_early(None))
}

/// The message for data that ends early; `rows` says how many of the image's rows are there
/// when that is known.
fn ends_early(rows: Option<(usize, usize)>) -> String {
    let what = match rows {
        Some((rows, height)) => format!(": only {rows} of its {height} rows are there"),
        None => String::new(),
    };
    format!("the JPEG data ends early (truncated or damaged file){what}; {FIX}")
}
