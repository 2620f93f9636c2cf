//! Which WS-Trust operation a request asks for.

use crate::soap::{self, RequestHeaders};
use crate::wstrust::{self, Operation};

use super::{SoapFailure, SoapHttp};

/// Picks the operation: wsa:Action, then SOAPAction, then the Content-Type `action`, then
/// wst:RequestType; never the body element name (generated clients share one). A RequestType
/// that contradicts the action is refused.
pub(super) fn dispatch(
    headers: &RequestHeaders,
    http: &SoapHttp,
    rst: &wstrust::Rst,
) -> Result<Operation, SoapFailure> {
    let declared = [
        headers.addressing.action.clone(),
        http.soap_action
            .map(|a| a.trim().trim_matches('"').to_owned())
            .filter(|a| !a.is_empty()),
        http.content_type.and_then(soap::content_type_action),
    ];
    let action = declared.into_iter().flatten().next();
    let op = match &action {
        Some(a) => Operation::from_action(a).ok_or_else(|| {
            SoapFailure::Dispatch(format!("action `{a}` is not a WS-Trust request action"))
        })?,
        None => rst.request_type.ok_or_else(|| {
            SoapFailure::Dispatch("the request names no action and no wst:RequestType".into())
        })?,
    };
    if let Some(rt) = rst.request_type
        && rt != op
    {
        return Err(SoapFailure::Dispatch(format!(
            "wst:RequestType {rt:?} contradicts the action {op:?}"
        )));
    }
    Ok(op)
}
