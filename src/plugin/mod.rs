//! Custom token types (AM's "Extending STS to Support Custom Token Types"): validators turn
//! an input token's JSON into a principal, providers turn a principal into a token string.
//!
//! A plug-in is either Rust code registered by name with [`crate::ServerBuilder`], or an
//! HTTP callout configured in `sts.toml` ([`http`]). Instances name plug-ins in
//! `custom-token-validators` / `custom-token-providers` (`customOperationClassName`).
//!
//! One instance of a plug-in serves every request, as in AM, so plug-ins are `Send + Sync`.
//! Each call runs on its own thread ([`Guarded::call`]): a plug-in that panics becomes an
//! error; one that hangs is abandoned after its timeout. At most `max_concurrent` calls of a
//! plug-in are alive at once (abandoned ones included); further calls wait for a slot within
//! their timeout. So a hung plug-in costs a bounded number of threads, and its callers an
//! error after the timeout, while requests that do not use it are not affected.

pub mod http;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;

use crate::secret::Secret;

/// What a validator is asked to check.
///
/// Non-exhaustive so that fields can be added without breaking plug-ins; build one with
/// [`ValidateRequest::new`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ValidateRequest {
    /// The instance's realm, e.g. `/` or `/customers`.
    pub realm: String,
    /// The instance's id (`realm/url-element`, without the leading slash).
    pub instance: String,
    /// The custom token type's name (`customTokenName`).
    pub token_type: String,
    /// The `input_token_state` object exactly as the caller sent it.
    pub input_token_state: Value,
    /// The server's time for this request (its clock, pinned in tests): check expiry
    /// against it rather than reading the system clock.
    pub now: SystemTime,
}

impl ValidateRequest {
    pub fn new(
        realm: impl Into<String>,
        instance: impl Into<String>,
        token_type: impl Into<String>,
        input_token_state: Value,
        now: SystemTime,
    ) -> ValidateRequest {
        ValidateRequest {
            realm: realm.into(),
            instance: instance.into(),
            token_type: token_type.into(),
            input_token_state,
            now,
        }
    }
}

/// A validated custom token: who it stands for. Built with [`Validated::new`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Validated {
    /// The principal's name in the instance's realm. A user of that name in the identity
    /// store lends its attributes; disabled users and administrators are refused.
    pub principal: String,
    /// Attributes for the issued token; they override the identity store's.
    pub attributes: BTreeMap<String, Vec<String>>,
    /// State handed on to the provider of the transformation (AM's "additional state").
    pub extra_state: Option<Value>,
}

impl Validated {
    pub fn new(principal: impl Into<String>) -> Validated {
        Validated {
            principal: principal.into(),
            attributes: BTreeMap::new(),
            extra_state: None,
        }
    }

    pub fn with_attribute(mut self, name: impl Into<String>, values: Vec<String>) -> Validated {
        self.attributes.insert(name.into(), values);
        self
    }

    pub fn with_extra_state(mut self, state: Value) -> Validated {
        self.extra_state = Some(state);
        self
    }
}

/// What a provider is asked to make a token for (AM's `CustomRestTokenProviderParameters`).
///
/// Non-exhaustive so that fields can be added without breaking plug-ins; build one with
/// [`ProvideRequest::new`] and the `with_` methods.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ProvideRequest {
    /// The instance's realm.
    pub realm: String,
    /// The instance's id (`realm/url-element`, without the leading slash).
    pub instance: String,
    /// The principal the input token was validated to.
    pub principal: String,
    /// Its attributes (identity store, then validator).
    pub attributes: BTreeMap<String, Vec<String>>,
    /// The SSO session of the principal (the `OPENAM` input's, or the interim session kept
    /// when `invalidateInterimOpenAMSession` is false); None otherwise. Rust plug-ins only:
    /// it is never sent to an HTTP plug-in.
    pub session: Option<Secret<String>>,
    /// What the custom validator returned as extra state, if one ran.
    pub extra_state: Option<Value>,
    /// The input token's type name, e.g. `USERNAME` or a custom name.
    pub input_token_type: String,
    /// The `input_token_state`, without the credential secrets of built-in types (the
    /// `password` of USERNAME, the `session_id` of OPENAM): the principal is already
    /// authenticated, and a provider has no use for them.
    pub input_token_state: Value,
    /// The custom output type's name.
    pub output_token_type: String,
    /// The `output_token_state` object as the caller sent it.
    pub output_token_state: Value,
    /// The server's time for this request (its clock, pinned in tests): compute expiry from
    /// it rather than reading the system clock.
    pub now: SystemTime,
}

