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
    /// True for a DICOM series: voxel (i, j, k) is column i, row j of stored slice k, and its
    /// slices are written back as stored, not turned to radiological orientation.
    stored: bool,
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
            stored: false,
        }
    }

    /// The grid of a DICOM series of `size` (columns, rows) slices sorted along their normal:
    /// each file's Image Orientation Patient and Image Position Patient (in slice order) and
    /// the Pixel Spacing (between rows, between columns). Voxel (i, j, k) is column i, row j
    /// of slice k, at P0 + i Δc r̂ + j Δr ĉ + k Δs n̂ in DICOM's LPS, turned to NIfTI's RAS
    /// (x and y negated), as both sform and qform (scanner anatomical). Refused, saying why,
    /// when a fact is missing, the slices lie different ways, or they are not evenly spaced.
    pub(super) fn from_dicom_series(
        positions: &[Option<[f64; 3]>],
        orientations: &[Option<[f64; 6]>],
        size: (usize, usize),
        pixel_spacing: Option<[f32; 2]>,
    ) -> std::result::Result<Geometry, String> {
        let o = orientations
            .first()
            .copied()
            .flatten()
            .ok_or("its files give no Image Orientation Patient")?;
        if orientations
            .iter()
            .any(|x| x.is_none_or(|x| x.iter().zip(&o).any(|(a, b)| (a - b).abs() > 1e-4)))
        {
            return Err(
                "its slices do not all lie the same way (Image Orientation Patient)".into(),
            );
        }
        let unit = |v: [f64; 3]| {
            let n = v.iter().map(|x| x * x).sum::<f64>().sqrt();
            v.map(|x| x / n)
        };
        let (r, c) = (unit([o[0], o[1], o[2]]), unit([o[3], o[4], o[5]]));
        if r.iter().chain(&c).any(|x| !x.is_finite()) || dot(r, c).abs() > 1e-3 {
            return Err("its Image Orientation Patient is not two perpendicular directions".into());
        }
        let n = cross(r, c);
        let p: Vec<[f64; 3]> = positions
            .iter()
            .copied()
            .collect::<Option<_>>()
            .ok_or("not every file gives an Image Position Patient")?;
        let [dr, dc] = pixel_spacing
            .ok_or("its files give no Pixel Spacing")?
            .map(f64::from);
        let ds = if p.len() > 1 {
            dot(sub(p[1], p[0]), n)
        } else {
            1.0
        };
        if ds.is_nan() || ds < 1e-3 {
            return Err("two of its slices lie at the same position".into());
        }
        let tolerance = (0.01 * ds).max(1e-3);
        for (k, q) in p.iter().enumerate() {
            let even = [0, 1, 2].map(|a| p[0][a] + k as f64 * ds * n[a]);
            let off = dot(sub(*q, even), sub(*q, even)).sqrt();
            if off > tolerance {
                return Err(format!(
                    "its slices are not evenly spaced on one line along their normal (slice {k} \
                     lies {off:.2} mm from where a spacing of {ds:.2} mm puts it)"
                ));
            }
        }
        // LPS to RAS: negate x and y.
        let ras = |v: [f64; 3]| [-v[0], -v[1], v[2]];
        let (r, c, n, p0) = (ras(r), ras(c), ras(n), ras(p[0]));
        let step = [dc, dr, ds];
        let axes = [r, c, n];
        let m = [0, 1, 2].map(|w| [0, 1, 2].map(|a| axes[a][w] * step[a]));
        let srow = [0, 1, 2].map(|w| [m[w][0], m[w][1], m[w][2], p0[w]].map(|x| x as f32));
        let mut rot = [0, 1, 2].map(|w| [0, 1, 2].map(|a| axes[a][w]));
        let qfac = if dot(cross(r, c), n) < 0.0 { -1.0 } else { 1.0 };
        for row in &mut rot {
            row[2] *= qfac;
        }
        let spacing = step.map(|x| x as f32);
        Ok(Geometry {
            dims: [size.0, size.1, p.len()],
            pixdim: [qfac as f32, spacing[0], spacing[1], spacing[2]],
            spacing,
            xyzt_units: 2,
            qform_code: 1,
            sform_code: 1,
            quatern: to_quaternion(rot).map(|x| x as f32),
            qoffset: p0.map(|x| x as f32),
            srow,
            orientation: Orientation::of_matrix(m),
            stored: true,
        })
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
        let l = if self.stored {
            // Slices as stored (a series is cut across its stacking axis only).
            Layout {
                fixed: 2,
                rows: (1, false),
                cols: (0, false),
                width: self.dims[0],
                height: self.dims[1],
            }
        } else {
            Layout::new(self.orientation, self.dims, axis)
        };
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

fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

fn sub(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

/// The NIfTI quaternion (b, c, d) of rotation `r` (rows: world axes), as
/// `nifti_mat44_to_quatern` computes it; the inverse of [`quaternion`].
fn to_quaternion(r: [[f64; 3]; 3]) -> [f64; 3] {
    let a = r[0][0] + r[1][1] + r[2][2] + 1.0;
    let (a, b, c, d) = if a > 0.5 {
        let a = 0.5 * a.sqrt();
        (
            a,
            0.25 * (r[2][1] - r[1][2]) / a,
            0.25 * (r[0][2] - r[2][0]) / a,
            0.25 * (r[1][0] - r[0][1]) / a,
        )
    } else {
        let xd = 1.0 + r[0][0] - (r[1][1] + r[2][2]);
        let yd = 1.0 + r[1][1] - (r[0][0] + r[2][2]);
        let zd = 1.0 + r[2][2] - (r[0][0] + r[1][1]);
        if xd > 1.0 {
            let b = 0.5 * xd.sqrt();
            (
                0.25 * (r[2][1] - r[1][2]) / b,
                b,
                0.25 * (r[0][1] + r[1][0]) / b,
                0.25 * (r[0][2] + r[2][0]) / b,
            )
        } else if yd > 1.0 {
            let c = 0.5 * yd.sqrt();
            (
                0.25 * (r[0][2] - r[2][0]) / c,
                0.25 * (r[0][1] + r[1][0]) / c,
                c,
                0.25 * (r[1][2] + r[2][1]) / c,
            )
        } else {
            let d = 0.5 * zd.sqrt();
            (
                0.25 * (r[1][0] - r[0][1]) / d,
                0.25 * (r[0][2] + r[2][0]) / d,
                0.25 * (r[1][2] + r[2][1]) / d,
                d,
            )
        }
    };
    if a < 0.0 {
        [-b, -c, -d]
    } else {
        [b, c, d]
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

    fn close(a: &[f32], b: &[f32]) -> bool {
        a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-5) && a.len() == b.len()
    }

    /// An axial series (rows to the back, columns to the left, in LPS) and a sagittal one
    /// (columns to the back, rows down, slices to the right): the affine by hand, in RAS.
    #[test]
    fn a_dicom_series_grid_is_its_lps_affine_turned_to_ras() {
        let axial = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0];
        let pos: Vec<_> = (0..3)
            .map(|k| Some([-100.0, -120.0, 10.0 + 2.5 * f64::from(k)]))
            .collect();
        let g =
            Geometry::from_dicom_series(&pos, &[Some(axial); 3], (4, 3), Some([0.8, 0.5])).unwrap();
        assert_eq!(g.dims, [4, 3, 3]);
        assert!(close(&g.pixdim, &[1.0, 0.5, 0.8, 2.5]));
        assert_eq!((g.qform_code, g.sform_code, g.xyzt_units), (1, 1, 2));
        assert!(close(&g.srow[0], &[-0.5, 0.0, 0.0, 100.0]));
        assert!(close(&g.srow[1], &[0.0, -0.8, 0.0, 120.0]));
        assert!(close(&g.srow[2], &[0.0, 0.0, 2.5, 10.0]));
        assert!(close(&g.quatern, &[0.0, 0.0, 1.0]));
        assert!(close(&g.qoffset, &[100.0, 120.0, 10.0]));
        assert_eq!(
            (g.count(Axis::Axial), g.slice_size(Axis::Axial)),
            (3, (4, 3))
        );
        // Slices 1..3 start at the second slice's position.
        let h = g.header(Axis::Axial, 1, 2);
        assert_eq!(h.dim[..4], [3, 4, 3, 2]);
        assert!(close(&h.srow_z, &[0.0, 0.0, 2.5, 12.5]));
        assert!(close(
            &[h.quatern_x, h.quatern_y, h.quatern_z],
            &[100.0, 120.0, 12.5]
        ));

        let sagittal = [0.0, 1.0, 0.0, 0.0, 0.0, -1.0];
        let pos: Vec<_> = (0..4)
            .map(|k| Some([30.0 - 3.0 * f64::from(k), -50.0, 60.0]))
            .collect();
        let g = Geometry::from_dicom_series(&pos, &[Some(sagittal); 4], (5, 6), Some([1.0, 2.0]))
            .unwrap();
        assert_eq!(g.dims, [5, 6, 4]);
        assert!(close(&g.pixdim, &[1.0, 2.0, 1.0, 3.0]));
        assert!(close(&g.srow[0], &[0.0, 0.0, 3.0, -30.0]));
        assert!(close(&g.srow[1], &[-2.0, 0.0, 0.0, 50.0]));
        assert!(close(&g.srow[2], &[0.0, -1.0, 0.0, 60.0]));
        // The qform is the same rotation.
        let r = quaternion(g.quatern.map(f64::from));
        for (w, row) in [[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0]]
            .iter()
            .enumerate()
        {
            for a in 0..3 {
                assert!((r[w][a] - row[a]).abs() < 1e-6, "{r:?}");
            }
        }
        // Slices are written back as stored: pixel (c, r) of slice k is voxel (c, r, k).
        let l = g.layout(Axis::Sagittal).0;
        assert_eq!(l.voxel(2, 4, 1), [1, 4, 2]);
        assert_eq!((l.width, l.height), (5, 6));

        // Refusals, saying why.
        let mut uneven = pos.clone();
        uneven[3] = Some([30.0 - 10.0, -50.0, 60.0]);
        let o = [Some(sagittal); 4];
        let e = Geometry::from_dicom_series(&uneven, &o, (5, 6), Some([1.0, 2.0])).unwrap_err();
        assert!(
            e.contains("not evenly spaced") && e.contains("slice 3"),
            "{e}"
        );
        let e = Geometry::from_dicom_series(&pos, &o, (5, 6), None).unwrap_err();
        assert!(e.contains("Pixel Spacing"), "{e}");
        let mut missing = pos.clone();
        missing[1] = None;
        let e = Geometry::from_dicom_series(&missing, &o, (5, 6), Some([1.0, 2.0])).unwrap_err();
        assert!(e.contains("Image Position Patient"), "{e}");
        let mut turned = o;
        turned[2] = Some(axial);
        let e = Geometry::from_dicom_series(&pos, &turned, (5, 6), Some([1.0, 2.0])).unwrap_err();
        assert!(e.contains("do not all lie the same way"), "{e}");
    }
}
