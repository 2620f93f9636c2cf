//! The server state: the front ends' [`Context`] and what only HTTP uses.

use std::sync::Arc;

use crate::frontends::Context;
use crate::http::{Admission, Transport};

/// Shared state of the server.
pub struct AppState {
    /// What every front end reads.
    pub ctx: Arc<Context>,
    /// Requests being read or processed, and the bounds on their bodies.
    pub admission: Admission,
    /// Bounds on connections and on the time heads and bodies may take.
    pub transport: Transport,
    /// The store's change feed, which the watcher follows to reload what this node caches.
    pub changes: Arc<dyn crate::store::ChangeStore>,
    /// Table sizes for the state gauges of `/metrics`.
    pub counts: Arc<dyn crate::store::CountStore>,
    /// Whether the main listener serves `/metrics` (metrics on, no `metrics_listen`).
    pub metrics_on_main: bool,
    /// The admin console at `/console/` (its key administration and status facts).
    pub console: Arc<crate::frontends::console::Console>,
}

/// The server state is the front ends' context plus HTTP bounds; callers that embed the
/// server (tests, `main`) read the context through it.
impl std::ops::Deref for AppState {
    type Target = Context;

    fn deref(&self) -> &Context {
        &self.ctx
    }
}
