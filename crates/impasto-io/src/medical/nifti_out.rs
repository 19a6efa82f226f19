//! Writing stylised slices back as an RGB NIfTI-1 volume (datatype RGB24) on the source's voxel
//! grid, so that it overlays the original in a viewer. Only the geometry of the source header
//! travels ([`Geometry`]: dimensions, spacing, units, qform and sform); its free text
//! (`descrip`, `aux_file`, `intent_name`, `db_name`), which may name the patient, never does.

use std::io::Write;
use std::path::Path;

use flate2::write::GzEncoder;
use flate2::Compression;
use impasto::image::resize::resize;
use impasto::image::Rgb;
use nifti::NiftiHeader;

use super::axis::Axis;
use super::orient::{quaternion, Layout, Orientation};
use crate::error::{Error, Result};

/// NIfTI datatype code of 8-bit RGB voxels.
const RGB24: i16 = 128;
/// What a written volume says it is.
pub const DESCRIPTION: &str = "impasto stylised";

/// Where a NIfTI volume's voxels lie: the geometry of its header and nothing else.
#[derive(Clone, Debug, PartialEq)]
pub struct Geometry {
    /// Voxels along the file's three axes.
    dims: [usize; 3],
    /// `pixdim[0..4]` as stored: qfac, then the spacing along each axis.
    pixdim: [f32; 4],
    /// The spacing used for the qform (a bad stored value reads as 1, as for slicing).
    spacing: [f32; 3],
    xyzt_units: u8,
    qform_code: i16,
    sform_code: i16,
    /// Quaternion b, c, d.
    quatern: [f32; 3],
    /// qform offsets x, y, z.
    qoffset: [f32; 3],
    /// sform rows.
    srow: [[f32; 4]; 3],
    orientation: Orientation,
}

impl Geometry {
    /// The geometry of `h`, a header of a `dims` volume whose sanitised spacing is `spacing`.
    pub(super) fn from_header(
        h: &NiftiHeader,
        dims: [usize; 3],
        spacing: [f32; 3],
        orientation: Orientation,
    ) -> Geometry {
        Geometry {
            dims,
            pixdim: [h.pixdim[0], h.pixdim[1], h.pixdim[2], h.pixdim[3]],
            spacing,
            xyzt_units: h.xyzt_units,
            qform_code: h.qform_code,
            sform_code: h.sform_code,
            quatern: [h.quatern_b, h.quatern_c, h.quatern_d],
            qoffset: [h.quatern_x, h.quatern_y, h.quatern_z],
            srow: [h.srow_x, h.srow_y, h.srow_z],
            orientation,
        }
    }

    /// Slices across `axis`.
    pub fn count(&self, axis: Axis) -> usize {
        self.layout(axis).1
    }

    /// Width and height of a slice across `axis`, in pixels.
    pub fn slice_size(&self, axis: Axis) -> (usize, usize) {
        let (l, _) = self.layout(axis);
        (l.width, l.height)
    }

    fn layout(&self, axis: Axis) -> (Layout, usize) {
        let l = Layout::new(self.orientation, self.dims, axis);
        (l, self.dims[l.fixed])
    }

