//! The objective tile by tile, for images whose whole-image pass would not fit in memory.
//!
//! Each tile is a core plus a halo as wide as the deepest layer's reach ([`super::tiles`]), so
//! its features over the core are the whole image's. A first pass sums the Gram matrices of
//! every core (the style loss compares the whole image's Grams, not each tile's); a second
//! runs each tile forward and backward with the loss gradient of its core's features only, and
//! adds the tile's input gradient into the image's. The result is the whole-image objective and
//! gradient up to rounding: no seams by construction. The cost over one whole-image step is the
//! extra forward pass and the halos' pixels.

use candle_core::{Device, Tensor};

use super::style_terms::{self, StyleTerms};
use super::tiles::{feature_size, Grid, Rect};
use super::{with_values, Losses, Targets, Values};
use crate::guide::LayerGuide;
use crate::loss;
use crate::model::act::Act;
use crate::model::layers::LayerId;
use crate::model::vgg::Vgg19;
use crate::settings::Settings;
use crate::{Error, Result};

/// [`super::evaluate`] for one image, tile by tile on `grid`: the same losses and gradient.
/// `on_tile(done, total)` is called after each tile of either pass (`total` counts both).
pub fn evaluate_tiled(
    model: &Vgg19,
    s: &Settings,
    t: &Targets,
    x: &[f32],
    grid: Grid,
    on_tile: &mut dyn FnMut(usize, usize),
) -> Result<(Losses, Vec<f32>)> {
    let (w, h) = t.size;
    if x.len() != 3 * w * h {
        return Err(Error::Internal(format!(
            "{} values are not one {w}×{h} image",
            x.len()
        )));
    }
    let layers = s.layers();
    if layers.is_empty() && s.weights.tv == 0.0 {
        return Err(Error::NoGradient);
    }
    let tiles = grid.tiles(w, h, &layers)?;
    // One tile is the whole image: its own forward pass gives the Gram matrices.
    let (first, total) = match tiles.len() {
        1 => (0, 1),
        n => (n, 2 * n),
    };
    let mut style = match first {
        0 => None,
        _ => Some(StyleTerms::new(model, s, t, x, &tiles, &mut |done| {
            on_tile(done, total)
        })?),
    };
    let mut losses = Losses::default();
    let mut g = vec![0.0f32; x.len()];
    for (i, tile) in tiles.iter().enumerate() {
        let (e, tw, th) = (tile.extent, tile.extent.w(), tile.extent.h());
        let (feats, mut tape) = model.forward(&tile.cut(x, 3, w, h), [1, th, tw], &layers)?;
        if style.is_none() {
            let terms = style_terms::terms(s, t);
            let pairs: Vec<_> = terms.iter().map(|t| (t.id, t.guide)).collect();
            let sums = style_terms::tile_sums(&feats, &layers, &pairs, tile, (w, h));
            style = Some(StyleTerms::from_sums(model, t, terms, sums)?);
        }
        let style = style.as_ref().expect("style terms made");
        let mut feats: Vec<_> = feats.into_iter().map(Some).collect();
        let mut grad_of = |k: usize, g: &mut Act| -> Result<()> {
            let Some((f, [c, fh, fw])) = feats[k].take() else {
                return Ok(());
            };
            let id = layers[k];
            let (core, at) = tile.core_features(id, (fw, fh), (w, h));
            for ((l, wt), target) in s.content_layers.iter().zip(t.content) {
                if *l == id {
                    let (iw, ih) = feature_size(w, h, id);
                    let scale = (s.weights.content * wt) as f64 / (c * iw * ih) as f64;
                    losses.content += *wt as f64
                        * with_values(target, |tv| {
                            content_term(&f, &tv, c, (fw, fh), (iw, ih), core, at, scale, g)
                        })?
                        / (c * iw * ih) as f64;
                }
            }
            for (k, term) in style.terms.iter().enumerate() {
                if term.id == id {
                    style.add_gradient(k, &f, (c, fw, fh), (core, at), g);
                }
            }
            Ok(())
        };
        let gt = model.backward(&mut tape, &layers, &mut grad_of)?;
        debug_assert_eq!(gt.len(), 3 * e.w() * e.h());
        tile.add_into(&gt, 3, w, h, &mut g);
        on_tile(first + i + 1, total);
    }
    let style = style.expect("one tile at least");
    losses.style = style.loss;
    losses.gram_cosine = style.cosine;
    losses.tv = loss::total_variation(x, 3, w, h, s.weights.tv, &mut g);
    losses.total = s.weights.content as f64 * losses.content
        + t.style_weight * losses.style
        + s.weights.tv as f64 * losses.tv;
    if let Some(p) = t.prior {
        losses.prior = p.add_to(x, &mut g);
        losses.total += p.strength() as f64 * losses.prior;
    }
    Ok((losses, g))
}

