//! The replay cache in PostgreSQL: one upsert decides, so two nodes racing on one value
//! cannot both see it fresh (the row lock of the conflicting key serialises them).
//!
//! The upsert commits with `synchronous_commit = off`: it is visible to every node at once,
//! but the request does not wait for the WAL flush (a few ms on a slow disk, on every Issue
//! with a nonce). What that trades: if the PostgreSQL server itself crashes, values recorded
//! in the last moments before the crash (up to three times `wal_writer_delay`, 600 ms by
//! default) are forgotten, so a message captured in that window could be accepted once more
//! within its freshness window. A node crash, a restart or a lost connection forgets nothing.

use super::PgStore;
use crate::store::StoreError;
use crate::store::replay::{Once, ReplayStore};

impl ReplayStore for PgStore {
    fn insert_once(
        &self,
        key: &[u8; 32],
        until_ms: i64,
        now_ms: i64,
    ) -> Result<Once, StoreError> {
        const SQL: &str = "INSERT INTO replay (key, until_ms) VALUES ($1, $2) \
             ON CONFLICT (key) DO UPDATE SET until_ms = excluded.until_ms \
             WHERE replay.until_ms < $3";
        let n = self.pool.run(|c| {
            let st = c.stmt(SQL)?;
            let mut tx = c.client.transaction()?;
            tx.batch_execute("SET LOCAL synchronous_commit = off")?;
            let n = tx.execute(&st, &[&&key[..], &until_ms, &now_ms])?;
            tx.commit()?;
            Ok(n)
        })?;
        Ok(if n == 1 { Once::Fresh } else { Once::Replay })
    }

    fn purge_replay(&self, now_ms: i64, batch: usize) -> Result<usize, StoreError> {
        let batch = i64::try_from(batch).unwrap_or(i64::MAX);
        const SQL: &str = "DELETE FROM replay WHERE key IN \
             (SELECT key FROM replay WHERE until_ms < $1 ORDER BY until_ms LIMIT $2)";
        let n = self.pool.run(|c| {
            let st = c.stmt(SQL)?;
            c.client.execute(&st, &[&now_ms, &batch])
        })?;
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }
}
