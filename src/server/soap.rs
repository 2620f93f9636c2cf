//! The SOAP STS endpoint: envelope in, engine call, envelope out. Synchronous on purpose: it
//! runs on the blocking pool, because password hashing and signing are CPU-bound.

use crate::engine::proof::SymmetricRequest;
use crate::engine::{
    Credential, EngineError, IssueRequest, KeyType, MessageTimestamp, ProofCertificate, TokenTarget,
};
use crate::instance::TokenType;
use crate::soap::{self, ReplyAddressing, RequestHeaders, SoapVersion, read_headers};
use crate::store::Durable;
use crate::wstrust::{
    self, KEY_TYPE_BEARER, KEY_TYPE_PUBLIC_KEY, KEY_TYPE_SYMMETRIC_KEY, Operation,
    TOKEN_TYPE_ID_TOKEN, TOKEN_TYPE_JWT, TOKEN_TYPE_SAML20, TOKEN_TYPE_SAML20_NS,
};

use super::reject::{SoapFailure, soap_fault};
use super::{AppState, HttpReply, Outcome};

/// HTTP facts the SOAP layer needs.
#[derive(Debug, Default)]
pub struct SoapHttp {
    pub content_type: Option<String>,
    pub soap_action: Option<String>,
    /// A session token from the SSO header or cookie.
    pub session: Option<crate::secret::Secret<String>>,
    /// Every header (a TLS offload engine's client certificate header among them).
    pub headers: warp::http::HeaderMap,
    pub peer: super::Peer,
}

struct Ok200 {
    version: SoapVersion,
    wsa_ns: &'static str,
    relates_to: Option<String>,
    op: Operation,
    body: String,
    durable: Option<Durable>,
}

