//! The PostgreSQL backend, for several nodes sharing one database: a bounded pool of
//! connections (`pool`), token inserts with group commit on a writer thread (`tokens`), and
//! versioned migrations recorded in `schema_migrations`, applied at open under an advisory
//! lock so that nodes starting together do not race.

mod changes;
mod connect;
mod counts;
mod keys;
mod lockout;
mod pool;
mod replay;
mod tokens;
mod users;

use std::sync::Mutex;
use std::sync::mpsc;

pub use connect::redact_url;
use pool::{Pool, db};

use super::{
    ClientRecord, ClientStore, InstanceRecord, InstanceStore, Migrated, SessionRecord,
    SessionStore, StoreError, StoreOptions,
};

/// The migrations this build knows, in order: `migrations/postgres/NNN_name.sql`.
const MIGRATIONS: &[(i32, &str, &str)] = &[
    (1, "sessions", include_str!("../../../migrations/postgres/001_sessions.sql")),
    (2, "tokens", include_str!("../../../migrations/postgres/002_tokens.sql")),
    (3, "instances", include_str!("../../../migrations/postgres/003_instances.sql")),
    (4, "clients", include_str!("../../../migrations/postgres/004_clients.sql")),
    (5, "replay", include_str!("../../../migrations/postgres/005_replay.sql")),
    (6, "keys", include_str!("../../../migrations/postgres/006_keys.sql")),
    (7, "lockout", include_str!("../../../migrations/postgres/007_lockout.sql")),
    (8, "changes", include_str!("../../../migrations/postgres/008_changes.sql")),
    (9, "users", include_str!("../../../migrations/postgres/009_users.sql")),
    (
        10,
        "token_queries",
        include_str!("../../../migrations/postgres/010_token_queries.sql"),
    ),
    (
        11,
        "token_text_inline",
        include_str!("../../../migrations/postgres/011_token_text_inline.sql"),
    ),
];

/// Any constant: the advisory lock that serialises migrations across nodes.
const MIGRATION_LOCK: i64 = 0x0053_5453_5f6d_6967;

pub struct PgStore {
    pool: Pool,
    /// For connections of their own (the change listener).
    connector: connect::Connector,
    writer: Mutex<mpsc::Sender<tokens::Job>>,
}

impl PgStore {
    /// Connects, applies the migrations this build knows, and starts the token writer.
    pub fn open(url: &str, opts: &StoreOptions) -> Result<PgStore, StoreError> {
        let connector = connect::Connector::new(url, opts)?;
        let pool = Pool::new(connector.clone(), opts.pool_size, opts.wait);
        let listen_connector = connector.clone();
        pool.run(|c| migrate(&mut c.client))??;
        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("sts-pg-token-writer".into())
            .spawn(move || tokens::writer_loop(connector, rx))
            .map_err(|e| StoreError::Db(e.to_string()))?;
        Ok(PgStore {
            pool,
            connector: listen_connector,
            writer: Mutex::new(tx),
        })
    }

    /// Connects and asks the server for its version, changing nothing (`sts check-config`).
    pub fn check_reachable(url: &str, opts: &StoreOptions) -> Result<String, StoreError> {
        let connector = connect::Connector::new(url, opts)?;
        let mut client = pool::off_runtime(|| connector.connect()).map_err(|e| pool::unavailable(&e))?;
        let version: String = pool::off_runtime(|| client.query_one("SHOW server_version", &[]))
            .map_err(db)?
            .try_get(0)
            .map_err(db)?;
        Ok(format!("PostgreSQL {version} reachable"))
    }

    /// The store, if its schema is this build's, with nothing applied and no token writer
    /// (`sts check-config` reads the keys through it; ops, issue 20); `None` while the first
    /// start would still migrate it; an error for a newer schema.
    pub fn open_current(url: &str, opts: &StoreOptions) -> Result<Option<PgStore>, StoreError> {
        let connector = connect::Connector::new(url, opts)?;
        let mut c = pool::off_runtime(|| connector.connect()).map_err(|e| pool::unavailable(&e))?;
        let mut ask = |sql: &str| -> Result<i32, StoreError> {
            pool::off_runtime(|| c.query_one(sql, &[]))
                .and_then(|r| r.try_get(0))
                .map_err(db)
        };
        let current = match ask("SELECT (to_regclass('schema_migrations') IS NOT NULL)::int")? {
            0 => 0,
            _ => ask("SELECT coalesce(max(version), 0) FROM schema_migrations")?,
        };
        let known = MIGRATIONS.iter().map(|m| m.0).max().unwrap_or(0);
        if current > known {
            return Err(StoreError::Db(format!(
                "the database schema is at version {current}, newer than this sts knows ({known})"
            )));
        }
        if current < known {
            return Ok(None);
        }
        Ok(Some(PgStore {
            pool: Pool::new(connector.clone(), 1, opts.wait),
            connector,
            writer: Mutex::new(mpsc::channel().0),
        }))
    }

