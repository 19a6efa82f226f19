//! Which inputs of a convolution count: a ReLU's derivative applied on the way in.

use crate::Isa;

/// Which inputs of a convolution count as zero: a ReLU's derivative applied on the way in.
#[derive(Clone, Copy)]
pub enum Mask<'a> {
    /// Every input counts.
    None,
    /// Inputs count where this tensor (a ReLU output) is positive.
    Positive(&'a [f32]),
    /// Inputs count where the bit is set (bit `offset + i` for input `i`).
    Bits {
        /// One bit per element, little-endian within each word.
        bits: &'a [u64],
        /// Bit of input element 0.
        offset: usize,
    },
}

impl<'a> Mask<'a> {
    /// Panics unless the mask covers `len` inputs.
    pub(crate) fn check(&self, len: usize) {
        match self {
            Mask::None => {}
            Mask::Positive(m) => assert_eq!(m.len(), len, "mask size"),
            Mask::Bits { bits, offset } => assert!(bits.len() * 64 >= offset + len, "mask size"),
        }
    }

    /// The part of the mask for image `img` of a batch whose images have `len` inputs each.
    pub(crate) fn image(&self, img: usize, len: usize) -> Mask<'a> {
        match *self {
            Mask::None => Mask::None,
            Mask::Positive(m) => Mask::Positive(&m[img * len..][..len]),
            Mask::Bits { bits, offset } => Mask::Bits {
                bits,
                offset: offset + img * len,
            },
        }
    }

    /// Zeroes the elements of `dst` (inputs `off..off + dst.len()`) that do not count, with
    /// code for `isa`.
    pub(crate) fn apply(&self, isa: Isa, off: usize, dst: &mut [f32]) {
        // SAFETY: plain slices; the caller's instruction set is one this CPU has.
        unsafe { apply_mask(isa, *self, off, dst) }
    }
}

/// The body of [`Mask::apply`].
#[inline(always)]
unsafe fn apply_mask_body(mask: Mask, off: usize, dst: &mut [f32]) {
    match mask {
        Mask::None => {}
        Mask::Positive(m) => {
            for (v, &m) in dst.iter_mut().zip(&m[off..]) {
                *v = if m > 0.0 { *v } else { 0.0 };
            }
        }
        Mask::Bits { bits, offset } => {
            let start = offset + off;
            for (k, chunk) in dst.chunks_mut(16).enumerate() {
                let word = bits_at(bits, start + 16 * k);
                for (l, v) in chunk.iter_mut().enumerate() {
                    *v = if word >> l & 1 != 0 { *v } else { 0.0 };
                }
            }
        }
    }
}

dispatch!(apply_mask, apply_mask_body, (mask: Mask, off: usize, dst: &mut [f32]));

/// The 16 bits from bit `b` on (bits past the end read as zero).
#[inline]
fn bits_at(bits: &[u64], b: usize) -> u32 {
    let (w, sh) = (b / 64, b % 64);
    let lo = bits[w] >> sh;
    let hi = match (sh, bits.get(w + 1)) {
        (0, _) | (_, None) => 0,
        (_, Some(next)) => next << (64 - sh),
    };
    ((lo | hi) & 0xffff) as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bits::positive_bits;

    #[test]
    fn bits_and_values_mask_alike_on_every_instruction_set() {
        let x: Vec<f32> = (0..150).map(|i| ((i * 37) % 11) as f32 - 5.0).collect();
        let bits = positive_bits(&x);
        for isa in Isa::supported() {
            for off in [0, 5, 64, 70] {
                let want: Vec<f32> = (off..off + 75)
                    .map(|i| if x[i] > 0.0 { 1.0 } else { 0.0 })
                    .collect();
                for mask in [
                    Mask::Positive(&x),
                    Mask::Bits {
                        bits: &bits,
                        offset: 0,
                    },
                ] {
                    let mut got = vec![1.0; 75];
                    mask.apply(isa, off, &mut got);
                    assert_eq!(got, want, "{isa:?} from {off}");
                }
            }
        }
    }
}
