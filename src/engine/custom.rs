//! Custom token types in the engine: an instance's validators and providers by type name,
//! the transformations that run them, and validation and cancellation of what they issued.
//! What a plug-in answers is checked here like any other untrusted input.

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

use super::issue::InterimSession;
use super::{
    Authenticated, Credential, Engine, EngineError, IssueRequest, Issued, Principal,
    ResolvedInstance, TokenTarget, Validation,
};
use crate::instance::resolve::custom::CustomProvider;
use crate::instance::{MAX_LIFETIME_SECS, TokenType};
use crate::plugin::{CallError, PluginError, ProvideRequest, ValidateRequest};
use crate::secret::ct_eq;

/// Longest principal name a validator may return.
const MAX_PRINCIPAL: usize = 256;
/// Largest token a provider may return.
pub const MAX_CUSTOM_TOKEN_BYTES: usize = 64 * 1024;
/// Largest extra state (serialised) a validator may return.
const MAX_EXTRA_STATE_BYTES: usize = 64 * 1024;
/// Most attributes a validator may return, and the most values in all.
const MAX_ATTRIBUTE_VALUES: usize = 1_000;

fn builtin(name: &str) -> Option<TokenType> {
    TokenType::from_name(name)
}

/// The input of a transformation with a custom side.
#[derive(Debug)]
pub enum CustomInput {
    /// A built-in input token, and its JSON state (secrets removed) for the provider.
    Builtin {
        token_type: TokenType,
        credential: Credential,
        state: Value,
    },
    /// A custom token: its type name and `input_token_state`.
    Custom { name: String, state: Value },
}

/// The output of a transformation with a custom side.
#[derive(Debug)]
pub enum CustomOutput {
    Builtin(Box<IssueRequest>),
    /// A custom token: its type name and `output_token_state`.
    Custom {
        name: String,
        state: Value,
    },
}

/// `state` without the credential secrets of a built-in input type.
pub fn without_secrets(token_type: TokenType, state: &Value) -> Value {
    let mut state = state.clone();
    if let Value::Object(m) = &mut state {
        match token_type {
            TokenType::Username => {
                m.remove("password");
            }
            TokenType::OpenAm => {
                m.remove("session_id");
            }
            _ => {}
        }
    }
    state
}

/// What a failed plug-in call becomes: refusals go to the caller, failures are the
/// plug-in's (HTTP 502), too many calls at once is load (HTTP 503).
fn call_failed(
    kind: &str,
    name: &str,
    refused: fn(String) -> EngineError,
    e: CallError,
) -> EngineError {
    match e {
        CallError::Plugin(PluginError::Invalid(m)) => refused(format!("{kind} `{name}`: {m}")),
        CallError::Busy(_) => EngineError::Busy(format!(
            "the custom token {kind} `{name}` is busy; retry later"
        )),
        other => {
            tracing::warn!(plugin = %name, error = %other, "custom token {kind} failed");
            EngineError::Plugin(format!("the custom token {kind} `{name}` failed: {other}"))
        }
    }
}

fn garbage(kind: &str, name: &str, m: &str) -> EngineError {
    tracing::warn!(plugin = %name, "custom token {kind} answered garbage: {m}");
    EngineError::Plugin(format!(
        "the custom token {kind} `{name}` failed: its answer is malformed: {m}"
    ))
}

