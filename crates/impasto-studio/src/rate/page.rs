//! The rating page's three files, embedded in the binary.

use axum::http::header;
use axum::response::IntoResponse;

fn asset(mime: &'static str, body: &'static [u8]) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, mime),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
}

/// `GET /rate/`.
pub async fn html() -> impl IntoResponse {
    asset(
        "text/html; charset=utf-8",
        include_bytes!("../../assets/rate.html"),
    )
}

/// `GET /rate/rate.js`.
pub async fn js() -> impl IntoResponse {
    asset(
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/rate.js"),
    )
}

/// `GET /rate/rate.css`.
pub async fn css() -> impl IntoResponse {
    asset(
        "text/css; charset=utf-8",
        include_bytes!("../../assets/rate.css"),
    )
}
