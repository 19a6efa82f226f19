//! The paintings of a run and their Gram matrices, built once per size and shared by every
//! session that uses them: the frames of a video, the items of a batch, a training run.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use candle_core::Tensor;

use crate::guide::{LayerGuide, Mask};
use crate::image::{colour, resize, Rgb};
use crate::loss;
use crate::model::layers::LayerId;
use crate::model::vgg::{to_bgr_centered, Vgg19};
use crate::objective::tiled;
use crate::objective::tiles::Grid;
use crate::plan;
use crate::settings::{PreserveColor, Settings};
use crate::{Error, Result, Setting};

/// A style image and its blend weight.
#[derive(Clone, Debug)]
pub struct Style {
    /// The painting, RGB 0..255.
    pub image: Rgb,
    /// Relative weight in the blend (weights are normalised to sum to 1).
    pub weight: f32,
}

/// Which Gram matrices of one painting: its prepared size and the layers.
#[derive(Clone, PartialEq, Eq, Hash)]
struct Key {
    style: usize,
    width: usize,
    height: usize,
    layers: Vec<LayerId>,
    precision: &'static str,
}

/// The paintings with their default blend weights, and a cache of their Gram matrices.
///
/// Build it once ([`StyleTargets::new`]) and hand an `Arc` of it to every session that uses
/// these paintings: each painting's Gram matrices at a given size are computed by the first
/// session that needs them and reused by the rest. Where the painting is recoloured to the
/// photo (colour preservation), its Gram matrices depend on the photo and are not cached.
pub struct StyleTargets {
    styles: Vec<Style>,
    /// Per painting, the part its style is taken from (`None`: all of it).
    masks: Vec<Option<Mask>>,
    cache: Mutex<HashMap<Key, Arc<Vec<Tensor>>>>,
}

impl StyleTargets {
    /// The paintings and their blend weights (at least one, weights ≥ 0 and not all 0).
    pub fn new(styles: Vec<Style>) -> Result<Arc<Self>> {
        if styles.is_empty() {
            return Err(Error::setting(
                Setting::Styles,
                "none",
                "give at least one style image",
            ));
        }
        check_weights(&styles.iter().map(|s| s.weight).collect::<Vec<_>>())?;
        Ok(Arc::new(Self {
            masks: vec![None; styles.len()],
            styles,
            cache: Mutex::new(HashMap::new()),
        }))
    }

    /// [`StyleTargets::new`], each painting's style taken from the part of it its mask covers
    /// (`None`: all of it), as a label map's regions are. A mask is the painting's size or
    /// its shape.
    pub fn with_masks(styles: Vec<Style>, masks: Vec<Option<Mask>>) -> Result<Arc<Self>> {
        if masks.len() != styles.len() {
            return Err(Error::Internal(format!(
                "{} painting masks for {} paintings",
                masks.len(),
                styles.len()
            )));
        }
        for (st, m) in styles.iter().zip(&masks) {
            if let Some(m) = m {
                check_mask(m, &st.image, Setting::Masks)?;
            }
        }
        let mut out = Self::new(styles)?;
        Arc::get_mut(&mut out).expect("just made").masks = masks;
        Ok(out)
    }

    /// The paintings and their default weights, in the order given.
    pub fn styles(&self) -> &[Style] {
        &self.styles
    }

    /// The blended Gram matrices (one per style layer of `settings`) for a result of longer
    /// side `size`, with blend `weights` (one per painting, not all 0). `content` is the photo
    /// at the result's size, which the colour-preserving modes recolour the painting to.
    pub(crate) fn blended(
        &self,
        model: &Vgg19,
        settings: &Settings,
        weights: &[f32],
        content: &Rgb,
        size: usize,
        budget: u64,
    ) -> Result<Vec<Tensor>> {
        let total_w: f32 = weights.iter().sum();
        let mut style_grams: Vec<Tensor> = Vec::new();
        for (i, (st, &w)) in self.styles.iter().zip(weights).enumerate() {
            if w <= 0.0 {
                continue;
            }
            let grams = self.grams(model, settings, i, &st.image, content, (size, budget))?;
            for (k, g) in grams.iter().enumerate() {
                let g = (g * (w / total_w) as f64)?;
                if k < style_grams.len() {
                    style_grams[k] = style_grams[k].add(&g)?;
                } else {
                    style_grams.push(g);
                }
            }
        }
        Ok(style_grams)
    }

