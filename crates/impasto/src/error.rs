//! The engine's one error type. Messages name the file and say how to fix the problem.

use std::path::PathBuf;

/// Everything that can go wrong in the engine.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A user-supplied input file is missing, unreadable, corrupt or unsupported.
    #[error("{}: {msg}", path.display())]
    Input { path: PathBuf, msg: String },
    /// A setting has a value the engine cannot use.
    #[error("{0}")]
    Usage(String),
    /// The weights file is missing, corrupt or not the expected one.
    #[error("{}: {msg}", path.display())]
    Weights { path: PathBuf, msg: String },
    /// Obtaining the weights failed (pip missing, no network, ...).
    #[error("{0}")]
    Fetch(String),
    /// The requested work would not fit in this machine's memory.
    #[error("{0}")]
    TooLarge(String),
    /// Writing an output file failed.
    #[error("{}: {source}", path.display())]
    Output {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// An error from the tensor backend (a bug or a device problem, not bad input).
    #[error("tensor backend: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl Error {
    /// True when the error comes from what the user gave (files, options), so a front end
    /// should report it as a usage error (exit code 2) rather than an internal failure.
    pub fn is_user_error(&self) -> bool {
        matches!(
            self,
            Error::Input { .. } | Error::Usage(_) | Error::Weights { .. } | Error::TooLarge(_)
        )
    }

    /// Shorthand for an [`Error::Input`] about `path`.
    pub fn input(path: impl Into<PathBuf>, msg: impl Into<String>) -> Self {
        Error::Input {
            path: path.into(),
            msg: msg.into(),
        }
    }
}

/// The engine's result type.
pub type Result<T> = std::result::Result<T, Error>;
