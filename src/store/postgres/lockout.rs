//! Lockout counters in PostgreSQL: the same single upsert as SQLite's (see
//! `sqlite/lockout.rs`), so concurrent failures on several nodes serialise on the row.

use super::PgStore;
use crate::store::StoreError;
use crate::store::lockout::{LockRule, LockoutStore};

/// `$1` key, `$2` threshold, `$3` now, `$4` window, `$5` lockout; returns 0 when this failure
/// set the lock. Every SET expression reads the row as it was.
const COUNT_FAILURE: &str = "\
INSERT INTO lockout AS l (key, failures, window_start_ms, locked_until_ms) \
VALUES ($1, CASE WHEN $2::int8 <= 1 THEN 0 ELSE 1 END, $3::int8, \
 CASE WHEN $2::int8 <= 1 THEN $3::int8 + $5::int8 ELSE 0 END) \
ON CONFLICT (key) DO UPDATE SET \
 failures = CASE WHEN (CASE WHEN $3::int8 - l.window_start_ms > $4::int8 THEN 1 ELSE l.failures + 1 END) >= $2::int8 \
   THEN 0 ELSE (CASE WHEN $3::int8 - l.window_start_ms > $4::int8 THEN 1 ELSE l.failures + 1 END) END, \
 window_start_ms = CASE WHEN $3::int8 - l.window_start_ms > $4::int8 \
   OR l.failures + 1 >= $2::int8 THEN $3::int8 ELSE l.window_start_ms END, \
 locked_until_ms = CASE WHEN (CASE WHEN $3::int8 - l.window_start_ms > $4::int8 THEN 1 ELSE l.failures + 1 END) >= $2::int8 \
   THEN $3::int8 + $5::int8 ELSE l.locked_until_ms END \
RETURNING failures";

impl LockoutStore for PgStore {
    fn count_failure(
        &self,
        key: &[u8; 32],
        rule: LockRule,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let threshold = i64::from(rule.threshold);
        let failures: i64 = self.pool.run(|c| {
            let st = c.stmt(COUNT_FAILURE)?;
            c.client
                .query_one(
                    &st,
                    &[
                        &&key[..],
                        &threshold,
                        &now_ms,
                        &rule.window_ms,
                        &rule.lockout_ms,
                    ],
                )?
                .try_get(0)
        })?;
        Ok(failures == 0)
    }

    fn any_locked(&self, keys: &[[u8; 32]], now_ms: i64) -> Result<bool, StoreError> {
        if keys.is_empty() {
            return Ok(false);
        }
        const SQL: &str = "SELECT EXISTS (SELECT 1 FROM lockout \
             WHERE locked_until_ms > $1 AND key = ANY($2))";
        let keys: Vec<&[u8]> = keys.iter().map(|k| &k[..]).collect();
        self.pool.run(|c| {
            let st = c.stmt(SQL)?;
            c.client.query_one(&st, &[&now_ms, &keys])?.try_get(0)
        })
    }

    fn clear_failures(&self, key: &[u8; 32]) -> Result<(), StoreError> {
        const SQL: &str = "UPDATE lockout SET failures = 0 WHERE key = $1";
        self.pool.run(|c| {
            let st = c.stmt(SQL)?;
            c.client.execute(&st, &[&&key[..]]).map(|_| ())
        })
    }

    fn purge_lockout(
        &self,
        now_ms: i64,
        window_ms: i64,
        batch: usize,
    ) -> Result<usize, StoreError> {
        let batch = i64::try_from(batch).unwrap_or(i64::MAX);
        let n = self.pool.run(|c| {
            c.client.execute(
                "DELETE FROM lockout WHERE key IN (SELECT key FROM lockout \
                 WHERE window_start_ms < $1::int8 - $2::int8 AND locked_until_ms <= $1 LIMIT $3)",
                &[&now_ms, &window_ms, &batch],
            )
        })?;
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }
}
