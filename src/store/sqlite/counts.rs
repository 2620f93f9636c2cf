//! Table sizes for the gauges: each count reads at most `EXACT_UP_TO + 1` entries of the
//! table's smallest index (SQLite keeps no row count, and no statistics without `ANALYZE`),
//! so a larger table reports that bound as a lower bound.
//!
//! The counts run on a read-only connection of their own: in WAL mode a reader neither
//! waits for the writers nor holds them up, so a sample (up to 3 x 100 001 index entries,
//! 16-23 ms of one CPU at the bound, measured) never holds the connection that
//! requests use. The cost is that connection's page cache (SQLite's default, about 2 MiB,
//! filled only as far as the counts read) and, while a count runs, a WAL checkpoint cannot
//! move past its snapshot.

use rusqlite::{Connection, OpenFlags, params};

use super::{SqliteStore, db};
use crate::store::StoreError;
use crate::store::counts::{Count, CountStore, Counts, EXACT_UP_TO};

/// The counting connection of the database at `path`, opened after the migrations; none for
/// an in-memory database.
pub(super) fn counter(path: &str) -> Result<Option<Connection>, StoreError> {
    if path == ":memory:" {
        return Ok(None);
    }
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(db)?;
    conn.execute_batch("PRAGMA busy_timeout=5000;").map_err(db)?;
    Ok(Some(conn))
}

fn count_tables(conn: &Connection) -> Result<(i64, i64, i64), StoreError> {
    let limit = i64::try_from(EXACT_UP_TO + 1).unwrap_or(i64::MAX);
    conn.prepare_cached(
        "SELECT (SELECT count(*) FROM (SELECT 1 FROM tokens LIMIT ?1)), \
         (SELECT count(*) FROM (SELECT 1 FROM sessions LIMIT ?1)), \
         (SELECT count(*) FROM (SELECT 1 FROM replay LIMIT ?1))",
    )
    .and_then(|mut st| st.query_row(params![limit], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))))
    .map_err(db)
}

impl CountStore for SqliteStore {
    fn counts(&self) -> Result<Counts, StoreError> {
        let (tokens, sessions, replay) = match &self.counter {
            Some(c) => count_tables(&c.lock().unwrap_or_else(std::sync::PoisonError::into_inner))?,
            None => count_tables(&self.conn())?,
        };
        let count = |n: i64| Count::from_bounded(u64::try_from(n).unwrap_or(0), None);
        Ok(Counts {
            tokens: count(tokens),
            sessions: count(sessions),
            replay: count(replay),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sample in progress never waits for the connection requests use (held here, as a
    /// long request would hold it).
    #[test]
    fn counting_does_not_hold_the_request_connection() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.db");
        let store = SqliteStore::open(path.to_str().unwrap()).unwrap();
        crate::store::SessionStore::insert_session(
            &store,
            &crate::store::SessionRecord {
                handle: [7; 32],
                uid: "u".into(),
                realm: "/".into(),
                username: "n".into(),
                interim: false,
                created_ms: 0,
                accessed_ms: 0,
                max_until_ms: i64::MAX,
            },
        )
        .unwrap();
        let busy = store.conn();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::scope(|s| {
            s.spawn(|| tx.send(store.counts().map(|c| c.sessions.rows)));
            // A bound against a hang only: counting on `conn` would wait for `busy`.
            let got = rx.recv_timeout(std::time::Duration::from_secs(60));
            drop(busy);
            assert_eq!(got.ok().and_then(Result::ok), Some(1));
        });
    }
}
