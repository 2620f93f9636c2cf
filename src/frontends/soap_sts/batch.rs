//! Batches: a `wst:RequestSecurityTokenCollection` (WS-Trust 1.3 4.2) answered by one RSTRC
//! holding an RSTR per RST, in order. Every RST carries the same batch RequestType
//! (`.../BatchIssue`, `BatchValidate`, `BatchCancel` or `BatchRenew`), as the spec requires;
//! the message's action, if any, must be that URI (an empty one, as a client of the WSDL's
//! `RequestCollection` operation sends, or that operation's WS-Addressing default action,
//! leaves the choice to the RequestType).
//!
//! Failure semantics are the spec's: if any RST fails, the whole batch gets one SOAP fault
//! and no RSTR, and no partial operation remains. A Validate of a token that is not
//! valid is not a failure: its RSTR says so (`Status/Code` invalid), as a single Validate's
//! does. Issue: tokens already issued for earlier RSTs of a failed batch are cancelled (their
//! stored records removed) before the fault is sent; batch-issued tokens carry no interim
//! session, so nothing else is left behind. Cancel and Renew: every RST is checked before
//! anything changes, then the changes are made, and undone if one of them fails after all
//! (see `engine::batch`).
//!
//! The Security header's credential is authenticated once for the whole batch (so a
//! UsernameToken nonce or a signature value is checked against the replay caches once), and
//! every RST is served to that principal; OnBehalfOf, ActAs, custom token types and Validate
//! to a new token are not batched. A batch holds 2 to `max_batch_requests` RSTs (default 16);
//! each is audited as its single request is, and the writes are awaited before the reply.

use crate::engine::{Authenticated, Canceller, EngineError, Principal, ProvenChain, TokenTarget};
use crate::instance::ResolvedInstance;
use crate::soap::{self, RequestHeaders};
use crate::wstrust::batch::{parse_rstc, write_batch_response};
use crate::wstrust::{Operation, Rst, TrustVersion};
use crate::xml::Element;

use super::batch_tokens::{cancel_all, renew_all, validate_all};
use super::credential::authenticated;
use super::issue::{IssueDone, issue_as};
use super::{Context, SoapFailure, SoapHttp};

/// A batch answered: its version, the reply action and the RSTRC.
pub(super) struct BatchDone {
    pub version: TrustVersion,
    pub action: String,
    pub body: String,
}

pub(super) fn batch(
    state: &Context,
    instance: &ResolvedInstance,
    http: &SoapHttp,
    headers: &RequestHeaders,
    el: &Element,
    xml: &[u8],
    signer: Option<ProvenChain>,
) -> Result<BatchDone, SoapFailure> {
    let rstc = parse_rstc(el, xml, state.max_batch)?;
    let v = rstc.version;
    if let Some(m) = http.requires {
        m.check_trust(v)?;
    }
    let rsts = &rstc.requests;
    let (op, by_wsdl) = batch_operation(headers, http, rsts)?;
    let bodies = match op {
        Operation::Issue => issue_all(state, instance, http, headers, rsts, xml, signer)?,
        Operation::Validate => validate_all(state, instance, http, headers, rsts)?,
        Operation::Cancel => cancel_all(state, instance, http, headers, rsts)?,
        Operation::Renew => renew_all(state, instance, http, headers, rsts)?,
    };
    let body = write_batch_response(v, &bodies)
        .ok_or_else(|| SoapFailure::Internal("a response was not an RSTR or an RSTRC".into()))?;
    // A client of the WSDL's operation checks the reply against that operation's default
    // output action; one that named the batch RequestType gets WS-Trust's.
    let action = if by_wsdl {
        REQUEST_COLLECTION_DEFAULT_REPLY.to_owned()
    } else {
        op.batch_response_action(v)
    };
    Ok(BatchDone {
        version: v,
        action,
        body,
    })
}

