//! Where the styles go, from the command line: a `--mask` per `--style`, label maps
//! (`--regions` with a `--style-regions` per `--style`), and `--keep`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use impasto::guide::{label_masks, Guides, Mask};
use impasto::{Rgb, StyleTargets};
use impasto_io::codec::{self as io, Limits};
use impasto_io::{Error, Result};
use sha2::{Digest, Sha256};

use crate::args::LookArgs;

/// The styles as placed: the targets (one per region with label maps), where each goes, and
/// a digest of the mask files (for the checkpoint's key).
pub struct Placed {
    /// The paintings, one entry per style region.
    pub styles: Arc<StyleTargets>,
    /// The masks, if any were given.
    pub guides: Option<Guides>,
    /// SHA-256 of the mask and label files, in order.
    pub digest: String,
}

/// Places `styles` (loaded from `--style`) on `photo` as the mask options say.
pub fn place(a: &LookArgs, photo: &Rgb, styles: Arc<StyleTargets>) -> Result<Placed> {
    let mut digest = Sha256::new();
    let keep = match &a.keep {
        Some(p) => Some(soft_mask(p, photo, "--keep", &mut digest)?),
        None => None,
    };
    let (styles, masks) = if !a.masks.is_empty() {
        one_each(a.masks.len(), styles.styles().len(), "--mask")?;
        let masks = a
            .masks
            .iter()
            .map(|p| soft_mask(p, photo, "--mask", &mut digest))
            .collect::<Result<Vec<_>>>()?;
        (styles, masks)
    } else if let Some(labels) = &a.regions {
        regions(a, labels, photo, &styles, &mut digest)?
    } else {
        (styles, Vec::new())
    };
    let guides = match (masks.is_empty(), &keep) {
        (true, None) => None,
        _ => Some(Guides { masks, keep }),
    };
    Ok(Placed {
        styles,
        guides,
        digest: format!("{:x}", digest.finalize()),
    })
}

/// One file per style.
fn one_each(files: usize, styles: usize, flag: &str) -> Result<()> {
    if files != styles {
        return Err(Error::Usage(format!(
            "{files} {flag} given for {styles} --style: give one {flag} per --style, in the \
             same order"
        )));
    }
    Ok(())
}

/// An image file, hashed into `digest`.
fn load(path: &Path, digest: &mut Sha256) -> Result<Rgb> {
    let bytes = io::read_input(path)?;
    digest.update(&bytes);
    Ok(io::decode(&bytes, &Limits::default())
        .map_err(|e| e.named(path))?
        .image)
}

/// A grey mask file for `image` (white applies, black leaves out): its size or shape, and
/// not all black.
fn soft_mask(path: &PathBuf, image: &Rgb, flag: &str, digest: &mut Sha256) -> Result<Mask> {
    let m = load(path, digest)?;
    check_shape(path, &m, image, flag)?;
    let plane = m.width * m.height;
    let values = (0..plane)
        .map(|i| (m.data[i] + m.data[plane + i] + m.data[2 * plane + i]) / (3.0 * 255.0))
        .map(|v| v.clamp(0.0, 1.0))
        .collect();
    let mask = Mask::soft(m.width, m.height, values)?;
    if mask.coverage() == 0.0 {
        return Err(Error::input(
            path,
            format!("the {flag} image is all black: paint white where it applies"),
        ));
    }
    Ok(mask)
}

/// A mask or label map must have its image's shape.
fn check_shape(path: &Path, m: &Rgb, image: &Rgb, flag: &str) -> Result<()> {
    let (mw, mh, w, h) = (m.width, m.height, image.width, image.height);
    if (mw * h).abs_diff(mh * w) > mw.max(w).max(mh).max(h) {
        return Err(Error::input(
            path,
            format!(
                "the {flag} image is {mw}×{mh} but its image is {w}×{h}: draw it at that \
                 size (or the same shape)"
            ),
        ));
    }
    Ok(())
}

/// Label maps: every colour of the photo's map that a painting's map has too becomes a style
/// region, that painting's part of that colour over the photo's part; colours only the photo
/// has keep the photo.
fn regions(
    a: &LookArgs,
    labels: &Path,
    photo: &Rgb,
    styles: &StyleTargets,
    digest: &mut Sha256,
) -> Result<(Arc<StyleTargets>, Vec<Mask>)> {
    one_each(
        a.style_regions.len(),
        styles.styles().len(),
        "--style-regions",
    )?;
    let map = load(labels, digest)?;
    check_shape(labels, &map, photo, "--regions")?;
    let photo_labels = label_masks(&map);
    let mut entries = Vec::new();
    for (style, path) in styles.styles().iter().zip(&a.style_regions) {
        let map = load(path, digest)?;
        check_shape(path, &map, &style.image, "--style-regions")?;
        for painted in label_masks(&map) {
            if let Some(p) = photo_labels.iter().find(|l| l.colour == painted.colour) {
                entries.push((style.clone(), painted.mask, p.mask.clone()));
            }
        }
    }
    if entries.is_empty() {
        return Err(Error::input(
            labels,
            "no colour of the --regions map is in any --style-regions map: paint the regions \
             that go together in the same colour",
        ));
    }
    let (mut paintings, mut painting_masks, mut photo_masks) = (Vec::new(), Vec::new(), Vec::new());
    for (style, painted, on_photo) in entries {
        paintings.push(style);
        painting_masks.push(Some(painted));
        photo_masks.push(on_photo);
    }
    Ok((
        StyleTargets::with_masks(paintings, painting_masks)?,
        photo_masks,
    ))
}
