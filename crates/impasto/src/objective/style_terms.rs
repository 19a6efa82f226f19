//! The style loss over tiles: Gram matrices summed over every tile's core (of the whole image,
//! or weighted by a region's guide), compared with their targets, and each core's share of the
//! gradient.
//!
//! A guided Gram matrix (Gatys et al. 2017) weighs each feature by its guide value squared and
//! is normalised by the guide's weight `Σ g²` instead of the feature count, so it is the mean
//! over the region; each region's term counts by its share of the image. A guide of ones is
//! the plain Gram matrix and the plain term.

use candle_core::Tensor;
use impasto_kernels::gram;

use super::tiles::{feature_size, Rect, Tile};
use super::Targets;
use crate::guide::LayerGuide;
use crate::model::act::Act;
use crate::model::layers::LayerId;
use crate::model::tape::Features;
use crate::model::vgg::Vgg19;
use crate::settings::Settings;
use crate::Result;

/// One Gram term: a style layer over the whole image or over a guided region.
pub(super) struct Term<'a> {
    /// The layer.
    pub id: LayerId,
    /// The region at that layer; `None`: the whole image.
    pub guide: Option<&'a LayerGuide>,
    target: &'a Tensor,
    /// The layer's weight times the region's weight and share of the image.
    weight: f64,
    /// What the term's cosine counts for in the mean (the region's weight and share).
    share: f64,
}

/// The Gram terms of `t`: one per style layer, or one per style layer and guided region.
pub(super) fn terms<'a>(s: &Settings, t: &'a Targets) -> Vec<Term<'a>> {
    if t.guided.is_empty() {
        return s
            .style_layers
            .iter()
            .zip(t.style)
            .map(|(&(id, wt), target)| Term {
                id,
                guide: None,
                target,
                weight: wt as f64,
                share: 1.0,
            })
            .collect();
    }
    t.guided
        .iter()
        .flat_map(|r| {
            s.style_layers
                .iter()
                .zip(&r.grams)
                .zip(&r.guides)
                .filter(|(_, g)| g.weight > 0.0)
                .map(|((&(id, wt), target), g)| Term {
                    id,
                    guide: Some(g),
                    target,
                    weight: wt as f64 * r.weight * g.share(),
                    share: r.weight * g.share(),
                })
        })
        .collect()
}

/// The style loss from the whole image's Gram sums, and what each core's features need for
/// their gradient.
pub(super) struct StyleTerms<'a> {
    pub terms: Vec<Term<'a>>,
    /// Per term: `scale·(D + Dᵀ)` applied to a core's (guide²-weighted) features gives their
    /// gradient, with `D = ∂loss/∂G` kept here and `scale = 1 / (C·Σg²)`.
    d: Vec<Vec<f32>>,
    scale: Vec<f32>,
    /// Σ weight·MSE(G, target) over the terms (before β).
    pub loss: f64,
    /// Weighted mean over the terms of cos(G, target).
    pub cosine: f64,
}

impl<'a> StyleTerms<'a> {
    /// Sums every core's Gram matrices (one forward pass over the tiles) and compares them
    /// with the targets.
    pub fn new(
        model: &Vgg19,
        s: &Settings,
        t: &'a Targets,
        x: &[f32],
        tiles: &[Tile],
        on_tile: &mut dyn FnMut(usize),
    ) -> Result<Self> {
        let terms = terms(s, t);
        let pairs: Vec<_> = terms.iter().map(|t| (t.id, t.guide)).collect();
        let sums = gram_sums(model, x, t.size, &pairs, tiles, on_tile)?;
        Self::from_sums(model, t, terms, sums)
    }

    /// The terms from the whole image's unnormalised Gram sums, one per term.
    pub fn from_sums(
        model: &Vgg19,
        t: &Targets,
        terms: Vec<Term<'a>>,
        sums: Vec<Vec<f32>>,
    ) -> Result<Self> {
        let (w, h) = t.size;
        let mut out = StyleTerms {
            d: Vec::new(),
            scale: Vec::new(),
            loss: 0.0,
            cosine: 0.0,
            terms: Vec::new(),
        };
        let mut shares = 0.0;
        for (term, sum) in terms.iter().zip(sums) {
            let c = model.convs()[term.id.0].cout();
            let area = match term.guide {
                Some(g) => g.weight,
                None => {
                    let (iw, ih) = feature_size(w, h, term.id);
                    (iw * ih) as f64
                }
            };
            let n = (c as f64 * area) as f32;
            let target = term.target.flatten_all()?.to_vec1::<f32>()?;
            let g: Vec<f32> = sum.iter().map(|v| v / n).collect();
            let cc = (c * c) as f64;
            let (mut sq, mut dot, mut na, mut nb) = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
            for (&a, &b) in g.iter().zip(&target) {
                let (a, b) = (a as f64, b as f64);
                sq += (a - b) * (a - b);
                dot += a * b;
                na += a * a;
                nb += b * b;
            }
            out.loss += term.weight * sq / cc;
            out.cosine += term.share * dot / (na.sqrt() * nb.sqrt()).max(f64::MIN_POSITIVE);
            shares += term.share;
            let k = (t.style_weight * term.weight * 2.0 / cc) as f32;
            out.d
                .push(g.iter().zip(&target).map(|(a, b)| k * (a - b)).collect());
            out.scale.push(1.0 / n);
        }
        out.cosine /= f64::max(shares, f64::MIN_POSITIVE);
        out.terms = terms;
        Ok(out)
    }

