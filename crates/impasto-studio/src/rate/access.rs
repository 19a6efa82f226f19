//! Who may reach a study, and the headers every answer carries.
//!
//! On a loopback address anyone may. Otherwise every request needs the study's token: the
//! organiser's link `…/rate/?t=TOKEN` sets it as an `HttpOnly`, `SameSite=Strict` cookie that
//! the page's later requests carry (a `?t=` on any request works too). Tokens are compared in
//! constant time.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use impasto_io::study::store::constant_time_eq;

use super::Rating;
use crate::error::Error;

/// The cookie that holds the token.
pub const COOKIE: &str = "impasto_rate";

const CSP: &str =
    "default-src 'self'; img-src 'self'; script-src 'self'; style-src 'self'; frame-ancestors 'none'";

const ASK: &str =
    "This rating study needs its access link: ask the study's organiser for the link.";

/// Lets the request through when it may pass, else answers 403; adds the security headers.
pub async fn guard(State(rating): State<Arc<Rating>>, req: Request, next: Next) -> Response {
    let token = rating.study.token.as_bytes();
    let by_query = query_token(req.uri().query()).is_some_and(|t| constant_time_eq(t, token));
    let by_cookie = cookie_tokens(req.headers()).any(|t| constant_time_eq(t, token));
    let mut res = if !rating.token_required || by_query || by_cookie {
        next.run(req).await
    } else if req.uri().path().starts_with("/rate/api/") {
        Error::Forbidden(ASK.into()).into_response()
    } else {
        forbidden_page()
    };
    let h = res.headers_mut();
    if rating.token_required && by_query && !by_cookie {
        let cookie = format!(
            "{COOKIE}={}; Path=/rate/; HttpOnly; SameSite=Strict",
            rating.study.token
        );
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            h.append(header::SET_COOKIE, v);
        }
    }
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    res
}

/// The `t` parameter of a query string.
fn query_token(query: Option<&str>) -> Option<&[u8]> {
    query?
        .split('&')
        .find_map(|kv| kv.strip_prefix("t="))
        .map(str::as_bytes)
}

/// The values of every cookie named [`COOKIE`].
fn cookie_tokens(headers: &HeaderMap) -> impl Iterator<Item = &[u8]> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .filter(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.as_bytes())
}

fn forbidden_page() -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Rating study</title>\
         </head><body><p>{ASK}</p></body></html>\n"
    );
    (
        StatusCode::FORBIDDEN,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        html,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_found_in_queries_and_cookies() {
        assert_eq!(query_token(Some("a=1&t=abc")), Some(&b"abc"[..]));
        assert_eq!(query_token(Some("at=abc")), None);
        assert_eq!(query_token(None), None);
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_static("x=1; impasto_rate=abc"),
        );
        h.append(header::COOKIE, HeaderValue::from_static("impasto_rate=def"));
        let found: Vec<&[u8]> = cookie_tokens(&h).collect();
        assert_eq!(found, [&b"abc"[..], &b"def"[..]]);
    }
}
