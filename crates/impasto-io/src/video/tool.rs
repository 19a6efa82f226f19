//! Finding the ffmpeg and ffprobe programs and running them.

use std::ffi::{OsStr, OsString};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread::JoinHandle;

use crate::error::{Error, Result};

/// How to get the programs, appended to every "not found" message.
const INSTALL_HINT: &str = "install it (Debian/Ubuntu: `apt-get install ffmpeg`, macOS: \
                            `brew install ffmpeg`, Windows: `winget install ffmpeg`)";
/// Lines of a program's error output kept for error messages.
const TAIL_LINES: usize = 12;
/// Longest error-output line read at once (bytes).
const LONGEST_LINE: u64 = 64 * 1024;
/// Longest error-output line kept (characters).
const TAIL_LINE_CHARS: usize = 400;

/// The ffmpeg and ffprobe programs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ffmpeg {
    ffmpeg: PathBuf,
    ffprobe: PathBuf,
}

/// One of the two programs.
#[derive(Clone, Copy)]
pub(super) enum Program {
    Ffmpeg,
    Ffprobe,
}

impl Program {
    fn name(self) -> &'static str {
        match self {
            Program::Ffmpeg => "ffmpeg",
            Program::Ffprobe => "ffprobe",
        }
    }

    fn env_var(self) -> &'static str {
        match self {
            Program::Ffmpeg => "IMPASTO_FFMPEG",
            Program::Ffprobe => "IMPASTO_FFPROBE",
        }
    }

    /// The fix appended to "not found" messages.
    fn fix(self) -> String {
        let comes_with = match self {
            Program::Ffmpeg => "",
            Program::Ffprobe => " (ffprobe comes with ffmpeg)",
        };
        format!("{INSTALL_HINT}{comes_with} or set {}", self.env_var())
    }
}

impl Ffmpeg {
    /// Finds both programs on PATH, or at `$IMPASTO_FFMPEG` / `$IMPASTO_FFPROBE` when set
    /// (ffprobe first beside `$IMPASTO_FFMPEG`). Missing → a user error saying how to install.
    pub fn locate() -> Result<Ffmpeg> {
        locate_with(&|key| std::env::var_os(key))
    }

    /// Uses these two programs; a bare name (no directory) is looked up on PATH. A missing
    /// program gives the same install hint as [`Ffmpeg::locate`].
    pub fn at(ffmpeg: PathBuf, ffprobe: PathBuf) -> Result<Ffmpeg> {
        let path = std::env::var_os("PATH");
        Ok(Ffmpeg {
            ffmpeg: resolve_given(&ffmpeg, path.as_deref())
                .ok_or_else(|| not_found_at(Program::Ffmpeg, &ffmpeg, false))?,
            ffprobe: resolve_given(&ffprobe, path.as_deref())
                .ok_or_else(|| not_found_at(Program::Ffprobe, &ffprobe, false))?,
        })
    }

    /// The ffmpeg program in use.
    pub fn ffmpeg_path(&self) -> &Path {
        &self.ffmpeg
    }

    /// The ffprobe program in use.
    pub fn ffprobe_path(&self) -> &Path {
        &self.ffprobe
    }

    /// An ffmpeg command that reads no terminal input and prints only errors.
    pub(super) fn ffmpeg_command(&self) -> Command {
        let mut cmd = Command::new(&self.ffmpeg);
        cmd.args(["-nostdin", "-hide_banner", "-nostats", "-v", "error"]);
        cmd
    }

    /// An ffprobe command that prints only errors.
    pub(super) fn ffprobe_command(&self) -> Command {
        let mut cmd = Command::new(&self.ffprobe);
        cmd.args(["-hide_banner", "-v", "error"]);
        cmd
    }

    /// The error for a program that could not be started.
    pub(super) fn spawn_error(&self, program: Program, e: std::io::Error) -> Error {
        let path = match program {
            Program::Ffmpeg => &self.ffmpeg,
            Program::Ffprobe => &self.ffprobe,
        };
        if e.kind() == std::io::ErrorKind::NotFound {
            return not_found_at(program, path, false);
        }
        Error::Usage(format!(
            "cannot run {} ({}): {e}; check that it is a working {} program, or {}",
            program.name(),
            path.display(),
            program.name(),
            program.fix()
        ))
    }
}

