//! Authentication: a credential to an [`Authenticated`] principal, one file per credential
//! kind. Passwords and sessions are checked against the identity store of the realm; other
//! parties' tokens and certificates against the instance's trust, and name a user of its
//! realm. Only this module can mint [`Authenticated`] (through [`AuthnProof`]).

mod directory;
mod oidc;
mod password;
mod saml;
mod session;
mod standing;
pub mod x509;

pub use standing::SubjectOrigin;

pub use session::Role;
#[cfg(any(test, feature = "test-util"))]
pub use session::SessionPrincipal;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::replay::Insert;
use super::{
    AuthFailure, Authenticated, Credential, Engine, EngineError, MessageTimestamp, Principal,
    PrincipalSource, ResolvedInstance,
};

/// The unforgeable part of [`Authenticated`]: only this module makes one.
#[derive(Debug, Clone)]
pub struct AuthnProof(());

/// Marks `p` as authenticated by this request.
fn mint(p: Principal) -> Authenticated<Principal> {
    Authenticated::new(p, AuthnProof(()))
}

impl Engine {
    /// Authenticates any credential for `instance`: passwords and sessions against the
    /// identity store of its realm, other parties' tokens and certificates against its trust.
    pub fn authenticate_for(
        &self,
        instance: &ResolvedInstance,
        cred: &Credential,
    ) -> Result<Authenticated<Principal>, EngineError> {
        let principal = match cred {
            Credential::OidcIdToken { token } => self.oidc(instance, token.expose())?,
            Credential::X509(chain) => self.x509(instance, chain)?,
            Credential::Saml2Assertion { xml } => self.saml(instance, xml)?,
            other => return self.authenticate(instance.config.realm(), other),
        };
        Ok(mint(principal))
    }

    /// Validates a password or session credential in `realm`. Credentials that need an
    /// instance's trust (tokens, certificates) fail here: see [`Self::authenticate_for`].
    pub fn authenticate(
        &self,
        realm: &str,
        cred: &Credential,
    ) -> Result<Authenticated<Principal>, EngineError> {
        match cred {
            Credential::Session { token } => {
                match self.session_principal(token.expose(), Some(realm))? {
                    Some(s) => Ok(s.into_principal()),
                    None => Err(EngineError::AuthFailed(AuthFailure::Credentials)),
                }
            }
            Credential::PasswordText { .. } | Credential::PasswordDigest { .. } => {
                let result = self.password(realm, cred);
                self.audit_sign_in(realm, cred, &result)?;
                result.map(mint)
            }
            Credential::OidcIdToken { .. }
            | Credential::X509(_)
            | Credential::Saml2Assertion { .. } => {
                Err(EngineError::AuthFailed(AuthFailure::Credentials))
            }
        }
    }

    /// Records a password sign-in's outcome (`login.success`, `login.failure`); a store or
    /// directory that could not answer decided nothing and is not recorded.
    fn audit_sign_in(
        &self,
        realm: &str,
        cred: &Credential,
        result: &Result<Principal, EngineError>,
    ) -> Result<(), EngineError> {
        let (username, method) = match cred {
            Credential::PasswordText { username, .. } => (username, "password_text"),
            Credential::PasswordDigest { username, .. } => (username, "password_digest"),
            _ => return Ok(()),
        };
        let realm = crate::identity::normalize_realm(realm);
        let event = match result {
            Ok(p) => crate::audit::Event::new("login.success").with("principal", p.name()),
            Err(EngineError::AuthFailed(_)) => crate::audit::Event::new("login.failure")
                .with("principal", username)
                .with("reason", "credentials"),
            Err(EngineError::Locked) => crate::audit::Event::new("login.failure")
                .with("principal", username)
                .with("reason", "locked"),
            Err(_) => return Ok(()),
        };
        self.audit(event.with("realm", realm).with("method", method))
    }

    /// The principal a custom token validator named, with the attributes it added; the name
    /// is checked like any other party's assertion (see `known_principal`).
    pub(crate) fn vouched_by_plugin(
        &self,
        instance: &ResolvedInstance,
        name: &str,
        attributes: BTreeMap<String, Vec<String>>,
        fail: impl Fn(&str) -> EngineError,
    ) -> Result<Authenticated<Principal>, EngineError> {
        let mut principal =
            self.known_principal(instance, name, PrincipalSource::FederatedToken, fail)?;
        principal.extend_attributes(attributes);
        Ok(mint(principal))
    }

