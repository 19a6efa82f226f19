//! New DICOM UIDs: `2.25.` and a random (version 4) UUID as a decimal integer (PS3.5 B.2).

use crate::error::{Error, Result};

/// A new, globally unique UID.
pub fn new() -> Result<String> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b)
        .map_err(|e| Error::Usage(format!("the system gave no random numbers for a UID: {e}")))?;
    // UUID version 4, variant 1.
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    Ok(format!("2.25.{}", u128::from_be_bytes(b)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uids_are_new_and_valid() {
        let (a, b) = (new().unwrap(), new().unwrap());
        assert_ne!(a, b);
        for u in [&a, &b] {
            assert!(u.starts_with("2.25.") && u.len() <= 64, "{u}");
            assert!(super::super::transfer::is_uid(u));
            assert!(!u[5..].starts_with('0'), "no leading zero: {u}");
        }
    }
}
