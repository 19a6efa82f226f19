//! Writing files (and folders) atomically: the contents go into a temporary file beside the
//! target, are flushed to disk, and the file is renamed over the target. A reader never sees a
//! half-written file, and a failure leaves any earlier file as it was (the temporary file is
//! removed).
//!
//! The new file gets the permissions of the file it replaces, or `rw-r--r--` when there was
//! none (`rwxr-xr-x` for a folder; temporary files are created private).

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use tempfile::{Builder, NamedTempFile, TempPath};

use crate::error::{Error, Result};

/// Writes `bytes` to `path` atomically.
pub fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    write_with(path, |file| {
        file.write_all(bytes)
            .map_err(|source| Error::output(path, source))
    })
}

/// Writes `path` atomically through `fill`, which writes the contents into the temporary file it
/// is given and returns a value passed on. An error from `fill` leaves `path` untouched.
pub fn write_with<T>(path: &Path, fill: impl FnOnce(&mut File) -> Result<T>) -> Result<T> {
    let mut tmp = temp_file(path, "")?;
    let value = fill(tmp.as_file_mut())?;
    commit(tmp.into_temp_path(), path)?;
    Ok(value)
}

/// Lets a program write `path` atomically: `fill` gets the path of an empty temporary file beside
/// `path` with the same extension (so a program that picks its output format by the name still
/// does), to overwrite, and the result is renamed over `path` when `fill` succeeds.
pub fn write_via<T>(path: &Path, fill: impl FnOnce(&Path) -> Result<T>) -> Result<T> {
    let ext = path
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    let tmp = temp_file(path, &ext)?.into_temp_path();
    let value = fill(&tmp)?;
    commit(tmp, path)?;
    Ok(value)
}

/// Writes the folder `path` atomically: `fill` fills an empty temporary folder beside it, which
/// then takes the place of `path`. An existing `path` is moved aside first and removed once the
/// new folder is in place (or moved back if that fails); the caller decides whether it may be
/// replaced at all.
pub fn write_dir<T>(path: &Path, fill: impl FnOnce(&Path) -> Result<T>) -> Result<T> {
    let out = |source| Error::output(path, source);
    let parent = output_dir(path)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp_dir = |suffix: &str| {
        Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(suffix)
            .tempdir_in(&parent)
            .map_err(out)
    };
    let tmp = temp_dir(".tmp")?;
    let value = fill(tmp.path())?;
    let existing = std::fs::symlink_metadata(path).ok();
    set_permissions(tmp.path(), path, 0o755);
    if existing.is_some() {
        // Into a temporary folder that removes it when dropped.
        let old = temp_dir(".old")?;
        let aside = old.path().join(&name);
        std::fs::rename(path, &aside).map_err(out)?;
        if let Err(e) = std::fs::rename(tmp.path(), path) {
            let _ = std::fs::rename(&aside, path);
            return Err(out(e));
        }
    } else {
        std::fs::rename(tmp.path(), path).map_err(out)?;
    }
    // Renamed away: nothing left for the guard to remove.
    let _ = tmp.keep();
    sync_dir(path);
    Ok(value)
}

/// The folder `path` goes in (`.` for a bare name), which must exist.
pub fn output_dir(path: &Path) -> Result<PathBuf> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if dir.is_dir() {
        return Ok(dir);
    }
    Err(Error::output(
        path,
        std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!(
                "the output directory {} does not exist; create it first or choose another path",
                dir.display()
            ),
        ),
    ))
}

