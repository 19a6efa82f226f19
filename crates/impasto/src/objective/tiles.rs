//! Where the tiles of a tiled evaluation lie: cores that cover the image once, each with a
//! halo as wide as the deepest layer's receptive field, on the grid of the max-pools.

use crate::model::layers::{LayerId, CONVS};
use crate::{Error, Result};

/// How an image is cut: the side of each tile's core and the halo around it, in pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Grid {
    /// Side of a tile's core (a multiple of [`align`] for the layers used).
    pub core: usize,
    /// Pixels of context on each side of the core (at least [`halo`] for the layers used).
    pub halo: usize,
}

/// A rectangle `[x0, x1) × [y0, y1)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rect {
    pub x0: usize,
    pub x1: usize,
    pub y0: usize,
    pub y1: usize,
}

impl Rect {
    /// Width.
    pub fn w(&self) -> usize {
        self.x1 - self.x0
    }

    /// Height.
    pub fn h(&self) -> usize {
        self.y1 - self.y0
    }
}

/// One tile: the pixels it runs (`extent`) and those whose features it answers for (`core`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tile {
    pub extent: Rect,
    pub core: Rect,
}

/// The pooling grid of `layers`: tiles start on multiples of it, so that every max-pool of a
/// tile pairs the pixels the whole image's pairs.
pub fn align(layers: &[LayerId]) -> usize {
    let deepest = layers.iter().map(|l| l.0).max().unwrap_or(0);
    1 << (CONVS[deepest].0 - 1)
}

/// The reach of `layers`' deepest output (how far from a pixel its inputs lie), rounded up to
/// [`align`]: a halo this wide gives a tile's core the whole image's features exactly.
pub fn halo(layers: &[LayerId]) -> usize {
    let deepest = layers.iter().map(|l| l.0).max().unwrap_or(0);
    let (mut reach, mut stride) = (0usize, 1usize);
    for (i, &(_, index)) in CONVS[..=deepest].iter().enumerate() {
        if i > 0 && index == 1 {
            // A 2×2 max-pool reaches one input further, then halves the size.
            reach += stride;
            stride *= 2;
        }
        reach += stride;
    }
    reach.next_multiple_of(align(layers))
}

/// Size of a layer's output for a `w × h` input: halved (rounded down) by each max-pool before it.
pub fn feature_size(w: usize, h: usize, layer: LayerId) -> (usize, usize) {
    let pools = CONVS[layer.0].0 - 1;
    (w >> pools, h >> pools)
}

impl Grid {
    /// One tile holding the whole `w × h` image, for `layers`.
    pub fn whole(w: usize, h: usize, layers: &[LayerId]) -> Grid {
        Grid {
            core: w.max(h).max(1).next_multiple_of(align(layers)),
            halo: halo(layers),
        }
    }

    /// The tiles of a `w × h` image, row by row; checks the grid against `layers`.
    pub fn tiles(&self, w: usize, h: usize, layers: &[LayerId]) -> Result<Vec<Tile>> {
        let (a, need) = (align(layers), halo(layers));
        if self.core == 0 || !self.core.is_multiple_of(a) || self.halo < need {
            return Err(Error::Internal(format!(
                "tiles of {} px with a {} px halo: the layers need cores on a multiple of {a} \
                 and a halo of at least {need}",
                self.core, self.halo
            )));
        }
        let spans = |n: usize| -> Vec<(usize, usize)> {
            (0..n.div_ceil(self.core))
                .map(|i| (i * self.core, ((i + 1) * self.core).min(n)))
                .collect()
        };
        let mut out = Vec::new();
        for &(y0, y1) in &spans(h) {
            for &(x0, x1) in &spans(w) {
                out.push(Tile {
                    core: Rect { x0, x1, y0, y1 },
                    extent: Rect {
                        x0: x0.saturating_sub(self.halo),
                        x1: (x1 + self.halo).min(w),
                        y0: y0.saturating_sub(self.halo),
                        y1: (y1 + self.halo).min(h),
                    },
                });
            }
        }
        Ok(out)
    }
}

