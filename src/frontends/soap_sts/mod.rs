//! The SOAP STS endpoint (`/sts/{instance}`): envelope in, engine call, envelope out.
//! Synchronous on purpose: it runs on the blocking pool, because password hashing and
//! signing are CPU-bound. Every failure becomes a SOAP fault in `fault`, the only SOAP map.

mod batch;
mod batch_tokens;
mod cancel;
mod credential;
mod dispatch;
mod fault;
mod issue;
mod message_signature;
pub mod mex;
mod renew;
mod validate;
pub mod wsdl;

use crate::engine::{EngineError, ProvenChain};
use crate::http::{Fallback, HttpReply, Outcome, Peer, Request};
use crate::instance::TokenType;
use crate::soap::{self, ReplyAddressing, SoapVersion, read_headers};
use crate::store::Durable;
use crate::wstrust::{self, Operation, TrustVersion};
use crate::xml::ns::WSA_NSS;

use super::Context;
use cancel::cancel;
use dispatch::dispatch;
use fault::fault_reply;
pub use fault::{SoapFailure, shed};
use issue::issue;
use message_signature::message_signer;
use renew::renew;
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
    /// The input and WS-Trust version an AD FS mixed path requires; `None` on `/sts/...`.
    requires: Option<mex::Mixed>,
}

struct Ok200 {
    version: SoapVersion,
    /// The request's WS-Trust version: the response body and faults follow it.
    trust: TrustVersion,
    /// The reply's action (the operation's, in the request's version).
    action: String,
    wsa_ns: &'static str,
    relates_to: Option<String>,
    body: String,
    durable: Option<Durable>,
}

/// Handles one POST to `/sts/{subpath}` (`/sts/{subpath}/mex`: a metadata request).
pub fn handle(state: &Context, req: &Request) -> Outcome {
    let subpath = req.tail.trim_matches('/');
    if let Some(inst) = subpath.strip_suffix("/mex")
        && state.soap_instance(subpath).is_none()
    {
        return mex::post_instance(state, inst, req);
    }
    handle_at(state, subpath, None, req)
}

/// Handles one POST for the instance at `subpath`; an AD FS mixed path names the input and
/// WS-Trust version it `requires`.
pub fn handle_at(
    state: &Context,
    subpath: &str,
    requires: Option<mex::Mixed>,
    req: &Request,
) -> Outcome {
    let header = |name: &str| req.headers.get(name).and_then(|v| v.to_str().ok());
    let http = SoapHttp {
        content_type: header(warp::http::header::CONTENT_TYPE.as_str()),
        soap_action: header("soapaction"),
        session: state.session_token(&req.headers),
        headers: &req.headers,
        peer: &req.peer,
        signed_by: None,
        requires,
    };
    respond(state, subpath, &http, &req.body)
}

/// How a fault is sent: the SOAP version to answer in and, once the envelope was read, the
/// request's WS-Addressing (namespace and MessageID) that the fault relates to.
#[derive(Clone)]
struct FaultTo {
    version: SoapVersion,
    /// The WS-Trust namespace of the fault codes: the request body's, once it was read.
    trust: TrustVersion,
    addressing: Option<(&'static str, Option<String>)>,
}

/// A failure, with how its fault is sent.
struct Fault {
    failure: SoapFailure,
    to: FaultTo,
}

impl FaultTo {
    fn fault(&self, failure: impl Into<SoapFailure>) -> Fault {
        Fault {
            failure: failure.into(),
            to: self.clone(),
        }
    }
}

/// Stage 1, the Content-Type: the SOAP version it announces and the body's charset.
struct ContentType {
    version: SoapVersion,
    charset: Option<String>,
}

/// Stage 2, the envelope: read from the body as UTF-8 (the bytes everything below reads,
/// signatures too), in the version the Content-Type announced.
struct Read<'a> {
    xml: std::borrow::Cow<'a, [u8]>,
    env: soap::Envelope,
    /// From here on, faults carry wsa:Action and RelatesTo, header faults included.
    to: FaultTo,
}

fn respond(state: &Context, subpath: &str, http: &SoapHttp, body: &[u8]) -> Outcome {
    match answer(state, subpath, http, body) {
        Ok(ok) => {
            let addr = ReplyAddressing {
                wsa_ns: ok.wsa_ns,
                action: &ok.action,
                relates_to: ok.relates_to.as_deref(),
            };
            let reply = HttpReply {
                status: 200,
                content_type: ok.version.content_type(),
                body: soap::write_envelope(ok.version, Some(&addr), &ok.body),
                set_cookie: None,
                headers: Vec::new(),
            };
            let (version, trust) = (ok.version, ok.trust);
            let pending = ok.durable.map(|d| {
                let subpath = subpath.to_owned();
                let lost: Fallback = Box::new(move |e| {
                    let lost = SoapFailure::Engine(match EngineError::store(e) {
                        EngineError::Unavailable(m) => EngineError::Unavailable(m),
                        _ => EngineError::Internal("storing the issued token failed".into()),
                    });
                    fault_reply(version, trust, &subpath, &lost, None)
                });
                (d, lost)
            });
            Outcome { reply, pending }
        }
        Err(Fault { failure, to }) => fault_reply(
            to.version,
            to.trust,
            subpath,
            &failure,
            to.addressing.as_ref(),
        )
        .into(),
    }
}

