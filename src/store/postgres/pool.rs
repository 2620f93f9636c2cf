//! A bounded pool of connections with a bounded wait. A request that cannot get a working
//! connection within the wait (database down, or every connection busy) fails with
//! `StoreError::Unavailable` instead of queueing without end. A connection that broke is
//! dropped, not returned, and the next request opens a new one: after a server restart the
//! pool heals itself.

use std::collections::HashMap;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use postgres::{Client, Statement};

use super::connect::Connector;
use crate::store::StoreError;

/// Generated statements (token queries: one text per filter shape) kept prepared per
/// connection; past this many, the cache starts over (a filter's shape is the client's choice,
/// so the number of texts is not bounded by the code).
const GENERATED_STATEMENTS: usize = 64;

/// One connection and the statements prepared on it.
pub(super) struct PgConn {
    pub(super) client: Client,
    stmts: HashMap<&'static str, Statement>,
    generated: HashMap<String, Statement>,
}

impl PgConn {
    pub(super) fn new(client: Client) -> PgConn {
        PgConn {
            client,
            stmts: HashMap::new(),
            generated: HashMap::new(),
        }
    }

    /// The statement for a generated `sql` (values bound, never in the text), prepared once
    /// per connection like [`PgConn::stmt`]: a query then costs one round trip instead of two
    /// (parse and describe, then execute), and PostgreSQL may reuse its plan.
    pub(super) fn generated_stmt(&mut self, sql: &str) -> Result<Statement, postgres::Error> {
        if let Some(s) = self.generated.get(sql) {
            return Ok(s.clone());
        }
        if self.generated.len() >= GENERATED_STATEMENTS {
            // Dropping the last clone closes the statement on the server.
            self.generated.clear();
        }
        let s = self.client.prepare(sql)?;
        self.generated.insert(sql.to_owned(), s.clone());
        Ok(s)
    }

    /// The statement for `sql`, prepared once per connection (saves a round trip per query).
    pub(super) fn stmt(&mut self, sql: &'static str) -> Result<Statement, postgres::Error> {
        if let Some(s) = self.stmts.get(sql) {
            return Ok(s.clone());
        }
        let s = self.client.prepare(sql)?;
        self.stmts.insert(sql, s.clone());
        Ok(s)
    }
}

struct State {
    idle: Vec<PgConn>,
    /// Connections in existence: idle, lent out, or being opened.
    open: usize,
}

pub(super) struct Pool {
    connector: Connector,
    max: usize,
    wait: Duration,
    state: Mutex<State>,
    freed: Condvar,
}

/// Whether the error means the connection is unusable (rather than the statement wrong).
pub(super) fn is_connection_error(e: &postgres::Error) -> bool {
    if e.is_closed() {
        return true;
    }
    if let Some(code) = e.code() {
        // 08: connection exception; 57: operator intervention (shutdown, crash recovery).
        let c = code.code();
        return c.starts_with("08") || c.starts_with("57");
    }
    // No SQL state: I/O, TLS or protocol trouble on the socket (not a parameter that failed
    // to convert, which is the statement's fault).
    if std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>()) {
        return true;
    }
    let m = e.to_string();
    ["error communicating", "error connecting", "timeout", "error performing TLS", "unexpected message"]
        .iter()
        .any(|p| m.starts_with(p))
}

/// Whether the error says a statement prepared on this connection no longer holds: 26000
/// (it was deallocated: `DISCARD ALL`, a transaction-mode pooler in between) or 0A000 "cached
/// plan must not change result type" (a migration changed a table under it). The connection's
/// cache would keep failing the same query, so the connection is not used again.
fn is_stale_statement(e: &postgres::Error) -> bool {
    e.as_db_error().is_some_and(|d| {
        let c = d.code().code();
        c == "26000" || (c == "0A000" && d.message().contains("cached plan"))
    })
}

/// The error with the server's message or the underlying cause (the crate's own text is
/// only "db error" or "error connecting to server").
pub(super) fn describe(e: &postgres::Error) -> String {
    if let Some(d) = e.as_db_error() {
        return format!("{}: {} ({})", d.severity(), d.message(), d.code().code());
    }
    match std::error::Error::source(e) {
        Some(s) => format!("{e}: {s}"),
        None => e.to_string(),
    }
}

