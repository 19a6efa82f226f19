//! Batch jobs' files: the manifest that lists a job's items ([`manifest`]) and the JSON
//! sidecar written beside each result ([`sidecar`]).

pub mod manifest;
pub mod sidecar;

pub use manifest::{read_manifest, Entry};
pub use sidecar::Sidecar;
