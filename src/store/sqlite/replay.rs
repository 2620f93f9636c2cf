//! The replay cache in SQLite (one node: the engine keeps its memory cache there, so this
//! serves `sts` commands and the conformance suite).

use rusqlite::params;

use super::{SqliteStore, db};
use crate::store::StoreError;
use crate::store::replay::{Once, ReplayStore};

impl ReplayStore for SqliteStore {
    fn insert_once(
        &self,
        key: &[u8; 32],
        until_ms: i64,
        now_ms: i64,
    ) -> Result<Once, StoreError> {
        let n = self
            .conn()
            .prepare_cached(
                "INSERT INTO replay (key, until_ms) VALUES (?1, ?2) \
                 ON CONFLICT (key) DO UPDATE SET until_ms = excluded.until_ms \
                 WHERE replay.until_ms < ?3",
            )
            .and_then(|mut st| st.execute(params![&key[..], until_ms, now_ms]))
            .map_err(db)?;
        Ok(if n == 1 { Once::Fresh } else { Once::Replay })
    }

    fn purge_replay(&self, now_ms: i64, batch: usize) -> Result<usize, StoreError> {
        let batch = i64::try_from(batch).unwrap_or(i64::MAX);
        self.conn()
            .execute(
                "DELETE FROM replay WHERE key IN \
                 (SELECT key FROM replay WHERE until_ms < ?1 ORDER BY until_ms LIMIT ?2)",
                params![now_ms, batch],
            )
            .map_err(db)
    }
}
