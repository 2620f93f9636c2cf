//! HTTP front end (warp): routes and nothing else. Protocol work happens in `soap`,
//! `wstrust` and `engine`; errors become wire errors in [`reject`].

mod client_cert;
pub mod clients;
pub mod json;
pub mod listen;
pub mod metadata;
pub mod oauth2;
pub mod publish;
pub mod reject;
pub mod rest_sts;
pub mod soap;
pub mod tls;
pub mod tokengen;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::{Buf, BytesMut};
use futures_util::StreamExt;
use warp::Filter;
use warp::http::{Response, StatusCode};

use crate::engine::{Engine, Instance};
use crate::xml::Limits;

/// Shared state of the server.
pub struct AppState {
    pub engine: Engine,
    /// The identity store, for the admin API.
    pub users: Arc<crate::identity::FileUserStore>,
    /// SSO header and cookie name (`iPlanetDirectoryPro`).
    pub cookie_name: String,
    /// The published instances, by realm-qualified subpath (`soap-x`, `myRealm/soap-x`).
    pub publisher: crate::publish::Publisher,
    /// Who may call the REST STS.
    pub rest_sts_caller: crate::config::RestCaller,
    /// Proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: crate::net::TrustedProxies,
    pub base_url: String,
    pub limits: Limits,
    pub max_body_bytes: usize,
    pub secure_transport: bool,
    /// Admission control: requests being read or processed. When none is left, the request
    /// is answered 503 at once instead of queueing without bound. A permit is taken before
    /// the body is read, so bodies being received count.
    pub in_flight: Arc<tokio::sync::Semaphore>,
    /// Bounds on connections and on the time heads and bodies may take.
    pub transport: listen::Transport,
    /// OAuth clients (introspection).
    pub clients: crate::oauth::Clients,
}

impl AppState {
    /// The client's address, for lockout and throttling: the TCP peer, or the client a
    /// trusted proxy names (`trusted_proxies`).
    pub fn client_ip(
        &self,
        peer: &Peer,
        headers: &warp::http::HeaderMap,
    ) -> Option<std::net::IpAddr> {
        let forwarded = headers
            .get_all("x-forwarded-for")
            .iter()
            .map(|v| v.as_bytes())
            .collect::<Vec<_>>();
        self.trusted_proxies
            .client(peer.addr.map(|a| a.ip()), forwarded.into_iter())
    }

    /// The SOAP instance at `subpath` (a REST instance there is not served over SOAP).
    pub fn soap_instance(&self, subpath: &str) -> Option<Arc<Instance>> {
        self.publisher
            .instance(subpath)
            .filter(|i| i.config.kind() == crate::instance::Kind::Soap)
    }

    /// The REST instance at `subpath`.
    pub fn rest_instance(&self, subpath: &str) -> Option<Arc<Instance>> {
        self.publisher
            .instance(subpath)
            .filter(|i| i.config.kind() == crate::instance::Kind::Rest)
    }
}

