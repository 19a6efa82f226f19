//! Label maps: images drawn in flat colours, one colour per region. The same colour on the
//! photo's map and a painting's is mapped together.

use std::collections::HashMap;

use super::Mask;
use crate::image::Rgb;

/// Share of the pixels below which a colour is taken for the antialiased edge between two
/// regions (and given to the nearest region's colour) rather than a region of its own.
const MIN_SHARE: f64 = 0.002;

/// One region of a label map.
#[derive(Clone, Debug)]
pub struct Label {
    /// Its colour, 8-bit RGB.
    pub colour: [u8; 3],
    /// Where it is, as a hard mask.
    pub mask: Mask,
}

/// The regions of `labels` (RGB 0..255), largest first. Colours covering less than 0.2% of
/// the map are edge pixels: each goes to the region of the nearest colour.
pub fn label_masks(labels: &Rgb) -> Vec<Label> {
    let (w, h) = (labels.width, labels.height);
    let px: Vec<[u8; 3]> = (0..w * h)
        .map(|i| {
            let [r, g, b] = labels.pixel(i % w, i / w);
            [r, g, b].map(|v| v.round().clamp(0.0, 255.0) as u8)
        })
        .collect();
    let mut counts: HashMap<[u8; 3], usize> = HashMap::new();
    px.iter().for_each(|c| *counts.entry(*c).or_default() += 1);
    let mut kept: Vec<([u8; 3], usize)> = counts
        .iter()
        .filter(|(_, &n)| n as f64 >= MIN_SHARE * (w * h) as f64)
        .map(|(&c, &n)| (c, n))
        .collect();
    if kept.is_empty() {
        kept = counts.into_iter().collect();
    }
    kept.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let nearest = |c: &[u8; 3]| {
        (0..kept.len())
            .min_by_key(|&k| {
                let d = kept[k]
                    .0
                    .iter()
                    .zip(c)
                    .map(|(&a, &b)| (a as i32 - b as i32).pow(2));
                d.sum::<i32>()
            })
            .expect("a kept colour")
    };
    let mut cache: HashMap<[u8; 3], usize> = HashMap::new();
    let region: Vec<usize> = px
        .iter()
        .map(|c| *cache.entry(*c).or_insert_with(|| nearest(c)))
        .collect();
    kept.iter()
        .enumerate()
        .map(|(k, (colour, _))| Label {
            colour: *colour,
            mask: Mask::hard(
                w,
                h,
                region.iter().map(|&r| (r == k) as u8 as f32).collect(),
            )
            .expect("0 or 1 values"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two flat regions with an antialiased seam: two labels, the seam's pixels split between
    /// them by colour.
    #[test]
    fn flat_regions_with_antialiased_edges() {
        let (w, h) = (1000, 50);
        let mut data = vec![0.0; 3 * w * h];
        for y in 0..h {
            for x in 0..w {
                let c = match x {
                    0..500 => [255.0, 0.0, 0.0],
                    500 => [200.0, 0.0, 55.0],
                    501 => [60.0, 0.0, 195.0],
                    _ => [0.0, 0.0, 255.0],
                };
                for (k, v) in c.iter().enumerate() {
                    data[k * w * h + y * w + x] = *v;
                }
            }
        }
        let labels = label_masks(&Rgb::new(w, h, data));
        assert_eq!(labels.len(), 2);
        let red = labels.iter().find(|l| l.colour == [255, 0, 0]).unwrap();
        let blue = labels.iter().find(|l| l.colour == [0, 0, 255]).unwrap();
        assert!((red.mask.coverage() - 0.501).abs() < 1e-9);
        assert!((blue.mask.coverage() - 0.499).abs() < 1e-9);
    }
}
