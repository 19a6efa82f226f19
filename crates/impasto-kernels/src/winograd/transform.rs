//! The Winograd F(4×4, 3×3) transforms of one band: input planes to `Bᵀ·d·B` (f32 or bf16,
//! in the product kernel's layout) and products back through `Aᵀ·m·A`, 16 tiles at a time,
//! compiled for each instruction set.

use super::{Band, LANES, PANEL};
use crate::conv::ConvInput;
use crate::gemm::{bf16::to_bf16, panel_index};
use crate::{Isa, Shared};

/// Copies input channel `ci` (of `cin`) of the input rows the band's tile rows read into
/// `plane`, masked, padded, and split by column phase: element `(r, j, i)` at
/// `(r * 4 + j) * phase_len + i` holds image column `4i + j - 1` of plane row `r`, and band row
/// `k`'s tiles read plane rows `plane_row(k)..plane_row(k) + 6` (rows `4ty - 1 ..= 4ty + 4`
/// of its image, padded as the input's border says). The six inputs of a tile's row are then
/// four contiguous runs over 16 neighbouring tiles. Channels past `cin` (a bf16 pair's missing
/// half) are zero.
pub(super) fn fill_plane(
    isa: Isa,
    input: ConvInput,
    (ci, cin): (usize, usize),
    band: &Band,
    (plane, row): &mut (Vec<f32>, Vec<f32>),
) {
    let ConvInput { h, w, border, .. } = input;
    let pl = band.phase_len();
    let len = band.plane_rows() * 4 * pl;
    if plane.len() < len {
        plane.resize(len, 0.0);
    }
    // Every element is written below (zeros where there is no image), so nothing is cleared.
    row.resize(4 * pl, 0.0);
    for k in 0..band.rows {
        let (img, ty) = band.row(k);
        // The first two rows are the previous tile row's last two within one image.
        let shared = k > 0 && band.row(k - 1).0 == img;
        for r in if shared { 2 } else { 0 }..6 {
            let dst = &mut plane[(band.plane_row(k) + r) * 4 * pl..][..4 * pl];
            let y = 4 * ty as isize - 1 + r as isize;
            let Some(y) = border.row(y, h).filter(|_| ci < cin) else {
                dst.fill(0.0);
                continue;
            };
            // The row with its padding in front and after: padded column xp = image column
            // xp - 1.
            row[0] = 0.0;
            input.read_row(isa, img * cin + ci, y, &mut row[1..=w]);
            row[w + 1..].fill(0.0);
            border.pad_columns(row, w);
            // SAFETY: plain slices; the body only reads and writes within them.
            unsafe { split_phases(isa, row, dst, pl) };
        }
    }
}

/// `dst[j * pl + i] = row[4i + j]`: a padded row split into its four column phases.
#[inline(always)]
unsafe fn split_phases_body(row: &[f32], dst: &mut [f32], pl: usize) {
    let (p0, rest) = dst.split_at_mut(pl);
    let (p1, rest) = rest.split_at_mut(pl);
    let (p2, p3) = rest.split_at_mut(pl);
    for (i, q) in row.chunks_exact(4).enumerate().take(pl) {
        p0[i] = q[0];
        p1[i] = q[1];
        p2[i] = q[2];
        p3[i] = q[3];
    }
}

dispatch!(split_phases, split_phases_body, (row: &[f32], dst: &mut [f32], pl: usize));

/// Where the input transform writes channel `ci`'s 36 × `tp` values (`tp`: the band's tiles,
/// rounded up to whole panels).
#[derive(Clone, Copy)]
pub(super) enum VDst {
    /// f32 values for the f32 product kernels.
    F32 {
        /// Start of the 36 transformed matrices.
        base: *mut f32,
        /// The channel.
        ci: usize,
        /// Input channels.
        cin: usize,
        /// Columns of each matrix.
        tp: usize,
        /// How each matrix is laid out.
        layout: VLayout,
    },
    /// bf16 halves of the bf16 kernel's pairs (`[36][tp / PANEL][kpairs][PANEL]` pairs).
    Bf16 {
        /// Start of the 36 transformed matrices, as bf16 halves.
        base: *mut u16,
        /// The channel: pair row `ci / 2`, half `ci % 2`.
        ci: usize,
        /// Pair rows (`cin.div_ceil(2)`).
        kpairs: usize,
        /// Columns of each matrix.
        tp: usize,
    },
}

/// Layout of the transformed inputs in f32.
#[derive(Clone, Copy)]
pub(super) enum VLayout {
    /// Packed panels `[36][tp / PANEL][cin][PANEL]` (the AVX-512 kernel's B layout).
    Panels,
    /// Row-major `[36][cin][tp]` (the `gemm` crate).
    Rows,
}

