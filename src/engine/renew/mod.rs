//! Renewing (WS-Trust 1.3 section 7, the Renewal binding): an assertion this instance issued
//! is re-issued with a new ID and a new lifetime, and otherwise as it was: subject,
//! confirmation, audience, authentication statement and attributes are the original's (its
//! claims, not a fresh directory lookup: a renewal extends what was asserted, it does not
//! assert anew).
//!
//! What is renewed: a SAML 2.0 or SAML 1.1 assertion whose signature verifies with the
//! instance's current or previous signing certificate and whose issuer is the instance's,
//! that is valid, or expired less than `saml2-renew-window-seconds` ago. The renew semantics
//! a token was issued with (`wst:Renewing`, recorded signed in its `Advice` so that a
//! stateless instance enforces them too) apply: `Allow="false"` is never renewed, and a
//! token that stated them is renewed after its expiry only with `OK="true"` (the spec's
//! default is false); a token without them follows the window alone. A persisting instance
//! also requires the token to be the one it stored (not cancelled, not another instance's),
//! and retires it: the old record is deleted before the new one is written, so that two
//! renewals of one token cannot both succeed. A renewal whose new record the store refuses
//! at once stores the old record again (the client's token stays as it was). One whose
//! commit fails later, when it settles, leaves neither: the old token is not brought back
//! then, because a cancel of it may have been answered meanwhile ("no such token"), and a
//! revocation must never be undone; the client gets a fault and issues anew.
//!
//! What is checked anew (`limits`): the subject's account now (a disabled, locked or deleted
//! user's tokens are not renewed, see `authn::standing` for subjects other parties vouched
//! for); the chain's age (no token and its renewals live longer than
//! `saml2-renew-max-age-seconds` from the first `AuthnInstant`); and a request's `wst:Renewing`
//! may tighten the token's semantics, never loosen them.
//!
//! Who may renew: the token's bearer. WS-Trust lets the STS renew "without demonstration of
//! authorized use of the token"; this STS asks for an authenticated request (the instance's
//! input, checked by the front end) and for the token itself. A token named only by its ID
//! (a reference, persisting instances) is renewed for its own principal or an administrator
//! of the instance's realm, as a cancel is.

mod limits;
pub(super) use limits::{first_authentication, subject_origin};
pub(crate) mod rewrite;

use chrono::Duration;

use super::check::cancel::verify_signed;
use super::check::rules::TimeWindow;
use super::{
    Authenticated, Canceller, Engine, EngineError, Issued, Principal, ResolvedInstance, TokenTarget,
};
use crate::instance::TokenType;
use crate::store::TokenRecord;
pub use rewrite::RenewSemantics;
use rewrite::{Fresh, Original};

/// A renewal request.
#[derive(Debug, Clone)]
pub struct RenewRequest<'a> {
    /// `wst:RenewTarget`.
    pub target: &'a TokenTarget,
    /// `wst:TokenType`, if the request named one: the token must be of it.
    pub token_type: Option<TokenType>,
    /// `wst:Renewing` of the request: the renew semantics of the renewed token (absent: the
    /// original's carry over).
    pub renewing: Option<RenewSemantics>,
}

/// A renewed token.
#[derive(Debug)]
pub struct Renewed {
    pub token_type: TokenType,
    pub issued: Issued,
    /// The ID of the token it replaces.
    pub replaced: String,
}

/// A renewal checked and signed, not yet made: [`Engine::commit_renewal`] retires the old
/// token and stores the new one. A batch prepares every renewal before it makes any.
#[derive(Debug)]
pub(in crate::engine) struct PreparedRenewal {
    pub(in crate::engine) token_type: TokenType,
    pub(in crate::engine) id: String,
    pub(in crate::engine) old_id: String,
    /// The old token's record (a persisting instance), retired on commit.
    pub(in crate::engine) record: Option<TokenRecord>,
    /// The signed assertion, as stored.
    pub(in crate::engine) assertion: String,
    /// The assertion as sent (encrypted for its relying party when the instance encrypts).
    pub(in crate::engine) wire: String,
    pub(in crate::engine) now: chrono::DateTime<chrono::Utc>,
    pub(in crate::engine) not_after: chrono::DateTime<chrono::Utc>,
    pub(in crate::engine) audience: Option<String>,
}

