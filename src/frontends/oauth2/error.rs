//! OAuth errors (RFC 6749 5.2): the only map from failures to OAuth error replies.

use crate::engine::EngineError;
use crate::http::HttpReply;

/// Failures of the OAuth endpoints (`/oauth2/.../introspect`), answered in RFC 6749 5.2's
/// shape: `{"error", "error_description"}`.
#[derive(Debug, thiserror::Error)]
pub enum OAuthFailure {
    /// 400 `invalid_request`.
    #[error("{0}")]
    InvalidRequest(String),
    /// 401 `invalid_client`, with `WWW-Authenticate`.
    #[error("{0}")]
    InvalidClient(String),
    /// 503 `temporarily_unavailable`: the store cannot be reached; the detail is logged.
    #[error("{0}")]
    Unavailable(String),
    /// 500 `server_error`; the detail is logged, not sent.
    #[error("{0}")]
    Server(String),
}

impl From<crate::oauth::AuthFailure> for OAuthFailure {
    fn from(f: crate::oauth::AuthFailure) -> Self {
        match f {
            crate::oauth::AuthFailure::InvalidRequest(m) => OAuthFailure::InvalidRequest(m),
            crate::oauth::AuthFailure::InvalidClient(m) => OAuthFailure::InvalidClient(m),
            crate::oauth::AuthFailure::Store(e) => EngineError::store(e).into(),
        }
    }
}

impl From<EngineError> for OAuthFailure {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::Unavailable(m) => OAuthFailure::Unavailable(m),
            e => OAuthFailure::Server(e.to_string()),
        }
    }
}

/// Responses of the OAuth endpoints are never cached (RFC 6749 5.1).
pub fn no_store() -> Vec<(&'static str, String)> {
    vec![
        ("cache-control", "no-store".into()),
        ("pragma", "no-cache".into()),
    ]
}

/// The reply for an OAuth failure.
pub fn oauth_reply(f: &OAuthFailure) -> HttpReply {
    let (status, error, description) = match f {
        OAuthFailure::InvalidRequest(m) => (400, "invalid_request", m.clone()),
        OAuthFailure::InvalidClient(m) => (401, "invalid_client", m.clone()),
        OAuthFailure::Server(detail) => {
            tracing::error!(%detail, "oauth request failed");
            (500, "server_error", "the request failed".to_owned())
        }
        OAuthFailure::Unavailable(detail) => {
            tracing::warn!(%detail, "store unavailable");
            (
                503,
                "temporarily_unavailable",
                "the service is unavailable; retry later".to_owned(),
            )
        }
    };
    let mut reply = HttpReply::json(
        status,
        &serde_json::json!({"error": error, "error_description": description}),
    );
    reply.headers = no_store();
    if status == 401 {
        reply
            .headers
            .push(("www-authenticate", "Basic realm=\"sts\"".into()));
    }
    reply
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreachable_store_is_a_503_temporarily_unavailable() {
        let down = crate::store::StoreError::Unavailable("db down".into());
        let reply = oauth_reply(&crate::oauth::AuthFailure::Store(down).into());
        assert_eq!(reply.status, 503);
        assert!(reply.body.contains("temporarily_unavailable"), "{}", reply.body);
        assert!(!reply.body.contains("db down"));
    }
}
