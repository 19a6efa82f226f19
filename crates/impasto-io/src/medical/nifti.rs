//! Reading a NIfTI-1 volume (`.nii`, or gzip-compressed `.nii.gz`, told apart by content):
//! the header through the `nifti` crate, the voxels kept as they are stored and scaled by
//! `scl_slope`/`scl_inter` when a slice is taken.

use std::io::Read;
use std::path::Path;

use flate2::read::GzDecoder;
use nifti::{Endianness, NiftiHeader};

use super::nifti_out::Geometry;
use super::orient::Orientation;
use crate::codec::Limits;
use crate::error::{Error, Result};

/// Bytes of a NIfTI-1 header.
const HEADER_BYTES: usize = 348;

/// True when `bytes` start like gzip data.
pub fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b])
}

/// True when `bytes` start with a NIfTI-1 header (size 348 either byte order, magic `n+1`).
pub fn is_nifti(bytes: &[u8]) -> bool {
    let size = bytes.get(..4).map(|b| [b[0], b[1], b[2], b[3]]);
    let sized = size.is_some_and(|s| i32::from_le_bytes(s) == 348 || i32::from_be_bytes(s) == 348);
    sized && matches!(bytes.get(344..348), Some(b"n+1\0" | b"ni1\0"))
}

/// A 3-D NIfTI volume: its voxels as stored, their type, and how its axes lie.
#[derive(Clone, Debug)]
pub struct NiftiVolume {
    /// Voxels along the file's first, second and third axes.
    pub dims: [usize; 3],
    /// Millimetres between voxels along each axis (from `pixdim`).
    pub pixdim: [f32; 3],
    /// How the file's axes map onto left–right, posterior–anterior, inferior–superior.
    pub orientation: Orientation,
    /// The header's geometry, to write a result on the same grid.
    pub geometry: Geometry,
    raw: Vec<u8>,
    kind: Sample,
    big_endian: bool,
    slope: f32,
    inter: f32,
}

/// A stored voxel type.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Sample {
    U8,
    I8,
    U16,
    I16,
    U32,
    I32,
    U64,
    I64,
    F32,
    F64,
}

impl Sample {
    fn from_code(code: i16) -> Option<Sample> {
        Some(match code {
            2 => Sample::U8,
            4 => Sample::I16,
            8 => Sample::I32,
            16 => Sample::F32,
            64 => Sample::F64,
            256 => Sample::I8,
            512 => Sample::U16,
            768 => Sample::U32,
            1024 => Sample::I64,
            1280 => Sample::U64,
            _ => return None,
        })
    }

    fn bytes(self) -> usize {
        match self {
            Sample::U8 | Sample::I8 => 1,
            Sample::U16 | Sample::I16 => 2,
            Sample::U32 | Sample::I32 | Sample::F32 => 4,
            Sample::U64 | Sample::I64 | Sample::F64 => 8,
        }
    }
}

impl NiftiVolume {
    /// The value of voxel (i, j, k), scaled.
    pub fn value(&self, [i, j, k]: [usize; 3]) -> f32 {
        let index = i + self.dims[0] * (j + self.dims[1] * k);
        let n = self.kind.bytes();
        let b = &self.raw[index * n..(index + 1) * n];
        let mut a = [0u8; 8];
        a[..n].copy_from_slice(b);
        if self.big_endian {
            a[..n].reverse();
        }
        let v = match self.kind {
            Sample::U8 => f64::from(a[0]),
            Sample::I8 => f64::from(a[0] as i8),
            Sample::U16 => f64::from(u16::from_le_bytes([a[0], a[1]])),
            Sample::I16 => f64::from(i16::from_le_bytes([a[0], a[1]])),
            Sample::U32 => f64::from(u32::from_le_bytes([a[0], a[1], a[2], a[3]])),
            Sample::I32 => f64::from(i32::from_le_bytes([a[0], a[1], a[2], a[3]])),
            Sample::F32 => f64::from(f32::from_le_bytes([a[0], a[1], a[2], a[3]])),
            Sample::U64 => u64::from_le_bytes(a) as f64,
            Sample::I64 => i64::from_le_bytes(a) as f64,
            Sample::F64 => f64::from_le_bytes(a),
        };
        // A slope of 0 (or not a number) means the values are stored unscaled.
        if self.slope != 0.0 && self.slope.is_finite() {
            (v * f64::from(self.slope) + f64::from(self.inter)) as f32
        } else {
            v as f32
        }
    }

