//! Finding the weights, fetching them on first use.

use std::path::Path;

use impasto::Precision;
use impasto::Vgg19;
use impasto_io::weights::{self, fetch};
use impasto_io::Error;

/// Loads VGG19 from `--weights`, `$IMPASTO_WEIGHTS` or the cache, fetching into the cache
/// (and saying so on stderr) when nothing is there yet. Convolutions run in `precision`.
pub fn load_model(
    explicit: Option<&Path>,
    quiet: bool,
    precision: Precision,
) -> impasto_io::Result<Vgg19> {
    let (path, exists) = weights::resolve(explicit)?;
    let path = if exists {
        path
    } else if explicit.is_some() || std::env::var_os("IMPASTO_WEIGHTS").is_some() {
        return Err(Error::Weights {
            path,
            msg: "no such weights file; check the path, or leave out --weights and IMPASTO_WEIGHTS to use the cache (filled by `impasto fetch`)".into(),
        });
    } else {
        eprintln!(
            "impasto: VGG19 weights not found; fetching them once into {} ...",
            weights::cache_dir()?.display()
        );
        fetch::fetch(&mut |line| {
            if !quiet {
                eprintln!("  {line}");
            }
        })?
    };
    weights::load_vgg(&path, precision)
}