    /// Applies the migrations only (`sts store migrate`).
    pub fn migrate_only(url: &str, opts: &StoreOptions) -> Result<Migrated, StoreError> {
        let connector = connect::Connector::new(url, opts)?;
        let mut client = connector.connect().map_err(db)?;
        pool::off_runtime(|| migrate(&mut client)).map_err(db)?
    }
}

/// Brings the schema up to this build's version in one transaction; refuses a schema newer
/// than it knows (a newer `sts` migrated it: this one would misread it).
fn migrate(client: &mut postgres::Client) -> Result<Result<Migrated, StoreError>, postgres::Error> {
    let known = MIGRATIONS.iter().map(|m| m.0).max().unwrap_or(0);
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (\
            version integer PRIMARY KEY, \
            name text NOT NULL, \
            applied_ms bigint NOT NULL)",
    )?;
    let current: i32 = tx
        .query_one(
            "SELECT coalesce(max(version), 0) FROM schema_migrations",
            &[],
        )?
        .try_get(0)?;
    if current > known {
        return Ok(Err(StoreError::Db(format!(
            "the database schema is at version {current}, newer than this sts knows ({known}): \
             upgrade sts on this node"
        ))));
    }
    for (version, name, sql) in MIGRATIONS.iter().filter(|m| m.0 > current) {
        tx.batch_execute(sql)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_ms) \
             VALUES ($1, $2, (extract(epoch FROM clock_timestamp()) * 1000)::bigint)",
            &[version, name],
        )?;
    }
    tx.commit()?;
    Ok(Ok(Migrated {
        from: u32::try_from(current).unwrap_or(0),
        to: u32::try_from(known.max(current)).unwrap_or(0),
    }))
}

fn session_row(r: &postgres::Row) -> Result<SessionRecord, postgres::Error> {
    let handle: Vec<u8> = r.try_get(0)?;
    Ok(SessionRecord {
        handle: handle.try_into().unwrap_or([0; 32]),
        uid: r.try_get(1)?,
        realm: r.try_get(2)?,
        username: r.try_get(3)?,
        interim: r.try_get(4)?,
        created_ms: r.try_get(5)?,
        accessed_ms: r.try_get(6)?,
        max_until_ms: r.try_get(7)?,
    })
}

impl SessionStore for PgStore {
    fn insert_session(&self, s: &SessionRecord) -> Result<(), StoreError> {
        const SQL: &str = "INSERT INTO sessions (handle, uid, realm, username, interim, \
             created_ms, accessed_ms, max_until_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
        self.pool.run(|c| {
            let st = c.stmt(SQL)?;
            c.client.execute(
                &st,
                &[
                    &&s.handle[..],
                    &s.uid,
                    &s.realm,
                    &s.username,
                    &s.interim,
                    &s.created_ms,
                    &s.accessed_ms,
                    &s.max_until_ms,
                ],
            )
        })?;
        Ok(())
    }

    fn get_session(&self, handle: &[u8; 32]) -> Result<Option<SessionRecord>, StoreError> {
        const SQL: &str = "SELECT handle, uid, realm, username, interim, created_ms, \
             accessed_ms, max_until_ms FROM sessions WHERE handle = $1";
        self.pool.run(|c| {
            let st = c.stmt(SQL)?;
            c.client
                .query_opt(&st, &[&&handle[..]])?
                .map(|r| session_row(&r))
                .transpose()
        })
    }

    fn touch_session(&self, handle: &[u8; 32], accessed_ms: i64) -> Result<bool, StoreError> {
        const SQL: &str = "UPDATE sessions SET accessed_ms = $2 WHERE handle = $1";
        self.pool.run(|c| {
            let st = c.stmt(SQL)?;
            Ok(c.client.execute(&st, &[&&handle[..], &accessed_ms])? > 0)
        })
    }

    fn delete_session(&self, handle: &[u8; 32]) -> Result<bool, StoreError> {
        const SQL: &str = "DELETE FROM sessions WHERE handle = $1";
        self.pool.run(|c| {
            let st = c.stmt(SQL)?;
            Ok(c.client.execute(&st, &[&&handle[..]])? > 0)
        })
    }

    fn delete_expired_sessions(&self, now_ms: i64, idle_ms: i64) -> Result<usize, StoreError> {
        const SQL: &str =
            "DELETE FROM sessions WHERE max_until_ms <= $1 OR accessed_ms + $2 <= $1";
        let n = self.pool.run(|c| {
            let st = c.stmt(SQL)?;
            c.client.execute(&st, &[&now_ms, &idle_ms])
        })?;
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }

    fn sessions_of(&self, realm: &str, username: &str) -> Result<Vec<SessionRecord>, StoreError> {
        const SQL: &str = "SELECT handle, uid, realm, username, interim, created_ms, \
             accessed_ms, max_until_ms FROM sessions WHERE realm = $1 AND username = $2 \
             ORDER BY created_ms";
        self.pool.run(|c| {
            let st = c.stmt(SQL)?;
            c.client
                .query(&st, &[&realm, &username])?
                .iter()
                .map(session_row)
                .collect()
        })
    }
}

