//! Durable state behind one trait per kind of record; backends are chosen by URL:
//! `sqlite://PATH` (one node) or `postgres://user@host:port/db?sslmode=...` (a cluster).
//! Nothing above this module knows SQL. `conformance` (built for tests) is the suite every
//! backend must pass.

pub mod changes;
pub mod counts;
pub mod filter;
mod group;
pub mod lockout;
mod postgres;
pub mod replay;
mod sql;
pub mod users;
pub mod keys;
mod sqlite;
#[cfg(any(test, feature = "test-util"))]
pub mod testpg;

use std::sync::Arc;

pub use changes::{ChangeListener, ChangeStore};
pub use counts::CountStore;
pub use filter::Filter;
pub use keys::{KeyRecord, KeyStore};

/// Store failures.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store URL `{0}` is not supported (use sqlite://PATH or postgres://USER@HOST/DB)")]
    Url(String),
    #[error("database: {0}")]
    Db(String),
    /// The database could not be reached within the bounded wait (down, restarting, or every
    /// pooled connection busy): the request fails fast and may be retried.
    #[error("store unavailable: {0}")]
    Unavailable(String),
}

/// A session as stored: `handle` is the SHA-256 of the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub handle: [u8; 32],
    /// A public, random identifier of the session (never the token).
    pub uid: String,
    pub realm: String,
    pub username: String,
    /// Created while validating an input token, rather than by `/json/authenticate`.
    pub interim: bool,
    pub created_ms: i64,
    pub accessed_ms: i64,
    pub max_until_ms: i64,
}

/// Session persistence.
pub trait SessionStore: Send + Sync {
    fn insert_session(&self, s: &SessionRecord) -> Result<(), StoreError>;
    fn get_session(&self, handle: &[u8; 32]) -> Result<Option<SessionRecord>, StoreError>;
    /// Records an access; returns false if the session no longer exists.
    fn touch_session(&self, handle: &[u8; 32], accessed_ms: i64) -> Result<bool, StoreError>;
    /// Returns whether a session was removed.
    fn delete_session(&self, handle: &[u8; 32]) -> Result<bool, StoreError>;
    /// Removes sessions whose maximum lifetime or idle timeout has passed.
    fn delete_expired_sessions(&self, now_ms: i64, idle_ms: i64) -> Result<usize, StoreError>;
    fn sessions_of(&self, realm: &str, username: &str) -> Result<Vec<SessionRecord>, StoreError>;
}

/// An issued token as persisted (OpenAM's CTS entry for STS tokens).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    /// The assertion ID (or, later, the JWT `jti`).
    pub token_id: String,
    /// The instance, by realm-qualified id (`username-transformer`, `myRealm/x`).
    pub sts_id: String,
    pub realm: String,
    pub principal: String,
    /// `SAML2`, `OPENIDCONNECT`, ...
    pub token_type: String,
    pub issued_ms: i64,
    pub expires_ms: i64,
    /// The token itself, as issued.
    pub token: String,
}

impl TokenRecord {
    /// The record without the token text.
    pub fn info(&self) -> TokenInfo {
        TokenInfo {
            token_id: self.token_id.clone(),
            sts_id: self.sts_id.clone(),
            realm: self.realm.clone(),
            principal: self.principal.clone(),
            token_type: self.token_type.clone(),
            issued_ms: self.issued_ms,
            expires_ms: self.expires_ms,
        }
    }
}

/// What queries return of a token: everything but the token text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    pub token_id: String,
    pub sts_id: String,
    pub realm: String,
    pub principal: String,
    pub token_type: String,
    pub issued_ms: i64,
    pub expires_ms: i64,
}

/// One page of a query; `next` is the cookie for the following page, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub items: Vec<TokenInfo>,
    pub next: Option<String>,
}

/// A pending durable write: resolves once the data is committed and synced. Callers on a
/// CPU thread hand it to an async task instead of waiting, so no CPU idles on the disk.
pub struct Durable {
    /// Taken when the write is awaited (or handed on at drop).
    rx: Option<tokio::sync::oneshot::Receiver<Result<(), StoreError>>>,
    /// Told of a failed write when it settles (the audit trail retracts its event).
    on_failure: Option<OnFailure>,
}

