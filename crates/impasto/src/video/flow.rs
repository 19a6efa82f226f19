//! Dense optical flow by DIS, Dense Inverse Search (Kroeger et al., ECCV 2016).
//!
//! Coarse to fine over a 2× pyramid: at each level a grid of overlapping square patches of
//! frame A is each matched in frame B by inverse-compositional Gauss-Newton for a 2-D
//! translation, starting from the upsampled coarser flow; the patch displacements are then
//! densified by averaging the overlapping patches, each weighted per pixel by
//! `1 / max(1, |photometric error|)`. No variational refinement is applied.

use rayon::prelude::*;

use super::gray::{sample_plane, Gray};

/// A dense flow field from frame A to frame B: `A(x, y) ≈ B(x + u, y + v)`, in pixels.
#[derive(Clone, Debug, PartialEq)]
pub struct Flow {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// Horizontal displacement, row-major `width * height`.
    pub u: Vec<f32>,
    /// Vertical displacement, row-major `width * height`.
    pub v: Vec<f32>,
}

impl Flow {
    /// The zero flow of a `width`×`height` image.
    pub fn zeros(width: usize, height: usize) -> Self {
        let n = width * height;
        Flow {
            width,
            height,
            u: vec![0.0; n],
            v: vec![0.0; n],
        }
    }

    /// Bilinear sample `(u, v)` at real `(x, y)`, borders clamped.
    #[inline]
    pub fn sample(&self, x: f32, y: f32) -> (f32, f32) {
        (
            sample_plane(&self.u, self.width, self.height, x, y),
            sample_plane(&self.v, self.width, self.height, x, y),
        )
    }

    /// This flow resampled to a `width`×`height` image twice this size (values doubled).
    fn upsample2(&self, width: usize, height: usize) -> Flow {
        let mut out = Flow::zeros(width, height);
        for y in 0..height {
            for x in 0..width {
                let (u, v) =
                    self.sample((x as f32 + 0.5) * 0.5 - 0.5, (y as f32 + 0.5) * 0.5 - 0.5);
                out.u[y * width + x] = 2.0 * u;
                out.v[y * width + x] = 2.0 * v;
            }
        }
        out
    }
}

/// Settings of [`dense_flow`].
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct FlowParams {
    /// Side of the square patches, in pixels.
    pub patch_size: usize,
    /// Distance between neighbouring patches (smaller than `patch_size` so they overlap).
    pub stride: usize,
    /// Gauss-Newton iterations per patch and level.
    pub iterations: usize,
    /// The pyramid stops before a level's shorter side would fall below this.
    pub min_level_size: usize,
}

impl Default for FlowParams {
    /// 8×8 patches at stride 4, 12 iterations, coarsest level at least 16 px.
    fn default() -> Self {
        FlowParams {
            patch_size: 8,
            stride: 4,
            iterations: 12,
            min_level_size: 16,
        }
    }
}

/// Dense flow from `a` to `b` (same size) by DIS; see the module documentation.
///
/// # Panics
/// If the frames differ in size or are empty, or `stride` is 0.
pub fn dense_flow(a: &Gray, b: &Gray, params: &FlowParams) -> Flow {
    assert_eq!(
        (a.width, a.height),
        (b.width, b.height),
        "dense_flow: frames differ in size"
    );
    assert!(a.width > 0 && a.height > 0, "dense_flow: empty frames");
    assert!(params.stride > 0, "dense_flow: stride 0");
    let (pa, pb) = (pyramid(a, params), pyramid(b, params));
    let mut flow: Option<Flow> = None;
    for (ia, ib) in pa.iter().zip(&pb).rev() {
        let init = match flow {
            None => Flow::zeros(ia.width, ia.height),
            Some(f) => f.upsample2(ia.width, ia.height),
        };
        flow = Some(refine_level(ia, ib, &init, params));
    }
    flow.expect("the pyramid has at least one level")
}

/// The pyramid, finest first: the frame lightly smoothed (binomial 3×3, which curbs the
/// bias of bilinear sampling towards whole-pixel displacements), then 2×2 box halvings.
fn pyramid(img: &Gray, params: &FlowParams) -> Vec<Gray> {
    let min = params.min_level_size.max(params.patch_size).max(2);
    let mut levels = vec![img.smoothed()];
    loop {
        let last = levels.last().expect("non-empty");
        if last.width / 2 < min || last.height / 2 < min {
            return levels;
        }
        let next = last.half();
        levels.push(next);
    }
}

/// Patch origins along a side of `n` pixels: every `stride`, plus the last possible one.
fn grid(n: usize, patch: usize, stride: usize) -> Vec<usize> {
    let mut g: Vec<usize> = (0..=n - patch).step_by(stride).collect();
    if *g.last().expect("non-empty") != n - patch {
        g.push(n - patch);
    }
    g
}