    /// The header of slices `first..first + count` across `axis`, as RGB24: the source's
    /// grid along the other axes, its origin moved to slice `first`.
    pub fn header(&self, axis: Axis, first: usize, count: usize) -> NiftiHeader {
        let (l, _) = self.layout(axis);
        let mut dims = self.dims;
        dims[l.fixed] = count;
        let mut dim = [1u16; 8];
        dim[0] = 3;
        for (d, &n) in dim[1..4].iter_mut().zip(&dims) {
            *d = u16::try_from(n).unwrap_or(u16::MAX);
        }
        let qfac = if self.pixdim[0] < 0.0 { -1.0 } else { 1.0 };
        let mut pixdim = [1.0f32; 8];
        pixdim[0] = qfac;
        pixdim[1..4].copy_from_slice(&self.pixdim[1..4]);
        // The voxel `first` of the source is voxel 0 of the output: shift both transforms by
        // `first` steps along the fixed axis.
        let shift = first as f64;
        let mut srow = self.srow;
        if self.sform_code > 0 {
            for row in &mut srow {
                row[3] = (f64::from(row[3]) + shift * f64::from(row[l.fixed])) as f32;
            }
        }
        let mut qoffset = self.qoffset;
        if self.qform_code > 0 {
            let r = quaternion(self.quatern.map(f64::from));
            let mut scale = self.spacing.map(f64::from);
            scale[2] *= f64::from(qfac);
            for (i, o) in qoffset.iter_mut().enumerate() {
                *o = (f64::from(*o) + shift * r[i][l.fixed] * scale[l.fixed]) as f32;
            }
        }
        let mut descrip = vec![0u8; 80];
        descrip[..DESCRIPTION.len()].copy_from_slice(DESCRIPTION.as_bytes());
        NiftiHeader {
            dim,
            datatype: RGB24,
            bitpix: 24,
            pixdim,
            vox_offset: 352.0,
            scl_slope: 1.0,
            scl_inter: 0.0,
            xyzt_units: self.xyzt_units,
            descrip,
            qform_code: self.qform_code.max(0),
            sform_code: self.sform_code.max(0),
            quatern_b: self.quatern[0],
            quatern_c: self.quatern[1],
            quatern_d: self.quatern[2],
            quatern_x: qoffset[0],
            quatern_y: qoffset[1],
            quatern_z: qoffset[2],
            srow_x: srow[0],
            srow_y: srow[1],
            srow_z: srow[2],
            magic: *b"n+1\0",
            endianness: nifti::Endianness::Little,
            ..NiftiHeader::default()
        }
    }

    /// Writes slices `first..first + count` across `axis` as an RGB24 NIfTI-1 file at `path`
    /// (gzip-compressed when the name ends in `.gz`), atomically. `slice(k)` gives slice
    /// `first + k` as shown by [`Volume::slice`](super::Volume::slice) (radiological
    /// orientation), at any size: it is resampled (Lanczos-3) to the source's grid.
    pub fn write_rgb(
        &self,
        path: &Path,
        axis: Axis,
        first: usize,
        count: usize,
        mut slice: impl FnMut(usize) -> Result<Rgb>,
    ) -> Result<()> {
        let (l, n) = self.layout(axis);
        if count == 0 || first + count > n {
            return Err(Error::Usage(format!(
                "{}: slices {first}..{} do not fit the {n} {axis} slices of the volume",
                path.display(),
                first + count
            )));
        }
        let mut dims = self.dims;
        dims[l.fixed] = count;
        let mut voxels = vec![0u8; 3 * dims.iter().product::<usize>()];
        for k in 0..count {
            let image = resize(&slice(k)?, l.width, l.height);
            for r in 0..l.height {
                for c in 0..l.width {
                    let [i, j, kk] = l.voxel(k, r, c);
                    let at = 3 * (i + dims[0] * (j + dims[1] * kk));
                    for (ch, v) in image.pixel(c, r).into_iter().enumerate() {
                        voxels[at + ch] = v.round().clamp(0.0, 255.0) as u8;
                    }
                }
            }
        }
        let mut head = header_bytes(&self.header(axis, first, count));
        // No extensions.
        head.extend_from_slice(&[0; 4]);
        let gz = path.to_string_lossy().to_ascii_lowercase().ends_with(".gz");
        crate::atomic::write_with(path, |file| {
            let out = |e| Error::output(path, e);
            if gz {
                let mut enc = GzEncoder::new(file, Compression::default());
                enc.write_all(&head).map_err(out)?;
                enc.write_all(&voxels).map_err(out)?;
                enc.finish().map_err(out)?;
            } else {
                file.write_all(&head).map_err(out)?;
                file.write_all(&voxels).map_err(out)?;
            }
            Ok(())
        })
    }
}

