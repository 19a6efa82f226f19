//! A mask carried down to a layer's feature size, as the guided Gram matrices weight it.

use super::Mask;
use crate::model::layers::{LayerId, CONVS};
use crate::objective::tiles::feature_size;

/// A mask at one layer's feature size: the mean of the mask over each feature's pooling block,
/// shrunk by one feature at the border for hard masks where that leaves anything (features at
/// a region's edge see the neighbouring region too).
#[derive(Clone, Debug)]
pub struct LayerGuide {
    /// Feature width.
    pub width: usize,
    /// Feature height.
    pub height: usize,
    /// Values in 0..1, row by row.
    pub values: Vec<f32>,
    /// `Σ v²`: the weight the guided Gram matrix is normalised by.
    pub weight: f64,
}

impl LayerGuide {
    /// `mask` (at the image's size) at `layer`'s feature size.
    pub fn new(mask: &Mask, layer: LayerId) -> Self {
        let (w, h) = mask.size();
        let (fw, fh) = feature_size(w, h, layer);
        let block = 1usize << (CONVS[layer.0].0 - 1);
        let m = mask.values();
        let mut values = vec![0.0f32; fw * fh];
        for fy in 0..fh {
            for fx in 0..fw {
                let mut sum = 0.0f32;
                for y in fy * block..(fy + 1) * block {
                    sum += m[y * w + fx * block..][..block].iter().sum::<f32>();
                }
                values[fy * fw + fx] = sum / (block * block) as f32;
            }
        }
        if mask.is_hard() {
            let eroded = erode(&values, fw, fh);
            if eroded.iter().any(|&v| v > 0.0) {
                values = eroded;
            }
        }
        let weight = values.iter().map(|&v| (v as f64) * (v as f64)).sum();
        Self {
            width: fw,
            height: fh,
            values,
            weight,
        }
    }

    /// `mask` at each of `layers`.
    pub fn for_layers(mask: &Mask, layers: &[LayerId]) -> Vec<LayerGuide> {
        layers.iter().map(|&l| Self::new(mask, l)).collect()
    }

    /// Share of the features the guide weighs, `Σ v² / (w·h)`.
    pub fn share(&self) -> f64 {
        self.weight / (self.width * self.height).max(1) as f64
    }
}

/// The minimum over each value's 3×3 neighbourhood (inside the image).
fn erode(v: &[f32], w: usize, h: usize) -> Vec<f32> {
    let mut out = vec![0.0; v.len()];
    for y in 0..h {
        for x in 0..w {
            let mut m = f32::INFINITY;
            for ny in y.saturating_sub(1)..(y + 2).min(h) {
                for nx in x.saturating_sub(1)..(x + 2).min(w) {
                    m = m.min(v[ny * w + nx]);
                }
            }
            out[y * w + x] = m;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A half-image mask averages over pooling blocks, and a hard one loses a feature at its
    /// edge at every layer.
    #[test]
    fn guides_follow_the_pooling_and_erode_hard_edges() {
        let (w, h) = (32, 16);
        let left: Vec<f32> = (0..w * h)
            .map(|i| if i % w < 12 { 1.0 } else { 0.0 })
            .collect();
        let soft = Mask::soft(w, h, left.clone()).unwrap();
        // conv3_1: two pools, blocks of 4: columns 0..2 full, column 2 full (8..12), 3 empty.
        let g = LayerGuide::new(&soft, LayerId(4));
        assert_eq!((g.width, g.height), (8, 4));
        assert_eq!(&g.values[..4], &[1.0, 1.0, 1.0, 0.0]);
        assert!((g.weight - 12.0).abs() < 1e-9);
        let hard = Mask::hard(w, h, left).unwrap();
        let g = LayerGuide::new(&hard, LayerId(4));
        assert_eq!(&g.values[..4], &[1.0, 1.0, 0.0, 0.0]);
        assert!((g.share() - 8.0 / 32.0).abs() < 1e-9);
    }
}
