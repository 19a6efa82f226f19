//! The adapters' error type: which file, what is wrong with it, and how to fix it.

use std::path::{Path, PathBuf};

/// Everything that can go wrong reading or writing files and running programs.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An input file is missing, unreadable, corrupt or unsupported.
    #[error("{}", named_message(path, msg))]
    Input {
        /// The file; empty for data decoded in memory that has no name yet ([`Error::named`]).
        path: PathBuf,
        /// What is wrong and how to fix it.
        msg: String,
    },
    /// A request the adapter cannot carry out as asked (an output type it cannot write, say).
    #[error("{0}")]
    Usage(String),
    /// An input larger than the limits allow (saying which and how to fix it).
    #[error("{0}")]
    TooLarge(String),
    /// The weights file is missing, corrupt or not the expected one.
    #[error("{}: {msg}", path.display())]
    Weights {
        /// The file.
        path: PathBuf,
        /// What is wrong and how to fix it.
        msg: String,
    },
    /// Obtaining the weights failed (pip missing, no network, ...).
    #[error("{0}")]
    Fetch(String),
    /// Writing an output file failed.
    #[error("{}: {source}", path.display())]
    Output {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A rater's request that a study refuses: a wrong key, an answer out of range, a trial
    /// answered before. `why` tells a server which status to answer with.
    #[error("{msg}")]
    Refused {
        /// What kind of refusal.
        why: Refusal,
        /// What is wrong, for the rater.
        msg: String,
    },
    /// The study's database failed (locked too long, corrupt, disk full).
    #[error("{}: {msg}", path.display())]
    Database {
        /// The database file.
        path: PathBuf,
        /// What went wrong.
        msg: String,
    },
    /// An error of the engine (building the network from the weights, say).
    #[error(transparent)]
    Engine(#[from] impasto::Error),
}

impl Error {
    /// True when the error comes from what the user gave (files, options), so a front end
    /// should report it as a usage error (exit code 2) rather than an internal failure.
    pub fn is_user_error(&self) -> bool {
        match self {
            Error::Input { .. }
            | Error::Usage(_)
            | Error::TooLarge(_)
            | Error::Weights { .. }
            | Error::Refused { .. } => true,
            Error::Fetch(_) | Error::Output { .. } | Error::Database { .. } => false,
            Error::Engine(e) => e.is_user_error(),
        }
    }

    /// Names the data an error of [`decode`](crate::codec::decode) is about (data decoded in
    /// memory has no name): `name` becomes the path of an [`Error::Input`] that has none and
    /// starts the message of an [`Error::TooLarge`]. Other errors are returned as they are.
    pub fn named(self, name: &Path) -> Self {
        match self {
            Error::Input { path, msg } if path.as_os_str().is_empty() => Error::Input {
                path: name.to_path_buf(),
                msg,
            },
            Error::TooLarge(msg) => Error::TooLarge(format!("{}: {msg}", name.display())),
            other => other,
        }
    }

    /// Shorthand for an [`Error::Output`] about `path`.
    pub fn output(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Output {
            path: path.into(),
            source,
        }
    }

    /// Shorthand for an [`Error::Refused`].
    pub fn refused(why: Refusal, msg: impl Into<String>) -> Self {
        Error::Refused {
            why,
            msg: msg.into(),
        }
    }

    /// Shorthand for an [`Error::Input`] about `path`.
    pub fn input(path: impl Into<PathBuf>, msg: impl Into<String>) -> Self {
        Error::Input {
            path: path.into(),
            msg: msg.into(),
        }
    }
}

/// Why a rater's request was refused ([`Error::Refused`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The request is malformed or out of range (HTTP 400).
    Invalid,
    /// The rater's id and key do not match (HTTP 403).
    Denied,
    /// The trial has an answer already, which is kept (HTTP 409).
    Answered,
}

/// `path: msg`, or just `msg` without a path.
fn named_message(path: &Path, msg: &str) -> String {
    if path.as_os_str().is_empty() {
        msg.to_string()
    } else {
        format!("{}: {msg}", path.display())
    }
}

/// The adapters' result type.
pub type Result<T> = std::result::Result<T, Error>;
