//! SSO sessions (OpenAM's `OPENAM` input and the `iPlanetDirectoryPro` header or cookie): a
//! live session whose user still exists and is enabled.

use super::super::{Engine, EngineError};
use super::{Authenticated, Principal, PrincipalSource, mint};
use crate::identity::ldap::AccountState;
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
        // A directory realm's users are read from the directory at each use, so that one
        // disabled there loses its sessions too.
        let (username, attributes, role) = match self.directory_for(&info.realm, user.as_ref()) {
            Some(dir) => match self.directory_user(dir, &info.username)? {
                Some(u) if u.state == AccountState::Active => {
                    (info.username.clone(), u.attributes, Role::User)
                }
                _ => return Ok(None),
            },
            None => {
                let Some(u) = user.filter(|u| !u.disabled) else {
                    return Ok(None);
                };
                let role = if u.admin { Role::Admin } else { Role::User };
                (u.username, u.attributes, role)
            }
        };
        let principal = Principal::new(
            info.realm.clone(),
            username,
            attributes,
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
