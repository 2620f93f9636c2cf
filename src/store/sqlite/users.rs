//! Users and realms in SQLite.

use rusqlite::{OptionalExtension, params};

use super::{SqliteStore, db};
use crate::store::StoreError;
use crate::store::users::{UserRecord, UserRecordStore};

const COLUMNS: &str =
    "realm, username, password_hash, digest_secret, attributes, disabled, admin, rev";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<UserRecord> {
    Ok(UserRecord {
        realm: r.get(0)?,
        username: r.get(1)?,
        password_hash: r.get(2)?,
        digest_secret: r.get(3)?,
        attributes: r.get(4)?,
        disabled: r.get(5)?,
        admin: r.get(6)?,
        rev: r.get(7)?,
    })
}

impl UserRecordStore for SqliteStore {
    fn insert_realm(&self, realm: &str) -> Result<bool, StoreError> {
        let n = self
            .conn()
            .execute(
                "INSERT INTO realms (realm) VALUES (?1) ON CONFLICT (realm) DO NOTHING",
                params![realm],
            )
            .map_err(db)?;
        Ok(n == 1)
    }

    fn list_realms(&self) -> Result<Vec<String>, StoreError> {
        let conn = self.conn();
        let mut st = conn
            .prepare_cached("SELECT realm FROM realms ORDER BY realm")
            .map_err(db)?;
        st.query_map([], |r| r.get(0))
            .map_err(db)?
            .collect::<Result<_, _>>()
            .map_err(db)
    }

    fn insert_user(&self, u: &UserRecord) -> Result<bool, StoreError> {
        let n = self
            .conn()
            .execute(
                &format!(
                    "INSERT INTO users ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) \
                     ON CONFLICT (realm, username) DO NOTHING"
                ),
                params![
                    u.realm,
                    u.username,
                    u.password_hash,
                    u.digest_secret,
                    u.attributes,
                    u.disabled,
                    u.admin,
                    u.rev
                ],
            )
            .map_err(db)?;
        Ok(n == 1)
    }

    fn get_user(&self, realm: &str, username: &str) -> Result<Option<UserRecord>, StoreError> {
        self.conn()
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM users WHERE realm = ?1 AND username = ?2"
            ))
            .and_then(|mut st| st.query_row(params![realm, username], row).optional())
            .map_err(db)
    }

    fn list_users(&self) -> Result<Vec<UserRecord>, StoreError> {
        let conn = self.conn();
        let mut st = conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM users ORDER BY realm, username"
            ))
            .map_err(db)?;
        st.query_map([], row)
            .map_err(db)?
            .collect::<Result<_, _>>()
            .map_err(db)
    }

    fn update_user(&self, expected_rev: i64, u: &UserRecord) -> Result<bool, StoreError> {
        let n = self
            .conn()
            .execute(
                "UPDATE users SET password_hash = ?3, digest_secret = ?4, attributes = ?5, \
                 disabled = ?6, admin = ?7, rev = ?8 \
                 WHERE realm = ?1 AND username = ?2 AND rev = ?9",
                params![
                    u.realm,
                    u.username,
                    u.password_hash,
                    u.digest_secret,
                    u.attributes,
                    u.disabled,
                    u.admin,
                    u.rev,
                    expected_rev
                ],
            )
            .map_err(db)?;
        Ok(n == 1)
    }

    fn set_digest_secret(
        &self,
        realm: &str,
        username: &str,
        old: &[u8],
        new: &[u8],
    ) -> Result<bool, StoreError> {
        let n = self
            .conn()
            .execute(
                "UPDATE users SET digest_secret = ?3, rev = rev + 1 \
                 WHERE realm = ?1 AND username = ?2 AND digest_secret = ?4",
                params![realm, username, new, old],
            )
            .map_err(db)?;
        Ok(n == 1)
    }

    fn delete_user(&self, realm: &str, username: &str) -> Result<bool, StoreError> {
        let n = self
            .conn()
            .execute(
                "DELETE FROM users WHERE realm = ?1 AND username = ?2",
                params![realm, username],
            )
            .map_err(db)?;
        Ok(n == 1)
    }
}
