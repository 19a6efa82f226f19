//! How each scale of a run uses memory, decided before the run: the image whole or in tiles,
//! and how much history the optimiser keeps, so that the run stays inside a budget. The
//! estimates are what `--plan` prints and what refuses a run that cannot fit.

use crate::model::act::Store;
use crate::model::layers::LayerId;
use crate::model::vgg::step_memory_bytes;
pub use crate::objective::tiles::Grid;
use crate::objective::tiles::{self, feature_size};
pub use crate::optim::History;
use crate::settings::{Optimizer, Settings};
use crate::sysmem;
use crate::Precision;

/// Curvature pairs L-BFGS keeps when memory is no concern.
pub const FULL_HISTORY: usize = 20;

/// Tile cores tried, largest (least halo overhead) first.
const CORES: [usize; 4] = [2048, 1024, 512, 256];

/// Share of the available memory a run may use unless told otherwise.
const DEFAULT_SHARE: f64 = 0.6;

/// Bytes one evaluation of the loss network may take unless told otherwise: past it, tiles.
/// A 1024 px tile in bf16 fits; more buys little speed (a tile's halo costs 41% at 1024 px,
/// 19% at 2048) for memory a print-size run's own images need.
pub const DEFAULT_EVALUATION_BYTES: u64 = 1280 << 20;

/// Curvature pairs a tiled scale keeps unless told otherwise: print sizes run a few iterations
/// each, and every pair costs 12 bytes a pixel in bf16 (200 MB at 4096 px).
pub const DEFAULT_TILED_HISTORY: usize = 2;

/// The peak a run keeps to when none is given and it can, by keeping shorter histories: what
/// lets an 8192² print run beside other work on a machine of 8 GB.
pub const DEFAULT_PEAK_BYTES: u64 = 5632 << 20;

/// The memory a run may use when none is given: a share of what is available now (8 GB
/// where the system does not say).
pub fn default_budget() -> u64 {
    sysmem::available_bytes()
        .map(|a| (a as f64 * DEFAULT_SHARE) as u64)
        .unwrap_or(8 << 30)
}

/// Bytes a run holds whatever its size: the process, the loss network's weights with their
/// prepared transforms (forward and adjoint, half the size for bf16 products), and the photo.
pub fn fixed_bytes(precision: Precision, photo_px: usize) -> u64 {
    // VGG19's convolutions up to relu5_1: 12.9 M weights.
    let weights: u64 = 52 << 20;
    // bf16 products take bf16 transforms; f32 products (every CPU without AVX512_BF16) f32.
    let transforms = match precision.bf16_products() {
        true => 4 * weights,
        false => 8 * weights,
    };
    (160 << 20) + weights + transforms + 12 * photo_px as u64
}

/// One scale of a run as planned.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScalePlan {
    /// Width of the image at this scale.
    pub width: usize,
    /// Height of the image at this scale.
    pub height: usize,
    /// Optimiser iterations planned.
    pub iters: usize,
    /// How it runs.
    pub layout: Layout,
    /// Tiles per evaluation (1 for the whole image).
    pub tiles: usize,
    /// Estimated peak bytes of the process during this scale, fixed costs included.
    pub peak_bytes: u64,
    /// Pixels the loss network processes per evaluation, relative to one whole-image pass
    /// (halos and the tiles' extra forward pass included): what the time estimate scales.
    pub work_px: f64,
}

/// Pixels one evaluation processes on `layout`, as whole-image pixels: the whole image, or
/// every tile's extent, plus a third for the tiles' extra forward pass (a forward pass is
/// about a third of a forward and backward one).
pub fn work_px(w: usize, h: usize, layout: Layout, layers: &[LayerId]) -> f64 {
    match layout.grid {
        None => (w * h) as f64,
        Some(g) => {
            let tiles = g.tiles(w, h, layers).unwrap_or_default();
            let px: usize = tiles.iter().map(|t| t.extent.w() * t.extent.h()).sum();
            px as f64 * 4.0 / 3.0
        }
    }
}

/// How one scale runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    /// Tiles for the loss network, or `None` for the whole image at once.
    pub grid: Option<Grid>,
    /// L-BFGS curvature pairs kept.
    pub history: usize,
    /// How the pairs are stored.
    pub storage: History,
}

impl Layout {
    /// The whole image, full history in f32: how small images run.
    pub const WHOLE: Layout = Layout {
        grid: None,
        history: FULL_HISTORY,
        storage: History::F32,
    };
}

