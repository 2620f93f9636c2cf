//! WS-Trust Issue: the built-in token types and custom ones.

use crate::engine::{
    Authenticated, Credential, EngineError, IssueRequest, Issued, KeyType, Principal,
    ProofCertificate, ProvenChain, RequestedClaim,
};
use crate::instance::ResolvedInstance;
use crate::instance::TokenType;
use crate::soap::RequestHeaders;
use crate::store::Durable;
use crate::wstrust;
use crate::wstrust::proof::SymmetricRequest;
use crate::xml::ns::{
    KEY_TYPE_BEARER, KEY_TYPE_PUBLIC_KEY, KEY_TYPE_SYMMETRIC_KEY, TOKEN_TYPE_ID_TOKEN,
    SAML1, TOKEN_TYPE_JWT, TOKEN_TYPE_SAML11, TOKEN_TYPE_SAML20, TOKEN_TYPE_SAML20_NS,
};

use super::credential::{Delegation, authenticated, credential, delegated_token};
use super::{Context, SoapFailure, SoapHttp};

pub(super) fn issue(
    state: &Context,
    instance: &ResolvedInstance,
    http: &SoapHttp,
    headers: &RequestHeaders,
    rst: &wstrust::Rst,
    body: &[u8],
    signer: Option<ProvenChain>,
) -> Result<(String, Option<Durable>), SoapFailure> {
    issue_as(state, instance, http, headers, rst, body, signer, None).map(|i| (i.body, i.durable))
}

/// An Issue answered: the response body, the pending write and the token's id.
pub(super) struct IssueDone {
    pub body: String,
    pub durable: Option<Durable>,
    pub token_id: String,
}

