//! WS-Trust Validate, and what a ValidateTarget or CancelTarget names.

use crate::engine::{EngineError, TokenTarget};
use crate::instance::{ResolvedInstance, TokenType};
use crate::soap::RequestHeaders;
use crate::store::Durable;
use crate::wstrust::{self, TokenTypeUri};
use crate::xml::ns::{SAML1, TOKEN_TYPE_STATUS};

use super::credential::authenticated;
use super::renew::reissued;
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

/// WS-Trust Validate: with the default TokenType `.../RSTR/Status`, a status; with another
/// TokenType, the status and, when the token is valid, the token re-issued as that type
/// (`supported-token-transforms`; see `engine::check::transform`).
pub(super) fn validate(
    state: &Context,
    instance: &ResolvedInstance,
    http: &SoapHttp,
    headers: &RequestHeaders,
    rst: &wstrust::Rst,
) -> Result<(String, Option<Durable>), SoapFailure> {
    authenticated(state, instance, http, headers)?;
    let output = match rst.token_type.as_deref() {
        None | Some(TOKEN_TYPE_STATUS) => None,
        Some(uri) => Some((
            uri,
            match TokenTypeUri::from_uri(uri) {
                Some(TokenTypeUri::Saml20) => TokenType::Saml2,
                Some(TokenTypeUri::Saml11) => TokenType::Saml1,
                Some(TokenTypeUri::Jwt) => TokenType::OpenIdConnect,
                _ => {
                    return Err(EngineError::Unsupported(format!(
                        "Validate returns a status (TokenType {TOKEN_TYPE_STATUS}) or a SAML 2.0, SAML 1.1 or JWT token, not `{uri}`"
                    ))
                    .into());
                }
            },
        )),
    };
    let t = required_target(instance, rst.validate_target.as_ref(), "Validate")?;
    let Some((uri, output)) = output else {
        let v = state.engine.validate(instance, &t)?;
        let body = wstrust::write_validate_response(
            rst.version,
            rst.context.as_deref(),
            v.valid,
            &v.reason,
        );
        return Ok((body, None));
    };
    let (v, issued) =
        state
            .engine
            .validate_to(instance, &t, output, rst.applies_to.clone())?;
    let Some(issued) = issued else {
        let body =
            wstrust::write_validate_response(rst.version, rst.context.as_deref(), false, &v.reason);
        return Ok((body, None));
    };
    // As Issue answers: SAML 1.1 with the assertion namespace, an id_token in a
    // BinarySecurityToken.
    let (uri, token_xml) = match output {
        TokenType::Saml1 => (SAML1, issued.token.clone()),
        TokenType::OpenIdConnect => (uri, wstrust::binary_token_xml(uri, None, &issued.token)),
        _ => (uri, issued.token.clone()),
    };
    let body =
        wstrust::write_validate_token_response(&reissued(rst, uri, &token_xml, &issued), &v.reason);
    Ok((body, issued.durable))
}
