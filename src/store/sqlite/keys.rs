//! [`KeyStore`] on SQLite.

use rusqlite::{OptionalExtension, params};

use super::{SqliteStore, db};
use crate::store::StoreError;
use crate::store::keys::{KeyRecord, KeyStore};

const COLUMNS: &str = "alias, kind, cert_pem, wrapped_key, previous_cert_pem, rev, updated_ms";

fn key_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<KeyRecord> {
    Ok(KeyRecord {
        alias: r.get(0)?,
        kind: r.get(1)?,
        cert_pem: r.get(2)?,
        wrapped_key: r.get(3)?,
        previous_cert_pem: r.get(4)?,
        rev: r.get(5)?,
        updated_ms: r.get(6)?,
    })
}

impl KeyStore for SqliteStore {
    fn insert_key(&self, k: &KeyRecord) -> Result<bool, StoreError> {
        let n = self
            .conn()
            .execute(
                &format!(
                    "INSERT INTO keys ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
                     ON CONFLICT (alias) DO NOTHING"
                ),
                params![
                    k.alias,
                    k.kind,
                    k.cert_pem,
                    k.wrapped_key,
                    k.previous_cert_pem,
                    k.rev,
                    k.updated_ms
                ],
            )
            .map_err(db)?;
        Ok(n == 1)
    }

    fn get_key(&self, alias: &str) -> Result<Option<KeyRecord>, StoreError> {
        self.conn()
            .query_row(
                &format!("SELECT {COLUMNS} FROM keys WHERE alias = ?1"),
                params![alias],
                key_row,
            )
            .optional()
            .map_err(db)
    }

    fn list_keys(&self) -> Result<Vec<KeyRecord>, StoreError> {
        let conn = self.conn();
        let mut st = conn
            .prepare(&format!("SELECT {COLUMNS} FROM keys ORDER BY alias"))
            .map_err(db)?;
        st.query_map([], key_row)
            .map_err(db)?
            .collect::<Result<_, _>>()
            .map_err(db)
    }

    fn replace_key(&self, expected_rev: &str, k: &KeyRecord) -> Result<bool, StoreError> {
        let n = self
            .conn()
            .execute(
                "UPDATE keys SET kind = ?2, cert_pem = ?3, wrapped_key = ?4, \
                 previous_cert_pem = ?5, rev = ?6, updated_ms = ?7 WHERE alias = ?1 AND rev = ?8",
                params![
                    k.alias,
                    k.kind,
                    k.cert_pem,
                    k.wrapped_key,
                    k.previous_cert_pem,
                    k.rev,
                    k.updated_ms,
                    expected_rev
                ],
            )
            .map_err(db)?;
        Ok(n == 1)
    }

    #[cfg(any(test, feature = "test-util"))]
    fn delete_key(&self, alias: &str) -> Result<bool, StoreError> {
        let n = self
            .conn()
            .execute("DELETE FROM keys WHERE alias = ?1", params![alias])
            .map_err(db)?;
        Ok(n == 1)
    }

    fn key_revisions(&self) -> Result<Vec<(String, String)>, StoreError> {
        let conn = self.conn();
        let mut st = conn
            .prepare_cached("SELECT alias, rev FROM keys ORDER BY alias")
            .map_err(db)?;
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(db)?
            .collect::<Result<_, _>>()
            .map_err(db)
    }
}