/// The 348 bytes of a NIfTI-1 header, little-endian, in the order of the standard's
/// `nifti_1_header`.
pub fn header_bytes(h: &NiftiHeader) -> Vec<u8> {
    let mut b = Vec::with_capacity(348);
    let fixed = |b: &mut Vec<u8>, s: &[u8], n: usize| {
        let mut v = s.to_vec();
        v.resize(n, 0);
        b.extend_from_slice(&v);
    };
    b.extend_from_slice(&h.sizeof_hdr.to_le_bytes());
    fixed(&mut b, &h.data_type, 10);
    fixed(&mut b, &h.db_name, 18);
    b.extend_from_slice(&h.extents.to_le_bytes());
    b.extend_from_slice(&h.session_error.to_le_bytes());
    b.extend_from_slice(&[h.regular, h.dim_info]);
    for d in h.dim {
        b.extend_from_slice(&d.to_le_bytes());
    }
    for f in [h.intent_p1, h.intent_p2, h.intent_p3] {
        b.extend_from_slice(&f.to_le_bytes());
    }
    for s in [h.intent_code, h.datatype, h.bitpix, h.slice_start] {
        b.extend_from_slice(&s.to_le_bytes());
    }
    for f in h
        .pixdim
        .iter()
        .chain(&[h.vox_offset, h.scl_slope, h.scl_inter])
    {
        b.extend_from_slice(&f.to_le_bytes());
    }
    b.extend_from_slice(&h.slice_end.to_le_bytes());
    b.extend_from_slice(&[h.slice_code, h.xyzt_units]);
    for f in [h.cal_max, h.cal_min, h.slice_duration, h.toffset] {
        b.extend_from_slice(&f.to_le_bytes());
    }
    b.extend_from_slice(&h.glmax.to_le_bytes());
    b.extend_from_slice(&h.glmin.to_le_bytes());
    fixed(&mut b, &h.descrip, 80);
    fixed(&mut b, &h.aux_file, 24);
    b.extend_from_slice(&h.qform_code.to_le_bytes());
    b.extend_from_slice(&h.sform_code.to_le_bytes());
    let q = [
        h.quatern_b,
        h.quatern_c,
        h.quatern_d,
        h.quatern_x,
        h.quatern_y,
        h.quatern_z,
    ];
    for f in q.iter().chain(&h.srow_x).chain(&h.srow_y).chain(&h.srow_z) {
        b.extend_from_slice(&f.to_le_bytes());
    }
    fixed(&mut b, &h.intent_name, 16);
    fixed(&mut b, &h.magic, 4);
    debug_assert_eq!(b.len(), 348);
    b
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::Limits;
    use crate::medical::{open, SliceSpec, Window};

    /// A 4 × 3 × 5 uint8 volume stored sagittally (i runs up, j to the back, k to the right,
    /// so axial slices cut across i), voxel n holding 4 n (the last 255), with an sform and a
    /// qform turned half round z.
    fn sagittal_volume(dir: &Path) -> std::path::PathBuf {
        let mut descrip = vec![0u8; 80];
        descrip[..11].copy_from_slice(b"Doe^Private");
        let h = NiftiHeader {
            dim: [3, 4, 3, 5, 1, 1, 1, 1],
            datatype: 2,
            bitpix: 8,
            pixdim: [1.0, 2.0, 3.0, 4.0, 1.0, 1.0, 1.0, 1.0],
            vox_offset: 352.0,
            xyzt_units: 2,
            descrip,
            aux_file: *b"private-aux-file\0\0\0\0\0\0\0\0",
            qform_code: 1,
            sform_code: 2,
            quatern_d: 1.0,
            quatern_x: 10.0,
            quatern_y: 20.0,
            quatern_z: 30.0,
            srow_x: [0.0, 0.0, 4.0, -5.0],
            srow_y: [0.0, -3.0, 0.0, 6.0],
            srow_z: [2.0, 0.0, 0.0, -7.0],
            intent_name: *b"private-intent\0\0",
            magic: *b"n+1\0",
            endianness: nifti::Endianness::Little,
            ..NiftiHeader::default()
        };
        let mut bytes = header_bytes(&h);
        bytes.extend_from_slice(&[0; 4]);
        bytes.extend((0..60u32).map(|n| if n == 59 { 255 } else { (4 * n) as u8 }));
        let p = dir.join("sag.nii");
        std::fs::write(&p, bytes).unwrap();
        p
    }

    #[test]
    fn header_bytes_read_back_as_the_same_header() {
        let dir = tempfile::tempdir().unwrap();
        let p = sagittal_volume(dir.path());
        let h = NiftiHeader::from_file(&p).unwrap();
        assert_eq!(header_bytes(&h), std::fs::read(&p).unwrap()[..348]);
        assert_eq!(h.srow_y, [0.0, -3.0, 0.0, 6.0]);
    }

    /// Axial slices 1..3 (across voxel axis i) written back land on the voxels they were cut
    /// from, in a volume whose transforms start at source voxel i = 1, with no free text.
    #[test]
    fn slices_go_back_to_their_voxels_and_the_origin_moves_to_the_first() {
        let dir = tempfile::tempdir().unwrap();
        let v = open(&sagittal_volume(dir.path()), &Limits::default())
            .unwrap()
            .unwrap();
        let g = v.nifti_geometry().unwrap();
        assert_eq!(g.count(Axis::Axial), 4);
        assert_eq!(g.slice_size(Axis::Axial), (5, 3));
        let window = Some(Window::full_range(0.0, 255.0));
        for name in ["out.nii", "out.nii.gz"] {
            let out = dir.path().join(name);
            g.write_rgb(&out, Axis::Axial, 1, 2, |k| {
                let spec = SliceSpec {
                    axis: Axis::Axial,
                    index: 1 + k,
                };
                Ok(v.slice(spec)?.to_rgb(window))
            })
            .unwrap();
            let mut bytes = Vec::new();
            let file = std::fs::File::open(&out).unwrap();
            if name.ends_with(".gz") {
                std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(file), &mut bytes)
            } else {
                std::io::Read::read_to_end(&mut { file }, &mut bytes)
            }
            .unwrap();
            let h = NiftiHeader::from_reader(&bytes[..348]).unwrap();
            assert_eq!(h.dim, [3, 2, 3, 5, 1, 1, 1, 1]);
            assert_eq!((h.datatype, h.bitpix, h.vox_offset), (128, 24, 352.0));
            assert_eq!(&h.pixdim[..4], &[1.0, 2.0, 3.0, 4.0]);
            assert_eq!((h.xyzt_units, h.qform_code, h.sform_code), (2, 1, 2));
            // One step along i is (0, 0, 2) in the sform and (-2, 0, 0) in the qform.
            assert_eq!(h.srow_x, [0.0, 0.0, 4.0, -5.0]);
            assert_eq!(h.srow_y, [0.0, -3.0, 0.0, 6.0]);
            assert_eq!(h.srow_z, [2.0, 0.0, 0.0, -5.0]);
            let q = [h.quatern_x, h.quatern_y, h.quatern_z];
            assert_eq!(q, [8.0, 20.0, 30.0]);
            assert_eq!(&h.descrip[..DESCRIPTION.len()], DESCRIPTION.as_bytes());
            assert!(h.descrip[DESCRIPTION.len()..].iter().all(|&b| b == 0));
            assert_eq!((h.aux_file, h.intent_name), ([0; 24], [0; 16]));
            let data = &bytes[352..];
            assert_eq!(data.len(), 3 * 2 * 3 * 5);
            for k in 0..5 {
                for j in 0..3 {
                    for i in 0..2 {
                        let n = (i + 1) + 4 * (j + 3 * k);
                        let want = if n == 59 { 255 } else { 4 * n as u8 };
                        let at = 3 * (i + 2 * (j + 3 * k));
                        assert_eq!(data[at..at + 3], [want; 3], "voxel {i} {j} {k}");
                    }
                }
            }
        }
        let e = g.write_rgb(
            &dir.path().join("x.nii"),
            Axis::Axial,
            3,
            2,
            |_| unreachable!(),
        );
        assert!(e
            .unwrap_err()
            .to_string()
            .contains("do not fit the 4 axial"));
    }
}