/// What [`Durable::on_failure`] registers.
type OnFailure = Box<dyn FnOnce(&StoreError) + Send>;

impl std::fmt::Debug for Durable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Durable")
    }
}

impl Durable {
    fn new(rx: tokio::sync::oneshot::Receiver<Result<(), StoreError>>) -> Durable {
        Durable {
            rx: Some(rx),
            on_failure: None,
        }
    }

    /// A write that is already settled.
    pub fn settled(r: Result<(), StoreError>) -> Durable {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let _ = tx.send(r);
        Durable::new(rx)
    }

    /// Calls `f` if the write fails, when it settles ([`Durable::wait`], [`Durable::done`]),
    /// after any hook set before.
    pub fn on_failure(mut self, f: impl FnOnce(&StoreError) + Send + 'static) -> Durable {
        let before = self.on_failure.take();
        self.on_failure = Some(Box::new(move |e: &StoreError| {
            if let Some(b) = before {
                b(e);
            }
            f(e);
        }));
        self
    }

    fn settle(
        on_failure: Option<OnFailure>,
        r: Result<Result<(), StoreError>, tokio::sync::oneshot::error::RecvError>,
    ) -> Result<(), StoreError> {
        let r = r.unwrap_or_else(|_| {
            Err(StoreError::Db(
                "the writer stopped before the commit".into(),
            ))
        });
        if let (Err(e), Some(f)) = (&r, on_failure) {
            f(e);
        }
        r
    }

    /// Waits on this thread (not from async code).
    pub fn wait(mut self) -> Result<(), StoreError> {
        let on_failure = self.on_failure.take();
        match self.rx.take() {
            Some(rx) => Durable::settle(on_failure, rx.blocking_recv()),
            None => Durable::settle(on_failure, Ok(Err(StoreError::Db("no write".into())))),
        }
    }

    /// Waits asynchronously.
    pub async fn done(mut self) -> Result<(), StoreError> {
        let on_failure = self.on_failure.take();
        match self.rx.take() {
            Some(rx) => Durable::settle(on_failure, rx.await),
            None => Durable::settle(on_failure, Ok(Err(StoreError::Db("no write".into())))),
        }
    }

    pub(crate) fn channel() -> (
        tokio::sync::oneshot::Sender<Result<(), StoreError>>,
        Durable,
    ) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        (tx, Durable::new(rx))
    }
}

/// A write dropped before it settled (its request's future dropped: the client went away, or
/// a drain ended) still tells its failure hook, when it settles: the audit trail's
/// retraction must not depend on someone waiting for the reply.
impl Drop for Durable {
    fn drop(&mut self) {
        let (Some(hook), Some(rx)) = (self.on_failure.take(), self.rx.take()) else {
            return;
        };
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                rt.spawn(async move {
                    let _ = Durable::settle(Some(hook), rx.await);
                });
            }
            Err(_) => {
                let waiter = std::thread::Builder::new()
                    .name("sts-durable".into())
                    .spawn(move || Durable::settle(Some(hook), rx.blocking_recv()));
                if let Err(e) = waiter {
                    tracing::error!(error = %e, "a dropped write's failure hook cannot be run");
                }
            }
        }
    }
}

/// Persistence of issued tokens.
pub trait TokenStore: Send + Sync {
    /// Queues tokens for a durable insert; the result resolves after commit and sync.
    fn insert_tokens_deferred(&self, tokens: &[TokenRecord]) -> Result<Durable, StoreError>;
    /// Stores tokens; returns once they are durable (committed and synced).
    fn insert_tokens(&self, tokens: &[TokenRecord]) -> Result<(), StoreError> {
        self.insert_tokens_deferred(tokens)?.wait()
    }
    fn get_token(&self, token_id: &str) -> Result<Option<TokenRecord>, StoreError>;
    fn delete_token(&self, token_id: &str) -> Result<bool, StoreError>;
    /// Tokens matching `filter`, ordered by id, at most `page_size`, after the cookie `after`.
    fn query_tokens(
        &self,
        filter: &Filter,
        page_size: usize,
        after: Option<&str>,
    ) -> Result<Page, StoreError>;
    /// Removes at most `batch` tokens expired at `now_ms`; returns how many.
    fn delete_expired_tokens(&self, now_ms: i64, batch: usize) -> Result<usize, StoreError>;
}

