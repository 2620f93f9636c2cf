//! CREST, the JSON shape of AM's REST APIs, shared by the JSON front ends (AM JSON, REST
//! STS, admin APIs, OAuth2 outside its own errors): realm paths, query parameters, and the
//! CREST error body, the only map from failures to JSON errors.

use warp::http::HeaderMap;

use crate::engine::EngineError;
use crate::http::{HttpReply, Refused};
use crate::identity::normalize_realm;

/// Failures of the JSON endpoints.
#[derive(Debug, thiserror::Error)]
pub enum JsonFailure {
    /// No or a dead session, or failed authentication; the message never says which part of
    /// the credentials was wrong.
    #[error("{0}")]
    Unauthorized(&'static str),
    #[error("Forbidden")]
    Forbidden,
    #[error("Not Found")]
    NotFound,
    #[error("Method Not Allowed")]
    MethodNotAllowed,
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    PreconditionFailed(String),
    #[error("Content-Type must be application/json")]
    UnsupportedMediaType,
    /// A `Content-Encoding` other than identity (named here).
    #[error("Content-Encoding `{0}` is not supported: send the body unencoded (identity)")]
    ContentEncoding(String),
    #[error("the request body exceeds {0} bytes")]
    TooLarge(usize),
    #[error("the server is busy; retry later")]
    Busy,
    #[error("the request body did not arrive within {0} s")]
    BodyTimedOut(u64),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Publish(#[from] crate::instance::registry::PublishError),
    /// Logged by the caller; the client only learns that it failed.
    #[error("{0}")]
    Internal(String),
}

/// The HTTP status and CREST-style body (`code`, `reason`, `message`) of a JSON failure.
pub fn json_error(f: &JsonFailure) -> (u16, serde_json::Value) {
    let (code, reason, message) = match f {
        JsonFailure::Unauthorized(m) => (401, "Unauthorized", (*m).to_owned()),
        JsonFailure::Forbidden => (403, "Forbidden", "Access Denied".to_owned()),
        JsonFailure::NotFound => (404, "Not Found", "Not Found".to_owned()),
        JsonFailure::MethodNotAllowed => {
            (405, "Method Not Allowed", "Method Not Allowed".to_owned())
        }
        JsonFailure::BadRequest(m) => (400, "Bad Request", m.clone()),
        JsonFailure::Conflict(m) => (409, "Conflict", m.clone()),
        JsonFailure::PreconditionFailed(m) => (412, "Precondition Failed", m.clone()),
        JsonFailure::UnsupportedMediaType | JsonFailure::ContentEncoding(_) => {
            (415, "Unsupported Media Type", f.to_string())
        }
        JsonFailure::TooLarge(_) => (413, "Request Entity Too Large", f.to_string()),
        JsonFailure::Busy => (503, "Service Unavailable", f.to_string()),
        JsonFailure::BodyTimedOut(_) => (408, "Request Timeout", f.to_string()),
        JsonFailure::Engine(e) => match e {
            EngineError::AuthFailed(_)
            | EngineError::UnknownIssuer(_)
            | EngineError::BadSignature(_)
            | EngineError::Replay(_)
            | EngineError::Locked => (401, "Unauthorized", e.to_string()),
            EngineError::Internal(_) => (
                500,
                "Internal Server Error",
                "Internal Server Error".to_owned(),
            ),
            EngineError::Busy(m) => (503, "Service Unavailable", m.clone()),
            EngineError::Unavailable(_) => (503, "Service Unavailable", e.to_string()),
            // An upstream (the plug-in) failed; the message says which and how, not why in
            // detail (that is logged).
            EngineError::Plugin(m) => (502, "Bad Gateway", m.clone()),
            EngineError::Forbidden(m) => (403, "Forbidden", m.clone()),
            EngineError::InvalidToken(m) | EngineError::CannotRenew(m) => {
                (400, "Bad Request", m.clone())
            }
            // As AM answers a validate or cancel the instance cannot serve without the CTS.
            EngineError::NotPersisting(m) => (409, "Conflict", m.clone()),
            EngineError::Invalid(m)
            | EngineError::Unsupported(m)
            | EngineError::Expired(m)
            | EngineError::NotYetValid(m)
            | EngineError::Lifetime(m)
            | EngineError::Audience(m) => (400, "Bad Request", m.clone()),
        },
        JsonFailure::Publish(e) => {
            use crate::instance::registry::PublishError as P;
            match e {
                P::Invalid(_) => (400, "Bad Request", e.to_string()),
                P::Duplicate(_) => (409, "Conflict", e.to_string()),
                P::NotFound { .. } => (404, "Not Found", e.to_string()),
                P::Stale(_) => (412, "Precondition Failed", e.to_string()),
                P::FromFile { .. } => (409, "Conflict", e.to_string()),
                P::Store(crate::store::StoreError::Unavailable(_)) => (
                    503,
                    "Service Unavailable",
                    EngineError::Unavailable(String::new()).to_string(),
                ),
                P::Store(_) => (
                    500,
                    "Internal Server Error",
                    "Internal Server Error".to_owned(),
                ),
            }
        }
        JsonFailure::Internal(_) => (
            500,
            "Internal Server Error",
            "Internal Server Error".to_owned(),
        ),
    };
    (
        code,
        serde_json::json!({"code": code, "reason": reason, "message": message}),
    )
}

/// The reply for a JSON failure. Internal details are logged here and never sent.
pub fn json_reply(f: &JsonFailure) -> HttpReply {
    match f {
        JsonFailure::Internal(detail) => tracing::error!(%detail, "request failed"),
        JsonFailure::Engine(EngineError::Internal(detail)) => {
            tracing::error!(%detail, "request failed")
        }
        JsonFailure::Engine(EngineError::Unavailable(detail)) => {
            tracing::warn!(%detail, "store unavailable")
        }
        JsonFailure::Publish(crate::instance::registry::PublishError::Store(e)) => {
            tracing::error!(error = %e, "publish failed")
        }
        _ => {}
    }
    let (status, body) = json_error(f);
    HttpReply::json(status, &body)
}

/// The reply to a request refused before it was read.
pub fn shed(refused: &Refused, _headers: &HeaderMap) -> HttpReply {
    json_reply(&match refused {
        Refused::Busy => JsonFailure::Busy,
        Refused::TooLarge(max) => JsonFailure::TooLarge(*max),
        Refused::TimedOut(secs) => JsonFailure::BodyTimedOut(*secs),
        Refused::Broken => JsonFailure::BadRequest("broken request body".into()),
        Refused::Failed(detail) => JsonFailure::Internal(detail.clone()),
    })
}

/// A store failure: 503 when the store is unreachable, else internal (logged, never sent).
pub fn store_failure(e: crate::store::StoreError) -> JsonFailure {
    JsonFailure::Engine(EngineError::store(e))
}

/// An internal failure, logged by [`json_reply`], never sent.
pub fn internal(e: impl std::fmt::Display) -> JsonFailure {
    JsonFailure::Internal(e.to_string())
}

/// Splits `realms/root/realms/a/users/x` into (`/a`, [`users`, `x`]).
pub fn realm_and_rest(tail: &str) -> Result<(String, Vec<String>), JsonFailure> {
    let segs: Vec<&str> = tail.split('/').filter(|s| !s.is_empty()).collect();
    let mut i = 0;
    let mut realm = Vec::new();
    if segs.first() == Some(&"realms") {
        if segs.get(1) != Some(&"root") {
            return Err(JsonFailure::NotFound);
        }
        i = 2;
        while segs.get(i) == Some(&"realms") {
            let name = segs.get(i + 1).ok_or(JsonFailure::NotFound)?;
            realm.push(*name);
            i += 2;
        }
    }
    let rest = segs
        .get(i..)
        .unwrap_or_default()
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    Ok((normalize_realm(&realm.join("/")), rest))
}

/// The first value of the query parameter `name`, form-decoded.
pub fn param(query: &str, name: &str) -> Option<String> {
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The `_action` query parameter.
pub fn action(query: &str) -> Option<String> {
    param(query, "_action")
}

/// Whether the request declares a JSON body (`application/json`, any parameters).
pub fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(warp::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
}

/// The 415 reply of a JSON route to a request with an unsupported `Content-Encoding`, with
/// `Accept-Encoding: identity` (RFC 7694).
pub fn refuse_content_encoding(headers: &HeaderMap) -> Option<HttpReply> {
    let coding = crate::http::body::unsupported_content_encoding(headers)?;
    let mut reply = json_reply(&JsonFailure::ContentEncoding(coding));
    reply.headers.push(("accept-encoding", "identity".into()));
    Some(reply)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreachable_store_is_a_json_503_without_its_detail() {
        let down = || crate::store::StoreError::Unavailable("pool wait of 2 s elapsed".into());
        for f in [
            store_failure(down()),
            JsonFailure::Publish(crate::instance::registry::PublishError::Store(down())),
        ] {
            let (status, body) = json_error(&f);
            assert_eq!(status, 503, "{f:?}");
            assert_eq!(body["code"], 503);
            assert!(!body.to_string().contains("pool wait"), "{body}");
        }
        let other = store_failure(crate::store::StoreError::Db("constraint".into()));
        assert_eq!(json_error(&other).0, 500);
    }

    #[test]
    fn query_values_are_form_decoded() {
        let q = "_queryFilter=%2Fsts_id+eq+%27a%20b%27&_action=create&_action=x";
        assert_eq!(
            param(q, "_queryFilter").as_deref(),
            Some("/sts_id eq 'a b'")
        );
        assert_eq!(action(q).as_deref(), Some("create"));
        assert_eq!(param(q, "_pageSize"), None);
    }

    #[test]
    fn realm_paths_follow_am() {
        assert_eq!(
            realm_and_rest("authenticate").unwrap(),
            ("/".into(), vec!["authenticate".into()])
        );
        assert_eq!(realm_and_rest("realms/root/authenticate").unwrap().0, "/");
        assert_eq!(
            realm_and_rest("realms/root/realms/a/realms/b/users/x").unwrap(),
            ("/a/b".into(), vec!["users".into(), "x".into()])
        );
        assert!(realm_and_rest("realms/other/authenticate").is_err());
    }
}