/// One pyramid level: fit every patch, then densify.
fn refine_level(a: &Gray, b: &Gray, init: &Flow, params: &FlowParams) -> Flow {
    let p = params.patch_size.min(a.width).min(a.height).max(1);
    let (xs, ys) = (
        grid(a.width, p, params.stride),
        grid(a.height, p, params.stride),
    );
    let (gx, gy) = a.gradients();
    let nx = xs.len();
    let patches: Vec<(f32, f32)> = (0..xs.len() * ys.len())
        .into_par_iter()
        .map(|k| {
            let patch = Patch {
                x0: xs[k % nx],
                y0: ys[k / nx],
                size: p,
            };
            patch.fit(a, b, &gx, &gy, init, params.iterations)
        })
        .collect();
    densify(a, b, &xs, &ys, p, &patches)
}

/// A square patch of frame A.
struct Patch {
    x0: usize,
    y0: usize,
    size: usize,
}

impl Patch {
    /// The translation of this patch into `b` by inverse-compositional Gauss-Newton, started
    /// from `init` at the patch centre. Returns the iterate with the least SSD; the search stops
    /// early once it drifts further than the patch size from the start.
    fn fit(
        &self,
        a: &Gray,
        b: &Gray,
        gx: &[f32],
        gy: &[f32],
        init: &Flow,
        iters: usize,
    ) -> (f32, f32) {
        let c = (self.size as f32 - 1.0) * 0.5;
        let start = init.sample(self.x0 as f32 + c, self.y0 as f32 + c);
        let w = a.width;
        let pixels = || {
            (self.y0..self.y0 + self.size)
                .flat_map(move |y| (self.x0..self.x0 + self.size).map(move |x| (x, y)))
        };
        // Hessian of the template (constant: the inverse-compositional trick), damped a
        // little so textureless directions stay put instead of blowing up.
        let damp = 0.1 * (self.size * self.size) as f32;
        let (mut hxx, mut hxy, mut hyy) = (damp, 0.0f32, damp);
        for (x, y) in pixels() {
            let (ix, iy) = (gx[y * w + x], gy[y * w + x]);
            hxx += ix * ix;
            hxy += ix * iy;
            hyy += iy * iy;
        }
        let det = hxx * hyy - hxy * hxy;
        if det <= 0.0 || !det.is_finite() {
            return start;
        }
        let max_drift2 = (self.size * self.size) as f32;
        let (mut u, mut v) = start;
        let mut best = (start, f32::INFINITY);
        for it in 0..=iters {
            let (mut bx, mut by, mut err) = (0.0f32, 0.0f32, 0.0f32);
            for (x, y) in pixels() {
                let r = b.sample(x as f32 + u, y as f32 + v) - a.at(x, y);
                bx += gx[y * w + x] * r;
                by += gy[y * w + x] * r;
                err += r * r;
            }
            if err < best.1 {
                best = ((u, v), err);
            }
            if it == iters {
                break;
            }
            let du = (hyy * bx - hxy * by) / det;
            let dv = (hxx * by - hxy * bx) / det;
            u -= du;
            v -= dv;
            if (u - start.0).powi(2) + (v - start.1).powi(2) > max_drift2 {
                break;
            }
        }
        best.0
    }
}

/// Dense flow from overlapping patch displacements, each weighted per pixel by
/// `1 / max(1, |B(x + d) - A(x)|)`.
fn densify(
    a: &Gray,
    b: &Gray,
    xs: &[usize],
    ys: &[usize],
    p: usize,
    patches: &[(f32, f32)],
) -> Flow {
    let (w, h) = (a.width, a.height);
    let rows: Vec<(Vec<f32>, Vec<f32>)> = (0..h)
        .into_par_iter()
        .map(|y| {
            let mut su = vec![0.0f32; w];
            let mut sv = vec![0.0f32; w];
            let mut sw = vec![0.0f32; w];
            for (j, &py) in ys.iter().enumerate() {
                if y < py || y >= py + p {
                    continue;
                }
                for (i, &px) in xs.iter().enumerate() {
                    let (du, dv) = patches[j * xs.len() + i];
                    for x in px..px + p {
                        let r = b.sample(x as f32 + du, y as f32 + dv) - a.at(x, y);
                        let wt = 1.0 / r.abs().max(1.0);
                        su[x] += wt * du;
                        sv[x] += wt * dv;
                        sw[x] += wt;
                    }
                }
            }
            for x in 0..w {
                su[x] /= sw[x];
                sv[x] /= sw[x];
            }
            (su, sv)
        })
        .collect();
    let mut flow = Flow::zeros(w, h);
    for (y, (ru, rv)) in rows.into_iter().enumerate() {
        flow.u[y * w..(y + 1) * w].copy_from_slice(&ru);
        flow.v[y * w..(y + 1) * w].copy_from_slice(&rv);
    }
    flow
}
