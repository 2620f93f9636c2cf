//! WS-Trust Renew (1.3 section 7; 2005 alike): the `wst:RenewTarget` assertion re-issued by
//! the engine (`engine::renew`, where the rules are), answered with one RSTR.

use crate::engine::{EngineError, Issued, RenewRequest, RenewSemantics, Renewed, TokenTarget};
use crate::instance::{ResolvedInstance, TokenType};
use crate::soap::RequestHeaders;
use crate::store::Durable;
use crate::wstrust::{self, TokenTypeUri};
use crate::xml::ns::{KEY_TYPE_BEARER, SAML1, TOKEN_TYPE_SAML20};

use super::credential::authenticated;
use super::validate::required_target;
use super::{Context, SoapFailure, SoapHttp};

/// WS-Trust Renew: an authenticated request (the instance's input, as Validate) naming the
/// token. `wst:Renewing` sets the renewed token's renew semantics; `wst:AllowPostdating`
/// permits a postdated token, and the renewed one (valid from now) is not.
pub(super) fn renew(
    state: &Context,
    instance: &ResolvedInstance,
    http: &SoapHttp,
    headers: &RequestHeaders,
    rst: &wstrust::Rst,
) -> Result<(String, Option<Durable>), SoapFailure> {
    let principal = authenticated(state, instance, http, headers)?;
    let target = required_target(instance, rst.renew_target.as_ref(), "Renew")?;
    let asked = asked_type(rst)?;
    let mut renewed =
        state
            .engine
            .renew(instance, &principal, &renew_request(rst, &target, asked))?;
    let durable = renewed.issued.durable.take();
    Ok((renew_response(rst, &renewed), durable))
}

/// The token type a Renew names, if any: SAML 2.0 or SAML 1.1.
pub(super) fn asked_type(rst: &wstrust::Rst) -> Result<Option<TokenType>, EngineError> {
    let Some(uri) = rst.token_type.as_deref() else {
        return Ok(None);
    };
    match TokenTypeUri::from_uri(uri) {
        Some(TokenTypeUri::Saml20) => Ok(Some(TokenType::Saml2)),
        Some(TokenTypeUri::Saml11) => Ok(Some(TokenType::Saml1)),
        _ => Err(EngineError::Unsupported(format!(
            "Renew re-issues SAML 2.0 and SAML 1.1 assertions, not `{uri}`"
        ))),
    }
}

/// The engine's request for the Renew `rst` of `target`.
pub(super) fn renew_request<'a>(
    rst: &wstrust::Rst,
    target: &'a TokenTarget,
    asked: Option<TokenType>,
) -> RenewRequest<'a> {
    RenewRequest {
        target,
        token_type: asked,
        renewing: rst.renewing.map(|r| RenewSemantics {
            allow: r.allow,
            ok: r.ok,
        }),
    }
}

/// The RSTR of a renewal.
pub(super) fn renew_response(rst: &wstrust::Rst, renewed: &Renewed) -> String {
    // SAML 1.1 is answered with the assertion namespace, as Issue answers it.
    let token_type_uri = match renewed.token_type {
        TokenType::Saml1 => SAML1,
        _ => rst.token_type.as_deref().unwrap_or(TOKEN_TYPE_SAML20),
    };
    let issued = &renewed.issued;
    wstrust::write_renew_response(&reissued(rst, token_type_uri, &issued.token, issued))
}

/// The response fields of a token re-issued as a bearer token (by Renew, or by a Validate
/// that returns a new token), with `token_xml` as the RSTR carries it.
pub(super) fn reissued<'a>(
    rst: &'a wstrust::Rst,
    token_type_uri: &'a str,
    token_xml: &'a str,
    issued: &'a Issued,
) -> wstrust::IssuedTokenResponse<'a> {
    wstrust::IssuedTokenResponse {
        version: rst.version,
        context: rst.context.as_deref(),
        token_type_uri,
        token_xml,
        token_id: &issued.id,
        created: issued.created,
        expires: issued.expires,
        applies_to: issued.audience.as_deref(),
        key_type: rst.answer_key_type(KEY_TYPE_BEARER),
        proof: None,
        custom: false,
    }
}
