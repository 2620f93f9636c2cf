//! Connections to one directory: at most `pool_size`, each carrying one operation at a time,
//! kept open between requests. A connection remembers whom it is bound as: searches take
//! one bound as the service account (binding it if needed), user binds prefer one that is
//! not, so that under load neither kind rebinds much. New connections try the URLs in order
//! (failover); one opened to a later URL is not kept past [`FAILBACK`], so the first URL is
//! tried again once it is back.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, LdapResult, Scope, SearchOptions};
use tokio::sync::{Semaphore, SemaphorePermit};

use super::DirectoryError;
use crate::config::{LdapConfig, LdapUrl};
use crate::secret::Secret;

/// How long a connection to a later URL (the first one was down) is kept.
const FAILBACK: Duration = Duration::from_secs(60);

/// Whom a connection is bound as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// Nobody yet (anonymous), or a user, or a bind that failed.
    Other,
    /// The service account (`bind_dn`).
    Service,
}

/// One operation on a connection.
pub enum Op<'a> {
    Search {
        base: &'a str,
        scope: Scope,
        filter: &'a str,
        attrs: &'a [String],
        size_limit: i32,
    },
    /// A simple bind as a user; the connection is then bound as [`Bound::Other`].
    Bind { dn: &'a str, password: &'a str },
}

/// What an operation returned.
pub enum Outcome {
    Search(Vec<ldap3::ResultEntry>, LdapResult),
    Bind(LdapResult),
}

struct Conn {
    ldap: Ldap,
    url: usize,
    opened: Instant,
    bound: Bound,
}

/// The connections of one directory.
pub struct Pool {
    urls: Vec<String>,
    connector: native_tls::TlsConnector,
    starttls: bool,
    bind_dn: String,
    bind_password: Secret<String>,
    connect_timeout: Duration,
    op_timeout: Duration,
    size: usize,
    idle: Mutex<Vec<Conn>>,
    permits: Semaphore,
}

/// A connection in use, back to the pool when dropped unless discarded.
struct Lease<'a> {
    pool: &'a Pool,
    conn: Option<Conn>,
    reused: bool,
    _permit: SemaphorePermit<'a>,
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some(mut c) = self.conn.take() {
            let stale = c.url > 0 && c.opened.elapsed() > FAILBACK;
            if !c.ldap.is_closed() && !stale {
                self.pool.lock_idle().push(c);
            }
        }
    }
}

/// The TLS settings of `cfg`: its CA file alone when set, else the system's roots; TLS 1.2
/// at least, host names checked.
fn connector(cfg: &LdapConfig) -> Result<native_tls::TlsConnector, String> {
    let mut b = native_tls::TlsConnector::builder();
    b.min_protocol_version(Some(native_tls::Protocol::Tlsv12));
    if let Some(path) = &cfg.ca_file {
        let shown = path.display();
        let pem = std::fs::read(path).map_err(|e| format!("ca_file {shown}: {e}"))?;
        let certs = openssl::x509::X509::stack_from_pem(&pem)
            .map_err(|e| format!("ca_file {shown}: {e}"))?;
        if certs.is_empty() {
            return Err(format!("ca_file {shown} holds no certificate"));
        }
        b.disable_built_in_roots(true);
        for c in certs {
            let der = c.to_der().map_err(|e| format!("ca_file {shown}: {e}"))?;
            let cert = native_tls::Certificate::from_der(&der)
                .map_err(|e| format!("ca_file {shown}: {e}"))?;
            b.add_root_certificate(cert);
        }
    }
    b.build().map_err(|e| format!("TLS settings: {e}"))
}

impl Pool {
    pub fn new(cfg: &LdapConfig) -> Result<Pool, String> {
        let bind_password = cfg
            .bind_password
            .clone()
            .ok_or("no bind password (bind_password_file or STS_LDAP_BIND_PASSWORD)")?;
        Ok(Pool {
            urls: cfg.urls.clone(),
            connector: connector(cfg)?,
            starttls: cfg.starttls,
            bind_dn: cfg.bind_dn.clone(),
            bind_password,
            connect_timeout: Duration::from_millis(cfg.connect_timeout_millis),
            op_timeout: Duration::from_millis(cfg.operation_timeout_millis),
            size: cfg.pool_size,
            idle: Mutex::new(Vec::new()),
            permits: Semaphore::new(cfg.pool_size),
        })
    }

    /// The longest one [`Pool::run`] can take: waiting for a connection, opening one on
    /// each URL, binding it, and the operation, with a retry on a fresh connection.
    pub fn budget(&self) -> Duration {
        let urls = u32::try_from(self.urls.len()).unwrap_or(u32::MAX);
        (self.op_timeout * 3 + self.connect_timeout.saturating_mul(urls)) * 2
    }

    /// Connections open now (idle ones; for tests and metrics).
    #[cfg(test)]
    pub fn idle_count(&self) -> usize {
        self.lock_idle().len()
    }

    fn lock_idle(&self) -> std::sync::MutexGuard<'_, Vec<Conn>> {
        self.idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// An idle connection, bound as `want` if there is one.
    fn take_idle(&self, want: Bound) -> Option<Conn> {
        let mut idle = self.lock_idle();
        idle.retain_mut(|c| !c.ldap.is_closed());
        let at = idle
            .iter()
            .rposition(|c| c.bound == want)
            .or_else(|| idle.len().checked_sub(1))?;
        Some(idle.swap_remove(at))
    }

