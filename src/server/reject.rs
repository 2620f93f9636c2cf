//! The one place where errors of every layer become wire errors (SOAP faults here; JSON
//! errors join when the REST front end does).

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
    #[error("Content-Type must be text/xml (SOAP 1.1) or application/soap+xml (SOAP 1.2)")]
    ContentType,
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
        SoapFailure::Soap(SoapError::Xml(XmlError::TooDeep(_) | XmlError::TooManyElements(_))) => {
            (500, C::InvalidRequest)
        }
        SoapFailure::Soap(_) | SoapFailure::Rst(_) | SoapFailure::Dispatch(_) => {
            (500, C::InvalidRequest)
        }
        SoapFailure::Unsupported(_) => (500, C::BadRequest),
        SoapFailure::TooLarge(_) => (413, C::InvalidRequest),
        SoapFailure::UnknownInstance => (404, C::InvalidRequest),
        SoapFailure::ContentType => (415, C::InvalidRequest),
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
