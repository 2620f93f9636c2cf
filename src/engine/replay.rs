//! Replay protection: every value that may be accepted once (UsernameToken nonces, input
//! SAML assertion IDs, input JWT `jti`s, message signatures) is remembered until it could no
//! longer be accepted anyway. [`ReplayCache`] is what the engine needs. Two implementations:
//!
//! - [`StoreReplayCache`]: in the store, shared by every node of a cluster (PostgreSQL): a value
//!   accepted by one node is a replay on all of them. A store failure refuses the value (fail
//!   closed), as `StoreError::Unavailable` when the database cannot be reached.
//! - [`NonceCache`]: this process's memory, for one node on SQLite: nothing else can see
//!   its values, and memory costs no write to the database file (whose one connection every
//!   request would otherwise queue on). A restart forgets it; the values it forgets are
//!   refused anyway once the freshness window has passed.
//!
//! The memory cache is sharded so that concurrent requests rarely contend; bounded so that a flood of fresh
//! nonces cannot exhaust memory (when a shard is full after purging expired entries, new
//! nonces are refused rather than old ones forgotten: forgetting would re-open replays).

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::Mutex;

use chrono::{DateTime, Utc};

use crate::store::StoreError;
use crate::store::replay::{Once, ReplayStore};

const SHARDS: usize = 16;

/// Outcome of recording a nonce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Insert {
    Fresh,
    Replay,
    /// The cache is full of live nonces.
    Full,
}

/// Where the engine records values it accepts once.
pub trait ReplayCache: Send + Sync {
    /// Records `value` until `until`: `Insert::Replay` if it is already recorded and not
    /// yet past its time, `Insert::Full` if it cannot be recorded (refuse, never forget). An
    /// error means it is not known whether the value is fresh: refuse it.
    fn insert(
        &self,
        value: &[u8],
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Insert, StoreError>;

    /// Forgets values expired at `now` (the memory cache does so as it fills); returns how many.
    fn reap(&self, _now: DateTime<Utc>) -> Result<usize, StoreError> {
        Ok(0)
    }

    /// How many values this cache holds, if it holds them itself (the store counts its own).
    fn entries(&self) -> Option<u64> {
        None
    }
}

/// Records removed per purge statement, so that the reaper never holds a long transaction.
const PURGE_BATCH: usize = 1000;

/// The replay cache in the store, shared by a cluster.
pub struct StoreReplayCache {
    store: std::sync::Arc<dyn ReplayStore>,
}

impl StoreReplayCache {
    pub fn new(store: std::sync::Arc<dyn ReplayStore>) -> Self {
        StoreReplayCache { store }
    }
}

impl ReplayCache for StoreReplayCache {
    fn insert(
        &self,
        value: &[u8],
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Insert, StoreError> {
        let key: Key = openssl::sha::sha256(value);
        Ok(
            match self
                .store
                .insert_once(&key, until.timestamp_millis(), now.timestamp_millis())?
            {
                Once::Fresh => Insert::Fresh,
                Once::Replay => Insert::Replay,
            },
        )
    }

    fn reap(&self, now: DateTime<Utc>) -> Result<usize, StoreError> {
        let mut total = 0;
        loop {
            let n = self
                .store
                .purge_replay(now.timestamp_millis(), PURGE_BATCH)?;
            total += n;
            if n < PURGE_BATCH {
                return Ok(total);
            }
        }
    }
}

/// Nonces are kept as SHA-256 digests: fixed size whatever the client sends.
type Key = [u8; 32];

/// The in-memory, per-node [`ReplayCache`].
pub struct NonceCache {
    shards: Vec<Mutex<HashMap<Key, i64>>>,
    per_shard: usize,
    hasher: std::collections::hash_map::RandomState,
}

impl NonceCache {
    /// A cache of about `capacity` live values.
    pub fn new(capacity: usize) -> Self {
        NonceCache {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            per_shard: capacity.div_ceil(SHARDS).max(1),
            hasher: std::collections::hash_map::RandomState::new(),
        }
    }
}

impl ReplayCache for NonceCache {
    fn insert(
        &self,
        nonce: &[u8],
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Insert, StoreError> {
        Ok(self.insert_mem(nonce, until, now))
    }

    fn entries(&self) -> Option<u64> {
        let lens = self.shards.iter().map(|s| {
            s.lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .len()
        });
        Some(lens.map(|n| u64::try_from(n).unwrap_or(u64::MAX)).sum())
    }
}

impl NonceCache {
    fn insert_mem(&self, nonce: &[u8], until: DateTime<Utc>, now: DateTime<Utc>) -> Insert {
        let key: Key = openssl::sha::sha256(nonce);
        let idx = usize::try_from(self.hasher.hash_one(key) % SHARDS as u64).unwrap_or(0);
        // A panic while holding the lock cannot leave the map inconsistent: keep using it.
        let Some(shard) = self.shards.get(idx) else {
            return Insert::Full;
        };
        let mut shard = shard
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let now_ms = now.timestamp_millis();
        if let Some(exp) = shard.get(&key)
            && *exp >= now_ms
        {
            return Insert::Replay;
        }
        if shard.len() >= self.per_shard {
            shard.retain(|_, exp| *exp >= now_ms);
            if shard.len() >= self.per_shard {
                return Insert::Full;
            }
        }
        shard.insert(key, until.timestamp_millis());
        Insert::Fresh
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn refuses_replays_until_expiry_and_stays_bounded() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let c = NonceCache::new(16);
        let until = now + Duration::seconds(10);
        assert_eq!(c.insert(b"n1", until, now).unwrap(), Insert::Fresh);
        assert_eq!(c.insert(b"n1", until, now).unwrap(), Insert::Replay);
        let later = now + Duration::seconds(11);
        assert_eq!(
            c.insert(b"n1", later + Duration::seconds(20), later)
                .unwrap(),
            Insert::Fresh
        );
        let full = NonceCache::new(1);
        let mut accepted = 0;
        for i in 0..64u32 {
            match full
                .insert(&i.to_be_bytes(), now + Duration::seconds(10), now)
                .unwrap()
            {
                Insert::Fresh => accepted += 1,
                Insert::Full => {}
                Insert::Replay => panic!("distinct nonces seen as replays"),
            }
        }
        assert!(accepted <= SHARDS, "accepted {accepted}");
    }

    /// Two nodes (two caches) on one store: what one accepted, the other refuses.
    pub(crate) fn shared_by_nodes(store: std::sync::Arc<dyn ReplayStore>) {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let (a, b) = (
            StoreReplayCache::new(store.clone()),
            StoreReplayCache::new(store),
        );
        let until = now + Duration::seconds(10);
        assert_eq!(a.insert(b"n1", until, now).unwrap(), Insert::Fresh);
        assert_eq!(b.insert(b"n1", until, now).unwrap(), Insert::Replay);
        assert_eq!(b.insert(b"n2", until, now).unwrap(), Insert::Fresh);
        assert_eq!(a.insert(b"n2", until, now).unwrap(), Insert::Replay);
        let later = now + Duration::seconds(11);
        assert_eq!(a.reap(later).unwrap(), 2);
        assert_eq!(
            b.insert(b"n1", later + Duration::seconds(10), later)
                .unwrap(),
            Insert::Fresh
        );
    }

    #[test]
    fn the_store_cache_is_shared_by_nodes_on_sqlite() {
        let dir = tempfile::tempdir().unwrap();
        let store =
            crate::store::open(&format!("sqlite://{}", dir.path().join("r.db").display()))
                .unwrap();
        shared_by_nodes(store);
    }
}