/// The `token.renewed` event of the renewal of `old_id` into `id`.
pub(in crate::engine) fn renewed_event(
    instance: &ResolvedInstance,
    by: &Authenticated<Principal>,
    token_type: TokenType,
    id: &str,
    old_id: &str,
) -> crate::audit::Event {
    crate::audit::Event::new("token.renewed")
        .with("instance", instance.config.subpath())
        .with("realm", instance.config.realm())
        .with("token_type", token_type.name())
        .with("token_id", id)
        .with("replaced_token_id", old_id)
        .actor(by.realm(), by.name())
}

impl Engine {
    /// Renews an assertion of `instance` for `by` (see the module documentation).
    pub fn renew(
        &self,
        instance: &ResolvedInstance,
        by: &Authenticated<Principal>,
        req: &RenewRequest<'_>,
    ) -> Result<Renewed, EngineError> {
        let prepared = self.prepare_renewal(instance, by, req)?;
        self.commit_renewal(instance, by, prepared)
    }

    /// Every check of a renewal, and the new assertion signed; nothing changed yet.
    pub(in crate::engine) fn prepare_renewal(
        &self,
        instance: &ResolvedInstance,
        by: &Authenticated<Principal>,
        req: &RenewRequest<'_>,
    ) -> Result<PreparedRenewal, EngineError> {
        let cfg = instance.config.saml2().ok_or_else(|| {
            EngineError::Unsupported(
                "this instance issues no assertions, so it renews none (Renew applies to SAML 2.0 and SAML 1.1)".into(),
            )
        })?;
        let signing = instance.saml_signing.as_ref().ok_or_else(|| {
            EngineError::Unsupported(
                "this instance issues unsigned assertions, which cannot be renewed (nothing shows they are its own)".into(),
            )
        })?;
        let persisting = instance.config.persist_issued_tokens();
        // The token: as presented, or as stored under its ID.
        let (xml, stored) = match req.target {
            TokenTarget::Token(xml) => (xml.clone(), None),
            TokenTarget::Reference(id) => {
                if !persisting {
                    return Err(EngineError::NotPersisting(
                        "this instance does not persist tokens, so it cannot renew one named by its ID: send the assertion".into(),
                    ));
                }
                let rec = self
                    .tokens
                    .get_token(id)
                    .map_err(EngineError::store)?
                    .filter(|r| r.sts_id == instance.config.subpath())
                    .ok_or_else(|| {
                        EngineError::InvalidToken(
                            "no token with this ID is stored for this instance (unknown, cancelled or renewed)".into(),
                        )
                    })?;
                if !self.may_cancel(instance, &rec, Canceller::Principal(by))? {
                    return Err(EngineError::Forbidden(
                        "a token named by its ID is renewed only for its principal or an administrator of the instance's realm; send the token itself to renew it as its bearer".into(),
                    ));
                }
                (rec.token.clone().into_bytes(), Some(rec))
            }
            TokenTarget::Jwt(_) | TokenTarget::Custom { .. } => {
                return Err(EngineError::Unsupported(
                    "Renew re-issues SAML 2.0 and SAML 1.1 assertions; issue a new token of this type instead".into(),
                ));
            }
        };
        let verified = verify_signed(signing, &xml).map_err(|e| {
            if crate::xml::parse(&xml, crate::xml::Limits::default())
                .is_ok_and(|el| el.is(crate::xml::ns::SAML2, "EncryptedAssertion"))
            {
                return EngineError::Unsupported(
                    "the assertion is encrypted for its relying party; a persisting instance renews it by its ID".into(),
                );
            }
            tracing::info!(instance = %instance.config.subpath(), error = %e, "renew: signature refused");
            EngineError::InvalidToken("the token is not signed by this STS, or was altered".into())
        })?;
        // The verified bytes, and the element the verifier parsed from them (not parsed
        // again here).
        let crate::xmldsig::SignedElement {
            id: old_id,
            xml: signed,
            root,
            signature_value,
        } = verified.into_inner();
        let signed = &signed;
        let original = root.ok().and_then(Original::new).ok_or_else(|| {
            EngineError::InvalidToken("the token is not a SAML 2.0 or SAML 1.1 assertion".into())
        })?;
        let issuer = if original.saml1 {
            original.root.attr(None, "Issuer").map(str::to_owned)
        } else {
            original
                .root
                .child(&[crate::xml::ns::SAML2], "Issuer")
                .map(crate::xml::Element::text)
        };
        if issuer.as_deref() != Some(cfg.issuer_name.as_str()) {
            return Err(EngineError::InvalidToken(
                "the token was issued by another issuer".into(),
            ));
        }
        // The request's wst:Renewing first: asking to loosen the token's semantics is refused
        // as such, also for a token that is not renewable at all (Allow="false"), whose
        // refusal would otherwise hide it.
        let renewing = limits::renewed_semantics(original.renewing(), req.renewing)?;
        self.renewable(instance, &original, cfg.renew_window_seconds)?;
        let deadline =
            limits::renewal_deadline(&original, cfg.renew_max_age_seconds, self.clock.now())?;
        let token_type = if original.saml1 {
            TokenType::Saml1
        } else {
            TokenType::Saml2
        };
        if req.token_type.is_some_and(|t| t != token_type) {
            return Err(EngineError::Invalid(format!(
                "wst:TokenType does not match the token, a {} assertion",
                token_type.name()
            )));
        }
        // A persisting instance renews the token it stored, and nothing else.
        let record = match (persisting, stored) {
            (false, _) => None,
            (true, Some(rec)) => Some(rec),
            (true, None) => {
                let rec = self
                    .tokens
                    .get_token(&old_id)
                    .map_err(EngineError::store)?
                    .ok_or_else(|| {
                        EngineError::InvalidToken(
                            "the token has been cancelled or already renewed".into(),
                        )
                    })?;
                // The stored bytes are the same token; else the same signature value.
                let same = crate::secret::ct_eq(rec.token.as_bytes(), &xml)
                    || super::check::signature_value(rec.token.as_bytes()).is_some_and(|b| {
                        crate::secret::ct_eq(signature_value.as_bytes(), b.as_bytes())
                    });
                if rec.sts_id != instance.config.subpath() || !same {
                    return Err(EngineError::InvalidToken(
                        "the token was not issued by this instance".into(),
                    ));
                }
                Some(rec)
            }
        };
        self.check_subject_now(instance, &original, record.as_ref())?;
        let now = super::issue::truncate_to_seconds(self.clock.now());
        let lifetime = Duration::seconds(
            i64::try_from(cfg.token_lifetime_seconds).unwrap_or(i64::MAX / 2_000),
        );
        // No renewal outlives the chain's maximum age.
        let not_after = (now + lifetime).min(deadline);
        let id = crate::tokens::saml2::new_assertion_id();
        let fresh = Fresh {
            id: &id,
            now,
            not_after,
            renewing,
            signature: Some(crate::xmldsig::signature_template(
                &id,
                signing.signature,
                signing.digest,
            )),
        };
        let text = rewrite::reissue(signed, &original, &fresh)
            .map_err(|e| EngineError::Internal(format!("renewing {old_id}: {e}")))?;
        let id_attr = if original.saml1 {
            crate::tokens::saml1::ID_ATTR
        } else {
            "ID"
        };
        // Signed as written, by the canonical signer (perf, issue 19).
        let assertion = crate::tokens::canonical::sign_rewritten(
            &text,
            id_attr,
            signing.signature,
            signing.digest,
            &signing.key,
        )
        .ok()
        .ok_or_else(|| EngineError::Internal(format!("signing the renewal of {old_id} failed")))?;
        let wire = match instance.saml_encryption.as_ref().filter(|e| e.assertion) {
            Some(enc) if !original.saml1 => {
                let encrypted = enc
                    .encrypter
                    .encrypt(&assertion)
                    .map_err(|e| EngineError::Internal(e.to_string()))?;
                let mut w = crate::xml::write::Writer::with_capacity(encrypted.len() + 128);
                w.start("saml2:EncryptedAssertion")
                    .ns("saml2", crate::xml::ns::SAML2)
                    .raw(&encrypted);
                w.finish()
            }
            _ => assertion.clone(),
        };
        let audience = original.conditions().and_then(|c| {
            c.elements()
                .flat_map(|r| r.elements())
                .find(|a| a.local == "Audience")
                .map(crate::xml::Element::text)
        });
        Ok(PreparedRenewal {
            token_type,
            id,
            old_id,
            record,
            assertion,
            wire,
            now,
            not_after,
            audience,
        })
    }