    /// Adds the gradient of term `k` with respect to the features `f` (`c` channels of
    /// `fw × fh`) over the tile's `core` (at `at` in the image's features) to `g`, a block of
    /// rows at a time.
    pub fn add_gradient(
        &self,
        k: usize,
        f: &Act,
        (c, fw, fh): (usize, usize, usize),
        (core, at): (Rect, Rect),
        g: &mut Act,
    ) {
        let mut out = Vec::new();
        for rows in row_blocks(core, c) {
            let mut fc = region(f, c, (fw, fh), rows);
            if let Some(guide) = self.terms[k].guide {
                weigh(&mut fc, c, rows, core, (guide, at), 2);
            }
            out.resize(fc.len(), 0.0);
            let hw = rows.w() * rows.h();
            gram::gram_backward(&fc, &self.d[k], c, hw, self.scale[k], &mut out);
            for ch in 0..c {
                for (r, y) in (rows.y0..rows.y1).enumerate() {
                    let src = &out[(ch * rows.h() + r) * rows.w()..][..rows.w()];
                    g.add((ch * fh + y) * fw + rows.x0, src);
                }
            }
        }
    }
}

/// Bytes of f32 a block of feature rows may take (copied out of a tile's features for a Gram
/// product or its gradient).
const BLOCK_BYTES: usize = 16 << 20;

/// `rect` cut into blocks of whole rows, each at most [`BLOCK_BYTES`] of `c` channels.
fn row_blocks(rect: Rect, c: usize) -> impl Iterator<Item = Rect> {
    let rows = (BLOCK_BYTES / (4 * c * rect.w()).max(1)).max(1);
    (rect.y0..rect.y1).step_by(rows).map(move |y0| Rect {
        y0,
        y1: (y0 + rows).min(rect.y1),
        ..rect
    })
}

