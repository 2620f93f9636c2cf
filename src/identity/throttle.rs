//! Throttling of failed password sign-ins, so that guessing is slow and a stranger cannot
//! lock anyone else out.
//!
//! - Failures are counted per account *and source address*: `threshold` failures within
//!   `window` lock that pair for `lockout`. The same account from another address is not
//!   affected, so guesses against `amadmin` from one place never lock its operators out.
//! - Failures are also counted per source address, whatever the account: `source_threshold`
//!   failures within `window` lock the address out of every password sign-in for `lockout`.
//!   A success does not clear this counter (a guesser with an account of its own cannot
//!   reset it), so it bounds how many passwords one address tries, spread over any accounts.
//! - A source is an IPv4 address or an IPv6 /64 network (a host usually has a whole /64);
//!   IPv4-mapped IPv6 addresses count as IPv4.
//! - While locked, even the right password fails, with the same message as a wrong one.
//! - Each table keeps at most `max_entries` counters of a fixed size (accounts are keyed by a
//!   digest of their realm and name): when full, expired counters go first,
//!   then the least recently failed unlocked one, and locked ones (soonest unlocked first) only
//!   when every entry is locked. Memory is bounded whatever the number of addresses.
//!
//! Counters live in this process's memory for one node (a restart forgets them), or in the
//! store for a cluster ([`Throttle::in_store`]): every node then counts into the same
//! counters, each failure with one atomic upsert (`store::lockout`), so guesses spread over
//! nodes lock the account as soon as they would on one node. A store failure refuses the
//! sign-in (fail closed). The store's table is bounded by the reaper ([`Throttle::reap`]),
//! which removes counters that neither lock nor count a live window.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};

use crate::store::StoreError;
use crate::store::lockout::{LockRule, LockoutStore};

/// Lockout settings; a threshold of 0 disables that lock.
#[derive(Debug, Clone, Copy)]
pub struct LockoutPolicy {
    /// Failures of one account from one source that lock the pair.
    pub threshold: u32,
    /// Failures from one source, any accounts, that lock the source.
    pub source_threshold: u32,
    pub window: Duration,
    pub lockout: Duration,
    /// Counters kept at most, per table.
    pub max_entries: usize,
}

/// Where failures come from: an IPv4 address, an IPv6 /64, or unknown (callers without a
/// network peer, which share one counter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    Unknown,
    V4(std::net::Ipv4Addr),
    V6Net(u64),
}

impl Source {
    pub fn of(addr: Option<IpAddr>) -> Source {
        match addr.map(|a| a.to_canonical()) {
            None => Source::Unknown,
            Some(IpAddr::V4(a)) => Source::V4(a),
            Some(IpAddr::V6(a)) => Source::V6Net((u128::from(a) >> 64) as u64),
        }
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Unknown => f.write_str("unknown"),
            Source::V4(a) => write!(f, "{a}"),
            Source::V6Net(n) => {
                write!(f, "{}/64", std::net::Ipv6Addr::from(u128::from(*n) << 64))
            }
        }
    }
}

/// What a failure locked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locked {
    Nothing,
    /// The account, from this source.
    Pair,
    /// The source, for every account.
    Source,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    window_start: DateTime<Utc>,
    last_failure: DateTime<Utc>,
    locked_until: Option<DateTime<Utc>>,
}

/// Failure counters by key, at most `cap` of them.
struct Table<K> {
    cap: usize,
    map: HashMap<K, Entry>,
}

impl<K: Hash + Eq + Clone> Table<K> {
    fn locked(&self, k: &K, now: DateTime<Utc>) -> bool {
        self.map
            .get(k)
            .and_then(|e| e.locked_until)
            .is_some_and(|until| now < until)
    }

    /// Frees a slot for a new key: stale counters first, then the least recently failed
    /// unlocked one, then the locked one that unlocks first.
    fn make_room(&mut self, now: DateTime<Utc>, window: Duration) {
        if self.map.len() < self.cap {
            return;
        }
        self.map.retain(|_, e| {
            e.locked_until.is_some_and(|u| u > now) || e.window_start + window > now
        });
        while self.map.len() >= self.cap {
            let victim = self
                .map
                .iter()
                .min_by_key(|(_, e)| {
                    let locked = e.locked_until.filter(|u| *u > now);
                    (locked.is_some(), locked.unwrap_or(e.last_failure))
                })
                .map(|(k, _)| k.clone());
            match victim {
                Some(k) => {
                    self.map.remove(&k);
                }
                None => return,
            }
        }
    }

