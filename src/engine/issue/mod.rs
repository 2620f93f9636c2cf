//! Issuing: the one home of token policy. Which output types an instance issues, which key
//! types go with which output type, lifetimes, audiences, and the interim session; the
//! token builders below only build what this module allowed.

mod claims;
mod interim;
mod oidc;
mod persist;
mod saml1;
mod saml2;

pub(crate) use interim::InterimSession;

use chrono::{DateTime, Duration, Utc};

use super::{
    Authenticated, Credential, Engine, EngineError, IssueRequest, Issued, KeyType, Principal,
    ResolvedInstance,
};
use crate::instance::TokenType;

/// What the policy decided for one assertion; the builder only builds it.
pub(super) struct SamlPlan {
    /// Whole seconds, as the assertion writes its times: the RSTR's wst:Lifetime states the
    /// same instants (IssueInstant = NotBefore = Created, NotOnOrAfter = Expires).
    pub now: DateTime<Utc>,
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
    pub audience: Option<String>,
    pub key_type: KeyType,
    /// Whether the request came over TLS (for the authentication context).
    pub tls: bool,
}

impl Engine {
    /// Issues a token for `principal` as `instance` is configured. Every rule of what may be
    /// issued is here, in this order: delegation, the output type, the key types that go
    /// with it, then (for SAML 2.0) lifetime, audience and transport.
    pub fn issue(
        &self,
        instance: &ResolvedInstance,
        principal: &Authenticated<Principal>,
        req: &IssueRequest,
    ) -> Result<Issued, EngineError> {
        let key_type = confirmation(req)?;
        if !instance.config.issues(req.token_type) {
            return Err(EngineError::Unsupported(format!(
                "this instance does not issue {} tokens",
                req.token_type.name()
            )));
        }
        match (req.token_type, &key_type) {
            (TokenType::Saml2, _) => {
                let plan = self.saml_plan(instance, req, key_type)?;
                self.issue_saml2(instance, principal, req, plan)
            }
            // Sender-vouches comes from OnBehalfOf, which `confirmation` keeps to SAML 2.0.
            (TokenType::Saml1, _) => {
                let plan = self.saml_plan(instance, req, key_type)?;
                self.issue_saml1(instance, principal, req, plan)
            }
            (TokenType::OpenIdConnect, KeyType::Bearer) => {
                self.issue_oidc(instance, principal, req)
            }
            // An id_token confirms nobody but its bearer.
            (TokenType::OpenIdConnect, _) => Err(EngineError::Unsupported(
                "id_tokens are bearer tokens: KeyType PublicKey, SymmetricKey and sender-vouches apply to SAML 2.0 only".into(),
            )),
            (other, _) => Err(EngineError::Unsupported(format!(
                "issuing {} tokens is not supported",
                other.name()
            ))),
        }
    }

    /// Lifetime, audience and transport of an assertion.
    fn saml_plan(
        &self,
        instance: &ResolvedInstance,
        req: &IssueRequest,
        key_type: KeyType,
    ) -> Result<SamlPlan, EngineError> {
        let cfg = instance
            .config
            .saml2()
            .ok_or_else(|| EngineError::Internal("instance has no saml2-config".into()))?;
        let now = truncate_to_seconds(self.clock.now());
        let max = Duration::seconds(
            i64::try_from(cfg.token_lifetime_seconds).unwrap_or(i64::MAX / 2_000),
        );
        let not_before = match req.lifetime_created {
            Some(c) if c > now + self.freshness.max_skew => {
                return Err(EngineError::Lifetime(
                    "postdated tokens (wst:Lifetime/Created in the future) are not issued".into(),
                ));
            }
            _ => now,
        };
        let not_after = match req.lifetime_expires.map(truncate_to_seconds) {
            Some(e) if e <= now => {
                return Err(EngineError::Lifetime(
                    "wst:Lifetime/Expires is not in the future".into(),
                ));
            }
            Some(e) => e.min(now + max),
            None => now + max,
        };
        // AppliesTo: the SP, or one of the allowed audiences; with no list, any (as OpenAM).
        if let Some(target) = &req.applies_to
            && !cfg.allowed_audiences.is_empty()
            && !cfg.allowed_audiences.contains(target)
            && cfg.sp_entity_id.as_ref() != Some(target)
        {
            return Err(EngineError::Audience(format!(
                "this instance does not issue tokens for `{target}`"
            )));
        }
        // A symmetric proof key reaches the requestor in the response, so only over TLS.
        if matches!(key_type, KeyType::Symmetric(_)) && !self.tls {
            return Err(EngineError::Unsupported(
                "a symmetric proof key is only issued over TLS (https): the response carries it or its entropy".into(),
            ));
        }
        Ok(SamlPlan {
            now,
            not_before,
            not_after,
            audience: req.applies_to.clone().or_else(|| cfg.sp_entity_id.clone()),
            key_type,
            tls: self.tls,
        })
    }

    /// Authenticates a credential and issues a token, the way every front end does it: an
    /// input other than a session gets an interim session, ended after issuing when
    /// `invalidate_interim` says so (OpenAM's `invalidateInterimOpenAMSession`).
    /// `request` builds the issue request once the caller is authenticated, so that what is
    /// unsupported is only revealed to authenticated callers.
    pub fn authenticate_and_issue(
        &self,
        instance: &ResolvedInstance,
        cred: &Credential,
        invalidate_interim: bool,
        request: impl FnOnce() -> Result<IssueRequest, EngineError>,
    ) -> Result<(Authenticated<Principal>, Issued), EngineError> {
        crate::metrics::note_tokens(Some(cred.metric_name()), None);
        let principal = self.authenticate_for(instance, cred)?;
        let req = request()?;
        crate::metrics::note_tokens(None, Some(req.token_type.name()));
        let session_input = matches!(cred, Credential::Session { .. });
        let issued =
            self.issue_for(instance, &principal, session_input, invalidate_interim, req)?;
        Ok((principal, issued))
    }

    /// Issues a built-in token for an authenticated principal; an input other than a
    /// session gets an interim session, kept when `invalidate_interim` is false.
    pub fn issue_for(
        &self,
        instance: &ResolvedInstance,
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

/// The key type of the token: an OnBehalfOf request gets a sender-vouches SAML 2.0
/// assertion (the requester vouches for the subject), and nothing else. An ActAs request
/// keeps its key type (the requester, its actor, presents the token), but not both at once:
/// one token cannot both vouch for and act as its subject.
fn confirmation(req: &IssueRequest) -> Result<KeyType, EngineError> {
    if req.vouched_by.is_some() && req.actor.is_some() {
        return Err(EngineError::Unsupported(
            "wst:OnBehalfOf and wst:ActAs in one request are not supported: send one".into(),
        ));
    }
    match (&req.vouched_by, &req.key_type) {
        (None, k) => Ok(k.clone()),
        (Some(_), KeyType::Bearer) if req.token_type == TokenType::Saml2 => {
            Ok(KeyType::SenderVouches)
        }
        (Some(_), _) => Err(EngineError::Unsupported(
            "an OnBehalfOf request gets a sender-vouches SAML 2.0 assertion: KeyType Bearer (or none) and a SAML 2.0 TokenType".into(),
        )),
    }
}

/// The instant in whole seconds, as tokens write their times.
pub(super) fn truncate_to_seconds(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(t.timestamp(), 0).unwrap_or(t)
}