    /// Makes a prepared renewal: the old token retired and the new one stored (a persisting
    /// instance), its `token.renewed` event recorded first.
    pub(in crate::engine) fn commit_renewal(
        &self,
        instance: &ResolvedInstance,
        by: &Authenticated<Principal>,
        p: PreparedRenewal,
    ) -> Result<Renewed, EngineError> {
        let PreparedRenewal {
            token_type,
            id,
            old_id,
            record,
            assertion,
            wire,
            now,
            not_after,
            audience,
        } = p;
        // Recorded before the old token is retired (ops, issue 20: with `audit_required`, a
        // renewal whose event cannot be written changes nothing; a new token whose commit
        // fails later retracts the event).
        let event = renewed_event(instance, by, token_type, &id, &old_id);
        let durable = self.audited_durable(event, || match record {
            None => Ok(None),
            Some(old) => {
                // Retired first: of two concurrent renewals only one finds it.
                if !self
                    .tokens
                    .delete_token(&old_id)
                    .map_err(EngineError::store)?
                {
                    return Err(EngineError::InvalidToken(
                        "the token has been cancelled or already renewed".into(),
                    ));
                }
                let rec = TokenRecord {
                    token_id: id.clone(),
                    sts_id: old.sts_id.clone(),
                    realm: old.realm.clone(),
                    principal: old.principal.clone(),
                    token_type: old.token_type.clone(),
                    issued_ms: now.timestamp_millis(),
                    expires_ms: not_after.timestamp_millis(),
                    token: assertion,
                };
                match self.tokens.insert_tokens_deferred(&[rec]) {
                    Ok(durable) => Ok(Some(durable)),
                    Err(e) => {
                        // The renewal did not happen: the old token is put back, not left
                        // retired behind a fault.
                        if let Err(back) = self.tokens.insert_tokens(std::slice::from_ref(&old)) {
                            tracing::error!(instance = %instance.config.subpath(), old = %old_id, error = %back, "a renewal that failed could not restore the token it retired");
                        }
                        Err(EngineError::store(e))
                    }
                }
            }
        })?;
        tracing::info!(instance = %instance.config.subpath(), by = %by.name(), old = %old_id, new = %id, "renewed token");
        Ok(Renewed {
            token_type,
            issued: Issued {
                id,
                token: wire,
                created: now,
                expires: not_after,
                audience,
                durable,
                proof: None,
            },
            replaced: old_id,
        })
    }

