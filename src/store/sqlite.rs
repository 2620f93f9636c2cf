//! The embedded SQLite backend: one connection in WAL mode behind a mutex (SQLite serialises
//! writers anyway; reads by primary key take microseconds).

use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension, params};

use super::{SessionRecord, SessionStore, StoreError};

const MIGRATIONS: &[&str] = &[include_str!("../../migrations/sqlite/001_sessions.sql")];

fn db(e: rusqlite::Error) -> StoreError {
    StoreError::Db(e.to_string())
}

pub struct SqliteStore {
    conn: Mutex<Connection>,
}

impl SqliteStore {
    pub fn open(path: &str) -> Result<Self, StoreError> {
        let conn = Connection::open(path).map_err(db)?;
        conn.execute_batch(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;",
        )
        .map_err(db)?;
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(db)?;
        for (i, sql) in MIGRATIONS
            .iter()
            .enumerate()
            .skip(usize::try_from(version).unwrap_or(0))
        {
            conn.execute_batch(sql).map_err(db)?;
            conn.execute_batch(&format!("PRAGMA user_version={}", i + 1))
                .map_err(db)?;
        }
        #[cfg(unix)]
        if path != ":memory:" {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
        }
        Ok(SqliteStore {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<SessionRecord> {
    let handle: Vec<u8> = r.get(0)?;
    Ok(SessionRecord {
        handle: handle.try_into().unwrap_or([0; 32]),
        uid: r.get(1)?,
        realm: r.get(2)?,
        username: r.get(3)?,
        interim: r.get(4)?,
        created_ms: r.get(5)?,
        accessed_ms: r.get(6)?,
        max_until_ms: r.get(7)?,
    })
}

const COLUMNS: &str =
    "handle, uid, realm, username, interim, created_ms, accessed_ms, max_until_ms";

impl SessionStore for SqliteStore {
    fn insert_session(&self, s: &SessionRecord) -> Result<(), StoreError> {
        self.conn()
            .prepare_cached(&format!(
                "INSERT INTO sessions ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
            ))
            .and_then(|mut st| {
                st.execute(params![
                    &s.handle[..],
                    s.uid,
                    s.realm,
                    s.username,
                    s.interim,
                    s.created_ms,
                    s.accessed_ms,
                    s.max_until_ms
                ])
            })
            .map(|_| ())
            .map_err(db)
    }

    fn get_session(&self, handle: &[u8; 32]) -> Result<Option<SessionRecord>, StoreError> {
        self.conn()
            .prepare_cached(&format!("SELECT {COLUMNS} FROM sessions WHERE handle = ?1"))
            .and_then(|mut st| st.query_row(params![&handle[..]], row).optional())
            .map_err(db)
    }

    fn touch_session(&self, handle: &[u8; 32], accessed_ms: i64) -> Result<bool, StoreError> {
        self.conn()
            .prepare_cached("UPDATE sessions SET accessed_ms = ?2 WHERE handle = ?1")
            .and_then(|mut st| st.execute(params![&handle[..], accessed_ms]))
            .map(|n| n > 0)
            .map_err(db)
    }

    fn delete_session(&self, handle: &[u8; 32]) -> Result<bool, StoreError> {
        self.conn()
            .prepare_cached("DELETE FROM sessions WHERE handle = ?1")
            .and_then(|mut st| st.execute(params![&handle[..]]))
            .map(|n| n > 0)
            .map_err(db)
    }

    fn delete_expired_sessions(&self, now_ms: i64, idle_ms: i64) -> Result<usize, StoreError> {
        self.conn()
            .prepare_cached(
                "DELETE FROM sessions WHERE max_until_ms <= ?1 OR accessed_ms + ?2 <= ?1",
            )
            .and_then(|mut st| st.execute(params![now_ms, idle_ms]))
            .map_err(db)
    }

    fn sessions_of(&self, realm: &str, username: &str) -> Result<Vec<SessionRecord>, StoreError> {
        let conn = self.conn();
        let mut st = conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM sessions WHERE realm = ?1 AND username = ?2 ORDER BY created_ms"
            ))
            .map_err(db)?;
        let rows = st.query_map(params![realm, username], row).map_err(db)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(db)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_passes_the_conformance_suite_and_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sts.db");
        let path = path.to_str().unwrap();
        super::super::conformance(&SqliteStore::open(path).unwrap());
        let s = SqliteStore::open(path).unwrap();
        let rec = SessionRecord {
            handle: [7; 32],
            uid: "u7".into(),
            realm: "/".into(),
            username: "carol".into(),
            interim: false,
            created_ms: 1,
            accessed_ms: 1,
            max_until_ms: i64::MAX,
        };
        s.insert_session(&rec).unwrap();
        drop(s);
        let again = SqliteStore::open(path).unwrap();
        assert_eq!(again.get_session(&[7; 32]).unwrap(), Some(rec));
    }
}
