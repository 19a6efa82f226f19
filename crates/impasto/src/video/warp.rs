//! Backward warping along a flow, and the forward-backward consistency check that finds the
//! pixels a warp cannot be trusted at (Sundaram et al. ECCV 2010, as used by Ruder et al. 2016).

use rayon::prelude::*;

use super::flow::Flow;
use crate::image::Rgb;
use crate::video::gray::{gradients, sample_plane};

/// Image rows per parallel job of the per-pixel passes.
pub(crate) const ROWS_PER_JOB: usize = 8;

/// Backward warp: `out(x) = img(x + flow(x))`, bilinear with clamped borders.
///
/// With `flow` the flow from frame A to frame B and `img` frame B, the result is B aligned
/// to A.
///
/// # Panics
/// If the image and the flow differ in size.
pub fn warp_rgb(img: &Rgb, flow: &Flow) -> Rgb {
    assert_eq!(
        (img.width, img.height),
        (flow.width, flow.height),
        "warp_rgb: image and flow differ in size"
    );
    let (w, h) = (img.width, img.height);
    let mut data = vec![0.0; 3 * w * h];
    // One job per row of each channel.
    data.par_chunks_mut(w.max(1))
        .enumerate()
        .with_min_len(ROWS_PER_JOB)
        .for_each(|(row, out)| {
            let (plane, y) = (img.plane(row / h), row % h);
            for (x, o) in out.iter_mut().enumerate() {
                let i = y * w + x;
                *o = sample_plane(plane, w, h, x as f32 + flow.u[i], y as f32 + flow.v[i]);
            }
        });
    Rgb::new(w, h, data)
}

/// Pixels of frame A whose flow cannot be trusted: `true` = occluded or on a motion boundary.
///
/// `fwd` is the flow A→B and `bwd` the flow B→A. A pixel `x` is flagged where the round trip
/// does not return, `|w + ŵ|² > 0.01 (|w|² + |ŵ|²) + 0.5` with `w = fwd(x)` and
/// `ŵ = bwd(x + w)`, i.e. A's pixel is hidden in B; or where `fwd` changes fast,
/// `|∇u|² + |∇v|² > 0.01 |w|² + 0.002` (central differences); or where `x + w` lies outside
/// B by more than half a pixel (content entering the view, which a clamped warp would only
/// smear in from the border). For video, the mask of the
/// pixels of frame *i* that frame *i−1* cannot supply is `occlusion_mask(flow_i→i−1,
/// flow_i−1→i)` (the disoccluded regions of frame *i*).
///
/// # Panics
/// If the flows differ in size.
pub fn occlusion_mask(fwd: &Flow, bwd: &Flow) -> Vec<bool> {
    assert_eq!(
        (fwd.width, fwd.height),
        (bwd.width, bwd.height),
        "occlusion_mask: flows differ in size"
    );
    let (w, h) = (fwd.width, fwd.height);
    let ((ux, uy), (vx, vy)) = rayon::join(|| gradients(&fwd.u, w, h), || gradients(&fwd.v, w, h));
    let mut out = vec![false; w * h];
    out.par_chunks_mut(w.max(1))
        .enumerate()
        .with_min_len(ROWS_PER_JOB)
        .for_each(|(y, row)| {
            for (x, flag) in row.iter_mut().enumerate() {
                let i = y * w + x;
                let (x, y) = (x as f32, y as f32);
                let (u, v) = (fwd.u[i], fwd.v[i]);
                let (bu, bv) = bwd.sample(x + u, y + v);
                let norm2 = u * u + v * v;
                let round_trip = (u + bu).powi(2) + (v + bv).powi(2);
                let inconsistent = round_trip > 0.01 * (norm2 + bu * bu + bv * bv) + 0.5;
                let grad2 = ux[i] * ux[i] + uy[i] * uy[i] + vx[i] * vx[i] + vy[i] * vy[i];
                let boundary = grad2 > 0.01 * norm2 + 0.002;
                let (sx, sy) = (x + u, y + v);
                let outside = !(-0.5..=w as f32 - 0.5).contains(&sx)
                    || !(-0.5..=h as f32 - 0.5).contains(&sy);
                *flag = inconsistent || boundary || outside;
            }
        });
    out
}
