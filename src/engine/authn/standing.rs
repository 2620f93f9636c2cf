//! Whether the subject of a token this STS issued may still have tokens now: what a renewal
//! asks before it extends a token (`engine::renew`), so that disabling or deleting an account
//! also ends the renewals of the tokens issued to it.

use super::super::{Engine, EngineError, ResolvedInstance};
use super::PrincipalSource;
use crate::identity::ldap::AccountState;

/// How the token's subject was authenticated when its first token was issued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubjectOrigin {
    /// By this STS, with a password (directly or through a session): a user of the realm,
    /// who must still exist and be enabled, whether the token names an actor (ActAs) or not.
    OwnUser,
    /// Vouched for by another party (a federated token, a certificate): the
    /// rule of the issue path (`known_principal`) applies: a name the realm does not know
    /// passes, one it knows must be enabled (and not an administrator of this STS).
    Vouched,
}

impl Engine {
    /// Refuses (as a failed authentication) a subject whose account is now disabled, locked
    /// in the directory, or, for [`SubjectOrigin::OwnUser`], gone.
    pub(in crate::engine) fn subject_standing(
        &self,
        instance: &ResolvedInstance,
        realm: &str,
        name: &str,
        origin: SubjectOrigin,
    ) -> Result<(), EngineError> {
        let fail = |why: &str| EngineError::refused(format!("the token's subject {why}"));
        if origin == SubjectOrigin::Vouched {
            return self
                .known_principal(instance, name, PrincipalSource::FederatedToken, |why| {
                    EngineError::refused(format!("the token's subject: {why}"))
                })
                .map(drop);
        }
        let realm = crate::identity::normalize_realm(realm);
        let user = self
            .users
            .find(&realm, name)
            .map_err(EngineError::identity)?;
        match self.directory_for(&realm, user.as_ref()) {
            Some(dir) => match self.directory_user(dir, name)?.map(|u| u.state) {
                Some(AccountState::Active) => Ok(()),
                Some(AccountState::Disabled(_)) => Err(fail("is disabled in the directory")),
                Some(AccountState::Locked(_)) => Err(fail("is locked in the directory")),
                None => Err(fail("is no longer in the directory")),
            },
            None => match user {
                Some(u) if !u.disabled => Ok(()),
                Some(_) => Err(fail("is disabled")),
                None => Err(fail("is no longer a user of this realm")),
            },
        }
    }
}
