//! Helpers shared by the kernels' unit tests.

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

    /// Convolution weights uniform in `[-1, 1)`, biases in `[-bias, bias)` (none for 0).
    pub fn conv(&mut self, cout: usize, cin: usize, bias: f32) -> crate::conv::Conv3x3Weights {
        crate::conv::Conv3x3Weights {
            cout,
            cin,
            w: self.vec(cout * cin * 9, 1.0),
            bias: if bias == 0.0 {
                Vec::new()
            } else {
                self.vec(cout, bias)
            },
        }
    }
}

/// A 3×3 convolution by a direct six-fold loop (sums in f64): the reference the kernels are
/// tested against.
pub fn conv_reference(
    x: &[f32],
    n: usize,
    h: usize,
    w: usize,
    k: &crate::conv::Conv3x3Weights,
    relu: bool,
) -> Vec<f32> {
    let (cin, cout) = (k.cin, k.cout);
    let mut out = vec![0.0; n * cout * h * w];
    for img in 0..n {
        for co in 0..cout {
            for y in 0..h {
                for xx in 0..w {
                    let mut acc = k.bias.get(co).copied().unwrap_or(0.0) as f64;
                    for ci in 0..cin {
                        for ky in 0..3 {
                            for kx in 0..3 {
                                let sy = y as isize + ky as isize - 1;
                                let sx = xx as isize + kx as isize - 1;
                                if sy < 0 || sx < 0 || sy >= h as isize || sx >= w as isize {
                                    continue;
                                }
                                let v = x[((img * cin + ci) * h + sy as usize) * w + sx as usize];
                                acc += (v * k.w[(co * cin + ci) * 9 + ky * 3 + kx]) as f64;
                            }
                        }
                    }
                    let v = acc as f32;
                    out[((img * cout + co) * h + y) * w + xx] = if relu { v.max(0.0) } else { v };
                }
            }
        }
    }
    out
}

/// `x` with the values where `mask` is not positive set to zero.
pub fn masked(x: &[f32], mask: &[f32]) -> Vec<f32> {
    x.iter()
        .zip(mask)
        .map(|(&v, &m)| if m > 0.0 { v } else { 0.0 })
        .collect()
}
