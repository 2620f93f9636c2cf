//! The admin guard: who administers which realm, from the caller's SSO session.

use warp::http::HeaderMap;

use crate::engine::Role;
use crate::frontends::Context;
use crate::frontends::crest::{JsonFailure, internal};

/// The realm the caller administers: 401 without a live session, 403 unless its user is an
/// administrator.
pub fn admin_realm(state: &Context, headers: &HeaderMap) -> Result<String, JsonFailure> {
    let token = state
        .session_token(headers)
        .ok_or(JsonFailure::Unauthorized("Access Denied"))?;
    match state
        .engine
        .session_principal(token.expose(), None)
        .map_err(internal)?
    {
        None => Err(JsonFailure::Unauthorized("Access Denied")),
        Some(s) if s.role() == Role::Admin => Ok(s.principal().realm().to_owned()),
        Some(_) => Err(JsonFailure::Forbidden),
    }
}

/// Whether an administrator of `admin_realm` administers `realm`: an administrator of the
/// top-level realm administers every realm.
pub fn administers(admin_realm: &str, realm: &str) -> bool {
    admin_realm == "/" || admin_realm == realm
}

/// The admin guard: 401 without a live session, 403 unless its user is an administrator of
/// `realm`.
pub fn require_admin(state: &Context, headers: &HeaderMap, realm: &str) -> Result<(), JsonFailure> {
    if administers(&admin_realm(state, headers)?, realm) {
        Ok(())
    } else {
        Err(JsonFailure::Forbidden)
    }
}
