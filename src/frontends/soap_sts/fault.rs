//! SOAP faults: the one place where failures of every layer become SOAP faults (status,
//! fault code, reason), requests refused before they were read included.

use crate::engine::EngineError;
use crate::http::{HttpReply, Refused};
use crate::soap::{self, FaultCode, ReplyAddressing, SoapError, SoapVersion, TrustNs};
use crate::wstrust::{RstError, TrustVersion};
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
    #[error("the request body exceeds {0} bytes")]
    TooLarge(usize),
    #[error("no STS instance is published at this address")]
    UnknownInstance,
    #[error("the server is busy; retry later")]
    Busy,
    #[error("the request body did not arrive within {0} s")]
    BodyTimedOut(u64),
    /// The request body broke off before its end.
    #[error("broken request body")]
    BodyBroken,
    /// The handler failed (a bug, logged); the client learns only that the request failed.
    #[error("The specified request failed")]
    Internal(String),
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
        SoapFailure::Engine(EngineError::Internal(_)) | SoapFailure::Internal(_) => {
            "The specified request failed".to_owned()
        }
        other => other.to_string(),
    };
    let (status, code) = match f {
        SoapFailure::Engine(EngineError::Busy(_) | EngineError::Unavailable(_))
        | SoapFailure::Busy => (503, C::RequestFailed),
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
        SoapFailure::TooLarge(_) => (413, C::InvalidRequest),
        SoapFailure::BodyTimedOut(_) => (408, C::InvalidRequest),
        SoapFailure::BodyBroken => (400, C::InvalidRequest),
        SoapFailure::Internal(_) => (500, C::RequestFailed),
        SoapFailure::UnknownInstance => (404, C::InvalidRequest),
        SoapFailure::ContentType | SoapFailure::ContentEncoding(_) => (415, C::InvalidRequest),
        SoapFailure::Engine(e) => (
            500,
            match e {
                EngineError::Invalid(_) => C::InvalidRequest,
                EngineError::AuthFailed(_)
                | EngineError::UnknownIssuer(_)
                | EngineError::BadSignature(_)
                | EngineError::Replay(_)
                | EngineError::Locked => C::FailedAuthentication,
                EngineError::Unsupported(_) => C::BadRequest,
                EngineError::Expired(_) | EngineError::NotYetValid(_) => C::ExpiredData,
                EngineError::Lifetime(_) => C::InvalidTimeRange,
                EngineError::Audience(_) => C::InvalidScope,
                EngineError::Internal(_) => C::RequestFailed,
                EngineError::Busy(_) | EngineError::Unavailable(_) => C::RequestFailed,
                EngineError::NotPersisting(_) => C::BadRequest,
                // The STS could not complete the request; what failed is in the reason.
                EngineError::Plugin(_) => C::RequestFailed,
                // WS-Trust has no authorization fault: the caller's credential does not
                // entitle it to this request.
                EngineError::Forbidden(_) => C::FailedAuthentication,
                EngineError::InvalidToken(_) => C::InvalidSecurityToken,
                EngineError::CannotRenew(_) => C::UnableToRenew,
            },
        ),
    };
    (status, code, reason)
}

pub(super) fn fault_reply(
    version: SoapVersion,
    trust: TrustVersion,
    subpath: &str,
    failure: &SoapFailure,
    reply_addr: Option<&(&'static str, Option<String>)>,
) -> HttpReply {
    let (status, code, reason) = soap_fault(failure);
    crate::metrics::note_outcome(code.name());
    if let SoapFailure::Engine(EngineError::Internal(detail)) | SoapFailure::Internal(detail) =
        failure
    {
        tracing::error!(instance = subpath, %detail, "request failed");
    } else if let SoapFailure::Engine(EngineError::Unavailable(detail)) = failure {
        tracing::warn!(instance = subpath, %detail, "store unavailable");
    } else {
        // Debug formatting escapes control characters: client text cannot forge log lines.
        tracing::info!(instance = subpath, ?code, ?reason, "fault");
    }
    let addr = reply_addr.map(|(ns, rel)| ReplyAddressing {
        wsa_ns: ns,
        action: match failure {
            SoapFailure::Soap(soap::SoapError::OnlyAnonymous(_)) => {
                soap::addressing_fault_action(ns)
            }
            _ => soap::fault_action(ns),
        },
        relates_to: rel.as_deref(),
    });
    let not_understood = match failure {
        SoapFailure::Soap(soap::SoapError::MustUnderstand(ns, local)) => {
            Some((ns.as_str(), local.as_str()))
        }
        _ => None,
    };
    let headers = match failure {
        // RFC 7694: which content codings would have been accepted.
        SoapFailure::ContentEncoding(_) => vec![("accept-encoding", "identity".into())],
        _ => Vec::new(),
    };
    HttpReply {
        status,
        content_type: version.content_type(),
        body: soap::write_trust_fault(
            version,
            TrustNs {
                prefix: trust.prefix(),
                uri: trust.ns(),
            },
            addr.as_ref(),
            code,
            &reason,
            not_understood,
        ),
        set_cookie: None,
        headers,
    }
}

/// The fault for a request refused before its envelope was read, in the version its
/// Content-Type names (SOAP 1.1 when it names none).
pub fn shed(refused: &Refused, headers: &warp::http::HeaderMap) -> HttpReply {
    let version = headers
        .get(warp::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(soap::version_from_content_type)
        .unwrap_or(SoapVersion::V11);
    let failure = match refused {
        Refused::Busy => SoapFailure::Busy,
        Refused::TooLarge(max) => SoapFailure::TooLarge(*max),
        Refused::TimedOut(secs) => SoapFailure::BodyTimedOut(*secs),
        Refused::Broken => SoapFailure::BodyBroken,
        Refused::Failed(detail) => SoapFailure::Internal(detail.clone()),
    };
    if let SoapFailure::Internal(detail) = &failure {
        tracing::error!(%detail, "request failed");
    }
    let (status, code, reason) = soap_fault(&failure);
    HttpReply {
        status,
        content_type: version.content_type(),
        body: soap::write_fault(version, None, code, &reason),
        set_cookie: None,
        headers: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use warp::http::HeaderMap;

    #[test]
    fn refused_requests_get_faults_in_their_soap_version() {
        let mut soap12 = HeaderMap::new();
        soap12.insert(
            warp::http::header::CONTENT_TYPE,
            "application/soap+xml; charset=utf-8".parse().unwrap(),
        );
        let broken = shed(&Refused::Broken, &soap12);
        assert_eq!(broken.status, 400);
        assert_eq!(broken.content_type, SoapVersion::V12.content_type());
        assert!(broken.body.contains("Fault>"), "{}", broken.body);
        let failed = shed(
            &Refused::Failed("a secret detail".into()),
            &HeaderMap::new(),
        );
        assert_eq!(failed.status, 500);
        assert_eq!(failed.content_type, SoapVersion::V11.content_type());
        assert!(failed.body.contains("The specified request failed"));
        assert!(!failed.body.contains("a secret detail"));
        assert_eq!(shed(&Refused::Busy, &HeaderMap::new()).status, 503);
    }

    #[test]
    fn an_unreachable_store_is_a_503_request_failed_without_its_detail() {
        let down = crate::store::StoreError::Unavailable("connect 10.0.0.9:5432 refused".into());
        let f = SoapFailure::Engine(EngineError::store(down));
        let (status, code, reason) = soap_fault(&f);
        assert_eq!((status, code), (503, FaultCode::RequestFailed));
        assert!(!reason.contains("10.0.0.9"), "{reason}");
    }
}
