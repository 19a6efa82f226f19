//! `impasto stylize`: load, step the session to the end, save, report.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use impasto::image::{resize, Rgb};
use impasto::metrics::{gram::gram_cosine_similarity, ssim::ssim_rgb_luma};
use impasto::sysmem;
use impasto::{Session, Start};
use impasto_io::codec::{self as io, Limits};
use impasto_io::medical::{write_secondary_capture, Filing};
use impasto_io::{Error, Result};

use crate::args::StylizeArgs;
use crate::guides;
use crate::look;
use crate::medical;
use crate::plan;
use crate::progress::Progress;
use crate::resume;

/// Checks the output path before any work: a type [`io::save`] writes (or DICOM), in a folder
/// that exists.
pub fn check_output(out: &Path) -> Result<()> {
    if !medical::is_dicom_output(out) {
        io::Format::for_path(out, io::BitDepth::Eight)?;
    }
    impasto_io::atomic::output_dir(out)
        .map(|_| ())
        .map_err(|e| Error::Usage(e.to_string()))
}

/// Saves `img` (with the content's alpha, resized, if it had one), or as DICOM filed by
/// `filing`.
fn save(
    path: &Path,
    img: &Rgb,
    alpha: Option<&(Vec<f32>, usize, usize)>,
    sixteen: bool,
    filing: Option<&Filing>,
) -> Result<()> {
    if let Some(filing) = filing {
        return write_secondary_capture(path, img, filing);
    }
    let a = alpha.map(|(a, w, h)| resize::resize_plane(a, *w, *h, img.width, img.height));
    let depth = if sixteen {
        io::BitDepth::Sixteen
    } else {
        io::BitDepth::Eight
    };
    io::save(path, img, a.as_deref(), depth)
}