impl Tile {
    /// The tile's pixels of a planar image of `channels × h × w`.
    pub fn cut(&self, image: &[f32], channels: usize, w: usize, h: usize) -> Vec<f32> {
        let e = self.extent;
        let mut out = Vec::with_capacity(channels * e.w() * e.h());
        for c in 0..channels {
            for y in e.y0..e.y1 {
                let row = (c * h + y) * w;
                out.extend_from_slice(&image[row + e.x0..row + e.x1]);
            }
        }
        out
    }

    /// Adds the tile's `values` (`channels × extent`) into the planar image `image`.
    pub fn add_into(&self, values: &[f32], channels: usize, w: usize, h: usize, image: &mut [f32]) {
        let e = self.extent;
        for c in 0..channels {
            for (r, y) in (e.y0..e.y1).enumerate() {
                let src = &values[(c * e.h() + r) * e.w()..][..e.w()];
                let row = (c * h + y) * w;
                let dst = &mut image[row + e.x0..row + e.x1];
                dst.iter_mut().zip(src).for_each(|(d, s)| *d += s);
            }
        }
    }

    /// The core at `layer`, in the tile's feature coordinates (the features being
    /// `fw × fh`) and in the whole image's (`w × h` pixels): `(in_tile, in_image)`.
    pub fn core_features(
        &self,
        layer: LayerId,
        (fw, fh): (usize, usize),
        (w, h): (usize, usize),
    ) -> (Rect, Rect) {
        let s = 1 << (CONVS[layer.0].0 - 1);
        let (iw, ih) = feature_size(w, h, layer);
        let (c, e) = (self.core, self.extent);
        // Cores end on the grid or at the image's edge, where the tile's features end too.
        let end =
            |core_end: usize, side: usize, tile_end: usize, start: usize, image_end: usize| {
                if core_end == side {
                    (tile_end, image_end)
                } else {
                    ((core_end - start) / s, core_end / s)
                }
            };
        let (tx1, ix1) = end(c.x1, w, fw, e.x0, iw);
        let (ty1, iy1) = end(c.y1, h, fh, e.y0, ih);
        let tile = Rect {
            x0: (c.x0 - e.x0) / s,
            x1: tx1,
            y0: (c.y0 - e.y0) / s,
            y1: ty1,
        };
        let image = Rect {
            x0: c.x0 / s,
            x1: ix1,
            y0: c.y0 / s,
            y1: iy1,
        };
        (tile, image)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(names: &[&str]) -> Vec<LayerId> {
        names.iter().map(|n| LayerId::parse(n).unwrap()).collect()
    }

    /// conv5_1's receptive field is 2·85 + 1 pixels wide (Simonyan & Zisserman's 3×3 stacks
    /// with four max-pools), so the halo is 85 rounded up to the 16-pixel pooling grid.
    #[test]
    fn halo_is_the_reach_of_the_deepest_layer_on_its_grid() {
        assert_eq!(halo(&ids(&["relu1_1"])), 1);
        assert_eq!(halo(&ids(&["relu1_2"])), 2);
        assert_eq!(halo(&ids(&["relu2_1"])), 6);
        assert_eq!(halo(&ids(&["relu4_2", "relu1_1"])), 48);
        assert_eq!(halo(&ids(&["relu5_1", "relu4_2"])), 96);
        assert_eq!(align(&ids(&["relu5_1"])), 16);
    }

    /// The cores cover every pixel once; extents stay in the image and start on the grid.
    #[test]
    fn cores_cover_the_image_once() {
        let layers = ids(&["relu3_1"]);
        let grid = Grid {
            core: 12,
            halo: halo(&layers),
        };
        let (w, h) = (37, 29);
        let tiles = grid.tiles(w, h, &layers).unwrap();
        let mut seen = vec![0; w * h];
        for t in &tiles {
            assert_eq!(t.extent.x0 % 4, 0);
            assert!(t.extent.x1 <= w && t.extent.y1 <= h);
            for y in t.core.y0..t.core.y1 {
                for x in t.core.x0..t.core.x1 {
                    seen[y * w + x] += 1;
                }
            }
        }
        assert!(seen.iter().all(|&n| n == 1));
        assert!(Grid { core: 10, halo: 16 }.tiles(w, h, &layers).is_err());
        assert!(Grid { core: 12, halo: 4 }.tiles(w, h, &layers).is_err());
    }
}