/// The layouts tried for a scale, fastest first: whole with full history, whole with a short
/// bf16 history, then tiles from large to small with shorter and shorter histories.
fn candidates(layers: &[LayerId]) -> Vec<Layout> {
    let halo = tiles::halo(layers);
    let mut out = vec![
        Layout::WHOLE,
        Layout {
            grid: None,
            history: 5,
            storage: History::Bf16,
        },
    ];
    for (core, history) in CORES.iter().flat_map(|&c| [(c, 5), (c, 2), (c, 1)]) {
        out.push(Layout {
            grid: Some(Grid { core, halo }),
            history,
            storage: History::Bf16,
        });
    }
    out
}

/// Bytes one scale of `w × h` needs beyond the fixed costs, laid out as `layout`: the
/// optimiser's images (point, gradient, and the line search's direction and new gradient),
/// its history, the content targets, and one evaluation of the loss network (the
/// whole image's, or one tile's with its input and gradient), targets and activations held as
/// `store` says.
pub fn scale_bytes(w: usize, h: usize, s: &Settings, store: Store, layout: Layout) -> u64 {
    let px = (w * h) as u64;
    let image = 12 * px;
    let optimiser = match s.optimizer {
        Optimizer::Lbfgs => {
            // A vector stored as the history is: a pair is two, the direction one.
            let kept = match layout.storage {
                History::F32 => image,
                History::Bf16 => image / 2,
            };
            // The point and the new gradient in f32; the start's gradient, the direction and
            // the pairs as the history is; a bit a value for the line search's clipped ones.
            2 * image + kept * (2 + 2 * layout.history as u64) + image / 32
        }
        Optimizer::Adam { .. } => 4 * image,
    };
    let content = content_bytes(w, h, s, store);
    let evaluation = evaluation_bytes(w, h, s, store, layout);
    // Building the targets holds the photo at this size and the painting prepared to it
    // (each with the network's copy), or the photo, the start and its detail; then a tile's
    // forward pass.
    let targets = content + 4 * image + evaluation;
    (optimiser + content + evaluation).max(targets)
}

/// Bytes of the content targets of a `w × h` scale.
fn content_bytes(w: usize, h: usize, s: &Settings, store: Store) -> u64 {
    s.content_layers
        .iter()
        .map(|&(l, _)| {
            let (fw, fh) = feature_size(w, h, l);
            store.bytes() * channels(l) * (fw * fh) as u64
        })
        .sum()
}

/// Bytes one evaluation of the loss network takes on `layout`: the whole image's step, or one
/// tile's with its input and gradient.
fn evaluation_bytes(w: usize, h: usize, s: &Settings, store: Store, layout: Layout) -> u64 {
    let layers = s.layers();
    match layout.grid {
        None => step_memory_bytes(w, h, &layers, store),
        Some(g) => {
            let (tw, th) = ((g.core + 2 * g.halo).min(w), (g.core + 2 * g.halo).min(h));
            step_memory_bytes(tw, th, &layers, store) + 2 * 12 * (tw * th) as u64
        }
    }
}

/// Output channels of a VGG19 layer.
fn channels(l: LayerId) -> u64 {
    let block = crate::model::layers::CONVS[l.0].0 as usize;
    [64, 128, 256, 512, 512][block - 1]
}

/// The fastest layout of a `w × h` scale of `iters` iterations that fits in `budget` bytes
/// with activations held as `store` says, with its bytes; `None` when even the leanest does
/// not fit. The history is never longer than the pairs `iters` iterations make. Without a
/// budget of the user's ([`Settings::max_memory`]), an evaluation also keeps to
/// [`DEFAULT_EVALUATION_BYTES`] and tiled scales keep at most [`DEFAULT_TILED_HISTORY`] pairs.
pub fn layout_for(
    w: usize,
    h: usize,
    s: &Settings,
    store: Store,
    budget: u64,
    iters: usize,
) -> Option<(Layout, u64)> {
    let layers = s.layers();
    let (cap, tiled_history) = match s.max_memory {
        Some(_) => (u64::MAX, usize::MAX),
        None => (DEFAULT_EVALUATION_BYTES, DEFAULT_TILED_HISTORY),
    };
    candidates(&layers)
        .into_iter()
        .filter(|l| l.grid.is_none() || l.history <= tiled_history)
        .map(|l| Layout {
            history: l.history.min(iters.saturating_sub(1).max(1)),
            ..l
        })
        .filter(|l| l.grid.is_none_or(|g| g.core < w.max(h)))
        // The smallest tiles stay allowed: the cap is a preference, the budget the limit.
        .filter(|&l| {
            l.grid.is_some_and(|g| g.core == CORES[CORES.len() - 1])
                || evaluation_bytes(w, h, s, store, l) <= cap
        })
        .map(|l| (l, scale_bytes(w, h, s, store, l)))
        .find(|&(_, b)| b <= budget)
}

