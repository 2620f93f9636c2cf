//! The browser admin console at `/console/`: a static page and one small script (no framework,
//! no build step; the files under `console/` are compiled into the binary), over the JSON
//! APIs. The page never holds the SSO token: it lives in an `HttpOnly` cookie scoped to
//! `/console/`, and the script calls `/console/api/...`, which checks the CSRF token and the
//! origin of every state-changing request, then hands the request to the API's own handler
//! (`/json/users`, `/sts-publish`, `/sts-tokengen`, `/sts-clients`) with the session as its
//! SSO header: the console can do exactly what the APIs let its administrator do.
//!
//! Every reply carries a strict `Content-Security-Policy` (scripts from this origin only, no
//! inline script, no eval), `X-Frame-Options: DENY` and `Cache-Control: no-store`.

mod keys;
mod rates;
mod session;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use warp::http::{HeaderMap, HeaderValue, Method};

use crate::frontends::Context;
use crate::frontends::crest::{JsonFailure, action, json_reply, realm_and_rest, refuse_content_encoding};
use crate::http::{HttpReply, Outcome, Request};
pub use keys::KeyAdmin;
pub use rates::Rates;
use session::Session;

const INDEX: &str = include_str!("../../../console/index.html");
const SCRIPT: &str = include_str!("../../../console/console.js");
const STYLE: &str = include_str!("../../../console/console.css");
const ICON: &str = include_str!("../../../console/favicon.svg");

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
                   connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// What the console needs beyond the front ends' context.
pub struct Console {
    pub ctx: Arc<Context>,
    pub keys: KeyAdmin,
    /// When this node started (the status page's uptime).
    pub started: DateTime<Utc>,
    /// `sqlite` or `postgres` (never the store's URL: it may hold a password).
    pub store_backend: &'static str,
    /// Samples of the request totals, for the status page's recent rates.
    pub rates: Rates,
}

/// Handles one request under `/console`.
pub fn handle(console: &Console, req: &Request) -> Outcome {
    let mut reply = match refuse_content_encoding(&req.headers) {
        Some(refused) => refused.into(),
        None => route(console, req),
    };
    harden(&mut reply.reply);
    reply
}

/// The security headers of every console reply.
fn harden(r: &mut HttpReply) {
    r.headers.extend([
        ("content-security-policy", CSP.to_owned()),
        ("x-frame-options", "DENY".to_owned()),
        ("x-content-type-options", "nosniff".to_owned()),
        ("referrer-policy", "no-referrer".to_owned()),
        ("cache-control", "no-store".to_owned()),
    ]);
}

fn route(console: &Console, req: &Request) -> Outcome {
    let tail = req.tail.trim_start_matches('/');
    let get = req.method == Method::GET;
    match tail {
        "" | "index.html" if get => HttpReply::text(200, "text/html; charset=utf-8", INDEX.into()),
        "console.js" if get => {
            HttpReply::text(200, "text/javascript; charset=utf-8", SCRIPT.into())
        }
        "console.css" if get => HttpReply::text(200, "text/css; charset=utf-8", STYLE.into()),
        "favicon.svg" if get => HttpReply::text(200, "image/svg+xml", ICON.into()),
        "" | "index.html" | "console.js" | "console.css" | "favicon.svg" => {
            json_reply(&JsonFailure::MethodNotAllowed)
        }
        _ => match tail.strip_prefix("api/") {
            Some(api) => return self::api(console, req, api),
            None => json_reply(&JsonFailure::NotFound),
        },
    }
    .into()
}

fn api(console: &Console, req: &Request, api: &str) -> Outcome {
    let ctx = &console.ctx;
    let changes = req.method != Method::GET && req.method != Method::HEAD;
    if api == "login" {
        if req.method != Method::POST {
            return json_reply(&JsonFailure::MethodNotAllowed).into();
        }
        // A sign-in from another site would start a session the victim did not ask for.
        if !session::origin_ok(&req.headers, &ctx.base_url) {
            return forbidden("the request's Origin is not this server").into();
        }
        return login(ctx, req).unwrap_or_else(|f| json_reply(&f)).into();
    }
    let Some(token) = session::token(&req.headers) else {
        return json_reply(&JsonFailure::Unauthorized("Access Denied")).into();
    };
    if changes {
        if !session::origin_ok(&req.headers, &ctx.base_url) {
            return forbidden("the request's Origin is not this server").into();
        }
        if !session::csrf_ok(&req.headers, &token) {
            return forbidden("the CSRF token is missing or wrong").into();
        }
    }
    let sess = Session::new(ctx, token);
    let (first, rest) = api.split_once('/').unwrap_or((api, ""));
    let result = match (first, &req.method) {
        ("session", &Method::GET) => sess.describe(),
        ("logout", &Method::POST) => return sess.logout().into(),
        ("status", &Method::GET) => sess.admin().map(|a| status(console, a.administers("/"))),
        ("keys", m) => keys_api(console, &sess, req, rest, m),
        ("json", _) => {
            // Only the user administration of `/json`: signing in and sessions are the
            // console's own.
            match realm_and_rest(rest) {
                Ok((_, r)) if r.first().map(String::as_str) == Some("users") => {
                    return sess.forward(req, crate::frontends::am_json::handle, rest);
                }
                Ok(_) => Err(JsonFailure::NotFound),
                Err(f) => Err(f),
            }
        }
        ("sts-publish", _) => {
            return sess.forward(req, crate::frontends::admin::publish::handle, rest);
        }
        ("sts-tokengen", _) => {
            return sess.forward(req, crate::frontends::admin::tokengen::handle, rest);
        }
        ("sts-clients", _) => {
            return sess.forward(req, crate::frontends::admin::clients::handle, rest);
        }
        ("session" | "logout" | "status", _) => Err(JsonFailure::MethodNotAllowed),
        _ => Err(JsonFailure::NotFound),
    };
    match result {
        Ok(v) => HttpReply::json(200, &v),
        Err(f) => json_reply(&f),
    }
    .into()
}

