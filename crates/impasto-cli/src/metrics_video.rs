//! `impasto metrics-video`: the warping error of a stylised video against its input.

use impasto::video::WarpingError;
use impasto_io::video::{Ffmpeg, ReadOptions};
use impasto_io::{Error, Result};

use crate::args::MetricsVideoArgs;

/// Runs `impasto metrics-video`.
pub fn run(a: MetricsVideoArgs) -> Result<()> {
    let ff = Ffmpeg::locate()?;
    let info = ff.probe(&a.output)?;
    let size = (info.width, info.height);
    let fps = a.fps.unwrap_or(info.fps);
    let styled = ff.read(&a.output, &ReadOptions::default())?;
    let reference = ff.read(
        &a.reference,
        &ReadOptions {
            size: Some(size),
            fps: Some(fps),
            range: a.frames.clone(),
        },
    )?;
    let mut metric = WarpingError::default();
    let (mut n_styled, mut n_reference) = (0, 0);
    let mut styled = styled.fuse();
    let mut reference = reference.fuse();
    loop {
        let (s, r) = (styled.next().transpose()?, reference.next().transpose()?);
        n_styled += s.is_some() as usize;
        n_reference += r.is_some() as usize;
        match (s, r) {
            (Some(s), Some(r)) => metric.push(&r, &s)?,
            (None, None) => break,
            _ => {}
        }
    }
    if n_styled != n_reference {
        return Err(Error::input(
            &a.reference,
            format!(
                "has {n_reference} frames at {:.3} fps but {} has {n_styled}: give the reference the stylised video was made from (with --frames A..B if only part of it was stylised)",
                fps,
                a.output.display()
            ),
        ));
    }
    let Some(value) = metric.value() else {
        return Err(Error::input(
            &a.output,
            "needs at least two frames with trackable motion to measure a warping error",
        ));
    };
    if a.json {
        let v = serde_json::json!({
            "output": a.output, "reference": a.reference, "frames": n_styled,
            "width": size.0, "height": size.1, "warping_error": value,
            "per_pair": metric.per_pair(), "pairs_skipped": metric.skipped(),
        });
        println!("{v}");
    } else {
        println!(
            "warping error {value:.5} over {} frame pairs ({n_styled} frames, {}×{}; lower is steadier, 0 = moves exactly with the input)",
            metric.per_pair().len(),
            size.0,
            size.1
        );
    }
    Ok(())
}