    /// The smallest and largest finite value of the whole volume, scaled (0, 0 when none is).
    pub fn range(&self) -> (f32, f32) {
        let [a, b, c] = self.dims;
        let mut it = (0..c)
            .flat_map(|k| (0..b).flat_map(move |j| (0..a).map(move |i| [i, j, k])))
            .map(|v| self.value(v))
            .filter(|v| v.is_finite());
        let first = it.next().unwrap_or(0.0);
        it.fold((first, first), |(lo, hi), v| (lo.min(v), hi.max(v)))
    }
}

/// Reads the NIfTI-1 volume in `bytes` (gzip-compressed or not), refusing one larger than
/// `limits` from its header before the voxels are read.
pub fn read(path: &Path, bytes: &[u8], limits: &Limits) -> Result<NiftiVolume> {
    if is_gzip(bytes) {
        read_from(path, GzDecoder::new(bytes), limits)
    } else {
        read_from(path, bytes, limits)
    }
}

fn read_from(path: &Path, mut src: impl Read, limits: &Limits) -> Result<NiftiVolume> {
    let mut head = vec![0u8; HEADER_BYTES];
    src.read_exact(&mut head).map_err(|e| io_error(path, &e))?;
    if !is_nifti(&head) {
        return Err(Error::input(
            path,
            "not a NIfTI-1 file (no NIfTI header; NIfTI-2 is not read); give a .nii or .nii.gz \
             file, or convert it with e.g. `nib-convert` or `3dcopy`",
        ));
    }
    if &head[344..348] == b"ni1\0" {
        return Err(Error::input(
            path,
            "a NIfTI header/image pair (.hdr + .img) is not read; convert it to a single .nii \
             file, e.g. with `fslchfiletype NIFTI`",
        ));
    }
    let header = NiftiHeader::from_reader(&head[..]).map_err(|_| damaged(path))?;
    let dims = dims(path, &header)?;
    let kind = Sample::from_code(header.datatype).ok_or_else(|| {
        Error::input(
            path,
            format!(
                "unsupported NIfTI data type {} (Impasto reads grey integer and float \
                 volumes, not colour or complex ones); convert it to a grey volume",
                header.datatype
            ),
        )
    })?;
    let voxels = dims.iter().map(|&d| d as u64).product::<u64>();
    let side = |d: usize| u32::try_from(d).unwrap_or(u32::MAX);
    let largest = dims.iter().copied().max().unwrap_or(0);
    limits
        .check(
            side(largest),
            side(largest),
            voxels.saturating_mul(kind.bytes() as u64),
        )
        .map_err(|e| e.named(path))?;
    let offset = header.vox_offset as usize;
    if !(HEADER_BYTES..=1 << 30).contains(&offset) || !header.vox_offset.is_finite() {
        return Err(damaged(path));
    }
    std::io::copy(
        &mut (&mut src).take((offset - HEADER_BYTES) as u64),
        &mut std::io::sink(),
    )
    .map_err(|e| io_error(path, &e))?;
    let mut raw = vec![0u8; voxels as usize * kind.bytes()];
    src.read_exact(&mut raw).map_err(|e| io_error(path, &e))?;
    let pixdim = [1, 2, 3].map(|i| {
        let p = header.pixdim[i].abs();
        if p.is_finite() && p > 0.0 {
            p
        } else {
            1.0
        }
    });
    let orientation = Orientation::from_header(&header, pixdim);
    Ok(NiftiVolume {
        dims,
        pixdim,
        orientation,
        geometry: Geometry::from_header(&header, dims, pixdim, orientation),
        raw,
        kind,
        big_endian: header.endianness == Endianness::Big,
        slope: header.scl_slope,
        inter: header.scl_inter,
    })
}

/// The three spatial dimensions (1 where the file has fewer); a time series is refused.
fn dims(path: &Path, header: &NiftiHeader) -> Result<[usize; 3]> {
    let d = header.dim().map_err(|_| damaged(path))?;
    if d.len() > 3 && d[3..].iter().any(|&n| n > 1) {
        return Err(Error::input(
            path,
            format!(
                "a {}-D NIfTI volume (a time series or several volumes) is not read; extract \
                 one 3-D volume first, e.g. with `fslroi IN OUT 0 1`",
                d.len()
            ),
        ));
    }
    Ok([0, 1, 2].map(|i| d.get(i).map_or(1, |&n| usize::from(n).max(1))))
}

fn damaged(path: &Path) -> Error {
    Error::input(
        path,
        "the NIfTI header is damaged (impossible dimensions or offsets); export the volume again",
    )
}

fn io_error(path: &Path, e: &std::io::Error) -> Error {
    let msg = if e.kind() == std::io::ErrorKind::UnexpectedEof {
        "the NIfTI data ends early (truncated file); copy or export it again".to_string()
    } else {
        format!("the NIfTI data cannot be read ({e}); the file is damaged, export it again")
    };
    Error::input(path, msg)
}
