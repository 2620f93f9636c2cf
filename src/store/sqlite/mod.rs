//! The embedded SQLite backend, in WAL mode: one connection behind a mutex for reads and small
//! writes, and one writer thread that stores issued tokens with group commit: every insert
//! waiting when a transaction starts joins it, and all of them are acknowledged after one
//! synced commit (`synchronous=FULL`). A durable commit costs ~0.2-0.3 ms here, so one per
//! token would cap Issue below the signing rate; shared, it does not.

mod changes;
mod counts;
mod lockout;
mod replay;
mod users;
mod keys;

use std::sync::Mutex;
use std::sync::mpsc;

use rusqlite::{Connection, OptionalExtension, params, params_from_iter};

use super::filter::Filter;
use super::group::Grouper;
use super::sql::{Dialect, INFO_COLUMNS, SqlArg, page_query};
use super::{
    ClientRecord, ClientStore, Durable, InstanceRecord, InstanceStore, Migrated, Page, SessionRecord,
    SessionStore, StoreError, TokenInfo, TokenRecord, TokenStore,
};

const MIGRATIONS: &[&str] = &[
    include_str!("../../../migrations/sqlite/001_sessions.sql"),
    include_str!("../../../migrations/sqlite/002_tokens.sql"),
    include_str!("../../../migrations/sqlite/003_instances.sql"),
    include_str!("../../../migrations/sqlite/004_clients.sql"),
    include_str!("../../../migrations/sqlite/005_replay.sql"),
    include_str!("../../../migrations/sqlite/006_keys.sql"),
    include_str!("../../../migrations/sqlite/007_lockout.sql"),
    include_str!("../../../migrations/sqlite/008_changes.sql"),
    include_str!("../../../migrations/sqlite/009_users.sql"),
    include_str!("../../../migrations/sqlite/010_token_queries.sql"),
    include_str!("../../../migrations/sqlite/011_token_text_inline.sql"),
];

/// How long a group stays open while issuers are concurrent (see `Grouper`): a synced commit
/// writes the WAL frames of every page it changed and syncs the file, work shared by the
/// tokens of a group.
const LINGER: std::time::Duration = std::time::Duration::from_millis(2);

type Ack = tokio::sync::oneshot::Sender<Result<(), StoreError>>;

fn db(e: rusqlite::Error) -> StoreError {
    StoreError::Db(e.to_string())
}

pub struct SqliteStore {
    /// Reads and small writes (submodules, one per kind of record, use it too).
    conn: Mutex<Connection>,
    writer: Mutex<mpsc::Sender<(Vec<TokenRecord>, Ack)>>,
    /// A read-only connection of the metrics gauges' counts (`counts.rs`), so that counting
    /// never holds `conn`; `None` in memory (a second connection would see another database).
    counter: Option<Mutex<Connection>>,
}

fn writer_loop(mut conn: Connection, rx: mpsc::Receiver<(Vec<TokenRecord>, Ack)>) {
    let mut grouper = Grouper::new(LINGER);
    while let Some(group) = grouper.next(&rx) {
        let results = commit_group(&mut conn, &group);
        for ((_, ack), r) in group.into_iter().zip(results) {
            let _ = ack.send(r);
        }
    }
}

/// One transaction for the whole group, its tokens stored by multi-row statements (as the
/// PostgreSQL writer stores a group with one statement). If that fails (a token id stored
/// already), it is undone and each job succeeds or fails on its own (a failed statement does
/// not abort an SQLite transaction, and its job's earlier rows are rolled back to its
/// savepoint).
fn commit_group(
    conn: &mut Connection,
    group: &[(Vec<TokenRecord>, Ack)],
) -> Vec<Result<(), StoreError>> {
    let fail_all = |e: rusqlite::Error| group.iter().map(|_| Err(db_ref(&e))).collect();
    let mut tx = match conn.transaction() {
        Ok(tx) => tx,
        Err(e) => return fail_all(e),
    };
    let together = (|| {
        let sp = tx.savepoint_with_name("group")?;
        insert_many(&sp, group.iter().flat_map(|(tokens, _)| tokens))?;
        sp.commit()
    })();
    let results = match together {
        Ok(()) => group.iter().map(|_| Ok(())).collect(),
        // SQLite may have rolled the whole transaction back by itself (SQLITE_FULL, IOERR,
        // NOMEM, BUSY): then the jobs would each be committed on their own while the final
        // commit fails and reports them lost. Job by job only inside the open transaction.
        Err(e) if tx.is_autocommit() => return fail_all(e),
        Err(e) => {
            tracing::debug!(error = %e, "a group of tokens failed together; storing job by job");
            job_by_job(&mut tx, group)
        }
    };
    match tx.commit() {
        Ok(()) => results,
        Err(e) => fail_all(e),
    }
}