/// The Gram matrices `F·Fᵀ / (C·H·W)` of the image `x` (`3 × h × w`, preprocessed) at `ids`,
/// each `[1, c, c]`, tile by tile on `grid`: what `loss::gram` of the whole image's features
/// gives, for images too large to run whole. With `guides` (one per id), the guided Gram
/// matrices of that region (normalised by the guide's weight `Σ g²`).
pub fn grams(
    model: &Vgg19,
    x: &[f32],
    (w, h): (usize, usize),
    ids: &[LayerId],
    grid: Grid,
    guides: Option<&[LayerGuide]>,
) -> Result<Vec<Tensor>> {
    let tiles = grid.tiles(w, h, ids)?;
    let pairs: Vec<_> = ids
        .iter()
        .enumerate()
        .map(|(k, &id)| (id, guides.map(|g| &g[k])))
        .collect();
    let sums = style_terms::gram_sums(model, x, (w, h), &pairs, &tiles, &mut |_| {})?;
    pairs
        .iter()
        .zip(sums)
        .map(|(&(id, guide), sum)| {
            let c = model.convs()[id.0].cout();
            let (iw, ih) = feature_size(w, h, id);
            let area = guide.map_or((iw * ih) as f64, |g| g.weight.max(f64::MIN_POSITIVE));
            let n = (c as f64 * area) as f32;
            let g: Vec<f32> = sum.iter().map(|v| v / n).collect();
            Ok(Tensor::from_vec(g, (1, c, c), &Device::Cpu)?)
        })
        .collect()
}

/// The features of the image `x` (`3 × h × w`, preprocessed) at `ids`, each `[1, c, h', w']`
/// and held as the model holds its activations (bf16 or f32), tile by tile on `grid`: the
/// whole image's features, for images too large to run whole.
pub fn features(
    model: &Vgg19,
    x: &[f32],
    (w, h): (usize, usize),
    ids: &[LayerId],
    grid: Grid,
) -> Result<Vec<Tensor>> {
    let tiles = grid.tiles(w, h, ids)?;
    let mut out: Vec<Act> = ids
        .iter()
        .map(|id| {
            let (iw, ih) = feature_size(w, h, *id);
            Act::zeros(model.store(), model.convs()[id.0].cout() * iw * ih)
        })
        .collect();
    let mut row = Vec::new();
    for tile in &tiles {
        let e = tile.extent;
        let feats = model.outputs(tile.cut(x, 3, w, h), [1, e.h(), e.w()], ids)?;
        for (k, (f, [c, fh, fw])) in feats.iter().enumerate() {
            let (core, at) = tile.core_features(ids[k], (*fw, *fh), (w, h));
            let (iw, ih) = feature_size(w, h, ids[k]);
            row.resize(core.w(), 0.0);
            for ch in 0..*c {
                for r in 0..core.h() {
                    f.read((ch * fh + core.y0 + r) * fw + core.x0, &mut row);
                    out[k].write((ch * ih + at.y0 + r) * iw + at.x0, &row);
                }
            }
        }
    }
    ids.iter()
        .zip(out)
        .map(|(id, f)| {
            let c = model.convs()[id.0].cout();
            let (iw, ih) = feature_size(w, h, *id);
            let shape = (1, c, ih, iw);
            Ok(match f {
                Act::F32(v) => Tensor::from_vec(v, shape, &Device::Cpu)?,
                Act::Bf16(v) => Tensor::from_vec(v, shape, &Device::Cpu)?,
            })
        })
        .collect()
}

