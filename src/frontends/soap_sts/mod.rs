//! The SOAP STS endpoint (`/sts/{instance}`): envelope in, engine call, envelope out.
//! Synchronous on purpose: it runs on the blocking pool, because password hashing and
//! signing are CPU-bound. Every failure becomes a SOAP fault in [`fault`], the only SOAP map.

mod cancel;
mod credential;
mod dispatch;
mod fault;
mod issue;
mod message_signature;
mod validate;
pub mod wsdl;

use crate::engine::{EngineError, ProvenChain};
use crate::http::{Fallback, HttpReply, Outcome, Peer, Request};
use crate::instance::TokenType;
use crate::soap::{self, ReplyAddressing, SoapVersion, read_headers};
use crate::store::Durable;
use crate::wstrust::{self, Operation};

use super::Context;
use cancel::cancel;
use dispatch::dispatch;
use fault::fault_reply;
pub use fault::{SoapFailure, shed, soap_fault};
use issue::issue;
use message_signature::message_signer;
use validate::validate;

/// HTTP facts the SOAP layer needs.
#[derive(Debug)]
struct SoapHttp<'a> {
    content_type: Option<&'a str>,
    soap_action: Option<&'a str>,
    /// A session token from the SSO header or cookie.
    session: Option<crate::secret::Secret<String>>,
    /// Every header (a TLS offload engine's client certificate header among them).
    headers: &'a warp::http::HeaderMap,
    peer: &'a Peer,
    /// The certificate whose key signed the message, where the instance takes X509 input.
    signed_by: Option<ProvenChain>,
}

struct Ok200 {
    version: SoapVersion,
    wsa_ns: &'static str,
    relates_to: Option<String>,
    op: Operation,
    body: String,
    durable: Option<Durable>,
}

/// Handles one POST to `/sts/{subpath}`.
pub fn handle(state: &Context, req: &Request) -> Outcome {
    let header = |name: &str| req.headers.get(name).and_then(|v| v.to_str().ok());
    let http = SoapHttp {
        content_type: header(warp::http::header::CONTENT_TYPE.as_str()),
        soap_action: header("soapaction"),
        session: state.session_token(&req.headers),
        headers: &req.headers,
        peer: &req.peer,
        signed_by: None,
    };
    respond(state, req.tail.trim_matches('/'), &http, &req.body)
}

fn respond(state: &Context, subpath: &str, http: &SoapHttp, body: &[u8]) -> Outcome {
    let ct_version = http.content_type.and_then(soap::version_from_content_type);
    // Until the envelope is read, answer in the version the Content-Type announced.
    let mut version = ct_version.unwrap_or(SoapVersion::V11);
    let mut reply_addr: Option<(&'static str, Option<String>)> = None;
    let result = (|| -> Result<Ok200, SoapFailure> {
        // Compressed bodies are refused, never decompressed (see http::body).
        if let Some(coding) = crate::http::body::unsupported_content_encoding(http.headers) {
            return Err(SoapFailure::ContentEncoding(coding));
        }
        let ct_version = ct_version.ok_or(SoapFailure::ContentType)?;
        let instance = state
            .soap_instance(subpath)
            .ok_or(SoapFailure::UnknownInstance)?;
        let instance = instance.as_ref();
        // UTF-16 becomes UTF-8 here; everything below (signatures too) reads these bytes.
        let charset = http
            .content_type
            .and_then(|ct| soap::content_type_param(ct, "charset"));
        let body = crate::xml::to_utf8(body, charset.as_deref(), state.max_body_bytes)
            .map_err(soap::SoapError::from)?;
        let body: &[u8] = &body;
        let env = soap::parse_envelope(body, state.limits)?;
        // From here on, faults carry wsa:Action and RelatesTo, header faults included.
        reply_addr = Some(soap::reply_addressing_of(&env));
        if env.version != ct_version {
            // Answered in the version the Content-Type announced.
            return Err(SoapFailure::Soap(soap::SoapError::VersionMismatch));
        }
        version = env.version;
        let mut headers = read_headers(&env)?;
        headers.read_spans(body);
        let signer = message_signer(state, instance, &env, &headers, body)?;
        let http = &SoapHttp {
            session: http.session.clone(),
            signed_by: signer.clone().filter(|_| instance.accepts(TokenType::X509)),
            ..*http
        };
        let wsa_ns = headers.addressing.ns.unwrap_or(wstrust::WSA_NSS[0]);
        let rst = wstrust::parse_rst(&env.body, body)?;
        let op = dispatch(&headers, http, &rst)?;
        let mut durable = None;
        let body = match op {
            Operation::Issue => {
                let (body, d) = issue(state, instance, http, &headers, &rst, body, signer)?;
                durable = d;
                body
            }
            Operation::Validate => validate(state, instance, http, &headers, &rst)?,
            Operation::Cancel => cancel(state, instance, http, &headers, &rst)?,
            other => {
                return Err(SoapFailure::Unsupported(format!(
                    "{other:?} is not supported by this STS yet"
                )));
            }
        };
        Ok(Ok200 {
            version,
            wsa_ns,
            relates_to: headers.addressing.message_id,
            op,
            body,
            durable,
        })
    })();
    match result {
        Ok(ok) => {
            let action = ok.op.response_action();
            let addr = ReplyAddressing {
                wsa_ns: ok.wsa_ns,
                action: &action,
                relates_to: ok.relates_to.as_deref(),
            };
            let reply = HttpReply {
                status: 200,
                content_type: ok.version.content_type(),
                body: soap::write_envelope(ok.version, Some(&addr), &ok.body),
                set_cookie: None,
                headers: Vec::new(),
            };
            let pending = ok.durable.map(|d| {
                let subpath = subpath.to_owned();
                let lost: Fallback = Box::new(move || {
                    let lost = SoapFailure::Engine(EngineError::Internal(
                        "storing the issued token failed".into(),
                    ));
                    fault_reply(version, &subpath, &lost, None)
                });
                (d, lost)
            });
            Outcome { reply, pending }
        }
        Err(failure) => Outcome {
            reply: fault_reply(version, subpath, &failure, reply_addr.as_ref()),
            pending: None,
        },
    }
}
