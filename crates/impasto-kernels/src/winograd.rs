//! CPU kernel: 3×3 convolution (stride 1, zero padding 1) by Winograd F(4×4, 3×3).
//!
//! Each 4×4 output tile comes from a 6×6 input tile with 36 multiplications per channel pair
//! instead of 144 (Lavin & Gray, 2016). Inputs and weights are transformed, multiplied as 36
//! independent matrix products over channels (one per tile position), and the products are
//! transformed back. The image goes through in bands of tile rows so the transformed data stays
//! within a fixed budget; inside a band each phase (input transform, products, output
//! transform) runs in parallel. Transforms work on 16 tiles at a time and are compiled for
//! AVX-512, AVX2+FMA or portable code, picked at run time; the products use the AVX-512
//! kernels (f32, or bf16 dot products) or the `gemm` crate.

use std::cell::RefCell;

use rayon::prelude::*;

use super::{gemm_avx512, gemm_bf16, Isa, Mask, Precision, Shared};

/// Tile positions: a 6×6 transformed tile.
const POS: usize = 36;
/// Tiles transformed together (one 512-bit vector of f32).
const LANES: usize = 16;
/// Columns of one packed panel of the product kernels (a multiple of [`LANES`]).
const PANEL: usize = gemm_avx512::NR;
/// Smallest budget for a band's transformed inputs and products, in bytes: about one core's
/// L2 cache, where they stay between the three phases.
const BAND_MIN_BYTES: usize = 2 << 20;
/// Largest budget for a band, in bytes.
const BAND_MAX_BYTES: usize = 32 << 20;

/// The weight transform `G` of F(4×4, 3×3).
const G: [[f64; 3]; 6] = [
    [1.0 / 4.0, 0.0, 0.0],
    [-1.0 / 6.0, -1.0 / 6.0, -1.0 / 6.0],
    [-1.0 / 6.0, 1.0 / 6.0, -1.0 / 6.0],
    [1.0 / 24.0, 1.0 / 12.0, 1.0 / 6.0],
    [1.0 / 24.0, -1.0 / 12.0, 1.0 / 6.0],
    [0.0, 0.0, 1.0],
];

/// Transformed weights of one convolution, laid out for the product kernel chosen at build.
#[derive(Debug)]
pub struct WinogradWeights {
    /// Output channels.
    pub cout: usize,
    /// Input channels.
    pub cin: usize,
    bias: Vec<f32>,
    u: Transformed,
}

/// The 36 transformed weight matrices (`cout × cin` each) in a product kernel's A layout.
#[derive(Debug)]
enum Transformed {
    /// Packed for [`gemm_avx512`].
    Avx512(Vec<f32>),
    /// Packed bf16 pairs for [`gemm_bf16`].
    Bf16(Vec<u32>),
    /// Row-major for the `gemm` crate.
    Rows(Vec<f32>),
}

impl WinogradWeights {
    /// Transforms `w` (`[cout, cin, 3, 3]`) and keeps `bias` (`cout` values, or empty).
    pub fn new(w: &[f32], bias: &[f32], cout: usize, cin: usize, precision: Precision) -> Self {
        assert_eq!(w.len(), cout * cin * 9, "winograd: weight size");
        let mut rows = vec![0.0f32; POS * cout * cin];
        for co in 0..cout {
            for ci in 0..cin {
                let g = &w[(co * cin + ci) * 9..][..9];
                let mut gg = [[0.0f64; 3]; 6];
                for (i, row) in gg.iter_mut().enumerate() {
                    for (c, v) in row.iter_mut().enumerate() {
                        *v = (0..3).map(|r| G[i][r] * g[r * 3 + c] as f64).sum();
                    }
                }
                for i in 0..6 {
                    for j in 0..6 {
                        let u: f64 = (0..3).map(|c| gg[i][c] * G[j][c]).sum();
                        rows[((i * 6 + j) * cout + co) * cin + ci] = u as f32;
                    }
                }
            }
        }
        let per = cout * cin;
        let u = match (precision, Isa::get()) {
            (Precision::Bf16, _) if gemm_bf16::available() => Transformed::Bf16(
                rows.chunks_exact(per)
                    .flat_map(|m| gemm_bf16::pack_a(m, cout, cin))
                    .collect(),
            ),
            (_, Isa::Avx512) => Transformed::Avx512(
                rows.chunks_exact(per)
                    .flat_map(|m| gemm_avx512::pack_a(m, cout, cin))
                    .collect(),
            ),
            _ => Transformed::Rows(rows),
        };
        Self {
            cout,
            cin,
            bias: bias.to_vec(),
            u,
        }
    }

