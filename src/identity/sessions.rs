//! Sessions: the SSO tokens sent in the `iPlanetDirectoryPro` header (or cookie).
//!
//! A token is 256 random bits, base64url. The store keeps only its SHA-256 (the handle), so
//! the lookup compares digests, never the secret itself, and a copy of the database yields no
//! usable token. Sessions end after an idle timeout or a maximum lifetime.

use std::sync::Arc;

use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};

use crate::clock::Clock;
use crate::secret::Secret;
use crate::store::{SessionRecord, SessionStore, StoreError};

/// Lifetimes of sessions.
#[derive(Debug, Clone, Copy)]
pub struct SessionPolicy {
    pub idle: Duration,
    pub max: Duration,
}

/// A live session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    pub uid: String,
    pub realm: String,
    pub username: String,
    pub interim: bool,
    pub max_until: DateTime<Utc>,
}

/// The session service.
pub struct Sessions {
    store: Arc<dyn SessionStore>,
    clock: Arc<dyn Clock>,
    policy: SessionPolicy,
}

fn handle(token: &str) -> [u8; 32] {
    openssl::sha::sha256(token.as_bytes())
}

/// Longest token accepted; anything longer cannot be ours and is not hashed.
const MAX_TOKEN_LEN: usize = 512;

impl Sessions {
    pub fn new(store: Arc<dyn SessionStore>, clock: Arc<dyn Clock>, policy: SessionPolicy) -> Self {
        Sessions {
            store,
            clock,
            policy,
        }
    }

    /// Starts a session and returns its token (shown to the client once, never stored).
    pub fn create(
        &self,
        realm: &str,
        username: &str,
        interim: bool,
    ) -> Result<(Secret<String>, SessionInfo), StoreError> {
        let mut raw = [0u8; 32];
        openssl::rand::rand_bytes(&mut raw).map_err(|e| StoreError::Db(e.to_string()))?;
        let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw);
        let now = self.clock.now();
        let max_until = now + self.policy.max;
        let rec = SessionRecord {
            handle: handle(&token),
            uid: uuid::Uuid::new_v4().to_string(),
            realm: realm.to_owned(),
            username: username.to_owned(),
            interim,
            created_ms: now.timestamp_millis(),
            accessed_ms: now.timestamp_millis(),
            max_until_ms: max_until.timestamp_millis(),
        };
        self.store.insert_session(&rec)?;
        Ok((
            Secret::new(token),
            SessionInfo {
                uid: rec.uid,
                realm: rec.realm,
                username: rec.username,
                interim,
                max_until,
            },
        ))
    }

    /// The live session of `token`, recording the access; expired sessions are removed.
    pub fn validate(&self, token: &str) -> Result<Option<SessionInfo>, StoreError> {
        if token.is_empty() || token.len() > MAX_TOKEN_LEN {
            return Ok(None);
        }
        let h = handle(token);
        let Some(rec) = self.store.get_session(&h)? else {
            return Ok(None);
        };
        let now = self.clock.now().timestamp_millis();
        let idle_ms = self.policy.idle.num_milliseconds();
        if rec.max_until_ms <= now || rec.accessed_ms.saturating_add(idle_ms) <= now {
            self.store.delete_session(&h)?;
            return Ok(None);
        }
        // Writing every access would put a disk write on every admin call; a coarse
        // granularity keeps the idle timeout accurate to within 1% of it.
        if now - rec.accessed_ms >= (idle_ms / 100).max(1_000) {
            self.store.touch_session(&h, now)?;
        }
        Ok(Some(SessionInfo {
            uid: rec.uid,
            realm: rec.realm,
            username: rec.username,
            interim: rec.interim,
            max_until: DateTime::from_timestamp_millis(rec.max_until_ms).unwrap_or_default(),
        }))
    }

    /// Ends a session; false if it did not exist.
    pub fn logout(&self, token: &str) -> Result<bool, StoreError> {
        if token.is_empty() || token.len() > MAX_TOKEN_LEN {
            return Ok(false);
        }
        self.store.delete_session(&handle(token))
    }

    /// Sessions of a user (for administration and tests).
    pub fn of_user(&self, realm: &str, username: &str) -> Result<Vec<SessionRecord>, StoreError> {
        self.store.sessions_of(realm, username)
    }

    /// Removes expired sessions; returns how many.
    pub fn reap(&self) -> Result<usize, StoreError> {
        let now = self.clock.now().timestamp_millis();
        self.store
            .delete_expired_sessions(now, self.policy.idle.num_milliseconds())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FixedClock;

    #[test]
    fn idle_and_maximum_lifetimes_end_sessions() {
        let dir = tempfile::tempdir().unwrap();
        let store =
            crate::store::open(&format!("sqlite://{}", dir.path().join("s.db").display())).unwrap();
        // A fixed instant, so that a failure replays the same way.
        let t0 = chrono::DateTime::from_timestamp(1_767_225_600, 0).unwrap();
        let clock = FixedClock::new(t0);
        let s = Sessions::new(
            store,
            clock.clone(),
            SessionPolicy {
                idle: Duration::minutes(10),
                max: Duration::minutes(30),
            },
        );
        let (token, info) = s.create("/", "alice", false).unwrap();
        assert_eq!(token.expose().len(), 43);
        assert_eq!(s.validate(token.expose()).unwrap(), Some(info.clone()));
        assert_eq!(s.validate("not-a-token").unwrap(), None);
        assert_eq!(s.validate(&"x".repeat(10_000)).unwrap(), None);
        // Used every 9 minutes, it lives until its maximum.
        for i in 1..=3 {
            clock.set(t0 + Duration::minutes(9 * i));
            assert!(
                s.validate(token.expose()).unwrap().is_some(),
                "at {}",
                9 * i
            );
        }
        clock.set(t0 + Duration::minutes(30));
        assert!(s.validate(token.expose()).unwrap().is_none());
        // Idle for 10 minutes: gone.
        let (t2, _) = s.create("/", "alice", true).unwrap();
        clock.set(t0 + Duration::minutes(41));
        assert!(s.validate(t2.expose()).unwrap().is_none());
        let (t3, _) = s.create("/", "alice", false).unwrap();
        assert!(s.logout(t3.expose()).unwrap());
        assert!(s.validate(t3.expose()).unwrap().is_none());
        assert!(!s.logout(t3.expose()).unwrap());
    }
}
