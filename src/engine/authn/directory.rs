//! Realms whose users come from a directory (`[realms."<realm>".ldap]`): passwords are
//! checked by search-then-bind, and users other parties vouch for are looked up (no bind)
//! for their attributes and account state. Local administrators stay local, so that an
//! outage of the directory never locks the operators out.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::super::{AuthFailure, Credential, Engine, EngineError};
use super::{Principal, PrincipalSource};
use crate::identity::User;
use crate::identity::ldap::{AccountState, Directory, DirectoryError, DirectoryUser};
use crate::identity::throttle::Source;

/// What a client sending a PasswordDigest to a directory realm is told.
pub const DIGEST_REFUSED: &str = "this realm's users are in a directory (LDAP), which cannot check a PasswordDigest: send the password as PasswordText, over TLS";

impl Engine {
    /// The directory of `realm` (normalised), unless `local` is one of the STS's own
    /// administrators, who always sign in against the local store.
    pub(super) fn directory_for(
        &self,
        realm: &str,
        local: Option<&User>,
    ) -> Option<&Arc<Directory>> {
        if local.is_some_and(|u| u.admin) {
            return None;
        }
        self.directories.get(realm)
    }

    /// A PasswordText checked against the directory; sts's own lockout counts failures on
    /// top of the directory's, under `counted` (the name in lower case).
    pub(super) fn directory_password(
        &self,
        dir: &Directory,
        realm: String,
        username: &str,
        counted: &str,
        source: Source,
        cred: &Credential,
    ) -> Result<Principal, EngineError> {
        let Credential::PasswordText {
            password,
            nonce,
            created,
            ..
        } = cred
        else {
            return Err(EngineError::refused(DIGEST_REFUSED));
        };
        match dir.authenticate(username, password) {
            Ok(user) => {
                if let (Some(n), Some(c)) = (nonce, created) {
                    self.check_fresh_nonce(n, c)?;
                }
                self.throttle
                    .success(&realm, counted, source)
                    .map_err(EngineError::store)?;
                Principal::new(
                    realm,
                    username.to_owned(),
                    user.attributes,
                    Some((self.clock.now(), "pwd")),
                    PrincipalSource::Password,
                )
            }
            Err(DirectoryError::Unavailable(detail)) => Err(unavailable(&realm, &detail)),
            Err(reason) => {
                // Why, for the operator; the client gets the one answer for every failure.
                tracing::info!(realm = %realm, user = ?username, %reason, "directory sign-in refused");
                self.failed_sign_in(&realm, counted, source)?;
                Err(EngineError::AuthFailed(AuthFailure::Credentials))
            }
        }
    }

    /// The attributes of `name`, a user another party vouched for, from the directory:
    /// none for a name the directory does not know; disabled and locked accounts refused.
    pub(super) fn directory_attributes(
        &self,
        dir: &Directory,
        name: &str,
        fail: impl Fn(&str) -> EngineError,
    ) -> Result<BTreeMap<String, Vec<String>>, EngineError> {
        match self.directory_user(dir, name)? {
            None => Ok(BTreeMap::new()),
            Some(u) => match u.state {
                AccountState::Active => Ok(u.attributes),
                AccountState::Disabled(_) => Err(fail("the user is disabled")),
                AccountState::Locked(_) => Err(fail("the user's account is locked")),
            },
        }
    }

    /// `name` in the directory, without a bind; a name matching several entries is refused.
    pub(super) fn directory_user(
        &self,
        dir: &Directory,
        name: &str,
    ) -> Result<Option<DirectoryUser>, EngineError> {
        match dir.lookup(name) {
            Ok(u) => Ok(u),
            Err(DirectoryError::Unavailable(detail)) => Err(unavailable(dir.realm(), &detail)),
            // Several entries: which account is meant cannot be told, nor its state checked.
            Err(DirectoryError::Ambiguous) => {
                tracing::info!(realm = %dir.realm(), user = ?name, "directory look-up matched several entries");
                Err(EngineError::AuthFailed(AuthFailure::Credentials))
            }
            Err(reason) => {
                tracing::info!(realm = %dir.realm(), user = ?name, %reason, "directory look-up found no single user");
                Ok(None)
            }
        }
    }
}

/// The directory down: 503 for the client, the detail in the log.
fn unavailable(realm: &str, detail: &str) -> EngineError {
    EngineError::Unavailable(format!("the directory of realm {realm}: {detail}"))
}
