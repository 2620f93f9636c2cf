//! Which WS-Trust operation a request asks for.

use crate::soap::{self, RequestHeaders};
use crate::wstrust::{self, Operation};

use super::{SoapFailure, SoapHttp};

/// Picks the operation: wsa:Action, then SOAPAction, then the Content-Type `action`, then
/// wst:RequestType; never the body element name (generated clients share one). A RequestType
/// that contradicts the action is refused, and so is an action of another WS-Trust version
/// than the body's (a 2005 action on a 1.3 RST).
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
        http.content_type
            .and_then(soap::content_type_action)
            .filter(|a| !a.is_empty()),
    ];
    if rst.batch {
        return Err(SoapFailure::Dispatch(
            "a batch wst:RequestType belongs in a wst:RequestSecurityTokenCollection".into(),
        ));
    }
    let action = declared.into_iter().flatten().next();
    let op = match &action {
        Some(a) => {
            let (op, v) = Operation::versioned_action(a).ok_or_else(|| {
                SoapFailure::Dispatch(format!("action `{a}` is not a WS-Trust request action"))
            })?;
            if !v.agrees(rst.version) {
                return Err(SoapFailure::Dispatch(format!(
                    "action `{a}` is not in the WS-Trust namespace of the request body ({})",
                    rst.version.ns()
                )));
            }
            op
        }
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