impl ProvideRequest {
    /// A request for a `output_token_type` token for `principal`, with no attributes,
    /// session or extra state, and empty token states.
    pub fn new(
        realm: impl Into<String>,
        instance: impl Into<String>,
        principal: impl Into<String>,
        output_token_type: impl Into<String>,
        now: SystemTime,
    ) -> ProvideRequest {
        ProvideRequest {
            realm: realm.into(),
            instance: instance.into(),
            principal: principal.into(),
            attributes: BTreeMap::new(),
            session: None,
            extra_state: None,
            input_token_type: String::new(),
            input_token_state: Value::Null,
            output_token_type: output_token_type.into(),
            output_token_state: Value::Null,
            now,
        }
    }

    pub fn with_attributes(mut self, attributes: BTreeMap<String, Vec<String>>) -> ProvideRequest {
        self.attributes = attributes;
        self
    }

    pub fn with_session(mut self, session: Secret<String>) -> ProvideRequest {
        self.session = Some(session);
        self
    }

    pub fn with_extra_state(mut self, state: Value) -> ProvideRequest {
        self.extra_state = Some(state);
        self
    }

    /// The input token's type name and its state (without credential secrets).
    pub fn with_input(mut self, token_type: impl Into<String>, state: Value) -> ProvideRequest {
        self.input_token_type = token_type.into();
        self.input_token_state = state;
        self
    }

    pub fn with_output_state(mut self, state: Value) -> ProvideRequest {
        self.output_token_state = state;
        self
    }
}

/// A token made by a provider. Built with [`Provided::new`] (or `From<String>`).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Provided {
    /// The token as text that travels in JSON (base64 if it is binary).
    pub token: String,
    /// How long the token is good for; the instance persists it that long. Default
    /// [`DEFAULT_LIFETIME`].
    pub lifetime: Option<Duration>,
}

impl Provided {
    pub fn new(token: impl Into<String>) -> Provided {
        Provided {
            token: token.into(),
            lifetime: None,
        }
    }

    pub fn with_lifetime(mut self, lifetime: Duration) -> Provided {
        self.lifetime = Some(lifetime);
        self
    }
}

impl From<String> for Provided {
    fn from(token: String) -> Provided {
        Provided::new(token)
    }
}

/// Lifetime of a custom token whose provider does not say.
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(600);

/// How a plug-in declines.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PluginError {
    /// The token (validator) or the request (provider) is refused; the message goes to the
    /// caller (HTTP 401 for a validator, 400 for a provider).
    #[error("{0}")]
    Invalid(String),
    /// The plug-in could not do its work (a backend is down, say); the caller gets HTTP 502
    /// and the message is logged.
    #[error("{0}")]
    Failed(String),
}

/// A validator of a custom token type.
pub trait TokenValidator: Send + Sync + 'static {
    fn validate(&self, request: &ValidateRequest) -> Result<Validated, PluginError>;
}

/// A provider of a custom token type.
pub trait TokenProvider: Send + Sync + 'static {
    fn create_token(&self, request: &ProvideRequest) -> Result<Provided, PluginError>;
}

/// Bounds on a plug-in's calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest a call may take, waiting for a slot included; the caller then gets an error
    /// and the call is abandoned.
    pub timeout: Duration,
    /// Calls alive at once, abandoned ones included; further calls wait for a slot, and get
    /// HTTP 503 if none frees up within the timeout.
    pub max_concurrent: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            timeout: Duration::from_secs(5),
            max_concurrent: 64,
        }
    }
}

/// Why a call produced no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    #[error(transparent)]
    Plugin(#[from] PluginError),
    #[error("it did not answer within {0:?}")]
    TimedOut(Duration),
    #[error("it panicked")]
    Panicked,
    #[error("{0} calls of it were running until the timeout")]
    Busy(usize),
    #[error("no thread could be started for it: {0}")]
    Spawn(String),
}

