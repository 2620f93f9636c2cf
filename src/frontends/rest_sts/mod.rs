//! The REST STS: `POST /rest-sts/{realm}/{element}?_action=translate|validate|cancel` with the
//! JSON token states of AM's reference pages. Only JSON is read here; authentication,
//! issuing, validation and cancellation are the engine's, exactly as for SOAP.

use serde_json::{Map, Value, json};

use crate::config::RestCaller;
use crate::engine::custom::{CustomInput, CustomOutput, without_secrets};
use crate::engine::{
    Authenticated, Canceller, Credential, EngineError, IssueRequest, KeyType, Principal,
    ProofCertificate,
    TokenTarget,
};
use crate::instance::TokenType;
use crate::secret::Secret;
use crate::store::Durable;

use crate::frontends::Context;
use crate::frontends::admin::guard::admin;
use crate::frontends::crest::{JsonFailure, action, is_json, json_reply, refuse_content_encoding};
use crate::http::{Fallback, HttpReply, Outcome, Request};

fn bad(m: impl Into<String>) -> JsonFailure {
    JsonFailure::BadRequest(m.into())
}

fn ok(body: Value) -> HttpReply {
    HttpReply::json(200, &body)
}

/// Handles one request under `/rest-sts/`.
pub fn handle(state: &Context, req: &Request) -> Outcome {
    let caller = state.rest_sts_caller;
    if let Some(reply) = refuse_content_encoding(&req.headers) {
        return Outcome {
            reply,
            pending: None,
        };
    }
    match route(state, req, caller) {
        Ok((reply, pending)) => Outcome {
            reply,
            pending: pending.map(|d| {
                let lost: Fallback = Box::new(|e| {
                    json_reply(&match EngineError::store(e) {
                        EngineError::Unavailable(m) => JsonFailure::Engine(EngineError::Unavailable(m)),
                        _ => JsonFailure::Internal("the issued token could not be stored".into()),
                    })
                });
                (d, lost)
            }),
        },
        Err(f) => Outcome {
            reply: json_reply(&f),
            pending: None,
        },
    }
}

fn route(
    state: &Context,
    req: &Request,
    caller: RestCaller,
) -> Result<(HttpReply, Option<Durable>), JsonFailure> {
    let subpath = req.tail.trim_matches('/');
    if req.method != warp::http::Method::POST {
        return Err(JsonFailure::MethodNotAllowed);
    }
    // Authenticated before the instance is looked up, so that anonymous callers cannot probe
    // which instances exist; to a realm administrator, other realms' instances and missing
    // ones look alike (403).
    let admin = match caller {
        RestCaller::Admin => Some(admin(state, &req.headers)?),
        RestCaller::Anyone => None,
    };
    let instance = state.rest_instance(subpath);
    let instance = match (&admin, instance) {
        (Some(a), Some(i)) if !a.administers(i.config.realm()) => {
            return Err(JsonFailure::Forbidden);
        }
        (Some(a), None) if !a.administers("/") => return Err(JsonFailure::Forbidden),
        (_, i) => i.ok_or(JsonFailure::NotFound)?,
    };
    let action = action(&req.query)
        .ok_or_else(|| bad("the _action parameter is required: translate, validate or cancel"))?;
    if !matches!(action.as_str(), "translate" | "validate" | "cancel") {
        return Err(bad(format!(
            "action `{action}` is not supported: use translate, validate or cancel"
        )));
    }
    if !is_json(&req.headers) {
        return Err(JsonFailure::UnsupportedMediaType);
    }
    let body: Value = serde_json::from_slice(&req.body)
        .map_err(|e| bad(format!("the body is not valid JSON: {e}")))?;
    let Value::Object(body) = body else {
        return Err(bad("the body must be a JSON object"));
    };
    crate::metrics::note_instance(subpath);
    crate::metrics::note_operation(match action.as_str() {
        "translate" => "translate",
        "validate" => "validate",
        _ => "cancel",
    });
    match action.as_str() {
        "translate" => translate(state, &instance, &body, req),
        "validate" => {
            let target = token_state(&body, "validated_token_state")?;
            let v = state.engine.validate(&instance, &target)?;
            Ok((ok(json!({"token_valid": v.valid})), None))
        }
        _ => {
            let state_obj = object(&body, "cancelled_token_state")?;
            let kind = token_type(state_obj, "cancelled_token_state")?;
            let target = token_state(&body, "cancelled_token_state")?;
            let id = match caller {
                // Checked above: an administrator of the instance's realm.
                RestCaller::Admin => {
                    let (realm, name) = admin.as_ref().map(|a| a.by()).unwrap_or(("/", ""));
                    state.engine.cancel(
                        &instance,
                        &target,
                        Canceller::Administrator { realm, name },
                    )?
                }
                RestCaller::Anyone => {
                    let caller = session_caller(state, req)?;
                    state
                        .engine
                        .cancel(&instance, &target, Canceller::Principal(&caller))?
                }
            };
            tracing::info!(instance = %instance.config.subpath(), token = %id, "cancelled token");
            Ok((
                ok(json!({"result": format!("{} token cancelled successfully.", kind.name())})),
                None,
            ))
        }
    }
}

