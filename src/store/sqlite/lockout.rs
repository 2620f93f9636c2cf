//! Lockout counters in SQLite.

use rusqlite::{OptionalExtension, params, params_from_iter};

use super::{SqliteStore, db};
use crate::store::StoreError;
use crate::store::lockout::{LockRule, LockoutStore};

/// One upsert: the new count `n` restarts at 1 when the window has passed; reaching the
/// threshold locks, and the count starts again at 0 (which is how the caller learns that
/// this failure locked: any other failure leaves at least 1). Every SET expression reads
/// the row as it was.
pub(in crate::store) const COUNT_FAILURE: &str = "\
INSERT INTO lockout (key, failures, window_start_ms, locked_until_ms) \
VALUES (?1, CASE WHEN ?2 <= 1 THEN 0 ELSE 1 END, ?3, CASE WHEN ?2 <= 1 THEN ?3 + ?5 ELSE 0 END) \
ON CONFLICT (key) DO UPDATE SET \
 failures = CASE WHEN (CASE WHEN ?3 - lockout.window_start_ms > ?4 THEN 1 ELSE lockout.failures + 1 END) >= ?2 \
   THEN 0 ELSE (CASE WHEN ?3 - lockout.window_start_ms > ?4 THEN 1 ELSE lockout.failures + 1 END) END, \
 window_start_ms = CASE WHEN ?3 - lockout.window_start_ms > ?4 \
   OR lockout.failures + 1 >= ?2 THEN ?3 ELSE lockout.window_start_ms END, \
 locked_until_ms = CASE WHEN (CASE WHEN ?3 - lockout.window_start_ms > ?4 THEN 1 ELSE lockout.failures + 1 END) >= ?2 \
   THEN ?3 + ?5 ELSE lockout.locked_until_ms END \
RETURNING failures";

impl LockoutStore for SqliteStore {
    fn count_failure(
        &self,
        key: &[u8; 32],
        rule: LockRule,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let failures: Option<i64> = self
            .conn()
            .prepare_cached(COUNT_FAILURE)
            .and_then(|mut st| {
                st.query_row(
                    params![
                        &key[..],
                        i64::from(rule.threshold),
                        now_ms,
                        rule.window_ms,
                        rule.lockout_ms
                    ],
                    |r| r.get(0),
                )
                .optional()
            })
            .map_err(db)?;
        Ok(failures == Some(0))
    }

    fn any_locked(&self, keys: &[[u8; 32]], now_ms: i64) -> Result<bool, StoreError> {
        if keys.is_empty() {
            return Ok(false);
        }
        let marks: Vec<String> = (0..keys.len()).map(|i| format!("?{}", i + 2)).collect();
        let sql = format!(
            "SELECT EXISTS (SELECT 1 FROM lockout WHERE locked_until_ms > ?1 AND key IN ({}))",
            marks.join(", ")
        );
        let mut args: Vec<rusqlite::types::Value> = vec![now_ms.into()];
        args.extend(keys.iter().map(|k| rusqlite::types::Value::Blob(k.to_vec())));
        self.conn()
            .prepare_cached(&sql)
            .and_then(|mut st| st.query_row(params_from_iter(args.iter()), |r| r.get(0)))
            .map_err(db)
    }

    fn clear_failures(&self, key: &[u8; 32]) -> Result<(), StoreError> {
        self.conn()
            .prepare_cached("UPDATE lockout SET failures = 0 WHERE key = ?1")
            .and_then(|mut st| st.execute(params![&key[..]]))
            .map(|_| ())
            .map_err(db)
    }

    fn purge_lockout(
        &self,
        now_ms: i64,
        window_ms: i64,
        batch: usize,
    ) -> Result<usize, StoreError> {
        let batch = i64::try_from(batch).unwrap_or(i64::MAX);
        self.conn()
            .execute(
                "DELETE FROM lockout WHERE key IN (SELECT key FROM lockout \
                 WHERE window_start_ms < ?1 - ?2 AND locked_until_ms <= ?1 LIMIT ?3)",
                params![now_ms, window_ms, batch],
            )
            .map_err(db)
    }
}