impl Engine {
    /// A transformation with a custom input or output type (`custom-token-transforms`): the
    /// input is validated by its validator (or authenticated like any built-in input), the
    /// output made by its provider (or issued like any built-in token).
    pub fn translate_custom(
        &self,
        instance: &ResolvedInstance,
        input: CustomInput,
        output: CustomOutput,
        invalidate_interim: bool,
    ) -> Result<(Authenticated<Principal>, Issued), EngineError> {
        let (principal, extra_state, input_type, input_state, session_input) = match input {
            CustomInput::Builtin {
                token_type,
                credential,
                state,
            } => {
                let principal = self.authenticate_for(instance, &credential)?;
                let session = match &credential {
                    Credential::Session { token } => Some(token.clone()),
                    _ => None,
                };
                (
                    principal,
                    None,
                    token_type.name().to_owned(),
                    state,
                    session,
                )
            }
            CustomInput::Custom { name, state } => {
                let (principal, extra) = self.validate_custom(instance, &name, &state)?;
                (principal, extra, name, state, None)
            }
        };
        let (name, output_state) = match output {
            CustomOutput::Builtin(req) => {
                let issued = self.issue_for(
                    instance,
                    &principal,
                    session_input.is_some(),
                    invalidate_interim,
                    *req,
                )?;
                return Ok((principal, issued));
            }
            CustomOutput::Custom { name, state } => (name, state),
        };
        let provider = instance.custom.providers.get(&name).ok_or_else(|| {
            EngineError::Unsupported(format!("`{name}` tokens are not issued by this instance"))
        })?;
        // The provider may use the principal's session: the caller's own, or the interim
        // one when it outlives the request.
        let interim = match session_input {
            None if !invalidate_interim => {
                Some(InterimSession::create(&self.sessions, &principal)?)
            }
            _ => None,
        };
        let session = session_input.or_else(|| interim.as_ref().and_then(|s| s.token().cloned()));
        let request = ProvideRequest {
            realm: principal.realm().to_owned(),
            instance: instance.config.subpath(),
            principal: principal.name().to_owned(),
            attributes: principal.attributes().clone(),
            session,
            extra_state,
            input_token_type: input_type,
            input_token_state: input_state,
            output_token_type: name.clone(),
            output_token_state: output_state,
            now: self.clock.now().into(),
        };
        let issued = self.provide(instance, &principal, &name, provider, request)?;
        if let Some(s) = interim {
            s.commit();
        }
        Ok((principal, issued))
    }

    /// Runs the validator of the custom type `name` on `state`; the principal it names
    /// must be usable in the instance's realm (see `known_principal`).
    fn validate_custom(
        &self,
        instance: &ResolvedInstance,
        name: &str,
        state: &Value,
    ) -> Result<(Authenticated<Principal>, Option<Value>), EngineError> {
        let validator = instance.custom.validators.get(name).ok_or_else(|| {
            EngineError::Unsupported(format!("`{name}` tokens are not accepted by this instance"))
        })?;
        let plugin = validator.name().to_owned();
        let request = ValidateRequest {
            realm: instance.config.realm().to_owned(),
            instance: instance.config.subpath(),
            token_type: name.to_owned(),
            input_token_state: state.clone(),
            now: self.clock.now().into(),
        };
        let v = validator
            .call(move |p| p.validate(&request))
            .map_err(|e| call_failed("validator", &plugin, EngineError::refused, e))?;
        let bad = |m: &str| garbage("validator", &plugin, m);
        if v.principal.is_empty()
            || v.principal.len() > MAX_PRINCIPAL
            || v.principal.chars().any(char::is_control)
        {
            return Err(bad(&format!(
                "the principal must be 1 to {MAX_PRINCIPAL} bytes without control characters"
            )));
        }
        let values: usize = v.attributes.values().map(|x| x.len().max(1)).sum();
        if values > MAX_ATTRIBUTE_VALUES
            || v.attributes
                .iter()
                .any(|(k, vs)| k.is_empty() || k.len() > 256 || vs.iter().any(|x| x.len() > 4096))
        {
            return Err(bad("too many or too large attributes"));
        }
        if v.extra_state
            .as_ref()
            .is_some_and(|s| s.to_string().len() > MAX_EXTRA_STATE_BYTES)
        {
            return Err(bad(&format!(
                "the extra state exceeds {MAX_EXTRA_STATE_BYTES} bytes"
            )));
        }
        let fail = |m: &str| EngineError::refused(format!("{name} token: {m}"));
        let principal = self.vouched_by_plugin(instance, &v.principal, v.attributes, fail)?;
        Ok((principal, v.extra_state))
    }

