//! The token engine shared by every front end: authenticate an input credential to a
//! principal (`authn/`), issue the requested token under the instance's policy (`issue/`),
//! and check, introspect or cancel tokens it issued (`check/`). It knows nothing about HTTP
//! or SOAP framing, speaks no wire names (see [`EngineError`]), and reads the time only from
//! its [`Clock`].

mod authn;
mod batch;
mod check;
pub mod custom;
mod error;
mod issue;
mod possession;
mod principal;
mod replay;
mod renew;
mod request;

use crate::instance::ResolvedInstance;
use crate::instance::resolve::SamlSigning;
pub use authn::Role;
#[cfg(any(test, feature = "test-util"))]
pub use authn::SessionPrincipal;
pub use authn::x509::MAX_CERT_BYTES;
#[cfg(any(test, feature = "test-util"))]
pub use check::NotLive;
pub use check::cancel::Canceller;
pub use error::{AuthFailure, EngineError};
#[cfg(any(test, feature = "test-util"))]
pub use possession::PossessionProof;
pub use possession::{ProvenChain, require_possession};
pub use principal::{Authenticated, Principal, PrincipalSource};
pub use replay::{NonceCache, ReplayCache, StoreReplayCache};
pub use renew::{RenewRequest, RenewSemantics, Renewed};
pub use request::*;

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::clock::Clock;
use crate::identity::UserStore;
use crate::identity::ldap::Directories;
use crate::identity::sessions::Sessions;
use crate::identity::throttle::Throttle;
use crate::store::TokenStore;

/// The token engine.
pub struct Engine {
    clock: Arc<dyn Clock>,
    users: Arc<dyn UserStore>,
    nonces: Box<dyn ReplayCache>,
    freshness: Freshness,
    sessions: Sessions,
    throttle: Throttle,
    tokens: Arc<dyn TokenStore>,
    /// Realms whose users come from a directory (`identity::ldap`).
    directories: Directories,
    /// Whether clients reach this server over TLS: a deployment fact, set once.
    tls: bool,
    /// The audit trail (`audit_log`); off by default.
    audit: crate::audit::Audit,
}

impl Engine {
    pub fn new(
        clock: Arc<dyn Clock>,
        users: Arc<dyn UserStore>,
        freshness: Freshness,
        sessions: Sessions,
        throttle: Throttle,
        tokens: Arc<dyn TokenStore>,
    ) -> Engine {
        Engine {
            clock,
            users,
            nonces: Box::new(NonceCache::new(1_000_000)),
            freshness,
            sessions,
            throttle,
            tokens,
            directories: Directories::default(),
            tls: false,
            audit: crate::audit::Audit::off(),
        }
    }

    /// Records security-relevant actions on `audit`.
    pub fn with_audit(mut self, audit: crate::audit::Audit) -> Engine {
        self.audit = audit;
        self
    }

    /// The audit trail.
    pub fn audit_trail(&self) -> &crate::audit::Audit {
        &self.audit
    }

    /// Records an audit event. With `audit_required`, an event that cannot be written
    /// refuses the request (`Unavailable`: 503, `wst:RequestFailed`) before its answer leaves.
    pub fn audit(&self, event: crate::audit::Event) -> Result<(), EngineError> {
        self.audit
            .record(event)
            .map_err(|e| EngineError::Unavailable(e.to_string()))
    }

    /// Records `event`, then makes `change`: the trail hears of a change before it happens.
    /// With `audit_required`, an event that cannot be written means the change is never made
    /// (`Unavailable`: 503, `wst:RequestFailed`). A change that then fails is followed by the
    /// same action with `outcome = failed` (best effort), so that the trail never claims it.
    pub fn audited<T, E: From<EngineError>>(
        &self,
        event: crate::audit::Event,
        change: impl FnOnce() -> Result<T, E>,
    ) -> Result<T, E> {
        self.audit(event.clone())?;
        let done = change();
        if done.is_err() {
            self.audit.note(event.with("outcome", "failed"));
        }
        done
    }

