//! Custom token types in the engine: an instance's validators and providers by type name,
//! the transformations that run them, and validation and cancellation of what they issued.
//! What a plug-in answers is checked here like any other untrusted input.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

use super::{
    Credential, Engine, EngineError, Instance, IssueRequest, Issued, MAX_LIFETIME_SECS, Principal,
    PrincipalSource, TokenTarget, Validation,
};
use crate::instance::{CustomTokenOperation, InstanceConfig, TokenType};
use crate::plugin::{
    CallError, Guarded, PluginError, Plugins, ProvideRequest, TokenProvider, TokenValidator,
    ValidateRequest,
};
use crate::secret::ct_eq;

/// Longest custom type name.
const MAX_NAME: usize = 64;
/// Longest principal name a validator may return.
const MAX_PRINCIPAL: usize = 256;
/// Largest token a provider may return.
pub const MAX_CUSTOM_TOKEN_BYTES: usize = 64 * 1024;
/// Largest extra state (serialised) a validator may return.
const MAX_EXTRA_STATE_BYTES: usize = 64 * 1024;
/// Most attributes a validator may return, and the most values in all.
const MAX_ATTRIBUTE_VALUES: usize = 1_000;

/// A provider of a custom type.
#[derive(Debug, Clone)]
pub struct CustomProvider {
    pub plugin: Arc<Guarded<dyn TokenProvider>>,
    /// SOAP: the `wst:TokenType` URI.
    pub token_type_uri: Option<String>,
}

/// The custom token types of an instance.
#[derive(Debug, Clone, Default)]
pub struct CustomTypes {
    validators: BTreeMap<String, Arc<Guarded<dyn TokenValidator>>>,
    providers: BTreeMap<String, CustomProvider>,
}

impl CustomTypes {
    /// Whether `name` is a custom type with a validator.
    pub fn validates(&self, name: &str) -> bool {
        self.validators.contains_key(name)
    }

    /// Whether `name` is a custom type with a provider.
    pub fn provides(&self, name: &str) -> bool {
        self.providers.contains_key(name)
    }

    /// The custom type a SOAP client names by `wst:TokenType` URI.
    pub fn by_uri(&self, uri: &str) -> Option<&str> {
        self.providers
            .iter()
            .find(|(_, p)| p.token_type_uri.as_deref() == Some(uri))
            .map(|(name, _)| name.as_str())
    }

    /// The `wst:TokenType` URI of the custom type `name`.
    pub fn uri(&self, name: &str) -> Option<&str> {
        self.providers.get(name)?.token_type_uri.as_deref()
    }

    /// URIs of every custom type, for WSDL and messages.
    pub fn uris(&self) -> impl Iterator<Item = (&str, &str)> {
        self.providers
            .iter()
            .filter_map(|(n, p)| Some((n.as_str(), p.token_type_uri.as_deref()?)))
    }
}

fn builtin(name: &str) -> Option<TokenType> {
    TokenType::from_name(name)
}

fn name_ok(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
}

