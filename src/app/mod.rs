//! The composition root: builds the state from the configuration, wires the routes to the
//! front ends, starts the background tasks, and runs the server.
//!
//! Dependency rule: `app` -> `frontends` -> `http`; nothing below imports `app`.

pub mod build;
pub mod builder;
pub mod observe;
pub mod routes;
pub mod state;
pub mod tasks;

use std::future::Future;
use std::sync::Arc;

pub use state::AppState;

/// Serves plain HTTP until `shutdown` completes, then drains open requests.
pub async fn serve(
    state: Arc<AppState>,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let limits = state.transport.clone();
    let service = warp::service(routes::routes(state));
    crate::http::serve(service, limits, listener, shutdown).await
}

/// Serves HTTPS until `shutdown` completes, then drains open connections. Handshakes count
/// against `max_connections` and must finish within `header_read_timeout`.
pub async fn serve_tls(
    state: Arc<AppState>,
    listener: tokio::net::TcpListener,
    config: Arc<rustls::ServerConfig>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let limits = state.transport.clone();
    let service = warp::service(routes::routes(state));
    crate::http::tls::serve_tls(service, limits, listener, config, shutdown).await
}
