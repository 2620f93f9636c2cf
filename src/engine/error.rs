//! Engine failures, by cause. Each variant says what went wrong, not how a protocol spells
//! it: the front ends map them to their wire errors, one map per protocol. The text of each
//! is the reason the client is given (except [`EngineError::Internal`], which is logged), so
//! replay, lockout and a bad signature are told apart in logs while the wire stays the same.

/// Engine failures.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// The request is malformed or incomplete.
    #[error("{0}")]
    Invalid(String),
    /// The request is well-formed but asks for something this instance does not do.
    #[error("{0}")]
    Unsupported(String),
    /// The credential was refused.
    #[error("{0}")]
    AuthFailed(AuthFailure),
    /// A token of an issuer the instance does not trust.
    #[error("{0}")]
    UnknownIssuer(String),
    /// A signature that does not verify with the key it has to verify with.
    #[error("{0}")]
    BadSignature(String),
    /// A nonce, assertion or signed message seen before.
    #[error("{0}")]
    Replay(String),
    /// The account or the client's address is locked after repeated failures; answered
    /// exactly like a wrong password.
    #[error("authentication failed")]
    Locked,
    /// A message part whose time is over (a timestamp, a UsernameToken's `Created`).
    #[error("{0}")]
    Expired(String),
    /// A message part created in the future.
    #[error("{0}")]
    NotYetValid(String),
    /// The requested lifetime cannot be honoured.
    #[error("{0}")]
    Lifetime(String),
    /// The token is asked for an audience this instance does not issue to.
    #[error("{0}")]
    Audience(String),
    /// The token a request names is not a live token of this STS (cancelled, another
    /// issuer's, altered): renew refuses it.
    #[error("{0}")]
    InvalidToken(String),
    /// The token is this STS's but may not be renewed (issued with `Allow="false"`).
    #[error("{0}")]
    CannotRenew(String),
    /// The caller is authenticated but may not do this (cancel another user's token).
    #[error("{0}")]
    Forbidden(String),
    /// The instance does not persist tokens, which this needs.
    #[error("{0}")]
    NotPersisting(String),
    /// Load shedding: retry later.
    #[error("{0}")]
    Busy(String),
    /// A custom token plug-in failed (no answer in time, a panic, a malformed answer).
    #[error("{0}")]
    Plugin(String),
    /// The store cannot be reached right now (a database restart, say): retry later. The
    /// detail is logged, never sent.
    #[error("the service is unavailable; retry later")]
    Unavailable(String),
    /// The STS failed (store, signing); the detail is logged, never sent.
    #[error("{0}")]
    Internal(String),
}

/// Why a credential was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthFailure {
    /// Wrong password, unknown or disabled user, no live session: deliberately one answer.
    #[error("authentication failed")]
    Credentials,
    /// No credential the instance reads was presented.
    #[error("{0}")]
    Missing(String),
    /// Another party's token outside its validity window (`exp`, `nbf`, `NotOnOrAfter`).
    #[error("{0}")]
    OutOfTime(String),
    /// The credential was read and refused, for the reason given.
    #[error("{0}")]
    Refused(String),
}

impl EngineError {
    /// A refused credential, with the reason given to the client.
    pub fn refused(reason: impl Into<String>) -> EngineError {
        EngineError::AuthFailed(AuthFailure::Refused(reason.into()))
    }

    /// Whether the caller failed to authenticate, whatever the cause: every front end
    /// answers these alike.
    pub fn is_auth_failure(&self) -> bool {
        matches!(
            self,
            EngineError::AuthFailed(_)
                | EngineError::UnknownIssuer(_)
                | EngineError::BadSignature(_)
                | EngineError::Replay(_)
                | EngineError::Locked
        )
    }

    /// A store failure: unavailable (retry later) or internal.
    pub(crate) fn store(e: crate::store::StoreError) -> EngineError {
        match e {
            crate::store::StoreError::Unavailable(m) => EngineError::Unavailable(m),
            e => EngineError::Internal(format!("store: {e}")),
        }
    }

    /// An identity store failure: unavailable when its store is, else internal.
    pub(crate) fn identity(e: crate::identity::IdentityError) -> EngineError {
        match e {
            crate::identity::IdentityError::Store(s) => EngineError::store(s),
            e => EngineError::Internal(format!("identity store: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lockout_reads_like_a_wrong_password_but_is_its_own_kind() {
        let wrong = EngineError::AuthFailed(AuthFailure::Credentials);
        let locked = EngineError::Locked;
        assert_eq!(wrong.to_string(), locked.to_string());
        assert!(wrong.is_auth_failure() && locked.is_auth_failure());
        assert!(matches!(locked, EngineError::Locked));
        for e in [
            EngineError::Replay("r".into()),
            EngineError::BadSignature("b".into()),
            EngineError::UnknownIssuer("u".into()),
        ] {
            assert!(e.is_auth_failure(), "{e:?}");
        }
        for e in [
            EngineError::Expired("e".into()),
            EngineError::Forbidden("f".into()),
            EngineError::Internal("i".into()),
        ] {
            assert!(!e.is_auth_failure(), "{e:?}");
        }
    }
}
