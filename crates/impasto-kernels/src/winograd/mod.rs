//! CPU kernel: 3×3 convolution (stride 1, padding 1) by Winograd F(4×4, 3×3).
//!
//! Each 4×4 output tile comes from a 6×6 input tile with 36 multiplications per channel pair
//! instead of 144 (Lavin & Gray, 2016). Inputs and weights are transformed, multiplied as 36
//! independent matrix products over channels (one per tile position), and the products are
//! transformed back. The image goes through in bands of tile rows so the transformed data stays
//! within a fixed budget; inside a band each phase (input transform, products, output
//! transform) runs in parallel. Transforms ([`transform`]) work on 16 tiles at a time and are
//! compiled for AVX-512, AVX2+FMA or portable code; the products use the AVX-512 kernels (f32,
//! or bf16 dot products) or the `gemm` crate.

mod transform;

use std::cell::RefCell;

use rayon::prelude::*;

use crate::conv::{Conv3x3Weights, ConvInput};
use crate::gemm::{self, avx512, bf16, gemm_rows, Kernel, Rows};
use crate::{Isa, Precision, Shared};
use transform::{fill_plane, input_transform, output_transform, OutSrc, Placement, VDst, VLayout};

/// Tile positions: a 6×6 transformed tile.
const POS: usize = 36;
/// Tiles transformed together (one 512-bit vector of f32).
const LANES: usize = 16;
/// Columns of one packed panel of the product kernels (a multiple of [`LANES`]).
const PANEL: usize = gemm::NR;
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

/// Transformed weights of one convolution, laid out for the product kernel of the instruction
/// set they were made for.
#[derive(Debug)]
pub(crate) struct WinogradWeights {
    /// Output channels.
    pub(crate) cout: usize,
    /// Input channels.
    pub(crate) cin: usize,
    bias: Vec<f32>,
    isa: Isa,
    u: Transformed,
}

/// The 36 transformed weight matrices (`cout × cin` each) in a product kernel's A layout.
#[derive(Debug)]
enum Transformed {
    /// Packed for [`avx512::F32`].
    F32Panels(Vec<f32>),
    /// Packed bf16 pairs for [`bf16::Bf16`].
    Bf16Panels(Vec<u32>),
    /// Row-major for the `gemm` crate.
    Rows(Vec<f32>),
}

