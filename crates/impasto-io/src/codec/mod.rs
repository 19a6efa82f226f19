//! PNG and JPEG images, bytes first: [`decode`] turns the bytes of an image into planar colour
//! under [`Limits`] the caller chooses, [`encode`] turns colour into the bytes of a [`Format`];
//! [`load`] and [`save`] are the same for files (a save is atomic).
//!
//! Decoding detects the format from the content (not a file's extension), honours the EXIF
//! orientation, composites transparency onto white with the alpha returned apart, keeps 16-bit
//! PNG samples, refuses images larger than the limits from their header before any pixel is
//! decoded, and refuses damaged data the decoders would pass over: a PNG chunk failing its
//! checksum or a PNG without its end, JPEG data that ends early or holds fewer rows than its
//! header says.

mod decode;
mod encode;
mod file;
pub(crate) mod integrity;
mod limits;
mod sniff;

pub use decode::{decode, Decoded};
pub use encode::{encode, Format, JPEG_QUALITY};
pub use file::{load, read_input, save, BitDepth};
pub use limits::Limits;

#[cfg(test)]
mod tests;
