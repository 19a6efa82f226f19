//! Items' keys: a digest of everything that decides a result (the photo's bytes, the styles'
//! bytes and weights, the settings, the network's bytes and Impasto's version). A result
//! whose sidecar carries its item's key is done; anything else is made again.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use impasto_io::{Error, Result};
use sha2::{Digest, Sha256};

use crate::look::parse_style;

/// Makes keys, reading each style and the network once.
pub struct Keyer {
    network: String,
    styles: HashMap<PathBuf, String>,
}

impl Keyer {
    /// Keys for results of the network in the file `network` (VGG19's weights or a model).
    pub fn new(network: &Path) -> Result<Self> {
        Ok(Self {
            network: digest_file(network)?,
            styles: HashMap::new(),
        })
    }

    /// The key of a result of `photo` (its bytes) in `styles` with `settings` (what the
    /// item asked for, written out).
    pub fn key(&mut self, photo: &[u8], styles: &[String], settings: &str) -> Result<String> {
        let mut h = Sha256::new();
        h.update(Sha256::digest(photo));
        for spec in styles {
            let (path, weight) = parse_style(spec);
            if !self.styles.contains_key(&path) {
                let d = digest_file(&path)?;
                self.styles.insert(path.clone(), d);
            }
            h.update(self.styles[&path].as_bytes());
            h.update(weight.unwrap_or(1.0).to_le_bytes());
        }
        h.update(self.network.as_bytes());
        h.update(format!("{settings}|{}", env!("CARGO_PKG_VERSION")).as_bytes());
        Ok(format!("{:x}", h.finalize()))
    }
}

fn digest_file(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|e| Error::Input {
        path: path.to_path_buf(),
        msg: format!("cannot read it ({e})"),
    })?;
    Ok(format!("{:x}", Sha256::digest(bytes)))
}
