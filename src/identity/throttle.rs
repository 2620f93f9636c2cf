//! Throttling of repeated authentication failures per account: after `threshold` failures
//! within `window`, the account is locked for `lockout`, during which even the right password
//! fails (with the same message as a wrong one).

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

/// Lockout settings; a threshold of 0 disables throttling.
#[derive(Debug, Clone, Copy)]
pub struct LockoutPolicy {
    pub threshold: u32,
    pub window: Duration,
    pub lockout: Duration,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    window_start: DateTime<Utc>,
    locked_until: Option<DateTime<Utc>>,
}

/// Failure counters, in memory (a restart forgets them).
pub struct Throttle {
    policy: LockoutPolicy,
    entries: Mutex<HashMap<(String, String), Entry>>,
}

/// Counters kept at most; beyond it, stale ones are dropped first.
const MAX_ENTRIES: usize = 100_000;

impl Throttle {
    pub fn new(policy: LockoutPolicy) -> Self {
        Throttle {
            policy,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), Entry>> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether the account is locked now.
    pub fn is_locked(&self, realm: &str, user: &str, now: DateTime<Utc>) -> bool {
        self.policy.threshold > 0
            && self
                .lock()
                .get(&(realm.to_owned(), user.to_owned()))
                .and_then(|e| e.locked_until)
                .is_some_and(|until| now < until)
    }

    /// Records a failure; returns true if it locked the account.
    pub fn failure(&self, realm: &str, user: &str, now: DateTime<Utc>) -> bool {
        if self.policy.threshold == 0 {
            return false;
        }
        let mut map = self.lock();
        if map.len() >= MAX_ENTRIES {
            let window = self.policy.window;
            map.retain(|_, e| {
                e.locked_until.is_some_and(|u| u > now) || e.window_start + window > now
            });
        }
        let e = map
            .entry((realm.to_owned(), user.to_owned()))
            .or_insert(Entry {
                failures: 0,
                window_start: now,
                locked_until: None,
            });
        if now - e.window_start > self.policy.window {
            e.failures = 0;
            e.window_start = now;
        }
        e.failures += 1;
        if e.failures >= self.policy.threshold {
            e.locked_until = Some(now + self.policy.lockout);
            e.failures = 0;
            e.window_start = now;
            return true;
        }
        false
    }

    /// Clears the counter after a success.
    pub fn success(&self, realm: &str, user: &str) {
        if self.policy.threshold > 0 {
            self.lock().remove(&(realm.to_owned(), user.to_owned()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_after_threshold_and_unlocks_later() {
        let t = Throttle::new(LockoutPolicy {
            threshold: 3,
            window: Duration::minutes(5),
            lockout: Duration::minutes(10),
        });
        let now = Utc::now();
        assert!(!t.failure("/", "a", now));
        assert!(!t.failure("/", "a", now));
        assert!(!t.is_locked("/", "a", now));
        assert!(t.failure("/", "a", now));
        assert!(t.is_locked("/", "a", now + Duration::minutes(9)));
        assert!(!t.is_locked("/", "b", now));
        assert!(!t.is_locked("/", "a", now + Duration::minutes(10)));
        // Failures spread beyond the window do not add up.
        let later = now + Duration::hours(1);
        t.failure("/", "c", later);
        t.failure("/", "c", later + Duration::minutes(6));
        t.failure("/", "c", later + Duration::minutes(12));
        assert!(!t.is_locked("/", "c", later + Duration::minutes(12)));
    }
}