impl WinogradWeights {
    /// Transforms `k` for `isa`, its products in `precision` where `isa` has bf16, else f32.
    pub(crate) fn new(k: &Conv3x3Weights, precision: Precision, isa: Isa) -> Self {
        let (cout, cin) = (k.cout, k.cin);
        let mut rows = vec![0.0f32; POS * cout * cin];
        for co in 0..cout {
            for ci in 0..cin {
                let g = &k.w[(co * cin + ci) * 9..][..9];
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
        let u = if precision == Precision::Bf16 && isa.has_bf16() {
            Transformed::Bf16Panels(
                rows.chunks_exact(per)
                    .flat_map(|m| bf16::pack_a(m, cout, cin))
                    .collect(),
            )
        } else if isa.has_avx512() {
            Transformed::F32Panels(
                rows.chunks_exact(per)
                    .flat_map(|m| avx512::pack_a(m, cout, cin))
                    .collect(),
            )
        } else {
            Transformed::Rows(rows)
        };
        Self {
            cout,
            cin,
            bias: k.bias.clone(),
            isa,
            u,
        }
    }

    /// Bytes held by the transformed weights.
    fn bytes(&self) -> usize {
        match &self.u {
            Transformed::F32Panels(v) | Transformed::Rows(v) => v.len() * 4,
            Transformed::Bf16Panels(v) => v.len() * 4,
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

/// One band of tile rows of the batch: rows `r0..r0 + rows`, counted over the images (row `r`
/// is tile row `r % ty_n` of image `r / ty_n`). The transforms take each row's tiles 16 at a
/// time (`txp` per row, padded to a multiple of 16); the products take only the real ones,
/// side by side: tile `tx` of band row `k` is product column `k * tx_n + tx`. Small images
/// (deep layers) then waste no product columns on padding, and the images of a batch share
/// each pass over the weights.
struct Band {
    /// First tile row, counted over the batch.
    r0: usize,
    /// Tile rows in the band.
    rows: usize,
    /// Tile rows per image.
    ty_n: usize,
    /// Tiles per row.
    tx_n: usize,
    /// Tiles per row, padded to a multiple of [`LANES`].
    txp: usize,
    /// Product columns: the band's tiles rounded up to whole panels.
    padded: usize,
}

impl Band {
    /// Groups of [`LANES`] tiles the transforms take.
    fn groups(&self) -> usize {
        self.rows * self.txp / LANES
    }

    /// Group `g`'s band row, its first tile in that row, its first product column and how
    /// many of its lanes are real tiles.
    fn group(&self, g: usize) -> (usize, usize, usize, usize) {
        let (k, tx0) = (g * LANES / self.txp, g * LANES % self.txp);
        (k, tx0, k * self.tx_n + tx0, LANES.min(self.tx_n - tx0))
    }

    /// The image and its tile row that band row `k` is.
    fn row(&self, k: usize) -> (usize, usize) {
        ((self.r0 + k) / self.ty_n, (self.r0 + k) % self.ty_n)
    }

    /// The plane row (see [`fill_plane`]) where band row `k`'s six input rows start:
    /// neighbouring tile rows of one image share two, those of different images share none.
    fn plane_row(&self, k: usize) -> usize {
        4 * k + 2 * ((self.r0 + k) / self.ty_n - self.r0 / self.ty_n)
    }

    /// Rows of the input plane band.
    fn plane_rows(&self) -> usize {
        self.plane_row(self.rows - 1) + 6
    }

    /// Length of one phase of a plane row (see [`fill_plane`]).
    fn phase_len(&self) -> usize {
        self.txp + 2
    }
}

/// One convolution of a batch: what all its bands share.
struct Job<'a> {
    /// The whole batch.
    input: ConvInput<'a>,
    k: &'a WinogradWeights,
    relu: bool,
    /// The batch's output, `n × cout × h × w`.
    out: Shared<f32>,
    /// Whether the phases of a band run in parallel.
    parallel: bool,
}

/// `out[n, cout, h, w] = relu?(conv3x3(x · mask, k) + bias)` with the instruction set `k` was
/// made for; sizes are the caller's to check.
pub(crate) fn convolve(input: ConvInput, k: &WinogradWeights, relu: bool, out: &mut [f32]) {
    let (cin, cout) = (k.cin, k.cout);
    let (ty_n, tx_n) = (input.h.div_ceil(4), input.w.div_ceil(4));
    let total = input.n * ty_n;
    let per_tile = POS * (cin + cout) * 4;
    // Every band reads all the transformed weights, so layers with large weights (deep ones,
    // small images) take larger bands; the others keep theirs in L2.
    let budget = (k.bytes() / 2).clamp(BAND_MIN_BYTES, BAND_MAX_BYTES);
    let rows = (budget / per_tile / tx_n).clamp(1, total);
    let bands = total.div_ceil(rows);
    let band_at = |b: usize| {
        let r0 = b * rows;
        let rows = rows.min(total - r0);
        Band {
            r0,
            rows,
            ty_n,
            tx_n,
            txp: tx_n.div_ceil(LANES) * LANES,
            padded: (rows * tx_n).div_ceil(PANEL) * PANEL,
        }
    };
    let out = Shared(out.as_mut_ptr());
    let run = |b: usize, parallel: bool| {
        let job = Job {
            input,
            k,
            relu,
            out,
            parallel,
        };
        SCRATCH.with_borrow_mut(|s| run_band(&job, &band_at(b), s));
    };
    if bands >= 4 * rayon::current_num_threads() {
        // Many bands: each thread runs whole bands, their data staying in its own caches,
        // with no waiting between phases.
        (0..bands).into_par_iter().for_each(|b| run(b, false));
    } else {
        // Few bands (deep layers, small images): the phases of each band run in parallel.
        (0..bands).for_each(|b| run(b, true));
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

/// Input transform, 36 products and output transform for one band.
fn run_band(job: &Job, band: &Band, s: &mut Scratch) {
    let Job {
        input,
        k,
        relu,
        out,
        parallel,
    } = *job;
    let (cin, cout, tp, isa) = (k.cin, k.cout, band.padded, k.isa);
    let bf16 = matches!(k.u, Transformed::Bf16Panels(_));
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
        Transformed::F32Panels(_) | Transformed::Bf16Panels(_) => VLayout::Panels,
        Transformed::Rows(_) => VLayout::Rows,
    };
    // Phase 1: transform every input channel of the band (odd channels of a bf16 pair with
    // their even partner, so a pair is written by one job).
    let step = if bf16 { 2 } else { 1 };
    each(parallel, cin.div_ceil(step), |j| {
        PLANE.with_borrow_mut(|scratch| {
            // A bf16 pair past an odd channel count gets zeros for its missing half.
            for ci in j * step..j * step + step {
                fill_plane(isa, input, (ci, cin), band, scratch);
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
    each(parallel, POS * chunks, |j| {
        let (p, q) = (j / chunks, j % chunks);
        let cols = (q * chunk * PANEL, ((q + 1) * chunk * PANEL).min(tp));
        // SAFETY: job (p, q) writes columns cols of product p only.
        let dst = unsafe { m.get().add(p * cout * tp + cols.0) };
        let product = Product {
            p,
            cols,
            cout,
            cin,
            tp,
            dst,
        };
        match &k.u {
            // SAFETY: the weights were packed for these kernels because the instruction set
            // has them; the inputs were transformed into their layout.
            #[cfg(target_arch = "x86_64")]
            Transformed::F32Panels(u) => unsafe { product.panels::<avx512::F32>(u, v) },
            #[cfg(target_arch = "x86_64")]
            Transformed::Bf16Panels(u) => unsafe { product.panels::<bf16::Bf16>(u, v16) },
            // SAFETY: v holds cin rows of tp columns per product; dst cout rows at stride tp.
            Transformed::Rows(u) => unsafe { product.rows(u, v) },
            #[cfg(not(target_arch = "x86_64"))]
            _ => unreachable!("packed layouts exist on x86_64 only"),
        }
    });
    // Phase 3: transform the products back, add the bias, apply ReLU, store.
    let mv = &s.m;
    each(parallel, cout, |co| {
        let src = OutSrc {
            m: mv,
            co,
            cout,
            tp,
        };
        let place = Placement {
            band,
            h: input.h,
            w: input.w,
            bias: k.bias.get(co).copied().unwrap_or(0.0),
            relu,
            out,
        };
        // SAFETY: the band's rows of channel co are written by this job alone.
        unsafe { output_transform(isa, src, place) };
    });
}

/// One job of the products phase: columns `cols` of product `p` (`cout × cin` weights times
/// `cin × tp` transformed inputs), written at `dst` with row stride `tp`.
#[derive(Clone, Copy)]
struct Product {
    p: usize,
    cols: (usize, usize),
    cout: usize,
    cin: usize,
    tp: usize,
    dst: *mut f32,
}

impl Product {
    /// The product with AVX-512 kernel `K` on packed weights `u` and inputs `v`.
    ///
    /// # Safety
    /// The instruction set in force must have `K`; `u` and `v` must be in `K`'s layout.
    #[cfg(target_arch = "x86_64")]
    unsafe fn panels<K: Kernel>(&self, u: &[K::Elem], v: &[K::Elem]) {
        let Product {
            p, cols, cin, tp, ..
        } = *self;
        let steps = K::steps(cin);
        let a = &u[p * u.len() / POS..][..u.len() / POS];
        let b = &v[(p * tp + cols.0) * steps..];
        let ops = gemm::Operands::new(self.cout, cin, cols.1 - cols.0, a, b);
        gemm::band::<K>(ops, gemm::Dest::plain(self.dst, tp))
    }

    /// The product with the `gemm` crate on row-major weights `u` and inputs `v`.
    ///
    /// # Safety
    /// `v` must hold `cin` rows of `tp` columns for each product; `dst` `cout` rows.
    unsafe fn rows(&self, u: &[f32], v: &[f32]) {
        let Product {
            p,
            cols,
            cout,
            cin,
            tp,
            dst,
        } = *self;
        let a = &u[p * cout * cin..][..cout * cin];
        gemm_rows(
            (cout, cols.1 - cols.0, cin),
            Rows { ptr: dst, ld: tp },
            Rows {
                ptr: a.as_ptr(),
                ld: cin,
            },
            Rows {
                ptr: v[p * tp * cin + cols.0..].as_ptr(),
                ld: tp,
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{conv_reference, masked, Lcg};
    use crate::Mask;

    /// The convolution of `input` by `k` with Winograd for `isa` in precision `p`.
    fn run(input: ConvInput, k: &Conv3x3Weights, relu: bool, p: Precision, isa: Isa) -> Vec<f32> {
        let wk = WinogradWeights::new(k, p, isa);
        let mut out = vec![f32::NAN; input.n * k.cout * input.hw()];
        convolve(input, &wk, relu, &mut out);
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
            let k = rng.conv(cout, cin, 0.5);
            let x = rng.vec(n * cin * h * w, 2.0);
            let input = ConvInput::new(&x, n, h, w);
            for relu in [false, true] {
                let want = conv_reference(&x, n, h, w, &k, relu);
                let got = run(input, &k, relu, Precision::F32, Isa::get());
                let e = rel_err(&got, &want);
                assert!(e < 2e-5, "{n}×{cin}→{cout} at {h}×{w}: relative error {e}");
                if Isa::get().has_bf16() {
                    let got = run(input, &k, relu, Precision::Bf16, Isa::get());
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

    /// Bands span images (8 tile rows per image, 6 per band here) and products put the tiles
    /// of several images side by side: each image still gets what it gets alone, in every
    /// instruction set and precision.
    #[test]
    fn a_batch_gives_each_image_its_own_convolution() {
        let mut rng = Lcg(53);
        for &(n, h, w) in &[(3, 30, 70), (5, 9, 7)] {
            let (cin, cout) = (64, 64);
            let k = rng.conv(cout, cin, 0.5);
            let x = rng.vec(n * cin * h * w, 1.0);
            let mask = rng.vec(n * cin * h * w, 1.0);
            for isa in Isa::supported() {
                for p in [Precision::F32, Precision::Bf16] {
                    let input = ConvInput::new(&x, n, h, w).masked(Mask::Positive(&mask));
                    let all = run(input, &k, true, p, isa);
                    let one = cin * h * w;
                    for (img, got) in all.chunks(cout * h * w).enumerate() {
                        let (x, m) = (&x[img * one..][..one], &mask[img * one..][..one]);
                        let alone = ConvInput::new(x, 1, h, w).masked(Mask::Positive(m));
                        let want = run(alone, &k, true, p, isa);
                        let e = rel_err(got, &want);
                        assert!(e < 1e-6, "{isa:?} {p:?} {n}×{h}×{w}, image {img}: {e}");
                    }
                }
            }
        }
    }

    #[test]
    fn masked_inputs_count_as_zero() {
        let mut rng = Lcg(43);
        let (cin, cout, h, w) = (12, 5, 13, 11);
        let k = rng.conv(cout, cin, 0.0);
        let x = rng.vec(cin * h * w, 1.0);
        let mask = rng.vec(cin * h * w, 1.0);
        let want = conv_reference(&masked(&x, &mask), 1, h, w, &k, false);
        for isa in Isa::supported() {
            let input = ConvInput::new(&x, 1, h, w).masked(Mask::Positive(&mask));
            let got = run(input, &k, false, Precision::F32, isa);
            assert!(rel_err(&got, &want) < 2e-5, "{isa:?}");
        }
    }

    #[test]
    fn every_instruction_set_gives_the_same_answer() {
        let mut rng = Lcg(47);
        let (cin, cout, h, w) = (20, 10, 21, 19);
        let k = rng.conv(cout, cin, 1.0);
        let x = rng.vec(cin * h * w, 1.0);
        let want = conv_reference(&x, 1, h, w, &k, true);
        for isa in Isa::supported() {
            let got = run(ConvInput::new(&x, 1, h, w), &k, true, Precision::F32, isa);
            let e = rel_err(&got, &want);
            assert!(e < 2e-5, "{isa:?}: relative error {e}");
        }
    }
}
