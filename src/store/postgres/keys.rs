//! [`KeyStore`] on PostgreSQL.

use super::PgStore;
use crate::store::StoreError;
use crate::store::keys::{KeyRecord, KeyStore};

fn key_row(r: &postgres::Row) -> Result<KeyRecord, postgres::Error> {
    Ok(KeyRecord {
        alias: r.try_get(0)?,
        kind: r.try_get(1)?,
        cert_pem: r.try_get(2)?,
        wrapped_key: r.try_get(3)?,
        previous_cert_pem: r.try_get(4)?,
        rev: r.try_get(5)?,
        updated_ms: r.try_get(6)?,
    })
}

impl KeyStore for PgStore {
    fn insert_key(&self, k: &KeyRecord) -> Result<bool, StoreError> {
        let n = self.pool.run(|c| {
            c.client.execute(
                "INSERT INTO keys (alias, kind, cert_pem, wrapped_key, previous_cert_pem, rev, \
                 updated_ms) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (alias) DO NOTHING",
                &[
                    &k.alias,
                    &k.kind,
                    &k.cert_pem,
                    &k.wrapped_key,
                    &k.previous_cert_pem,
                    &k.rev,
                    &k.updated_ms,
                ],
            )
        })?;
        Ok(n == 1)
    }

    fn get_key(&self, alias: &str) -> Result<Option<KeyRecord>, StoreError> {
        self.pool.run(|c| {
            c.client
                .query_opt(
                    "SELECT alias, kind, cert_pem, wrapped_key, previous_cert_pem, rev, \
                     updated_ms FROM keys WHERE alias = $1",
                    &[&alias],
                )?
                .map(|r| key_row(&r))
                .transpose()
        })
    }

    fn list_keys(&self) -> Result<Vec<KeyRecord>, StoreError> {
        self.pool.run(|c| {
            c.client
                .query(
                    "SELECT alias, kind, cert_pem, wrapped_key, previous_cert_pem, rev, \
                     updated_ms FROM keys ORDER BY alias",
                    &[],
                )?
                .iter()
                .map(key_row)
                .collect()
        })
    }

    fn replace_key(&self, expected_rev: &str, k: &KeyRecord) -> Result<bool, StoreError> {
        let n = self.pool.run(|c| {
            c.client.execute(
                "UPDATE keys SET kind = $2, cert_pem = $3, wrapped_key = $4, \
                 previous_cert_pem = $5, rev = $6, updated_ms = $7 WHERE alias = $1 AND rev = $8",
                &[
                    &k.alias,
                    &k.kind,
                    &k.cert_pem,
                    &k.wrapped_key,
                    &k.previous_cert_pem,
                    &k.rev,
                    &k.updated_ms,
                    &expected_rev,
                ],
            )
        })?;
        Ok(n == 1)
    }

    #[cfg(any(test, feature = "test-util"))]
    fn delete_key(&self, alias: &str) -> Result<bool, StoreError> {
        let n = self
            .pool
            .run(|c| c.client.execute("DELETE FROM keys WHERE alias = $1", &[&alias]))?;
        Ok(n == 1)
    }

    fn key_revisions(&self) -> Result<Vec<(String, String)>, StoreError> {
        const SQL: &str = "SELECT alias, rev FROM keys ORDER BY alias";
        self.pool.run(|c| {
            let st = c.stmt(SQL)?;
            c.client
                .query(&st, &[])?
                .iter()
                .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
                .collect()
        })
    }
}