/// Bytes of the leanest layout of a `w × h` scale (what a refused run is told it needs).
pub fn leanest_bytes(w: usize, h: usize, s: &Settings, store: Store) -> u64 {
    let layers = s.layers();
    candidates(&layers)
        .into_iter()
        .map(|l| scale_bytes(w, h, s, store, l))
        .min()
        .unwrap_or(0)
}

/// Memory a forward pass alone may take while a scale's targets are built (or a result is
/// measured): half of what the run's budget leaves beside the `fixed` costs
/// ([`fixed_bytes`]), the other half being the images held meanwhile; without a budget of the
/// user's, no more than an evaluation may take ([`DEFAULT_EVALUATION_BYTES`]).
pub fn forward_budget(s: &Settings, fixed: u64) -> u64 {
    match s.max_memory {
        Some(m) => m.saturating_sub(fixed) / 2,
        None => (default_budget().saturating_sub(fixed) / 2).min(DEFAULT_EVALUATION_BYTES),
    }
}

/// Tiles for a forward pass alone (targets: the photo's features, the painting's Gram
/// matrices) of a `w × h` image to `layers` with activations held as `store` says, or `None`
/// when the whole image fits in `budget`.
pub fn forward_grid(
    w: usize,
    h: usize,
    layers: &[LayerId],
    store: Store,
    budget: u64,
) -> Option<Grid> {
    let deepest = layers.iter().map(|l| l.0).max().unwrap_or(0);
    let whole = forward_bytes(w, h, deepest, layers, store);
    if whole <= budget {
        return None;
    }
    let halo = tiles::halo(layers);
    let core = CORES
        .iter()
        .copied()
        .find(|&c| {
            let side = c + 2 * halo;
            forward_bytes(side.min(w), side.min(h), deepest, layers, store) <= budget / 2
        })
        .unwrap_or(CORES[CORES.len() - 1]);
    Some(Grid { core, halo })
}

/// A forward pass's peak: the two largest activations at once, and the outputs kept.
fn forward_bytes(w: usize, h: usize, deepest: usize, layers: &[LayerId], store: Store) -> u64 {
    let size = |i: usize| {
        let (fw, fh) = feature_size(w, h, LayerId(i));
        store.bytes() * channels(LayerId(i)) * (fw * fh) as u64
    };
    let peak = (0..=deepest).map(size).max().unwrap_or(0);
    2 * peak + layers.iter().map(|l| size(l.0)).sum::<u64>()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Small images run whole with the full history; a budget that cannot hold the whole
    /// image's step gets tiles, and the estimate of the chosen layout is within the budget.
    #[test]
    fn layouts_follow_the_budget() {
        let s = Settings::default();
        let f32 = Store::F32;
        let (layout, bytes) = layout_for(512, 384, &s, f32, 4 << 30, 100).unwrap();
        assert_eq!(layout, Layout::WHOLE);
        assert!(bytes < 1 << 30, "{bytes}");
        let budget = 1500 << 20;
        let (layout, bytes) = layout_for(2048, 1536, &s, f32, budget, 100).unwrap();
        assert!(layout.grid.is_some(), "{layout:?}");
        assert!(bytes <= budget);
        assert!(layout_for(2048, 1536, &s, f32, 100 << 20, 100).is_none());
        // bf16 activations take larger tiles in the same budget.
        let (half, _) = layout_for(2048, 1536, &s, Store::Bf16, budget, 100).unwrap();
        assert!(
            half.grid.unwrap().core > layout.grid.unwrap().core,
            "{half:?}"
        );
    }

    #[test]
    fn forward_passes_tile_when_the_whole_image_does_not_fit() {
        let s = Settings::default();
        let layers = s.layers();
        assert_eq!(forward_grid(512, 512, &layers, Store::F32, 1 << 30), None);
        let g = forward_grid(8192, 8192, &layers, Store::Bf16, 4 << 30).unwrap();
        assert_eq!(g.halo, 96);
        assert!(g.core >= 512, "{g:?}");
    }
}