/// Σ (f − target)² over the tile's `core` (at `at` in the image's features `iw × ih`), adding
/// `2·scale·(f − target)` to `g` there.
#[allow(clippy::too_many_arguments)]
fn content_term(
    f: &Act,
    target: &Values,
    c: usize,
    (fw, fh): (usize, usize),
    (iw, ih): (usize, usize),
    core: Rect,
    at: Rect,
    scale: f64,
    g: &mut Act,
) -> f64 {
    let k = (2.0 * scale) as f32;
    let mut sum = 0.0f64;
    let (mut row, mut b) = (vec![0.0; core.w()], vec![0.0; core.w()]);
    for ch in 0..c {
        for r in 0..core.h() {
            let start = (ch * fh + core.y0 + r) * fw + core.x0;
            f.read(start, &mut row);
            target.read((ch * ih + at.y0 + r) * iw + at.x0, &mut b);
            for (a, &b) in row.iter_mut().zip(&b) {
                let diff = *a - b;
                sum += (diff * diff) as f64;
                *a = k * diff;
            }
            g.add(start, &row);
        }
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loss;
    use crate::model::layers::parse_weighted_layers;
    use crate::testutil::{random_targets, random_weights, Lcg};
    use crate::Setting;
    use impasto_kernels::Precision;

    /// Losses and gradient of a `w × h` image, whole and on `grid`, with `content` and
    /// `style` layers on VGG19 with random weights.
    fn both(
        content: &str,
        style: &str,
        (w, h): (usize, usize),
        core: usize,
    ) -> ((Losses, Vec<f32>), (Losses, Vec<f32>)) {
        let s = Settings {
            content_layers: parse_weighted_layers(content, Setting::ContentLayers).unwrap(),
            style_layers: parse_weighted_layers(style, Setting::StyleLayers).unwrap(),
            ..Settings::default()
        };
        let layers = s.layers();
        let deepest = layers.iter().map(|l| l.0).max().unwrap();
        let model = Vgg19::new(&random_weights(deepest + 1), Precision::F32).unwrap();
        let mut rng = Lcg(21);
        let (content, style) = random_targets(&model, &s, (w, h), 60.0, &mut rng);
        let t = Targets {
            size: (w, h),
            content: &content,
            style: &style,
            guided: &[],
            style_weight: 1e3,
            prior: None,
        };
        let x = rng.vec(3 * w * h, 60.0);
        // The batch path, whose losses candle differentiates.
        let whole = super::super::evaluate_network(&model, &s, &t, &x, 1).unwrap();
        let grid = Grid {
            core,
            halo: super::super::tiles::halo(&layers),
        };
        let mut calls = 0;
        let tiled = evaluate_tiled(&model, &s, &t, &x, grid, &mut |done, total| {
            calls += 1;
            // Two passes over several tiles, one over a single tile.
            let n = grid.tiles(w, h, &layers).unwrap().len();
            assert!(done <= total && total == if n == 1 { 1 } else { 2 * n });
        })
        .unwrap();
        assert!(calls > 0);
        (whole, tiled)
    }

    fn assert_same((lw, gw): &(Losses, Vec<f32>), (lt, gt): &(Losses, Vec<f32>)) {
        let terms = |l: &Losses| [l.content, l.style, l.tv, l.total, l.gram_cosine];
        for (a, b) in terms(lt).iter().zip(terms(lw)) {
            assert!(
                (a - b).abs() <= 1e-4 * b.abs(),
                "tiled {lt:?}\nwhole {lw:?}"
            );
        }
        let scale = gw.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let err = gt
            .iter()
            .zip(gw)
            .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
        assert!(
            err <= 1e-4 * scale,
            "gradient error {err} against values up to {scale}"
        );
    }

    /// Tiny tiles (8 px cores, many seams, edges that do not fall on the pooling grid) give the
    /// whole image's losses and gradient.
    #[test]
    fn tiny_tiles_give_the_whole_image_gradient() {
        let (whole, tiled) = both("relu3_2", "relu1_1:10,relu2_1:0.1,relu3_1:0.1", (61, 47), 8);
        assert_same(&whole, &tiled);
        // One tile (how a single image runs whole) gives it too.
        let (whole, one) = both(
            "relu3_2",
            "relu1_1:10,relu2_1:0.1,relu3_1:0.1",
            (61, 47),
            64,
        );
        assert_same(&whole, &one);
    }

    /// Tiled features and Gram matrices are the whole image's.
    #[test]
    fn tiled_features_and_grams_are_the_whole_images() {
        let ids = [LayerId(1), LayerId(4), LayerId(5)];
        let model = Vgg19::new(&random_weights(6), Precision::F32).unwrap();
        let (w, h) = (53, 38);
        let x = Lcg(4).vec(3 * w * h, 60.0);
        let whole = model
            .features(
                &Tensor::from_vec(x.clone(), (1, 3, h, w), &Device::Cpu).unwrap(),
                &ids,
            )
            .unwrap();
        let grid = Grid {
            core: 8,
            halo: super::super::tiles::halo(&ids),
        };
        let tiled = features(&model, &x, (w, h), &ids, grid).unwrap();
        let grams_tiled = grams(&model, &x, (w, h), &ids, grid, None).unwrap();
        let close = |a: &Tensor, b: &Tensor| {
            assert_eq!(a.dims(), b.dims());
            let a: Vec<f32> = a.flatten_all().unwrap().to_vec1().unwrap();
            let b: Vec<f32> = b.flatten_all().unwrap().to_vec1().unwrap();
            let scale = b.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            let err = a
                .iter()
                .zip(&b)
                .fold(0.0f32, |m, (x, y)| m.max((x - y).abs()));
            assert!(
                err <= 1e-5 * scale,
                "error {err} against values up to {scale}"
            );
        };
        for ((t, wf), gt) in tiled.iter().zip(&whole).zip(&grams_tiled) {
            close(t, wf);
            close(gt, &loss::gram(wf).unwrap());
        }
    }

    /// The default layers, to relu5_1 (a 96 px halo), on tiles of 48 px.
    #[test]
    fn default_layers_tile_exactly() {
        let s = Settings::default();
        let name = |l: &[(LayerId, f32)]| {
            l.iter()
                .map(|(l, w)| format!("{}:{w}", l.name()))
                .collect::<Vec<_>>()
                .join(",")
        };
        let (whole, tiled) = both(
            &name(&s.content_layers),
            &name(&s.style_layers),
            (150, 118),
            48,
        );
        assert_same(&whole, &tiled);
    }
}
