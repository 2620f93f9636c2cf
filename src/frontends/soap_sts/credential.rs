//! The input token of a request, from its Security header (or the SSO session, or the
//! client certificate), and the token of a `wst:OnBehalfOf`.

use crate::engine::{
    AuthFailure, Authenticated, Credential, EngineError, MessageTimestamp, Principal,
};
use crate::instance::ResolvedInstance;
use crate::instance::TokenType;
use crate::soap::{self, RequestHeaders, UsernameToken};
use crate::wstrust;

use super::{Context, SoapFailure, SoapHttp};

/// Checks the message timestamp and picks the input token: a UsernameToken, else an OpenAM
/// session (BinarySecurityToken, then the SSO header or cookie), accepted by the instance.
pub(super) fn credential(
    state: &Context,
    instance: &ResolvedInstance,
    http: &SoapHttp,
    headers: &RequestHeaders,
) -> Result<(TokenType, Credential), SoapFailure> {
    if let Some(ts) = &headers.timestamp {
        state.engine.check_timestamp(&MessageTimestamp {
            created: ts.created,
            expires: ts.expires,
        })?;
    }
    let source = state.client_ip(http.peer, http.headers);
    let (input, cred) = if let Some(token) = security_token(headers, source)? {
        token
    } else if let Some(signer) = http.signed_by.clone() {
        (TokenType::X509, Credential::X509(signer))
    } else if let Some(token) = http.session.clone() {
        (TokenType::OpenAm, Credential::Session { token })
    } else if instance.accepts(TokenType::X509) {
        let chain = crate::http::client_cert::chain(instance, http.headers, http.peer)
            .map_err(SoapFailure::Engine)?;
        (TokenType::X509, Credential::X509(chain))
    } else {
        return Err(EngineError::AuthFailed(AuthFailure::Missing(
            "a wsse:Security header with a UsernameToken, an OpenAM session token, an id_token or a SAML 2.0 assertion is required"
                .into(),
        ))
        .into());
    };
    if !instance.accepts(input) {
        return Err(EngineError::refused(format!(
            "this instance does not accept {input:?} input tokens"
        ))
        .into());
    }
    Ok((input, cred))
}

/// Authenticates the caller of Validate or Cancel the way Issue does (no interim session).
pub(super) fn authenticated(
    state: &Context,
    instance: &ResolvedInstance,
    http: &SoapHttp,
    headers: &RequestHeaders,
) -> Result<Authenticated<Principal>, SoapFailure> {
    let (_, cred) = credential(state, instance, http, headers)?;
    Ok(state.engine.authenticate_for(instance, &cred)?)
}

/// Which delegation element a request carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Delegation {
    /// The requester vouches for the token's subject (sender-vouches).
    OnBehalfOf,
    /// The requester acts as the token's subject and is named as its actor.
    ActAs,
}

/// The token of a `wst:OnBehalfOf` or `wst:ActAs`: which, its type, the credential, and the
/// instance's `invalidateInterimOpenAMSession` for it. The instance must support delegation
/// (and, for ActAs, `act-as-supported`) and list the type in `soap-delegation-config`: both
/// elements' tokens are read and checked alike (signatures, trusted issuers, passwords).
pub(super) fn delegated_token(
    instance: &ResolvedInstance,
    rst: &wstrust::Rst,
    input: &[u8],
    source: Option<std::net::IpAddr>,
) -> Result<Option<(Delegation, Credential, bool)>, SoapFailure> {
    let (which, el) = match (&rst.on_behalf_of, &rst.act_as) {
        (None, None) => return Ok(None),
        (Some(_), Some(_)) => {
            return Err(EngineError::Unsupported(
                "wst:OnBehalfOf and wst:ActAs in one request are not supported: send one".into(),
            )
            .into());
        }
        (Some(el), None) => (Delegation::OnBehalfOf, el),
        (None, Some(el)) => (Delegation::ActAs, el),
    };
    let name = match which {
        Delegation::OnBehalfOf => "OnBehalfOf",
        Delegation::ActAs => "ActAs",
    };
    let mut h = RequestHeaders::default();
    soap::read_security(el, &mut h)?;
    h.read_spans(input);
    let (t, cred) = security_token(&h, source)?.ok_or_else(|| {
        EngineError::Invalid(format!(
            "wst:{name} holds no token this STS reads (UsernameToken, OpenAM session, id_token, SAML 2.0 assertion)"
        ))
    })?;
    let invalidate = match which {
        Delegation::OnBehalfOf => instance.delegation(t),
        Delegation::ActAs => instance.act_as(t),
    }
    .ok_or_else(|| {
        EngineError::Unsupported(format!(
            "this instance does not accept {} tokens in wst:{name} ({}delegation-relationship-supported, soap-delegation-config)",
            t.name(),
            if which == Delegation::ActAs { "act-as-supported, " } else { "" }
        ))
    })?;
    Ok(Some((which, cred, invalidate)))
}

/// The token of a Security header (the request's or an OnBehalfOf's): a UsernameToken, else
/// an OpenAM session token, an id_token or a SAML 2.0 assertion.
fn security_token(
    h: &RequestHeaders,
    source: Option<std::net::IpAddr>,
) -> Result<Option<(TokenType, Credential)>, EngineError> {
    Ok(Some(if let Some(ut) = &h.username_token {
        (TokenType::Username, username_token(ut, source)?)
    } else if let Some(token) = h.session_token.clone() {
        (TokenType::OpenAm, Credential::Session { token })
    } else if let Some(token) = h.jwt.clone() {
        (TokenType::OpenIdConnect, Credential::OidcIdToken { token })
    } else if let Some(xml) = h.saml_assertion.clone() {
        (TokenType::Saml2, Credential::Saml2Assertion { xml })
    } else {
        return Ok(None);
    }))
}

/// A UsernameToken as a credential; a PasswordDigest needs its nonce and creation time.
fn username_token(
    ut: &UsernameToken,
    source: Option<std::net::IpAddr>,
) -> Result<Credential, EngineError> {
    if !ut.digest {
        return Ok(Credential::PasswordText {
            username: ut.username.clone(),
            password: ut.password.clone(),
            nonce: ut.nonce.clone(),
            created: ut.created.clone(),
            source,
        });
    }
    let (Some(nonce), Some(created)) = (&ut.nonce, &ut.created) else {
        return Err(EngineError::Invalid(
            "a PasswordDigest UsernameToken needs wsse:Nonce and wsu:Created".into(),
        ));
    };
    Ok(Credential::PasswordDigest {
        username: ut.username.clone(),
        digest: ut.password.clone(),
        nonce: nonce.clone(),
        created: created.clone(),
        source,
    })
}