    /// The time and renew-semantics rules: valid, or expired within the window and not
    /// issued with `OK="false"`; never when issued with `Allow="false"`.
    fn renewable(
        &self,
        instance: &ResolvedInstance,
        original: &Original,
        window_secs: u64,
    ) -> Result<(), EngineError> {
        let semantics = original.renewing();
        if semantics.is_some_and(|s| !s.allow) {
            return Err(EngineError::CannotRenew(
                "the token was issued with wst:Renewing Allow=\"false\": it is not renewable"
                    .into(),
            ));
        }
        let time = |name: &str| {
            original
                .conditions()
                .and_then(|c| c.attr(None, name))
                .map(|v| crate::xml::datetime::parse_datetime(v).ok_or(()))
        };
        let now = self.clock.now();
        let own = TimeWindow::own(self.freshness.max_skew);
        if let Some(nb) = time("NotBefore") {
            let nb = nb.map_err(|()| EngineError::InvalidToken("unreadable NotBefore".into()))?;
            if own.check(Some(nb), None, now).is_err() {
                return Err(EngineError::NotYetValid(
                    "the token is not valid yet".into(),
                ));
            }
        }
        let end = match time("NotOnOrAfter") {
            Some(Ok(t)) => t,
            _ => {
                return Err(EngineError::InvalidToken(
                    "the token has no readable NotOnOrAfter".into(),
                ));
            }
        };
        if own.check(None, Some(end), now).is_ok() {
            return Ok(());
        }
        if semantics.is_some_and(|s| !s.ok) {
            return Err(EngineError::Expired(
                "the token has expired, and it was issued with wst:Renewing without OK=\"true\": it is renewed only while valid".into(),
            ));
        }
        let window = Duration::seconds(i64::try_from(window_secs).unwrap_or(i64::MAX / 2_000));
        if TimeWindow::own(Duration::zero())
            .check(None, Some(end + window), now)
            .is_err()
        {
            tracing::info!(instance = %instance.config.subpath(), expired = %end, "renew: expired outside the window");
            return Err(EngineError::Expired(format!(
                "the token expired at {}, more than the renewal window of this instance ({window_secs} s) ago",
                crate::xml::datetime::saml_datetime(end)
            )));
        }
        Ok(())
    }
}
