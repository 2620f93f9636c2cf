//! Remembers UsernameToken nonces until their freshness window closes, to refuse replays.
//!
//! Sharded so that concurrent requests rarely contend; bounded so that a flood of fresh
//! nonces cannot exhaust memory (when a shard is full after purging expired entries, new
//! nonces are refused rather than old ones forgotten: forgetting would re-open replays).

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::Mutex;

use chrono::{DateTime, Utc};

const SHARDS: usize = 16;

pub struct NonceCache {
    shards: Vec<Mutex<HashMap<Vec<u8>, i64>>>,
    per_shard: usize,
    hasher: std::collections::hash_map::RandomState,
}

impl NonceCache {
    pub fn new(capacity: usize) -> Self {
        NonceCache {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            per_shard: capacity.div_ceil(SHARDS).max(1),
            hasher: std::collections::hash_map::RandomState::new(),
        }
    }

    /// Records `nonce` until `until`; false if it is already recorded (a replay) or the cache
    /// is full of live entries.
    pub fn insert(&self, nonce: &[u8], until: DateTime<Utc>, now: DateTime<Utc>) -> bool {
        let idx = usize::try_from(self.hasher.hash_one(nonce) % SHARDS as u64).unwrap_or(0);
        let Ok(mut shard) = self.shards[idx].lock() else {
            return false;
        };
        let now_ms = now.timestamp_millis();
        if let Some(exp) = shard.get(nonce)
            && *exp >= now_ms
        {
            return false;
        }
        if shard.len() >= self.per_shard {
            shard.retain(|_, exp| *exp >= now_ms);
            if shard.len() >= self.per_shard {
                return false;
            }
        }
        shard.insert(nonce.to_vec(), until.timestamp_millis());
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn refuses_replays_until_expiry_and_stays_bounded() {
        let now = Utc::now();
        let c = NonceCache::new(16);
        assert!(c.insert(b"n1", now + Duration::seconds(10), now));
        assert!(!c.insert(b"n1", now + Duration::seconds(10), now));
        assert!(c.insert(
            b"n1",
            now + Duration::seconds(30),
            now + Duration::seconds(11)
        ));
        let full = NonceCache::new(1);
        let mut accepted = 0;
        for i in 0..64u32 {
            if full.insert(&i.to_be_bytes(), now + Duration::seconds(10), now) {
                accepted += 1;
            }
        }
        assert!(accepted <= SHARDS, "accepted {accepted}");
    }
}