    /// Bytes held by the transformed weights.
    pub fn bytes(&self) -> usize {
        match &self.u {
            Transformed::Avx512(v) | Transformed::Rows(v) => v.len() * 4,
            Transformed::Bf16(v) => v.len() * 4,
        }
    }
}

/// Per-call scratch of the calling thread: transformed inputs (f32 or bf16 pairs) and products.
struct Scratch {
    v: Vec<f32>,
    v16: Vec<u32>,
    m: Vec<f32>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = const { RefCell::new(Scratch { v: Vec::new(), v16: Vec::new(), m: Vec::new() }) };
    /// One zero-padded input plane band per worker thread.
    static PLANE: RefCell<(Vec<f32>, Vec<f32>)> = const { RefCell::new((Vec::new(), Vec::new())) };
}

/// One band of tile rows. Tile `t` of the band is tile `t % txp` of row `ty0 + t / txp`:
/// rows are padded to a multiple of 16 tiles, so every group of 16 lies in one row.
struct Band {
    /// First tile row.
    ty0: usize,
    /// Tile rows in the band.
    rows: usize,
    /// Tiles per row.
    tx_n: usize,
    /// Tiles per row, padded to a multiple of [`LANES`].
    txp: usize,
    /// Tiles rounded up to whole panels.
    padded: usize,
}

impl Band {
    /// Tiles of the band that belong to a row (padding ones included).
    fn tiles(&self) -> usize {
        self.rows * self.txp
    }

    /// Rows of the input plane band: the tiles' rows plus one of padding above and below.
    fn plane_rows(&self) -> usize {
        4 * self.rows + 2
    }

    /// Length of one phase of a plane row (see [`fill_plane`]).
    fn phase_len(&self) -> usize {
        self.txp + 2
    }
}

/// `out[n, cout, h, w] = relu?(conv3x3(x · mask, weights) + bias)`.
#[allow(clippy::too_many_arguments)]
pub fn conv3x3(
    x: &[f32],
    mask: Mask,
    n: usize,
    h: usize,
    w: usize,
    k: &WinogradWeights,
    relu: bool,
    out: &mut [f32],
) {
    let (cin, cout) = (k.cin, k.cout);
    let hw = h * w;
    assert_eq!(x.len(), n * cin * hw, "winograd: input size");
    assert_eq!(out.len(), n * cout * hw, "winograd: output size");
    mask.check(x.len());
    if n == 0 || hw == 0 {
        return;
    }
    let (ty_n, tx_n) = (h.div_ceil(4), w.div_ceil(4));
    let per_tile = POS * (cin + cout) * 4;
    let tx_n_padded = tx_n.div_ceil(LANES) * LANES;
    // Every band reads all the transformed weights, so layers with large weights (deep ones,
    // small images) take larger bands; the others keep theirs in L2.
    let budget = (k.bytes() / 2).clamp(BAND_MIN_BYTES, BAND_MAX_BYTES);
    let rows = (budget / per_tile / tx_n_padded).clamp(1, ty_n);
    let isa = Isa::get();
    let bands = ty_n.div_ceil(rows);
    let band_at = |b: usize| {
        let ty0 = b * rows;
        let rows = rows.min(ty_n - ty0);
        let txp = tx_n.div_ceil(LANES) * LANES;
        Band {
            ty0,
            rows,
            tx_n,
            txp,
            padded: (rows * txp).div_ceil(PANEL) * PANEL,
        }
    };
    let o = Shared(out.as_mut_ptr());
    let job = |j: usize, parallel: bool| {
        let img = j / bands;
        let xi = &x[img * cin * hw..][..cin * hw];
        let mi = mask.image(img, cin * hw);
        // SAFETY: image img's output starts here; each band writes only its own rows.
        let oi = Shared(unsafe { o.get().add(img * cout * hw) });
        SCRATCH.with_borrow_mut(|s| {
            run_band(
                xi,
                mi,
                h,
                w,
                k,
                relu,
                &band_at(j % bands),
                isa,
                s,
                oi,
                parallel,
            )
        });
    };
    if n * bands >= 4 * rayon::current_num_threads() {
        // Many bands: each thread runs whole bands, their data staying in its own caches,
        // with no waiting between phases.
        (0..n * bands).into_par_iter().for_each(|j| job(j, false));
    } else {
        // Few bands (deep layers, small images): the phases of each band run in parallel.
        (0..n * bands).for_each(|j| job(j, true));
    }
}

