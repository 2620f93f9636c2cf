//! The audit events the front ends record (see `audit`): built here, in one place, so that
//! every protocol names the same action with the same fields, and none carries a secret (a
//! token's id, never the token; a user's name, never a password or a session handle).
//! Each returns the engine's answer: with `audit_required`, an event that cannot be written
//! refuses the request before its answer leaves.

use crate::audit::Event;
use crate::engine::{Credential, EngineError, Principal};
use crate::instance::ResolvedInstance;

use super::Context;
use super::admin::guard::AdminOf;

/// The kind of a credential, as the audit trail names it.
pub fn input_of(cred: &Credential) -> &'static str {
    match cred {
        Credential::PasswordText { .. } => "USERNAME_PASSWORD_TEXT",
        Credential::PasswordDigest { .. } => "USERNAME_PASSWORD_DIGEST",
        Credential::Session { .. } => "OPENAM",
        Credential::OidcIdToken { .. } => "OPENIDCONNECT",
        Credential::X509(_) => "X509",
        Credential::Saml2Assertion { .. } => "SAML2",
    }
}

fn on(instance: &ResolvedInstance, event: Event) -> Event {
    event
        .with("instance", instance.config.subpath())
        .with("realm", instance.config.realm())
}

/// `token.issued`: a token of `token_type` with id `token_id` for `principal`; retracted
/// (`outcome = failed`) if the token's pending write in `durable` fails when it settles.
pub fn issued(
    ctx: &Context,
    instance: &ResolvedInstance,
    principal: &Principal,
    token_type: &str,
    input: &str,
    token_id: &str,
    durable: &mut Option<crate::store::Durable>,
) -> Result<(), EngineError> {
    ctx.engine.audit_pending(
        on(instance, Event::new("token.issued"))
            .with("principal", principal.name())
            .with("principal_realm", principal.realm())
            .with("token_type", token_type)
            .with("input_token_type", input)
            .with("token_id", token_id),
        durable,
    )
}

/// `token.cancelled`: the stored token `token_id` cancelled by `by` (when known), recorded
/// before `change` cancels it.
pub fn cancelled<T, E: From<EngineError>>(
    ctx: &Context,
    instance: Option<&ResolvedInstance>,
    token_id: &str,
    by: Option<(&str, &str)>,
    change: impl FnOnce() -> Result<T, E>,
) -> Result<T, E> {
    let mut event = Event::new("token.cancelled").with("token_id", token_id);
    if let Some(i) = instance {
        event = on(i, event);
    }
    if let Some((realm, name)) = by {
        event = event.actor(realm, name);
    }
    ctx.engine.audited(event, change)
}

/// An administrator's action (`instance.published`, `oauth_client.created`,
/// `user.deleted`, ...) with `fields`, recorded before `change` is made (see
/// `Engine::audited`: with `audit_required`, no change without its event).
pub fn admin<T, E: From<EngineError>>(
    ctx: &Context,
    of: &AdminOf,
    action: &'static str,
    fields: &[(&'static str, &str)],
    change: impl FnOnce() -> Result<T, E>,
) -> Result<T, E> {
    let (realm, name) = of.by();
    let mut event = Event::new(action).actor(realm, name);
    for (k, v) in fields {
        event = event.with(k, v);
    }
    ctx.engine.audited(event, change)
}