    /// Counts a failure; returns true if it locked the key.
    fn fail(&mut self, k: &K, threshold: u32, policy: &LockoutPolicy, now: DateTime<Utc>) -> bool {
        if threshold == 0 {
            return false;
        }
        if !self.map.contains_key(k) {
            self.make_room(now, policy.window);
        }
        let e = self.map.entry(k.clone()).or_insert(Entry {
            failures: 0,
            window_start: now,
            last_failure: now,
            locked_until: None,
        });
        if now - e.window_start > policy.window {
            e.failures = 0;
            e.window_start = now;
        }
        e.failures = e.failures.saturating_add(1);
        e.last_failure = now;
        if e.failures >= threshold {
            e.locked_until = Some(now + policy.lockout);
            e.failures = 0;
            e.window_start = now;
            return true;
        }
        false
    }
}

/// An account (by the SHA-256 of its realm and name, so that an entry has a fixed size
/// whatever name a client claims) and a source.
type PairKey = ([u8; 32], Source);

/// Failure counters, in memory or in the store.
pub struct Throttle {
    policy: LockoutPolicy,
    counters: Counters,
}

enum Counters {
    Memory {
        pairs: Shared<PairKey>,
        sources: Shared<Source>,
    },
    Store(Arc<dyn LockoutStore>),
}

/// Counters removed per purge statement.
const PURGE_BATCH: usize = 1000;

impl Source {
    /// A fixed encoding, for store keys.
    fn bytes(&self) -> Vec<u8> {
        match self {
            Source::Unknown => vec![0],
            Source::V4(a) => [&[4u8][..], &a.octets()].concat(),
            Source::V6Net(n) => [&[6u8][..], &n.to_be_bytes()].concat(),
        }
    }

    /// The store key of this source's own counter.
    fn store_key(&self) -> [u8; 32] {
        openssl::sha::sha256(&[&b"source\0"[..], &self.bytes()].concat())
    }
}

/// The store key of an account's counter for a source.
fn pair_store_key(k: &PairKey) -> [u8; 32] {
    openssl::sha::sha256(&[&b"pair\0"[..], &k.0, &k.1.bytes()].concat())
}

/// A table behind its lock, with its size readable without the lock: every sign-in asks
/// whether it is locked and clears its counter, and while nothing has failed (the usual case)
/// neither has to take a lock that every request thread shares.
struct Shared<K> {
    table: Mutex<Table<K>>,
    len: AtomicUsize,
}

impl<K> Shared<K> {
    fn new(cap: usize) -> Self {
        Shared {
            table: Mutex::new(Table {
                cap,
                map: HashMap::new(),
            }),
            len: AtomicUsize::new(0),
        }
    }

    fn is_empty(&self) -> bool {
        self.len.load(Ordering::SeqCst) == 0
    }

    /// Runs `f` under the lock and publishes the new size before releasing it.
    fn with<R>(&self, f: impl FnOnce(&mut Table<K>) -> R) -> R {
        let mut t = self
            .table
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let r = f(&mut t);
        self.len.store(t.map.len(), Ordering::SeqCst);
        r
    }
}

impl Throttle {
    /// Counters in this process's memory (one node).
    pub fn new(policy: LockoutPolicy) -> Self {
        let cap = policy.max_entries.max(1);
        Throttle {
            policy,
            counters: Counters::Memory {
                pairs: Shared::new(cap),
                sources: Shared::new(cap),
            },
        }
    }

    /// Counters in the store, shared by every node using it (`max_entries` does not apply:
    /// the reaper bounds the table).
    pub fn in_store(policy: LockoutPolicy, store: Arc<dyn LockoutStore>) -> Self {
        Throttle {
            policy,
            counters: Counters::Store(store),
        }
    }

    fn rule(&self, threshold: u32) -> LockRule {
        LockRule {
            threshold,
            window_ms: self.policy.window.num_milliseconds(),
            lockout_ms: self.policy.lockout.num_milliseconds(),
        }
    }

    fn key(realm: &str, user: &str, source: Source) -> PairKey {
        let mut h = openssl::sha::Sha256::new();
        h.update(realm.as_bytes());
        h.update(b"\0");
        h.update(user.as_bytes());
        (h.finish(), source)
    }

    /// Whether sign-ins to the account from `source` are locked now (the pair or the source).
    pub fn is_locked(
        &self,
        realm: &str,
        user: &str,
        source: Source,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let p = &self.policy;
        let pair = Self::key(realm, user, source);
        match &self.counters {
            Counters::Memory { pairs, sources } => Ok((p.source_threshold > 0
                && !sources.is_empty()
                && sources.with(|t| t.locked(&source, now)))
                || (p.threshold > 0 && !pairs.is_empty() && pairs.with(|t| t.locked(&pair, now)))),
            Counters::Store(store) => {
                let mut keys = Vec::with_capacity(2);
                if p.source_threshold > 0 {
                    keys.push(source.store_key());
                }
                if p.threshold > 0 {
                    keys.push(pair_store_key(&pair));
                }
                store.any_locked(&keys, now.timestamp_millis())
            }
        }
    }