/// Each job in a savepoint of its own (one token, the Issue case, needs none).
fn job_by_job(
    tx: &mut rusqlite::Transaction<'_>,
    group: &[(Vec<TokenRecord>, Ack)],
) -> Vec<Result<(), StoreError>> {
    let mut results = Vec::with_capacity(group.len());
    for (tokens, _) in group {
        let r = if let [t] = tokens.as_slice() {
            insert_rows(tx, std::slice::from_ref(t))
        } else {
            (|| {
                let sp = tx.savepoint_with_name("job")?;
                for t in tokens {
                    insert_rows(&sp, std::slice::from_ref(t))?;
                }
                sp.commit()
            })()
        };
        if let Err(e) = &r
            && tx.is_autocommit()
        {
            // The transaction is gone, and with it every job before this one.
            return group.iter().map(|_| Err(db_ref(e))).collect();
        }
        results.push(r.map_err(db));
    }
    results
}

/// Rows per multi-row INSERT: a group is stored in statements of these sizes, largest first,
/// so that a few prepared statements serve every group size.
const ROWS_PER_INSERT: [usize; 3] = [16, 4, 1];

/// Inserts `tokens` (texts included, migration 011) with multi-row statements.
fn insert_many<'t>(
    conn: &Connection,
    tokens: impl Iterator<Item = &'t TokenRecord>,
) -> rusqlite::Result<()> {
    let tokens: Vec<&TokenRecord> = tokens.collect();
    let mut rest = tokens.as_slice();
    for n in ROWS_PER_INSERT {
        while rest.len() >= n {
            let (now, later) = rest.split_at(n);
            insert_refs(conn, now)?;
            rest = later;
        }
    }
    Ok(())
}

fn insert_rows(conn: &Connection, tokens: &[TokenRecord]) -> rusqlite::Result<()> {
    let refs: Vec<&TokenRecord> = tokens.iter().collect();
    insert_refs(conn, &refs)
}

/// One INSERT of every row of `tokens` (a statement prepared once per row count).
fn insert_refs(conn: &Connection, tokens: &[&TokenRecord]) -> rusqlite::Result<()> {
    let mut sql = format!("INSERT INTO tokens ({INFO_COLUMNS}, token) VALUES ");
    for i in 0..tokens.len() {
        if i > 0 {
            sql.push(',');
        }
        let b = i * 8;
        sql.push_str(&format!(
            "(?{}, ?{}, ?{}, ?{}, ?{}, ?{}, ?{}, ?{})",
            b + 1,
            b + 2,
            b + 3,
            b + 4,
            b + 5,
            b + 6,
            b + 7,
            b + 8
        ));
    }
    let mut stmt = conn.prepare_cached(&sql)?;
    for (i, t) in tokens.iter().enumerate() {
        let b = i * 8;
        stmt.raw_bind_parameter(b + 1, &t.token_id)?;
        stmt.raw_bind_parameter(b + 2, &t.sts_id)?;
        stmt.raw_bind_parameter(b + 3, &t.realm)?;
        stmt.raw_bind_parameter(b + 4, &t.principal)?;
        stmt.raw_bind_parameter(b + 5, &t.token_type)?;
        stmt.raw_bind_parameter(b + 6, t.issued_ms)?;
        stmt.raw_bind_parameter(b + 7, t.expires_ms)?;
        stmt.raw_bind_parameter(b + 8, &t.token)?;
    }
    stmt.raw_execute()?;
    Ok(())
}

