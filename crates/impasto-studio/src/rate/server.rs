//! A rating server on its own (`impasto rate serve`): no model, just the study's routes.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::path::Path;
use std::sync::Arc;

use axum::routing::get;

use super::{router, to_page, Rating};
use crate::error::Error;

/// A bound rating server, not yet serving.
pub struct RateServer {
    listener: tokio::net::TcpListener,
    rating: Arc<Rating>,
}

impl RateServer {
    /// Opens the study folder `study` and listens on `host:port` (0 picks a free port).
    pub async fn bind(study: &Path, host: IpAddr, port: u16) -> Result<Self, Error> {
        let addr = SocketAddr::new(host, port);
        let rating = Rating::open(study, host)?;
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| Error::Bind { addr, source })?;
        Ok(Self { listener, rating })
    }

    /// The address it listens on (with the real port when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// The link to give raters ([`Rating::link`]).
    pub fn link(&self) -> String {
        self.rating.link(self.local_addr())
    }

    /// Serves until `shutdown` completes.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), Error> {
        // The bare address leads to the page.
        let app = router(self.rating).route("/", get(to_page));
        axum::serve(self.listener, app)
            .with_graceful_shutdown(shutdown)
            .await
            .map_err(Error::Serve)
    }
}

/// Runs a rating server for the study folder `study` on its own runtime until Ctrl-C (or
/// SIGTERM); `on_ready` hears the address and the link for raters first.
pub fn run_blocking(
    study: &Path,
    host: IpAddr,
    port: u16,
    on_ready: impl FnOnce(SocketAddr, &str),
) -> Result<(), Error> {
    crate::server::runtime()?.block_on(async {
        let server = RateServer::bind(study, host, port).await?;
        on_ready(server.local_addr(), &server.link());
        server.run(crate::server::stop_signal()).await
    })
}

/// This machine's address on its default route, of the family of `like` (a UDP socket's
/// `connect` picks it without sending anything).
pub fn outward_ip(like: IpAddr) -> Option<IpAddr> {
    let (any, probe): (IpAddr, IpAddr) = match like {
        IpAddr::V4(_) => (
            Ipv4Addr::UNSPECIFIED.into(),
            Ipv4Addr::new(192, 0, 2, 1).into(),
        ),
        IpAddr::V6(_) => (
            Ipv6Addr::UNSPECIFIED.into(),
            Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1).into(),
        ),
    };
    let socket = UdpSocket::bind((any, 0)).ok()?;
    socket.connect((probe, 9)).ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_unspecified()).then_some(ip)
}