/// Runs `impasto stylize`.
pub fn run(a: StylizeArgs) -> Result<()> {
    if let Some(model) = a.model.clone() {
        return crate::stylize_model::run(a, &model);
    }
    let start = Instant::now();
    check_output(&a.output)?;
    if a.save_every == Some(0) {
        return Err(Error::Usage("--save-every must be at least 1".into()));
    }
    let from = match a.init.as_str() {
        "content" => Start::Content,
        "noise" => Start::Noise { seed: a.look.seed },
        path => Start::Image(io::load(Path::new(path), &Limits::default())?.image),
    };
    let photo = medical::load_photo(&a.content, &a.medical.read)?;
    let settings = look::settings(&a.look, a.size, photo.grey)?;
    let filing = medical::filing(&a.output, &a.content, &photo, &a.medical)?;
    let anatomy = medical::anatomy(&a.content, photo.grey, a.medical.anatomy)?;
    let content = photo.decoded;
    let size = (content.image.width, content.image.height);
    let (styles, placed) = guides::Placement::new(&a.look, look::styles(&a.look)?, size, false)?;
    let first_style = styles.styles()[0].image.clone();
    let alpha = content
        .alpha
        .map(|p| (p, content.image.width, content.image.height));
    let precision = impasto::precision_for(&a.look.precision, a.size)?;
    let model = crate::weights::load_model(a.look.weights.weights.as_deref(), a.json, precision)?;
    let budget_mb = settings
        .max_memory
        .unwrap_or_else(impasto::plan::default_budget)
        >> 20;
    let mut session = Session::new(
        &model,
        content.image.clone(),
        styles.clone(),
        settings.clone(),
        from,
    )?;
    if let Some(g) = placed.guides(0, size)? {
        session = session.with_guides(g)?;
    }
    let tiled = session
        .memory_plan()
        .iter()
        .any(|p| p.layout.grid.is_some());
    if a.plan || tiled {
        let rate = plan::calibrate(&model, &content.image, &styles, &settings)?;
        let scales = session.memory_plan();
        if a.plan {
            match a.json {
                true => println!("{}", plan::json(scales, rate, budget_mb)),
                false => println!("{}", plan::table(scales, rate, budget_mb)),
            }
            return Ok(());
        }
        if !a.json {
            eprintln!("{}", plan::table(scales, rate, budget_mb));
        }
    }
    let key = resume::key(
        &content.image,
        &styles,
        &settings,
        &format!(
            "{}|{}|{}|{}",
            a.init,
            a.look.seed,
            model.precision().name(),
            placed.digest
        ),
    );
    let checkpoint = resume::path_for(&a.output);
    let before = match a.resume {
        true => resume::restore(&mut session, &checkpoint, &key)?,
        false => 0.0,
    };
    let mut saver = resume::Saver::new(checkpoint.clone(), key, a.checkpoint_minutes, before);
    let deadline = a.minutes.map(|m| Duration::from_secs_f64(m * 60.0));
    let bar = Progress::new();
    let stem = a.output.with_extension("");
    while !session.done() {
        let report = session.step_with(&mut |done, total| bar.tile(done, total))?;
        bar.show(&report);
        let out_of_time = deadline.is_some_and(|d| start.elapsed() >= d);
        if saver.save(&session, out_of_time)? && out_of_time {
            bar.finish();
            return stopped(&a, &checkpoint, &report, saver.seconds());
        }
        if let Some(n) = a.save_every {
            if report.done_iters % n == 0 {
                let p = PathBuf::from(format!(
                    "{}_iter{:04}.png",
                    stem.display(),
                    report.done_iters
                ));
                save(&p, &session.image(), alpha.as_ref(), false, None)?;
            }
        }
    }
    bar.finish();
    let (result, anatomy_share) = match anatomy {
        Some(k) => {
            let (img, share) = medical::keep_anatomy(&session.image(), &content.image, k)?;
            (img, Some(share))
        }
        None => (session.image(), None),
    };
    let (l, plan) = (session.losses(), session.plan().to_vec());
    // The run's images, targets and optimiser state go before the measurements (gigabytes at
    // print size).
    drop(session);
    let sixteen = content.sixteen_bit;
    save(&a.output, &result, alpha.as_ref(), sixteen, filing.as_ref())?;
    saver.remove();
    let seconds = saver.seconds();
    let reference = resize::resize(&content.image, result.width, result.height);
    let ssim = ssim_rgb_luma(&reference, &result)?;
    drop(reference);
    let fixed = impasto::plan::fixed_bytes(
        model.precision(),
        content.image.width * content.image.height,
    );
    let budget = impasto::plan::forward_budget(&settings, fixed);
    let gram_cos = gram_cosine_similarity(&model, &first_style, &result, budget)?;
    let peak_mb = sysmem::peak_rss_bytes().unwrap_or(0) / (1 << 20);
    if a.json {
        let v = serde_json::json!({
            "output": a.output, "width": result.width, "height": result.height,
            "seconds": seconds, "peak_rss_mb": peak_mb, "precision": model.precision(), "ssim": ssim, "gram_cosine": gram_cos,
            "iters": plan.iter().map(|s| s.iters).sum::<usize>(),
            "scales": plan.iter().map(|s| s.size).collect::<Vec<_>>(),
            "losses": { "content": l.content, "style": l.style, "tv": l.tv, "total": l.total },
            "anatomy_share": anatomy_share,
        });
        println!("{v}");
    } else {
        println!(
            "wrote {} ({}×{}) in {:.1} s ({}), peak memory {} MB\nSSIM {:.3} (content kept)  Gram cosine {:.3} (style matched)",
            a.output.display(), result.width, result.height, seconds, model.precision().name(), peak_mb, ssim, gram_cos
        );
    }
    Ok(())
}

/// Reports a run stopped by `--minutes` with its checkpoint written.
fn stopped(a: &StylizeArgs, checkpoint: &Path, r: &impasto::Report, seconds: f64) -> Result<()> {
    if a.json {
        let v = serde_json::json!({
            "finished": false, "checkpoint": checkpoint, "seconds": seconds,
            "done_iters": r.done_iters, "total_iters": r.total_iters,
        });
        println!("{v}");
    } else {
        println!(
            "stopped after {} of {} iterations ({:.1} min); continue with --resume (checkpoint {})",
            r.done_iters,
            r.total_iters,
            seconds / 60.0,
            checkpoint.display()
        );
    }
    Ok(())
}