/// [`Ffmpeg::locate`] with the environment as a function (so tests need not set variables).
fn locate_with(env: &dyn Fn(&str) -> Option<OsString>) -> Result<Ffmpeg> {
    let path = env("PATH");
    let given = |p: Program| {
        env(p.env_var())
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let ffmpeg = match given(Program::Ffmpeg) {
        Some(p) => resolve_given(&p, path.as_deref())
            .ok_or_else(|| not_found_at(Program::Ffmpeg, &p, true))?,
        None => search_path(Program::Ffmpeg.name(), path.as_deref())
            .ok_or_else(|| not_on_path(Program::Ffmpeg))?,
    };
    let ffprobe = match given(Program::Ffprobe) {
        Some(p) => resolve_given(&p, path.as_deref())
            .ok_or_else(|| not_found_at(Program::Ffprobe, &p, true))?,
        None => {
            // Beside an explicitly chosen ffmpeg first: they come as a pair.
            let beside = given(Program::Ffmpeg)
                .and_then(|_| ffmpeg.parent().map(Path::to_path_buf))
                .and_then(|dir| executable_in(&dir, Program::Ffprobe.name()));
            beside
                .or_else(|| search_path(Program::Ffprobe.name(), path.as_deref()))
                .ok_or_else(|| not_on_path(Program::Ffprobe))?
        }
    };
    Ok(Ffmpeg { ffmpeg, ffprobe })
}

/// A program path given by the user: a bare name is searched on PATH, anything else must exist.
fn resolve_given(given: &Path, path_var: Option<&OsStr>) -> Option<PathBuf> {
    let bare = given.components().count() == 1 && given.parent() == Some(Path::new(""));
    if bare {
        search_path(&given.to_string_lossy(), path_var)
    } else {
        given.is_file().then(|| given.to_path_buf())
    }
}

fn not_on_path(program: Program) -> Error {
    Error::Usage(format!(
        "{} was not found on PATH: {}",
        program.name(),
        program.fix()
    ))
}

/// `from_env`: the path came from the program's environment variable.
fn not_found_at(program: Program, path: &Path, from_env: bool) -> Error {
    let source = if from_env {
        format!(" (named by {})", program.env_var())
    } else {
        String::new()
    };
    Error::Usage(format!(
        "{} was not found at {}{source}: {}",
        program.name(),
        path.display(),
        program.fix()
    ))
}

/// The first executable called `name` in the directories of `path_var`.
fn search_path(name: &str, path_var: Option<&OsStr>) -> Option<PathBuf> {
    std::env::split_paths(path_var?).find_map(|dir| executable_in(&dir, name))
}

/// `dir/name` (plus `.exe` on Windows) if it is an executable file.
fn executable_in(dir: &Path, name: &str) -> Option<PathBuf> {
    let candidate = dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    is_executable(&candidate).then_some(candidate)
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file()
}

/// A path as an ffmpeg URL: the `file:` protocol, so names with a colon or a leading dash
/// are never taken for another protocol or an option.
pub(super) fn file_url(path: &Path) -> OsString {
    let mut url = OsString::from("file:");
    url.push(path.as_os_str());
    url
}

/// Collects the last lines a program writes to `stream` on a thread, so the pipe never fills.
pub(super) fn collect_tail(stream: impl Read + Send + 'static) -> JoinHandle<Vec<String>> {
    std::thread::spawn(move || {
        let mut lines = std::collections::VecDeque::with_capacity(TAIL_LINES);
        let mut reader = BufReader::new(stream);
        let mut line = Vec::new();
        loop {
            line.clear();
            // Over-long lines are cut into pieces rather than held whole.
            match (&mut reader)
                .take(LONGEST_LINE)
                .read_until(b'\n', &mut line)
            {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            let text = String::from_utf8_lossy(&line);
            let text = text.trim();
            if !text.is_empty() {
                if lines.len() == TAIL_LINES {
                    lines.pop_front();
                }
                lines.push_back(text.chars().take(TAIL_LINE_CHARS).collect());
            }
        }
        lines.into()
    })
}

/// A program's error output made readable for a message: its last lines without ffmpeg's
/// `[demuxer @ 0x…]` prefixes or the echoed file name, joined with "; ".
pub(super) fn reason(lines: &[String], path: &Path) -> String {
    let url = file_url(path);
    let prefixes = [
        format!("{}: ", url.to_string_lossy()),
        format!("{}: ", path.display()),
    ];
    let mut out: Vec<String> = Vec::new();
    for line in lines.iter().rev().take(TAIL_LINES) {
        let mut l = line.trim();
        if l.starts_with('[') {
            if let Some(end) = l.find("] ") {
                l = &l[end + 2..];
            }
        }
        for p in &prefixes {
            if let Some(rest) = l.strip_prefix(p.as_str()) {
                l = rest;
            }
        }
        let l = l.trim().to_string();
        if !l.is_empty() && !out.contains(&l) {
            out.push(l);
        }
    }
    out.reverse();
    if out.is_empty() {
        "no error message".to_string()
    } else {
        out.join("; ")
    }
}

/// Splits a program's captured error output into lines (as [`collect_tail`] would keep them).
pub(super) fn stderr_lines(bytes: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(bytes);
    let lines: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| l.chars().take(TAIL_LINE_CHARS).collect())
        .collect();
    lines[lines.len().saturating_sub(TAIL_LINES)..].to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: Vec<(&'static str, OsString)>) -> impl Fn(&str) -> Option<OsString> {
        move |k| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone())
    }

    #[test]
    fn missing_programs_give_the_install_hint() {
        let dir = tempfile::tempdir().unwrap();
        let empty_path = env_of(vec![("PATH", dir.path().as_os_str().to_owned())]);
        let msg = locate_with(&empty_path).unwrap_err().to_string();
        assert!(
            msg.contains("ffmpeg was not found on PATH")
                && msg.contains("apt-get install ffmpeg")
                && msg.contains("brew install ffmpeg")
                && msg.contains("winget install ffmpeg")
                && msg.contains("IMPASTO_FFMPEG"),
            "{msg}"
        );

        let bogus = dir.path().join("no-such-ffmpeg");
        let env = env_of(vec![
            ("PATH", std::env::var_os("PATH").unwrap_or_default()),
            ("IMPASTO_FFMPEG", bogus.clone().into_os_string()),
        ]);
        let err = locate_with(&env).unwrap_err();
        assert!(err.is_user_error());
        let msg = err.to_string();
        assert!(
            msg.contains(&format!("{} (named by IMPASTO_FFMPEG)", bogus.display()))
                && msg.contains("apt-get install ffmpeg"),
            "{msg}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn ffprobe_is_found_beside_a_chosen_ffmpeg() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        for name in ["ffmpeg", "ffprobe"] {
            let p = dir.path().join(name);
            std::fs::write(&p, "#!/bin/sh\n").unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let env = env_of(vec![
            ("PATH", OsString::new()),
            ("IMPASTO_FFMPEG", dir.path().join("ffmpeg").into_os_string()),
        ]);
        let found = locate_with(&env).unwrap();
        assert_eq!(found.ffprobe_path(), dir.path().join("ffprobe"));

        // A file that is not executable is not taken from PATH.
        let plain = tempfile::tempdir().unwrap();
        std::fs::write(plain.path().join("ffmpeg"), "").unwrap();
        let env = env_of(vec![("PATH", plain.path().as_os_str().to_owned())]);
        assert!(locate_with(&env).is_err());
    }

    #[test]
    fn reasons_drop_prefixes_and_duplicates() {
        let path = Path::new("/tmp/clip.mp4");
        let lines = vec![
            "[mov,mp4,m4a,3gp,3g2,mj2 @ 0x55d0] moov atom not found".to_string(),
            "file:/tmp/clip.mp4: Invalid data found when processing input".to_string(),
            "/tmp/clip.mp4: Invalid data found when processing input".to_string(),
        ];
        assert_eq!(
            reason(&lines, path),
            "moov atom not found; Invalid data found when processing input"
        );
        assert_eq!(reason(&[], path), "no error message");
        assert_eq!(stderr_lines(b"a\n\n b \n"), vec!["a", "b"]);
    }
}