/// A published instance as stored: `config` is its `instance_state` JSON, secrets included
/// (so `Debug` leaves it out).
#[derive(Clone, PartialEq, Eq)]
pub struct InstanceRecord {
    /// The realm-qualified url element (`username-transformer`, `myRealm/soap-x`).
    pub id: String,
    /// `rest` or `soap`.
    pub kind: String,
    /// Changes on every update: the `_rev` (ETag) of the publish API.
    pub rev: String,
    pub config: String,
    pub updated_ms: i64,
}

impl std::fmt::Debug for InstanceRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InstanceRecord")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("rev", &self.rev)
            .field("config", &"[redacted]")
            .finish()
    }
}

/// Persistence of published instances.
pub trait InstanceStore: Send + Sync {
    /// Inserts a new instance; false (and nothing written) when the id is taken.
    fn insert_instance(&self, r: &InstanceRecord) -> Result<bool, StoreError>;
    fn get_instance(&self, id: &str) -> Result<Option<InstanceRecord>, StoreError>;
    fn list_instances(&self) -> Result<Vec<InstanceRecord>, StoreError>;
    /// Replaces the instance if its stored revision is `expected_rev`; false otherwise.
    fn update_instance(&self, expected_rev: &str, r: &InstanceRecord) -> Result<bool, StoreError>;
    /// Deletes the instance (if `expected_rev` is given, only at that revision).
    fn delete_instance(&self, id: &str, expected_rev: Option<&str>) -> Result<bool, StoreError>;
    /// A number that changes whenever any instance is inserted, updated or deleted.
    fn instances_generation(&self) -> Result<i64, StoreError>;
}

/// A registered OAuth 2.0 client of a realm.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientRecord {
    pub realm: String,
    pub client_id: String,
    /// `client_secret_basic`, `client_secret_post` or `none`.
    pub auth_method: String,
    /// SHA-256 of the secret; empty for a public client.
    pub secret_hash: Vec<u8>,
    pub created_ms: i64,
}

impl std::fmt::Debug for ClientRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientRecord")
            .field("realm", &self.realm)
            .field("client_id", &self.client_id)
            .field("auth_method", &self.auth_method)
            .field("secret_hash", &"[redacted]")
            .finish()
    }
}

/// Persistence of OAuth clients.
pub trait ClientStore: Send + Sync {
    /// Inserts a client; false (and nothing written) when the realm has one of that id.
    fn insert_client(&self, c: &ClientRecord) -> Result<bool, StoreError>;
    fn get_client(&self, realm: &str, client_id: &str) -> Result<Option<ClientRecord>, StoreError>;
    /// The clients of `realm`, or of every realm; by realm, then id.
    fn list_clients(&self, realm: Option<&str>) -> Result<Vec<ClientRecord>, StoreError>;
    fn delete_client(&self, realm: &str, client_id: &str) -> Result<bool, StoreError>;
}

/// Everything a backend provides.
pub trait Store:
    SessionStore
    + TokenStore
    + InstanceStore
    + ClientStore
    + replay::ReplayStore
    + lockout::LockoutStore
    + KeyStore
    + ChangeStore
    + CountStore
    + users::UserRecordStore
{
}
impl<T> Store for T where
    T: SessionStore
        + TokenStore
        + InstanceStore
        + ClientStore
        + replay::ReplayStore
        + lockout::LockoutStore
        + KeyStore
        + ChangeStore
        + CountStore
        + users::UserRecordStore,
{
}

/// How to reach a database beyond its URL.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// The database password when the URL has none (`STS_STORE_PASSWORD`, or the file
    /// `store_password_file` names).
    pub password: Option<crate::secret::Secret<String>>,
    /// Connections per node, at most (PostgreSQL; the token writer has one more).
    pub pool_size: usize,
    /// The longest a request waits for a connection before `StoreError::Unavailable`.
    pub wait: std::time::Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            password: None,
            pool_size: 16,
            wait: std::time::Duration::from_secs(2),
        }
    }
}

