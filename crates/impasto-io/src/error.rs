//! The adapters' error type: which file, what is wrong with it, and how to fix it.

use std::path::PathBuf;

/// Everything that can go wrong reading or writing files and running programs.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An input file is missing, unreadable, corrupt or unsupported.
    #[error("{}: {msg}", path.display())]
    Input {
        /// The file.
        path: PathBuf,
        /// What is wrong and how to fix it.
        msg: String,
    },
    /// A request the adapter cannot carry out as asked (an output type it cannot write, say).
    #[error("{0}")]
    Usage(String),
    /// An input larger than the limits allow.
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
    /// An error of the engine (building the network from the weights, say).
    #[error(transparent)]
    Engine(#[from] impasto::Error),
}

impl Error {
    /// True when the error comes from what the user gave (files, options), so a front end
    /// should report it as a usage error (exit code 2) rather than an internal failure.
    pub fn is_user_error(&self) -> bool {
        match self {
            Error::Input { .. } | Error::Usage(_) | Error::TooLarge(_) | Error::Weights { .. } => {
                true
            }
            Error::Fetch(_) | Error::Output { .. } => false,
            Error::Engine(e) => e.is_user_error(),
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

/// The adapters' result type.
pub type Result<T> = std::result::Result<T, Error>;
