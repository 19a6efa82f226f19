//! Stopping a shard cleanly when its scheduler asks (SIGTERM: `scancel`, a time limit, a
//! preemption or a pod's eviction) or the user presses Ctrl-C: the items in progress are left
//! (a rerun makes them), what is painted is written, and the report says the shard stopped.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use impasto_io::{Error, Result};

/// Whether a stop was asked, and by which signal.
#[derive(Clone)]
pub struct Stop(Arc<AtomicUsize>);

impl Stop {
    /// Catches SIGTERM and SIGINT from now on.
    pub fn install() -> Result<Self> {
        let flag = Arc::new(AtomicUsize::new(0));
        for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
            signal_hook::flag::register_usize(sig, flag.clone(), sig as usize)
                .map_err(|e| Error::Usage(format!("cannot catch signal {sig} ({e})")))?;
        }
        Ok(Self(flag))
    }

    /// The signal that asked to stop, if one did.
    pub fn requested(&self) -> Option<i32> {
        match self.0.load(Ordering::Relaxed) {
            0 => None,
            sig => Some(sig as i32),
        }
    }
}
