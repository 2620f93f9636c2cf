//! Issuing: the one home of token policy. Which output types an instance issues, which key
//! types go with which output type, lifetimes, audiences, and the interim session; the
//! token builders below only build what this module allowed.

mod interim;
mod oidc;
mod persist;
mod saml2;

pub(crate) use interim::InterimSession;

use chrono::{DateTime, Utc};

use super::{
    Authenticated, Credential, Engine, EngineError, Instance, IssueRequest, Issued, KeyType,
    Principal,
};
use crate::instance::TokenType;

impl Engine {
    /// Issues a token for `principal` as `instance` is configured.
    pub fn issue(
        &self,
        instance: &Instance,
        principal: &Authenticated<Principal>,
        req: &IssueRequest,
    ) -> Result<Issued, EngineError> {
        if !instance.config.issues(req.token_type) {
            return Err(EngineError::Unsupported(format!(
                "this instance does not issue {} tokens",
                req.token_type.name()
            )));
        }
        // One rule for every front end: an id_token confirms nobody but its bearer.
        if req.token_type == TokenType::OpenIdConnect && req.key_type != KeyType::Bearer {
            return Err(EngineError::Unsupported(
                "id_tokens are bearer tokens: KeyType PublicKey, SymmetricKey and sender-vouches apply to SAML 2.0 only".into(),
            ));
        }
        match req.token_type {
            TokenType::Saml2 => self.issue_saml2(instance, principal, req),
            TokenType::OpenIdConnect => self.issue_oidc(instance, principal, req),
            other => Err(EngineError::Unsupported(format!(
                "issuing {} tokens is not supported",
                other.name()
            ))),
        }
    }

    /// Authenticates a credential and issues a token, the way every front end does it: an
    /// input other than a session gets an interim session, ended after issuing when
    /// `invalidate_interim` says so (OpenAM's `invalidateInterimOpenAMSession`).
    /// `request` builds the issue request once the caller is authenticated, so that what is
    /// unsupported is only revealed to authenticated callers.
    pub fn authenticate_and_issue(
        &self,
        instance: &Instance,
        cred: &Credential,
        invalidate_interim: bool,
        request: impl FnOnce() -> Result<IssueRequest, EngineError>,
    ) -> Result<(Authenticated<Principal>, Issued), EngineError> {
        let principal = self.authenticate_for(instance, cred)?;
        let req = request()?;
        let session_input = matches!(cred, Credential::Session { .. });
        let issued =
            self.issue_for(instance, &principal, session_input, invalidate_interim, req)?;
        Ok((principal, issued))
    }

    /// Issues a built-in token for an authenticated principal; an input other than a
    /// session gets an interim session, kept when `invalidate_interim` is false.
    pub(super) fn issue_for(
        &self,
        instance: &Instance,
        principal: &Authenticated<Principal>,
        session_input: bool,
        invalidate_interim: bool,
        mut req: IssueRequest,
    ) -> Result<Issued, EngineError> {
        // An interim session that would be ended before the reply leaves this function is
        // never visible to anyone, so it is not written to the store at all; a kept one is
        // persisted and named in the assertion's SessionIndex.
        let interim = if !invalidate_interim && !session_input {
            let s = InterimSession::create(&self.sessions, principal)?;
            req.session_index = Some(s.uid().to_owned());
            Some(s)
        } else {
            None
        };
        let issued = self.issue(instance, principal, &req)?;
        if let Some(s) = interim {
            s.commit();
        }
        Ok(issued)
    }
}

/// The instant in whole seconds, as tokens write their times.
pub(super) fn truncate_to_seconds(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(t.timestamp(), 0).unwrap_or(t)
}