/// Issue; `batch`: the requester already authenticated for the whole batch (the Security
/// header's credential applies to every RST, and replay caches are consulted once).
#[allow(clippy::too_many_arguments)]
pub(super) fn issue_as(
    state: &Context,
    instance: &ResolvedInstance,
    http: &SoapHttp,
    headers: &RequestHeaders,
    rst: &wstrust::Rst,
    body: &[u8],
    signer: Option<ProvenChain>,
    batch: Option<&Authenticated<Principal>>,
) -> Result<IssueDone, SoapFailure> {
    // With OnBehalfOf, the requester authenticates and vouches for the subject of the
    // OnBehalfOf token, which the assertion is about (sender-vouches). With ActAs, the
    // assertion is about the ActAs token's subject too, and names the requester as the
    // one acting for it.
    let (cred, invalidate, vouched, actor) = match delegated_token(
        instance,
        rst,
        body,
        state.client_ip(http.peer, http.headers),
    )? {
        Some((which, cred, invalidate)) => {
            let requester = Some(authenticated(state, instance, http, headers)?);
            match which {
                Delegation::OnBehalfOf => (cred, invalidate, requester, None),
                Delegation::ActAs => (cred, invalidate, None, requester),
            }
        }
        None => {
            let (input, cred) = credential(state, instance, http, headers)?;
            (cred, instance.invalidate_interim(input), None, None)
        }
    };
    // No TokenType (MSAL and ADAL send none): SAML 2.0, or SAML 1.1 from an instance that
    // issues only that (as AD FS answers them for Entra ID).
    let default_type =
        if !instance.config.issues(TokenType::Saml2) && instance.config.issues(TokenType::Saml1) {
            SAML1
        } else {
            TOKEN_TYPE_SAML20
        };
    let token_type_uri = rst.token_type.as_deref().unwrap_or(default_type);
    let claims = requested_claims(rst)?;
    if let Some(name) = instance.custom.by_uri(token_type_uri) {
        if rst.claims.is_some() {
            return Err(EngineError::Unsupported(format!(
                "`{name}` tokens are made by their provider: wst:Claims is not applied to them"
            ))
            .into());
        }
        if rst.on_behalf_of.is_some() || rst.act_as.is_some() {
            return Err(EngineError::Unsupported(format!(
                "`{name}` tokens are issued to the requester only, without OnBehalfOf or ActAs"
            ))
            .into());
        }
        if batch.is_some() {
            return Err(EngineError::Unsupported(format!(
                "`{name}` tokens are not issued in a batch"
            ))
            .into());
        }
        return issue_custom(state, instance, http, headers, rst, name, token_type_uri).map(
            |(body, durable)| IssueDone {
                body,
                durable,
                token_id: String::new(),
            },
        );
    }
    let mut key_type_uri = KEY_TYPE_BEARER;
    let (principal, mut issued) = authenticate_once(
        state,
        batch,
        instance,
        &cred,
        invalidate,
        || {
            let token_type = match token_type_uri {
                TOKEN_TYPE_SAML20 | TOKEN_TYPE_SAML20_NS => TokenType::Saml2,
                TOKEN_TYPE_SAML11 | SAML1 => TokenType::Saml1,
                TOKEN_TYPE_JWT | TOKEN_TYPE_ID_TOKEN => TokenType::OpenIdConnect,
                other => {
                    return Err(EngineError::Unsupported(format!(
                        "token type `{other}` is not issued here"
                    )));
                }
            };
            let key_type = match rst.key_type.as_deref() {
                None | Some(KEY_TYPE_BEARER) => KeyType::Bearer,
                Some(KEY_TYPE_PUBLIC_KEY) => {
                    let cert = rst.use_key_cert.as_deref().ok_or_else(|| {
                        EngineError::Invalid(
                            "KeyType PublicKey needs wst:UseKey with the client's X.509 certificate"
                                .into(),
                        )
                    })?;
                    KeyType::PublicKey(ProofCertificate::from_base64(cert, state.engine.now())?)
                }
                Some(KEY_TYPE_SYMMETRIC_KEY) => KeyType::Symmetric(symmetric_request(rst)?),
                Some(other) => {
                    return Err(EngineError::Unsupported(format!(
                        "key type `{other}` is not supported (Bearer, PublicKey and SymmetricKey are)"
                    )));
                }
            };
            // WS-Trust 1.4 9.2: an assertion is bound to a key the requestor proved it holds
            // (the engine refuses other key types for id_tokens and OnBehalfOf requests).
            if let (KeyType::PublicKey(cert), TokenType::Saml2 | TokenType::Saml1, None) =
                (&key_type, token_type, &vouched)
            {
                let tls = crate::http::client_cert::chain(instance, http.headers, http.peer).ok();
                crate::engine::require_possession(cert, signer.iter().chain(tls.as_ref()))?;
            }
            key_type_uri = match key_type {
                KeyType::PublicKey(_) => KEY_TYPE_PUBLIC_KEY,
                KeyType::Symmetric(_) => KEY_TYPE_SYMMETRIC_KEY,
                _ => KEY_TYPE_BEARER,
            };
            Ok(IssueRequest {
                token_type,
                key_type,
                applies_to: rst.applies_to.clone(),
                lifetime_created: rst.lifetime_created,
                lifetime_expires: rst.lifetime_expires,
                vouched_by: vouched.clone(),
                actor: actor.clone(),
                claims: claims.clone(),
                session_index: None,
                nonce: None,
                renewing: rst.renewing.map(|r| crate::engine::RenewSemantics {
                    allow: r.allow,
                    ok: r.ok,
                }),
                authn_instant: None,
            })
        },
    )?;
    tracing::info!(
        instance = %instance.config.subpath(),
        principal = %principal.name(),
        vouched_by = vouched.as_ref().map(|p| p.name()),
        actor = actor.as_ref().map(|p| p.name()),
        token = %issued.id,
        "issued {token_type_uri}"
    );
    crate::frontends::audited::issued(
        state,
        instance,
        &principal,
        token_type_uri,
        crate::frontends::audited::input_of(&cred),
        &issued.id,
        &mut issued.durable,
    )?;
    // An id_token travels as a BinarySecurityToken (base64 of its compact form).
    let token_xml = if matches!(token_type_uri, TOKEN_TYPE_JWT | TOKEN_TYPE_ID_TOKEN) {
        wstrust::binary_token_xml(token_type_uri, None, &issued.token)
    } else {
        issued.token.clone()
    };
    // SAML 1.1 is answered with the assertion namespace, the one SAML 1.1 TokenType MSAL
    // and ADAL accept (msal/wstrust_response.py), whichever URI the request named.
    let token_type_uri = match token_type_uri {
        TOKEN_TYPE_SAML11 => SAML1,
        other => other,
    };
    let body = wstrust::write_issue_response(&wstrust::IssuedTokenResponse {
        version: rst.version,
        context: rst.context.as_deref(),
        token_type_uri,
        token_xml: &token_xml,
        token_id: &issued.id,
        created: issued.created,
        expires: issued.expires,
        applies_to: issued.audience.as_deref(),
        key_type: rst.answer_key_type(key_type_uri),
        proof: issued.proof.as_ref(),
        custom: false,
    });
    Ok(IssueDone {
        body,
        durable: issued.durable,
        token_id: issued.id,
    })
}

