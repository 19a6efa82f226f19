//! Lossless intermediate videos: numbered PNG frames into FFV1 (RGB, bit-exact) in Matroska,
//! with text tags and no sound, for pieces of a video joined later.

use std::path::Path;

use super::encode::{check, frame_pattern, EncodeOptions};
use super::numbered::count_numbered;
use super::tool::{file_url, Ffmpeg};
use crate::error::{Error, Result};

impl Ffmpeg {
    /// Encodes the numbered PNG frames `dir/000000.png, …` into `out` (which must end in .mkv)
    /// at `fps`, as FFV1 in planar RGB (decoding gives the PNGs' samples back exactly), with
    /// no sound and the container tags `tags`. Atomic: on failure a previous `out` stays.
    pub fn encode_lossless(
        &self,
        dir: &Path,
        out: &Path,
        fps: f64,
        tags: &[(&str, &str)],
    ) -> Result<()> {
        check(&EncodeOptions { fps, audio: None })?;
        check_lossless_output(out)?;
        crate::atomic::output_dir(out)?;
        let count = count_numbered(dir)?;
        let mut cmd = self.ffmpeg_command();
        cmd.args(["-y", "-f", "image2", "-pattern_type", "sequence"])
            .args(["-framerate", &fps.to_string(), "-start_number", "0"])
            .arg("-i")
            .arg(frame_pattern(dir))
            .args(["-map", "0:v:0", "-vsync", "passthrough"])
            .args(["-c:v", "ffv1", "-level", "3", "-pix_fmt", "gbrp"]);
        for (key, value) in tags {
            cmd.arg("-metadata").arg(format!("{key}={value}"));
        }
        cmd.args(["-f", "matroska"]);
        crate::atomic::write_via(out, |tmp| {
            cmd.arg(file_url(tmp));
            self.run_encoder(cmd, tmp, out, (dir, count))
        })
    }
}

/// Checks before any work that `out` names a Matroska file (`.mkv`), the one container
/// [`Ffmpeg::encode_lossless`] writes, in a folder that exists.
pub fn check_lossless_output(out: &Path) -> Result<()> {
    let mkv = out
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("mkv"));
    if !mkv {
        return Err(Error::Usage(format!(
            "{}: a piece of a video is written losslessly as FFV1 in Matroska; name it .mkv",
            out.display()
        )));
    }
    crate::atomic::output_dir(out)
        .map(|_| ())
        .map_err(|e| Error::Usage(e.to_string()))
}
