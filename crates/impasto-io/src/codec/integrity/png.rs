//! PNG: every chunk whole and passing its checksum, up to the end chunk.

use super::FIX;
use crate::codec::sniff::PNG_SIGNATURE;

/// Walks the chunks of `bytes` (which start with the PNG signature) up to `IEND`.
pub(super) fn check(bytes: &[u8]) -> Result<(), String> {
    let mut pos = PNG_SIGNATURE.len();
    loop {
        let Some(head) = bytes.get(pos..pos + 8) else {
            return Err(ends_early("before its end chunk (IEND)"));
        };
        let (length, kind) = head.split_at(4);
        let length = u32::from_be_bytes(length.try_into().expect("4 bytes")) as usize;
        if !kind.iter().all(u8::is_ascii_alphabetic) {
            return Err(format!(
                "the PNG data is damaged: byte {pos} should start a chunk but does not; {FIX}"
            ));
        }
        let name = String::from_utf8_lossy(kind);
        let Some(chunk) = bytes.get(pos + 4..(pos + 12).saturating_add(length)) else {
            return Err(ends_early(&format!("inside its {name} chunk")));
        };
        let (body, crc) = chunk.split_at(chunk.len() - 4);
        if crc32fast::hash(body).to_be_bytes() != crc {
            return Err(format!(
                "the PNG data is damaged: its {name} chunk fails its checksum (CRC); {FIX}"
            ));
        }
        if kind == b"IEND" {
            return Ok(());
        }
        pos += 12 + length;
    }
}

fn ends_early(where_: &str) -> String {
    format!("the PNG data ends early, {where_} (truncated or damaged file); {FIX}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A chunk with its length and checksum.
    fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut out = (data.len() as u32).to_be_bytes().to_vec();
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        let crc = crc32fast::hash(&out[4..]);
        out.extend_from_slice(&crc.to_be_bytes());
        out
    }

    fn png(chunks: &[Vec<u8>]) -> Vec<u8> {
        let mut out = PNG_SIGNATURE.to_vec();
        for c in chunks {
            out.extend_from_slice(c);
        }
        out
    }

    #[test]
    fn whole_chunks_pass_and_damage_is_named() {
        let ihdr = chunk(b"IHDR", &[0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0]);
        let idat = chunk(b"IDAT", b"data");
        let iend = chunk(b"IEND", b"");
        assert_eq!(
            check(&png(&[ihdr.clone(), idat.clone(), iend.clone()])),
            Ok(())
        );
        // Data after the end chunk is ignored.
        let mut trailing = png(&[ihdr.clone(), idat.clone(), iend.clone()]);
        trailing.extend_from_slice(b"junk");
        assert_eq!(check(&trailing), Ok(()));

        let msg = check(&png(&[ihdr.clone(), idat.clone()])).unwrap_err();
        assert!(
            msg.contains("ends early, before its end chunk (IEND)"),
            "{msg}"
        );
        let whole = png(&[ihdr.clone(), idat.clone(), iend]);
        let msg = check(&whole[..whole.len() - 16]).unwrap_err();
        assert!(msg.contains("ends early, inside its IDAT chunk"), "{msg}");

        let mut bad = idat.clone();
        bad[9] ^= 1;
        let msg = check(&png(&[ihdr.clone(), bad])).unwrap_err();
        assert!(
            msg.contains("its IDAT chunk fails its checksum (CRC)"),
            "{msg}"
        );

        let msg = check(&png(&[ihdr, vec![0, 0, 0, 0, 1, 2, 3, 4]])).unwrap_err();
        assert!(msg.contains("should start a chunk"), "{msg}");
    }
}