/// The stages in order: Content-Type, envelope, then headers, RST and operation.
fn answer(state: &Context, subpath: &str, http: &SoapHttp, body: &[u8]) -> Result<Ok200, Fault> {
    // Until the envelope is read, answer in the version the Content-Type announced.
    let announced = FaultTo {
        version: http
            .content_type
            .and_then(soap::version_from_content_type)
            .unwrap_or(SoapVersion::V11),
        trust: TrustVersion::V13,
        addressing: None,
    };
    let ct = content_type(http).map_err(|f| announced.fault(f))?;
    let instance = state
        .soap_instance(subpath)
        .ok_or_else(|| announced.fault(SoapFailure::UnknownInstance))?;
    crate::metrics::note_instance(subpath);
    let read = envelope(state, &ct, body)?;
    operate(state, &instance, http, &read).map_err(|f| read.to.fault(f))
}

fn content_type(http: &SoapHttp) -> Result<ContentType, SoapFailure> {
    // Compressed bodies are refused, never decompressed (see http::body).
    if let Some(coding) = crate::http::body::unsupported_content_encoding(http.headers) {
        return Err(SoapFailure::ContentEncoding(coding));
    }
    let ct = http.content_type.ok_or(SoapFailure::ContentType)?;
    Ok(ContentType {
        version: soap::version_from_content_type(ct).ok_or(SoapFailure::ContentType)?,
        charset: soap::content_type_param(ct, "charset"),
    })
}

fn envelope<'a>(state: &Context, ct: &ContentType, body: &'a [u8]) -> Result<Read<'a>, Fault> {
    let announced = FaultTo {
        version: ct.version,
        trust: TrustVersion::V13,
        addressing: None,
    };
    // UTF-16 becomes UTF-8 here.
    let xml = crate::xml::to_utf8(body, ct.charset.as_deref(), state.max_body_bytes)
        .map_err(|e| announced.fault(soap::SoapError::from(e)))?;
    let env = soap::parse_envelope(&xml, state.limits).map_err(|e| announced.fault(e))?;
    let addressing = Some(soap::reply_addressing_of(&env));
    // Faults from here on speak the body's WS-Trust version (1.3 when it is none).
    let trust = env
        .body
        .ns
        .as_deref()
        .and_then(TrustVersion::of_ns)
        .unwrap_or_default();
    if env.version != ct.version {
        // Answered in the version the Content-Type announced.
        let to = FaultTo {
            addressing,
            trust,
            ..announced
        };
        return Err(to.fault(soap::SoapError::VersionMismatch));
    }
    let to = FaultTo {
        version: env.version,
        trust,
        addressing,
    };
    Ok(Read { xml, env, to })
}

/// Headers, RST, operation.
fn operate(
    state: &Context,
    instance: &crate::instance::ResolvedInstance,
    http: &SoapHttp,
    read: &Read,
) -> Result<Ok200, SoapFailure> {
    let (xml, env) = (&*read.xml, &read.env);
    let mut headers = read_headers(env)?;
    headers.read_spans(xml);
    let signer = message_signer(state, instance, env, &headers, xml)?;
    if let Some(m) = http.requires {
        m.check_input(headers.username_token.is_some(), signer.is_some())?;
    }
    let http = &SoapHttp {
        session: http.session.clone(),
        signed_by: signer.clone().filter(|_| instance.accepts(TokenType::X509)),
        ..*http
    };
    let wsa_ns = headers.addressing.ns.unwrap_or(WSA_NSS[0]);
    if wstrust::batch::is_rstc(&env.body) {
        crate::metrics::note_operation("batch");
        let done = batch::batch(state, instance, http, &headers, &env.body, xml, signer)?;
        return Ok(Ok200 {
            version: env.version,
            trust: done.version,
            action: done.action,
            wsa_ns,
            relates_to: headers.addressing.message_id,
            body: done.body,
            durable: None,
        });
    }
    let rst = wstrust::parse_rst(&env.body, xml)?;
    if let Some(m) = http.requires {
        m.check_trust(rst.version)?;
    }
    let op = dispatch(&headers, http, &rst)?;
    crate::metrics::note_operation(op.metric_name());
    let (body, durable) = match op {
        Operation::Issue => issue(state, instance, http, &headers, &rst, xml, signer)?,
        Operation::Validate => validate(state, instance, http, &headers, &rst)?,
        Operation::Cancel => (cancel(state, instance, http, &headers, &rst)?, None),
        Operation::Renew => renew(state, instance, http, &headers, &rst)?,
    };
    Ok(Ok200 {
        version: env.version,
        trust: rst.version,
        action: op.response_action(rst.version),
        wsa_ns,
        relates_to: headers.addressing.message_id,
        body,
        durable,
    })
}