    /// A new connection, to the first URL that answers.
    async fn open(&self) -> Result<Conn, DirectoryError> {
        let mut failures = Vec::new();
        for (i, url) in self.urls.iter().enumerate() {
            let tls = LdapUrl::parse(url).is_ok_and(|u| u.tls);
            let settings = LdapConnSettings::new()
                .set_conn_timeout(self.connect_timeout)
                .set_connector(self.connector.clone())
                .set_starttls(self.starttls && !tls);
            // The settings' timeout covers TCP, StartTLS and the TLS handshake; this one is
            // a backstop.
            let attempt = tokio::time::timeout(
                self.connect_timeout + Duration::from_millis(100),
                LdapConnAsync::with_settings(settings, url),
            )
            .await;
            match attempt {
                Ok(Ok((conn, ldap))) => {
                    let shown = url.clone();
                    tokio::spawn(async move {
                        if let Err(e) = conn.drive().await {
                            tracing::debug!(url = %shown, error = %e, "directory connection ended");
                        }
                    });
                    if i > 0 {
                        tracing::warn!(url = %url, earlier = %failures.join("; "), "directory: failed over to a later URL");
                    }
                    return Ok(Conn {
                        ldap,
                        url: i,
                        opened: Instant::now(),
                        bound: Bound::Other,
                    });
                }
                Ok(Err(e)) => failures.push(format!("{url}: {e}")),
                Err(_) => failures.push(format!(
                    "{url}: no connection within {} ms",
                    self.connect_timeout.as_millis()
                )),
            }
        }
        Err(DirectoryError::Unavailable(failures.join("; ")))
    }

    /// A connection bound as `want` ([`Bound::Other`]: any).
    async fn lease(&self, want: Bound) -> Result<Lease<'_>, DirectoryError> {
        let permit = tokio::time::timeout(self.op_timeout, self.permits.acquire())
            .await
            .map_err(|_| {
                DirectoryError::Unavailable(format!(
                    "all {} directory connections stayed busy for {} ms",
                    self.size,
                    self.op_timeout.as_millis()
                ))
            })?
            .map_err(|_| DirectoryError::Unavailable("the pool is closed".into()))?;
        loop {
            let (mut conn, reused) = match self.take_idle(want) {
                Some(c) => (c, true),
                None => (self.open().await?, false),
            };
            if want == Bound::Service && conn.bound != Bound::Service {
                let bind = tokio::time::timeout(
                    self.op_timeout,
                    conn.ldap
                        .simple_bind(&self.bind_dn, self.bind_password.expose()),
                )
                .await;
                match bind {
                    Ok(Ok(r)) if r.rc == 0 => conn.bound = Bound::Service,
                    Ok(Ok(r)) => {
                        return Err(DirectoryError::Unavailable(format!(
                            "the directory refused the service account's bind as {} (result {} {}): check bind_dn and its password",
                            self.bind_dn, r.rc, r.text
                        )));
                    }
                    // A connection that died while idle: try the next one.
                    Ok(Err(_)) if reused => continue,
                    Ok(Err(e)) => {
                        return Err(DirectoryError::Unavailable(format!(
                            "binding the service account: {e}"
                        )));
                    }
                    Err(_) => {
                        return Err(DirectoryError::Unavailable(format!(
                            "the service account's bind got no answer within {} ms",
                            self.op_timeout.as_millis()
                        )));
                    }
                }
            }
            return Ok(Lease {
                pool: self,
                conn: Some(conn),
                reused,
                _permit: permit,
            });
        }
    }

    /// Runs `op` on a connection (searches as the service account), once more on a fresh
    /// connection if a reused one turns out dead. No answer in time is not retried: the
    /// directory is slow, and a retry would only double the wait.
    pub async fn run(&self, op: &Op<'_>) -> Result<Outcome, DirectoryError> {
        let want = match op {
            Op::Search { .. } => Bound::Service,
            Op::Bind { .. } => Bound::Other,
        };
        let mut last = String::new();
        for _ in 0..2 {
            let mut lease = self.lease(want).await?;
            let reused = lease.reused;
            let Some(conn) = lease.conn.as_mut() else {
                continue;
            };
            let url = self.urls.get(conn.url).cloned().unwrap_or_default();
            let result = tokio::time::timeout(self.op_timeout, Self::exec(conn, op)).await;
            match result {
                Ok(Ok(outcome)) => return Ok(outcome),
                Ok(Err(e)) => {
                    lease.conn = None;
                    last = format!("{url}: {e}");
                    if !reused {
                        break;
                    }
                }
                Err(_) => {
                    lease.conn = None;
                    return Err(DirectoryError::Unavailable(format!(
                        "{url}: no answer within {} ms",
                        self.op_timeout.as_millis()
                    )));
                }
            }
        }
        Err(DirectoryError::Unavailable(last))
    }

    async fn exec(conn: &mut Conn, op: &Op<'_>) -> ldap3::result::Result<Outcome> {
        match op {
            Op::Search {
                base,
                scope,
                filter,
                attrs,
                size_limit,
            } => {
                let ldap3::SearchResult(entries, result) = conn
                    .ldap
                    .with_search_options(SearchOptions::new().sizelimit(*size_limit))
                    .search(base, *scope, filter, attrs.to_vec())
                    .await?;
                Ok(Outcome::Search(entries, result))
            }
            Op::Bind { dn, password } => {
                // Whatever the answer, the connection is no longer the service account's.
                conn.bound = Bound::Other;
                let r = conn.ldap.simple_bind(dn, password).await?;
                Ok(Outcome::Bind(r))
            }
        }
    }
}