    /// [`Engine::audited`] for a change whose durable write is still pending when `change`
    /// returns (a persisting Renew): a commit that then fails retracts the event too, when it
    /// settles (the reply waits for it, so the retraction is queued before the fault leaves).
    pub fn audited_durable<E: From<EngineError>>(
        &self,
        event: crate::audit::Event,
        change: impl FnOnce() -> Result<Option<crate::store::Durable>, E>,
    ) -> Result<Option<crate::store::Durable>, E> {
        let retraction = event.clone();
        let durable = self.audited(event, change)?;
        Ok(durable.map(|d| self.retracted_on_failure(retraction, d)))
    }

    /// Records `event` about a change already made whose durable write may still be pending
    /// in `durable` (an issued token of a persisting instance): a commit that then fails
    /// retracts it, as [`Engine::audited_durable`] does.
    pub fn audit_pending(
        &self,
        event: crate::audit::Event,
        durable: &mut Option<crate::store::Durable>,
    ) -> Result<(), EngineError> {
        self.audit(event.clone())?;
        *durable = durable.take().map(|d| self.retracted_on_failure(event, d));
        Ok(())
    }

    /// `d`, followed by `event` with `outcome = failed` if the write fails when it settles.
    fn retracted_on_failure(
        &self,
        event: crate::audit::Event,
        d: crate::store::Durable,
    ) -> crate::store::Durable {
        let audit = self.audit.clone();
        // The commit settles on the task that awaits it, outside the request's scope.
        let scope = crate::audit::current();
        d.on_failure(move |_| audit.note_in(scope.as_ref(), event.with("outcome", "failed")))
    }

    /// The realms whose users come from a directory (their local administrators excepted).
    pub fn with_directories(mut self, directories: Directories) -> Engine {
        self.directories = directories;
        self
    }

    /// Whether `realm`'s users come from a directory.
    pub fn has_directory(&self, realm: &str) -> bool {
        self.directories
            .get(&crate::identity::normalize_realm(realm))
            .is_some()
    }

    /// The values in this node's memory replay cache; `None` when the store holds them.
    pub fn replay_entries(&self) -> Option<u64> {
        self.nonces.entries()
    }

    /// Replaces the per-node replay cache (with one a cluster shares, say).
    pub fn with_replay_cache(mut self, cache: Box<dyn ReplayCache>) -> Engine {
        self.nonces = cache;
        self
    }

    /// Whether clients reach this server over TLS (its base URL is `https`). Symmetric proof
    /// keys travel in the response, so they are issued only then; a password over TLS is
    /// `PasswordProtectedTransport` in assertions.
    pub fn over_tls(mut self, tls: bool) -> Engine {
        self.tls = tls;
        self
    }

    /// The store of issued tokens.
    pub fn tokens(&self) -> &dyn TokenStore {
        self.tokens.as_ref()
    }

    /// The session service (SSO tokens).
    pub fn sessions(&self) -> &Sessions {
        &self.sessions
    }

    /// The engine's time.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Removes expired tokens in batches of `batch`, until none is left; returns how many.
    /// Each batch is its own short transaction, so issuing is never blocked for long. Expired
    /// replay-cache records and stale lockout counters go too (not counted).
    pub fn reap_tokens(&self, batch: usize) -> Result<usize, EngineError> {
        let mut total = 0;
        loop {
            let n = self
                .tokens
                .delete_expired_tokens(self.clock.now().timestamp_millis(), batch)
                .map_err(EngineError::store)?;
            total += n;
            if n < batch {
                let now = self.clock.now();
                self.nonces.reap(now).map_err(EngineError::store)?;
                self.throttle.reap(now).map_err(EngineError::store)?;
                return Ok(total);
            }
            std::thread::yield_now();
        }
    }
}

#[cfg(test)]
mod tests;