/// Handles one POST to `/sts/{subpath}`.
pub fn handle(state: &AppState, subpath: &str, http: &SoapHttp, body: &[u8]) -> Outcome {
    let ct_version = http
        .content_type
        .as_deref()
        .and_then(soap::version_from_content_type);
    // Until the envelope is read, answer in the version the Content-Type announced.
    let mut version = ct_version.unwrap_or(SoapVersion::V11);
    let mut reply_addr: Option<(&'static str, Option<String>)> = None;
    let result = (|| -> Result<Ok200, SoapFailure> {
        // Compressed bodies are refused, never decompressed (see json::unsupported_content_encoding).
        if let Some(coding) = super::json::unsupported_content_encoding(&http.headers) {
            return Err(SoapFailure::ContentEncoding(coding));
        }
        let ct_version = ct_version.ok_or(SoapFailure::ContentType)?;
        let instance = state
            .soap_instance(subpath)
            .ok_or(SoapFailure::UnknownInstance)?;
        let instance = instance.as_ref();
        // UTF-16 becomes UTF-8 here; everything below (signatures too) reads these bytes.
        let charset = http
            .content_type
            .as_deref()
            .and_then(|ct| soap::content_type_param(ct, "charset"));
        let body = crate::xml::to_utf8(body, charset.as_deref(), state.max_body_bytes)
            .map_err(soap::SoapError::from)?;
        let body: &[u8] = &body;
        let env = soap::parse_envelope(body, state.limits)?;
        // From here on, faults carry wsa:Action and RelatesTo, header faults included.
        reply_addr = Some(soap::reply_addressing_of(&env));
        if env.version != ct_version {
            // Answered in the version the Content-Type announced.
            return Err(SoapFailure::Soap(soap::SoapError::VersionMismatch));
        }
        version = env.version;
        let mut headers = read_headers(&env)?;
        headers.read_spans(body);
        let signer = message_signer(state, instance, &env, &headers, body)?;
        headers.x509_signed = signer.clone().filter(|_| instance.accepts(TokenType::X509));
        let wsa_ns = headers.addressing.ns.unwrap_or(wstrust::WSA_NSS[0]);
        let rst = wstrust::parse_rst(&env.body, body)?;
        let op = dispatch(&headers, http, &rst)?;
        let mut durable = None;
        let body = match op {
            Operation::Issue => {
                let (body, d) = issue(state, instance, http, &headers, &rst, body, signer)?;
                durable = d;
                body
            }
            Operation::Validate => validate(state, instance, http, &headers, &rst)?,
            Operation::Cancel => cancel(state, instance, http, &headers, &rst)?,
            other => {
                return Err(SoapFailure::Unsupported(format!(
                    "{other:?} is not supported by this STS yet"
                )));
            }
        };
        Ok(Ok200 {
            version,
            wsa_ns,
            relates_to: headers.addressing.message_id,
            op,
            body,
            durable,
        })
    })();
    match result {
        Ok(ok) => {
            let action = ok.op.response_action();
            let addr = ReplyAddressing {
                wsa_ns: ok.wsa_ns,
                action: &action,
                relates_to: ok.relates_to.as_deref(),
            };
            let reply = HttpReply {
                status: 200,
                content_type: ok.version.content_type(),
                body: soap::write_envelope(ok.version, Some(&addr), &ok.body),
                set_cookie: None,
                headers: Vec::new(),
            };
            let pending = ok.durable.map(|d| {
                let subpath = subpath.to_owned();
                let lost: super::Fallback = Box::new(move || {
                    let lost = SoapFailure::Engine(EngineError::RequestFailed(
                        "storing the issued token failed".into(),
                    ));
                    fault_reply(version, &subpath, &lost, None)
                });
                (d, lost)
            });
            Outcome { reply, pending }
        }
        Err(failure) => Outcome {
            reply: fault_reply(version, subpath, &failure, reply_addr.as_ref()),
            pending: None,
        },
    }
}

fn fault_reply(
    version: SoapVersion,
    subpath: &str,
    failure: &SoapFailure,
    reply_addr: Option<&(&'static str, Option<String>)>,
) -> HttpReply {
    {
        {
            let (status, code, reason) = soap_fault(failure);
            if let SoapFailure::Engine(EngineError::RequestFailed(detail)) = failure {
                tracing::error!(instance = subpath, %detail, "request failed");
            } else {
                // Debug formatting escapes control characters: client text cannot forge log lines.
                tracing::info!(instance = subpath, ?code, ?reason, "fault");
            }
            let addr = reply_addr.map(|(ns, rel)| ReplyAddressing {
                wsa_ns: ns,
                action: match failure {
                    SoapFailure::Soap(soap::SoapError::OnlyAnonymous(_)) => {
                        soap::addressing_fault_action(ns)
                    }
                    _ => soap::fault_action(ns),
                },
                relates_to: rel.as_deref(),
            });
            let not_understood = match failure {
                SoapFailure::Soap(soap::SoapError::MustUnderstand(ns, local)) => {
                    Some((ns.as_str(), local.as_str()))
                }
                _ => None,
            };
            let headers = match failure {
                // RFC 7694: which content codings would have been accepted.
                SoapFailure::ContentEncoding(_) => vec![("accept-encoding", "identity".into())],
                _ => Vec::new(),
            };
            HttpReply {
                status,
                content_type: version.content_type(),
                body: soap::write_fault_with(version, addr.as_ref(), code, &reason, not_understood),
                set_cookie: None,
                headers,
            }
        }
    }
}

/// Picks the operation: wsa:Action, then SOAPAction, then the Content-Type `action`, then
/// wst:RequestType; never the body element name (generated clients share one). A RequestType
/// that contradicts the action is refused.
fn dispatch(
    headers: &RequestHeaders,
    http: &SoapHttp,
    rst: &wstrust::Rst,
) -> Result<Operation, SoapFailure> {
    let declared = [
        headers.addressing.action.clone(),
        http.soap_action
            .as_deref()
            .map(|a| a.trim().trim_matches('"').to_owned())
            .filter(|a| !a.is_empty()),
        http.content_type
            .as_deref()
            .and_then(soap::content_type_action),
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

/// Checks the message timestamp and picks the input token: a UsernameToken, else an OpenAM
/// session (BinarySecurityToken, then the SSO header or cookie), accepted by the instance.
fn credential(
    state: &AppState,
    instance: &crate::engine::Instance,
    http: &SoapHttp,
    headers: &RequestHeaders,
) -> Result<(TokenType, Credential), SoapFailure> {
    if let Some(ts) = &headers.timestamp {
        state.engine.check_timestamp(&MessageTimestamp {
            created: ts.created,
            expires: ts.expires,
        })?;
    }
    let (input, cred) = if let Some(ut) = &headers.username_token {
        let cred = if ut.digest {
            let (Some(nonce), Some(created)) = (&ut.nonce, &ut.created) else {
                return Err(EngineError::InvalidRequest(
                    "a PasswordDigest UsernameToken needs wsse:Nonce and wsu:Created".into(),
                )
                .into());
            };
            Credential::PasswordDigest {
                username: ut.username.clone(),
                digest: ut.password.clone(),
                nonce: nonce.clone(),
                created: created.clone(),
                source: state.client_ip(&http.peer, &http.headers),
            }
        } else {
            Credential::PasswordText {
                username: ut.username.clone(),
                password: ut.password.clone(),
                nonce: ut.nonce.clone(),
                created: ut.created.clone(),
                source: state.client_ip(&http.peer, &http.headers),
            }
        };
        (TokenType::Username, cred)
    } else if let Some(token) = headers.session_token.clone() {
        (TokenType::OpenAm, Credential::Session { token })
    } else if let Some(token) = headers.jwt.clone() {
        (TokenType::OpenIdConnect, Credential::OidcIdToken { token })
    } else if let Some(xml) = headers.saml_assertion.clone() {
        (TokenType::Saml2, Credential::Saml2Assertion { xml })
    } else if let Some(der) = headers.x509_signed.clone() {
        (TokenType::X509, Credential::X509 { chain: vec![der] })
    } else if let Some(token) = http.session.clone() {
        (TokenType::OpenAm, Credential::Session { token })
    } else if instance.accepts(TokenType::X509) {
        let chain = super::client_cert::chain(instance, &http.headers, &http.peer)
            .map_err(SoapFailure::Engine)?;
        (TokenType::X509, Credential::X509 { chain })
    } else {
        return Err(EngineError::FailedAuthentication(
            "a wsse:Security header with a UsernameToken, an OpenAM session token, an id_token or a SAML 2.0 assertion is required"
                .into(),
        )
        .into());
    };
    if !instance.accepts(input) {
        return Err(EngineError::FailedAuthentication(format!(
            "this instance does not accept {input:?} input tokens"
        ))
        .into());
    }
    Ok((input, cred))
}

/// What a ValidateTarget or CancelTarget names; custom tokens by their type's URI.
fn target(
    instance: &crate::engine::Instance,
    t: &wstrust::Target,
) -> Result<TokenTarget, EngineError> {
    let custom = |value_type: &str| {
        instance.custom.by_uri(value_type).ok_or_else(|| {
            EngineError::InvalidRequest(format!(
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
                EngineError::InvalidRequest(
                    "a custom token is named by the wsu:Id it was issued with; it has none".into(),
                )
            })?,
            token: token.clone(),
        },
    })
}

/// Authenticates the caller of Validate or Cancel the way Issue does (no interim session).
fn authenticated(
    state: &AppState,
    instance: &crate::engine::Instance,
    http: &SoapHttp,
    headers: &RequestHeaders,
) -> Result<crate::engine::Principal, SoapFailure> {
    let (_, cred) = credential(state, instance, http, headers)?;
    Ok(state.engine.authenticate_for(instance, &cred)?)
}

/// WS-Trust Validate with the default TokenType `.../RSTR/Status`.
fn validate(
    state: &AppState,
    instance: &crate::engine::Instance,
    http: &SoapHttp,
    headers: &RequestHeaders,
    rst: &wstrust::Rst,
) -> Result<String, SoapFailure> {
    authenticated(state, instance, http, headers)?;
    if let Some(tt) = rst.token_type.as_deref()
        && tt != wstrust::TOKEN_TYPE_STATUS
    {
        return Err(EngineError::BadRequest(format!(
            "Validate returns only a status (TokenType {}), not `{tt}`",
            wstrust::TOKEN_TYPE_STATUS
        ))
        .into());
    }
    let t = rst.validate_target.as_ref().ok_or_else(|| {
        EngineError::InvalidRequest("a Validate needs a wst:ValidateTarget".into())
    })?;
    let v = state.engine.validate(instance, &target(instance, t)?)?;
    Ok(wstrust::write_validate_response(
        rst.context.as_deref(),
        v.valid,
        &v.reason,
    ))
}

/// WS-Trust Cancel, by the token's principal or an administrator of the instance's realm.
fn cancel(
    state: &AppState,
    instance: &crate::engine::Instance,
    http: &SoapHttp,
    headers: &RequestHeaders,
    rst: &wstrust::Rst,
) -> Result<String, SoapFailure> {
    let principal = authenticated(state, instance, http, headers)?;
    let t = rst
        .cancel_target
        .as_ref()
        .ok_or_else(|| EngineError::InvalidRequest("a Cancel needs a wst:CancelTarget".into()))?;
    let by = crate::engine::cancel::Canceller::Principal(&principal);
    let id = state.engine.cancel(instance, &target(instance, t)?, by)?;
    tracing::info!(instance = %instance.config.subpath(), by = %principal.name, token = %id, "cancelled token");
    Ok(wstrust::write_cancel_response(rst.context.as_deref()))
}

/// The certificate of an X.509 BinarySecurityToken whose key signed this message: the
/// Security header's signature must verify with that key (never a key named elsewhere) and
/// cover exactly the SOAP Body and the Timestamp by their `wsu:Id`s; the Timestamp is then
/// checked for freshness, and the signature value is accepted once. This is the proof of
/// possession; whether the certificate is trusted is the engine's decision, as for TLS.
/// On an instance that takes no X509 input the token is not a credential: a signature that
/// does not verify is ignored, one that does may still prove a `wst:UseKey`.
fn message_signer(
    state: &AppState,
    instance: &crate::engine::Instance,
    env: &soap::Envelope,
    headers: &RequestHeaders,
    input: &[u8],
) -> Result<Option<Vec<u8>>, SoapFailure> {
    let Some(der) = &headers.x509_token else {
        return Ok(None);
    };
    let signed = verified_signer(state, instance, env, headers, input, der);
    if instance.accepts(TokenType::X509) {
        signed.map(Some)
    } else {
        Ok(signed.ok())
    }
}

fn verified_signer(
    state: &AppState,
    instance: &crate::engine::Instance,
    env: &soap::Envelope,
    headers: &RequestHeaders,
    input: &[u8],
    der: &[u8],
) -> Result<Vec<u8>, SoapFailure> {
    let fail =
        |m: &str| SoapFailure::Engine(EngineError::FailedAuthentication(format!("X.509: {m}")));
    let (Some(ts), Some(ts_id), Some(body_id), Some(sig)) = (
        &headers.timestamp,
        &headers.timestamp_id,
        &env.body_id,
        &headers.signature_value,
    ) else {
        return Err(fail(
            "an X.509 BinarySecurityToken needs a ds:Signature in wsse:Security over the soap:Body and a wsu:Timestamp, each with a wsu:Id",
        ));
    };
    let cert = openssl::x509::X509::from_der(der)
        .and_then(|c| c.to_pem())
        .map_err(|_| fail("the BinarySecurityToken is not a DER X.509 certificate"))?;
    let covered = crate::xmldsig::verify_message(input, env.version.ns(), &cert).map_err(|e| {
        tracing::info!(instance = %instance.config.subpath(), error = %e, "message signature refused");
        fail(&format!("the message signature does not verify with the BinarySecurityToken's key: {e}"))
    })?;
    let covered = covered.get();
    if covered.len() != 2 || !covered.contains(body_id) || !covered.contains(ts_id) {
        return Err(fail(
            "the message signature must cover exactly the soap:Body and the wsu:Timestamp",
        ));
    }
    // Freshness: a signed message needs both ends of its Timestamp.
    let (Some(_), Some(expires)) = (ts.created, ts.expires) else {
        return Err(fail("the signed wsu:Timestamp needs Created and Expires"));
    };
    state.engine.check_timestamp(&MessageTimestamp {
        created: ts.created,
        expires: ts.expires,
    })?;
    state.engine.accept_once(b"wss-signature", sig, expires)?;
    Ok(der.to_vec())
}

/// KeySize (default 256 bits), requestor Entropy and ComputedKeyAlgorithm of a SymmetricKey
/// request.
fn symmetric_request(rst: &wstrust::Rst) -> Result<SymmetricRequest, EngineError> {
    use crate::engine::proof::{CK_PSHA1, KEY_SIZES, MAX_ENTROPY, MIN_ENTROPY};
    let bits = match rst.key_size.as_deref().map(str::trim) {
        None => 256,
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|b| KEY_SIZES.contains(b))
            .ok_or_else(|| {
                EngineError::BadRequest(format!(
                    "wst:KeySize `{v}` is not offered (128, 192, 256 or 512 bits)"
                ))
            })?,
    };
    if let Some(e) = &rst.entropy
        && !(MIN_ENTROPY..=MAX_ENTROPY).contains(&e.expose().len())
    {
        return Err(EngineError::InvalidRequest(format!(
            "requestor entropy must be {MIN_ENTROPY} to {MAX_ENTROPY} bytes"
        )));
    }
    match (
        rst.computed_key_algorithm.as_deref().map(str::trim),
        &rst.entropy,
    ) {
        (None, _) | (Some(CK_PSHA1), Some(_)) => {}
        (Some(CK_PSHA1), None) => {
            return Err(EngineError::InvalidRequest(
                "wst:ComputedKeyAlgorithm needs requestor wst:Entropy".into(),
            ));
        }
        (Some(other), _) => {
            return Err(EngineError::BadRequest(format!(
                "computed key algorithm `{other}` is not supported (only {CK_PSHA1})"
            )));
        }
    }
    Ok(SymmetricRequest {
        requestor_entropy: rst.entropy.clone(),
        bits,
    })
}

/// The token of a `wst:OnBehalfOf`: its type, the credential, and the instance's
/// `invalidateInterimOpenAMSession` for it. The instance must support delegation and list
/// the type in `soap-delegation-config`.
fn on_behalf_of(
    instance: &crate::engine::Instance,
    rst: &wstrust::Rst,
    input: &[u8],
    source: Option<std::net::IpAddr>,
) -> Result<Option<(TokenType, Credential, bool)>, SoapFailure> {
    let Some(el) = &rst.on_behalf_of else {
        return Ok(None);
    };
    let mut h = RequestHeaders::default();
    soap::read_security(el, &mut h)?;
    h.read_spans(input);
    let (t, cred) = if let Some(ut) = h.username_token {
        let cred = match (ut.digest, ut.nonce, ut.created) {
            (true, Some(nonce), Some(created)) => Credential::PasswordDigest {
                username: ut.username,
                digest: ut.password,
                nonce,
                created,
                source,
            },
            (true, _, _) => {
                return Err(EngineError::InvalidRequest(
                    "a PasswordDigest UsernameToken needs wsse:Nonce and wsu:Created".into(),
                )
                .into());
            }
            (false, nonce, created) => Credential::PasswordText {
                username: ut.username,
                password: ut.password,
                nonce,
                created,
                source,
            },
        };
        (TokenType::Username, cred)
    } else if let Some(token) = h.session_token {
        (TokenType::OpenAm, Credential::Session { token })
    } else if let Some(token) = h.jwt {
        (TokenType::OpenIdConnect, Credential::OidcIdToken { token })
    } else if let Some(xml) = h.saml_assertion {
        (TokenType::Saml2, Credential::Saml2Assertion { xml })
    } else {
        return Err(EngineError::InvalidRequest(
            "wst:OnBehalfOf holds no token this STS reads (UsernameToken, OpenAM session, id_token, SAML 2.0 assertion)".into(),
        )
        .into());
    };
    let invalidate = instance.delegation(t).ok_or_else(|| {
        EngineError::BadRequest(format!(
            "this instance does not accept {} tokens in wst:OnBehalfOf (delegation-relationship-supported, soap-delegation-config)",
            t.name()
        ))
    })?;
    Ok(Some((t, cred, invalidate)))
}

fn issue(
    state: &AppState,
    instance: &crate::engine::Instance,
    http: &SoapHttp,
    headers: &RequestHeaders,
    rst: &wstrust::Rst,
    body: &[u8],
    signer: Option<Vec<u8>>,
) -> Result<(String, Option<Durable>), SoapFailure> {
    // With OnBehalfOf, the requester authenticates and vouches for the subject of the
    // OnBehalfOf token, which the assertion is about (sender-vouches).
    let (cred, invalidate, vouched) = match on_behalf_of(
        instance,
        rst,
        body,
        state.client_ip(&http.peer, &http.headers),
    )? {
        Some((_, cred, invalidate)) => {
            let requester = authenticated(state, instance, http, headers)?;
            (cred, invalidate, Some(requester))
        }
        None => {
            let (input, cred) = credential(state, instance, http, headers)?;
            (cred, instance.invalidate_interim(input), None)
        }
    };
    let token_type_uri = rst.token_type.as_deref().unwrap_or(TOKEN_TYPE_SAML20);
    if let Some(name) = instance.custom.by_uri(token_type_uri) {
        if rst.on_behalf_of.is_some() || rst.delegation.is_some() {
            return Err(EngineError::BadRequest(format!(
                "`{name}` tokens are issued to the requester only, without OnBehalfOf or ActAs"
            ))
            .into());
        }
        return issue_custom(state, instance, http, headers, rst, name, token_type_uri);
    }
    let mut key_type_uri = KEY_TYPE_BEARER;
    let (principal, issued) = state.engine.authenticate_and_issue(
        instance,
        &cred,
        invalidate,
        || {
            if let Some(element) = rst.delegation {
                return Err(EngineError::BadRequest(format!(
                    "wst:{element} (delegation) is not supported yet"
                )));
            }
            let token_type = match token_type_uri {
                TOKEN_TYPE_SAML20 | TOKEN_TYPE_SAML20_NS => TokenType::Saml2,
                TOKEN_TYPE_JWT | TOKEN_TYPE_ID_TOKEN => TokenType::OpenIdConnect,
                other => {
                    return Err(EngineError::BadRequest(format!(
                        "token type `{other}` is not issued here"
                    )));
                }
            };
            let key_type = match rst.key_type.as_deref() {
                None | Some(KEY_TYPE_BEARER) => KeyType::Bearer,
                Some(KEY_TYPE_PUBLIC_KEY) => {
                    let cert = rst.use_key_cert.as_deref().ok_or_else(|| {
                        EngineError::InvalidRequest(
                            "KeyType PublicKey needs wst:UseKey with the client's X.509 certificate"
                                .into(),
                        )
                    })?;
                    KeyType::PublicKey(ProofCertificate::from_base64(cert, state.engine.now())?)
                }
                Some(KEY_TYPE_SYMMETRIC_KEY) => KeyType::Symmetric(symmetric_request(rst)?),
                Some(other) => {
                    return Err(EngineError::BadRequest(format!(
                        "key type `{other}` is not supported (Bearer, PublicKey and SymmetricKey are)"
                    )));
                }
            };
            let key_type = match (&vouched, key_type) {
                (None, k) => k,
                (Some(_), KeyType::Bearer) if token_type == TokenType::Saml2 => {
                    KeyType::SenderVouches
                }
                (Some(_), _) => {
                    return Err(EngineError::BadRequest(
                        "an OnBehalfOf request gets a sender-vouches SAML 2.0 assertion: KeyType Bearer (or none) and a SAML 2.0 TokenType".into(),
                    ));
                }
            };
            // id_tokens are refused by the engine whatever the proof; assertions are bound
            // to a proven key only.
            if let (KeyType::PublicKey(cert), TokenType::Saml2) = (&key_type, token_type) {
                let tls = super::client_cert::chain(instance, &http.headers, &http.peer)
                    .ok()
                    .and_then(|c| c.into_iter().next());
                crate::engine::proof::require_possession(
                    cert,
                    signer.as_deref().into_iter().chain(tls.as_deref()),
                )?;
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
                secure_transport: state.secure_transport,
                session_index: None,
                nonce: None,
            })
        },
    )?;
    tracing::info!(
        instance = %instance.config.subpath(),
        principal = %principal.name,
        vouched_by = vouched.as_ref().map(|p| p.name.as_str()),
        token = %issued.id,
        "issued {token_type_uri}"
    );
    // An id_token travels as a BinarySecurityToken (base64 of its compact form).
    let token_xml = if matches!(token_type_uri, TOKEN_TYPE_JWT | TOKEN_TYPE_ID_TOKEN) {
        wstrust::binary_token_xml(token_type_uri, None, &issued.token)
    } else {
        issued.token.clone()
    };
    let body = wstrust::write_issue_response(&wstrust::IssuedTokenResponse {
        context: rst.context.as_deref(),
        token_type_uri,
        token_xml: &token_xml,
        token_id: &issued.id,
        created: issued.created,
        expires: issued.expires,
        applies_to: issued.audience.as_deref(),
        key_type: key_type_uri,
        proof: issued.proof.as_ref(),
        custom: false,
    });
    Ok((body, issued.durable))
}

/// Issue of a custom token type: the requester's own token goes to the type's provider.
fn issue_custom(
    state: &AppState,
    instance: &crate::engine::Instance,
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
        return Err(EngineError::BadRequest(format!(
            "`{name}` tokens are bearer tokens: KeyType {KEY_TYPE_BEARER} (or none)"
        ))
        .into());
    }
    // What a REST caller would have sent, without the secrets.
    let mut input_state = json!({"token_type": input.name()});
    match &cred {
        Credential::PasswordText { username, .. } | Credential::PasswordDigest { username, .. } => {
            input_state["username"] = json!(username);
        }
        Credential::OidcIdToken { token } => input_state["oidc_id_token"] = json!(token.expose()),
        Credential::Saml2Assertion { xml } => {
            input_state["saml2_token"] = json!(String::from_utf8_lossy(xml))
        }
        Credential::Session { .. } | Credential::X509 { .. } => {}
    }
    let mut output_state = json!({"token_type": name, "token_type_uri": token_type_uri});
    if let Some(a) = &rst.applies_to {
        output_state["applies_to"] = Value::String(a.clone());
    }
    let (principal, issued) = state.engine.translate_custom(
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
        principal = %principal.name,
        token = %issued.id,
        "issued {token_type_uri}"
    );
    let token_xml = wstrust::binary_token_xml(token_type_uri, Some(&issued.id), &issued.token);
    let body = wstrust::write_issue_response(&wstrust::IssuedTokenResponse {
        context: rst.context.as_deref(),
        token_type_uri,
        token_xml: &token_xml,
        token_id: &issued.id,
        created: issued.created,
        expires: issued.expires,
        applies_to: rst.applies_to.as_deref(),
        key_type: KEY_TYPE_BEARER,
        proof: None,
        custom: true,
    });
    Ok((body, issued.durable))
}
