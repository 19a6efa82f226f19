//! Reading and writing video through the `ffmpeg` and `ffprobe` programs (not linked: they
//! run as child processes, exchanging raw frames over pipes).
//!
//! [`Ffmpeg`] finds the programs. [`Ffmpeg::probe`] says what a video holds ([`VideoInfo`]),
//! [`Ffmpeg::read`] streams its frames as [`Rgb`](impasto::image::Rgb) images
//! ([`FrameReader`]), scaled, resampled and cut as [`ReadOptions`] says, and
//! [`Ffmpeg::encode`] turns numbered PNG frames into a video ([`EncodeOptions`]). A folder of
//! PNG/JPEG frames can stand in for a video file everywhere.
//!
//! Output formats follow the extension:
//!
//! | extension          | video                        | sound  |
//! |--------------------|------------------------------|--------|
//! | .mp4, .mov, .mkv   | H.264 (libx264, CRF 18)      | AAC    |
//! | .webm              | VP9 (libvpx-vp9)             | Opus   |
//! | .avi               | MPEG-4 part 2 (mpeg4, q 3)   | MP3    |
//! | .gif               | one palette for the clip     | none   |
//! | none, or a folder  | PNG frames 000000.png, …     | none   |
//!
//! [`Ffmpeg::encode_lossless`] writes the pieces of a video that are joined later: FFV1 in
//! Matroska, RGB and bit-exact, with text tags and no sound.
//!
//! The video codecs store 4:2:0 colour, which needs even sides: an odd width or height
//! grows by one pixel, a copy of the last column or row.

// Dependencies run one way: `lossless` → `encode` → `numbered`, `probe`; `read` → `probe` → `folder`;
// all → `tool`.
mod encode;
mod folder;
mod lossless;
mod numbered;
mod probe;
mod read;
mod tool;

pub use encode::{check_output, AudioSource, EncodeOptions};
pub use lossless::check_lossless_output;
pub use probe::VideoInfo;
pub use read::{FrameReader, ReadOptions};
pub use tool::Ffmpeg;