/// Σ over the tiles' cores of the Gram matrix of each `(layer, guide)` pair (plain where the
/// guide is `None`) of the image `x` (`3 × h × w`), one forward pass per tile.
pub(super) fn gram_sums(
    model: &Vgg19,
    x: &[f32],
    (w, h): (usize, usize),
    pairs: &[(LayerId, Option<&LayerGuide>)],
    tiles: &[Tile],
    on_tile: &mut dyn FnMut(usize),
) -> Result<Vec<Vec<f32>>> {
    let mut ids: Vec<LayerId> = Vec::new();
    for &(id, _) in pairs {
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    let mut sums: Vec<Vec<f32>> = Vec::new();
    if ids.is_empty() {
        return Ok(sums);
    }
    for (i, tile) in tiles.iter().enumerate() {
        let e = tile.extent;
        let feats = model.outputs(tile.cut(x, 3, w, h), [1, e.h(), e.w()], &ids)?;
        let part = tile_sums(&feats, &ids, pairs, tile, (w, h));
        if sums.is_empty() {
            sums = part;
        } else {
            for (sum, p) in sums.iter_mut().zip(part) {
                sum.iter_mut().zip(&p).for_each(|(a, b)| *a += b);
            }
        }
        on_tile(i + 1);
    }
    Ok(sums)
}

/// The Gram sums of each `(layer, guide)` pair over one tile's core, from the tile's
/// features at `ids`.
pub(super) fn tile_sums(
    feats: &Features,
    ids: &[LayerId],
    pairs: &[(LayerId, Option<&LayerGuide>)],
    tile: &Tile,
    (w, h): (usize, usize),
) -> Vec<Vec<f32>> {
    pairs
        .iter()
        .map(|&(id, guide)| {
            let k = ids.iter().position(|&l| l == id).expect("a computed layer");
            let (f, [c, fh, fw]) = &feats[k];
            let (core, at) = tile.core_features(id, (*fw, *fh), (w, h));
            core_gram(f, (*c, *fw, *fh), core, guide.map(|g| (g, at)))
        })
        .collect()
}

/// `F·Fᵀ` over `core` of the features `f` (`c` channels of `fw × fh`), each feature weighted
/// by its guide value squared where a guide (with the core's place `at` in the image's
/// features) is given, a block of rows at a time.
fn core_gram(
    f: &Act,
    (c, fw, fh): (usize, usize, usize),
    core: Rect,
    guide: Option<(&LayerGuide, Rect)>,
) -> Vec<f32> {
    let mut sum = vec![0.0; c * c];
    let mut gk = vec![0.0; c * c];
    for rows in row_blocks(core, c) {
        let mut fc = region(f, c, (fw, fh), rows);
        if let Some(guide) = guide {
            weigh(&mut fc, c, rows, core, guide, 1);
        }
        gram::gram(&fc, c, rows.w() * rows.h(), 1.0, &mut gk);
        sum.iter_mut().zip(&gk).for_each(|(a, b)| *a += b);
    }
    sum
}

/// Multiplies each feature of the block `fc` (`c` planes of `rows`, rows of the tile's `core`)
/// by its guide value to the `power`.
fn weigh(
    fc: &mut [f32],
    c: usize,
    rows: Rect,
    core: Rect,
    (g, at): (&LayerGuide, Rect),
    power: i32,
) {
    let (bw, bh) = (rows.w(), rows.h());
    for r in 0..bh {
        let gy = at.y0 + rows.y0 - core.y0 + r;
        let gx = at.x0 + rows.x0 - core.x0;
        let gv = &g.values[gy * g.width + gx..][..bw];
        for ch in 0..c {
            let row = &mut fc[(ch * bh + r) * bw..][..bw];
            row.iter_mut()
                .zip(gv)
                .for_each(|(v, &m)| *v *= m.powi(power));
        }
    }
}

/// The values of `rect` in `c` planes of `w × h`, as `c` planes of `rect`'s size in f32.
pub(super) fn region(f: &Act, c: usize, (w, h): (usize, usize), rect: Rect) -> Vec<f32> {
    let mut out = vec![0.0; c * rect.w() * rect.h()];
    if out.is_empty() {
        return out;
    }
    for (i, dst) in out.chunks_exact_mut(rect.w()).enumerate() {
        let (ch, y) = (i / rect.h(), rect.y0 + i % rect.h());
        f.read((ch * h + y) * w + rect.x0, dst);
    }
    out
}

#[cfg(test)]
mod tests {
    use candle_core::Device;
    use impasto_kernels::Precision;

    use super::super::tiled::{evaluate_tiled, grams};
    use super::super::tiles::{halo, Grid};
    use super::super::{GuidedStyle, Losses};
    use super::*;
    use crate::guide::Mask;
    use crate::model::layers::parse_weighted_layers;
    use crate::testutil::{random_targets, random_weights, Lcg};
    use crate::Setting;

    const STYLE: &str = "relu1_1:10,relu2_1:1,relu3_1:0.1";

    fn setup(w: usize, h: usize) -> (Vgg19, Settings, Vec<Tensor>, Vec<Tensor>, Vec<f32>) {
        let s = Settings {
            content_layers: parse_weighted_layers("relu3_2", Setting::ContentLayers).unwrap(),
            style_layers: parse_weighted_layers(STYLE, Setting::StyleLayers).unwrap(),
            ..Settings::default()
        };
        let model = Vgg19::new(&random_weights(6), Precision::F32).unwrap();
        let mut rng = Lcg(5);
        let (content, style) = random_targets(&model, &s, (w, h), 60.0, &mut rng);
        let x = rng.vec(3 * w * h, 60.0);
        (model, s, content, style, x)
    }

    fn mask(w: usize, h: usize, f: impl Fn(usize, usize) -> f32) -> Mask {
        Mask::soft(w, h, (0..w * h).map(|i| f(i % w, i / w)).collect()).unwrap()
    }

    fn style_ids(s: &Settings) -> Vec<LayerId> {
        s.style_layers.iter().map(|l| l.0).collect()
    }

    fn evaluate(
        (model, s): (&Vgg19, &Settings),
        (content, style, guided): (&[Tensor], &[Tensor], &[GuidedStyle]),
        x: &[f32],
        (w, h, core): (usize, usize, usize),
    ) -> (Losses, Vec<f32>) {
        let t = Targets {
            size: (w, h),
            content,
            style,
            guided,
            style_weight: 1e3,
            prior: None,
        };
        let grid = Grid {
            core,
            halo: halo(&s.layers()),
        };
        evaluate_tiled(model, s, &t, x, grid, &mut |_, _| {}).unwrap()
    }

    /// The guided Gram matrix is `Σ g² F Fᵀ / (C·Σ g²)` over the features, with the guide
    /// carried down to each layer, tile by tile as whole.
    #[test]
    fn guided_grams_match_a_hand_computation() {
        let (w, h) = (37, 26);
        let (model, s, _, _, x) = setup(w, h);
        let ids = style_ids(&s);
        let m = mask(w, h, |x, y| ((x * 7 + y * 3) % 11) as f32 / 10.0);
        let guides = LayerGuide::for_layers(&m, &ids);
        let input = Tensor::from_vec(x.clone(), (1, 3, h, w), &Device::Cpu).unwrap();
        let feats = model.features(&input, &ids).unwrap();
        for core in [8, 64] {
            let grid = Grid {
                core,
                halo: halo(&ids),
            };
            let got = grams(&model, &x, (w, h), &ids, grid, Some(&guides)).unwrap();
            for ((f, g), got) in feats.iter().zip(&guides).zip(&got) {
                let (_, c, fh, fw) = f.dims4().unwrap();
                assert_eq!((fw, fh), (g.width, g.height));
                let f: Vec<f32> = f.flatten_all().unwrap().to_vec1().unwrap();
                let got: Vec<f32> = got.flatten_all().unwrap().to_vec1().unwrap();
                let p = fw * fh;
                for i in 0..c {
                    for j in 0..c {
                        let want: f64 = (0..p)
                            .map(|q| {
                                let gq = g.values[q] as f64;
                                gq * gq * f[i * p + q] as f64 * f[j * p + q] as f64
                            })
                            .sum::<f64>()
                            / (c as f64 * g.weight);
                        let err = (got[i * c + j] as f64 - want).abs();
                        assert!(err <= 1e-4 * want.abs().max(1.0), "{i},{j}: {want} {err}");
                    }
                }
            }
        }
    }

    /// A white mask over the whole image is no mask: the same losses and gradient.
    #[test]
    fn a_white_mask_is_the_unguided_objective() {
        let (w, h) = (40, 29);
        let (model, s, content, style, x) = setup(w, h);
        let white = mask(w, h, |_, _| 1.0);
        let guided = [GuidedStyle {
            guides: LayerGuide::for_layers(&white, &style_ids(&s)),
            grams: style.clone(),
            weight: 1.0,
        }];
        let plain = evaluate((&model, &s), (&content, &style, &[]), &x, (w, h, 64));
        let masked = evaluate((&model, &s), (&content, &[], &guided), &x, (w, h, 64));
        assert_close(&plain, &masked, 1e-5);
    }

    /// Two soft regions with their own targets: tiny tiles give the one tile's objective, and
    /// the gradient is the objective's slope (central differences along it).
    #[test]
    fn guided_objective_tiles_and_its_gradient_is_its_slope() {
        let (w, h) = (37, 26);
        let (model, s, content, style, x) = setup(w, h);
        let (_, other) = random_targets(&model, &s, (w, h), 60.0, &mut Lcg(9));
        let left = mask(w, h, |x, _| (1.0 - x as f32 / 20.0).clamp(0.0, 1.0));
        let ids = style_ids(&s);
        let guided = [
            GuidedStyle {
                guides: LayerGuide::for_layers(&left, &ids),
                grams: style,
                weight: 1.0,
            },
            GuidedStyle {
                guides: LayerGuide::for_layers(&left.inverted(), &ids),
                grams: other,
                weight: 2.0,
            },
        ];
        let targets = (&content[..], &[][..], &guided[..]);
        let one = evaluate((&model, &s), targets, &x, (w, h, 64));
        let tiny = evaluate((&model, &s), targets, &x, (w, h, 8));
        assert_close(&one, &tiny, 1e-4);
        // Along the gradient, the objective changes by |g|² per unit step.
        let (l0, g) = one;
        let norm2: f64 = g.iter().map(|&v| v as f64 * v as f64).sum();
        let t = 1e-2 * l0.total / norm2;
        let at = |sign: f64| {
            let xs: Vec<f32> = x
                .iter()
                .zip(&g)
                .map(|(&a, &b)| a + (sign * t) as f32 * b)
                .collect();
            evaluate((&model, &s), targets, &xs, (w, h, 64)).0.total
        };
        let slope = (at(1.0) - at(-1.0)) / (2.0 * t);
        assert!(
            (slope - norm2).abs() <= 0.02 * norm2,
            "slope {slope} against |g|² {norm2}"
        );
    }

    fn assert_close((la, ga): &(Losses, Vec<f32>), (lb, gb): &(Losses, Vec<f32>), tol: f64) {
        let terms = |l: &Losses| [l.content, l.style, l.total, l.gram_cosine];
        for (a, b) in terms(la).iter().zip(terms(lb)) {
            assert!((a - b).abs() <= tol * b.abs(), "{la:?}\n{lb:?}");
        }
        let scale = ga.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let err = ga
            .iter()
            .zip(gb)
            .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
        assert!(
            err as f64 <= tol * scale as f64,
            "gradient error {err} of {scale}"
        );
    }
}
