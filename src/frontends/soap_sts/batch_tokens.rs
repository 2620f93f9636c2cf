//! Batches on tokens already issued: BatchValidate, BatchCancel and BatchRenew (see
//! `batch` for what a batch is, and `engine::batch` for all-or-nothing Cancel and Renew).
//! Every RST is read (its target, its TokenType) before the requester is authenticated and
//! before any token is looked at, so a malformed request changes nothing.

use crate::engine::{EngineError, TokenTarget};
use crate::instance::ResolvedInstance;
use crate::soap::RequestHeaders;
use crate::wstrust::{self, Rst};
use crate::xml::ns::TOKEN_TYPE_STATUS;

use super::batch::at;
use super::credential::authenticated;
use super::renew::{asked_type, renew_request, renew_response};
use super::validate::required_target;
use super::{Context, SoapFailure, SoapHttp};

/// The target of each RST (`wst:{op}Target`), in order.
fn targets(
    instance: &ResolvedInstance,
    rsts: &[Rst],
    op: &str,
    of: impl Fn(&Rst) -> Option<&wstrust::Target>,
) -> Result<Vec<TokenTarget>, SoapFailure> {
    rsts.iter()
        .enumerate()
        .map(|(i, rst)| required_target(instance, of(rst), op).map_err(|e| at(i, e).into()))
        .collect()
}

/// BatchValidate: one status per token. A token that is not valid is answered as such in
/// its RSTR; only a request that cannot be served (no target, the store unreachable) fails
/// the batch. Validate to a new token (a TokenType other than `.../RSTR/Status`) issues a
/// token, and is not batched.
pub(super) fn validate_all(
    state: &Context,
    instance: &ResolvedInstance,
    http: &SoapHttp,
    headers: &RequestHeaders,
    rsts: &[Rst],
) -> Result<Vec<String>, SoapFailure> {
    if let Some(i) = rsts.iter().position(|r| {
        r.token_type
            .as_deref()
            .is_some_and(|t| t != TOKEN_TYPE_STATUS)
    }) {
        return Err(at(
            i,
            EngineError::Unsupported(format!(
                "a batch Validate answers a status (TokenType {TOKEN_TYPE_STATUS}, or none); Validate to a new token is not batched: send it alone"
            )),
        )
        .into());
    }
    let targets = targets(instance, rsts, "Validate", |r| r.validate_target.as_ref())?;
    authenticated(state, instance, http, headers)?;
    rsts.iter()
        .zip(&targets)
        .enumerate()
        .map(|(i, (rst, t))| {
            let v = state.engine.validate(instance, t).map_err(|e| at(i, e))?;
            Ok(wstrust::write_validate_response(
                rst.version,
                rst.context.as_deref(),
                v.valid,
                &v.reason,
            ))
        })
        .collect()
}

/// BatchCancel: every token cancelled, or none.
pub(super) fn cancel_all(
    state: &Context,
    instance: &ResolvedInstance,
    http: &SoapHttp,
    headers: &RequestHeaders,
    rsts: &[Rst],
) -> Result<Vec<String>, SoapFailure> {
    let targets = targets(instance, rsts, "Cancel", |r| r.cancel_target.as_ref())?;
    let principal = authenticated(state, instance, http, headers)?;
    let ids = state
        .engine
        .cancel_all(instance, &targets, &principal)
        .map_err(|(i, e)| at(i, e))?;
    tracing::info!(instance = %instance.config.subpath(), by = %principal.name(), tokens = ids.len(), "batch cancelled");
    Ok(rsts
        .iter()
        .map(|rst| wstrust::write_cancel_response(rst.version, rst.context.as_deref()))
        .collect())
}

/// BatchRenew: every token renewed, or none.
pub(super) fn renew_all(
    state: &Context,
    instance: &ResolvedInstance,
    http: &SoapHttp,
    headers: &RequestHeaders,
    rsts: &[Rst],
) -> Result<Vec<String>, SoapFailure> {
    let targets = targets(instance, rsts, "Renew", |r| r.renew_target.as_ref())?;
    let asked = rsts
        .iter()
        .enumerate()
        .map(|(i, rst)| asked_type(rst).map_err(|e| at(i, e)))
        .collect::<Result<Vec<_>, _>>()?;
    let principal = authenticated(state, instance, http, headers)?;
    let requests: Vec<_> = rsts
        .iter()
        .zip(&targets)
        .zip(&asked)
        .map(|((rst, t), a)| renew_request(rst, t, *a))
        .collect();
    let renewed = state
        .engine
        .renew_all(instance, &principal, &requests)
        .map_err(|(i, e)| at(i, e))?;
    tracing::info!(instance = %instance.config.subpath(), by = %principal.name(), tokens = renewed.len(), "batch renewed");
    Ok(rsts
        .iter()
        .zip(&renewed)
        .map(|(rst, r)| renew_response(rst, r))
        .collect())
}
