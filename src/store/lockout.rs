//! Failure counters for lockout and throttling, shared by every node: a guesser who spreads
//! attempts over nodes meets one counter. Counting is one atomic upsert per counter (no read
//! then write), so concurrent failures on several nodes are each counted once and exactly one
//! of them sets the lock. The policy (what is counted, under which key) is the identity
//! layer's (`identity::throttle`); this is only the arithmetic.

use super::StoreError;

/// How one kind of counter locks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockRule {
    /// Failures within `window_ms` that lock (at least 1).
    pub threshold: u32,
    pub window_ms: i64,
    /// How long a lock lasts.
    pub lockout_ms: i64,
}

/// Persistence of failure counters, by fixed-size key (a digest the caller chooses).
pub trait LockoutStore: Send + Sync {
    /// Counts a failure of `key` at `now_ms`: a window older than `window_ms` starts again
    /// at this failure; reaching `threshold` locks the key until `now_ms + lockout_ms` and
    /// starts a new window. Returns whether this failure set the lock.
    fn count_failure(&self, key: &[u8; 32], rule: LockRule, now_ms: i64)
    -> Result<bool, StoreError>;
    /// Whether any of `keys` is locked at `now_ms`.
    fn any_locked(&self, keys: &[[u8; 32]], now_ms: i64) -> Result<bool, StoreError>;
    /// Forgets `key`'s failures (after a success), not its lock: another node may have set
    /// it while this one checked the password.
    fn clear_failures(&self, key: &[u8; 32]) -> Result<(), StoreError>;
    /// Removes at most `batch` counters that are neither locked at `now_ms` nor counting a
    /// window younger than `window_ms`; returns how many.
    fn purge_lockout(&self, now_ms: i64, window_ms: i64, batch: usize)
    -> Result<usize, StoreError>;
}

/// The behaviour every backend must show.
#[cfg(test)]
pub fn conformance(store: &dyn LockoutStore) {
    let rule = LockRule {
        threshold: 3,
        window_ms: 1_000,
        lockout_ms: 10_000,
    };
    let (a, b) = ([1u8; 32], [2u8; 32]);
    assert!(!store.count_failure(&a, rule, 0).unwrap());
    assert!(!store.count_failure(&a, rule, 500).unwrap());
    assert!(!store.any_locked(&[a, b], 500).unwrap());
    assert!(store.count_failure(&a, rule, 900).unwrap(), "third locks");
    assert!(store.any_locked(&[a], 900).unwrap());
    assert!(store.any_locked(&[b, a], 10_899).unwrap());
    assert!(!store.any_locked(&[b], 900).unwrap());
    assert!(!store.any_locked(&[a], 10_900).unwrap(), "the lock ends");
    assert!(!store.any_locked(&[], 900).unwrap());
    // Failures further apart than the window do not add up.
    for t in [20_000, 21_001, 22_002] {
        assert!(!store.count_failure(&b, rule, t).unwrap());
    }
    assert!(!store.any_locked(&[b], 22_002).unwrap());
    // A success clears the count.
    store.count_failure(&b, rule, 22_100).unwrap();
    store.clear_failures(&b).unwrap();
    assert!(!store.count_failure(&b, rule, 22_200).unwrap());
    assert!(!store.count_failure(&b, rule, 22_300).unwrap());
    assert!(store.count_failure(&b, rule, 22_400).unwrap());
    // A threshold of one locks at once.
    let one = LockRule {
        threshold: 1,
        ..rule
    };
    assert!(store.count_failure(&[3; 32], one, 0).unwrap());
    // Purging keeps live windows and locks: at 30 s, b is locked, a and [3] are stale.
    assert_eq!(store.purge_lockout(30_000, 1_000, 1).unwrap(), 1);
    assert_eq!(store.purge_lockout(30_000, 1_000, 100).unwrap(), 1);
    assert_eq!(store.purge_lockout(30_000, 1_000, 100).unwrap(), 0);
    assert!(store.any_locked(&[b], 30_000).unwrap());
    // Concurrent failures (nodes) are each counted: 8 failures with threshold 4 lock twice.
    let many = LockRule {
        threshold: 4,
        window_ms: 1_000_000,
        lockout_ms: 1,
    };
    let locks = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| {
                if store.count_failure(&[9; 32], many, 50_000).unwrap() {
                    locks.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
            });
        }
    });
    assert_eq!(locks.into_inner(), 2);
}