/// The products `[36][cout][tp]` of a band, read for output channel `co`.
#[derive(Clone, Copy)]
pub(super) struct OutSrc<'a> {
    /// The products.
    pub(super) m: &'a [f32],
    /// The output channel.
    pub(super) co: usize,
    /// Output channels.
    pub(super) cout: usize,
    /// Columns of each product.
    pub(super) tp: usize,
}

/// Where output tiles go, and what is added and clamped on the way.
#[derive(Clone, Copy)]
pub(super) struct Placement<'a> {
    /// The band the tiles belong to.
    pub(super) band: &'a Band,
    /// The batch's output, `n × cout × h × w` (`cout` as in [`OutSrc`]).
    pub(super) out: Shared<f32>,
    /// Height of the image.
    pub(super) h: usize,
    /// Width of the image.
    pub(super) w: usize,
    /// The channel's bias.
    pub(super) bias: f32,
    /// Whether ReLU follows.
    pub(super) relu: bool,
}

/// 16 lanes of f32.
type V16 = [f32; LANES];

/// `Bᵀ·d` along one axis for 16 tiles at once.
#[inline(always)]
fn bt(d: [&V16; 6]) -> [V16; 6] {
    let mut r = [[0.0; LANES]; 6];
    for l in 0..LANES {
        let (d0, d1, d2, d3, d4, d5) = (d[0][l], d[1][l], d[2][l], d[3][l], d[4][l], d[5][l]);
        r[0][l] = 4.0 * d0 - 5.0 * d2 + d4;
        r[1][l] = -4.0 * (d1 + d2) + d3 + d4;
        r[2][l] = 4.0 * (d1 - d2) - d3 + d4;
        r[3][l] = 2.0 * (d3 - d1) - d2 + d4;
        r[4][l] = 2.0 * (d1 - d3) - d2 + d4;
        r[5][l] = 4.0 * d1 - 5.0 * d3 + d5;
    }
    r
}

/// `Aᵀ·m` along one axis for 16 tiles at once.
#[inline(always)]
fn at(m: [&V16; 6]) -> [V16; 4] {
    let mut r = [[0.0; LANES]; 4];
    for l in 0..LANES {
        let (m0, m1, m2, m3, m4, m5) = (m[0][l], m[1][l], m[2][l], m[3][l], m[4][l], m[5][l]);
        let (s12, d12, s34, d34) = (m1 + m2, m1 - m2, m3 + m4, m3 - m4);
        r[0][l] = m0 + s12 + s34;
        r[1][l] = d12 + 2.0 * d34;
        r[2][l] = s12 + 4.0 * s34;
        r[3][l] = d12 + 8.0 * d34 + m5;
    }
    r
}