fn db_ref(e: &rusqlite::Error) -> StoreError {
    StoreError::Db(e.to_string())
}

/// The text is in the token's row, or, for a token stored before migration 011, in
/// token_bodies.
const TOKEN_COLUMNS: &str = "t.token_id, t.sts_id, t.realm, t.principal, t.token_type, \
     t.issued_ms, t.expires_ms, COALESCE(t.token, b.token)";


fn info_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<TokenInfo> {
    Ok(TokenInfo {
        token_id: r.get(0)?,
        sts_id: r.get(1)?,
        realm: r.get(2)?,
        principal: r.get(3)?,
        token_type: r.get(4)?,
        issued_ms: r.get(5)?,
        expires_ms: r.get(6)?,
    })
}

fn token_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<TokenRecord> {
    let i = info_row(r)?;
    Ok(TokenRecord {
        token_id: i.token_id,
        sts_id: i.sts_id,
        realm: i.realm,
        principal: i.principal,
        token_type: i.token_type,
        issued_ms: i.issued_ms,
        expires_ms: i.expires_ms,
        token: r.get(7)?,
    })
}

impl SqliteStore {
    /// Opens an existing database read-only and reads its schema version, changing nothing
    /// (`sts check-config`); a missing file is created at the first start.
    pub fn check_reachable(path: &str) -> Result<String, StoreError> {
        let p = std::path::Path::new(path);
        if path == ":memory:" {
            return Ok("SQLite in memory".into());
        }
        if !p.exists() {
            return Ok(format!("SQLite {path}: created at the first start"));
        }
        let conn = Connection::open_with_flags(p, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(db)?;
        let version: u32 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(db)?;
        let known = u32::try_from(MIGRATIONS.len()).unwrap_or(u32::MAX);
        if version > known {
            return Err(StoreError::Db(format!(
                "{path}: schema version {version} is newer than this sts knows ({known})"
            )));
        }
        Ok(format!("SQLite {path}: schema version {version} of {known}"))
    }

    pub fn open(path: &str) -> Result<Self, StoreError> {
        let conn = Connection::open(path).map_err(db)?;
        conn.execute_batch(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;",
        )
        .map_err(db)?;
        migrate(&conn)?;
        #[cfg(unix)]
        if path != ":memory:" {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
        }
        let wconn = Connection::open(path).map_err(db)?;
        wconn
            // Checkpoints run in the committing connection: fewer, larger ones cost less. A
            // token lands on random leaves of three B-trees: a 32 MiB page cache keeps the
            // pages of a few hundred thousand tokens, instead of a read per page per insert.
            .execute_batch(
                "PRAGMA synchronous=FULL; PRAGMA busy_timeout=5000; PRAGMA wal_autocheckpoint=4000; \
                 PRAGMA cache_size=-32768;",
            )
            .map_err(db)?;
        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("sts-token-writer".into())
            .spawn(move || writer_loop(wconn, rx))
            .map_err(|e| StoreError::Db(e.to_string()))?;
        Ok(SqliteStore {
            conn: Mutex::new(conn),
            writer: Mutex::new(tx),
            counter: counts::counter(path)?.map(Mutex::new),
        })
    }

    /// Applies the migrations only (`sts store migrate`).
    pub fn migrate_only(path: &str) -> Result<Migrated, StoreError> {
        let conn = Connection::open(path).map_err(db)?;
        conn.execute_batch("PRAGMA busy_timeout=5000;")
            .map_err(db)?;
        migrate(&conn)
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Brings the schema (its version in `user_version`) up to this build's; refuses a newer one
/// (a newer `sts` migrated it: this one would misread it).
fn migrate(conn: &Connection) -> Result<Migrated, StoreError> {
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(db)?;
    let known = MIGRATIONS.len();
    let current = usize::try_from(version).unwrap_or(0);
    if current > known {
        return Err(StoreError::Db(format!(
            "the database schema is at version {current}, newer than this sts knows ({known}): \
             upgrade sts on this node"
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        conn.execute_batch(sql).map_err(db)?;
        conn.execute_batch(&format!("PRAGMA user_version={}", i + 1))
            .map_err(db)?;
    }
    Ok(Migrated {
        from: u32::try_from(current).unwrap_or(0),
        to: u32::try_from(known).unwrap_or(0),
    })
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

fn instance_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<InstanceRecord> {
    Ok(InstanceRecord {
        id: r.get(0)?,
        kind: r.get(1)?,
        rev: r.get(2)?,
        config: r.get(3)?,
        updated_ms: r.get(4)?,
    })
}

const INSTANCE_COLUMNS: &str = "id, kind, rev, config, updated_ms";

fn client_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ClientRecord> {
    Ok(ClientRecord {
        realm: r.get(0)?,
        client_id: r.get(1)?,
        auth_method: r.get(2)?,
        secret_hash: r.get(3)?,
        created_ms: r.get(4)?,
    })
}

const CLIENT_COLUMNS: &str = "realm, client_id, auth_method, secret_hash, created_ms";

impl ClientStore for SqliteStore {
    fn insert_client(&self, c: &ClientRecord) -> Result<bool, StoreError> {
        let n = self
            .conn()
            .execute(
                &format!(
                    "INSERT INTO oauth_clients ({CLIENT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5) \
                     ON CONFLICT (realm, client_id) DO NOTHING"
                ),
                params![
                    c.realm,
                    c.client_id,
                    c.auth_method,
                    c.secret_hash,
                    c.created_ms
                ],
            )
            .map_err(db)?;
        Ok(n == 1)
    }

    fn get_client(&self, realm: &str, client_id: &str) -> Result<Option<ClientRecord>, StoreError> {
        self.conn()
            .query_row(
                &format!(
                    "SELECT {CLIENT_COLUMNS} FROM oauth_clients WHERE realm = ?1 AND client_id = ?2"
                ),
                params![realm, client_id],
                client_row,
            )
            .optional()
            .map_err(db)
    }

    fn list_clients(&self, realm: Option<&str>) -> Result<Vec<ClientRecord>, StoreError> {
        let conn = self.conn();
        let mut st = conn
            .prepare(&format!(
                "SELECT {CLIENT_COLUMNS} FROM oauth_clients WHERE ?1 IS NULL OR realm = ?1 \
                 ORDER BY realm, client_id"
            ))
            .map_err(db)?;
        st.query_map(params![realm], client_row)
            .map_err(db)?
            .collect::<Result<_, _>>()
            .map_err(db)
    }

    fn delete_client(&self, realm: &str, client_id: &str) -> Result<bool, StoreError> {
        let n = self
            .conn()
            .execute(
                "DELETE FROM oauth_clients WHERE realm = ?1 AND client_id = ?2",
                params![realm, client_id],
            )
            .map_err(db)?;
        Ok(n == 1)
    }
}

impl InstanceStore for SqliteStore {
    fn insert_instance(&self, r: &InstanceRecord) -> Result<bool, StoreError> {
        // The primary key decides between concurrent publishers, on one node or many.
        let n = self
            .conn()
            .execute(
                &format!(
                    "INSERT INTO instances ({INSTANCE_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5) \
                     ON CONFLICT (id) DO NOTHING"
                ),
                params![r.id, r.kind, r.rev, r.config, r.updated_ms],
            )
            .map_err(db)?;
        Ok(n == 1)
    }

    fn get_instance(&self, id: &str) -> Result<Option<InstanceRecord>, StoreError> {
        self.conn()
            .query_row(
                &format!("SELECT {INSTANCE_COLUMNS} FROM instances WHERE id = ?1"),
                params![id],
                instance_row,
            )
            .optional()
            .map_err(db)
    }

    fn list_instances(&self) -> Result<Vec<InstanceRecord>, StoreError> {
        let conn = self.conn();
        let mut st = conn
            .prepare(&format!(
                "SELECT {INSTANCE_COLUMNS} FROM instances ORDER BY id"
            ))
            .map_err(db)?;
        st.query_map([], instance_row)
            .map_err(db)?
            .collect::<Result<_, _>>()
            .map_err(db)
    }

    fn update_instance(&self, expected_rev: &str, r: &InstanceRecord) -> Result<bool, StoreError> {
        let n = self
            .conn()
            .execute(
                "UPDATE instances SET kind = ?2, rev = ?3, config = ?4, updated_ms = ?5 \
                 WHERE id = ?1 AND rev = ?6",
                params![r.id, r.kind, r.rev, r.config, r.updated_ms, expected_rev],
            )
            .map_err(db)?;
        Ok(n == 1)
    }

    fn delete_instance(&self, id: &str, expected_rev: Option<&str>) -> Result<bool, StoreError> {
        let n = self
            .conn()
            .execute(
                "DELETE FROM instances WHERE id = ?1 AND (?2 IS NULL OR rev = ?2)",
                params![id, expected_rev],
            )
            .map_err(db)?;
        Ok(n == 1)
    }

    fn instances_generation(&self) -> Result<i64, StoreError> {
        self.conn()
            .query_row("SELECT gen FROM instance_generation", [], |r| r.get(0))
            .map_err(db)
    }
}

impl TokenStore for SqliteStore {
    fn insert_tokens_deferred(&self, tokens: &[TokenRecord]) -> Result<Durable, StoreError> {
        let (ack, durable) = Durable::channel();
        self.writer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .send((tokens.to_vec(), ack))
            .map_err(|_| StoreError::Db("the token writer has stopped".into()))?;
        Ok(durable)
    }

    fn get_token(&self, token_id: &str) -> Result<Option<TokenRecord>, StoreError> {
        self.conn()
            .prepare_cached(&format!(
                "SELECT {TOKEN_COLUMNS} FROM tokens t \
                 LEFT JOIN token_bodies b ON b.token_id = t.token_id \
                 WHERE t.token_id = ?1 AND COALESCE(t.token, b.token) IS NOT NULL"
            ))
            .and_then(|mut st| st.query_row(params![token_id], token_row).optional())
            .map_err(db)
    }

    fn delete_token(&self, token_id: &str) -> Result<bool, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(db)?;
        tx.execute(
            "DELETE FROM token_bodies WHERE token_id = ?1",
            params![token_id],
        )
        .map_err(db)?;
        let n = tx
            .execute("DELETE FROM tokens WHERE token_id = ?1", params![token_id])
            .map_err(db)?;
        tx.commit().map_err(db)?;
        Ok(n > 0)
    }

    fn query_tokens(
        &self,
        filter: &Filter,
        page_size: usize,
        after: Option<&str>,
    ) -> Result<Page, StoreError> {
        let (sql, args) = page_query(Dialect::Sqlite, filter, page_size, after);
        let args = args.into_iter().map(|a| match a {
            SqlArg::Text(s) => rusqlite::types::Value::Text(s),
            SqlArg::Int(n) => rusqlite::types::Value::Integer(n),
        });
        let conn = self.conn();
        let mut st = conn.prepare_cached(&sql).map_err(db)?;
        let mut items = st
            .query_map(params_from_iter(args), info_row)
            .map_err(db)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(db)?;
        let next = if items.len() > page_size {
            items.truncate(page_size);
            items.last().map(|t| t.token_id.clone())
        } else {
            None
        };
        Ok(Page { items, next })
    }

    fn delete_expired_tokens(&self, now_ms: i64, batch: usize) -> Result<usize, StoreError> {
        let batch = i64::try_from(batch).unwrap_or(i64::MAX);
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(db)?;
        let victims = "SELECT token_id FROM tokens WHERE expires_ms <= ?1 ORDER BY expires_ms, token_id LIMIT ?2";
        tx.execute(
            &format!("DELETE FROM token_bodies WHERE token_id IN ({victims})"),
            params![now_ms, batch],
        )
        .map_err(db)?;
        let n = tx
            .execute(
                &format!("DELETE FROM tokens WHERE token_id IN ({victims})"),
                params![now_ms, batch],
            )
            .map_err(db)?;
        tx.commit().map_err(db)?;
        Ok(n)
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
        crate::store::keys::conformance(&SqliteStore::open(path).unwrap());
        let s = SqliteStore::open(path).unwrap();
        crate::store::replay::conformance(&s);
        crate::store::lockout::conformance(&s);
        crate::store::users::conformance(&s);
        drop(s);
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
        drop(again);
        let known = u32::try_from(MIGRATIONS.len()).unwrap();
        assert_eq!(
            SqliteStore::migrate_only(path).unwrap(),
            Migrated {
                from: known,
                to: known
            }
        );
        // A schema from a newer sts is refused, with a message that says so.
        Connection::open(path)
            .unwrap()
            .execute_batch(&format!("PRAGMA user_version={}", known + 1))
            .unwrap();
        let e = SqliteStore::open(path).err().unwrap().to_string();
        assert!(e.contains("newer than this sts knows"), "{e}");
    }

    #[test]
    fn token_pages_by_sts_id_or_principal_are_read_from_the_index_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sts.db");
        let path = path.to_str().unwrap();
        let _store = SqliteStore::open(path).unwrap();
        let conn = Connection::open(path).unwrap();
        for (filter, index) in [
            ("/sts_id eq 's1'", "tokens_sts_cover"),
            ("/token_principal eq 'p3'", "tokens_principal_cover"),
        ] {
            let f = crate::store::filter::parse(filter).unwrap();
            let (sql, args) = page_query(Dialect::Sqlite, &f, 1000, None);
            let args = args.into_iter().map(|a| match a {
                SqlArg::Text(s) => rusqlite::types::Value::Text(s),
                SqlArg::Int(n) => rusqlite::types::Value::Integer(n),
            });
            let mut st = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
            let plan: Vec<String> = st
                .query_map(params_from_iter(args), |r| r.get::<_, String>(3))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            let plan = plan.join("\n");
            assert!(
                plan.contains(&format!("USING COVERING INDEX {index}")),
                "{filter}: {plan}"
            );
        }
    }

    #[test]
    fn tokens_stored_before_migration_011_are_read_and_deleted_from_token_bodies() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sts.db");
        let path = path.to_str().unwrap();
        let store = SqliteStore::open(path).unwrap();
        let c = Connection::open(path).unwrap();
        let rec = |i: u32, expires_ms: i64| TokenRecord {
            token_id: format!("_o{i}"),
            sts_id: "s".into(),
            realm: "/".into(),
            principal: "p".into(),
            token_type: "SAML2".into(),
            issued_ms: 1,
            expires_ms,
            token: format!("<a ID=\"_o{i}\"/>"),
        };
        // As the previous version wrote a token: text in token_bodies.
        for t in [rec(1, i64::MAX), rec(2, 5)] {
            c.execute(
                &format!("INSERT INTO tokens ({INFO_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"),
                params![t.token_id, t.sts_id, t.realm, t.principal, t.token_type, t.issued_ms, t.expires_ms],
            )
            .unwrap();
            c.execute(
                "INSERT INTO token_bodies (token_id, token) VALUES (?1, ?2)",
                params![t.token_id, t.token],
            )
            .unwrap();
        }
        store.insert_tokens(&[rec(3, i64::MAX)]).unwrap();
        assert_eq!(store.get_token("_o1").unwrap(), Some(rec(1, i64::MAX)));
        assert_eq!(store.get_token("_o3").unwrap(), Some(rec(3, i64::MAX)));
        let bodies = || -> i64 {
            c.query_row("SELECT count(*) FROM token_bodies", [], |r| r.get(0))
                .unwrap()
        };
        let text: Option<String> = c
            .query_row("SELECT token FROM tokens WHERE token_id = '_o3'", [], |r| r.get(0))
            .unwrap();
        assert_eq!(text, Some(rec(3, i64::MAX).token), "this version writes one row");
        assert_eq!(bodies(), 2);
        assert_eq!(store.delete_expired_tokens(10, 100).unwrap(), 1);
        assert_eq!(bodies(), 1);
        assert!(store.delete_token("_o1").unwrap());
        assert_eq!(bodies(), 0);
        assert_eq!(store.get_token("_o1").unwrap(), None);
        c.execute("UPDATE tokens SET token = NULL WHERE token_id = '_o3'", [])
            .unwrap();
        assert_eq!(store.get_token("_o3").unwrap(), None, "no text anywhere: no token");
    }
}
