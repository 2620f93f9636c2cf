//! Where a request's time goes: a guard per timed stage, observed when it is dropped.
//! Durations are measured on the monotonic clock (`Instant`), never the wall clock.

use std::time::Instant;

use super::{METRICS, enabled};

/// A timed stage of the work behind a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Creating an XML or JWS signature.
    Sign,
    /// Verifying a signature (an input token, a signed message).
    Verify,
    /// Hashing or checking a password (argon2).
    PasswordHash,
    /// Waiting for the store to commit a durable write.
    StoreCommit,
    /// A plug-in call (custom token types, HTTP plug-ins).
    Plugin,
    /// A directory (LDAP) call.
    Directory,
}

impl Stage {
    /// Every stage, in the order of the registry's series.
    pub const ALL: [Stage; 6] = [
        Stage::Sign,
        Stage::Verify,
        Stage::PasswordHash,
        Stage::StoreCommit,
        Stage::Plugin,
        Stage::Directory,
    ];

    /// Its label value.
    pub fn label(self) -> &'static str {
        match self {
            Stage::Sign => "sign",
            Stage::Verify => "verify",
            Stage::PasswordHash => "password_hash",
            Stage::StoreCommit => "store_commit",
            Stage::Plugin => "plugin",
            Stage::Directory => "directory",
        }
    }

    fn index(self) -> usize {
        match self {
            Stage::Sign => 0,
            Stage::Verify => 1,
            Stage::PasswordHash => 2,
            Stage::StoreCommit => 3,
            Stage::Plugin => 4,
            Stage::Directory => 5,
        }
    }
}

/// Times a stage until dropped (hold it in a named binding: `let _t = metrics::time(..)`).
#[derive(Debug)]
#[must_use = "the stage is timed until this guard is dropped"]
pub struct StageTimer {
    stage: Stage,
    start: Option<Instant>,
}

/// Starts timing `stage` (a no-op guard when metrics are off).
pub fn time(stage: Stage) -> StageTimer {
    StageTimer {
        stage,
        start: enabled().then(Instant::now),
    }
}

impl Drop for StageTimer {
    fn drop(&mut self) {
        if let Some(start) = self.start
            && let Some(h) = METRICS.stages.get(self.stage.index())
        {
            h.observe(start.elapsed().as_secs_f64());
        }
    }
}
