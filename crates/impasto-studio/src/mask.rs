//! A session's style mask: a grey image over the photo, uploaded or painted on the page (white:
//! the style goes there, black: the photo stays, grey blends; transparent counts as black).
//! It is checked against the photo, resized to it, and placed for the engine.

use impasto::guide::{Guides, Mask};
use impasto::image::Rgb;
use impasto_io::codec::Limits;

use crate::error::Error;
use crate::protocol::MaskInfo;
use crate::upload;

/// A mask no brighter than this anywhere is all black (JPEG noise aside).
const BLACK: f32 = 0.01;

/// Decodes the mask upload `bytes` (named `name` in messages) under `limits` for `photo`: the
/// photo's shape (a small rounding difference aside), not all black; resized to the photo.
pub fn decode(
    name: &str,
    bytes: &[u8],
    limits: &Limits,
    photo: &Rgb,
) -> Result<(MaskInfo, Mask), Error> {
    let decoded = upload::decode_full(name, bytes, limits)?;
    let img = &decoded.image;
    let (mw, mh, w, h) = (img.width, img.height, photo.width, photo.height);
    if (mw * h).abs_diff(mh * w) > mw.max(w).max(mh).max(h) {
        return Err(Error::BadInput(format!(
            "{name} is {mw}×{mh} but the photo is {w}×{h}: a mask must have the photo's \
             shape; paint it over the photo, or export it at the photo's size"
        )));
    }
    let values = grey(img, decoded.alpha.as_deref());
    if values.iter().all(|&v| v < BLACK) {
        return Err(Error::BadInput(format!(
            "{name} is all black, so no style would go anywhere: paint white where the style \
             goes"
        )));
    }
    let mask = Mask::soft(mw, mh, values)
        .map_err(|e| Error::Internal(crate::words::describe(&e)))?
        .resized(w, h);
    let info = MaskInfo {
        name: name.to_string(),
        width: w,
        height: h,
        coverage: mask.coverage() as f32,
    };
    Ok((info, mask))
}

/// The mean of the three channels in 0..1, times the alpha where there is one (the colour was
/// composited onto white, which is taken off again).
fn grey(img: &Rgb, alpha: Option<&[f32]>) -> Vec<f32> {
    let plane = img.width * img.height;
    let d = &img.data;
    (0..plane)
        .map(|i| {
            let g = (d[i] + d[plane + i] + d[2 * plane + i]) / 3.0;
            let g = match alpha {
                Some(a) => g - (255.0 - a[i]),
                None => g,
            };
            (g / 255.0).clamp(0.0, 1.0)
        })
        .collect()
}

/// How a run places its styles with `mask`: all of them, blended as the sliders say, where the
/// mask is white; the photo kept where it is black. `None` when the mask is all white.
pub fn guides(mask: &Mask) -> Option<Guides> {
    let keep = mask.inverted();
    (keep.coverage() > 0.0).then_some(Guides {
        masks: Vec::new(),
        keep: Some(keep),
    })
}

/// `styled` (a one-pass result, `photo`'s size or shape) with the photo put back where `mask`
/// keeps it, over the same soft edge a run uses.
pub fn apply(styled: &Rgb, photo: &Rgb, mask: &Mask) -> Rgb {
    match guides(mask) {
        Some(g) => g.show_photo(styled.clone(), photo),
        None => styled.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use impasto_io::codec::{encode, Format};

    fn png(img: &Rgb, alpha: Option<&[f32]>) -> Vec<u8> {
        encode(img, alpha, Format::Png8).unwrap()
    }

    /// A `w × h` image, white on the left half and black on the right.
    fn half(w: usize, h: usize) -> Rgb {
        let mut img = Rgb::filled(w, h, [0.0; 3]);
        for c in 0..3 {
            for y in 0..h {
                for x in 0..w / 2 {
                    img.data[c * w * h + y * w + x] = 255.0;
                }
            }
        }
        img
    }

    #[test]
    fn a_half_mask_is_resized_to_the_photo_and_keeps_the_other_half() {
        let photo = Rgb::filled(40, 20, [100.0; 3]);
        let (info, mask) =
            decode("m.png", &png(&half(20, 10), None), &Limits::FILES, &photo).unwrap();
        assert_eq!((mask.size(), info.width, info.height), ((40, 20), 40, 20));
        assert!((info.coverage - 0.5).abs() < 0.05, "{}", info.coverage);
        let keep = guides(&mask).unwrap().keep.unwrap();
        assert!(keep.values()[0] < 0.05 && keep.values()[39] > 0.95);
        let styled = Rgb::filled(40, 20, [200.0; 3]);
        let out = apply(&styled, &photo, &mask);
        assert!(out.data[0] > 190.0 && out.data[39] < 110.0);
    }

    #[test]
    fn all_black_wrong_shape_and_garbage_are_refused_by_name() {
        let photo = Rgb::filled(40, 20, [100.0; 3]);
        let black = png(&Rgb::filled(40, 20, [0.0; 3]), None);
        let lim = Limits::FILES;
        let msg = |r: Result<(MaskInfo, Mask), Error>| match r {
            Err(Error::BadInput(m)) => m,
            other => panic!("{:?}", other.map(|(i, _)| i)),
        };
        let m = msg(decode("black.png", &black, &lim, &photo));
        assert!(m.starts_with("black.png is all black"), "{m}");
        let square = png(&Rgb::filled(20, 20, [255.0; 3]), None);
        let m = msg(decode("sq.png", &square, &lim, &photo));
        assert!(m.contains("sq.png is 20×20 but the photo is 40×20"), "{m}");
        let m = msg(decode("x.png", b"\x89PNG\r\n\x1a\njunk", &lim, &photo));
        assert!(m.starts_with("x.png: corrupt or truncated PNG"), "{m}");
    }

    #[test]
    fn transparent_counts_as_black_and_all_white_needs_no_guides() {
        let photo = Rgb::filled(4, 2, [100.0; 3]);
        let white = Rgb::filled(4, 2, [255.0; 3]);
        let clear = vec![0.0; 8];
        let m = decode("t.png", &png(&white, Some(&clear)), &Limits::FILES, &photo);
        assert!(matches!(m, Err(Error::BadInput(ref m)) if m.contains("all black")));
        let (_, mask) = decode("w.png", &png(&white, None), &Limits::FILES, &photo).unwrap();
        assert!(guides(&mask).is_none());
    }
}