impl StoreOptions {
    /// The options `cfg` sets; reads the password file, if any.
    pub fn from_config(cfg: &crate::config::Config) -> Result<StoreOptions, StoreError> {
        let password = match (&cfg.store_password, &cfg.store_password_file) {
            (Some(p), _) => Some(p.clone()),
            (None, Some(path)) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    StoreError::Url(format!("store_password_file {}: {e}", path.display()))
                })?;
                Some(crate::secret::Secret::new(
                    text.trim_end_matches(['\r', '\n']).to_owned(),
                ))
            }
            (None, None) => None,
        };
        Ok(StoreOptions {
            password,
            pool_size: cfg.store_pool_size,
            wait: std::time::Duration::from_millis(cfg.store_wait_millis),
        })
    }
}

/// Schema versions before and after migrating.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Migrated {
    pub from: u32,
    pub to: u32,
}

/// The URL with any password hidden, for logs and messages.
pub fn redact_url(url: &str) -> String {
    postgres::redact_url(url)
}

/// Opens the store a URL names, with default options (tests, benches; a server uses
/// `open_config`).
#[cfg(any(test, feature = "test-util"))]
pub fn open(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    open_with(url, &StoreOptions::default())
}

/// Opens the store the configuration names (URL, password, pool).
pub fn open_config(cfg: &crate::config::Config) -> Result<Arc<dyn Store>, StoreError> {
    open_with(&cfg.store_url(), &StoreOptions::from_config(cfg)?)
}

/// Opens the store a URL names, applying the migrations it lacks first; refuses a schema
/// newer than this build knows.
pub fn open_with(url: &str, opts: &StoreOptions) -> Result<Arc<dyn Store>, StoreError> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        return Ok(Arc::new(sqlite::SqliteStore::open(path)?));
    }
    if is_postgres(url) {
        tracing::info!(store = %redact_url(url), "opening the PostgreSQL store");
        return Ok(Arc::new(postgres::PgStore::open(url, opts)?));
    }
    Err(StoreError::Url(redact_url(url)))
}

/// Whether the store `url` names can be used, changing nothing (`sts check-config`): an
/// SQLite file opens read-only with a schema this build knows (or does not exist yet); a
/// PostgreSQL server accepts a connection. Returns what was found, for the operator.
pub fn check_reachable(url: &str, opts: &StoreOptions) -> Result<String, StoreError> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        return sqlite::SqliteStore::check_reachable(path);
    }
    if is_postgres(url) {
        return postgres::PgStore::check_reachable(url, opts);
    }
    Err(StoreError::Url(redact_url(url)))
}

/// A shared store whose schema is this build's, opened without migrating it or starting
/// its writer, for reading (`sts check-config` loads the keys from it); `None` for a store
/// that is not shared or that the first start would still migrate.
pub fn open_current(url: &str, opts: &StoreOptions) -> Result<Option<Arc<dyn Store>>, StoreError> {
    if !is_postgres(url) {
        return Ok(None);
    }
    Ok(postgres::PgStore::open_current(url, opts)?.map(|s| Arc::new(s) as Arc<dyn Store>))
}

/// Applies the migrations only (`sts store migrate`).
pub fn migrate(url: &str, opts: &StoreOptions) -> Result<Migrated, StoreError> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        return sqlite::SqliteStore::migrate_only(path);
    }
    if is_postgres(url) {
        return postgres::PgStore::migrate_only(url, opts);
    }
    Err(StoreError::Url(redact_url(url)))
}

fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// Whether `url` names a store that several nodes may share: the state each node would keep
/// in memory (replay caches, lockout counters, users) must then live in the store.
pub fn is_shared(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// The behaviour every backend must show; run by each backend's tests.
#[cfg(test)]
pub fn conformance(store: &dyn Store) {
    session_conformance(store);
    token_conformance(store);
    instance_conformance(store);
    client_conformance(store);
    changes::conformance(store);
    counts::conformance(store);
}

#[cfg(test)]
fn client_conformance(store: &dyn ClientStore) {
    let rec = |realm: &str, id: &str| ClientRecord {
        realm: realm.into(),
        client_id: id.into(),
        auth_method: "client_secret_basic".into(),
        secret_hash: vec![7; 32],
        created_ms: 5,
    };
    assert!(store.insert_client(&rec("/", "rs-1")).unwrap());
    assert!(
        !store.insert_client(&rec("/", "rs-1")).unwrap(),
        "duplicate id"
    );
    // The same id in another realm is another client.
    assert!(store.insert_client(&rec("/sub", "rs-1")).unwrap());
    assert!(store.insert_client(&rec("/", "rs-0")).unwrap());
    assert_eq!(
        store.get_client("/", "rs-1").unwrap(),
        Some(rec("/", "rs-1"))
    );
    assert_eq!(store.get_client("/", "nobody").unwrap(), None);
    let ids = |realm: Option<&str>| -> Vec<(String, String)> {
        store
            .list_clients(realm)
            .unwrap()
            .into_iter()
            .map(|c| (c.realm, c.client_id))
            .collect()
    };
    assert_eq!(
        ids(Some("/")),
        vec![("/".into(), "rs-0".into()), ("/".into(), "rs-1".into())]
    );
    assert_eq!(ids(None).len(), 3);
    assert!(store.delete_client("/", "rs-1").unwrap());
    assert!(!store.delete_client("/", "rs-1").unwrap());
    assert_eq!(
        store.get_client("/sub", "rs-1").unwrap(),
        Some(rec("/sub", "rs-1"))
    );
}

#[cfg(test)]
fn instance_conformance(store: &dyn InstanceStore) {
    let rec = |id: &str, rev: &str, config: &str| InstanceRecord {
        id: id.into(),
        kind: "rest".into(),
        rev: rev.into(),
        config: config.into(),
        updated_ms: 1,
    };
    let g0 = store.instances_generation().unwrap();
    assert!(store.insert_instance(&rec("a", "r1", "{}")).unwrap());
    assert!(
        !store.insert_instance(&rec("a", "r9", "{\"x\":1}")).unwrap(),
        "duplicate id"
    );
    assert_eq!(store.get_instance("a").unwrap().unwrap().rev, "r1");
    let g1 = store.instances_generation().unwrap();
    assert_ne!(g0, g1);
    assert!(
        !store
            .update_instance("stale", &rec("a", "r2", "{\"y\":2}"))
            .unwrap()
    );
    assert!(
        store
            .update_instance("r1", &rec("a", "r2", "{\"y\":2}"))
            .unwrap()
    );
    assert_eq!(
        store.get_instance("a").unwrap().unwrap().config,
        "{\"y\":2}"
    );
    assert!(
        !store
            .update_instance("r1", &rec("missing", "r2", "{}"))
            .unwrap()
    );
    assert!(store.insert_instance(&rec("realm/b", "r1", "{}")).unwrap());
    let ids: Vec<String> = store
        .list_instances()
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(ids, ["a", "realm/b"]);
    assert!(
        !store.delete_instance("a", Some("r1")).unwrap(),
        "stale delete"
    );
    assert!(store.delete_instance("a", Some("r2")).unwrap());
    assert!(!store.delete_instance("a", None).unwrap());
    assert!(store.delete_instance("realm/b", None).unwrap());
    assert!(store.get_instance("a").unwrap().is_none());
    assert_ne!(store.instances_generation().unwrap(), g1);
}

#[cfg(test)]
fn token_conformance(store: &dyn TokenStore) {
    let tok = |i: u32, sts: &str, who: &str, exp: i64| TokenRecord {
        token_id: format!("_t{i:03}"),
        sts_id: sts.into(),
        realm: "/".into(),
        principal: who.into(),
        token_type: "SAML2".into(),
        issued_ms: 0,
        expires_ms: exp,
        token: format!("<a ID=\"_t{i:03}\"/>"),
    };
    let all: Vec<_> = (0..25)
        .map(|i| {
            tok(
                i,
                if i % 2 == 0 { "s-even" } else { "s-odd" },
                if i < 10 { "alice" } else { "bob" },
                1_000 * i64::from(i),
            )
        })
        .collect();
    store.insert_tokens(&all).unwrap();
    assert!(
        store.insert_tokens(&[tok(0, "x", "y", 1)]).is_err(),
        "duplicate id accepted"
    );
    assert_eq!(store.get_token("_t003").unwrap(), Some(all[3].clone()));
    assert_eq!(store.get_token("_nope").unwrap(), None);
    let q = |f: &str, size: usize, after: Option<&str>| {
        store
            .query_tokens(&filter::parse(f).unwrap(), size, after)
            .unwrap()
    };
    let p = q("/token_principal eq 'alice'", 100, None);
    assert_eq!(p.items.len(), 10);
    assert_eq!(p.next, None);
    // Paging by cookie walks every match exactly once, in id order.
    let mut seen = Vec::new();
    let mut cookie = None;
    loop {
        let page = q("/sts_id eq 's-odd'", 5, cookie.as_deref());
        seen.extend(page.items.iter().map(|t| t.token_id.clone()));
        match page.next {
            Some(c) => cookie = Some(c),
            None => break,
        }
    }
    assert_eq!(
        seen,
        (0..25)
            .filter(|i| i % 2 == 1)
            .map(|i| format!("_t{i:03}"))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        q(
            "/sts_id eq 's-odd' and /token_principal eq 'alice'",
            100,
            None
        )
        .items
        .len(),
        5
    );
    assert_eq!(
        q(
            "/sts_id eq 's-odd' or /token_principal eq 'alice'",
            100,
            None
        )
        .items
        .len(),
        17
    );
    assert_eq!(
        q("!(/token_principal eq 'alice')", 100, None).items.len(),
        15
    );
    assert_eq!(q("true", 100, None).items.len(), 25);
    assert_eq!(q("false", 100, None).items.len(), 0);
    assert_eq!(q("/token_id sw '_t00'", 100, None).items.len(), 10);
    assert_eq!(q("/token_principal co 'li'", 100, None).items.len(), 10);
    assert_eq!(q("/expiration_time lt 5", 100, None).items.len(), 5);
    assert_eq!(q("/sts_id eq 'it\\'s'", 100, None).items.len(), 0);
    // Expired tokens go in bounded batches.
    assert_eq!(store.delete_expired_tokens(10_500, 4).unwrap(), 4);
    assert_eq!(store.delete_expired_tokens(10_500, 100).unwrap(), 7);
    assert_eq!(store.delete_expired_tokens(10_500, 100).unwrap(), 0);
    assert!(store.delete_token("_t020").unwrap());
    assert!(!store.delete_token("_t020").unwrap());
    assert_eq!(q("true", 100, None).items.len(), 13);
}

#[cfg(test)]
fn session_conformance(store: &dyn SessionStore) {
    let rec = |n: u8, user: &str, max: i64| SessionRecord {
        handle: [n; 32],
        uid: format!("uid-{n}"),
        realm: "/".into(),
        username: user.into(),
        interim: n % 2 == 0,
        created_ms: 1_000,
        accessed_ms: 1_000,
        max_until_ms: max,
    };
    store.insert_session(&rec(1, "alice", 100_000)).unwrap();
    store.insert_session(&rec(2, "alice", 5_000)).unwrap();
    store.insert_session(&rec(3, "bob", 100_000)).unwrap();
    assert_eq!(
        store.get_session(&[1; 32]).unwrap(),
        Some(rec(1, "alice", 100_000))
    );
    assert_eq!(store.get_session(&[9; 32]).unwrap(), None);
    assert!(
        store.insert_session(&rec(1, "alice", 1)).is_err(),
        "duplicate handle accepted"
    );
    assert!(store.touch_session(&[1; 32], 2_000).unwrap());
    assert_eq!(
        store.get_session(&[1; 32]).unwrap().unwrap().accessed_ms,
        2_000
    );
    assert!(!store.touch_session(&[9; 32], 2_000).unwrap());
    assert_eq!(store.sessions_of("/", "alice").unwrap().len(), 2);
    // At t=60 s with a 50 s idle timeout: session 2 passed its maximum, session 3 has been idle
    // since t=1 s, session 1 was used at t=20 s.
    store.touch_session(&[1; 32], 20_000).unwrap();
    assert_eq!(store.delete_expired_sessions(60_000, 50_000).unwrap(), 2);
    assert_eq!(store.sessions_of("/", "alice").unwrap().len(), 1);
    assert!(store.delete_session(&[1; 32]).unwrap());
    assert!(!store.delete_session(&[1; 32]).unwrap());
    assert!(store.sessions_of("/", "alice").unwrap().is_empty());
}