/// Runs `f(0..n)`, in parallel on rayon when `parallel`.
fn each(parallel: bool, n: usize, f: impl Fn(usize) + Send + Sync) {
    if parallel {
        (0..n).into_par_iter().for_each(f);
    } else {
        (0..n).for_each(f);
    }
}

/// Input transform, 36 products and output transform for one band of one image.
#[allow(clippy::too_many_arguments)]
fn run_band(
    x: &[f32],
    mask: Mask,
    h: usize,
    w: usize,
    k: &WinogradWeights,
    relu: bool,
    band: &Band,
    isa: Isa,
    s: &mut Scratch,
    out: Shared<f32>,
    parallel: bool,
) {
    let (cin, cout, tp) = (k.cin, k.cout, band.padded);
    let bf16 = matches!(k.u, Transformed::Bf16(_));
    if bf16 {
        let len = POS * tp * cin.div_ceil(2);
        if s.v16.len() < len {
            s.v16.resize(len, 0);
        }
    } else if s.v.len() < POS * tp * cin {
        s.v.resize(POS * tp * cin, 0.0);
    }
    if s.m.len() < POS * tp * cout {
        s.m.resize(POS * tp * cout, 0.0);
    }
    let v = Shared(s.v.as_mut_ptr());
    let v16 = Shared(s.v16.as_mut_ptr() as *mut u16);
    let layout = match &k.u {
        Transformed::Avx512(_) | Transformed::Bf16(_) => VLayout::Panels,
        Transformed::Rows(_) => VLayout::Rows,
    };
    // Phase 1: transform every input channel of the band (odd channels of a bf16 pair with
    // their even partner, so a pair is written by one job).
    let step = if bf16 { 2 } else { 1 };
    each(parallel, cin.div_ceil(step), |job| {
        PLANE.with_borrow_mut(|scratch| {
            // A bf16 pair past an odd channel count gets zeros for its missing half.
            for ci in job * step..job * step + step {
                fill_plane(isa, x, mask, ci, h, w, band, scratch);
                let dst = if bf16 {
                    VDst::Bf16 {
                        base: v16.get(),
                        ci,
                        kpairs: cin.div_ceil(2),
                        tp,
                    }
                } else {
                    VDst::F32 {
                        base: v.get(),
                        ci,
                        cin,
                        tp,
                        layout,
                    }
                };
                // SAFETY: each job writes the elements of its own channels only.
                unsafe { input_transform(isa, &scratch.0, band, dst) };
            }
        })
    });
    // Phase 2: the 36 products, split further into column chunks.
    let m = Shared(s.m.as_mut_ptr());
    let panels = tp / PANEL;
    let chunk = panels
        .div_ceil((2 * rayon::current_num_threads()).div_ceil(POS))
        .max(1);
    let chunks = panels.div_ceil(chunk);
    let (v, v16) = (&s.v, &s.v16);
    each(parallel, POS * chunks, |job| {
        let (p, q) = (job / chunks, job % chunks);
        let (c0, c1) = (q * chunk * PANEL, ((q + 1) * chunk * PANEL).min(tp));
        // SAFETY: job (p, q) writes columns c0..c1 of product p only.
        let dst = unsafe { m.get().add(p * cout * tp + c0) };
        match &k.u {
            #[cfg(target_arch = "x86_64")]
            Transformed::Avx512(u) => {
                let a = &u[p * u.len() / POS..][..u.len() / POS];
                let b = &v[p * tp * cin + c0 * cin..];
                // SAFETY: the weights were packed for this kernel, so it is available.
                unsafe { gemm_avx512::gemm_band(cout, cin, c1 - c0, a, b, &[], false, dst, tp) }
            }
            #[cfg(target_arch = "x86_64")]
            Transformed::Bf16(u) => {
                let kp = cin.div_ceil(2);
                let a = &u[p * u.len() / POS..][..u.len() / POS];
                let b = &v16[p * tp * kp + c0 * kp..];
                // SAFETY: as above, for the bf16 kernel.
                unsafe { gemm_bf16::gemm_band(cout, cin, c1 - c0, a, b, &[], false, dst, tp) }
            }
            Transformed::Rows(u) => {
                let a = &u[p * cout * cin..][..cout * cin];
                // SAFETY: b holds cin rows of tp columns; dst holds cout rows at stride tp.
                unsafe {
                    super::gemm_rows(
                        cout,
                        c1 - c0,
                        cin,
                        dst,
                        tp,
                        a.as_ptr(),
                        cin,
                        v[p * tp * cin + c0..].as_ptr(),
                        tp,
                    )
                }
            }
            #[cfg(not(target_arch = "x86_64"))]
            _ => unreachable!("packed layouts exist on x86_64 only"),
        }
    });
    // Phase 3: transform the products back, add the bias, apply ReLU, store.
    let hw = h * w;
    let mv = &s.m;
    each(parallel, cout, |co| {
        let bias = k.bias.get(co).copied().unwrap_or(0.0);
        let src = OutSrc {
            m: mv,
            co,
            cout,
            tp,
        };
        let place = Placement {
            band,
            h,
            w,
            bias,
            relu,
        };
        let (r0, r1) = (4 * band.ty0, (4 * (band.ty0 + band.rows)).min(h));
        // SAFETY: rows r0..r1 of channel co are this band's; this job alone writes them.
        let rows = unsafe {
            std::slice::from_raw_parts_mut(out.get().add(co * hw + r0 * w), (r1 - r0) * w)
        };
        unsafe { output_transform(isa, src, place, rows) };
    });
}

