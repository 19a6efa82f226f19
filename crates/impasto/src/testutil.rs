//! Helpers shared by unit tests.

/// A tiny deterministic generator (64-bit LCG) for test data.
pub struct Lcg(pub u64);

impl Lcg {
    /// A uniform value in `[-1, 1)`.
    pub fn next(&mut self) -> f32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }

    /// `n` uniform values in `[-scale, scale)`.
    pub fn vec(&mut self, n: usize, scale: f32) -> Vec<f32> {
        (0..n).map(|_| self.next() * scale).collect()
    }
}

/// VGG19's first `n` convolutions with random weights of He scale (so activations neither die
/// nor explode through the network) and small random biases.
pub fn random_weights(n: usize) -> crate::model::weights::VggWeights {
    use crate::model::layers::CONVS;
    use crate::model::weights::ConvWeights;
    let mut rng = Lcg(17);
    let mut cin = 3;
    let layers = CONVS[..n]
        .iter()
        .map(|&(b, i)| {
            let cout = [64, 128, 256, 512, 512][b as usize - 1];
            let scale = (6.0 / (9 * cin) as f32).sqrt();
            let l = ConvWeights {
                name: format!("block{b}_conv{i}"),
                cout,
                cin,
                w: rng.vec(cout * cin * 9, scale),
                b: rng.vec(cout, 0.1),
            };
            cin = cout;
            l
        })
        .collect();
    crate::model::weights::VggWeights { layers }
}

/// Targets from a random photo and painting of `w × h` (values within ±`scale`) for the
/// layers of `s`: the content features and the style Gram matrices.
pub fn random_targets(
    model: &crate::Vgg19,
    s: &crate::Settings,
    (w, h): (usize, usize),
    scale: f32,
    rng: &mut Lcg,
) -> (Vec<candle_core::Tensor>, Vec<candle_core::Tensor>) {
    use candle_core::{Device, Tensor};
    let mut image = || Tensor::from_vec(rng.vec(3 * w * h, scale), (1, 3, h, w), &Device::Cpu);
    let (photo, painting) = (image().unwrap(), image().unwrap());
    let ids = |l: &[(crate::LayerId, f32)]| l.iter().map(|l| l.0).collect::<Vec<_>>();
    let content = model.features(&photo, &ids(&s.content_layers)).unwrap();
    let style = model
        .features(&painting, &ids(&s.style_layers))
        .unwrap()
        .iter()
        .map(|f| crate::loss::gram(f).unwrap())
        .collect();
    (content, style)
}
