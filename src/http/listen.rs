//! Connections: one accept loop for HTTP and HTTPS, with bounds on what a client may hold.
//!
//! - At most `max_connections` connections are open (TLS handshakes included): a slot is
//!   taken before `accept`, so further clients wait in the kernel's listen backlog.
//! - A connection without a request in progress is closed after `header_read_timeout`:
//!   this bounds the TLS handshake, the wait for the first request (HTTP/1 or HTTP/2), a
//!   request head sent slowly, and idle keep-alive connections.
//! - Request bodies are bounded in size and time, and admitted, per route (`admission.rs`).
//!
//! What clients do to their connections (break off, time out, send garbage) is logged at
//! debug level: ERROR and WARN are for what needs the operator.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use tokio::sync::{Semaphore, watch};
use tokio::time::Instant;

use super::Peer;
use super::request_id::RequestId;
use tracing::Instrument as _;

/// What serves the requests of a connection: `warp::service` of the routes.
pub trait Service:
    tower_service::Service<
        warp::http::Request<hyper::body::Incoming>,
        Response = warp::reply::Response,
        Error = std::convert::Infallible,
        Future: Send + 'static,
    > + Clone
    + Send
    + 'static
{
}

impl<S> Service for S where
    S: tower_service::Service<
            warp::http::Request<hyper::body::Incoming>,
            Response = warp::reply::Response,
            Error = std::convert::Infallible,
            Future: Send + 'static,
        > + Clone
        + Send
        + 'static
{
}

/// Largest HTTP/1 request head (and read buffer) and HTTP/2 header list, in bytes.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;
/// Concurrent HTTP/2 streams per connection (every request also needs an admission permit).
pub const MAX_H2_STREAMS: u32 = 64;

/// Bounds on client connections; see the module documentation.
#[derive(Debug, Clone)]
pub struct Transport {
    pub max_connections: usize,
    pub header_read_timeout: Duration,
    pub body_read_timeout: Duration,
}

impl Default for Transport {
    fn default() -> Self {
        Transport {
            max_connections: 1024,
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(30),
        }
    }
}

fn builder(limits: &Transport) -> Builder<TokioExecutor> {
    let mut b = Builder::new(TokioExecutor::new());
    b.http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(MAX_HEAD_BYTES);
    b.http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(MAX_H2_STREAMS)
        .max_header_list_size(MAX_HEAD_BYTES as u32);
    b
}

