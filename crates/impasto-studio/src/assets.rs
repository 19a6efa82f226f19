//! The page, served from the binary: a fixed map from request path to bytes. Any other path,
//! however spelled (`..`, encoded slashes), is a 404; nothing is read from disk.

use axum::http::{header, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use crate::protocol::Example;

/// One embedded file.
struct Asset {
    path: &'static str,
    mime: &'static str,
    body: &'static [u8],
}

/// The bundled example images: (role, file name).
const EXAMPLES: [(&str, &str); 2] = [
    ("content", "portrait_astronaut.jpg"),
    ("style", "starry_night.jpg"),
];

const ASSETS: &[Asset] = &[
    Asset {
        path: "/",
        mime: "text/html; charset=utf-8",
        body: include_bytes!("../assets/index.html"),
    },
    Asset {
        path: "/app.js",
        mime: "text/javascript; charset=utf-8",
        body: include_bytes!("../assets/app.js"),
    },
    Asset {
        path: "/mask.js",
        mime: "text/javascript; charset=utf-8",
        body: include_bytes!("../assets/mask.js"),
    },
    Asset {
        path: "/style.css",
        mime: "text/css; charset=utf-8",
        body: include_bytes!("../assets/style.css"),
    },
    Asset {
        path: "/examples/portrait_astronaut.jpg",
        mime: "image/jpeg",
        body: include_bytes!("../../../examples/portrait_astronaut.jpg"),
    },
    Asset {
        path: "/examples/starry_night.jpg",
        mime: "image/jpeg",
        body: include_bytes!("../../../examples/starry_night.jpg"),
    },
];

/// The page may load only its own files, and talk only to this server.
const CSP: &str = "default-src 'self'; img-src 'self' data: blob:; connect-src 'self'; \
                   object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

/// The examples the page offers.
pub fn examples() -> Vec<Example> {
    EXAMPLES
        .iter()
        .map(|(role, name)| Example {
            name: name.to_string(),
            role: role.to_string(),
            url: format!("/examples/{name}"),
        })
        .collect()
}

/// Answers every request no route took: an embedded file, or 404.
pub async fn serve(method: Method, uri: Uri) -> Response {
    let Some(asset) = ASSETS.iter().find(|a| a.path == uri.path()) else {
        return (StatusCode::NOT_FOUND, "not found\n").into_response();
    };
    if method != Method::GET && method != Method::HEAD {
        return (StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n").into_response();
    }
    (
        [
            (header::CONTENT_TYPE, asset.mime),
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::CONTENT_SECURITY_POLICY, CSP),
        ],
        asset.body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_example_is_served() {
        for e in examples() {
            assert!(ASSETS.iter().any(|a| a.path == e.url), "{}", e.url);
        }
    }
}
