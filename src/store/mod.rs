//! Durable state behind one trait per kind of record; backends are chosen by URL
//! (`sqlite://path`; `postgres://` when several nodes share a cluster). Nothing above this
//! module knows SQL. [`conformance`] is the suite every backend must pass.

mod sqlite;

use std::sync::Arc;

/// Store failures.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store URL `{0}` is not supported (use sqlite://PATH)")]
    Url(String),
    #[error("database: {0}")]
    Db(String),
}

/// A session as stored: `handle` is the SHA-256 of the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub handle: [u8; 32],
    /// A public, random identifier of the session (never the token).
    pub uid: String,
    pub realm: String,
    pub username: String,
    /// Created while validating an input token, rather than by `/json/authenticate`.
    pub interim: bool,
    pub created_ms: i64,
    pub accessed_ms: i64,
    pub max_until_ms: i64,
}

/// Session persistence.
pub trait SessionStore: Send + Sync {
    fn insert_session(&self, s: &SessionRecord) -> Result<(), StoreError>;
    fn get_session(&self, handle: &[u8; 32]) -> Result<Option<SessionRecord>, StoreError>;
    /// Records an access; returns false if the session no longer exists.
    fn touch_session(&self, handle: &[u8; 32], accessed_ms: i64) -> Result<bool, StoreError>;
    /// Returns whether a session was removed.
    fn delete_session(&self, handle: &[u8; 32]) -> Result<bool, StoreError>;
    /// Removes sessions whose maximum lifetime or idle timeout has passed.
    fn delete_expired_sessions(&self, now_ms: i64, idle_ms: i64) -> Result<usize, StoreError>;
    fn sessions_of(&self, realm: &str, username: &str) -> Result<Vec<SessionRecord>, StoreError>;
}

/// Opens the store a URL names.
pub fn open(url: &str) -> Result<Arc<dyn SessionStore>, StoreError> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        return Ok(Arc::new(sqlite::SqliteStore::open(path)?));
    }
    Err(StoreError::Url(url.to_owned()))
}

/// The behaviour every backend must show; run by each backend's tests.
#[cfg(test)]
pub fn conformance(store: &dyn SessionStore) {
    let rec = |n: u8, user: &str, max: i64| SessionRecord {
        handle: [n; 32],
        uid: format!("uid-{n}"),
        realm: "/".into(),
        username: user.into(),
        interim: n % 2 == 0,
        created_ms: 1_000,
        accessed_ms: 1_000,
        max_until_ms: max,
    };
    store.insert_session(&rec(1, "alice", 100_000)).unwrap();
    store.insert_session(&rec(2, "alice", 5_000)).unwrap();
    store.insert_session(&rec(3, "bob", 100_000)).unwrap();
    assert_eq!(
        store.get_session(&[1; 32]).unwrap(),
        Some(rec(1, "alice", 100_000))
    );
    assert_eq!(store.get_session(&[9; 32]).unwrap(), None);
    assert!(
        store.insert_session(&rec(1, "alice", 1)).is_err(),
        "duplicate handle accepted"
    );
    assert!(store.touch_session(&[1; 32], 2_000).unwrap());
    assert_eq!(
        store.get_session(&[1; 32]).unwrap().unwrap().accessed_ms,
        2_000
    );
    assert!(!store.touch_session(&[9; 32], 2_000).unwrap());
    assert_eq!(store.sessions_of("/", "alice").unwrap().len(), 2);
    // At t=60 s with a 50 s idle timeout: session 2 passed its maximum, session 3 has been idle
    // since t=1 s, session 1 was used at t=20 s.
    store.touch_session(&[1; 32], 20_000).unwrap();
    assert_eq!(store.delete_expired_sessions(60_000, 50_000).unwrap(), 2);
    assert_eq!(store.sessions_of("/", "alice").unwrap().len(), 1);
    assert!(store.delete_session(&[1; 32]).unwrap());
    assert!(!store.delete_session(&[1; 32]).unwrap());
    assert!(store.sessions_of("/", "alice").unwrap().is_empty());
}