fn forbidden(message: &str) -> HttpReply {
    HttpReply::json(
        403,
        &json!({"code": 403, "reason": "Forbidden", "message": message}),
    )
}

/// `POST /console/api/login` with `{"username", "password", "realm"}`: signs in through
/// `/json/authenticate` and keeps the session in the console's cookie; only administrators
/// get one (anyone else's session is ended at once).
fn login(ctx: &Context, req: &Request) -> Result<HttpReply, JsonFailure> {
    let body: Value = serde_json::from_slice(&req.body)
        .map_err(|e| JsonFailure::BadRequest(format!("invalid JSON: {e}")))?;
    let text = |k: &str| body.get(k).and_then(Value::as_str).unwrap_or_default();
    let realm = crate::identity::normalize_realm(text("realm"));
    let mut tail = String::from("realms/root");
    for part in realm.split('/').filter(|p| !p.is_empty()) {
        tail.push_str("/realms/");
        tail.push_str(part);
    }
    tail.push_str("/authenticate");
    let mut headers = HeaderMap::new();
    headers.insert(
        warp::http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Some(v) = req.headers.get("x-forwarded-for") {
        headers.insert("x-forwarded-for", v.clone());
    }
    let inner = Request {
        request_id: req.request_id.clone(),
        method: Method::POST,
        tail,
        query: String::new(),
        headers,
        body: serde_json::to_vec(&json!({"username": text("username"), "password": text("password")}))
            .unwrap_or_default()
            .into(),
        peer: req.peer.clone(),
    };
    // Authentication replies at once (no durable write to wait for).
    let reply = crate::frontends::am_json::handle(ctx, &inner).reply;
    if reply.status != 200 {
        let mut r = reply;
        // The API's SSO cookie is not the console's.
        r.set_cookie = None;
        return Ok(r);
    }
    let answer: Value = serde_json::from_str(&reply.body).map_err(crate::frontends::crest::internal)?;
    let token = answer
        .get("tokenId")
        .and_then(Value::as_str)
        .ok_or(JsonFailure::Unauthorized("Authentication Failed"))?;
    let sess = Session::new(ctx, crate::secret::Secret::new(token.to_owned()));
    match sess.describe() {
        Ok(v) => {
            let mut r = HttpReply::json(200, &v);
            r.set_cookie = Some(session::set_cookie(token, ctx.secure_transport));
            Ok(r)
        }
        Err(f) => {
            sess.end();
            Err(f)
        }
    }
}

fn keys_api(
    console: &Console,
    sess: &Session<'_>,
    req: &Request,
    rest: &str,
    method: &Method,
) -> Result<Value, JsonFailure> {
    let by = sess.admin()?.of("/")?;
    let alias = rest.trim_matches('/');
    match (method, alias) {
        (&Method::GET, "") => console.keys.list(),
        (&Method::POST, "") if action(&req.query).as_deref() == Some("import") => {
            let body: Value = serde_json::from_slice(&req.body)
                .map_err(|e| JsonFailure::BadRequest(format!("invalid JSON: {e}")))?;
            let text = |k: &str| body.get(k).and_then(Value::as_str).unwrap_or_default();
            console.keys.import(&console.ctx, &by, text("alias"), text("certificate"))
        }
        (&Method::POST, alias) if !alias.is_empty() && action(&req.query).as_deref() == Some("rotate") => {
            console.keys.rotate(&console.ctx, &by, alias)
        }
        (&Method::POST, _) => Err(JsonFailure::BadRequest(
            "use _action=rotate on a key, or _action=import".into(),
        )),
        _ => Err(JsonFailure::MethodNotAllowed),
    }
}

/// The status page: version, uptime, store backend, instances loaded, request rates (or
/// `{"enabled": false}` when the node records no metrics). The rates count every realm's
/// traffic, so only an administrator of the top-level realm (`all_realms`) gets them.
fn status(console: &Console, all_realms: bool) -> Value {
    let ctx = &console.ctx;
    let instances = ctx.publisher.instances();
    let count = |k: crate::instance::Kind| instances.iter().filter(|i| i.config.kind() == k).count();
    let now = ctx.engine.now();
    let uptime = (now - console.started).num_seconds().max(0);
    json!({
        "version": env!("CARGO_PKG_VERSION"),
        "started": console.started.to_rfc3339(),
        "uptime_seconds": uptime,
        "store_backend": console.store_backend,
        "instances": {
            "rest": count(crate::instance::Kind::Rest),
            "soap": count(crate::instance::Kind::Soap),
        },
        "base_url": ctx.base_url,
        "rates": if all_realms {
            console.rates.report(now, console.started)
        } else {
            json!({"enabled": false, "restricted": true})
        },
    })
}