/// The input transform body: `Bᵀ·d·B` for every group of 16 tiles of one channel.
#[inline(always)]
unsafe fn input_transform_body(plane: &[f32], band: &Band, dst: VDst) {
    let pl = band.phase_len();
    // Work arrays live across groups: every element is rewritten each time, and clearing them
    // per group would cost a memset each.
    let mut d = [[[0.0f32; LANES]; 6]; 6];
    let mut t = [[[0.0f32; LANES]; 6]; 6];
    for g in 0..band.groups() {
        let (k, tx0, c0, lanes) = band.group(g);
        for (r, row) in d.iter_mut().enumerate() {
            let prow = &plane[(band.plane_row(k) + r) * 4 * pl..][..4 * pl];
            for (c, v) in row.iter_mut().enumerate() {
                v.copy_from_slice(&prow[(c % 4) * pl + tx0 + c / 4..][..LANES]);
            }
        }
        // Along rows of the tile (index r), column by column, then along columns.
        for c in 0..6 {
            let col = bt([&d[0][c], &d[1][c], &d[2][c], &d[3][c], &d[4][c], &d[5][c]]);
            for i in 0..6 {
                t[i][c] = col[i];
            }
        }
        for (i, ti) in t.iter().enumerate() {
            let row = bt([&ti[0], &ti[1], &ti[2], &ti[3], &ti[4], &ti[5]]);
            for (j, v) in row.iter().enumerate() {
                let p = i * 6 + j;
                match dst {
                    // Where all 16 lanes fit, all are stored (one vector move): lanes past
                    // the real tiles land on the next group's columns, which it writes
                    // after this one, or on padding columns no one reads.
                    VDst::F32 {
                        base,
                        ci,
                        cin,
                        tp,
                        layout: VLayout::Panels,
                    } => {
                        let at = |c: usize| base.add(p * tp * cin + panel_index(ci, cin, c));
                        if c0 % PANEL + LANES <= PANEL {
                            std::ptr::copy_nonoverlapping(v.as_ptr(), at(c0), LANES);
                        } else {
                            // The real lanes cross into the next panel.
                            let mut l = 0;
                            while l < lanes {
                                let c = c0 + l;
                                let run = (PANEL - c % PANEL).min(lanes - l);
                                std::ptr::copy_nonoverlapping(v[l..].as_ptr(), at(c), run);
                                l += run;
                            }
                        }
                    }
                    VDst::F32 {
                        base,
                        ci,
                        cin,
                        tp,
                        layout: VLayout::Rows,
                    } => {
                        let at = base.add((p * cin + ci) * tp + c0);
                        let n = if c0 + LANES <= tp { LANES } else { lanes };
                        std::ptr::copy_nonoverlapping(v.as_ptr(), at, n);
                    }
                    VDst::Bf16 {
                        base,
                        ci,
                        kpairs,
                        tp,
                    } => {
                        let at = |c: usize| {
                            let pair = p * tp * kpairs + panel_index(ci / 2, kpairs, c);
                            base.add(2 * pair + ci % 2)
                        };
                        if c0 % PANEL + LANES <= PANEL {
                            // One panel: the lanes' halves lie every other u16.
                            let at = at(c0);
                            for (l, &x) in v.iter().enumerate() {
                                *at.add(2 * l) = to_bf16(x);
                            }
                        } else {
                            for (l, &x) in v[..lanes].iter().enumerate() {
                                *at(c0 + l) = to_bf16(x);
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The output transform body: `Aᵀ·m·A` + bias, ReLU, for every group of 16 tiles, written
/// to the band's rows of one output channel.
///
/// # Safety
/// `place.out` must hold the batch's output; no other job may write these rows.
#[inline(always)]
unsafe fn output_transform_body(src: OutSrc, place: Placement) {
    let band = place.band;
    // Work arrays live across groups, as in the input transform.
    let mut m = [[[0.0f32; LANES]; 6]; 6];
    let mut t = [[[0.0f32; LANES]; 6]; 4];
    let mut y = [[[0.0f32; LANES]; 4]; 4];
    let mut line = [0.0f32; 4 * LANES];
    for g in 0..band.groups() {
        let (k, tx0, c0, lanes) = band.group(g);
        let (img, ty) = band.row(k);
        for (i, mi) in m.iter_mut().enumerate() {
            for (j, mij) in mi.iter_mut().enumerate() {
                let p = i * 6 + j;
                let row = &src.m[(p * src.cout + src.co) * src.tp..][..src.tp];
                // All 16 lanes where the row has them (one vector move); those past the real
                // tiles are not stored.
                match row.get(c0..c0 + LANES) {
                    Some(all) => mij.copy_from_slice(all),
                    None => mij[..lanes].copy_from_slice(&row[c0..c0 + lanes]),
                }
            }
        }
        for j in 0..6 {
            let col = at([&m[0][j], &m[1][j], &m[2][j], &m[3][j], &m[4][j], &m[5][j]]);
            for a in 0..4 {
                t[a][j] = col[a];
            }
        }
        for a in 0..4 {
            let ta = &t[a];
            y[a] = at([&ta[0], &ta[1], &ta[2], &ta[3], &ta[4], &ta[5]]);
            for row in y[a].iter_mut() {
                for v in row.iter_mut() {
                    *v += place.bias;
                    if place.relu {
                        *v = v.max(0.0);
                    }
                }
            }
        }
        // Columns 4·tx0 .. 4·tx0 + 64 of each output row, interleaved from the tiles.
        let n = (place.w - 4 * tx0).min(4 * LANES);
        let channel = (img * src.cout + src.co) * place.h;
        for (a, ya) in y.iter().enumerate() {
            let yy = 4 * ty + a;
            if yy >= place.h {
                break;
            }
            for l in 0..LANES {
                for b in 0..4 {
                    line[4 * l + b] = ya[b][l];
                }
            }
            let at = place.out.get().add((channel + yy) * place.w + 4 * tx0);
            // Whole groups of one image row, and the rows of 8 and 4 tiles of deep layers,
            // move with a constant length (no call to memcpy).
            match n {
                64 => std::ptr::copy_nonoverlapping(line.as_ptr(), at, 64),
                32 => std::ptr::copy_nonoverlapping(line.as_ptr(), at, 32),
                16 => std::ptr::copy_nonoverlapping(line.as_ptr(), at, 16),
                _ => std::ptr::copy_nonoverlapping(line.as_ptr(), at, n),
            }
        }
    }
}

dispatch!(pub(super) input_transform, input_transform_body, (plane: &[f32], band: &Band, dst: VDst));
dispatch!(pub(super) output_transform, output_transform_body, (src: OutSrc, place: Placement));
