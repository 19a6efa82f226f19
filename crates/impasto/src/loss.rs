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

/// Total variation: the mean over pixels (and images) of squared differences to the right and
/// below neighbour.
pub fn total_variation(x: &Tensor) -> Result<Tensor> {
    let (_, _, h, w) = x.dims4()?;
    let dy = x.narrow(2, 1, h - 1)?.sub(&x.narrow(2, 0, h - 1)?)?;
    let dx = x.narrow(3, 1, w - 1)?.sub(&x.narrow(3, 0, w - 1)?)?;
    Ok(((dy.sqr()?.sum_all()? + dx.sqr()?.sum_all()?)? / x.elem_count() as f64)?)
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
        let v = total_variation(&t(&[0.0, 1.0, 3.0, 5.0], (1, 1, 2, 2))).unwrap();
        assert_eq!(v.to_scalar::<f32>().unwrap(), 7.5);
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