/// The caller of a cancel when anyone may call the REST STS: the user of the SSO session in
/// `iPlanetDirectoryPro` (header or cookie), as AM's examples send it; without one, 401.
fn session_caller(state: &Context, req: &Request) -> Result<Authenticated<Principal>, JsonFailure> {
    let token = state
        .session_token(&req.headers)
        .ok_or(JsonFailure::Unauthorized("Access Denied"))?;
    match state.engine.session_principal(token.expose(), None)? {
        Some(s) => Ok(s.into_principal()),
        None => Err(JsonFailure::Unauthorized("Access Denied")),
    }
}

fn object<'a>(m: &'a Map<String, Value>, key: &str) -> Result<&'a Map<String, Value>, JsonFailure> {
    match m.get(key) {
        Some(Value::Object(o)) => Ok(o),
        Some(_) => Err(bad(format!("{key} must be a JSON object"))),
        None => Err(bad(format!("{key} is required"))),
    }
}

fn string<'a>(m: &'a Map<String, Value>, parent: &str, key: &str) -> Result<&'a str, JsonFailure> {
    match m.get(key) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s),
        Some(Value::String(_)) => Err(bad(format!("{parent}.{key} must not be empty"))),
        Some(_) => Err(bad(format!("{parent}.{key} must be a string"))),
        None => Err(bad(format!("{parent}.{key} is required"))),
    }
}

fn token_type(m: &Map<String, Value>, parent: &str) -> Result<TokenType, JsonFailure> {
    let name = string(m, parent, "token_type")?;
    serde_json::from_value(json!(name)).map_err(|_| {
        bad(format!(
            "{parent}.token_type `{name}` is not a token type this endpoint validates or cancels (SAML2, SAML1, OPENIDCONNECT; custom tokens are validated and cancelled over SOAP or /sts-tokengen)"
        ))
    })
}

/// The token a validate or cancel names: `saml2_token` or `oidc_id_token`.
fn token_state(body: &Map<String, Value>, key: &str) -> Result<TokenTarget, JsonFailure> {
    let st = object(body, key)?;
    match token_type(st, key)? {
        TokenType::Saml2 => Ok(TokenTarget::Token(
            string(st, key, "saml2_token")?.as_bytes().to_vec(),
        )),
        TokenType::Saml1 => Ok(TokenTarget::Token(
            string(st, key, "saml1_token")?.as_bytes().to_vec(),
        )),
        TokenType::OpenIdConnect => Ok(TokenTarget::Jwt(
            string(st, key, "oidc_id_token")?.to_owned(),
        )),
        other => Err(bad(format!(
            "{key}.token_type {}: only SAML2, SAML1 and OPENIDCONNECT tokens are validated and cancelled",
            other.name()
        ))),
    }
}

