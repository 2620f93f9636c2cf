//! The cluster-wide replay cache: values a node accepts once (UsernameToken nonces, message
//! signatures, input assertion IDs, `jti`s), as SHA-256 keys with an expiry. A key is taken
//! by one unique insert, so two nodes racing on the same value cannot both see it fresh; a
//! row whose expiry has passed is reused by the next insert of its key, and the reaper
//! removes the others in bounded batches.

use super::StoreError;

/// Outcome of [`ReplayStore::insert_once`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Once {
    /// Recorded now: accept the value.
    Fresh,
    /// Recorded before and not yet expired: refuse it.
    Replay,
}

/// Persistence of the replay cache.
pub trait ReplayStore: Send + Sync {
    /// Records `key` until `until_ms`, unless it is recorded with an expiry at or after
    /// `now_ms` (then [`Once::Replay`], and nothing changes).
    fn insert_once(&self, key: &[u8; 32], until_ms: i64, now_ms: i64)
    -> Result<Once, StoreError>;
    /// Removes at most `batch` records expired before `now_ms`; returns how many.
    fn purge_replay(&self, now_ms: i64, batch: usize) -> Result<usize, StoreError>;
}

/// The behaviour every backend must show.
#[cfg(test)]
pub fn conformance(store: &dyn ReplayStore) {
    let (a, b) = ([1u8; 32], [2u8; 32]);
    assert_eq!(store.insert_once(&a, 2_000, 1_000).unwrap(), Once::Fresh);
    assert_eq!(store.insert_once(&a, 9_000, 1_500).unwrap(), Once::Replay);
    // The refused insert did not extend the record: it is free again after 2 s.
    assert_eq!(store.insert_once(&a, 3_000, 2_000).unwrap(), Once::Replay);
    assert_eq!(store.insert_once(&b, 5_000, 1_000).unwrap(), Once::Fresh);
    // An expired record is reused, with the new expiry.
    assert_eq!(store.insert_once(&a, 4_000, 2_001).unwrap(), Once::Fresh);
    assert_eq!(store.insert_once(&a, 9_000, 3_999).unwrap(), Once::Replay);
    // Purging removes expired records only, in bounded batches.
    for i in 10..20u8 {
        assert_eq!(store.insert_once(&[i; 32], 100, 0).unwrap(), Once::Fresh);
    }
    assert_eq!(store.purge_replay(4_500, 4).unwrap(), 4);
    assert_eq!(store.purge_replay(4_500, 100).unwrap(), 7);
    assert_eq!(store.purge_replay(4_500, 100).unwrap(), 0);
    assert_eq!(store.insert_once(&b, 9_000, 4_500).unwrap(), Once::Replay);
    assert_eq!(store.insert_once(&b, 9_000, 5_001).unwrap(), Once::Fresh);
    // Concurrent inserts of one key: exactly one is fresh.
    let fresh = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| {
                if store.insert_once(&[99; 32], 10_000, 5_000).unwrap() == Once::Fresh {
                    fresh.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
            });
        }
    });
    assert_eq!(fresh.into_inner(), 1);
}
