//! WS-Trust Cancel.

use crate::instance::ResolvedInstance;
use crate::soap::RequestHeaders;
use crate::wstrust;

use super::credential::authenticated;
use super::validate::required_target;
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
    let t = required_target(instance, rst.cancel_target.as_ref(), "Cancel")?;
    let by = crate::engine::Canceller::Principal(&principal);
    let id = state.engine.cancel(instance, &t, by)?;
    tracing::info!(instance = %instance.config.subpath(), by = %principal.name(), token = %id, "cancelled token");
    Ok(wstrust::write_cancel_response(
        rst.version,
        rst.context.as_deref(),
    ))
}
