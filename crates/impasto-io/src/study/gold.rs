//! The broken copy of a result that gold trials show: coarse blocks with strong noise, a
//! picture no attentive rater prefers to a real result or rates above "Poor".

use impasto::image::Rgb;

/// `image` cut into blocks of about 1/20 of its longer side, each filled with its mean, with
/// noise of ±60 levels from `seed` on top.
pub fn broken(image: &Rgb, seed: u64) -> Rgb {
    let (w, h) = (image.width, image.height);
    let block = (w.max(h) / 20).max(4);
    let plane = w * h;
    let mut out = image.clone();
    let mut state = seed | 1;
    for c in 0..3 {
        let src = &image.data[c * plane..(c + 1) * plane];
        let dst = &mut out.data[c * plane..(c + 1) * plane];
        for by in (0..h).step_by(block) {
            for bx in (0..w).step_by(block) {
                let (ye, xe) = ((by + block).min(h), (bx + block).min(w));
                let mut sum = 0.0;
                for y in by..ye {
                    sum += src[y * w + bx..y * w + xe].iter().sum::<f32>();
                }
                let mean = sum / ((ye - by) * (xe - bx)) as f32;
                for y in by..ye {
                    dst[y * w + bx..y * w + xe].fill(mean);
                }
            }
        }
        for v in dst.iter_mut() {
            // xorshift64: noise for the eye, not for statistics.
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let noise = (state >> 40) as f32 / (1u64 << 24) as f32 * 120.0 - 60.0;
            *v = (*v + noise).clamp(0.0, 255.0);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_broken_copy_is_far_from_the_result_and_keeps_its_size() {
        let (w, h) = (64, 48);
        let data = (0..3 * w * h).map(|i| ((i * 37) % 256) as f32).collect();
        let image = Rgb {
            width: w,
            height: h,
            data,
        };
        let b = broken(&image, 1);
        assert_eq!((b.width, b.height), (w, h));
        let mean_diff = image
            .data
            .iter()
            .zip(&b.data)
            .map(|(a, b)| (a - b).abs())
            .sum::<f32>()
            / image.data.len() as f32;
        assert!(mean_diff > 30.0, "{mean_diff}");
        assert!(b.data.iter().all(|v| (0.0..=255.0).contains(v)));
    }
}
