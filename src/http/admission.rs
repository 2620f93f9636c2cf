//! Admission: a request is served only with a permit of `in_flight`, taken before its body is
//! read; without one it is refused at once (503) instead of queueing without bound. A refused
//! request is answered in its route's protocol: each route supplies its [`Shed`].

use std::sync::Arc;
use std::time::Duration;

use warp::Filter;
use warp::http::HeaderMap;

use super::body::{Admitted, Request, admitted_body};
use super::peer::{Peer, peer};
use super::reply::{HttpReply, Outcome};
use super::request_id::RequestId;

/// Bounds on requests being read or processed.
#[derive(Clone)]
pub struct Admission {
    /// Requests being read or processed; when none is left, the request is answered 503.
    pub in_flight: Arc<tokio::sync::Semaphore>,
    pub max_body_bytes: usize,
    /// Time a body may take to arrive.
    pub body_read_timeout: Duration,
    /// Proxies whose `X-Forwarded-For` names the client (for the audit trail's `client`).
    pub trusted_proxies: crate::net::TrustedProxies,
    /// Handlers running at once on the blocking pool. Signing and hashing are CPU-bound: with
    /// more of them running than CPUs, the kernel time-slices them and every request in
    /// flight finishes late; waiting here instead (in arrival order) serves them one after
    /// the other at the same throughput, which keeps the tail close to the median.
    pub cpu: Arc<tokio::sync::Semaphore>,
}

/// Why a request was not handed to its front end, or got no reply from it.
#[derive(Debug)]
pub enum Refused {
    /// No admission permit left.
    Busy,
    /// The body is larger than this many bytes.
    TooLarge(usize),
    /// The body did not arrive within this many seconds.
    TimedOut(u64),
    /// The body broke off.
    Broken,
    /// The handler failed (logged by the route's [`Shed`]; never sent).
    Failed(String),
}

impl Refused {
    /// Its `reason` label in `sts_requests_shed_total`.
    fn label(&self) -> &'static str {
        match self {
            Refused::Busy => "busy",
            Refused::TooLarge(_) => "too_large",
            Refused::TimedOut(_) => "timed_out",
            Refused::Broken => "broken",
            Refused::Failed(_) => "failed",
        }
    }

    /// Whether the connection closes after the reply: the body was not read to its end.
    fn closes(&self) -> bool {
        matches!(
            self,
            Refused::Busy | Refused::TooLarge(_) | Refused::TimedOut(_)
        )
    }
}

/// A protocol's answer to a refused request, given the request's headers.
pub type Shed = fn(&Refused, &HeaderMap) -> HttpReply;

/// A route: requests matching `path` are admitted, their body read, and `handler` called on
/// the blocking pool (the front ends are synchronous: hashing and signing are CPU-bound).
/// The reply goes out once a durable write it waits for has settled, off the CPU threads.
pub fn endpoint<S, P>(
    path: P,
    state: Arc<S>,
    admission: Admission,
    frontend: crate::metrics::Frontend,
    shed: Shed,
    handler: fn(&S, &Request) -> Outcome,
) -> impl Filter<Extract = (HttpReply,), Error = warp::Rejection> + Clone
where
    S: Send + Sync + 'static,
    P: Filter<Extract = (), Error = warp::Rejection> + Clone + Send + Sync + 'static,
{
    let proxies = Arc::new(admission.trusted_proxies.clone());
    let cpu = admission.cpu.clone();
    path.and(warp::path::tail())
        .and(warp::method())
        .and(warp::query::raw().or(warp::any().map(String::new)).unify())
        .and(warp::header::headers_cloned())
        .and(admitted_body(admission))
        .and(peer())
        .and(warp::ext::optional::<RequestId>())
        .then(
            move |tail: warp::path::Tail,
                  method: warp::http::Method,
                  query: String,
                  headers: HeaderMap,
                  body: Result<Admitted, Refused>,
                  peer: Peer,
                  id: Option<RequestId>| {
                let state = state.clone();
                let proxies = proxies.clone();
                let id = id.unwrap_or_else(|| RequestId::for_request(&method, &headers));
                let cpu = cpu.clone();
                async move {
                    let Admitted { permit, body } = match body {
                        Ok(admitted) => admitted,
                        Err(refused) => {
                            if let Refused::Broken = refused {
                                tracing::debug!(peer = ?peer.addr, "request body broken off");
                            }
                            crate::metrics::shed(frontend, refused.label());
                            let reply = shed(&refused, &headers);
                            return if refused.closes() {
                                reply.closing()
                            } else {
                                reply
                            };
                        }
                    };
                    let request_id = id.decide_by_body(&headers, &body).to_owned();
                    let req = Arc::new(Request {
                        request_id,
                        method,
                        tail: tail.as_str().to_owned(),
                        query,
                        headers,
                        body,
                        peer,
                    });
                    let r = req.clone();
                    let span = id.span().clone();
                    let audit_scope = crate::audit::RequestScope {
                        request_id: req.request_id.clone(),
                        client: req.peer.client_ip(&proxies, &req.headers),
                    };
                    let Ok(slot) = cpu.clone().acquire_owned().await else {
                        return shed(&Refused::Failed("shutting down".into()), &req.headers);
                    };
                    let metrics = crate::metrics::RequestScope::begin(frontend);
                    let outcome = tokio::task::spawn_blocking(move || {
                        let (outcome, note) = metrics.capture(|| {
                            span.in_scope(|| {
                                crate::audit::in_request(audit_scope, || handler(&state, &r))
                            })
                        });
                        drop(slot);
                        (outcome, note, metrics)
                    })
                    .await;
                    // The CPU thread is free again; a durable write is awaited here, off it.
                    let reply = match outcome {
                        Ok((outcome, note, scope)) => {
                            let reply = outcome.settle().await;
                            scope.finish(note, reply.status);
                            reply
                        }
                        Err(_) => shed(&Refused::Failed("task failed".into()), &req.headers),
                    };
                    drop(permit);
                    tracing::debug!(status = reply.status, "answered");
                    reply
                }
            },
        )
}
