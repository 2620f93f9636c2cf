//! Passwords: WS-Security UsernameToken (text or digest) and REST `USERNAME` input, checked
//! against the identity store, throttled per account and source, with nonce freshness.

use base64::Engine as _;

use super::super::{AuthFailure, Credential, Engine, EngineError, MAX_NONCE_BYTES};
use super::{Principal, PrincipalSource};
use crate::identity::throttle::{Locked, Source};
use crate::identity::verify_password;
use crate::secret::{Secret, ct_eq};

/// Base64(SHA-1(nonce + created + password)), the UsernameToken PasswordDigest.
fn sha1_digest_b64(nonce: &[u8], created: &str, password: &str) -> String {
    let mut h = openssl::sha::Sha1::new();
    h.update(nonce);
    h.update(created.as_bytes());
    h.update(password.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(h.finish())
}

/// A valid argon2id hash of a random password, computed once, for unknown-user timing.
fn dummy_hash() -> Secret<String> {
    static DUMMY: std::sync::OnceLock<Secret<String>> = std::sync::OnceLock::new();
    DUMMY
        .get_or_init(|| {
            let mut pw = [0u8; 24];
            let _ = openssl::rand::rand_bytes(&mut pw);
            crate::identity::hash_password(&base64::engine::general_purpose::STANDARD.encode(pw))
                .unwrap_or_default()
        })
        .clone()
}

impl Engine {
    /// A password credential in `realm` to its user. Wrong password, unknown or disabled
    /// user and a locked account or source all answer alike.
    pub(super) fn password(
        &self,
        realm: &str,
        cred: &Credential,
    ) -> Result<Principal, EngineError> {
        let failed = || EngineError::AuthFailed(AuthFailure::Credentials);
        let (username, source) = match cred {
            Credential::PasswordText {
                username, source, ..
            }
            | Credential::PasswordDigest {
                username, source, ..
            } => (username, Source::of(*source)),
            _ => return Err(failed()),
        };
        let realm_n = crate::identity::normalize_realm(realm);
        let now = self.clock.now();
        // Directories match names without regard to case (`uid`, `sAMAccountName`), so their
        // realms count `Alice` and `alice` as one account.
        let counted = if self.has_directory(&realm_n) {
            std::borrow::Cow::Owned(username.to_lowercase())
        } else {
            std::borrow::Cow::Borrowed(username.as_str())
        };
        // A locked account or source fails like a wrong password, whatever was presented;
        // counters that cannot be read refuse the sign-in.
        if self
            .throttle
            .is_locked(&realm_n, &counted, source, now)
            .map_err(EngineError::store)?
        {
            return Err(EngineError::Locked);
        }
        let user = self
            .users
            .find(realm, username)
            .map_err(EngineError::identity)?;
        if let Some(dir) = self.directory_for(&realm_n, user.as_ref()) {
            return self.directory_password(dir, realm_n, username, &counted, source, cred);
        }
        let ok = match (cred, &user) {
            (
                Credential::PasswordText {
                    password,
                    nonce,
                    created,
                    ..
                },
                Some(u),
            ) => {
                // Verify before recording the nonce, so that guesses do not burn nonces.
                let ok = verify_password(password.expose(), &u.password_hash);
                if ok && let (Some(n), Some(c)) = (nonce, created) {
                    self.check_fresh_nonce(n, c)?;
                }
                ok
            }
            (Credential::PasswordText { password, .. }, None) => {
                // Spend the same effort for unknown users, so timing does not reveal them.
                let _ = verify_password(password.expose(), &dummy_hash());
                false
            }
            (
                Credential::PasswordDigest {
                    digest,
                    nonce,
                    created,
                    ..
                },
                user,
            ) => {
                let secret = user.as_ref().and_then(|u| u.digest_secret.as_ref());
                let expected = sha1_digest_b64(
                    nonce,
                    created,
                    secret.map(|s| s.expose().as_str()).unwrap_or(""),
                );
                let ok = secret.is_some()
                    && ct_eq(expected.as_bytes(), digest.expose().trim().as_bytes());
                if ok {
                    self.check_fresh_nonce(nonce, created)?;
                }
                ok
            }
            _ => false,
        };
        match user {
            Some(u) if ok && !u.disabled => {
                self.throttle
                    .success(&realm_n, &counted, source)
                    .map_err(EngineError::store)?;
                Principal::new(
                    realm_n,
                    u.username,
                    u.attributes,
                    Some((now, "pwd")),
                    PrincipalSource::Password,
                )
            }
            _ => {
                self.failed_sign_in(&realm_n, &counted, source)?;
                Err(failed())
            }
        }
    }

    /// Counts a failed sign-in against the account and the source, and says when that
    /// locked one of them.
    pub(super) fn failed_sign_in(
        &self,
        realm: &str,
        username: &str,
        source: Source,
    ) -> Result<(), EngineError> {
        // The name is the client's claim; Debug-escaped, and no secret is logged.
        match self
            .throttle
            .failure(realm, username, source, self.clock.now())
            .map_err(EngineError::store)?
        {
            Locked::Nothing => Ok(()),
            Locked::Pair => {
                tracing::warn!(realm = %realm, user = ?username, %source, "sign-in to the account from this source locked after repeated failures");
                self.audit(
                    crate::audit::Event::new("lockout")
                        .with("scope", "account")
                        .with("realm", realm)
                        .with("principal", username)
                        .with("source", source),
                )
            }
            Locked::Source => {
                tracing::warn!(%source, "sign-ins from this source locked after repeated failures");
                self.audit(
                    crate::audit::Event::new("lockout")
                        .with("scope", "source")
                        .with("source", source),
                )
            }
        }
    }

    /// Checks a UsernameToken `Created` and records its nonce; a nonce seen inside the window
    /// is a replay.
    pub(super) fn check_fresh_nonce(&self, nonce: &[u8], created: &str) -> Result<(), EngineError> {
        let now = self.clock.now();
        let created_at = crate::xml::datetime::parse_datetime(created).ok_or_else(|| {
            EngineError::Invalid("UsernameToken wsu:Created is not a dateTime".into())
        })?;
        if created_at > now + self.freshness.max_skew {
            return Err(EngineError::NotYetValid(
                "UsernameToken is created in the future".into(),
            ));
        }
        if created_at + self.freshness.window < now - self.freshness.max_skew {
            return Err(EngineError::Expired(
                "UsernameToken is older than the freshness window".into(),
            ));
        }
        if !(8..=MAX_NONCE_BYTES).contains(&nonce.len()) {
            return Err(EngineError::Invalid(format!(
                "a UsernameToken nonce must have 8 to {MAX_NONCE_BYTES} bytes"
            )));
        }
        let remember_until = created_at + self.freshness.window + self.freshness.max_skew * 2;
        self.remember(
            nonce,
            remember_until,
            "the UsernameToken nonce was already used",
            "too many recent nonces; retry later",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_matches_the_wss4j_capture() {
        // From ../shared/interop/captures/wss4j-issue-soap11-digest.xml (password s3cret).
        let nonce = base64::engine::general_purpose::STANDARD
            .decode("o5CBhjdHfQp+WvXqJmc2pg==")
            .unwrap();
        assert_eq!(
            sha1_digest_b64(&nonce, "2026-11-22T03:34:42.969Z", "s3cret"),
            "SieveVtW3jNdKVLAKt3wbwna41c="
        );
    }
}