/// The engine's authenticate-and-issue, or, in a batch, an issue for the principal the
/// batch authenticated (without an interim session: a batch that fails leaves none).
fn authenticate_once(
    state: &Context,
    batch: Option<&Authenticated<Principal>>,
    instance: &ResolvedInstance,
    cred: &Credential,
    invalidate: bool,
    request: impl FnOnce() -> Result<IssueRequest, EngineError>,
) -> Result<(Authenticated<Principal>, Issued), EngineError> {
    match batch {
        None => state
            .engine
            .authenticate_and_issue(instance, cred, invalidate, request),
        Some(principal) => {
            let session_input = matches!(cred, Credential::Session { .. });
            let issued = state
                .engine
                .issue_for(instance, principal, session_input, true, request()?)?;
            Ok((principal.clone(), issued))
        }
    }
}

/// Issue of a custom token type: the requester's own token goes to the type's provider.
fn issue_custom(
    state: &Context,
    instance: &ResolvedInstance,
    http: &SoapHttp,
    headers: &RequestHeaders,
    rst: &wstrust::Rst,
    name: &str,
    token_type_uri: &str,
) -> Result<(String, Option<Durable>), SoapFailure> {
    use crate::engine::custom::{CustomInput, CustomOutput};
    use serde_json::{Value, json};
    let (input, cred) = credential(state, instance, http, headers)?;
    if rst
        .key_type
        .as_deref()
        .is_some_and(|k| k != KEY_TYPE_BEARER)
    {
        return Err(EngineError::Unsupported(format!(
            "`{name}` tokens are bearer tokens: KeyType {KEY_TYPE_BEARER} (or none)"
        ))
        .into());
    }
    // What a REST caller would have sent, without the secrets.
    let mut input_state = serde_json::Map::new();
    input_state.insert("token_type".into(), json!(input.name()));
    let secretless = match &cred {
        Credential::PasswordText { username, .. } | Credential::PasswordDigest { username, .. } => {
            Some(("username", json!(username)))
        }
        Credential::OidcIdToken { token } => Some(("oidc_id_token", json!(token.expose()))),
        Credential::Saml2Assertion { xml } => {
            Some(("saml2_token", json!(String::from_utf8_lossy(xml))))
        }
        Credential::Session { .. } | Credential::X509(_) => None,
    };
    if let Some((key, value)) = secretless {
        input_state.insert(key.into(), value);
    }
    let input_state = Value::Object(input_state);
    let mut output_state = serde_json::Map::new();
    output_state.insert("token_type".into(), json!(name));
    output_state.insert("token_type_uri".into(), json!(token_type_uri));
    if let Some(a) = &rst.applies_to {
        output_state.insert("applies_to".into(), Value::String(a.clone()));
    }
    let output_state = Value::Object(output_state);
    let (principal, mut issued) = state.engine.translate_custom(
        instance,
        CustomInput::Builtin {
            token_type: input,
            credential: cred,
            state: input_state,
        },
        CustomOutput::Custom {
            name: name.to_owned(),
            state: output_state,
        },
        instance.invalidate_interim(input),
    )?;
    tracing::info!(
        instance = %instance.config.subpath(),
        principal = %principal.name(),
        token = %issued.id,
        "issued {token_type_uri}"
    );
    crate::frontends::audited::issued(
        state,
        instance,
        &principal,
        token_type_uri,
        input.name(),
        &issued.id,
        &mut issued.durable,
    )?;
    let token_xml = wstrust::binary_token_xml(token_type_uri, Some(&issued.id), &issued.token);
    let body = wstrust::write_issue_response(&wstrust::IssuedTokenResponse {
        version: rst.version,
        context: rst.context.as_deref(),
        token_type_uri,
        token_xml: &token_xml,
        token_id: &issued.id,
        created: issued.created,
        expires: issued.expires,
        applies_to: rst.applies_to.as_deref(),
        key_type: rst.answer_key_type(KEY_TYPE_BEARER),
        proof: None,
        custom: true,
    });
    Ok((body, issued.durable))
}