/// Copies input channel `ci` of the band's rows into `plane`, masked, zero-padded, and split
/// by column phase: element `(r, j, i)` at `(r * 4 + j) * phase_len + i` holds image column
/// `4i + j - 1` of band row `r`. The six inputs of a tile's row are then four contiguous
/// runs over 16 neighbouring tiles. Channels past `cin` (a bf16 pair's missing half) are zero.
#[allow(clippy::too_many_arguments)]
fn fill_plane(
    isa: Isa,
    x: &[f32],
    mask: Mask,
    ci: usize,
    h: usize,
    w: usize,
    band: &Band,
    (plane, row): &mut (Vec<f32>, Vec<f32>),
) {
    let pl = band.phase_len();
    let len = band.plane_rows() * 4 * pl;
    if plane.len() < len {
        plane.resize(len, 0.0);
    }
    // Every element is written below (zeros where there is no image), so nothing is cleared.
    row.resize(4 * pl, 0.0);
    let y0 = 4 * band.ty0 as isize - 1;
    for r in 0..band.plane_rows() {
        let y = y0 + r as isize;
        let dst = &mut plane[r * 4 * pl..][..4 * pl];
        if y < 0 || y >= h as isize || ci * h * w >= x.len() {
            dst.fill(0.0);
            continue;
        }
        // The row with one zero in front and zeros after: padded column xp = image column xp - 1.
        let off = (ci * h + y as usize) * w;
        row[0] = 0.0;
        row[1..=w].copy_from_slice(&x[off..][..w]);
        mask.apply(off, &mut row[1..=w]);
        row[w + 1..].fill(0.0);
        // SAFETY: plain slices; the body only reads and writes within them.
        unsafe { split_phases(isa, row, dst, pl) };
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

/// Where the input transform writes channel `ci`'s 36 × `tp` values.
#[derive(Clone, Copy)]
enum VDst {
    F32 {
        base: *mut f32,
        ci: usize,
        cin: usize,
        tp: usize,
        layout: VLayout,
    },
    Bf16 {
        base: *mut u16,
        ci: usize,
        kpairs: usize,
        tp: usize,
    },
}

/// Layout of the transformed inputs in f32.
#[derive(Clone, Copy)]
enum VLayout {
    /// Packed panels `[36][tp / PANEL][cin][PANEL]` (the AVX-512 kernel's B layout).
    Panels,
    /// Row-major `[36][cin][tp]` (the `gemm` crate).
    Rows,
}

/// Reads the products of output channel `co` for the output transform.
#[derive(Clone, Copy)]
struct OutSrc<'a> {
    m: &'a [f32],
    co: usize,
    cout: usize,
    tp: usize,
}

/// Where output tiles go, and what is added and clamped on the way.
#[derive(Clone, Copy)]
struct Placement<'a> {
    band: &'a Band,
    h: usize,
    w: usize,
    bias: f32,
    relu: bool,
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
    for g in 0..band.tiles() / LANES {
        let (ty, tx0) = (g * LANES / band.txp, g * LANES % band.txp);
        for (r, row) in d.iter_mut().enumerate() {
            let prow = &plane[(4 * ty + r) * 4 * pl..][..4 * pl];
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
                let t0 = g * LANES;
                match dst {
                    VDst::F32 {
                        base,
                        ci,
                        cin,
                        tp,
                        layout,
                    } => {
                        let off = match layout {
                            VLayout::Panels => {
                                p * tp * cin + (t0 / PANEL) * cin * PANEL + ci * PANEL + t0 % PANEL
                            }
                            VLayout::Rows => (p * cin + ci) * tp + t0,
                        };
                        std::ptr::copy_nonoverlapping(v.as_ptr(), base.add(off), LANES);
                    }
                    VDst::Bf16 {
                        base,
                        ci,
                        kpairs,
                        tp,
                    } => {
                        let pair = p * tp * kpairs + (t0 / PANEL) * kpairs * PANEL;
                        let at = base.add(2 * (pair + (ci / 2) * PANEL + t0 % PANEL) + ci % 2);
                        for (l, &x) in v.iter().enumerate() {
                            *at.add(2 * l) = gemm_bf16::to_bf16(x);
                        }
                    }
                }
            }
        }
    }
}