/// Resolves `custom-token-validators`, `-providers` and `-transforms` against the registered
/// plug-ins; every problem goes to `problems`.
pub fn resolve(
    config: &InstanceConfig,
    plugins: &Plugins,
    problems: &mut Vec<String>,
) -> CustomTypes {
    let mut out = CustomTypes::default();
    let (validators, providers): (&[CustomTokenOperation], &[CustomTokenOperation]) = match config {
        InstanceConfig::Rest(c) => (&c.custom_token_validators, &c.custom_token_providers),
        InstanceConfig::Soap(c) => (&[], &c.custom_token_providers),
    };
    let soap = config.soap().is_some();
    let check_name = |key: &str,
                      i: usize,
                      op: &CustomTokenOperation,
                      problems: &mut Vec<String>| {
        let name = &op.token_name;
        if !name_ok(name) {
            problems.push(format!(
                "{key}[{i}].customTokenName `{name}` must be 1 to {MAX_NAME} letters, digits, _ - or ."
            ));
            false
        } else if builtin(&name.to_ascii_uppercase()).is_some() {
            problems.push(format!(
                "{key}[{i}].customTokenName `{name}` is a built-in token type"
            ));
            false
        } else {
            true
        }
    };
    for (i, op) in validators.iter().enumerate() {
        let key = "custom-token-validators";
        if !check_name(key, i, op, problems) {
            continue;
        }
        if op.token_type_uri.is_some() {
            problems.push(format!(
                "{key}[{i}].tokenTypeUri applies to providers of SOAP instances"
            ));
        }
        match plugins.validator(&op.operation) {
            None => problems.push(format!(
                "{key}[{i}].customOperationClassName `{}` is not a registered validator (registered: {})",
                op.operation,
                list(&plugins.names(false))
            )),
            Some(v) => {
                if out.validators.insert(op.token_name.clone(), v).is_some() {
                    problems.push(format!(
                        "{key}[{i}]: a second validator for `{}`",
                        op.token_name
                    ));
                }
            }
        }
    }
    for (i, op) in providers.iter().enumerate() {
        let key = "custom-token-providers";
        if !check_name(key, i, op, problems) {
            continue;
        }
        let uri = match (&op.token_type_uri, soap) {
            (Some(u), true) => {
                let u = u.trim();
                if u.is_empty() || !u.contains(':') || u.chars().any(char::is_whitespace) {
                    problems.push(format!("{key}[{i}].tokenTypeUri `{u}` is not a URI"));
                } else if is_builtin_uri(u) {
                    problems.push(format!(
                        "{key}[{i}].tokenTypeUri `{u}` is the URI of a built-in token type"
                    ));
                } else if out.by_uri(u).is_some() {
                    problems.push(format!("{key}[{i}].tokenTypeUri `{u}` is used twice"));
                }
                Some(u.to_owned())
            }
            (None, true) => {
                problems.push(format!(
                    "{key}[{i}].tokenTypeUri is required: SOAP clients name the type by URI in wst:TokenType"
                ));
                None
            }
            (Some(_), false) => {
                problems.push(format!(
                    "{key}[{i}].tokenTypeUri applies to SOAP instances only"
                ));
                None
            }
            (None, false) => None,
        };
        match plugins.provider(&op.operation) {
            None => problems.push(format!(
                "{key}[{i}].customOperationClassName `{}` is not a registered provider (registered: {})",
                op.operation,
                list(&plugins.names(true))
            )),
            Some(plugin) => {
                let p = CustomProvider {
                    plugin,
                    token_type_uri: uri,
                };
                if out.providers.insert(op.token_name.clone(), p).is_some() {
                    problems.push(format!(
                        "{key}[{i}]: a second provider for `{}`",
                        op.token_name
                    ));
                }
            }
        }
    }
    if let InstanceConfig::Rest(c) = config {
        let mut seen = std::collections::HashSet::new();
        for (i, t) in c.custom_token_transforms.iter().enumerate() {
            let key = format!("custom-token-transforms[{i}]");
            let input_ok = match builtin(&t.input) {
                Some(
                    TokenType::Username
                    | TokenType::OpenAm
                    | TokenType::OpenIdConnect
                    | TokenType::X509,
                ) => true,
                Some(other) => {
                    problems.push(format!(
                        "{key}.inputTokenType {} is not supported as input of a REST instance",
                        other.name()
                    ));
                    false
                }
                None if out.validates(&t.input) => true,
                None => {
                    problems.push(format!(
                        "{key}.inputTokenType `{}` has no custom-token-validators entry",
                        t.input
                    ));
                    false
                }
            };
            let output_ok = match builtin(&t.output) {
                Some(TokenType::Saml2 | TokenType::OpenIdConnect) => true,
                Some(other) => {
                    problems.push(format!(
                        "{key}.outputTokenType {} cannot be issued",
                        other.name()
                    ));
                    false
                }
                None if out.provides(&t.output) => true,
                None => {
                    problems.push(format!(
                        "{key}.outputTokenType `{}` has no custom-token-providers entry",
                        t.output
                    ));
                    false
                }
            };
            if input_ok && output_ok && builtin(&t.input).is_some() && builtin(&t.output).is_some()
            {
                problems.push(format!(
                    "{key}: {} to {} involves no custom type; list it in supported-token-transforms",
                    t.input, t.output
                ));
            }
            if !seen.insert((t.input.clone(), t.output.clone())) {
                problems.push(format!(
                    "{key}: {} to {} is listed twice",
                    t.input, t.output
                ));
            }
        }
    }
    out
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

fn is_builtin_uri(u: &str) -> bool {
    use crate::wstrust::{
        TOKEN_TYPE_ID_TOKEN, TOKEN_TYPE_JWT, TOKEN_TYPE_SAML20, TOKEN_TYPE_SAML20_NS,
        TOKEN_TYPE_STATUS,
    };
    [
        TOKEN_TYPE_SAML20,
        TOKEN_TYPE_SAML20_NS,
        TOKEN_TYPE_JWT,
        TOKEN_TYPE_ID_TOKEN,
        TOKEN_TYPE_STATUS,
    ]
    .contains(&u)
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
    Builtin(IssueRequest),
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
            EngineError::PluginFailed(format!("the custom token {kind} `{name}` failed: {other}"))
        }
    }
}

fn garbage(kind: &str, name: &str, m: &str) -> EngineError {
    tracing::warn!(plugin = %name, "custom token {kind} answered garbage: {m}");
    EngineError::PluginFailed(format!(
        "the custom token {kind} `{name}` failed: its answer is malformed: {m}"
    ))
}