    /// Runs a provider, checks its token and persists it as the instance says.
    fn provide(
        &self,
        instance: &ResolvedInstance,
        principal: &Principal,
        name: &str,
        provider: &CustomProvider,
        request: ProvideRequest,
    ) -> Result<Issued, EngineError> {
        let plugin = provider.plugin.name().to_owned();
        let provided = provider
            .plugin
            .call(move |p| p.create_token(&request))
            .map_err(|e| call_failed("provider", &plugin, EngineError::Unsupported, e))?;
        if provided.token.is_empty() || provided.token.len() > MAX_CUSTOM_TOKEN_BYTES {
            return Err(garbage(
                "provider",
                &plugin,
                &format!("the token must be 1 to {MAX_CUSTOM_TOKEN_BYTES} bytes"),
            ));
        }
        let lifetime = provided
            .lifetime
            .unwrap_or(crate::plugin::DEFAULT_LIFETIME)
            .as_secs()
            .clamp(1, MAX_LIFETIME_SECS);
        let now = super::issue::truncate_to_seconds(self.clock.now());
        let expires = now + Duration::seconds(i64::try_from(lifetime).unwrap_or(600));
        // An NCName, so that SOAP can carry it as the token's wsu:Id.
        let id = format!("ct-{}", uuid::Uuid::new_v4());
        let durable = self.persist(
            instance,
            principal,
            &id,
            name,
            now,
            expires,
            &provided.token,
        )?;
        Ok(Issued {
            id,
            token: provided.token,
            created: now,
            expires,
            audience: None,
            durable,
            proof: None,
        })
    }

    /// Validate of a custom token (by value, or a reference to one): live if this
    /// persisting instance stored exactly this token and it has not expired or been
    /// cancelled. None: the target is not a custom token.
    pub(super) fn validate_custom_token(
        &self,
        instance: &ResolvedInstance,
        target: &TokenTarget,
    ) -> Result<Option<Validation>, EngineError> {
        let (rec, presented) = match target {
            TokenTarget::Custom { id, token, .. } => (
                self.tokens.get_token(id).map_err(EngineError::store)?,
                Some(token),
            ),
            TokenTarget::Reference(id) if instance.config.persist_issued_tokens() => {
                match self.tokens.get_token(id).map_err(EngineError::store)? {
                    Some(rec) if builtin(&rec.token_type).is_none() => (Some(rec), None),
                    _ => return Ok(None),
                }
            }
            _ => return Ok(None),
        };
        let verdict = self.live_custom(
            instance,
            target,
            rec.as_ref(),
            presented.map(String::as_str),
            self.clock.now(),
        );
        Ok(Some(match verdict {
            Ok(()) => Validation {
                valid: true,
                reason: "the token is valid".into(),
            },
            Err(reason) => Validation {
                valid: false,
                reason: reason.into(),
            },
        }))
    }

    fn live_custom(
        &self,
        instance: &ResolvedInstance,
        target: &TokenTarget,
        rec: Option<&crate::store::TokenRecord>,
        presented: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), &'static str> {
        if !instance.config.persist_issued_tokens() {
            return Err(
                "this instance does not persist tokens, and a custom token can only be validated against the stored copy",
            );
        }
        let Some(rec) = rec else {
            return Err("no token with this id is stored (unknown, expired or cancelled)");
        };
        if rec.sts_id != instance.config.subpath() {
            return Err("the token was not issued by this instance");
        }
        if let TokenTarget::Custom { token_type, .. } = target
            && &rec.token_type != token_type
        {
            return Err("the token was not issued by this instance");
        }
        if presented.is_some_and(|t| !ct_eq(t.as_bytes(), rec.token.as_bytes())) {
            return Err("the token was not issued by this instance");
        }
        if rec.expires_ms <= now.timestamp_millis() {
            return Err("the token has expired");
        }
        Ok(())
    }

    /// Cancel of a custom token by value: the id it names, if it is this instance's token.
    pub(super) fn custom_cancel_id(
        &self,
        instance: &ResolvedInstance,
        target: &TokenTarget,
    ) -> Result<String, EngineError> {
        let TokenTarget::Custom { id, token, .. } = target else {
            return Err(EngineError::Invalid("not a custom token".into()));
        };
        let rec = self.tokens.get_token(id).map_err(EngineError::store)?;
        // Expired tokens can still be cancelled: only identity matters here.
        self.live_custom(
            instance,
            target,
            rec.as_ref(),
            Some(token),
            DateTime::<Utc>::MIN_UTC,
        )
        .map_err(|m| EngineError::Invalid(m.into()))?;
        Ok(id.clone())
    }
}
