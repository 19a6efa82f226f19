//! A mask in 0..1 over an image, at any size: resized with the image at every scale.

use crate::image::resize::resize_plane;
use crate::{Error, Result, Setting};

/// A mask: 1 applies, 0 leaves out, values between blend. A hard mask (a region of a label
/// map) is shrunk at each layer so that features near its border, which see the next region
/// too, do not count for it; a soft one (painted or uploaded) is only resized.
#[derive(Clone, Debug, PartialEq)]
pub struct Mask {
    width: usize,
    height: usize,
    values: Vec<f32>,
    hard: bool,
}

impl Mask {
    /// A soft mask of `width × height` values in 0..1, row by row.
    pub fn soft(width: usize, height: usize, values: Vec<f32>) -> Result<Self> {
        Self::new(width, height, values, false)
    }

    /// A hard mask (0 or 1 values) of a region of a label map.
    pub fn hard(width: usize, height: usize, values: Vec<f32>) -> Result<Self> {
        Self::new(width, height, values, true)
    }

    fn new(width: usize, height: usize, values: Vec<f32>, hard: bool) -> Result<Self> {
        if width == 0 || height == 0 || values.len() != width * height {
            return Err(Error::Internal(format!(
                "{} mask values for a {width}×{height} mask",
                values.len()
            )));
        }
        if values.iter().any(|v| !(0.0..=1.0).contains(v)) {
            return Err(Error::setting(
                Setting::Masks,
                "with values outside 0..1",
                "mask values go from 0 (black) to 1 (white)",
            ));
        }
        Ok(Self {
            width,
            height,
            values,
            hard,
        })
    }

    /// Width and height.
    pub fn size(&self) -> (usize, usize) {
        (self.width, self.height)
    }

    /// The values, row by row.
    pub fn values(&self) -> &[f32] {
        &self.values
    }

    /// Whether this is a hard region of a label map.
    pub fn is_hard(&self) -> bool {
        self.hard
    }

    /// Share of the image the mask covers (its mean value).
    pub fn coverage(&self) -> f64 {
        self.values.iter().map(|&v| v as f64).sum::<f64>() / self.values.len() as f64
    }

    /// The mask at `w × h`: Lanczos for soft masks, nearest neighbour for hard ones (so they
    /// stay 0 or 1).
    pub fn resized(&self, w: usize, h: usize) -> Mask {
        if (w, h) == self.size() {
            return self.clone();
        }
        let values = match self.hard {
            false => resize_plane(&self.values, self.width, self.height, w, h)
                .into_iter()
                .map(|v| v.clamp(0.0, 1.0))
                .collect(),
            true => (0..w * h)
                .map(|i| {
                    let (x, y) = (i % w, i / w);
                    let sx = ((2 * x + 1) * self.width / (2 * w)).min(self.width - 1);
                    let sy = ((2 * y + 1) * self.height / (2 * h)).min(self.height - 1);
                    self.values[sy * self.width + sx]
                })
                .collect(),
        };
        Mask {
            width: w,
            height: h,
            values,
            hard: self.hard,
        }
    }

    /// `1 − self`, as soft.
    pub fn inverted(&self) -> Mask {
        Mask {
            values: self.values.iter().map(|v| 1.0 - v).collect(),
            hard: false,
            ..self.clone()
        }
    }

    /// `self · other` (same size), as soft where either is.
    pub fn times(&self, other: &Mask) -> Mask {
        self.zip_with(other, self.hard && other.hard, |a, b| a * b)
    }

    /// The larger of `self` and `other` (same size) at each pixel, as soft.
    pub fn max(&self, other: &Mask) -> Mask {
        self.zip_with(other, false, f32::max)
    }

    /// `f` of the two masks' values pixel by pixel (same size).
    fn zip_with(&self, other: &Mask, hard: bool, f: impl Fn(f32, f32) -> f32) -> Mask {
        debug_assert_eq!(self.size(), other.size());
        Mask {
            values: self
                .values
                .iter()
                .zip(&other.values)
                .map(|(&a, &b)| f(a, b))
                .collect(),
            hard,
            ..self.clone()
        }
    }

    /// The mask with its edges softened over about `radius` pixels (three box blurs, close
    /// to a Gaussian of σ ≈ radius / 2), as soft.
    pub fn feathered(&self, radius: usize) -> Mask {
        let r = (radius / 2).max(1);
        let (w, h) = self.size();
        let mut v = self.values.clone();
        for _ in 0..3 {
            v = box_blur(&v, w, h, r, true);
            v = box_blur(&v, w, h, r, false);
        }
        Mask {
            width: w,
            height: h,
            values: v,
            hard: false,
        }
    }
}

/// A running mean over `2r + 1` values along rows (`horizontal`) or columns, borders clamped.
fn box_blur(v: &[f32], w: usize, h: usize, r: usize, horizontal: bool) -> Vec<f32> {
    let (len, lines) = if horizontal { (w, h) } else { (h, w) };
    let at = |line: usize, i: usize| match horizontal {
        true => line * w + i,
        false => i * w + line,
    };
    let mut out = vec![0.0; v.len()];
    for line in 0..lines {
        let get = |i: isize| v[at(line, i.clamp(0, len as isize - 1) as usize)] as f64;
        let mut sum: f64 = (-(r as isize)..=r as isize).map(get).sum();
        for i in 0..len {
            out[at(line, i)] = (sum / (2 * r + 1) as f64) as f32;
            sum += get(i as isize + r as isize + 1) - get(i as isize - r as isize);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hard_masks_stay_hard_when_resized_and_soft_ones_blend() {
        let half: Vec<f32> = (0..8 * 4)
            .map(|i| if i % 8 < 4 { 1.0 } else { 0.0 })
            .collect();
        let hard = Mask::hard(8, 4, half.clone()).unwrap().resized(13, 7);
        assert!(hard.values().iter().all(|&v| v == 0.0 || v == 1.0));
        assert!((hard.coverage() - 6.0 / 13.0).abs() < 1e-6);
        let soft = Mask::soft(8, 4, half).unwrap().resized(13, 7);
        assert!(soft.values().iter().any(|&v| v > 0.0 && v < 1.0));
        assert!((soft.coverage() - 0.5).abs() < 0.05);
    }

    #[test]
    fn feathering_keeps_the_mean_and_softens_the_edge() {
        let step: Vec<f32> = (0..40 * 10)
            .map(|i| if i % 40 < 20 { 1.0 } else { 0.0 })
            .collect();
        let m = Mask::soft(40, 10, step).unwrap().feathered(8);
        assert!((m.coverage() - 0.5).abs() < 1e-3);
        let row = &m.values()[..40];
        assert!(row[0] > 0.999 && row[39] < 0.001);
        assert!(row[19] > 0.5 && row[19] < 0.8 && row[20] < 0.5 && row[20] > 0.2);
        for pair in row.windows(2) {
            assert!(pair[1] <= pair[0] + 1e-6);
        }
    }

    #[test]
    fn values_outside_0_to_1_are_refused() {
        assert!(matches!(
            Mask::soft(2, 1, vec![0.5, 1.5]),
            Err(Error::Setting {
                setting: Setting::Masks,
                ..
            })
        ));
    }
}
