//! Loss terms: content (feature MSE), style (Gram-matrix MSE) and total variation.

use candle_core::Tensor;

use crate::Result;

/// Gram matrices `F·Fᵀ / (C·H·W)` of `[n, c, h, w]` features, as `[n, c, c]` in f32.
pub fn gram(features: &Tensor) -> Result<Tensor> {
    Ok(crate::ops::Gram::apply(features)?)
}

/// Mean squared difference between `a` and `b`, `b` broadcast to `a`'s shape (one target for
/// a batch).
pub fn mse(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    Ok(a.broadcast_sub(b)?.sqr()?.mean_all()?)
}

/// Total variation of `planes` planar `w × h` planes: the mean over values of the squared
/// differences to the right and below neighbours. Adds `weight ×` its gradient to `g`.
pub fn total_variation(
    x: &[f32],
    planes: usize,
    w: usize,
    h: usize,
    weight: f32,
    g: &mut [f32],
) -> f64 {
    let n = (planes * w * h) as f64;
    let k = (2.0 * weight as f64 / n) as f32;
    let mut sum = 0.0f64;
    for (p, gp) in x.chunks(w * h).zip(g.chunks_mut(w * h)).take(planes) {
        for y in 0..h {
            for xx in 0..w {
                let i = y * w + xx;
                if xx + 1 < w {
                    let d = p[i + 1] - p[i];
                    sum += (d * d) as f64;
                    gp[i + 1] += k * d;
                    gp[i] -= k * d;
                }
                if y + 1 < h {
                    let d = p[i + w] - p[i];
                    sum += (d * d) as f64;
                    gp[i + w] += k * d;
                    gp[i] -= k * d;
                }
            }
        }
    }
    sum / n
}

/// Cosine similarity between two flattened Gram matrices.
pub fn gram_cosine(a: &Tensor, b: &Tensor) -> Result<f32> {
    let a = a.flatten_all()?;
    let b = b.flatten_all()?;
    let dot = a.mul(&b)?.sum_all()?.to_scalar::<f32>()?;
    let na = a.sqr()?.sum_all()?.sqrt()?.to_scalar::<f32>()?;
    let nb = b.sqr()?.sum_all()?.sqrt()?.to_scalar::<f32>()?;
    Ok(dot / (na * nb).max(f32::MIN_POSITIVE))
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    fn t(v: &[f32], dims: (usize, usize, usize, usize)) -> Tensor {
        Tensor::from_vec(v.to_vec(), dims, &Device::Cpu).unwrap()
    }

    #[test]
    fn gram_by_hand() {
        // Two channels over a 1×2 image: F = [[1, 2], [3, 4]].
        // F·Fᵀ = [[5, 11], [11, 25]], divided by C·H·W = 4.
        let g = gram(&t(&[1.0, 2.0, 3.0, 4.0], (1, 2, 1, 2))).unwrap();
        let v: Vec<f32> = g.flatten_all().unwrap().to_vec1().unwrap();
        assert_eq!(v, vec![1.25, 2.75, 2.75, 6.25]);
    }

    #[test]
    fn tv_by_hand() {
        // 2×2 image [[0, 1], [3, 5]]: vertical diffs 3, 4; horizontal 1, 2.
        // (9 + 16 + 1 + 4) / 4 pixels = 7.5.
        let mut g = vec![0.0; 4];
        assert_eq!(
            total_variation(&[0.0, 1.0, 3.0, 5.0], 1, 2, 2, 1.0, &mut g),
            7.5
        );
    }

    /// The gradient is the central finite difference of the weighted term.
    #[test]
    fn tv_gradient_matches_finite_differences() {
        let (w, h) = (5, 4);
        let x: Vec<f32> = (0..2 * w * h)
            .map(|i| ((i * 37 % 11) as f32) * 0.7)
            .collect();
        let mut g = vec![0.0; x.len()];
        total_variation(&x, 2, w, h, 3.0, &mut g);
        let tv = |x: &[f32]| 3.0 * total_variation(x, 2, w, h, 0.0, &mut vec![0.0; x.len()]);
        for i in 0..x.len() {
            let (mut up, mut down) = (x.clone(), x.clone());
            up[i] += 0.01;
            down[i] -= 0.01;
            let fd = (tv(&up) - tv(&down)) / 0.02;
            assert!((fd - g[i] as f64).abs() < 1e-3, "{i}: {fd} vs {}", g[i]);
        }
    }

    #[test]
    fn mse_and_cosine_by_hand() {
        let a = t(&[1.0, 2.0, 3.0, 4.0], (1, 1, 2, 2));
        let b = t(&[1.0, 0.0, 3.0, 0.0], (1, 1, 2, 2));
        assert_eq!(mse(&a, &b).unwrap().to_scalar::<f32>().unwrap(), 5.0);
        // cos = (1 + 9) / (sqrt(30) · sqrt(10)) = 10 / sqrt(300)
        let c = gram_cosine(&a, &b).unwrap();
        assert!((c - 10.0 / 300f32.sqrt()).abs() < 1e-6);
        assert!((gram_cosine(&a, &a).unwrap() - 1.0).abs() < 1e-6);
    }
}