    /// The subject of one of this STS's own tokens, issued anew (Validate to a new token): its
    /// account is checked now as a renewal checks it (`subject_standing`), and a subject this
    /// STS authenticated with a password stays one (`PrincipalSource::Password`), so that the
    /// new token's renewals check the account too instead of taking the subject as another
    /// party's (a deleted user's token would otherwise renew through a transform).
    pub(crate) fn reissued_subject(
        &self,
        instance: &ResolvedInstance,
        name: &str,
        origin: SubjectOrigin,
        fail: impl Fn(&str) -> EngineError,
    ) -> Result<Authenticated<Principal>, EngineError> {
        self.subject_standing(instance, instance.config.realm(), name, origin)?;
        let source = match origin {
            SubjectOrigin::OwnUser => PrincipalSource::Password,
            SubjectOrigin::Vouched => PrincipalSource::FederatedToken,
        };
        self.known_principal(instance, name, source, fail).map(mint)
    }

    /// Refuses a value (a message signature, say) seen before, remembering it until
    /// `until` (plus skew); `kind` keeps kinds of values apart.
    pub fn accept_once(
        &self,
        kind: &[u8],
        value: &[u8],
        until: DateTime<Utc>,
    ) -> Result<(), EngineError> {
        let key = [kind, b"\0", value].concat();
        self.remember(
            &key,
            until + self.freshness.max_skew,
            "this message was already received (replay)",
            "too many recent messages; retry later",
        )
    }

    /// Records `key` in the replay cache until `until`.
    fn remember(
        &self,
        key: &[u8],
        until: DateTime<Utc>,
        replay: &str,
        full: &str,
    ) -> Result<(), EngineError> {
        // A store failure refuses the value: it may have been accepted elsewhere.
        match self
            .nonces
            .insert(key, until, self.clock.now())
            .map_err(EngineError::store)?
        {
            Insert::Fresh => Ok(()),
            Insert::Replay => Err(EngineError::Replay(replay.into())),
            Insert::Full => Err(EngineError::Busy(full.into())),
        }
    }

    /// Checks a message Timestamp: not created in the future, not expired.
    pub fn check_timestamp(&self, ts: &MessageTimestamp) -> Result<(), EngineError> {
        let now = self.clock.now();
        if let (Some(c), Some(e)) = (ts.created, ts.expires)
            && e < c
        {
            return Err(EngineError::Invalid(
                "wsu:Timestamp expires before it was created".into(),
            ));
        }
        if ts
            .created
            .is_some_and(|c| c > now + self.freshness.max_skew)
        {
            return Err(EngineError::NotYetValid(
                "wsu:Timestamp is created in the future".into(),
            ));
        }
        if ts
            .expires
            .is_some_and(|e| e + self.freshness.max_skew < now)
        {
            return Err(EngineError::Expired("wsu:Timestamp has expired".into()));
        }
        Ok(())
    }

    /// The user `name` of the instance's realm, as the subject of a credential another
    /// party vouched for: unknown users pass without attributes; disabled users and the
    /// STS's administrators do not.
    fn known_principal(
        &self,
        instance: &ResolvedInstance,
        name: &str,
        source: PrincipalSource,
        fail: impl Fn(&str) -> EngineError,
    ) -> Result<Principal, EngineError> {
        // ResolvedInstance::resolve normalised the realm.
        let realm = instance.config.realm().to_owned();
        let user = self
            .users
            .find(&realm, name)
            .map_err(EngineError::identity)?;
        // In a directory realm the directory decides: local users other than administrators
        // are not used.
        let dir = self.directory_for(&realm, user.as_ref());
        let user = if dir.is_some() { None } else { user };
        if user.as_ref().is_some_and(|u| u.disabled) {
            return Err(fail("the user is disabled"));
        }
        // Another party's assertion never stands for one of this STS's administrators.
        if user.as_ref().is_some_and(|u| u.admin) {
            return Err(fail("the principal is an administrator of this STS"));
        }
        let attributes = match dir {
            Some(dir) => self.directory_attributes(dir, name, &fail)?,
            None => user.map(|u| u.attributes).unwrap_or_default(),
        };
        Principal::new(
            realm,
            name.to_owned(),
            attributes,
            match source {
                // This request proved possession of the certificate's key (RFC 8176 `pop`).
                PrincipalSource::X509 => Some((self.clock.now(), "pop")),
                _ => None,
            },
            source,
        )
    }
}
