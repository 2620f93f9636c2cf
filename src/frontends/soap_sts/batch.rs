//! Batch Issue: a `wst:RequestSecurityTokenCollection` (WS-Trust 1.3 4.3) answered by one
//! RSTRC holding an RSTR per RST, in order.
//!
//! Failure semantics are the spec's: if any RST fails, the whole batch gets one SOAP fault
//! and no RSTR, and no partial operation remains. Tokens already issued for earlier RSTs
//! of a failed batch are cancelled (their stored records removed) before the fault is sent;
//! batch-issued tokens carry no interim session, so nothing else is left behind. Every RST
//! must carry the batch RequestType (`.../BatchIssue`), as the spec requires; the message's
//! action, if any, must be that URI. Only BatchIssue is served: BatchValidate, BatchCancel
//! and BatchRenew are refused (`wst:BadRequest`), since a Cancel cannot be undone.
//!
//! The Security header's credential is authenticated once for the whole batch (so a
//! UsernameToken nonce or a signature value is checked against the replay caches once),
//! and every token is issued to that principal; OnBehalfOf, ActAs and custom token types
//! are not batched. A batch holds 2 to `max_batch_requests` RSTs (default 16); each is a
//! full issue (signature, store), and the writes are awaited before the reply.

use crate::engine::{Authenticated, Canceller, EngineError, Principal, ProvenChain, TokenTarget};
use crate::instance::ResolvedInstance;
use crate::soap::{self, RequestHeaders};
use crate::wstrust::batch::{parse_rstc, write_batch_response};
use crate::wstrust::{Operation, TrustVersion};
use crate::xml::Element;

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
    let op = batch_operation(headers, http, &rstc.requests)?;
    if op != Operation::Issue {
        return Err(EngineError::Unsupported(format!(
            "Batch{op:?} is not served: only BatchIssue, whose failures can be undone"
        ))
        .into());
    }
    for (i, rst) in rstc.requests.iter().enumerate() {
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
            return Err(EngineError::Unsupported(format!("request {}: {why}", i + 1)).into());
        }
    }
    let principal = authenticated(state, instance, http, headers)?;
    let mut done: Vec<IssueDone> = Vec::with_capacity(rstc.requests.len());
    let mut failure = None;
    for rst in &rstc.requests {
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
            failure.get_or_insert(EngineError::store(e).into());
        }
        bodies.push(d.body);
        ids.push(d.token_id);
    }
    if let Some(f) = failure {
        roll_back(state, instance, &principal, &ids);
        return Err(f);
    }
    let body = write_batch_response(v, &bodies).ok_or_else(|| {
        SoapFailure::Internal("an issue response was not an RSTRC".into())
    })?;
    tracing::info!(
        instance = %instance.config.subpath(),
        principal = %principal.name(),
        tokens = ids.len(),
        "batch issued"
    );
    Ok(BatchDone {
        version: v,
        action: op.batch_response_action(v),
        body,
    })
}

/// The batch operation: every RST's RequestType is the same batch URI, and the message's
/// action (wsa:Action, SOAPAction, Content-Type `action`), if any, is that URI too.
fn batch_operation(
    headers: &RequestHeaders,
    http: &SoapHttp,
    rsts: &[crate::wstrust::Rst],
) -> Result<Operation, SoapFailure> {
    let mut op = None;
    for (i, rst) in rsts.iter().enumerate() {
        let this = match (rst.batch, rst.request_type) {
            (true, Some(o)) => o,
            _ => {
                return Err(SoapFailure::Dispatch(format!(
                    "request {} of the collection needs a batch wst:RequestType (.../BatchIssue)",
                    i + 1
                )));
            }
        };
        if op.is_some_and(|o| o != this) {
            return Err(SoapFailure::Dispatch(
                "the requests of a collection share one batch RequestType".into(),
            ));
        }
        op = Some(this);
    }
    let op = op.ok_or_else(|| SoapFailure::Dispatch("the collection is empty".into()))?;
    let declared = [
        headers.addressing.action.clone(),
        http.soap_action
            .map(|a| a.trim().trim_matches('"').to_owned())
            .filter(|a| !a.is_empty()),
        http.content_type.and_then(soap::content_type_action),
    ];
    if let Some(a) = declared.into_iter().flatten().next()
        && Operation::versioned_batch(&a).map(|(o, _)| o) != Some(op)
    {
        return Err(SoapFailure::Dispatch(format!(
            "action `{a}` is not the collection's batch RequestType (Batch{op:?})"
        )));
    }
    Ok(op)
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
