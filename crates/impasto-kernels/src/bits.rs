//! ReLU masks as bits: one bit per activation, set where it is positive (32× smaller than
//! keeping the activation for the backward pass).

use rayon::prelude::*;

/// Bit `i` is set where `x[i] > 0` (little-endian within each word).
pub fn positive_bits(x: &[f32]) -> Vec<u64> {
    let mut bits = vec![0u64; x.len().div_ceil(64)];
    bits.par_chunks_mut(1024)
        .zip(x.par_chunks(64 * 1024))
        .for_each(|(words, xs)| {
            for (word, chunk) in words.iter_mut().zip(xs.chunks(64)) {
                *word = chunk
                    .iter()
                    .enumerate()
                    .fold(0u64, |w, (i, &v)| w | (((v > 0.0) as u64) << i));
            }
        });
    bits
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_bit_per_positive_value() {
        let x: Vec<f32> = (0..130)
            .map(|i| if i % 3 == 0 { 1.0 } else { -0.5 })
            .collect();
        let bits = positive_bits(&x);
        assert_eq!(bits.len(), 3);
        for (i, v) in x.iter().enumerate() {
            assert_eq!(bits[i / 64] >> (i % 64) & 1 == 1, *v > 0.0, "bit {i}");
        }
    }
}
