//! How the studio server is set up.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

use impasto_io::codec::Limits;

/// Server settings; `Config::default()` listens on 127.0.0.1:7860 with one run at a time.
#[derive(Clone, Debug)]
pub struct Config {
    /// Address to listen on (localhost unless told otherwise).
    pub host: IpAddr,
    /// Port (0 picks a free one).
    pub port: u16,
    /// Runs computing at once; the other sessions wait in a queue.
    pub max_runs: usize,
    /// Sessions (open pages) at once.
    pub max_sessions: usize,
    /// Largest upload body in bytes.
    pub max_upload_bytes: usize,
    /// Largest image an upload may declare (refused from its header, before decoding).
    pub upload_limits: Limits,
    /// Largest final render (longer side, pixels).
    pub max_final_size: usize,
    /// Where each session's temporary folder is made.
    pub temp_root: PathBuf,
    /// A rating study folder to serve under `/rate/` beside the studio.
    pub study: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 7860,
            max_runs: 1,
            max_sessions: 16,
            max_upload_bytes: 25 << 20,
            // Image files' limits, and at most 40 megapixels.
            upload_limits: Limits {
                max_pixels: 40_000_000,
                ..Limits::default()
            },
            max_final_size: 2048,
            temp_root: std::env::temp_dir(),
            study: None,
        }
    }
}