/// A new temporary file beside `path`: `.NAME.XXXXXX.tmp` followed by `suffix`.
/// Removes temporary files that a killed writer of `path` left beside it (`.NAME.*.tmp*`).
/// Only for a caller that knows no other writer of `path` is running.
pub fn remove_stale(path: &Path) {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return;
    };
    let prefix = format!(".{}.", name.to_string_lossy());
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let n = e.file_name().to_string_lossy().into_owned();
        if n.starts_with(&prefix) && n[prefix.len()..].contains(".tmp") {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

fn temp_file(path: &Path, suffix: &str) -> Result<NamedTempFile> {
    let dir = output_dir(path)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(&format!(".tmp{suffix}"))
        .tempfile_in(dir)
        .map_err(|source| Error::output(path, source))
}

/// Flushes the finished temporary file to disk and renames it over `path`.
fn commit(tmp: TempPath, path: &Path) -> Result<()> {
    let out = |source| Error::output(path, source);
    set_permissions(&tmp, path, 0o644);
    File::open(&tmp).and_then(|f| f.sync_all()).map_err(out)?;
    tmp.persist(path).map_err(|e| out(e.error))?;
    sync_dir(path);
    Ok(())
}

/// Gives the new file (or folder) the permissions of the one it replaces, or `mode` when there
/// is none. Best effort: failure leaves them private.
#[cfg(unix)]
fn set_permissions(tmp: &Path, target: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    let perms = std::fs::metadata(target)
        .map(|m| m.permissions())
        .unwrap_or_else(|_| std::fs::Permissions::from_mode(mode));
    let _ = std::fs::set_permissions(tmp, perms);
}

#[cfg(not(unix))]
fn set_permissions(_tmp: &Path, _target: &Path, _mode: u32) {}

/// Flushes the rename itself to disk. Best effort: the file is already in place.
#[cfg(unix)]
fn sync_dir(path: &Path) {
    if let Some(dir) = output_dir(path).ok().and_then(|d| File::open(d).ok()) {
        let _ = dir.sync_all();
    }
}

#[cfg(not(unix))]
fn sync_dir(_path: &Path) {}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn writes_and_replaces_leaving_no_temporary_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.bin");
        write(&p, b"first").unwrap();
        write(&p, b"second").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"second");
        assert_eq!(names(dir.path()), ["out.bin"]);
    }

    #[test]
    fn a_failing_fill_leaves_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("keep.txt");
        write(&p, b"old").unwrap();
        let r: Result<()> = write_with(&p, |f| {
            f.write_all(b"half").unwrap();
            Err(Error::Usage("stop".into()))
        });
        assert!(matches!(r, Err(Error::Usage(_))));
        let r: Result<()> = write_via(&p, |_| Err(Error::Usage("stop".into())));
        assert!(r.is_err());
        assert_eq!(std::fs::read(&p).unwrap(), b"old");
        assert_eq!(names(dir.path()), ["keep.txt"]);
    }

    #[test]
    fn a_program_writes_through_a_path_with_the_extension() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("clip.mp4");
        let seen = write_via(&p, |tmp| {
            std::fs::write(tmp, b"video").map_err(|e| Error::output(tmp, e))?;
            Ok(tmp.to_path_buf())
        })
        .unwrap();
        assert_eq!(seen.extension().unwrap(), "mp4");
        assert_eq!(seen.parent(), Some(dir.path()));
        assert_eq!(std::fs::read(&p).unwrap(), b"video");
        assert_eq!(names(dir.path()), ["clip.mp4"]);
    }

    #[test]
    fn a_folder_is_put_in_place_whole() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("frames");
        let fill = |files: &'static [&'static str]| {
            move |tmp: &Path| {
                for f in files {
                    std::fs::write(tmp.join(f), f).map_err(|e| Error::output(tmp, e))?;
                }
                Ok(())
            }
        };
        write_dir(&p, fill(&["a", "b"])).unwrap();
        assert_eq!(names(&p), ["a", "b"]);
        write_dir(&p, fill(&["c"])).unwrap();
        assert_eq!(names(&p), ["c"]);
        let r: Result<()> = write_dir(&p, |_| Err(Error::Usage("stop".into())));
        assert!(r.is_err());
        assert_eq!(names(&p), ["c"]);
        assert_eq!(names(dir.path()), ["frames"]);
    }

    #[cfg(unix)]
    #[test]
    fn permissions_are_kept_or_readable() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("new.txt");
        write(&p, b"x").unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&p), 0o644);
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        write(&p, b"y").unwrap();
        assert_eq!(mode(&p), 0o600);
    }

    #[test]
    fn a_missing_folder_is_an_output_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("no/such/out.png");
        match write(&p, b"x") {
            Err(e @ Error::Output { .. }) => {
                let s = e.to_string();
                assert!(s.contains("does not exist") && s.contains("out.png"), "{s}");
            }
            other => panic!("{other:?}"),
        }
    }
}