/// Serves `listener` (HTTPS when `tls` is given) until `shutdown` completes, then lets open
/// requests finish.
pub async fn serve_connections<S: Service>(
    service: S,
    limits: Transport,
    listener: tokio::net::TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let builder = Arc::new(builder(&limits));
    let max = limits.max_connections.min(Semaphore::MAX_PERMITS);
    let slots = Arc::new(Semaphore::new(max));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    let mut last_full: Option<Instant> = None;
    loop {
        // A slot first: beyond max_connections, clients wait in the listen backlog.
        let slot = match slots.clone().try_acquire_owned() {
            Ok(slot) => slot,
            Err(_) => {
                if last_full.is_none_or(|t| t.elapsed() >= Duration::from_secs(60)) {
                    tracing::warn!(
                        max_connections = max,
                        "every connection slot is taken; new connections wait until one closes"
                    );
                    last_full = Some(Instant::now());
                }
                tokio::select! {
                    slot = slots.clone().acquire_owned() => match slot {
                        Ok(slot) => slot,
                        Err(_) => break,
                    },
                    () = &mut shutdown => break,
                }
            }
        };
        let (tcp, addr) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let conn = Conn {
            addr,
            service: service.clone(),
            builder: builder.clone(),
            limits: limits.clone(),
            stop: stop_rx.clone(),
        };
        let tls = tls.clone();
        tokio::spawn(async move {
            conn.run(tcp, tls).await;
            drop(slot);
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    // Every connection holds a slot until it ends: all slots back means all drained.
    let _ = slots
        .acquire_many(u32::try_from(max).unwrap_or(u32::MAX))
        .await;
}

/// One accepted connection.
struct Conn<S> {
    addr: SocketAddr,
    service: S,
    builder: Arc<Builder<TokioExecutor>>,
    limits: Transport,
    stop: watch::Receiver<bool>,
}

impl<S: Service> Conn<S> {
    async fn run(self, tcp: tokio::net::TcpStream, tls: Option<tokio_rustls::TlsAcceptor>) {
        let addr = self.addr;
        let Some(acceptor) = tls else {
            let peer = Peer {
                addr: Some(addr),
                tls_chain: None,
            };
            return self.serve(TokioIo::new(tcp), peer).await;
        };
        let handshake = acceptor.accept(tcp);
        let tls = match tokio::time::timeout(self.limits.header_read_timeout, handshake).await {
            Ok(Ok(tls)) => tls,
            Ok(Err(e)) => {
                tracing::debug!(peer = %addr, error = %e, "TLS handshake failed");
                return;
            }
            Err(_) => {
                tracing::debug!(peer = %addr, "TLS handshake timed out");
                return;
            }
        };
        let tls_chain = tls.get_ref().1.peer_certificates().map(|chain| {
            Arc::new(
                chain
                    .iter()
                    .map(|c| c.as_ref().to_vec())
                    .collect::<Vec<_>>(),
            )
        });
        let peer = Peer {
            addr: Some(addr),
            tls_chain,
        };
        self.serve(TokioIo::new(tls), peer).await
    }

    /// Serves requests until the client or the server closes; closes the connection when
    /// no request is in progress for `header_read_timeout`, and when the server stops.
    async fn serve<I>(mut self, io: I, peer: Peer)
    where
        I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    {
        let addr = self.addr;
        let idle_limit = self.limits.header_read_timeout;
        let (active_tx, mut active) = watch::channel(0usize);
        let service = Tracked {
            inner: self.service.clone(),
            peer,
            active: Arc::new(active_tx),
        };
        let conn = self.builder.serve_connection_with_upgrades(
            io,
            hyper_util::service::TowerToHyperService::new(service),
        );
        let mut conn = std::pin::pin!(conn);
        let mut deadline = Instant::now() + idle_limit;
        let mut watching = true;
        let mut closing = false;
        if *self.stop.borrow() {
            conn.as_mut().graceful_shutdown();
            closing = true;
        }
        loop {
            let idle = *active.borrow() == 0;
            tokio::select! {
                ended = conn.as_mut() => {
                    if let Err(e) = ended {
                        tracing::debug!(peer = %addr, error = %e, "connection ended with an error");
                    }
                    return;
                }
                changed = active.changed(), if watching => match changed {
                    Ok(()) => {
                        if *active.borrow_and_update() == 0 {
                            deadline = Instant::now() + idle_limit;
                        }
                    }
                    Err(_) => watching = false,
                },
                _ = self.stop.changed(), if !closing => {
                    conn.as_mut().graceful_shutdown();
                    closing = true;
                    deadline = Instant::now() + idle_limit;
                }
                () = tokio::time::sleep_until(deadline), if idle => {
                    if closing {
                        tracing::debug!(peer = %addr, "connection did not close in time; dropped");
                        return;
                    }
                    tracing::debug!(peer = %addr, "no request within header_read_timeout; closing");
                    conn.as_mut().graceful_shutdown();
                    closing = true;
                    deadline = Instant::now() + idle_limit;
                }
            }
        }
    }
}

/// Puts the connection's [`Peer`] into every request, and counts the requests in progress.
#[derive(Clone)]
struct Tracked<S> {
    inner: S,
    peer: Peer,
    active: Arc<watch::Sender<usize>>,
}

/// One request in progress; counted down when its reply is ready or it is dropped.
struct Active(Arc<watch::Sender<usize>>);

impl Drop for Active {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n = n.saturating_sub(1));
    }
}

impl<S, B, RB> tower_service::Service<warp::http::Request<B>> for Tracked<S>
where
    S: tower_service::Service<warp::http::Request<B>, Response = warp::http::Response<RB>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: warp::http::Request<B>) -> Self::Future {
        let id = RequestId::for_request(req.method(), req.headers());
        req.extensions_mut().insert(self.peer.clone());
        req.extensions_mut().insert(id.clone());
        self.active.send_modify(|n| *n += 1);
        let guard = Active(self.active.clone());
        let span = id.span().clone();
        let fut = span.in_scope(|| self.inner.call(req));
        Box::pin(
            async move {
                let mut reply = fut.await;
                drop(guard);
                if let Ok(r) = &mut reply
                    && let Ok(v) = warp::http::HeaderValue::from_str(id.get())
                {
                    r.headers_mut().insert(super::request_id::HEADER, v);
                }
                reply
            }
            .instrument(span),
        )
    }
}
