//! Users from a directory (LDAP, Active Directory), per realm: `[realms."<realm>".ldap]`.
//!
//! The engine is synchronous and runs on blocking threads; the LDAP client (`ldap3`) is
//! asynchronous. Each call is spawned on a small runtime this module owns and waited for
//! on a channel with a bounded timeout, so no runtime is ever started or blocked on from
//! inside another one's worker.

mod binary;
mod breaker;
mod client;
mod entry;
pub mod filter;
mod pool;

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

pub use entry::AccountState;

use crate::config::{LdapConfig, RealmConfig};
use crate::secret::Secret;

/// Why a directory sign-in or look-up did not succeed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum DirectoryError {
    /// No answer in time, no connection, a server error: retry later. Never "wrong password".
    #[error("the directory is unavailable: {0}")]
    Unavailable(String),
    #[error("no directory entry has this name")]
    NoEntry,
    #[error("several directory entries have this name")]
    Ambiguous,
    #[error("wrong password")]
    BadPassword,
    #[error("the account is disabled ({0})")]
    Disabled(&'static str),
    #[error("the account is locked ({0})")]
    Locked(&'static str),
    /// Refused before any bind: an empty password would be an anonymous bind.
    #[error("empty password")]
    EmptyPassword,
    /// The directory refused the user's bind for a reason of its own (a password policy).
    #[error("the directory refused the bind: {0}")]
    Refused(String),
}

/// A user found in the directory.
#[derive(Debug, Clone)]
pub struct DirectoryUser {
    pub dn: String,
    /// The configured attributes, binary ones in their forms, groups in `memberOf`.
    pub attributes: BTreeMap<String, Vec<String>>,
    pub state: AccountState,
}

/// Names longer than this are not searched for.
const MAX_NAME_CHARS: usize = 256;

/// The runtime the LDAP connections live on, made at first use and never dropped (dropping
/// a runtime from inside another one panics).
fn runtime() -> Result<&'static tokio::runtime::Runtime, DirectoryError> {
    static RUNTIME: OnceLock<Result<tokio::runtime::Runtime, String>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("sts-ldap")
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| DirectoryError::Unavailable(format!("starting the LDAP runtime: {e}")))
}

/// One realm's directory.
pub struct Directory {
    realm: String,
    client: Arc<client::Client>,
    breaker: breaker::Breaker,
}

impl std::fmt::Debug for Directory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Directory")
            .field("realm", &self.realm)
            .finish_non_exhaustive()
    }
}

impl Directory {
    /// Reads the CA file and prepares the pool; connects at first use, so that a directory
    /// down at start does not stop the server (its realm answers 503 until it is back).
    pub fn new(realm: &str, cfg: &LdapConfig) -> Result<Directory, String> {
        // A healthy directory answers in milliseconds; a call still waiting after half the
        // operation timeout (at most 2 s) means it stopped answering.
        let op = Duration::from_millis(cfg.operation_timeout_millis);
        let slow_after = (op / 2).clamp(Duration::from_millis(250), Duration::from_secs(2));
        Ok(Directory {
            realm: realm.to_owned(),
            client: Arc::new(client::Client::new(cfg)?),
            breaker: breaker::Breaker::new(slow_after, op),
        })
    }

    /// The realm this directory serves.
    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// Runs `f` on the LDAP runtime and waits for it, at most the pool's budget.
    fn call<T: Send + 'static, F>(
        &self,
        f: impl FnOnce(Arc<client::Client>) -> F,
    ) -> Result<T, DirectoryError>
    where
        F: Future<Output = Result<T, DirectoryError>> + Send + 'static,
    {
        let ticket = self
            .breaker
            .enter(Instant::now())
            .map_err(DirectoryError::Unavailable)?;
        let budget = self.client.pool.budget();
        let fut = f(self.client.clone());
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        runtime()?.spawn(async move {
            let out = tokio::time::timeout(budget, fut).await.unwrap_or_else(|_| {
                Err(DirectoryError::Unavailable(format!(
                    "no answer within {} ms",
                    budget.as_millis()
                )))
            });
            let _ = tx.send(out);
        });
        let out = rx
            .recv_timeout(budget + Duration::from_secs(1))
            .map_err(|_| DirectoryError::Unavailable("the LDAP runtime did not answer".into()))
            .and_then(|r| r);
        ticket.finish(
            matches!(out, Err(DirectoryError::Unavailable(_))),
            Instant::now(),
        );
        out
    }

    /// Checks in the background that the service account can bind and read `user_base`,
    /// and logs the outcome; the server starts either way.
    pub fn check_in_background(&self) {
        let (client, realm) = (self.client.clone(), self.realm.clone());
        let Ok(rt) = runtime() else {
            return;
        };
        rt.spawn(async move {
            match tokio::time::timeout(client.pool.budget(), client.check()).await {
                Ok(Ok(())) => {
                    tracing::info!(realm = %realm, "directory: the service account reads user_base")
                }
                Ok(Err(e)) => {
                    tracing::warn!(realm = %realm, error = %e, "directory: check at start failed; sign-ins to the realm answer 503 until it is fixed")
                }
                Err(_) => {
                    tracing::warn!(realm = %realm, "directory: no answer to the check at start")
                }
            }
        });
    }

    /// Search-then-bind with `password`; the user's attributes and groups on success.
    pub fn authenticate(
        &self,
        username: &str,
        password: &Secret<String>,
    ) -> Result<DirectoryUser, DirectoryError> {
        let _timed = crate::metrics::time(crate::metrics::Stage::Directory);
        if password.expose().is_empty() {
            return Err(DirectoryError::EmptyPassword);
        }
        if username.is_empty() || username.chars().count() > MAX_NAME_CHARS {
            return Err(DirectoryError::NoEntry);
        }
        let (username, password) = (username.to_owned(), password.clone());
        self.call(|c| async move { c.authenticate(&username, &password).await })
    }

    /// The user `username` (attributes, groups, state) without a bind, for principals other
    /// parties vouched for and for sessions.
    pub fn lookup(&self, username: &str) -> Result<Option<DirectoryUser>, DirectoryError> {
        let _timed = crate::metrics::time(crate::metrics::Stage::Directory);
        if username.is_empty() || username.chars().count() > MAX_NAME_CHARS {
            return Ok(None);
        }
        let username = username.to_owned();
        self.call(|c| async move { c.lookup(&username).await })
    }
}

/// The directories of the realms that have one.
#[derive(Debug, Default, Clone)]
pub struct Directories(BTreeMap<String, Arc<Directory>>);

impl Directories {
    /// One directory per `[realms."<realm>".ldap]` section.
    pub fn from_config(realms: &BTreeMap<String, RealmConfig>) -> Result<Directories, String> {
        let mut out = BTreeMap::new();
        for (realm, rc) in realms {
            if let Some(l) = &rc.ldap {
                let d = Directory::new(realm, l)
                    .map_err(|e| format!("[realms.\"{realm}\".ldap] {e}"))?;
                tracing::info!(realm = %realm, urls = ?l.urls, "the realm's users come from a directory");
                out.insert(realm.clone(), Arc::new(d));
            }
        }
        Ok(Directories(out))
    }

    /// The directory of `realm` (normalised), if it has one.
    pub fn get(&self, realm: &str) -> Option<&Arc<Directory>> {
        self.0.get(realm)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// [`Directory::check_in_background`] for each.
    pub fn check_in_background(&self) {
        self.0.values().for_each(|d| d.check_in_background());
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod slapd_tests;
