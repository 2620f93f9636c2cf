//! The interim session of a request whose input was not a session (OpenAM's
//! `invalidateInterimOpenAMSession`): created for the principal, ended again unless the
//! request succeeds and the instance keeps it. One guard, so every issuing path cleans up
//! alike: dropped without [`InterimSession::commit`], the session is logged out.

use crate::identity::sessions::{SessionInfo, Sessions};
use crate::secret::Secret;

use super::super::{EngineError, Principal};

/// A session created for this request; logged out on drop unless committed.
#[must_use = "dropping the guard logs the session out"]
pub(crate) struct InterimSession<'a> {
    sessions: &'a Sessions,
    token: Option<Secret<String>>,
    info: SessionInfo,
}

impl<'a> InterimSession<'a> {
    /// Creates a session for `principal`.
    pub(crate) fn create(
        sessions: &'a Sessions,
        principal: &Principal,
    ) -> Result<InterimSession<'a>, EngineError> {
        let (token, info) = sessions
            .create(principal.realm(), principal.name(), true)
            .map_err(EngineError::store)?;
        Ok(InterimSession {
            sessions,
            token: Some(token),
            info,
        })
    }

    /// The session token (for a custom provider that uses the principal's session).
    pub(crate) fn token(&self) -> Option<&Secret<String>> {
        self.token.as_ref()
    }

    /// The session's public id (`AuthnStatement/@SessionIndex`).
    pub(crate) fn uid(&self) -> &str {
        &self.info.uid
    }

    /// Keeps the session: the request succeeded.
    pub(crate) fn commit(mut self) {
        self.token = None;
    }
}

impl Drop for InterimSession<'_> {
    fn drop(&mut self) {
        // Nothing was issued: the session would only be an orphan.
        if let Some(token) = self.token.take()
            && let Err(e) = self.sessions.logout(token.expose())
        {
            tracing::error!(error = %e, "ending an interim session failed");
        }
    }
}
