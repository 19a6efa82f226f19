//! Reading input files for the medical readers, with errors that name the file and the fix.

use std::path::Path;

use crate::error::{Error, Result};

/// The bytes of the file at `path`.
pub(crate) fn bytes(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| {
        let msg = match e.kind() {
            std::io::ErrorKind::NotFound => {
                "file not found; check the path (relative paths start from the current directory)"
                    .to_string()
            }
            _ => format!("cannot read the file: {e}; check that it exists and is readable"),
        };
        Error::input(path, msg)
    })
}
