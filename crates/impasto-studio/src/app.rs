//! The server's state: the shared model and run slots, and the open sessions by id.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use impasto::Vgg19;

use crate::assets;
use crate::client::{Client, Shared, MAX_STYLES};
use crate::config::Config;
use crate::error::Error;
use crate::models::Models;
use crate::protocol::{Controls, ServerMsg};
use crate::queue::Queue;
use crate::run::Outlet;

/// Everything the handlers share.
pub struct App {
    /// The settings the server started with.
    pub config: Config,
    shared: Arc<Shared>,
    clients: Mutex<HashMap<String, Arc<Client>>>,
}

impl App {
    /// State for a server with `config`, running `model` and offering `models`.
    pub fn new(config: Config, model: Arc<Vgg19>, models: Models) -> Self {
        let shared = Arc::new(Shared {
            model,
            queue: Queue::new(config.max_runs),
            max_final_size: config.max_final_size,
            models,
        });
        Self {
            config,
            shared,
            clients: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Arc<Client>>> {
        self.clients.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Opens a session with its own temporary folder.
    pub fn open(&self, outlet: Outlet) -> Result<Arc<Client>, Error> {
        let mut clients = self.lock();
        if clients.len() >= self.config.max_sessions {
            return Err(Error::Busy(format!(
                "the studio already has {} open sessions, its limit; close another tab or try \
                 again later",
                clients.len()
            )));
        }
        let dir = tempfile::Builder::new()
            .prefix("impasto-studio-")
            .tempdir_in(&self.config.temp_root)
            .map_err(|e| {
                Error::Internal(format!(
                    "cannot make a temporary folder in {}: {e}",
                    self.config.temp_root.display()
                ))
            })?;
        let id = new_id()?;
        let client = Arc::new(Client::new(id.clone(), dir, self.shared.clone(), outlet));
        clients.insert(id, Arc::clone(&client));
        Ok(client)
    }

    /// The open session `id`.
    pub fn client(&self, id: &str) -> Result<Arc<Client>, Error> {
        self.lock().get(id).cloned().ok_or_else(|| {
            Error::NotFound(
                "no such studio session (it ends when its page closes); reload the page".into(),
            )
        })
    }

    /// Ends session `id`: its run stops within a step and its folder is removed.
    pub fn close(&self, id: &str) {
        if let Some(c) = self.lock().remove(id) {
            c.close();
        }
    }

    /// Ends every session and removes their folders now (at shutdown).
    pub fn close_all(&self) {
        for (_, c) in self.lock().drain() {
            c.close();
            let _ = std::fs::remove_dir_all(c.dir());
        }
    }

    /// The first message of a session.
    pub fn hello(&self, id: &str) -> ServerMsg {
        ServerMsg::Hello {
            session: id.to_string(),
            defaults: Controls::default(),
            examples: assets::examples(),
            max_upload_bytes: self.config.max_upload_bytes,
            max_styles: MAX_STYLES,
            max_final_size: self.config.max_final_size,
            models: self.shared.models.infos(),
        }
    }

    /// Run slots and sessions, for `/api/status`.
    pub fn status(&self) -> serde_json::Value {
        let load = self.shared.queue.load();
        serde_json::json!({
            "max_runs": self.shared.queue.max_runs(),
            "running": load.running,
            "waiting": load.waiting,
            "sessions": self.lock().len(),
        })
    }
}

/// 128 random bits in hex: a session id nobody can guess.
fn new_id() -> Result<String, Error> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b)
        .map_err(|e| Error::Internal(format!("no randomness for a session id: {e}")))?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}
