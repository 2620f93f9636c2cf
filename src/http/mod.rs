//! HTTP mechanics (warp and hyper): listening, TLS, request bodies, admission, replies, and
//! the peer with its client certificate. Knows no protocol: each route's front end supplies
//! its handler and its answer to a refused request ([`admission::Shed`]); the routes are `app`'s.

pub mod admission;
pub mod body;
pub mod client_cert;
pub mod listen;
pub mod peer;
pub mod reply;
pub mod request_id;
pub mod tls;

use std::future::Future;
use std::net::SocketAddr;

pub use admission::{Admission, Refused, endpoint};
pub use body::Request;
pub use listen::Transport;
pub use peer::Peer;
pub use reply::{Fallback, HttpReply, Outcome};

/// The listener could not be bound.
#[derive(Debug, thiserror::Error)]
#[error("cannot listen on {addr}: {source} (choose another address with --listen or STS_LISTEN)")]
pub struct ListenError {
    pub addr: SocketAddr,
    pub source: std::io::Error,
}

/// Serves plain HTTP with `service` until `shutdown` completes, then drains open requests.
pub async fn serve<S>(
    service: S,
    limits: Transport,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) where
    S: listen::Service,
{
    listen::serve_connections(service, limits, listener, None, shutdown).await
}

/// Binds the listener (port 0 picks a free port); the error names the address and how to
/// choose another.
pub async fn bind(addr: SocketAddr) -> Result<tokio::net::TcpListener, ListenError> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ListenError { addr, source })
}