/// The claim types of `wst:Claims`, if any; a dialect this STS does not read is refused
/// (as not understood), never ignored.
fn requested_claims(rst: &wstrust::Rst) -> Result<Option<Vec<RequestedClaim>>, EngineError> {
    use crate::wstrust::claims::Dialect;
    let Some(c) = &rst.claims else {
        return Ok(None);
    };
    if let Dialect::Unknown(d) = &c.dialect {
        return Err(EngineError::Unsupported(format!(
            "wst:Claims dialect `{d}` is not understood (http://schemas.xmlsoap.org/ws/2005/05/identity and http://docs.oasis-open.org/wsfed/authorization/200706/authclaims are)"
        )));
    }
    Ok(Some(
        c.claim_types
            .iter()
            .map(|t| RequestedClaim {
                uri: t.uri.clone(),
                optional: t.optional,
                value: t.value.clone(),
            })
            .collect(),
    ))
}

/// KeySize (default 256 bits), requestor Entropy and ComputedKeyAlgorithm of a SymmetricKey
/// request.
fn symmetric_request(rst: &wstrust::Rst) -> Result<SymmetricRequest, EngineError> {
    use crate::wstrust::proof::{KEY_SIZES, MAX_ENTROPY, MIN_ENTROPY};
    use crate::xml::ns::CK_PSHA1;
    let bits = match rst.key_size.as_deref().map(str::trim) {
        None => 256,
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|b| KEY_SIZES.contains(b))
            .ok_or_else(|| {
                EngineError::Unsupported(format!(
                    "wst:KeySize `{v}` is not offered (128, 192, 256 or 512 bits)"
                ))
            })?,
    };
    if let Some(e) = &rst.entropy
        && !(MIN_ENTROPY..=MAX_ENTROPY).contains(&e.expose().len())
    {
        return Err(EngineError::Invalid(format!(
            "requestor entropy must be {MIN_ENTROPY} to {MAX_ENTROPY} bytes"
        )));
    }
    match (
        rst.computed_key_algorithm.as_deref().map(str::trim),
        &rst.entropy,
    ) {
        (None, _) | (Some(CK_PSHA1), Some(_)) => {}
        (Some(CK_PSHA1), None) => {
            return Err(EngineError::Invalid(
                "wst:ComputedKeyAlgorithm needs requestor wst:Entropy".into(),
            ));
        }
        (Some(other), _) => {
            return Err(EngineError::Unsupported(format!(
                "computed key algorithm `{other}` is not supported (only {CK_PSHA1})"
            )));
        }
    }
    Ok(SymmetricRequest {
        requestor_entropy: rst.entropy.clone(),
        bits,
    })
}