fn instance_row(r: &postgres::Row) -> Result<InstanceRecord, postgres::Error> {
    Ok(InstanceRecord {
        id: r.try_get(0)?,
        kind: r.try_get(1)?,
        rev: r.try_get(2)?,
        config: r.try_get(3)?,
        updated_ms: r.try_get(4)?,
    })
}

impl InstanceStore for PgStore {
    fn insert_instance(&self, r: &InstanceRecord) -> Result<bool, StoreError> {
        // The primary key decides between concurrent publishers, on one node or many.
        let n = self.pool.run(|c| {
            c.client.execute(
                "INSERT INTO instances (id, kind, rev, config, updated_ms) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING",
                &[&r.id, &r.kind, &r.rev, &r.config, &r.updated_ms],
            )
        })?;
        Ok(n == 1)
    }

    fn get_instance(&self, id: &str) -> Result<Option<InstanceRecord>, StoreError> {
        self.pool.run(|c| {
            c.client
                .query_opt(
                    "SELECT id, kind, rev, config, updated_ms FROM instances WHERE id = $1",
                    &[&id],
                )?
                .map(|r| instance_row(&r))
                .transpose()
        })
    }

    fn list_instances(&self) -> Result<Vec<InstanceRecord>, StoreError> {
        self.pool.run(|c| {
            c.client
                .query(
                    "SELECT id, kind, rev, config, updated_ms FROM instances ORDER BY id",
                    &[],
                )?
                .iter()
                .map(instance_row)
                .collect()
        })
    }

    fn update_instance(&self, expected_rev: &str, r: &InstanceRecord) -> Result<bool, StoreError> {
        let n = self.pool.run(|c| {
            c.client.execute(
                "UPDATE instances SET kind = $2, rev = $3, config = $4, updated_ms = $5 \
                 WHERE id = $1 AND rev = $6",
                &[&r.id, &r.kind, &r.rev, &r.config, &r.updated_ms, &expected_rev],
            )
        })?;
        Ok(n == 1)
    }

    fn delete_instance(&self, id: &str, expected_rev: Option<&str>) -> Result<bool, StoreError> {
        let n = self.pool.run(|c| {
            c.client.execute(
                "DELETE FROM instances WHERE id = $1 AND ($2::text IS NULL OR rev = $2)",
                &[&id, &expected_rev],
            )
        })?;
        Ok(n == 1)
    }

    fn instances_generation(&self) -> Result<i64, StoreError> {
        const SQL: &str = "SELECT gen FROM instance_generation";
        self.pool.run(|c| {
            let st = c.stmt(SQL)?;
            c.client.query_one(&st, &[])?.try_get(0)
        })
    }
}

fn client_row(r: &postgres::Row) -> Result<ClientRecord, postgres::Error> {
    Ok(ClientRecord {
        realm: r.try_get(0)?,
        client_id: r.try_get(1)?,
        auth_method: r.try_get(2)?,
        secret_hash: r.try_get(3)?,
        created_ms: r.try_get(4)?,
    })
}

const CLIENT_COLUMNS: &str = "realm, client_id, auth_method, secret_hash, created_ms";

impl ClientStore for PgStore {
    fn insert_client(&self, cl: &ClientRecord) -> Result<bool, StoreError> {
        let n = self.pool.run(|c| {
            c.client.execute(
                "INSERT INTO oauth_clients (realm, client_id, auth_method, secret_hash, \
                 created_ms) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (realm, client_id) DO NOTHING",
                &[
                    &cl.realm,
                    &cl.client_id,
                    &cl.auth_method,
                    &cl.secret_hash,
                    &cl.created_ms,
                ],
            )
        })?;
        Ok(n == 1)
    }

    fn get_client(&self, realm: &str, client_id: &str) -> Result<Option<ClientRecord>, StoreError> {
        const SQL: &str = "SELECT realm, client_id, auth_method, secret_hash, created_ms \
             FROM oauth_clients WHERE realm = $1 AND client_id = $2";
        self.pool.run(|c| {
            let st = c.stmt(SQL)?;
            c.client
                .query_opt(&st, &[&realm, &client_id])?
                .map(|r| client_row(&r))
                .transpose()
        })
    }

    fn list_clients(&self, realm: Option<&str>) -> Result<Vec<ClientRecord>, StoreError> {
        let sql = format!(
            "SELECT {CLIENT_COLUMNS} FROM oauth_clients WHERE $1::text IS NULL OR realm = $1 \
             ORDER BY realm, client_id"
        );
        self.pool.run(|c| {
            c.client
                .query(sql.as_str(), &[&realm])?
                .iter()
                .map(client_row)
                .collect()
        })
    }

    fn delete_client(&self, realm: &str, client_id: &str) -> Result<bool, StoreError> {
        let n = self.pool.run(|c| {
            c.client.execute(
                "DELETE FROM oauth_clients WHERE realm = $1 AND client_id = $2",
                &[&realm, &client_id],
            )
        })?;
        Ok(n == 1)
    }
}

#[cfg(test)]
mod tests;