/// A finished HTTP reply.
#[derive(Debug)]
pub struct HttpReply {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
    pub set_cookie: Option<String>,
    /// Further response headers (e.g. `WWW-Authenticate`, `Cache-Control`).
    pub headers: Vec<(&'static str, String)>,
}

impl HttpReply {
    /// A JSON reply.
    pub fn json(status: u16, body: &serde_json::Value) -> HttpReply {
        HttpReply {
            status,
            content_type: "application/json",
            body: body.to_string(),
            set_cookie: None,
            headers: Vec::new(),
        }
    }
}

impl warp::Reply for HttpReply {
    fn into_response(self) -> warp::reply::Response {
        let mut r = Response::new(self.body.into());
        *r.status_mut() =
            StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if let Ok(v) = warp::http::HeaderValue::from_str(self.content_type) {
            r.headers_mut().insert(warp::http::header::CONTENT_TYPE, v);
        }
        if let Some(c) = self
            .set_cookie
            .and_then(|c| warp::http::HeaderValue::from_str(&c).ok())
        {
            r.headers_mut().insert(warp::http::header::SET_COOKIE, c);
        }
        for (name, value) in self.headers {
            if let Ok(v) = warp::http::HeaderValue::from_str(&value) {
                r.headers_mut()
                    .insert(warp::http::HeaderName::from_static(name), v);
            }
        }
        r
    }
}

/// A reply that may wait for the durable write of an issued token: `reply` is sent only once
/// the write resolves; if it fails, the fallback is built (and logged) then, and sent instead.
pub struct Outcome {
    pub reply: HttpReply,
    pub pending: Option<(crate::store::Durable, Fallback)>,
}

/// The reply for a token that could not be stored, built only when that happens.
pub type Fallback = Box<dyn FnOnce() -> HttpReply + Send>;

impl Outcome {
    /// Awaits the pending write, off the CPU threads, and picks the reply.
    async fn settle(self) -> HttpReply {
        match self.pending {
            None => self.reply,
            Some((durable, if_lost)) => match durable.done().await {
                Ok(()) => self.reply,
                Err(e) => {
                    tracing::error!(error = %e, "an issued token could not be stored; the token is withheld");
                    if_lost()
                }
            },
        }
    }
}

/// A request body, read only under an admission permit (`in_flight`), so that bodies being
/// received count against it: memory for bodies stays below about `max_in_flight *
/// max_body_bytes` however many clients send slowly.
enum Body {
    /// The whole body, and the permit the request holds until its reply is ready.
    Complete(tokio::sync::OwnedSemaphorePermit, bytes::Bytes),
    /// No permit left: refused at once, the body unread.
    Busy,
    TooLarge,
    Broken,
    /// The body did not arrive within `body_read_timeout`.
    TimedOut,
}

/// Admits the request, then reads its body up to `max_body_bytes` (with or without
/// Content-Length; a declared or actual size beyond it stops reading at once) within
/// `body_read_timeout`.
fn admitted_body(
    state: Arc<AppState>,
) -> impl Filter<Extract = (Body,), Error = warp::Rejection> + Clone {
    warp::header::optional::<u64>("content-length")
        .and(warp::body::stream())
        .then(move |len: Option<u64>, stream| {
            let state = state.clone();
            async move {
                let max = state.max_body_bytes;
                if len.is_some_and(|l| l > max as u64) {
                    return Body::TooLarge;
                }
                let Ok(permit) = state.in_flight.clone().try_acquire_owned() else {
                    return Body::Busy;
                };
                let limit = state.transport.body_read_timeout;
                // Room for the declared length at once: growing by doubling would need up to
                // twice the body while copying.
                let room = len.map_or(0, |l| usize::try_from(l).unwrap_or(max));
                let read = collect_body(stream, room, max);
                match tokio::time::timeout(limit, read).await {
                    Ok(Ok(bytes)) => Body::Complete(permit, bytes),
                    Ok(Err(refused)) => refused,
                    Err(_) => Body::TimedOut,
                }
            }
        })
}

async fn collect_body<S, B>(stream: S, room: usize, max: usize) -> Result<bytes::Bytes, Body>
where
    S: futures_util::Stream<Item = Result<B, warp::Error>>,
    B: Buf,
{
    let mut stream = std::pin::pin!(stream);
    let mut buf = BytesMut::with_capacity(room.min(max));
    while let Some(chunk) = stream.next().await {
        let Ok(mut chunk) = chunk else {
            return Err(Body::Broken);
        };
        if buf.len() + chunk.remaining() > max {
            return Err(Body::TooLarge);
        }
        while chunk.has_remaining() {
            let c = chunk.chunk();
            let n = c.len();
            buf.extend_from_slice(c);
            chunk.advance(n);
        }
    }
    Ok(buf.freeze())
}

/// The connection is closed after this reply (its request body was not read to the end).
fn closing(mut reply: HttpReply) -> HttpReply {
    reply.headers.push(("connection", "close".into()));
    reply
}

fn with_state(
    state: Arc<AppState>,
) -> impl Filter<Extract = (Arc<AppState>,), Error = std::convert::Infallible> + Clone {
    warp::any().map(move || state.clone())
}

fn subpath_of(tail: &warp::path::Tail) -> String {
    tail.as_str().trim_matches('/').to_owned()
}

fn text(status: u16, content_type: &'static str, body: String) -> HttpReply {
    HttpReply {
        status,
        content_type,
        body,
        set_cookie: None,
        headers: Vec::new(),
    }
}

/// The other end of a connection: its address, and the certificate chain (DER, leaf first)
/// it presented in this server's TLS handshake, if any. The TLS listener puts one in each
/// request's extensions; on plain HTTP it is built from the remote address.
#[derive(Debug, Clone, Default)]
pub struct Peer {
    pub addr: Option<std::net::SocketAddr>,
    pub tls_chain: Option<Arc<Vec<Vec<u8>>>>,
}

fn peer() -> impl Filter<Extract = (Peer,), Error = std::convert::Infallible> + Clone {
    warp::addr::remote()
        .and(warp::ext::optional::<Peer>())
        .map(|addr, peer: Option<Peer>| {
            peer.unwrap_or(Peer {
                addr,
                tls_chain: None,
            })
        })
}

/// All routes.
pub fn routes(
    state: Arc<AppState>,
) -> impl Filter<Extract = (impl warp::Reply,), Error = std::convert::Infallible> + Clone {
    // Path before method, so that unknown paths are 404 rather than 405.
    let soap_post = warp::path("sts")
        .and(warp::post())
        .and(warp::path::tail())
        .and(warp::header::optional::<String>("content-type"))
        .and(warp::header::optional::<String>("soapaction"))
        .and(warp::header::headers_cloned())
        .and(admitted_body(state.clone()))
        .and(peer())
        .and(with_state(state.clone()))
        .then(
            |tail: warp::path::Tail,
             content_type: Option<String>,
             soap_action: Option<String>,
             headers: warp::http::HeaderMap,
             body: Body,
             peer: Peer,
             state: Arc<AppState>| async move {
                let subpath = subpath_of(&tail);
                let http = soap::SoapHttp {
                    content_type,
                    soap_action,
                    session: json::session_token(&headers, &state.cookie_name),
                    headers,
                    peer,
                };
                let (permit, body) = match body {
                    Body::Complete(permit, b) => (permit, b),
                    Body::Busy => return closing(shed(&http, reject::SoapFailure::Busy)),
                    Body::TooLarge => {
                        let max = state.max_body_bytes;
                        return closing(shed(&http, reject::SoapFailure::TooLarge(max)));
                    }
                    Body::TimedOut => {
                        let secs = state.transport.body_read_timeout.as_secs();
                        return closing(shed(&http, reject::SoapFailure::BodyTimedOut(secs)));
                    }
                    Body::Broken => {
                        tracing::debug!(peer = ?http.peer.addr, "request body broken off");
                        return text(
                            400,
                            "text/plain; charset=utf-8",
                            "broken request body\n".into(),
                        );
                    }
                };
                let st = state.clone();
                let outcome =
                    tokio::task::spawn_blocking(move || soap::handle(&st, &subpath, &http, &body))
                        .await;
                // The CPU thread is free again; a durable write is awaited here, off it.
                let reply = match outcome {
                    Ok(outcome) => outcome.settle().await,
                    Err(_) => text(500, "text/plain; charset=utf-8", "internal error\n".into()),
                };
                drop(permit);
                reply
            },
        );
    let wsdl_get = warp::path("sts")
        .and(warp::get())
        .and(warp::path::tail())
        .and(warp::query::raw().or(warp::any().map(String::new)).unify())
        .and(with_state(state.clone()))
        .map(
            |tail: warp::path::Tail, query: String, state: Arc<AppState>| {
                let subpath = subpath_of(&tail);
                let Some(instance) = state.soap_instance(&subpath) else {
                    return text(
                        404,
                        "text/plain; charset=utf-8",
                        format!("no STS instance at /sts/{subpath}\n"),
                    );
                };
                if !query.split('&').any(|p| p.eq_ignore_ascii_case("wsdl")) {
                    return text(
                        405,
                        "text/plain; charset=utf-8",
                        "POST SOAP requests here; GET ?wsdl for the WSDL\n".into(),
                    );
                }
                let endpoint = format!("{}/sts/{subpath}", state.base_url);
                text(
                    200,
                    "text/xml; charset=utf-8",
                    metadata::wsdl(&instance, &endpoint, &state.base_url),
                )
            },
        );
    let xsd_get = warp::path("xsd")
        .and(warp::get())
        .and(warp::path::param::<String>())
        .and(warp::path::end())
        .map(|name: String| match metadata::xsd(&name) {
            Some(x) => text(200, "text/xml; charset=utf-8", x.to_owned()),
            None => text(
                404,
                "text/plain; charset=utf-8",
                format!("no schema named {name}\n"),
            ),
        });
    let json_route = json_like(state.clone(), "json", json::handle);
    let tokengen_route = json_like(state.clone(), "sts-tokengen", tokengen::handle);
    let publish_route = json_like(state.clone(), "sts-publish", publish::handle);
    let oauth2_route = json_like(state.clone(), "oauth2", oauth2::handle);
    let clients_route = json_like(state.clone(), "sts-clients", clients::handle);
    let rest_route = rest_sts_route(state.clone());
    let openapi = warp::path("openapi.json")
        .and(warp::get())
        .and(warp::path::end())
        .map(|| text(200, "application/json", metadata::OPENAPI.to_owned()));
    // RFC 8414: `/.well-known/oauth-authorization-server` + the issuer's path.
    let oauth_metadata = warp::path(".well-known")
        .and(warp::path("oauth-authorization-server"))
        .and(warp::get())
        .and(warp::path::tail())
        .and(with_state(state.clone()))
        .map(|tail: warp::path::Tail, state: Arc<AppState>| {
            let path = tail.as_str().trim_matches('/');
            let realm = match path.strip_prefix("oauth2") {
                Some(rest) if rest.is_empty() || rest.starts_with('/') => {
                    json::realm_and_rest(rest)
                        .ok()
                        .filter(|(_, r)| r.is_empty())
                }
                _ if path.is_empty() => Some(("/".to_owned(), Vec::new())),
                _ => None,
            };
            match realm {
                Some((realm, _)) if state.users.realms().is_ok_and(|r| r.contains(&realm)) => {
                    HttpReply::json(200, &oauth2::metadata(&state, &realm))
                }
                _ => reject::json_reply(&reject::JsonFailure::NotFound),
            }
        });
    let health = warp::path("health")
        .and(warp::get())
        .and(warp::path::end())
        .map(|| text(200, "application/json", "{\"status\":\"ok\"}".into()));
    soap_post
        .or(wsdl_get)
        .unify()
        .or(xsd_get)
        .unify()
        .or(json_route)
        .unify()
        .or(tokengen_route)
        .unify()
        .or(publish_route)
        .unify()
        .or(oauth2_route)
        .unify()
        .or(clients_route)
        .unify()
        .or(rest_route)
        .unify()
        .or(oauth_metadata)
        .unify()
        .or(health)
        .unify()
        .or(openapi)
        .unify()
        .recover(|r: warp::Rejection| async move {
            let reply = if r.is_not_found() {
                text(404, "text/plain; charset=utf-8", "not found\n".into())
            } else if r.find::<warp::reject::MethodNotAllowed>().is_some() {
                text(
                    405,
                    "text/plain; charset=utf-8",
                    "method not allowed\n".into(),
                )
            } else {
                text(400, "text/plain; charset=utf-8", "bad request\n".into())
            };
            Ok::<_, std::convert::Infallible>(reply)
        })
}

/// Admission and body checks shared by the JSON routes: a permit of `in_flight` (else 503),
/// and a complete body within `max_body_bytes` (else 413, 400 when it broke off, 408 when it
/// did not arrive within `body_read_timeout`).
fn admit_json(
    state: &AppState,
    method: warp::http::Method,
    tail: &warp::path::Tail,
    query: String,
    headers: warp::http::HeaderMap,
    body: Body,
    peer: Peer,
) -> Result<(tokio::sync::OwnedSemaphorePermit, json::JsonRequest), HttpReply> {
    use reject::{JsonFailure, json_reply};
    let (permit, body) = match body {
        Body::Complete(permit, b) => (permit, b),
        Body::Busy => return Err(closing(json_reply(&JsonFailure::Busy))),
        Body::TooLarge => {
            let max = state.max_body_bytes;
            return Err(closing(json_reply(&JsonFailure::TooLarge(max))));
        }
        Body::TimedOut => {
            let secs = state.transport.body_read_timeout.as_secs();
            return Err(closing(json_reply(&JsonFailure::BodyTimedOut(secs))));
        }
        Body::Broken => {
            tracing::debug!(peer = ?peer.addr, "request body broken off");
            return Err(json_reply(&JsonFailure::BadRequest(
                "broken request body".into(),
            )));
        }
    };
    let req = json::JsonRequest {
        method,
        tail: tail.as_str().to_owned(),
        query,
        headers,
        body,
        peer,
    };
    Ok((permit, req))
}

/// `/rest-sts/...`: like [`json_like`], but an issued token's durable write is awaited off
/// the blocking pool before the reply goes out.
fn rest_sts_route(
    state: Arc<AppState>,
) -> impl Filter<Extract = (HttpReply,), Error = warp::Rejection> + Clone {
    warp::path("rest-sts")
        .and(warp::path::tail())
        .and(warp::method())
        .and(warp::query::raw().or(warp::any().map(String::new)).unify())
        .and(warp::header::headers_cloned())
        .and(admitted_body(state.clone()))
        .and(peer())
        .and(with_state(state))
        .then(
            move |tail: warp::path::Tail,
                  method: warp::http::Method,
                  query: String,
                  headers: warp::http::HeaderMap,
                  body: Body,
                  peer: Peer,
                  state: Arc<AppState>| async move {
                let (permit, req) =
                    match admit_json(&state, method, &tail, query, headers, body, peer) {
                        Ok(admitted) => admitted,
                        Err(reply) => return reply,
                    };
                let st = state.clone();
                let caller = state.rest_sts_caller;
                let outcome =
                    tokio::task::spawn_blocking(move || rest_sts::handle(&st, &req, caller)).await;
                let reply = match outcome {
                    Ok(outcome) => outcome.settle().await,
                    Err(_) => {
                        reject::json_reply(&reject::JsonFailure::Internal("task failed".into()))
                    }
                };
                drop(permit);
                reply
            },
        )
}

/// A JSON endpoint under `/{prefix}`, handled synchronously on the blocking pool.
fn json_like(
    state: Arc<AppState>,
    prefix: &'static str,
    handler: fn(&AppState, &json::JsonRequest) -> HttpReply,
) -> impl Filter<Extract = (HttpReply,), Error = warp::Rejection> + Clone {
    warp::path(prefix)
        .and(warp::path::tail())
        .and(warp::method())
        .and(warp::query::raw().or(warp::any().map(String::new)).unify())
        .and(warp::header::headers_cloned())
        .and(admitted_body(state.clone()))
        .and(peer())
        .and(with_state(state.clone()))
        .then(
            move |tail: warp::path::Tail,
                  method: warp::http::Method,
                  query: String,
                  headers: warp::http::HeaderMap,
                  body: Body,
                  peer: Peer,
                  state: Arc<AppState>| async move {
                let (permit, req) =
                    match admit_json(&state, method, &tail, query, headers, body, peer) {
                        Ok(admitted) => admitted,
                        Err(reply) => return reply,
                    };
                let st = state.clone();
                tokio::task::spawn_blocking(move || {
                    let reply = handler(&st, &req);
                    drop(permit);
                    reply
                })
                .await
                .unwrap_or_else(|_| {
                    reject::json_reply(&reject::JsonFailure::Internal("task failed".into()))
                })
            },
        )
}

/// A fault decided before the envelope is read, in the version the Content-Type names.
fn shed(http: &soap::SoapHttp, failure: reject::SoapFailure) -> HttpReply {
    let version = http
        .content_type
        .as_deref()
        .and_then(crate::soap::version_from_content_type)
        .unwrap_or(crate::soap::SoapVersion::V11);
    let (status, code, reason) = reject::soap_fault(&failure);
    HttpReply {
        status,
        content_type: version.content_type(),
        body: crate::soap::write_fault(version, None, code, &reason),
        set_cookie: None,
        headers: Vec::new(),
    }
}

/// Expired sessions and tokens are refused when used anyway; this task removes them every
/// `interval`, tokens in bounded batches (each its own short transaction), on the blocking pool.
pub fn spawn_reaper(state: Arc<AppState>, interval: std::time::Duration) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let st = state.clone();
            let done = tokio::task::spawn_blocking(move || {
                (
                    st.engine.sessions().reap(),
                    st.engine.reap_tokens(REAP_BATCH),
                )
            })
            .await;
            match done {
                Ok((Ok(s), Ok(t))) if s + t > 0 => {
                    tracing::debug!(sessions = s, tokens = t, "expired entries reaped")
                }
                Ok((s, t)) => {
                    if let Err(e) = s {
                        tracing::warn!(error = %e, "reaping sessions failed");
                    }
                    if let Err(e) = t {
                        tracing::warn!(error = %e, "reaping tokens failed");
                    }
                }
                Err(_) => tracing::warn!("the reaper task failed"),
            }
        }
    });
}

/// Reloads instances published on other nodes (or by `sts instance`) every `interval`: one
/// small query when nothing changed.
pub fn spawn_instance_poller(state: Arc<AppState>, interval: std::time::Duration) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let st = state.clone();
            match tokio::task::spawn_blocking(move || st.publisher.refresh()).await {
                Ok(Ok(true)) => tracing::info!("published instances reloaded"),
                Ok(Ok(false)) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "reloading published instances failed"),
                Err(_) => tracing::warn!("the instance poller task failed"),
            }
        }
    });
}

/// Tokens removed per reaper transaction.
pub const REAP_BATCH: usize = 1000;

/// Serves plain HTTP until `shutdown` completes, then drains open requests.
pub async fn serve(
    state: Arc<AppState>,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    listen::serve_connections(state, listener, None, shutdown).await
}

/// Binds the listener (port 0 picks a free port); the error names the address and how to
/// choose another.
pub async fn bind(addr: SocketAddr) -> Result<tokio::net::TcpListener, crate::StartError> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| crate::StartError::Listen { addr, source })
}