    /// Records a failure; returns what it locked.
    pub fn failure(
        &self,
        realm: &str,
        user: &str,
        source: Source,
        now: DateTime<Utc>,
    ) -> Result<Locked, StoreError> {
        let p = &self.policy;
        let pair = Self::key(realm, user, source);
        let (source_locked, pair_locked) = match &self.counters {
            Counters::Memory { pairs, sources } => (
                sources.with(|t| t.fail(&source, p.source_threshold, p, now)),
                pairs.with(|t| t.fail(&pair, p.threshold, p, now)),
            ),
            Counters::Store(store) => {
                let now_ms = now.timestamp_millis();
                let count = |key: [u8; 32], threshold: u32| {
                    if threshold == 0 {
                        Ok(false)
                    } else {
                        store.count_failure(&key, self.rule(threshold), now_ms)
                    }
                };
                (
                    count(source.store_key(), p.source_threshold)?,
                    count(pair_store_key(&pair), p.threshold)?,
                )
            }
        };
        Ok(match (source_locked, pair_locked) {
            (true, _) => Locked::Source,
            (false, true) => Locked::Pair,
            (false, false) => Locked::Nothing,
        })
    }

    /// Clears the account's counter for `source` after a success (not the source's own).
    pub fn success(&self, realm: &str, user: &str, source: Source) -> Result<(), StoreError> {
        if self.policy.threshold == 0 {
            return Ok(());
        }
        let pair = Self::key(realm, user, source);
        match &self.counters {
            Counters::Memory { pairs, .. } => {
                if !pairs.is_empty() {
                    pairs.with(|t| t.map.remove(&pair));
                }
                Ok(())
            }
            Counters::Store(store) => store.clear_failures(&pair_store_key(&pair)),
        }
    }

    /// Removes stored counters that neither lock nor count a live window; returns how many
    /// (the memory tables bound themselves as they fill).
    pub fn reap(&self, now: DateTime<Utc>) -> Result<usize, StoreError> {
        let Counters::Store(store) = &self.counters else {
            return Ok(0);
        };
        let window_ms = self.policy.window.num_milliseconds();
        let mut total = 0;
        loop {
            let n = store.purge_lockout(now.timestamp_millis(), window_ms, PURGE_BATCH)?;
            total += n;
            if n < PURGE_BATCH {
                return Ok(total);
            }
        }
    }

