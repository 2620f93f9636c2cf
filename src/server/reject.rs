//! The one place where errors of every layer become wire errors: SOAP faults, and the
//! CREST-style JSON errors of the REST STS, publish and admin endpoints.

use crate::engine::EngineError;
use crate::soap::{FaultCode, SoapError};
use crate::wstrust::RstError;
use crate::xml::XmlError;

/// Everything that can fail while serving a SOAP request.
#[derive(Debug, thiserror::Error)]
pub enum SoapFailure {
    #[error(transparent)]
    Soap(#[from] SoapError),
    #[error(transparent)]
    Rst(#[from] RstError),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("{0}")]
    Dispatch(String),
    #[error("{0}")]
    Unsupported(String),
    #[error("the request body exceeds {0} bytes")]
    TooLarge(usize),
    #[error("no STS instance is published at this address")]
    UnknownInstance,
    #[error("the server is busy; retry later")]
    Busy,
    #[error("the request body did not arrive within {0} s")]
    BodyTimedOut(u64),
    #[error("Content-Type must be text/xml (SOAP 1.1) or application/soap+xml (SOAP 1.2)")]
    ContentType,
    /// A `Content-Encoding` other than identity (named here).
    #[error("Content-Encoding `{0}` is not supported: send the body unencoded (identity)")]
    ContentEncoding(String),
}

/// The HTTP status, fault code and reason for a failure.
pub fn soap_fault(f: &SoapFailure) -> (u16, FaultCode, String) {
    use FaultCode as C;
    // Internal failures are logged by the caller; the client only learns that it failed.
    let reason = match f {
        SoapFailure::Engine(EngineError::RequestFailed(_)) => {
            "The specified request failed".to_owned()
        }
        other => other.to_string(),
    };
    let (status, code) = match f {
        SoapFailure::Engine(EngineError::Busy(_)) | SoapFailure::Busy => (503, C::RequestFailed),
        SoapFailure::Soap(SoapError::VersionMismatch) => (500, C::VersionMismatch),
        SoapFailure::Soap(SoapError::MustUnderstand(..)) => (500, C::MustUnderstand),
        SoapFailure::Soap(SoapError::OnlyAnonymous(_)) => (500, C::OnlyAnonymousAddressSupported),
        SoapFailure::Soap(SoapError::Xml(XmlError::TooLarge(_))) => (413, C::InvalidRequest),
        SoapFailure::Soap(SoapError::Xml(XmlError::TooDeep(_) | XmlError::TooManyElements(_))) => {
            (500, C::InvalidRequest)
        }
        SoapFailure::Soap(_) | SoapFailure::Rst(_) | SoapFailure::Dispatch(_) => {
            (500, C::InvalidRequest)
        }
        SoapFailure::Unsupported(_) => (500, C::BadRequest),
        SoapFailure::TooLarge(_) => (413, C::InvalidRequest),
        SoapFailure::BodyTimedOut(_) => (408, C::InvalidRequest),
        SoapFailure::UnknownInstance => (404, C::InvalidRequest),
        SoapFailure::ContentType | SoapFailure::ContentEncoding(_) => (415, C::InvalidRequest),
        SoapFailure::Engine(e) => (
            500,
            match e {
                EngineError::InvalidRequest(_) => C::InvalidRequest,
                EngineError::FailedAuthentication(_) => C::FailedAuthentication,
                EngineError::BadRequest(_) => C::BadRequest,
                EngineError::ExpiredData(_) => C::ExpiredData,
                EngineError::InvalidTimeRange(_) => C::InvalidTimeRange,
                EngineError::InvalidScope(_) => C::InvalidScope,
                EngineError::RequestFailed(_) => C::RequestFailed,
                EngineError::Busy(_) => C::RequestFailed,
                EngineError::NotPersisting(_) => C::BadRequest,
                // The STS could not complete the request; what failed is in the reason.
                EngineError::PluginFailed(_) => C::RequestFailed,
                // WS-Trust has no authorization fault: the caller's credential does not
                // entitle it to this request.
                EngineError::Forbidden(_) => C::FailedAuthentication,
            },
        ),
    };
    (status, code, reason)
}

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
    Publish(#[from] crate::publish::PublishError),
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
            EngineError::FailedAuthentication(m) => (401, "Unauthorized", m.clone()),
            EngineError::RequestFailed(_) => (
                500,
                "Internal Server Error",
                "Internal Server Error".to_owned(),
            ),
            EngineError::Busy(m) => (503, "Service Unavailable", m.clone()),
            // An upstream (the plug-in) failed; the message says which and how, not why in
            // detail (that is logged).
            EngineError::PluginFailed(m) => (502, "Bad Gateway", m.clone()),
            EngineError::Forbidden(m) => (403, "Forbidden", m.clone()),
            // As AM answers a validate or cancel the instance cannot serve without the CTS.
            EngineError::NotPersisting(m) => (409, "Conflict", m.clone()),
            EngineError::InvalidRequest(m)
            | EngineError::BadRequest(m)
            | EngineError::ExpiredData(m)
            | EngineError::InvalidTimeRange(m)
            | EngineError::InvalidScope(m) => (400, "Bad Request", m.clone()),
        },
        JsonFailure::Publish(e) => {
            use crate::publish::PublishError as P;
            match e {
                P::Invalid(_) => (400, "Bad Request", e.to_string()),
                P::Duplicate(_) => (409, "Conflict", e.to_string()),
                P::NotFound { .. } => (404, "Not Found", e.to_string()),
                P::Stale(_) => (412, "Precondition Failed", e.to_string()),
                P::FromFile { .. } => (409, "Conflict", e.to_string()),
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
pub fn json_reply(f: &JsonFailure) -> super::HttpReply {
    match f {
        JsonFailure::Internal(detail) => tracing::error!(%detail, "request failed"),
        JsonFailure::Engine(EngineError::RequestFailed(detail)) => {
            tracing::error!(%detail, "request failed")
        }
        JsonFailure::Publish(crate::publish::PublishError::Store(e)) => {
            tracing::error!(error = %e, "publish failed")
        }
        _ => {}
    }
    let (status, body) = json_error(f);
    super::HttpReply::json(status, &body)
}

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
    /// 500 `server_error`; the detail is logged, not sent.
    #[error("{0}")]
    Server(String),
}

impl From<crate::oauth::AuthFailure> for OAuthFailure {
    fn from(f: crate::oauth::AuthFailure) -> Self {
        match f {
            crate::oauth::AuthFailure::InvalidRequest(m) => OAuthFailure::InvalidRequest(m),
            crate::oauth::AuthFailure::InvalidClient(m) => OAuthFailure::InvalidClient(m),
            crate::oauth::AuthFailure::Store(e) => OAuthFailure::Server(e.to_string()),
        }
    }
}

impl From<EngineError> for OAuthFailure {
    fn from(e: EngineError) -> Self {
        OAuthFailure::Server(e.to_string())
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
pub fn oauth_reply(f: &OAuthFailure) -> super::HttpReply {
    let (status, error, description) = match f {
        OAuthFailure::InvalidRequest(m) => (400, "invalid_request", m.clone()),
        OAuthFailure::InvalidClient(m) => (401, "invalid_client", m.clone()),
        OAuthFailure::Server(detail) => {
            tracing::error!(%detail, "oauth request failed");
            (500, "server_error", "the request failed".to_owned())
        }
    };
    let mut reply = super::HttpReply::json(
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
