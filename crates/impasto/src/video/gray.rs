//! Grayscale (luma) images, bilinear sampling with clamped borders, and the 2× pyramid step.

use crate::image::Rgb;

/// A single-channel image with `f32` samples (luma in `0..=255`), row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct Gray {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// `width * height` samples, `data[y * width + x]`.
    pub data: Vec<f32>,
}

impl Gray {
    /// Wraps row-major data.
    ///
    /// # Panics
    /// If `data.len() != width * height`.
    pub fn new(width: usize, height: usize, data: Vec<f32>) -> Self {
        assert_eq!(data.len(), width * height, "Gray::new: wrong length");
        Gray {
            width,
            height,
            data,
        }
    }

    /// Rec. 601 luma (`0.299 R + 0.587 G + 0.114 B`) of an RGB image.
    pub fn from_rgb(img: &Rgb) -> Self {
        let (r, g, b) = (img.plane(0), img.plane(1), img.plane(2));
        let data = (0..img.pixel_count())
            .map(|i| 0.299 * r[i] + 0.587 * g[i] + 0.114 * b[i])
            .collect();
        Gray::new(img.width, img.height, data)
    }

    /// The sample at integer `(x, y)`.
    pub fn at(&self, x: usize, y: usize) -> f32 {
        self.data[y * self.width + x]
    }

    /// Bilinear sample at real `(x, y)`, borders clamped (coordinates outside repeat the edge).
    pub fn sample(&self, x: f32, y: f32) -> f32 {
        sample_plane(&self.data, self.width, self.height, x, y)
    }

    /// Half-size image by 2×2 box averaging (odd last row/column dropped); coarse pixel `i`
    /// is centred on fine coordinate `2i + 0.5`.
    pub(crate) fn half(&self) -> Gray {
        let (w, h) = (self.width / 2, self.height / 2);
        let mut data = Vec::with_capacity(w * h);
        for y in 0..h {
            for x in 0..w {
                let s = self.at(2 * x, 2 * y)
                    + self.at(2 * x + 1, 2 * y)
                    + self.at(2 * x, 2 * y + 1)
                    + self.at(2 * x + 1, 2 * y + 1);
                data.push(0.25 * s);
            }
        }
        Gray::new(w, h, data)
    }

    /// The image smoothed by a separable binomial `[1, 2, 1] / 4` filter (borders clamped).
    pub(crate) fn smoothed(&self) -> Gray {
        let (w, h) = (self.width, self.height);
        let mut tmp = vec![0.0; w * h];
        for y in 0..h {
            for x in 0..w {
                let (l, r) = (x.saturating_sub(1), (x + 1).min(w - 1));
                let row = &self.data[y * w..];
                tmp[y * w + x] = 0.25 * row[l] + 0.5 * row[x] + 0.25 * row[r];
            }
        }
        let mut out = vec![0.0; w * h];
        for y in 0..h {
            let (t, b) = (y.saturating_sub(1), (y + 1).min(h - 1));
            for x in 0..w {
                out[y * w + x] =
                    0.25 * tmp[t * w + x] + 0.5 * tmp[y * w + x] + 0.25 * tmp[b * w + x];
            }
        }
        Gray::new(w, h, out)
    }

    /// Central-difference gradients `(∂x, ∂y)` (one-sided at the borders).
    pub(crate) fn gradients(&self) -> (Vec<f32>, Vec<f32>) {
        gradients(&self.data, self.width, self.height)
    }
}

/// Central-difference gradients of a row-major `w`×`h` plane (one-sided at the borders).
pub(crate) fn gradients(p: &[f32], w: usize, h: usize) -> (Vec<f32>, Vec<f32>) {
    let mut gx = vec![0.0; w * h];
    let mut gy = vec![0.0; w * h];
    for y in 0..h {
        let (y0, y1) = (y.saturating_sub(1), (y + 1).min(h - 1));
        for x in 0..w {
            let (x0, x1) = (x.saturating_sub(1), (x + 1).min(w - 1));
            if x1 > x0 {
                gx[y * w + x] = (p[y * w + x1] - p[y * w + x0]) / (x1 - x0) as f32;
            }
            if y1 > y0 {
                gy[y * w + x] = (p[y1 * w + x] - p[y0 * w + x]) / (y1 - y0) as f32;
            }
        }
    }
    (gx, gy)
}

/// Bilinear sample of a row-major `w`×`h` plane at `(x, y)`, borders clamped.
#[inline]
pub(crate) fn sample_plane(p: &[f32], w: usize, h: usize, x: f32, y: f32) -> f32 {
    let x = x.clamp(0.0, (w - 1) as f32);
    let y = y.clamp(0.0, (h - 1) as f32);
    let (x0, y0) = (x as usize, y as usize);
    let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
    let (fx, fy) = (x - x0 as f32, y - y0 as f32);
    let top = p[y0 * w + x0] + fx * (p[y0 * w + x1] - p[y0 * w + x0]);
    let bottom = p[y1 * w + x0] + fx * (p[y1 * w + x1] - p[y1 * w + x0]);
    top + fy * (bottom - top)
}
