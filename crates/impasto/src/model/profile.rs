//! An opt-in profile of the network: the time of each layer's forward and backward pass.

use super::layers::LayerId;
use super::vgg::{to_bgr_centered, Vgg19};
use crate::image::Rgb;
use crate::Result;

/// Time and work of one layer in a profiled pass.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LayerTime {
    /// Layer name, e.g. `conv3_1`.
    pub layer: String,
    /// Output size: channels, height, width.
    pub shape: [usize; 3],
    /// Forward seconds (convolution, ReLU, mask, and the max-pool in front if any).
    pub forward_s: f64,
    /// Backward seconds (input gradient with the mask fused, max-pool gradient).
    pub backward_s: f64,
    /// Multiply-adds ×2 of the convolution done directly, in GFLOP, per direction: the usual
    /// yardstick, so a Winograd layer's rate can exceed the machine's FMA peak.
    pub gflop: f64,
}

impl Vgg19 {
    /// Median per-layer times of `runs` (at least one) forward and backward passes of a batch
    /// of `batch` copies of `image` through the network alone, to the `deepest` layer, with
    /// that layer's output as its gradient (the ReLU masks make the pass as sparse as a real
    /// one).
    pub fn profile(
        &self,
        image: &Rgb,
        batch: usize,
        deepest: LayerId,
        runs: usize,
    ) -> Result<Vec<LayerTime>> {
        let x = to_bgr_centered(image).repeat(batch.max(1));
        let mut all: Vec<Vec<LayerTime>> = Vec::new();
        for _ in 0..runs.max(1) {
            let shape = [batch.max(1), image.height, image.width];
            let (mut feats, mut tape) = self.record(&x, shape, &[deepest], true)?;
            let (f, _) = feats.pop().expect("one layer asked");
            let f = f.into_f32();
            self.backward(&mut tape, &[deepest], &mut |_, g| {
                g.add(0, &f);
                Ok(())
            })?;
            all.push(tape.layer_times(self));
        }
        let median = |mut v: Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        Ok((0..all[0].len())
            .map(|i| LayerTime {
                forward_s: median(all.iter().map(|r| r[i].forward_s).collect()),
                backward_s: median(all.iter().map(|r| r[i].backward_s).collect()),
                ..all[0][i].clone()
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::random_weights;
    use impasto_kernels::Precision;

    #[test]
    fn every_layer_to_the_deepest_is_timed_both_ways() {
        let model = Vgg19::new(&random_weights(3), Precision::F32).unwrap();
        let image = Rgb::new(12, 10, vec![100.0; 3 * 12 * 10]);
        let times = model.profile(&image, 1, LayerId(2), 3).unwrap();
        let names: Vec<_> = times.iter().map(|t| t.layer.as_str()).collect();
        assert_eq!(names, ["conv1_1", "conv1_2", "conv2_1"]);
        assert_eq!(times[2].shape, [128, 5, 6]);
        for t in &times {
            assert!(t.forward_s > 0.0 && t.backward_s > 0.0, "{t:?}");
        }
        assert_eq!(times[0].gflop, 2.0 * 9.0 * (3 * 64 * 10 * 12) as f64 / 1e9);
    }
}