pub(super) fn unavailable(e: &postgres::Error) -> StoreError {
    StoreError::Unavailable(format!("database: {}", describe(e)))
}

pub(super) fn db(e: postgres::Error) -> StoreError {
    if is_connection_error(&e) {
        unavailable(&e)
    } else {
        StoreError::Db(describe(&e))
    }
}

impl Drop for Pool {
    /// Closing a connection blocks on the client's runtime too.
    fn drop(&mut self) {
        let idle = std::mem::take(&mut self.lock().idle);
        off_runtime(move || drop(idle));
    }
}

/// Runs blocking database work where it may block. The sync client drives its socket with
/// a runtime of its own, which tokio refuses to start on an async worker thread ("Cannot
/// start a runtime from within a runtime"): there the work moves off the worker with
/// `block_in_place` (multi-thread runtime) or onto a thread of its own (current-thread
/// runtime). Elsewhere (plain and `spawn_blocking` threads) it runs as it is.
pub(super) fn off_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(RuntimeFlavor::MultiThread) => tokio::task::block_in_place(f),
        Ok(_) => std::thread::scope(|s| match s.spawn(f).join() {
            Ok(v) => v,
            Err(p) => std::panic::resume_unwind(p),
        }),
        Err(_) => f(),
    }
}

impl Pool {
    pub(super) fn new(connector: Connector, max: usize, wait: Duration) -> Pool {
        Pool {
            connector,
            max: max.max(1),
            wait,
            state: Mutex::new(State {
                idle: Vec::new(),
                open: 0,
            }),
            freed: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A connection within the wait; `fresh` says whether it was opened for this call.
    fn get(&self) -> Result<(PgConn, bool), StoreError> {
        let deadline = Instant::now() + self.wait;
        let mut st = self.lock();
        loop {
            if let Some(c) = st.idle.pop() {
                if !c.client.is_closed() {
                    return Ok((c, false));
                }
                st.open = st.open.saturating_sub(1);
                continue;
            }
            if st.open < self.max {
                st.open += 1;
                drop(st);
                return match self.connector.connect() {
                    Ok(c) => Ok((PgConn::new(c), true)),
                    Err(e) => {
                        self.release(None);
                        Err(unavailable(&e))
                    }
                };
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(StoreError::Unavailable(format!(
                    "all {} database connections busy for {} ms",
                    self.max,
                    self.wait.as_millis()
                )));
            }
            st = self
                .freed
                .wait_timeout(st, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// Gives a connection back (or, with `None`, forgets a broken one).
    fn release(&self, c: Option<PgConn>) {
        let mut st = self.lock();
        match c {
            Some(c) if !c.client.is_closed() => st.idle.push(c),
            _ => st.open = st.open.saturating_sub(1),
        }
        drop(st);
        self.freed.notify_one();
    }

    /// Runs `f` on a pooled connection. On a broken connection that had been idle (the server
    /// may have restarted since), `f` runs once more on a new one; a new connection that breaks
    /// means the database is unavailable.
    pub(super) fn run<T: Send>(
        &self,
        f: impl FnMut(&mut PgConn) -> Result<T, postgres::Error> + Send,
    ) -> Result<T, StoreError> {
        off_runtime(|| self.run_here(f))
    }

    fn run_here<T>(
        &self,
        mut f: impl FnMut(&mut PgConn) -> Result<T, postgres::Error>,
    ) -> Result<T, StoreError> {
        loop {
            let (mut c, fresh) = self.get()?;
            match f(&mut c) {
                Ok(v) => {
                    self.release(Some(c));
                    return Ok(v);
                }
                Err(e) if is_connection_error(&e) => {
                    self.release(None);
                    if fresh {
                        return Err(unavailable(&e));
                    }
                }
                Err(e) => {
                    // A failed statement inside a transaction was rolled back by its
                    // Transaction's drop; the connection is clean, unless its prepared
                    // statements went stale (then it is closed: the next call opens another).
                    if is_stale_statement(&e) {
                        tracing::warn!(error = %describe(&e), "a prepared statement went stale; the connection is closed");
                        off_runtime(move || drop(c));
                        self.release(None);
                    } else {
                        self.release(Some(c));
                    }
                    return Err(StoreError::Db(describe(&e)));
                }
            }
        }
    }
}
