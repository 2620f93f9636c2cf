//! The admin guard: who administers which realm, from the caller's SSO session. Its answer
//! is an [`AdminOf`], which only this module mints: code that takes one cannot be reached
//! by a caller the guard did not admit.

use warp::http::HeaderMap;

use crate::engine::Role;
use crate::frontends::Context;
use crate::frontends::crest::JsonFailure;

/// Proof that the caller administers `realm` (and so every realm below it when `realm` is
/// the top-level realm `/`).
#[derive(Debug)]
pub struct AdminOf {
    realm: String,
    /// Who: the administrator's name and own realm (for the audit trail).
    by: (String, String),
}

impl AdminOf {
    /// The realm administered.
    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// The administrator's own realm and name.
    pub fn by(&self) -> (&str, &str) {
        (&self.by.0, &self.by.1)
    }

    /// Whether this administrator administers `realm`: an administrator of the top-level
    /// realm administers every realm.
    pub fn administers(&self, realm: &str) -> bool {
        self.realm == "/" || self.realm == realm
    }

    /// The proof for `realm`, which this administrator must administer (else 403).
    pub fn of(&self, realm: &str) -> Result<AdminOf, JsonFailure> {
        if self.administers(realm) {
            Ok(AdminOf {
                realm: realm.to_owned(),
                by: self.by.clone(),
            })
        } else {
            Err(JsonFailure::Forbidden)
        }
    }
}

/// The realm the caller administers: 401 without a live session, 403 unless its user is an
/// administrator.
pub fn admin(state: &Context, headers: &HeaderMap) -> Result<AdminOf, JsonFailure> {
    let token = state
        .session_token(headers)
        .ok_or(JsonFailure::Unauthorized("Access Denied"))?;
    match state
        .engine
        .session_principal(token.expose(), None)
        .map_err(JsonFailure::Engine)?
    {
        None => Err(JsonFailure::Unauthorized("Access Denied")),
        Some(s) if s.role() == Role::Admin => Ok(AdminOf {
            realm: s.principal().realm().to_owned(),
            by: (
                s.principal().realm().to_owned(),
                s.principal().name().to_owned(),
            ),
        }),
        Some(_) => Err(JsonFailure::Forbidden),
    }
}

/// The guard for one realm: 401 without a live session, 403 unless its user is an
/// administrator of `realm`.
pub fn require_admin(
    state: &Context,
    headers: &HeaderMap,
    realm: &str,
) -> Result<AdminOf, JsonFailure> {
    admin(state, headers)?.of(realm)
}
