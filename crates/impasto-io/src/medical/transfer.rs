//! DICOM transfer syntaxes: their names, and which this build decodes.

use dicom_encoding::transfer_syntax::TransferSyntaxIndex;
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;

/// Explicit VR Little Endian, the syntax Impasto writes.
pub const EXPLICIT_VR_LE: &str = "1.2.840.10008.1.2.1";

/// Short names of the common transfer syntaxes, by UID.
const NAMES: [(&str, &str); 20] = [
    ("1.2.840.10008.1.2", "Implicit VR Little Endian"),
    (EXPLICIT_VR_LE, "Explicit VR Little Endian"),
    (
        "1.2.840.10008.1.2.1.99",
        "Deflated Explicit VR Little Endian",
    ),
    ("1.2.840.10008.1.2.2", "Explicit VR Big Endian"),
    ("1.2.840.10008.1.2.4.50", "JPEG Baseline"),
    ("1.2.840.10008.1.2.4.51", "JPEG Extended"),
    ("1.2.840.10008.1.2.4.57", "JPEG Lossless"),
    ("1.2.840.10008.1.2.4.70", "JPEG Lossless SV1"),
    ("1.2.840.10008.1.2.4.80", "JPEG-LS Lossless"),
    ("1.2.840.10008.1.2.4.81", "JPEG-LS Near-Lossless"),
    ("1.2.840.10008.1.2.4.90", "JPEG 2000 Lossless"),
    ("1.2.840.10008.1.2.4.91", "JPEG 2000"),
    ("1.2.840.10008.1.2.4.92", "JPEG 2000 Part 2 Lossless"),
    ("1.2.840.10008.1.2.4.93", "JPEG 2000 Part 2"),
    ("1.2.840.10008.1.2.4.201", "HTJ2K Lossless"),
    ("1.2.840.10008.1.2.4.202", "HTJ2K Lossless RPCL"),
    ("1.2.840.10008.1.2.4.203", "HTJ2K"),
    ("1.2.840.10008.1.2.5", "RLE Lossless"),
    ("1.2.840.10008.1.2.4.100", "MPEG-2 video"),
    ("1.2.840.10008.1.2.4.102", "MPEG-4 AVC/H.264 video"),
];

/// A transfer syntax as a file declares it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TransferSyntax {
    /// Its UID (only digits and dots; anything else is not a UID and is not kept).
    pub uid: &'static str,
    /// Its name.
    pub name: &'static str,
}

/// The transfer syntax with `uid`, if the UID is one this build knows by name, else `None`.
pub fn lookup(uid: &str) -> Option<TransferSyntax> {
    let uid = uid.trim_end_matches(['\0', ' ']);
    NAMES
        .iter()
        .find(|(u, _)| *u == uid)
        .map(|&(uid, name)| TransferSyntax { uid, name })
}

/// Whether this build decodes the pixel data of `uid` (the registry has a decoder for it).
pub fn decodes(uid: &str) -> bool {
    TransferSyntaxRegistry
        .get(uid.trim_end_matches(['\0', ' ']))
        .is_some_and(|ts| ts.can_decode_all())
}

/// The message for pixel data this build cannot decode: the syntax, and how to convert it.
pub fn unsupported(uid: &str) -> String {
    let what = match lookup(uid) {
        Some(ts) => format!("{} ({})", ts.name, ts.uid),
        // Show the UID only when it looks like one: a file could put any text there.
        None if is_uid(uid) => format!("({})", uid.trim_end_matches(['\0', ' '])),
        None => "(not a valid UID)".into(),
    };
    format!(
        "unsupported transfer syntax {what}: convert with e.g. `gdcmconv --raw` (GDCM) or \
         `dcmdjpeg`/`dcmdrle` (DCMTK) to uncompressed DICOM"
    )
}

/// True for up to 64 digits and dots: the shape of a UID.
pub fn is_uid(s: &str) -> bool {
    let s = s.trim_end_matches(['\0', ' ']);
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_digit() || b == b'.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn which_syntaxes_decode() {
        for uid in [
            "1.2.840.10008.1.2",
            EXPLICIT_VR_LE,
            "1.2.840.10008.1.2.1.99",
            "1.2.840.10008.1.2.2",
            "1.2.840.10008.1.2.4.50",
            "1.2.840.10008.1.2.4.57",
            "1.2.840.10008.1.2.4.70",
            "1.2.840.10008.1.2.4.90",
            "1.2.840.10008.1.2.4.91",
            "1.2.840.10008.1.2.5",
        ] {
            assert!(decodes(uid), "{uid}");
        }
        // JPEG-LS needs CharLS, which builds only with cmake.
        assert!(!decodes("1.2.840.10008.1.2.4.80"));
        assert!(!decodes("1.2.840.10008.1.2.4.102"));
        assert_eq!(
            unsupported("1.2.840.10008.1.2.4.80\0"),
            "unsupported transfer syntax JPEG-LS Lossless (1.2.840.10008.1.2.4.80): convert with \
             e.g. `gdcmconv --raw` (GDCM) or `dcmdjpeg`/`dcmdrle` (DCMTK) to uncompressed DICOM"
        );
        assert!(unsupported("Doe^Jane").contains("(not a valid UID)"));
        assert!(unsupported("1.2.3").contains("(1.2.3)"));
    }
}
