//! Large images in overlapping tiles, so that a one-pass's memory stays bounded whatever the
//! size. Convolutions only see `Arch::reach` pixels around each output, so a tile computed
//! with a halo a little wider than that gives its core exactly as the whole image would; the
//! one thing a tile cannot see is the whole image's instance-norm statistics. Those are
//! measured once, in a pass over the image scaled down to [`Tiling::stats_side`], and every
//! tile normalises with them: the tiles agree with each other, so there are no seams.

use impasto_kernels::norm::Moments;

use super::arch::MULTIPLE;
use super::infer::Stats;
use super::net::Runner;
use crate::image::{resize, Rgb};

/// When and how a pass is cut into tiles.
#[derive(Clone, Copy, Debug)]
pub struct Tiling {
    /// Images with more pixels than this are cut into tiles.
    pub max_pixels: usize,
    /// Side of a tile's core, in pixels (a multiple of 4).
    pub tile: usize,
    /// Longer side of the scaled-down copy whose norm statistics every tile uses.
    pub stats_side: usize,
}

impl Default for Tiling {
    /// Whole passes up to 1536 × 1536 (about 0.3 GB for the default network), tiles of 1024
    /// beyond, statistics at 1024 px.
    fn default() -> Self {
        Self {
            max_pixels: 1536 * 1536,
            tile: 1024,
            stats_side: 1024,
        }
    }
}

/// `image` stylised tile by tile (see the module's documentation).
pub(crate) fn stylize_tiled(runner: &Runner, image: &Rgb, mix: &[f32], tiling: Tiling) -> Rgb {
    let (w, h) = (image.width, image.height);
    let (sw, sh) = resize::fit_longer_side(w, h, tiling.stats_side.min(w.max(h)));
    let mut moments: Vec<Vec<Moments>> = Vec::new();
    runner.pass(
        &resize::resize(image, sw, sh),
        mix,
        Stats::Record(&mut moments),
    );
    let halo = (runner.net().arch().reach() + 4 * MULTIPLE).next_multiple_of(MULTIPLE);
    let tile = tiling.tile.next_multiple_of(MULTIPLE);
    let mut out = Rgb::new(w, h, vec![0.0; 3 * w * h]);
    for y0 in (0..h).step_by(tile) {
        for x0 in (0..w).step_by(tile) {
            let (x1, y1) = ((x0 + tile).min(w), (y0 + tile).min(h));
            // The halo's start stays on the 4-pixel grid, so the tile's halvings sample the
            // same pixels as the whole image's.
            let (ex0, ey0) = (x0.saturating_sub(halo), y0.saturating_sub(halo));
            let (ex1, ey1) = ((x1 + halo).min(w), (y1 + halo).min(h));
            let part = crop(image, (ex0, ey0), (ex1, ey1));
            let styled = runner.pass(&part, mix, Stats::Frozen(&moments));
            paste(
                &styled,
                (x0 - ex0, y0 - ey0),
                &mut out,
                (x0, y0),
                (x1 - x0, y1 - y0),
            );
        }
    }
    out
}

/// The pixels of `image` in `[x0, x1) × [y0, y1)`.
fn crop(image: &Rgb, (x0, y0): (usize, usize), (x1, y1): (usize, usize)) -> Rgb {
    let (w, cw, ch) = (image.width, x1 - x0, y1 - y0);
    let mut data = Vec::with_capacity(3 * cw * ch);
    for c in 0..3 {
        let plane = image.plane(c);
        for y in y0..y1 {
            data.extend_from_slice(&plane[y * w + x0..y * w + x1]);
        }
    }
    Rgb::new(cw, ch, data)
}

/// Copies the `size` pixels of `src` at `from` into `dst` at `to`.
fn paste(src: &Rgb, from: (usize, usize), dst: &mut Rgb, to: (usize, usize), size: (usize, usize)) {
    let (sw, dw) = (src.width, dst.width);
    for c in 0..3 {
        let s = src.plane(c);
        let d = dst.plane_mut(c);
        for y in 0..size.1 {
            let si = (from.1 + y) * sw + from.0;
            let di = (to.1 + y) * dw + to.0;
            d[di..di + size.0].copy_from_slice(&s[si..si + size.0]);
        }
    }
}
