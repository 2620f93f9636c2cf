//! The AM-style JSON endpoints under `/json`: authentication, sessions, and user administration.
//!
//! Paths may carry a realm the way AM writes it: `/json/authenticate` (top-level realm),
//! `/json/realms/root/authenticate`, `/json/realms/root/realms/a/realms/b/authenticate`.
//! Synchronous: runs on the blocking pool (password hashing).

mod authenticate;
mod sessions;
mod users;

use serde_json::Value;

use crate::http::{HttpReply, Outcome, Request};

use super::Context;
use super::crest::{JsonFailure, json_reply, realm_and_rest, refuse_content_encoding};
use authenticate::authenticate;
use sessions::sessions;
pub use users::UserAdmin;
use users::users;

/// A reply with an optional `Set-Cookie`.
pub struct JsonReply {
    pub status: u16,
    pub body: Value,
    pub set_cookie: Option<String>,
}

impl JsonReply {
    pub(super) fn ok(body: Value) -> Self {
        JsonReply {
            status: 200,
            body,
            set_cookie: None,
        }
    }
}

/// Handles one `/json` request.
pub fn handle(state: &Context, req: &Request) -> Outcome {
    if let Some(refused) = refuse_content_encoding(&req.headers) {
        return refused.into();
    }
    match route(state, req) {
        Ok(reply) => HttpReply {
            status: reply.status,
            content_type: "application/json",
            body: reply.body.to_string(),
            set_cookie: reply.set_cookie,
            headers: Vec::new(),
        },
        Err(f) => json_reply(&f),
    }
    .into()
}

fn route(state: &Context, req: &Request) -> Result<JsonReply, JsonFailure> {
    let (realm, rest) = realm_and_rest(&req.tail)?;
    let rest: Vec<&str> = rest.iter().map(String::as_str).collect();
    let post = req.method == warp::http::Method::POST;
    crate::metrics::note_operation(match rest.first().copied() {
        Some("authenticate") => "authenticate",
        Some("sessions") => "sessions",
        Some("users") => "users",
        _ => "other",
    });
    match rest.as_slice() {
        ["authenticate"] if post => authenticate(state, &realm, req),
        ["sessions"] if post => sessions(state, req, None),
        ["sessions", token] if post => sessions(state, req, Some(token)),
        ["users"] => users(state, &realm, None, req),
        ["users", id] => users(state, &realm, Some(id), req),
        ["authenticate" | "sessions", ..] => Err(JsonFailure::MethodNotAllowed),
        _ => Err(JsonFailure::NotFound),
    }
}

pub(super) fn body_json(req: &Request) -> Result<Value, JsonFailure> {
    if req.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    serde_json::from_slice(&req.body)
        .map_err(|e| JsonFailure::BadRequest(format!("invalid JSON: {e}")))
}
