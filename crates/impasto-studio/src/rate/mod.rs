//! Blind rating studies served to raters: a page that shows each rater their trials (pairs or
//! 1–5 ratings) and a small JSON API that records the answers in the study's database. Never a
//! method's, item's or file's name reaches a rater. Everything lives under `/rate/`, so the
//! same router runs on its own (`impasto rate serve`) or inside the studio.

mod access;
mod api;
mod page;
mod server;
mod trial;

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::http::Uri;
use axum::middleware;
use axum::response::Redirect;
use axum::routing::{get, post};
use axum::Router;
use impasto_io::study::{Store, Study};

use crate::error::Error;

pub use server::{run_blocking, RateServer};

/// Largest request body the rating API reads.
const MAX_BODY: usize = 16 << 10;

/// A study opened for serving: its file, folder and answers' database.
pub struct Rating {
    study: Study,
    dir: PathBuf,
    store: Arc<Store>,
    token_required: bool,
}

impl Rating {
    /// Opens the study folder `dir` for a server listening on `host`: raters need the study's
    /// token unless `host` is a loopback address.
    pub fn open(dir: &Path, host: IpAddr) -> Result<Arc<Rating>, Error> {
        let study = Study::load(dir).map_err(Error::Study)?;
        let store = Store::open(dir).map_err(Error::Study)?;
        Ok(Arc::new(Rating {
            study,
            dir: dir.to_path_buf(),
            store: Arc::new(store),
            token_required: !host.is_loopback(),
        }))
    }

    /// The link to give raters for a server at `addr`: `http://HOST:PORT/rate/`, with
    /// `?t=TOKEN` when the token is required. An unspecified address (0.0.0.0, ::) is replaced
    /// by this machine's address on its default route, when it has one.
    pub fn link(&self, addr: SocketAddr) -> String {
        let host = if addr.ip().is_unspecified() {
            server::outward_ip(addr.ip()).unwrap_or(addr.ip())
        } else {
            addr.ip()
        };
        let base = format!("http://{}/rate/", SocketAddr::new(host, addr.port()));
        if self.token_required {
            format!("{base}?t={}", self.study.token)
        } else {
            base
        }
    }
}

/// The routes of the study `rating`, all under `/rate/`, behind its access check.
pub fn router(rating: Arc<Rating>) -> Router {
    Router::new()
        .route("/rate/", get(page::html))
        .route("/rate/rate.js", get(page::js))
        .route("/rate/rate.css", get(page::css))
        .route("/rate/api/study", get(api::study))
        .route("/rate/api/join", post(api::join))
        .route("/rate/api/next", post(api::next))
        .route("/rate/api/answer", post(api::answer))
        .route("/rate/img/{name}", get(api::image))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .route_layer(middleware::from_fn_with_state(
            Arc::clone(&rating),
            access::guard,
        ))
        .route("/rate", get(to_page))
        .with_state(rating)
}

/// A redirect to the page, keeping the query (the access link's `?t=`).
async fn to_page(uri: Uri) -> Redirect {
    Redirect::to(&match uri.query() {
        Some(q) => format!("/rate/?{q}"),
        None => "/rate/".into(),
    })
}
