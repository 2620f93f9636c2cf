//! Users and realms in PostgreSQL.

use super::PgStore;
use crate::store::StoreError;
use crate::store::users::{UserRecord, UserRecordStore};


fn row(r: &postgres::Row) -> Result<UserRecord, postgres::Error> {
    Ok(UserRecord {
        realm: r.try_get(0)?,
        username: r.try_get(1)?,
        password_hash: r.try_get(2)?,
        digest_secret: r.try_get(3)?,
        attributes: r.try_get(4)?,
        disabled: r.try_get(5)?,
        admin: r.try_get(6)?,
        rev: r.try_get(7)?,
    })
}

impl UserRecordStore for PgStore {
    fn insert_realm(&self, realm: &str) -> Result<bool, StoreError> {
        const SQL: &str = "INSERT INTO realms (realm) VALUES ($1) ON CONFLICT (realm) DO NOTHING";
        let n = self.pool.run(|c| {
            let st = c.stmt(SQL)?;
            c.client.execute(&st, &[&realm])
        })?;
        Ok(n == 1)
    }

    fn list_realms(&self) -> Result<Vec<String>, StoreError> {
        const SQL: &str = "SELECT realm FROM realms ORDER BY realm";
        self.pool.run(|c| {
            let st = c.stmt(SQL)?;
            c.client
                .query(&st, &[])?
                .iter()
                .map(|r| r.try_get(0))
                .collect()
        })
    }

    fn insert_user(&self, u: &UserRecord) -> Result<bool, StoreError> {
        const SQL: &str = "INSERT INTO users (realm, username, password_hash, digest_secret, \
             attributes, disabled, admin, rev) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (realm, username) DO NOTHING";
        let n = self.pool.run(|c| {
            let st = c.stmt(SQL)?;
            c.client.execute(
                &st,
                &[
                    &u.realm,
                    &u.username,
                    &u.password_hash,
                    &u.digest_secret,
                    &u.attributes,
                    &u.disabled,
                    &u.admin,
                    &u.rev,
                ],
            )
        })?;
        Ok(n == 1)
    }

    fn get_user(&self, realm: &str, username: &str) -> Result<Option<UserRecord>, StoreError> {
        const SQL: &str = "SELECT realm, username, password_hash, digest_secret, attributes, \
             disabled, admin, rev FROM users WHERE realm = $1 AND username = $2";
        self.pool.run(|c| {
            let st = c.stmt(SQL)?;
            c.client
                .query_opt(&st, &[&realm, &username])?
                .map(|r| row(&r))
                .transpose()
        })
    }

    fn list_users(&self) -> Result<Vec<UserRecord>, StoreError> {
        const SQL: &str = "SELECT realm, username, password_hash, digest_secret, attributes, \
             disabled, admin, rev FROM users ORDER BY realm, username";
        self.pool.run(|c| {
            let st = c.stmt(SQL)?;
            c.client.query(&st, &[])?.iter().map(row).collect()
        })
    }

    fn update_user(&self, expected_rev: i64, u: &UserRecord) -> Result<bool, StoreError> {
        const SQL: &str = "UPDATE users SET password_hash = $3, digest_secret = $4, \
             attributes = $5, disabled = $6, admin = $7, rev = $8 \
             WHERE realm = $1 AND username = $2 AND rev = $9";
        let n = self.pool.run(|c| {
            let st = c.stmt(SQL)?;
            c.client.execute(
                &st,
                &[
                    &u.realm,
                    &u.username,
                    &u.password_hash,
                    &u.digest_secret,
                    &u.attributes,
                    &u.disabled,
                    &u.admin,
                    &u.rev,
                    &expected_rev,
                ],
            )
        })?;
        Ok(n == 1)
    }

    fn set_digest_secret(
        &self,
        realm: &str,
        username: &str,
        old: &[u8],
        new: &[u8],
    ) -> Result<bool, StoreError> {
        const SQL: &str = "UPDATE users SET digest_secret = $3, rev = rev + 1 \
             WHERE realm = $1 AND username = $2 AND digest_secret = $4";
        let n = self.pool.run(|c| {
            let st = c.stmt(SQL)?;
            c.client.execute(&st, &[&realm, &username, &new, &old])
        })?;
        Ok(n == 1)
    }

    fn delete_user(&self, realm: &str, username: &str) -> Result<bool, StoreError> {
        const SQL: &str = "DELETE FROM users WHERE realm = $1 AND username = $2";
        let n = self.pool.run(|c| {
            let st = c.stmt(SQL)?;
            c.client.execute(&st, &[&realm, &username])
        })?;
        Ok(n == 1)
    }
}
