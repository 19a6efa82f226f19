//! Binding and running the server, in a caller's runtime or on its own.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use impasto::Vgg19;

use crate::app::App;
use crate::config::Config;
use crate::error::Error;
use crate::models::Models;
use crate::rate::Rating;
use crate::routes;

/// A bound studio server, not yet serving.
pub struct Server {
    listener: tokio::net::TcpListener,
    app: Arc<App>,
    rating: Option<Arc<Rating>>,
}

impl Server {
    /// Listens on `config.host:config.port` for a studio running `model` and offering the
    /// trained `models`, and the rating study of `config.study` under `/rate/`.
    pub async fn bind(config: Config, model: Arc<Vgg19>, models: Models) -> Result<Self, Error> {
        let addr = SocketAddr::new(config.host, config.port);
        let rating = match &config.study {
            Some(dir) => Some(Rating::open(dir, config.host)?),
            None => None,
        };
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| Error::Bind { addr, source })?;
        Ok(Self {
            listener,
            app: Arc::new(App::new(config, model, models)),
            rating,
        })
    }

    /// The address it listens on (with the real port when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// The link to give raters of the study served beside the studio, if there is one.
    pub fn rating_link(&self) -> Option<String> {
        self.rating.as_ref().map(|r| r.link(self.local_addr()))
    }

    /// Serves until `shutdown` completes, then ends every session and removes their folders.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), Error> {
        let app = Arc::clone(&self.app);
        let served = axum::serve(self.listener, routes::router(self.app, self.rating))
            .with_graceful_shutdown(shutdown)
            .await;
        app.close_all();
        served.map_err(Error::Serve)
    }
}

/// Completes on Ctrl-C, or on SIGTERM where there is one.
pub(crate) async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// Runs the studio on its own runtime until Ctrl-C (or SIGTERM); `on_ready` hears the address
/// and the rating study's link for raters (with `config.study`) first. Every session's folder
/// is removed before it returns.
pub fn run_blocking(
    config: Config,
    model: Arc<Vgg19>,
    models: Models,
    on_ready: impl FnOnce(SocketAddr, Option<String>),
) -> Result<(), Error> {
    runtime()?.block_on(async {
        let server = Server::bind(config, model, models).await?;
        on_ready(server.local_addr(), server.rating_link());
        server.run(stop_signal()).await
    })
}

/// The small runtime a server runs on when it runs on its own (its work is I/O and short
/// blocking calls; the engine has its own threads).
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(Error::Serve)
}
