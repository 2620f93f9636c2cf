//! WS-Trust Cancel.

use crate::engine::EngineError;
use crate::instance::ResolvedInstance;
use crate::soap::RequestHeaders;
use crate::wstrust;

use super::credential::authenticated;
use super::validate::target;
use super::{Context, SoapFailure, SoapHttp};

/// WS-Trust Cancel, by the token's principal or an administrator of the instance's realm.
pub(super) fn cancel(
    state: &Context,
    instance: &ResolvedInstance,
    http: &SoapHttp,
    headers: &RequestHeaders,
    rst: &wstrust::Rst,
) -> Result<String, SoapFailure> {
    let principal = authenticated(state, instance, http, headers)?;
    let t = rst
        .cancel_target
        .as_ref()
        .ok_or_else(|| EngineError::Invalid("a Cancel needs a wst:CancelTarget".into()))?;
    let by = crate::engine::Canceller::Principal(&principal);
    let id = state.engine.cancel(instance, &target(instance, t)?, by)?;
    tracing::info!(instance = %instance.config.subpath(), by = %principal.name(), token = %id, "cancelled token");
    Ok(wstrust::write_cancel_response(rst.context.as_deref()))
}
