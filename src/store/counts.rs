//! How many records the store holds (tokens, sessions, replay-cache entries), for the
//! metrics gauges: read on scrape, so every backend answers at a bounded cost whatever the
//! table's size. Up to [`EXACT_UP_TO`] rows a count is exact (it reads at most that many
//! index entries); beyond, a backend gives an estimate (PostgreSQL: the planner's
//! `pg_class.reltuples`, kept by autovacuum) or the bound itself (SQLite: it has no
//! statistics without `ANALYZE`), and says so.

use super::StoreError;

/// Rows counted one by one at most, per table and per call.
pub const EXACT_UP_TO: u64 = 100_000;

/// The size of one table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Count {
    pub rows: u64,
    /// False: `rows` is an estimate (or, on SQLite, a lower bound) of a table larger than
    /// [`EXACT_UP_TO`].
    pub exact: bool,
}

impl Count {
    /// The count from `seen` rows read with a limit of `EXACT_UP_TO + 1`, and the backend's
    /// estimate of the table (`None` when it has none).
    pub fn from_bounded(seen: u64, estimate: Option<u64>) -> Count {
        if seen <= EXACT_UP_TO {
            Count {
                rows: seen,
                exact: true,
            }
        } else {
            Count {
                rows: estimate.unwrap_or(seen).max(seen),
                exact: false,
            }
        }
    }
}

/// The sizes of the tables the gauges follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// Issued tokens stored (expired ones the reaper has not removed yet included).
    pub tokens: Count,
    /// Sessions stored (expired ones not yet reaped included).
    pub sessions: Count,
    /// Replay-cache entries in the store (a cluster's; one node keeps its cache in memory).
    pub replay: Count,
}

/// A cheap, read-only count of what the store holds.
pub trait CountStore: Send + Sync {
    /// The counts now; costs at most about [`EXACT_UP_TO`] index entries read per table.
    fn counts(&self) -> Result<Counts, StoreError>;
}

/// The behaviour every backend must show: counts follow inserts and deletes exactly while
/// tables are small.
#[cfg(test)]
pub fn conformance(store: &dyn super::Store) {
    let before = store.counts().unwrap();
    assert!(before.tokens.exact && before.sessions.exact && before.replay.exact);
    let tok = super::TokenRecord {
        token_id: "_count-1".into(),
        sts_id: "s".into(),
        realm: "/".into(),
        principal: "p".into(),
        token_type: "SAML2".into(),
        issued_ms: 0,
        expires_ms: i64::MAX,
        token: "<a/>".into(),
    };
    store.insert_tokens(std::slice::from_ref(&tok)).unwrap();
    let session = super::SessionRecord {
        handle: [0xc0; 32],
        uid: "count-uid".into(),
        realm: "/".into(),
        username: "counted".into(),
        interim: false,
        created_ms: 0,
        accessed_ms: 0,
        max_until_ms: i64::MAX,
    };
    store.insert_session(&session).unwrap();
    store.insert_once(&[0xc1; 32], i64::MAX, 0).unwrap();
    store.insert_once(&[0xc2; 32], i64::MAX, 0).unwrap();
    let after = store.counts().unwrap();
    assert_eq!(after.tokens.rows, before.tokens.rows + 1);
    assert_eq!(after.sessions.rows, before.sessions.rows + 1);
    assert_eq!(after.replay.rows, before.replay.rows + 2);
    assert!(store.delete_token("_count-1").unwrap());
    assert!(store.delete_session(&[0xc0; 32]).unwrap());
    let last = store.counts().unwrap();
    assert_eq!(last.tokens, before.tokens);
    assert_eq!(last.sessions, before.sessions);
    // Past the bound, a count says it is not exact and never reports fewer rows than it saw.
    assert_eq!(
        Count::from_bounded(EXACT_UP_TO + 1, Some(5)),
        Count {
            rows: EXACT_UP_TO + 1,
            exact: false
        }
    );
    assert_eq!(Count::from_bounded(EXACT_UP_TO + 1, Some(9_000_000)).rows, 9_000_000);
}
