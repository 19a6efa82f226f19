//! Images as the engine sees them: planar RGB with `f32` samples in `0..=255`.
//!
//! [`resize`] scales, [`colour`] holds the colour-space
//! helpers used to preserve the content's colours, [`structure`] puts a photo's light and
//! shade back into a result to a measured degree.

pub mod colour;
pub mod resize;
pub mod structure;

/// An RGB image with `f32` samples in `0..=255`, stored planar (channel-major):
/// `data[c * h * w + y * w + x]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Rgb {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// The three planes R, G, B one after the other, each `width * height` samples.
    pub data: Vec<f32>,
}

impl Rgb {
    /// Wraps planar data.
    ///
    /// # Panics
    /// If `data.len() != 3 * width * height`.
    pub fn new(width: usize, height: usize, data: Vec<f32>) -> Self {
        assert_eq!(
            data.len(),
            3 * width * height,
            "Rgb::new: {} samples for a {width}x{height} image (expected {})",
            data.len(),
            3 * width * height
        );
        Rgb {
            width,
            height,
            data,
        }
    }

    /// An image filled with one colour.
    pub fn filled(width: usize, height: usize, colour: [f32; 3]) -> Self {
        let n = width * height;
        let mut data = Vec::with_capacity(3 * n);
        for v in colour {
            data.extend(std::iter::repeat_n(v, n));
        }
        Rgb::new(width, height, data)
    }

    /// Builds an image from its three planes (each `width * height` samples).
    ///
    /// # Panics
    /// If a plane has the wrong length.
    pub fn from_planes(width: usize, height: usize, planes: [&[f32]; 3]) -> Self {
        let mut data = Vec::with_capacity(3 * width * height);
        for p in planes {
            assert_eq!(
                p.len(),
                width * height,
                "Rgb::from_planes: wrong plane length"
            );
            data.extend_from_slice(p);
        }
        Rgb::new(width, height, data)
    }

    /// Number of pixels (`width * height`).
    pub fn pixel_count(&self) -> usize {
        self.width * self.height
    }

    /// Channel `c` (0 = R, 1 = G, 2 = B) as a row-major plane.
    pub fn plane(&self, c: usize) -> &[f32] {
        let n = self.pixel_count();
        &self.data[c * n..(c + 1) * n]
    }

    /// Mutable access to channel `c` (0 = R, 1 = G, 2 = B).
    pub fn plane_mut(&mut self, c: usize) -> &mut [f32] {
        let n = self.pixel_count();
        &mut self.data[c * n..(c + 1) * n]
    }

    /// The three planes R, G, B.
    pub fn planes(&self) -> [&[f32]; 3] {
        [self.plane(0), self.plane(1), self.plane(2)]
    }

    /// The `[r, g, b]` value at `(x, y)`.
    pub fn pixel(&self, x: usize, y: usize) -> [f32; 3] {
        let n = self.pixel_count();
        let i = y * self.width + x;
        [self.data[i], self.data[n + i], self.data[2 * n + i]]
    }

    /// The larger of width and height.
    pub fn longer_side(&self) -> usize {
        self.width.max(self.height)
    }

    /// Clamps every sample to `0..=255` (NaN becomes 0).
    pub fn clamp(&mut self) {
        for v in &mut self.data {
            *v = clamp255(*v);
        }
    }
}

/// Clamps one sample to `0..=255`, mapping NaN to 0.
pub fn clamp255(v: f32) -> f32 {
    if v.is_nan() {
        0.0
    } else {
        v.clamp(0.0, 255.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn planes_and_pixels() {
        let img = Rgb::new(2, 1, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        assert_eq!(img.plane(1), &[3.0, 4.0]);
        assert_eq!(img.pixel(1, 0), [2.0, 4.0, 6.0]);
        assert_eq!(img.longer_side(), 2);
        let f = Rgb::filled(2, 2, [1.0, 2.0, 3.0]);
        assert_eq!(f.plane(2), &[3.0; 4]);
        assert_eq!(Rgb::from_planes(2, 2, f.planes()), f);
    }

    #[test]
    fn clamp_handles_nan_and_range() {
        let mut img = Rgb::new(1, 1, vec![-3.0, 300.0, f32::NAN]);
        img.clamp();
        assert_eq!(img.data, vec![0.0, 255.0, 0.0]);
    }
}