impl Engine {
    /// A transformation with a custom input or output type (`custom-token-transforms`): the
    /// input is validated by its validator (or authenticated like any built-in input), the
    /// output made by its provider (or issued like any built-in token).
    pub fn translate_custom(
        &self,
        instance: &Instance,
        input: CustomInput,
        output: CustomOutput,
        invalidate_interim: bool,
    ) -> Result<(Principal, Issued), EngineError> {
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
                    req,
                )?;
                return Ok((principal, issued));
            }
            CustomOutput::Custom { name, state } => (name, state),
        };
        let provider = instance.custom.providers.get(&name).ok_or_else(|| {
            EngineError::BadRequest(format!("`{name}` tokens are not issued by this instance"))
        })?;
        // The provider may use the principal's session: the caller's own, or the interim
        // one when it outlives the request.
        let mut kept = None;
        let session = match session_input {
            Some(token) => Some(token),
            None if !invalidate_interim => {
                let (token, _) = self
                    .sessions
                    .create(&principal.realm, &principal.name, true)
                    .map_err(Self::store_failed)?;
                kept = Some(token.clone());
                Some(token)
            }
            None => None,
        };
        let request = ProvideRequest {
            realm: principal.realm.clone(),
            instance: instance.config.subpath(),
            principal: principal.name.clone(),
            attributes: principal.attributes.clone(),
            session,
            extra_state,
            input_token_type: input_type,
            input_token_state: input_state,
            output_token_type: name.clone(),
            output_token_state: output_state,
        };
        let issued = self.provide(instance, &principal, &name, provider, request);
        if issued.is_err()
            && let Some(token) = kept
        {
            self.sessions
                .logout(token.expose())
                .map_err(Self::store_failed)?;
        }
        Ok((principal, issued?))
    }

    /// Runs the validator of the custom type `name` on `state`; the principal it names
    /// must be usable in the instance's realm (see `known_principal`).
    fn validate_custom(
        &self,
        instance: &Instance,
        name: &str,
        state: &Value,
    ) -> Result<(Principal, Option<Value>), EngineError> {
        let validator = instance.custom.validators.get(name).ok_or_else(|| {
            EngineError::BadRequest(format!("`{name}` tokens are not accepted by this instance"))
        })?;
        let plugin = validator.name().to_owned();
        let request = ValidateRequest {
            realm: instance.config.realm().to_owned(),
            instance: instance.config.subpath(),
            token_type: name.to_owned(),
            input_token_state: state.clone(),
        };
        let v = validator
            .call(move |p| p.validate(&request))
            .map_err(|e| call_failed("validator", &plugin, EngineError::FailedAuthentication, e))?;
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
        let fail = |m: &str| EngineError::FailedAuthentication(format!("{name} token: {m}"));
        let mut principal = self.known_principal(
            instance,
            &v.principal,
            PrincipalSource::FederatedToken,
            fail,
        )?;
        principal.attributes.extend(v.attributes);
        Ok((principal, v.extra_state))
    }

    /// Runs a provider, checks its token and persists it as the instance says.
    fn provide(
        &self,
        instance: &Instance,
        principal: &Principal,
        name: &str,
        provider: &CustomProvider,
        request: ProvideRequest,
    ) -> Result<Issued, EngineError> {
        let plugin = provider.plugin.name().to_owned();
        let provided = provider
            .plugin
            .call(move |p| p.create_token(&request))
            .map_err(|e| call_failed("provider", &plugin, EngineError::BadRequest, e))?;
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
        let now = super::truncate_to_seconds(self.clock.now());
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
        instance: &Instance,
        target: &TokenTarget,
    ) -> Result<Option<Validation>, EngineError> {
        let (rec, presented) = match target {
            TokenTarget::Custom { id, token, .. } => (
                self.tokens.get_token(id).map_err(Self::store_failed)?,
                Some(token),
            ),
            TokenTarget::Reference(id) if instance.config.persist_issued_tokens() => {
                match self.tokens.get_token(id).map_err(Self::store_failed)? {
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
        instance: &Instance,
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
        instance: &Instance,
        target: &TokenTarget,
    ) -> Result<String, EngineError> {
        let TokenTarget::Custom { id, token, .. } = target else {
            return Err(EngineError::InvalidRequest("not a custom token".into()));
        };
        let rec = self.tokens.get_token(id).map_err(Self::store_failed)?;
        // Expired tokens can still be cancelled: only identity matters here.
        self.live_custom(
            instance,
            target,
            rec.as_ref(),
            Some(token),
            DateTime::<Utc>::MIN_UTC,
        )
        .map_err(|m| EngineError::InvalidRequest(m.into()))?;
        Ok(id.clone())
    }
}
