//! The studio's error type: every failure a user can cause is a clear message with an HTTP status.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

/// What can go wrong in the studio.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The server could not listen on the address.
    #[error("cannot listen on {addr}: {source}; choose another --port or --host")]
    Bind {
        /// The address asked for.
        addr: std::net::SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The server stopped with an I/O error.
    #[error("the studio server failed: {0}")]
    Serve(#[source] std::io::Error),
    /// An upload or request the studio cannot use (HTTP 400).
    #[error("{0}")]
    BadInput(String),
    /// An upload over a size limit (HTTP 413).
    #[error("{0}")]
    TooLarge(String),
    /// A rater's id and key do not match, or the study's token is missing (HTTP 403).
    #[error("{0}")]
    Forbidden(String),
    /// The trial has an answer already, which is kept (HTTP 409).
    #[error("{0}")]
    Conflict(String),
    /// The rating study's folder or database cannot be opened.
    #[error(transparent)]
    Study(impasto_io::Error),
    /// No such session or file (HTTP 404).
    #[error("{0}")]
    NotFound(String),
    /// Too many sessions open (HTTP 503).
    #[error("{0}")]
    Busy(String),
    /// A failure that is not the user's (HTTP 500).
    #[error("{0}")]
    Internal(String),
}

impl Error {
    /// The HTTP status this error is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            Error::BadInput(_) => StatusCode::BAD_REQUEST,
            Error::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::Forbidden(_) => StatusCode::FORBIDDEN,
            Error::Conflict(_) => StatusCode::CONFLICT,
            Error::Busy(_) => StatusCode::SERVICE_UNAVAILABLE,
            Error::Bind { .. } | Error::Serve(_) | Error::Study(_) | Error::Internal(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    /// True when the error comes from what the user gave a front end (an address in use, a
    /// study folder that is not one), so it should exit as a usage error.
    pub fn is_user_error(&self) -> bool {
        match self {
            Error::Bind { .. } => true,
            Error::Study(e) => e.is_user_error(),
            _ => false,
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": self.to_string() });
        (self.status(), Json(body)).into_response()
    }
}