    /// Counters held in memory now (pairs, sources).
    pub fn counters(&self) -> (usize, usize) {
        match &self.counters {
            Counters::Memory { pairs, sources } => {
                (pairs.with(|t| t.map.len()), sources.with(|t| t.map.len()))
            }
            Counters::Store(_) => (0, 0),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A fixed instant, so that a failure replays the same way.
    fn t0() -> DateTime<Utc> {
        DateTime::from_timestamp(1_767_225_600, 0).unwrap()
    }

    fn policy(threshold: u32, source_threshold: u32, max_entries: usize) -> LockoutPolicy {
        LockoutPolicy {
            threshold,
            source_threshold,
            window: Duration::minutes(5),
            lockout: Duration::minutes(10),
            max_entries,
        }
    }

    fn ip(s: &str) -> Source {
        Source::of(Some(s.parse().unwrap()))
    }

    #[test]
    fn locks_the_account_from_one_source_only_and_unlocks_later() {
        let t = Throttle::new(policy(3, 0, 1000));
        let (a, b) = (ip("192.0.2.1"), ip("198.51.100.7"));
        let now = t0();
        assert_eq!(t.failure("/", "amadmin", a, now).unwrap(), Locked::Nothing);
        assert_eq!(t.failure("/", "amadmin", a, now).unwrap(), Locked::Nothing);
        assert!(!t.is_locked("/", "amadmin", a, now).unwrap());
        assert_eq!(t.failure("/", "amadmin", a, now).unwrap(), Locked::Pair);
        assert!(t.is_locked("/", "amadmin", a, now + Duration::minutes(9)).unwrap());
        // Another address, and another account from the same address, are not locked.
        assert!(!t.is_locked("/", "amadmin", b, now).unwrap());
        assert!(!t.is_locked("/", "demo", a, now).unwrap());
        assert!(!t.is_locked("/", "amadmin", a, now + Duration::minutes(10)).unwrap());
        // Failures spread beyond the window do not add up.
        let later = now + Duration::hours(1);
        for m in [0, 6, 12] {
            t.failure("/", "c", a, later + Duration::minutes(m)).unwrap();
        }
        assert!(!t.is_locked("/", "c", a, later + Duration::minutes(12)).unwrap());
    }

    #[test]
    fn a_source_is_locked_across_accounts_and_a_success_does_not_reset_it() {
        let t = Throttle::new(policy(5, 4, 1000));
        let (a, b) = (ip("192.0.2.1"), ip("198.51.100.7"));
        let now = t0();
        for user in ["u1", "u2", "u3"] {
            assert_eq!(t.failure("/", user, a, now).unwrap(), Locked::Nothing);
        }
        t.success("/", "mine", a).unwrap();
        assert_eq!(t.failure("/", "u4", a, now).unwrap(), Locked::Source);
        assert!(t.is_locked("/", "demo", a, now).unwrap());
        assert!(!t.is_locked("/", "demo", b, now).unwrap());
        assert!(!t.is_locked("/", "demo", a, now + Duration::minutes(10)).unwrap());
    }

    #[test]
    fn ipv6_counts_by_64_and_mapped_ipv4_as_ipv4() {
        assert_eq!(ip("2001:db8:1:2::1"), ip("2001:db8:1:2:ffff::9"));
        assert_ne!(ip("2001:db8:1:2::1"), ip("2001:db8:1:3::1"));
        assert_eq!(ip("::ffff:192.0.2.1"), ip("192.0.2.1"));
        assert_eq!(ip("2001:db8:1:2::1").to_string(), "2001:db8:1:2::/64");
    }

    #[test]
    fn memory_is_bounded_and_locks_outlive_plain_counters() {
        let t = Throttle::new(policy(2, 0, 100));
        let now = t0();
        let victim = ip("192.0.2.1");
        t.failure("/", "amadmin", victim, now).unwrap();
        assert_eq!(
            t.failure("/", "amadmin", victim, now).unwrap(),
            Locked::Pair,
            "locked"
        );
        // A flood of fresh counters from many addresses: never more than the cap, and the
        // lock is kept while unlocked counters can be dropped instead.
        for i in 0..10_000u32 {
            let src = Source::of(Some(IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + i))));
            t.failure("/", &format!("user{i}"), src, now + Duration::seconds(1))
                .unwrap();
            assert!(t.counters().0 <= 100);
        }
        assert_eq!(t.counters().0, 100);
        assert!(t.is_locked("/", "amadmin", victim, now + Duration::seconds(2)).unwrap());
        // The source table is bounded the same way.
        let t = Throttle::new(policy(0, 1000, 50));
        for i in 0..1000u32 {
            let src = Source::of(Some(IpAddr::V4(std::net::Ipv4Addr::from(i))));
            t.failure("/", "x", src, now).unwrap();
        }
        assert_eq!(t.counters(), (0, 50));
    }

    /// Two nodes (two throttles) on one store: failures spread over them add up, and the
    /// lock holds on both.
    pub(crate) fn nodes_share_counters(store: Arc<dyn LockoutStore>) {
        let a = Throttle::in_store(policy(3, 5, 1), store.clone());
        let b = Throttle::in_store(policy(3, 5, 1), store);
        let (src, other) = (ip("192.0.2.1"), ip("198.51.100.7"));
        let now = t0();
        assert_eq!(a.failure("/", "alice", src, now).unwrap(), Locked::Nothing);
        assert_eq!(b.failure("/", "alice", src, now).unwrap(), Locked::Nothing);
        assert!(!a.is_locked("/", "alice", src, now).unwrap());
        assert_eq!(a.failure("/", "alice", src, now).unwrap(), Locked::Pair);
        for t in [&a, &b] {
            assert!(t.is_locked("/", "alice", src, now).unwrap());
            assert!(!t.is_locked("/", "alice", other, now).unwrap());
            assert!(!t.is_locked("/", "bob", src, now).unwrap());
        }
        // A success on one node clears the account's count on both, not the source's.
        b.success("/", "carol", src).unwrap();
        assert_eq!(a.failure("/", "carol", src, now).unwrap(), Locked::Nothing);
        assert_eq!(b.failure("/", "dave", src, now).unwrap(), Locked::Source);
        assert!(a.is_locked("/", "erin", src, now).unwrap());
        let later = now + Duration::minutes(10);
        assert!(!b.is_locked("/", "alice", src, later).unwrap());
        assert!(a.reap(later + Duration::minutes(5)).unwrap() >= 4);
        assert_eq!(b.reap(later + Duration::minutes(5)).unwrap(), 0);
    }

    #[test]
    fn nodes_share_counters_on_sqlite() {
        let dir = tempfile::tempdir().unwrap();
        let store =
            crate::store::open(&format!("sqlite://{}", dir.path().join("l.db").display()))
                .unwrap();
        nodes_share_counters(store);
    }
}