    /// The Gram matrices of painting `index` alone for a result of longer side `size`: a
    /// style region's targets.
    pub(crate) fn of(
        &self,
        model: &Vgg19,
        settings: &Settings,
        index: usize,
        content: &Rgb,
        (size, budget): (usize, u64),
    ) -> Result<Arc<Vec<Tensor>>> {
        let image = &self.styles[index].image;
        self.grams(model, settings, index, image, content, (size, budget))
    }

    /// The Gram matrices of painting `index` prepared for a result of longer side `size`.
    fn grams(
        &self,
        model: &Vgg19,
        settings: &Settings,
        index: usize,
        style: &Rgb,
        content: &Rgb,
        (size, budget): (usize, u64),
    ) -> Result<Arc<Vec<Tensor>>> {
        let longer = ((size as f32 * settings.style_scale).round() as usize).max(16);
        let (w, h) = resize::fit_longer_side(style.width, style.height, longer);
        let layers: Vec<LayerId> = settings.style_layers.iter().map(|&(l, _)| l).collect();
        let key = Key {
            style: index,
            width: w,
            height: h,
            layers: layers.clone(),
            precision: model.precision().name(),
        };
        let cacheable = settings.preserve_color == PreserveColor::Off;
        if cacheable {
            if let Some(g) = self.lock().get(&key) {
                return Ok(g.clone());
            }
        }
        let img = prepare(style, content, w, h, settings.preserve_color);
        let guides = match &self.masks[index] {
            Some(m) => Some(painting_guides(m, w, h, &layers)?),
            None => None,
        };
        let grid = plan::forward_grid(w, h, &layers, model.store(), budget);
        let grams = match (grid, &guides) {
            (None, None) => {
                let feats = model.features(&model.preprocess(&img)?, &layers)?;
                feats.iter().map(loss::gram).collect::<Result<Vec<_>>>()?
            }
            (grid, guides) => {
                let grid = grid.unwrap_or_else(|| Grid::whole(w, h, &layers));
                let x = to_bgr_centered(&img);
                tiled::grams(model, &x, (w, h), &layers, grid, guides.as_deref())?
            }
        };
        let grams = Arc::new(grams);
        if cacheable {
            self.lock().insert(key, grams.clone());
        }
        Ok(grams)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Arc<Vec<Tensor>>>> {
        // A panic while holding the lock leaves at worst a missing entry: keep going.
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Blend weights must be finite, ≥ 0 and not all 0.
pub(crate) fn check_weights(weights: &[f32]) -> Result<()> {
    if weights.iter().any(|w| !(w.is_finite() && *w >= 0.0)) || weights.iter().all(|&w| w == 0.0) {
        let text = weights
            .iter()
            .map(|w| w.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        return Err(Error::setting(
            Setting::Styles,
            text,
            "blend weights must be ≥ 0 and not all 0, e.g. 0.7 and 0.3",
        ));
    }
    Ok(())
}

/// A painting's mask at the painting's prepared size `w × h`, at each of `layers`; a region
/// too small to reach a layer is refused.
fn painting_guides(m: &Mask, w: usize, h: usize, layers: &[LayerId]) -> Result<Vec<LayerGuide>> {
    let guides = LayerGuide::for_layers(&m.resized(w, h), layers);
    if guides.iter().any(|g| g.weight == 0.0) {
        return Err(Error::setting(
            Setting::Masks,
            format!("covering {:.2}% of a painting", 100.0 * m.coverage()),
            "a painting's region must be large enough to reach every style layer (about \
             16×16 pixels at the painting's size in the run): draw it larger or use a larger \
             painting",
        ));
    }
    Ok(guides)
}

/// A mask must have its image's shape and cover part of it. `setting` names what the mask
/// is for.
fn check_mask(m: &Mask, image: &Rgb, setting: Setting) -> Result<()> {
    check_shape(m, image, setting)?;
    if m.coverage() == 0.0 {
        return Err(Error::setting(
            setting,
            "that is all black",
            "a mask must cover part of its image (white where the style goes)",
        ));
    }
    Ok(())
}

/// A mask must have its image's size, or its shape (within a pixel of scaling).
pub(crate) fn check_shape(m: &Mask, image: &Rgb, setting: Setting) -> Result<()> {
    let (mw, mh) = m.size();
    let (w, h) = (image.width, image.height);
    let same_shape = (mw * h).abs_diff(mh * w) <= mw.max(w).max(mh).max(h);
    if !same_shape {
        return Err(Error::setting(
            setting,
            format!("of {mw}×{mh}"),
            format!("a mask must be the size of its image ({w}×{h}) or the same shape"),
        ));
    }
    Ok(())
}

/// A painting resized to `w × h` and, in the colour-preserving modes, recoloured to `content`.
fn prepare(style: &Rgb, content: &Rgb, w: usize, h: usize, mode: PreserveColor) -> Rgb {
    let s = resize::resize(style, w, h);
    match mode {
        PreserveColor::Off => s,
        PreserveColor::Histogram => colour::match_colour_stats(&s, content),
        PreserveColor::Luminance => {
            let y = colour::match_luminance(&colour::luma(&s), &colour::luma(content));
            Rgb::from_planes(w, h, [&y, &y, &y])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::random_weights;

    fn painting(seed: u32) -> Rgb {
        let data = (0..3 * 40 * 30)
            .map(|i| (((i as u32).wrapping_mul(2654435761) ^ seed) >> 24) as f32)
            .collect();
        Rgb::new(40, 30, data)
    }

    /// Each painting's Gram matrices are computed once per size and reused by later calls
    /// (as the frames of a video do), with the same values; blend weights need no recompute.
    #[test]
    fn grams_are_computed_once_per_size_and_shared() {
        let model = Vgg19::new(&random_weights(13), crate::Precision::F32).unwrap();
        let styles = StyleTargets::new(vec![
            Style {
                image: painting(1),
                weight: 1.0,
            },
            Style {
                image: painting(2),
                weight: 3.0,
            },
        ])
        .unwrap();
        let settings = Settings::default();
        let content = painting(3);
        let first = styles
            .blended(&model, &settings, &[1.0, 3.0], &content, 32, 1 << 30)
            .unwrap();
        assert_eq!(styles.lock().len(), 2, "one entry per painting");
        let again = styles
            .blended(&model, &settings, &[1.0, 3.0], &content, 32, 1 << 30)
            .unwrap();
        assert_eq!(styles.lock().len(), 2, "reused, not recomputed");
        for (a, b) in first.iter().zip(&again) {
            let (a, b): (Vec<f32>, Vec<f32>) = (
                a.flatten_all().unwrap().to_vec1().unwrap(),
                b.flatten_all().unwrap().to_vec1().unwrap(),
            );
            assert_eq!(a, b);
        }
        styles
            .blended(&model, &settings, &[0.0, 1.0], &content, 32, 1 << 30)
            .unwrap();
        assert_eq!(styles.lock().len(), 2, "a new blend reuses the Grams");
        styles
            .blended(&model, &settings, &[1.0, 1.0], &content, 48, 1 << 30)
            .unwrap();
        assert_eq!(styles.lock().len(), 4, "a new size adds its own");
        // Recoloured to the photo, the painting's Grams depend on it: not cached.
        let histogram = Settings {
            preserve_color: PreserveColor::Histogram,
            ..Settings::default()
        };
        styles
            .blended(&model, &histogram, &[1.0, 1.0], &content, 64, 1 << 30)
            .unwrap();
        assert_eq!(styles.lock().len(), 4);
    }

    #[test]
    fn bad_blends_are_refused() {
        let style = |weight| Style {
            image: painting(1),
            weight,
        };
        for bad in [
            vec![],
            vec![style(0.0)],
            vec![style(-1.0)],
            vec![style(f32::NAN)],
        ] {
            match StyleTargets::new(bad) {
                Err(Error::Setting { setting, .. }) => assert_eq!(setting, Setting::Styles),
                Err(other) => panic!("{other:?}"),
                Ok(_) => panic!("accepted"),
            }
        }
    }
}
