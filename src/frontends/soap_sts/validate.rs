//! WS-Trust Validate, and what a ValidateTarget or CancelTarget names.

use crate::engine::{EngineError, TokenTarget};
use crate::instance::ResolvedInstance;
use crate::soap::RequestHeaders;
use crate::wstrust;
use crate::xml::ns::TOKEN_TYPE_STATUS;

use super::credential::authenticated;
use super::{Context, SoapFailure, SoapHttp};

/// What the `wst:{op}Target` of a Validate or Cancel (`op`) names; it must have one.
pub(super) fn required_target(
    instance: &ResolvedInstance,
    t: Option<&wstrust::Target>,
    op: &str,
) -> Result<TokenTarget, EngineError> {
    let t = t.ok_or_else(|| EngineError::Invalid(format!("a {op} needs a wst:{op}Target")))?;
    target(instance, t)
}

/// What a ValidateTarget or CancelTarget names; custom tokens by their type's URI.
fn target(instance: &ResolvedInstance, t: &wstrust::Target) -> Result<TokenTarget, EngineError> {
    let custom = |value_type: &str| {
        instance.custom.by_uri(value_type).ok_or_else(|| {
            EngineError::Invalid(format!(
                "`{value_type}` is not a token type of this instance"
            ))
        })
    };
    Ok(match t {
        wstrust::Target::Token(b) => TokenTarget::Token(b.clone()),
        wstrust::Target::SamlId(id) => TokenTarget::Reference(id.clone()),
        wstrust::Target::Jwt(jwt) => TokenTarget::Jwt(jwt.clone()),
        wstrust::Target::KeyIdentifier { value_type, id } => {
            custom(value_type)?;
            TokenTarget::Reference(id.clone())
        }
        wstrust::Target::Binary {
            value_type,
            id,
            token,
        } => TokenTarget::Custom {
            token_type: custom(value_type)?.to_owned(),
            id: id.clone().ok_or_else(|| {
                EngineError::Invalid(
                    "a custom token is named by the wsu:Id it was issued with; it has none".into(),
                )
            })?,
            token: token.clone(),
        },
    })
}

/// WS-Trust Validate with the default TokenType `.../RSTR/Status`.
pub(super) fn validate(
    state: &Context,
    instance: &ResolvedInstance,
    http: &SoapHttp,
    headers: &RequestHeaders,
    rst: &wstrust::Rst,
) -> Result<String, SoapFailure> {
    authenticated(state, instance, http, headers)?;
    if let Some(tt) = rst.token_type.as_deref()
        && tt != TOKEN_TYPE_STATUS
    {
        return Err(EngineError::Unsupported(format!(
            "Validate returns only a status (TokenType {}), not `{tt}`",
            TOKEN_TYPE_STATUS
        ))
        .into());
    }
    let t = required_target(instance, rst.validate_target.as_ref(), "Validate")?;
    let v = state.engine.validate(instance, &t)?;
    Ok(wstrust::write_validate_response(
        rst.version,
        rst.context.as_deref(),
        v.valid,
        &v.reason,
    ))
}
