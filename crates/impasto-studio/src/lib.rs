//! Impasto Studio: a browser studio where sliders steer a running stylisation live.
//!
//! An axum server serves a single page from the binary and one WebSocket per page. Each page
//! is a session with its own temporary folder and a worker thread that steps the engine's
//! `Session`, applying the page's controls between steps. Run slots are limited; the other
//! sessions wait in a visible queue. Trained feed-forward models, loaded once from a folder,
//! give a one-pass result at once, from which the optimisation can start. The engine knows
//! nothing of any of this.
#![warn(missing_docs)]

mod app;
mod assets;
mod client;
mod config;
mod error;
mod mask;
mod models;
mod preview;
pub mod protocol;
mod queue;
pub mod rate;
mod routes;
mod run;
mod server;
mod stylist;
mod upload;
mod words;
mod ws;

pub use client::MAX_STYLES;
pub use config::Config;
pub use error::Error;
pub use models::Models;
pub use server::{run_blocking, Server};
