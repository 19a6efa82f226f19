//! A chunk after the first paints with the style weight β the whole video's first frame settles
//! on, as one run over the whole video would: without it, each chunk's first frame settles its
//! own β (47 against 160 on one test clip), and the chunks differ in how strongly they are painted.

use std::path::Path;
use std::sync::Arc;

use impasto::guide::Guides;
use impasto::video::{VideoSettings, VideoStylizer};
use impasto::{StyleTargets, Vgg19};
use impasto_io::video::{Ffmpeg, ReadOptions};
use impasto_io::{Error, Result};

/// `settings` with the first frame's β fixed (no style target: it would raise β again) at the
/// one the stretch's first frame settles on (the frame `read` gives first, stylised coarse to
/// fine with `guides`, and thrown away).
pub fn settle(
    model: &Vgg19,
    styles: Arc<StyleTargets>,
    settings: VideoSettings,
    (ff, input, read): (&Ffmpeg, &Path, ReadOptions),
    guides: Option<Guides>,
) -> Result<VideoSettings> {
    let frame = ff
        .read(input, &read)?
        .next()
        .transpose()?
        .ok_or_else(|| Error::input(input, "has no frame where the chunks' stretch starts"))?;
    let mut stylizer = VideoStylizer::new(model, styles, settings.clone())?;
    stylizer.set_guides(guides);
    let first = stylizer.frame(&frame, &mut |_| {})?;
    let mut settings = settings;
    settings.first.weights.style = first.style_weight as f32;
    settings.first.style_target = None;
    Ok(settings)
}