fn translate(
    state: &Context,
    instance: &crate::instance::ResolvedInstance,
    body: &Map<String, Value>,
    req: &Request,
) -> Result<(HttpReply, Option<Durable>), JsonFailure> {
    let input = object(body, "input_token_state")?;
    let output = object(body, "output_token_state")?;
    let in_name = string(input, "input_token_state", "token_type")?;
    let out_name = string(output, "output_token_state", "token_type")?;
    let (in_type, out_type) = (
        TokenType::from_name(in_name),
        TokenType::from_name(out_name),
    );
    let unsupported = || {
        bad(format!(
            "The desired transformation, from {in_name} to {out_name}, is not a supported token translation of this instance (supported-token-transforms, custom-token-transforms)"
        ))
    };
    let builtin = in_type
        .zip(out_type)
        .and_then(|(i, o)| Some((i, o, instance.transform(i, o)?)));
    let (principal, mut issued) = if let Some((in_type, out_type, transform)) = builtin {
        let cred = credential(state, instance, in_type, input, req)?;
        let issue = issue_request(state, out_type, output)?;
        state.engine.authenticate_and_issue(
            instance,
            &cred,
            transform.invalidate_interim_session,
            || Ok(issue),
        )?
    } else {
        let transform = instance
            .custom_transform(in_name, out_name)
            .ok_or_else(unsupported)?;
        let custom_input = match in_type {
            Some(t) => CustomInput::Builtin {
                token_type: t,
                credential: credential(state, instance, t, input, req)?,
                state: without_secrets(t, &Value::Object(input.clone())),
            },
            None => CustomInput::Custom {
                name: in_name.to_owned(),
                state: Value::Object(input.clone()),
            },
        };
        let custom_output = match out_type {
            Some(t) => CustomOutput::Builtin(Box::new(issue_request(state, t, output)?)),
            None => CustomOutput::Custom {
                name: out_name.to_owned(),
                state: Value::Object(output.clone()),
            },
        };
        state.engine.translate_custom(
            instance,
            custom_input,
            custom_output,
            transform.invalidate_interim_session,
        )?
    };
    tracing::info!(
        instance = %instance.config.subpath(),
        principal = %principal.name(),
        token = %issued.id,
        "translated {in_name} to {out_name}"
    );
    crate::frontends::audited::issued(
        state,
        instance,
        &principal,
        out_name,
        in_name,
        &issued.id,
        &mut issued.durable,
    )?;
    Ok((ok(json!({"issued_token": issued.token})), issued.durable))
}

/// The credential of a built-in input token state.
fn credential(
    state: &Context,
    instance: &crate::instance::ResolvedInstance,
    in_type: TokenType,
    input: &Map<String, Value>,
    req: &Request,
) -> Result<Credential, JsonFailure> {
    Ok(match in_type {
        TokenType::Username => Credential::PasswordText {
            username: string(input, "input_token_state", "username")?.to_owned(),
            password: Secret::new(string(input, "input_token_state", "password")?.to_owned()),
            nonce: None,
            created: None,
            source: state.client_ip(&req.peer, &req.headers),
        },
        TokenType::OpenAm => Credential::Session {
            token: Secret::new(string(input, "input_token_state", "session_id")?.to_owned()),
        },
        TokenType::OpenIdConnect => Credential::OidcIdToken {
            token: Secret::new(string(input, "input_token_state", "oidc_id_token")?.to_owned()),
        },
        TokenType::X509 => Credential::X509(crate::http::client_cert::chain(
            instance,
            &req.headers,
            &req.peer,
        )?),
        other => {
            return Err(bad(format!(
                "input token type {} is not supported yet",
                other.name()
            )));
        }
    })
}

/// The issue request of a built-in output token state.
fn issue_request(
    state: &Context,
    out_type: TokenType,
    output: &Map<String, Value>,
) -> Result<IssueRequest, JsonFailure> {
    let mut req = IssueRequest::new(out_type);
    match out_type {
        // SAML 1.1 takes the same confirmations; the engine refuses SENDER_VOUCHES for it.
        TokenType::Saml2 | TokenType::Saml1 => match string(
            output,
            "output_token_state",
            "subject_confirmation",
        )? {
            "BEARER" => {}
            "SENDER_VOUCHES" => req.key_type = KeyType::SenderVouches,
            "HOLDER_OF_KEY" => {
                let proof = object(output, "proof_token_state").map_err(|_| {
                    bad("output_token_state.proof_token_state (with base64EncodedCertificate) is required for HOLDER_OF_KEY")
                })?;
                let b64 = string(
                    proof,
                    "output_token_state.proof_token_state",
                    "base64EncodedCertificate",
                )?;
                req.key_type =
                    KeyType::PublicKey(ProofCertificate::from_base64(b64, state.engine.now())?);
            }
            m => {
                return Err(bad(format!(
                    "output_token_state.subject_confirmation `{m}` is not BEARER, SENDER_VOUCHES or HOLDER_OF_KEY"
                )));
            }
        },
        TokenType::OpenIdConnect => {
            req.nonce = Some(string(output, "output_token_state", "nonce")?.to_owned());
            // AM's gate: the caller must state that the token may expose the identity.
            match output.get("allow_access") {
                Some(Value::Bool(true)) => {}
                Some(Value::Bool(false)) => {
                    return Err(bad(
                        "output_token_state.allow_access must be true: an id_token exposes the caller's identity",
                    ));
                }
                Some(_) => return Err(bad("output_token_state.allow_access must be a boolean")),
                None => return Err(bad("output_token_state.allow_access is required")),
            }
        }
        _ => {}
    }
    Ok(req)
}
