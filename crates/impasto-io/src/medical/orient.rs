//! How a NIfTI volume's voxel axes lie in the patient (RAS+ world: x to the right, y to the
//! front, z up), and slices cut from it in radiological orientation: anterior or superior up,
//! the patient's right on the image's left, a sagittal slice facing left.

use nifti::NiftiHeader;

use super::axis::Axis;
use super::nifti::NiftiVolume;
use super::slice::Slice;

/// For each world axis (x, y, z): the voxel axis closest to it, and whether the voxel index
/// runs the same way as the world axis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Orientation(pub [(usize, bool); 3]);

impl Orientation {
    /// From the header's sform (if set), else its qform, else the voxel grid as given.
    pub fn from_header(h: &NiftiHeader, pixdim: [f32; 3]) -> Orientation {
        let m = if h.sform_code > 0 {
            [h.srow_x, h.srow_y, h.srow_z].map(|r| [r[0], r[1], r[2]].map(f64::from))
        } else if h.qform_code > 0 {
            let qfac = if h.pixdim[0] < 0.0 { -1.0 } else { 1.0 };
            let scale = [pixdim[0], pixdim[1], pixdim[2] * qfac].map(f64::from);
            let r = quaternion([h.quatern_b, h.quatern_c, h.quatern_d].map(f64::from));
            [0, 1, 2].map(|i| [0, 1, 2].map(|j| r[i][j] * scale[j]))
        } else {
            [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
        };
        Orientation::of_matrix(m)
    }

    /// The nearest axis assignment for voxel-to-world matrix `m` (rows: world axes), taken
    /// greedily by the largest remaining entry so that each voxel axis gets one world axis.
    pub fn of_matrix(m: [[f64; 3]; 3]) -> Orientation {
        let mut map = [(0, true); 3];
        let (mut rows, mut cols) = ([true; 3], [true; 3]);
        for _ in 0..3 {
            let mut best: Option<(f64, usize, usize)> = None;
            for (i, row) in m.iter().enumerate() {
                for (j, v) in row.iter().enumerate() {
                    if rows[i] && cols[j] && best.is_none_or(|b| v.abs() > b.0) {
                        best = Some((v.abs(), i, j));
                    }
                }
            }
            let (_, i, j) = best.expect("a free row and column remain");
            map[i] = (j, m[i][j] >= 0.0);
            rows[i] = false;
            cols[j] = false;
        }
        Orientation(map)
    }
}

/// The rotation of the NIfTI quaternion (b, c, d), with a = √(1 − b² − c² − d²).
pub(super) fn quaternion([b, c, d]: [f64; 3]) -> [[f64; 3]; 3] {
    let a = (1.0 - (b * b + c * c + d * d)).max(0.0).sqrt();
    [
        [
            a * a + b * b - c * c - d * d,
            2.0 * (b * c - a * d),
            2.0 * (b * d + a * c),
        ],
        [
            2.0 * (b * c + a * d),
            a * a + c * c - b * b - d * d,
            2.0 * (c * d - a * b),
        ],
        [
            2.0 * (b * d - a * c),
            2.0 * (c * d + a * b),
            a * a + d * d - c * c - b * b,
        ],
    ]
}

/// The world axes shown down the rows and across the columns of a slice across `axis`.
fn shown(axis: Axis) -> (usize, usize) {
    match axis {
        Axis::Axial => (1, 0),
        Axis::Coronal => (2, 0),
        Axis::Sagittal => (2, 1),
    }
}

/// Where the pixels of a slice across one axis lie in the voxel grid: the voxel axis held
/// fixed, and the voxel axes (and directions) of its rows and columns. Reading a slice and
/// writing one back both go through it, so they cannot disagree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    /// The voxel axis the slice index counts along.
    pub fixed: usize,
    /// The voxel axis down the rows, and whether row 0 is its last voxel.
    pub rows: (usize, bool),
    /// The voxel axis across the columns, and whether column 0 is its last voxel.
    pub cols: (usize, bool),
    /// Slice width (columns) and height (rows) in pixels.
    pub width: usize,
    /// Slice height in pixels.
    pub height: usize,
}

impl Layout {
    /// The layout of slices across `axis` of a `dims` grid lying as `orientation` says, in
    /// radiological orientation: rows run from anterior (axial) or superior (coronal,
    /// sagittal) down, columns from the patient's right (axial, coronal) or front (sagittal).
    pub fn new(orientation: Orientation, dims: [usize; 3], axis: Axis) -> Layout {
        let map = orientation.0;
        let (row_world, col_world) = shown(axis);
        let (rows, cols) = (map[row_world], map[col_world]);
        Layout {
            fixed: map[axis.index()].0,
            rows,
            cols,
            width: dims[cols.0],
            height: dims[rows.0],
        }
    }

    /// The voxel shown at row `r`, column `c` of slice `index`.
    pub fn voxel(&self, index: usize, r: usize, c: usize) -> [usize; 3] {
        // Both shown axes run from the world's high end (front, top, right) down.
        let ri = if self.rows.1 { self.height - 1 - r } else { r };
        let ci = if self.cols.1 { self.width - 1 - c } else { c };
        let mut v = [0; 3];
        v[self.fixed] = index;
        v[self.rows.0] = ri;
        v[self.cols.0] = ci;
        v
    }
}

impl NiftiVolume {
    /// Slices across `axis`: the voxels along the file axis closest to it.
    pub fn count(&self, axis: Axis) -> usize {
        self.dims[self.orientation.0[axis.index()].0]
    }

    /// Slice `index` across `axis` (counted along the file's own voxel axis, as viewers show
    /// voxel coordinates), in radiological orientation ([`Layout::new`]). `index` must be
    /// below [`count`](Self::count).
    pub fn slice(&self, axis: Axis, index: usize) -> Slice {
        let l = Layout::new(self.orientation, self.dims, axis);
        let mut values = Vec::with_capacity(l.width * l.height);
        for r in 0..l.height {
            for c in 0..l.width {
                values.push(self.value(l.voxel(index, r, c)));
            }
        }
        Slice {
            width: l.width,
            height: l.height,
            values,
            default_window: None,
            inverted: false,
            modality: None,
            spacing: Some([self.pixdim[l.rows.0], self.pixdim[l.cols.0]]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_follow_the_largest_entries() {
        // LAS storage: i runs to the left, j to the front, k up.
        let las = Orientation::of_matrix([[-1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]);
        assert_eq!(las.0, [(0, false), (1, true), (2, true)]);
        // Sagittal storage, slightly oblique: i runs up, j to the back, k to the right.
        let sag = Orientation::of_matrix([[0.1, 0.0, 0.9], [0.0, -1.0, 0.2], [1.0, 0.0, 0.0]]);
        assert_eq!(sag.0, [(2, true), (1, false), (0, true)]);
        // The identity quaternion is the voxel grid; (0, 0, 1) turns it half round z.
        assert_eq!(quaternion([0.0, 0.0, 0.0])[0], [1.0, 0.0, 0.0]);
        let half = quaternion([0.0, 0.0, 1.0]);
        assert_eq!(
            Orientation::of_matrix(half).0,
            [(0, false), (1, false), (2, true)]
        );
    }
}