/// Batch Issue: each RST issued to the batch's principal; any failure withdraws the tokens
/// already issued.
fn issue_all(
    state: &Context,
    instance: &ResolvedInstance,
    http: &SoapHttp,
    headers: &RequestHeaders,
    rsts: &[Rst],
    xml: &[u8],
    signer: Option<ProvenChain>,
) -> Result<Vec<String>, SoapFailure> {
    for (i, rst) in rsts.iter().enumerate() {
        let custom = rst
            .token_type
            .as_deref()
            .and_then(|t| instance.custom.by_uri(t));
        let refused = if rst.on_behalf_of.is_some() || rst.act_as.is_some() {
            Some("OnBehalfOf and ActAs are not batched".to_owned())
        } else {
            custom.map(|name| format!("`{name}` tokens are not issued in a batch"))
        };
        if let Some(why) = refused {
            return Err(at(i, EngineError::Unsupported(why)).into());
        }
    }
    let principal = authenticated(state, instance, http, headers)?;
    let mut done: Vec<IssueDone> = Vec::with_capacity(rsts.len());
    let mut failure = None;
    for rst in rsts {
        match issue_as(
            state,
            instance,
            http,
            headers,
            rst,
            xml,
            signer.clone(),
            Some(&principal),
        ) {
            Ok(d) => done.push(d),
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    // Every write settles before the reply, so that a failed one fails the batch.
    let mut bodies = Vec::with_capacity(done.len());
    let mut ids = Vec::with_capacity(done.len());
    for d in done {
        if let Some(w) = d.durable
            && let Err(e) = w.wait()
        {
            // Never stored (its token.issued retracted as the write failed): nothing to
            // withdraw.
            failure.get_or_insert(EngineError::store(e).into());
            continue;
        }
        bodies.push(d.body);
        ids.push(d.token_id);
    }
    if let Some(f) = failure {
        roll_back(state, instance, &principal, &ids);
        return Err(f);
    }
    tracing::info!(
        instance = %instance.config.subpath(),
        principal = %principal.name(),
        tokens = ids.len(),
        "batch issued"
    );
    Ok(bodies)
}

/// `e`, saying which request of the batch (0-based `i`) it is about.
pub(super) fn at(i: usize, e: EngineError) -> EngineError {
    use EngineError as E;
    let n = |m: String| format!("request {}: {m}", i + 1);
    match e {
        E::Invalid(m) => E::Invalid(n(m)),
        E::Unsupported(m) => E::Unsupported(n(m)),
        E::InvalidToken(m) => E::InvalidToken(n(m)),
        E::CannotRenew(m) => E::CannotRenew(n(m)),
        E::Forbidden(m) => E::Forbidden(n(m)),
        E::NotPersisting(m) => E::NotPersisting(n(m)),
        E::Expired(m) => E::Expired(n(m)),
        E::NotYetValid(m) => E::NotYetValid(n(m)),
        E::Lifetime(m) => E::Lifetime(n(m)),
        E::Audience(m) => E::Audience(n(m)),
        other => other,
    }
}

/// The WS-Addressing default action (WS-Addressing 1.0 Metadata 4.4.4) of the instance
/// WSDL's `RequestCollection` operation, which names no action of its own: one operation
/// serves the four batch RequestTypes, so the RequestType decides.
const REQUEST_COLLECTION_DEFAULT_ACTION: &str =
    "http://docs.oasis-open.org/ws-sx/ws-trust/200512/STS/RequestCollectionRequest";

/// That operation's default output action: the reply's action when the request came with
/// the default input action (WCF compares a reply's action with the operation's).
const REQUEST_COLLECTION_DEFAULT_REPLY: &str =
    "http://docs.oasis-open.org/ws-sx/ws-trust/200512/STS/RequestCollectionResponse";

/// The batch operation: every RST's RequestType is the same batch URI, and each action the
/// message declares (wsa:Action, SOAPAction, Content-Type `action`) is that URI too, unless
/// it is empty or the WSDL operation's default action; and whether one was that default.
fn batch_operation(
    headers: &RequestHeaders,
    http: &SoapHttp,
    rsts: &[Rst],
) -> Result<(Operation, bool), SoapFailure> {
    let mut op = None;
    for (i, rst) in rsts.iter().enumerate() {
        let this = match (rst.batch, rst.request_type) {
            (true, Some(o)) => o,
            _ => {
                return Err(SoapFailure::Dispatch(format!(
                    "request {} of the collection needs a batch wst:RequestType (.../BatchIssue, BatchValidate, BatchCancel or BatchRenew)",
                    i + 1
                )));
            }
        };
        if let Some(first) = op.filter(|o| *o != this) {
            return Err(SoapFailure::Dispatch(format!(
                "the requests of a collection share one batch RequestType: request 1 is Batch{first:?}, request {} Batch{this:?}",
                i + 1
            )));
        }
        op = Some(this);
    }
    let op = op.ok_or_else(|| SoapFailure::Dispatch("the collection is empty".into()))?;
    let declared = [
        headers.addressing.action.clone(),
        http.soap_action.map(str::to_owned),
        http.content_type.and_then(soap::content_type_action),
    ];
    // The reply's action answers the message's addressing action when it has one (WS-Addressing
    // gives wsa:Action precedence), else its SOAPAction or Content-Type action.
    let is_default = |a: &str| a.trim().trim_matches('"') == REQUEST_COLLECTION_DEFAULT_ACTION;
    let by_wsdl = match &declared {
        [Some(wsa), ..] => is_default(wsa),
        _ => declared.iter().flatten().any(|a| is_default(a)),
    };
    for a in declared.into_iter().flatten() {
        let a = a.trim().trim_matches('"');
        if a.is_empty() || a == REQUEST_COLLECTION_DEFAULT_ACTION {
            continue;
        }
        if Operation::versioned_batch(a).map(|(o, _)| o) != Some(op) {
            return Err(SoapFailure::Dispatch(format!(
                "action `{a}` is not the collection's batch RequestType (Batch{op:?})"
            )));
        }
    }
    Ok((op, by_wsdl))
}

/// Undoes the issues of a failed batch: each stored token is cancelled. A token that cannot
/// be cancelled (the store is down) is logged: it was never sent, and it expires.
fn roll_back(
    state: &Context,
    instance: &ResolvedInstance,
    principal: &Authenticated<Principal>,
    ids: &[String],
) {
    if !instance.config.persist_issued_tokens() {
        return;
    }
    for id in ids.iter().filter(|id| !id.is_empty()) {
        let target = TokenTarget::Reference(id.clone());
        if let Err(e) = state
            .engine
            .cancel(instance, &target, Canceller::Principal(principal))
        {
            tracing::error!(instance = %instance.config.subpath(), token = %id, error = %e, "a token of a failed batch could not be withdrawn");
        }
    }
}
