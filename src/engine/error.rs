//! Engine failures.

/// Engine failures, by what went wrong; front ends map them to their wire errors in one place.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("{0}")]
    InvalidRequest(String),
    #[error("{0}")]
    FailedAuthentication(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    ExpiredData(String),
    #[error("{0}")]
    InvalidTimeRange(String),
    #[error("{0}")]
    InvalidScope(String),
    #[error("{0}")]
    RequestFailed(String),
    /// Load shedding: retry later.
    #[error("{0}")]
    Busy(String),
    /// The instance does not persist tokens, which cancelling needs.
    #[error("{0}")]
    NotPersisting(String),
    /// A custom token plug-in failed (no answer in time, a panic, a malformed answer).
    #[error("{0}")]
    PluginFailed(String),
    /// The caller is authenticated but may not do this (cancel another user's token).
    #[error("{0}")]
    Forbidden(String),
}