/// The output transform body: `Aᵀ·m·A` + bias, ReLU, for every group of 16 tiles; `out` holds
/// the band's rows of one output channel.
#[inline(always)]
unsafe fn output_transform_body(src: OutSrc, place: Placement, out: &mut [f32]) {
    let band = place.band;
    // Work arrays live across groups, as in the input transform.
    let mut m = [[[0.0f32; LANES]; 6]; 6];
    let mut t = [[[0.0f32; LANES]; 6]; 4];
    let mut y = [[[0.0f32; LANES]; 4]; 4];
    let mut line = [0.0f32; 4 * LANES];
    for g in 0..band.tiles() / LANES {
        let t0 = g * LANES;
        let (ty, tx0) = (band.ty0 + t0 / band.txp, t0 % band.txp);
        if tx0 >= band.tx_n {
            continue;
        }
        for (i, mi) in m.iter_mut().enumerate() {
            for (j, mij) in mi.iter_mut().enumerate() {
                let p = i * 6 + j;
                mij.copy_from_slice(&src.m[(p * src.cout + src.co) * src.tp + t0..][..LANES]);
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
            out[(yy - 4 * band.ty0) * place.w + 4 * tx0..][..n].copy_from_slice(&line[..n]);
        }
    }
}

dispatch!(input_transform, input_transform_body, (plane: &[f32], band: &Band, dst: VDst));
dispatch!(output_transform, output_transform_body, (src: OutSrc, place: Placement, out: &mut [f32]));

#[cfg(test)]
mod tests {
    use super::super::conv3x3::{conv3x3_reference, Conv3x3Weights};
    use super::*;
    use crate::testutil::Lcg;

    #[allow(clippy::too_many_arguments)]
    fn run(
        x: &[f32],
        mask: Mask,
        n: usize,
        h: usize,
        w: usize,
        k: &Conv3x3Weights,
        relu: bool,
        p: Precision,
    ) -> Vec<f32> {
        let wk = WinogradWeights::new(&k.w, &k.bias, k.cout, k.cin, p);
        let mut out = vec![f32::NAN; n * k.cout * h * w];
        conv3x3(x, mask, n, h, w, &wk, relu, &mut out);
        out
    }

    /// Largest error relative to the output's magnitude.
    fn rel_err(a: &[f32], b: &[f32]) -> f32 {
        let scale = b.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(1e-6);
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max)
            / scale
    }

    #[test]
    fn matches_the_direct_convolution_on_ragged_shapes() {
        let mut rng = Lcg(41);
        for &(n, cin, cout, h, w) in &[
            (1, 3, 8, 5, 7),
            (2, 4, 3, 1, 1),
            (1, 16, 5, 9, 2),
            (1, 70, 9, 40, 33),
            (1, 64, 64, 17, 70),
        ] {
            let k = Conv3x3Weights {
                cout,
                cin,
                w: rng.vec(cout * cin * 9, 1.0),
                bias: rng.vec(cout, 0.5),
            };
            let x = rng.vec(n * cin * h * w, 2.0);
            for relu in [false, true] {
                let want = conv3x3_reference(&x, n, h, w, &k, relu);
                let got = run(&x, Mask::None, n, h, w, &k, relu, Precision::F32);
                let e = rel_err(&got, &want);
                assert!(e < 2e-5, "{n}×{cin}→{cout} at {h}×{w}: relative error {e}");
                if gemm_bf16::available() {
                    let got = run(&x, Mask::None, n, h, w, &k, relu, Precision::Bf16);
                    let e = rel_err(&got, &want);
                    let num: f64 = got
                        .iter()
                        .zip(&want)
                        .map(|(a, b)| ((a - b) as f64).powi(2))
                        .sum();
                    let den: f64 = want.iter().map(|b| (*b as f64).powi(2)).sum();
                    eprintln!(
                        "bf16 {cin}→{cout} at {h}×{w}: max rel {e}, rms rel {}",
                        (num / den).sqrt()
                    );
                }
            }
        }
    }

    #[test]
    fn masked_inputs_count_as_zero() {
        let mut rng = Lcg(43);
        let (cin, cout, h, w) = (12, 5, 13, 11);
        let k = Conv3x3Weights {
            cout,
            cin,
            w: rng.vec(cout * cin * 9, 1.0),
            bias: Vec::new(),
        };
        let x = rng.vec(cin * h * w, 1.0);
        let mask = rng.vec(cin * h * w, 1.0);
        let xm: Vec<f32> = x
            .iter()
            .zip(&mask)
            .map(|(&v, &m)| if m > 0.0 { v } else { 0.0 })
            .collect();
        let want = conv3x3_reference(&xm, 1, h, w, &k, false);
        let got = run(
            &x,
            Mask::Positive(&mask),
            1,
            h,
            w,
            &k,
            false,
            Precision::F32,
        );
        assert!(rel_err(&got, &want) < 2e-5);
    }

    #[test]
    fn every_instruction_set_gives_the_same_answer() {
        let mut rng = Lcg(47);
        let (cin, cout, h, w) = (20, 10, 21, 19);
        let k = Conv3x3Weights {
            cout,
            cin,
            w: rng.vec(cout * cin * 9, 1.0),
            bias: rng.vec(cout, 1.0),
        };
        let x = rng.vec(cin * h * w, 1.0);
        let want = conv3x3_reference(&x, 1, h, w, &k, true);
        for isa in Isa::supported() {
            let got = Isa::with(isa, || {
                run(&x, Mask::None, 1, h, w, &k, true, Precision::F32)
            });
            let e = rel_err(&got, &want);
            assert!(e < 2e-5, "{isa:?}: relative error {e}");
        }
    }
}
