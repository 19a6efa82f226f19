//! Activations and gradients held between layers in f32 or, to halve their memory, in bf16
//! (arithmetic stays f32 on every CPU: values are widened to f32 band by band).

use half::bf16;
use rayon::prelude::*;

/// How a pass holds its activations, features and gradients between layers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Store {
    /// f32: exact, twice the memory.
    F32,
    /// bf16: half the memory, values rounded to 8 significant bits.
    Bf16,
}

impl Store {
    /// Bytes per value.
    pub fn bytes(self) -> u64 {
        match self {
            Store::F32 => 4,
            Store::Bf16 => 2,
        }
    }

    /// The tensor type of values held so.
    pub fn dtype(self) -> candle_core::DType {
        match self {
            Store::F32 => candle_core::DType::F32,
            Store::Bf16 => candle_core::DType::BF16,
        }
    }
}

/// Values held as [`Store`] says.
#[derive(Clone, Debug)]
pub(crate) enum Act {
    /// f32 values.
    F32(Vec<f32>),
    /// bf16 values.
    Bf16(Vec<bf16>),
}

/// Values converted per parallel job.
const CHUNK: usize = 1 << 16;

impl Act {
    /// `len` zeros.
    pub fn zeros(store: Store, len: usize) -> Act {
        match store {
            Store::F32 => Act::F32(vec![0.0; len]),
            Store::Bf16 => Act::Bf16(vec![bf16::ZERO; len]),
        }
    }

    /// `v` held as `store` says (rounded for bf16).
    #[cfg(test)]
    pub fn from_f32(store: Store, v: Vec<f32>) -> Act {
        match store {
            Store::F32 => Act::F32(v),
            Store::Bf16 => {
                let mut out = vec![bf16::ZERO; v.len()];
                narrow(&v, &mut out);
                Act::Bf16(out)
            }
        }
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        match self {
            Act::F32(v) => v.len(),
            Act::Bf16(v) => v.len(),
        }
    }

    /// The values as f32 (a copy for bf16).
    pub fn into_f32(self) -> Vec<f32> {
        match self {
            Act::F32(v) => v,
            Act::Bf16(v) => {
                let mut out = vec![0.0; v.len()];
                widen(&v, &mut out);
                out
            }
        }
    }

    /// `dst = self[start..start + dst.len()]`, widened to f32.
    pub fn read(&self, start: usize, dst: &mut [f32]) {
        match self {
            Act::F32(v) => dst.copy_from_slice(&v[start..][..dst.len()]),
            Act::Bf16(v) => widen(&v[start..][..dst.len()], dst),
        }
    }

    /// `self[start..start + src.len()] = src`, rounded for bf16.
    pub fn write(&mut self, start: usize, src: &[f32]) {
        match self {
            Act::F32(v) => v[start..][..src.len()].copy_from_slice(src),
            Act::Bf16(v) => narrow(src, &mut v[start..][..src.len()]),
        }
    }

    /// `self[start..start + src.len()] += src`.
    pub fn add(&mut self, start: usize, src: &[f32]) {
        if src.len() <= CHUNK {
            match self {
                Act::F32(v) => v[start..][..src.len()]
                    .iter_mut()
                    .zip(src)
                    .for_each(|(d, s)| *d += s),
                Act::Bf16(v) => v[start..][..src.len()]
                    .iter_mut()
                    .zip(src)
                    .for_each(|(d, s)| *d = bf16::from_f32(d.to_f32() + s)),
            }
            return;
        }
        match self {
            Act::F32(v) => v[start..][..src.len()]
                .par_chunks_mut(CHUNK)
                .zip(src.par_chunks(CHUNK))
                .for_each(|(d, s)| d.iter_mut().zip(s).for_each(|(d, s)| *d += s)),
            Act::Bf16(v) => v[start..][..src.len()]
                .par_chunks_mut(CHUNK)
                .zip(src.par_chunks(CHUNK))
                .for_each(|(d, s)| {
                    d.iter_mut()
                        .zip(s)
                        .for_each(|(d, s)| *d = bf16::from_f32(d.to_f32() + s))
                }),
        }
    }

    /// One bit per value, set where it is positive (little-endian within each word): the ReLU
    /// mask a backward pass needs. bf16 keeps the sign of every f32 it rounds.
    pub fn positive_bits(&self) -> Vec<u64> {
        match self {
            Act::F32(v) => impasto_kernels::bits::positive_bits(v),
            Act::Bf16(v) => {
                let mut bits = vec![0u64; v.len().div_ceil(64)];
                bits.par_chunks_mut(1024)
                    .zip(v.par_chunks(64 * 1024))
                    .for_each(|(words, xs)| {
                        for (word, chunk) in words.iter_mut().zip(xs.chunks(64)) {
                            *word = chunk.iter().enumerate().fold(0u64, |w, (i, &x)| {
                                w | (((x.to_bits() as i16 > 0) as u64) << i)
                            });
                        }
                    });
                bits
            }
        }
    }
}

/// `dst = src` widened to f32 (in parallel when long).
pub(crate) fn widen(src: &[bf16], dst: &mut [f32]) {
    if dst.len() <= CHUNK {
        dst.iter_mut().zip(src).for_each(|(d, s)| *d = s.to_f32());
        return;
    }
    dst.par_chunks_mut(CHUNK)
        .zip(src.par_chunks(CHUNK))
        .for_each(|(d, s)| d.iter_mut().zip(s).for_each(|(d, s)| *d = s.to_f32()));
}

/// `dst = src` rounded to bf16 (to nearest, ties to even; in parallel when long).
pub(crate) fn narrow(src: &[f32], dst: &mut [bf16]) {
    if dst.len() <= CHUNK {
        dst.iter_mut()
            .zip(src)
            .for_each(|(d, s)| *d = bf16::from_f32(*s));
        return;
    }
    dst.par_chunks_mut(CHUNK)
        .zip(src.par_chunks(CHUNK))
        .for_each(|(d, s)| {
            d.iter_mut()
                .zip(s)
                .for_each(|(d, s)| *d = bf16::from_f32(*s))
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bf16_rounds_to_eight_bits_and_keeps_signs() {
        let v: Vec<f32> = (0..200).map(|i| (i as f32 - 100.0) * 1.37).collect();
        let a = Act::from_f32(Store::Bf16, v.clone());
        let mut back = vec![0.0; 50];
        a.read(100, &mut back);
        for (x, y) in v[100..150].iter().zip(&back) {
            assert!((x - y).abs() <= x.abs() / 256.0, "{x} read back as {y}");
        }
        let bits = a.positive_bits();
        let want = Act::F32(v.clone()).positive_bits();
        assert_eq!(bits, want);
        let mut b = Act::zeros(Store::Bf16, 4);
        b.add(1, &[1.5, -2.0]);
        b.add(1, &[1.0, 0.0]);
        assert_eq!(b.into_f32(), vec![0.0, 2.5, -2.0, 0.0]);
    }
}
