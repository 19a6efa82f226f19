//! Where the style goes (Gatys et al. 2017, "Controlling Perceptual Factors in Neural Style
//! Transfer"): masks on the photo and on the paintings, label maps drawn in flat colours, and
//! regions kept photographic. Each style is compared with the photo's Gram matrices guided by
//! its mask, carried down to every style layer's size.

mod labels;
mod layer;
mod mask;

pub use labels::{label_masks, Label};
pub use layer::LayerGuide;
pub use mask::Mask;

use crate::image::{resize, Rgb};

/// How a run places its styles on the photo.
#[derive(Clone, Debug)]
pub struct Guides {
    /// Where each style applies, one mask per style in the order of the
    /// [`crate::StyleTargets`]; where no mask covers the photo it keeps the photo's look
    /// (content only).
    pub masks: Vec<Mask>,
    /// Regions kept photographic: no style is asked there, and the result is the photo there,
    /// blended over a soft edge.
    pub keep: Option<Mask>,
}

impl Guides {
    /// How much of the photo the result shows at each pixel of `w × h`: the kept regions and
    /// what no mask covers (grey blends), over an edge of about 1% of the longer side; `None`
    /// where the result is all style.
    pub fn photo_share(&self, w: usize, h: usize) -> Option<Mask> {
        let uncovered = match self.masks.is_empty() {
            true => None,
            false => {
                let masks: Vec<Mask> = self.masks.iter().map(|m| m.resized(w, h)).collect();
                let values = (0..w * h)
                    .map(|i| 1.0 - masks.iter().map(|m| m.values()[i]).sum::<f32>().min(1.0))
                    .collect();
                Some(Mask::soft(w, h, values).expect("values in 0..1"))
            }
        };
        let keep = self.keep.as_ref().map(|k| k.resized(w, h));
        let share = match (uncovered, keep) {
            (None, None) => return None,
            (Some(m), None) | (None, Some(m)) => m,
            (Some(u), Some(k)) => u.max(&k),
        };
        Some(share.feathered((w.max(h) / 100).max(2)))
    }

    /// `styled` with `photo` put back where the guides keep it or no mask covers it (the
    /// photo is resized to `styled`'s size): what a run shows, or a one-pass network's output
    /// placed by masks.
    pub fn show_photo(&self, styled: Rgb, photo: &Rgb) -> Rgb {
        let (w, h) = (styled.width, styled.height);
        let Some(share) = self.photo_share(w, h) else {
            return styled;
        };
        let photo = resize::resize(photo, w, h);
        let plane = w * h;
        let data = styled
            .data
            .iter()
            .zip(&photo.data)
            .enumerate()
            .map(|(i, (&a, &p))| a + share.values()[i % plane] * (p - a))
            .collect();
        Rgb::new(w, h, data)
    }
}