/// A registered plug-in with its limits; [`Guarded::call`] is the only way to run it.
pub struct Guarded<P: ?Sized> {
    name: String,
    plugin: Arc<P>,
    limits: Limits,
    slots: Arc<Slots>,
}

/// Calls alive, and a signal when one ends.
#[derive(Default)]
struct Slots {
    running: Mutex<usize>,
    freed: Condvar,
}

impl Slots {
    /// The count; nothing panics while holding the lock, so poisoning carries no meaning.
    fn lock(&self) -> MutexGuard<'_, usize> {
        self.running
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Takes a slot, waiting until `deadline` at the latest.
    fn acquire(self: &Arc<Self>, max: usize, deadline: Instant) -> Option<Slot> {
        let mut n = self.lock();
        while *n >= max {
            let left = deadline.checked_duration_since(Instant::now())?;
            n = self
                .freed
                .wait_timeout(n, left)
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .0;
        }
        *n += 1;
        Some(Slot(self.clone()))
    }
}

impl<P: ?Sized> std::fmt::Debug for Guarded<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guarded")
            .field("name", &self.name)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// Gives a call's slot back when its thread ends, however it ends.
struct Slot(Arc<Slots>);

impl Drop for Slot {
    fn drop(&mut self) {
        let mut n = self.0.lock();
        *n = n.saturating_sub(1);
        drop(n);
        self.0.freed.notify_one();
    }
}

impl<P: ?Sized + Send + Sync + 'static> Guarded<P> {
    fn new(name: &str, plugin: Arc<P>, limits: Limits) -> Guarded<P> {
        Guarded {
            name: name.to_owned(),
            plugin,
            limits,
            slots: Arc::new(Slots::default()),
        }
    }

    /// The name it is registered under.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs `f` with the plug-in on a thread of its own, waiting at most the timeout (for a
    /// slot and for the answer together).
    pub fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&P) -> Result<T, PluginError> + Send + 'static,
    ) -> Result<T, CallError> {
        let _timed = crate::metrics::time(crate::metrics::Stage::Plugin);
        let max = self.limits.max_concurrent.max(1);
        let deadline = Instant::now() + self.limits.timeout;
        let slot = self
            .slots
            .acquire(max, deadline)
            .ok_or(CallError::Busy(max))?;
        let plugin = self.plugin.clone();
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        std::thread::Builder::new()
            .name(format!("plugin:{}", self.name))
            .spawn(move || {
                let answer =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(plugin.as_ref())));
                // Free before answering, so that a caller who got the answer finds the slot
                // free. A panic unwinding past catch_unwind cannot happen; the slot would
                // still be freed by drop.
                drop(slot);
                // The caller may have given up; then nobody listens.
                let _ = tx.send(answer);
            })
            .map_err(|e| CallError::Spawn(e.to_string()))?;
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(Ok(answer)) => answer.map_err(CallError::Plugin),
            Ok(Err(_)) | Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                Err(CallError::Panicked)
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                Err(CallError::TimedOut(self.limits.timeout))
            }
        }
    }
}

/// Plug-ins by the name instances use for them (`customOperationClassName`).
#[derive(Debug, Default, Clone)]
pub struct Plugins {
    validators: HashMap<String, Arc<Guarded<dyn TokenValidator>>>,
    providers: HashMap<String, Arc<Guarded<dyn TokenProvider>>>,
}

fn register<P: ?Sized + Send + Sync + 'static>(
    map: &mut HashMap<String, Arc<Guarded<P>>>,
    kind: &'static str,
    name: &str,
    plugin: Arc<P>,
    limits: Limits,
) -> Result<(), DuplicateName> {
    if map.contains_key(name) {
        return Err(DuplicateName {
            kind,
            name: name.to_owned(),
        });
    }
    map.insert(
        name.to_owned(),
        Arc::new(Guarded::new(name, plugin, limits)),
    );
    Ok(())
}

/// A name registered twice.
#[derive(Debug, thiserror::Error)]
#[error("a {kind} plug-in named `{name}` is already registered")]
pub struct DuplicateName {
    pub kind: &'static str,
    pub name: String,
}

impl Plugins {
    pub fn new() -> Plugins {
        Plugins::default()
    }

