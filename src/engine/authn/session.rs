//! SSO sessions (OpenAM's `OPENAM` input and the `iPlanetDirectoryPro` header or cookie): a
//! live session whose user still exists and is enabled.

use super::super::{Engine, EngineError};
use super::{Authenticated, Principal, PrincipalSource, mint};
use crate::identity::sessions::SessionInfo;

/// What the user of a session may administer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    User,
    /// An administrator of the session's realm (of every realm for the top-level one).
    Admin,
}

/// The principal of a live session, the session, and the user's role.
#[derive(Debug, Clone)]
pub struct SessionPrincipal {
    principal: Authenticated<Principal>,
    info: SessionInfo,
    role: Role,
}

impl SessionPrincipal {
    pub fn principal(&self) -> &Authenticated<Principal> {
        &self.principal
    }

    pub fn info(&self) -> &SessionInfo {
        &self.info
    }

    pub fn role(&self) -> Role {
        self.role
    }

    pub fn into_principal(self) -> Authenticated<Principal> {
        self.principal
    }
}

impl Engine {
    /// The principal of a live session, if its user still exists and is enabled. `realm`
    /// None accepts a session of any realm.
    pub fn session_principal(
        &self,
        token: &str,
        realm: Option<&str>,
    ) -> Result<Option<SessionPrincipal>, EngineError> {
        let Some(info) = self.sessions.validate(token).map_err(EngineError::store)? else {
            return Ok(None);
        };
        if realm.is_some_and(|r| crate::identity::normalize_realm(r) != info.realm) {
            return Ok(None);
        }
        let user = self
            .users
            .find(&info.realm, &info.username)
            .map_err(EngineError::identity)?;
        let Some(u) = user.filter(|u| !u.disabled) else {
            return Ok(None);
        };
        let role = if u.admin { Role::Admin } else { Role::User };
        let principal = Principal::new(
            info.realm.clone(),
            u.username,
            u.attributes,
            None,
            PrincipalSource::Password,
        )?;
        Ok(Some(SessionPrincipal {
            principal: mint(principal),
            info,
            role,
        }))
    }
}