    pub fn add_validator(
        &mut self,
        name: &str,
        validator: Arc<dyn TokenValidator>,
        limits: Limits,
    ) -> Result<(), DuplicateName> {
        register(&mut self.validators, "validator", name, validator, limits)
    }

    pub fn add_provider(
        &mut self,
        name: &str,
        provider: Arc<dyn TokenProvider>,
        limits: Limits,
    ) -> Result<(), DuplicateName> {
        register(&mut self.providers, "provider", name, provider, limits)
    }

    pub fn validator(&self, name: &str) -> Option<Arc<Guarded<dyn TokenValidator>>> {
        self.validators.get(name).cloned()
    }

    pub fn provider(&self, name: &str) -> Option<Arc<Guarded<dyn TokenProvider>>> {
        self.providers.get(name).cloned()
    }

    /// Registered names, sorted, for messages.
    pub fn names(&self, providers: bool) -> Vec<String> {
        let mut v: Vec<String> = if providers {
            self.providers.keys().cloned().collect()
        } else {
            self.validators.keys().cloned().collect()
        };
        v.sort();
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A validator whose `hang` calls block until the test sends on (or drops) `release`.
    struct Echo {
        release: std::sync::Mutex<std::sync::mpsc::Receiver<()>>,
    }

    impl Echo {
        fn new() -> (Arc<Echo>, std::sync::mpsc::Sender<()>) {
            let (tx, rx) = std::sync::mpsc::channel();
            let echo = Echo {
                release: std::sync::Mutex::new(rx),
            };
            (Arc::new(echo), tx)
        }
    }

    impl TokenValidator for Echo {
        fn validate(&self, r: &ValidateRequest) -> Result<Validated, PluginError> {
            match r.input_token_state["mode"].as_str() {
                Some("panic") => panic!("plug-in panics on purpose"),
                Some("hang") => {
                    let _ = self.release.lock().unwrap().recv();
                    Ok(Validated::new("late"))
                }
                Some("refuse") => Err(PluginError::Invalid("no".into())),
                _ => Ok(Validated::new("alice")),
            }
        }
    }

    fn guarded(
        limits: Limits,
    ) -> (
        Arc<Guarded<dyn TokenValidator>>,
        std::sync::mpsc::Sender<()>,
    ) {
        let (echo, release) = Echo::new();
        let mut p = Plugins::new();
        p.add_validator("echo", echo.clone(), limits).unwrap();
        assert!(p.add_validator("echo", echo, limits).is_err());
        (p.validator("echo").unwrap(), release)
    }

    fn req(mode: &str) -> ValidateRequest {
        ValidateRequest::new(
            "/",
            "x",
            "CUSTOM",
            serde_json::json!({"mode": mode}),
            SystemTime::UNIX_EPOCH,
        )
    }

    fn run(g: &Guarded<dyn TokenValidator>, mode: &str) -> Result<Validated, CallError> {
        let r = req(mode);
        g.call(move |v| v.validate(&r))
    }

    #[test]
    fn answers_refusals_panics_and_timeouts_are_told_apart() {
        // Generous, so that no well-behaved call nears it on a loaded machine; `hang` is held
        // by the channel, not by a clock.
        let timeout = Duration::from_secs(5);
        let (g, release) = guarded(Limits {
            timeout,
            max_concurrent: 1,
        });
        assert_eq!(run(&g, "ok").unwrap().principal, "alice");
        assert_eq!(
            run(&g, "refuse"),
            Err(CallError::Plugin(PluginError::Invalid("no".into())))
        );
        assert_eq!(run(&g, "panic"), Err(CallError::Panicked));
        // The slot of a panicked call is free again.
        assert_eq!(run(&g, "ok").unwrap().principal, "alice");
        assert_eq!(run(&g, "hang"), Err(CallError::TimedOut(timeout)));
        // The abandoned call still holds the only slot: the next one waits for it until its
        // own timeout, then gives up.
        assert_eq!(run(&g, "ok"), Err(CallError::Busy(1)));
        // The hung call ends: the slot is free again (Busy only while its thread winds up).
        drop(release);
        let mut r = run(&g, "ok");
        while r == Err(CallError::Busy(1)) {
            r = run(&g, "ok");
        }
        assert_eq!(r.unwrap().principal, "alice");
    }
}
