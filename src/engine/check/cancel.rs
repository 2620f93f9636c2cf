//! Cancelling stored tokens (WS-Trust Cancel, REST `_action=cancel`) and who may do it.
//!
//! A token of a persisting instance may be cancelled by its principal (the user it was
//! issued to, in the realm of its record) or by an administrator of the instance's realm
//! (an administrator of the top-level realm administers every realm). Everyone else is
//! refused with [`EngineError::Forbidden`], and the token stays valid. Administrators are
//! users of the identity store with the admin role who signed in with a password or a
//! session of theirs: another party's assertion (an id_token, a SAML assertion, a
//! certificate) never stands for one. `/sts-tokengen` is for administrators only, as AM
//! documents; it checks that itself.

use crate::xmldsig::{DsigError, SignedElement, SignedTree, Verified};

use super::super::{
    Authenticated, Engine, EngineError, Principal, PrincipalSource, ResolvedInstance, SamlSigning,
    TokenTarget,
};

/// Who asks for a cancel.
#[derive(Debug, Clone, Copy)]
pub enum Canceller<'a> {
    /// An administrator of the instance's realm, as the front end has established (the REST
    /// STS with `rest_sts_caller = admin` requires one before anything else): its realm and
    /// name, for the audit trail.
    Administrator { realm: &'a str, name: &'a str },
    /// An authenticated principal: the token's own, or an administrator of the realm.
    Principal(&'a Authenticated<Principal>),
}

/// Verifies an enveloped signature with the instance's certificate, or the previous one of
/// a rotated key pair (which still vouches for what it signed until the next rotation).
/// A SAML 1.1 assertion is signed over its `AssertionID`, anything else over its `ID`.
/// Returns the verified bytes (renewals edit them).
pub(crate) fn verify_signed(
    signing: &SamlSigning,
    xml: &[u8],
) -> Result<Verified<SignedElement>, DsigError> {
    // One parse of the document for every certificate tried.
    crate::xmldsig::verify_enveloped_with(xml, id_attr, &certificates(signing))
}

/// [`verify_signed`] for readers of the content only: the verified element as libxmlsec1's
/// tree holds it, not serialised and parsed again.
pub(crate) fn verify_signed_tree(
    signing: &SamlSigning,
    xml: &[u8],
) -> Result<Verified<SignedTree>, DsigError> {
    crate::xmldsig::verify_enveloped_tree_with(xml, id_attr, &certificates(signing))
}

/// The instance's certificate, then the previous one of a rotated key pair.
fn certificates(signing: &SamlSigning) -> Vec<&[u8]> {
    let mut certs = vec![signing.key.cert_pem()];
    certs.extend(signing.key.previous().map(|p| p.pem()));
    certs
}

/// The ID attribute of a signed document element: `AssertionID` for SAML 1.1, else `ID`.
fn id_attr(ns: Option<&str>, local: &str) -> &'static str {
    if ns == Some(crate::xml::ns::SAML1) && local == "Assertion" {
        crate::tokens::saml1::ID_ATTR
    } else {
        "ID"
    }
}

/// A cancel of a token that is not (or no longer) stored for the instance: unknown, expired,
/// cancelled or renewed, also by a concurrent request. One answer for all of them.
fn not_active() -> EngineError {
    EngineError::Invalid("no token with this id is stored for this instance".into())
}

/// Whether an administrator of `admin_realm` administers `realm`.
fn administers(admin_realm: &str, realm: &str) -> bool {
    admin_realm == "/" || admin_realm == realm
}

impl Engine {
    /// The checks of [`Engine::cancel`] without the change: the token's id and stored
    /// record, if `by` may cancel it (a batch checks every token before it cancels any).
    pub(in crate::engine) fn cancellable(
        &self,
        instance: &ResolvedInstance,
        target: &TokenTarget,
        by: Canceller<'_>,
    ) -> Result<(String, crate::store::TokenRecord), EngineError> {
        crate::metrics::note_tokens(Some(target.metric_name()), None);
        if !instance.config.persist_issued_tokens() {
            return Err(EngineError::NotPersisting(
                "this instance does not persist issued tokens (persist-issued-tokens-in-cts), so none can be cancelled".into(),
            ));
        }
        let not_ours = || EngineError::Invalid("the token is not signed by this STS".into());
        let id = match target {
            TokenTarget::Reference(id) => id.clone(),
            TokenTarget::Token(xml) => {
                let signing = instance.saml_signing.as_ref().ok_or_else(|| {
                    EngineError::Unsupported("this instance issues unsigned assertions".into())
                })?;
                verify_signed_tree(signing, xml)
                    .map_err(|_| not_ours())?
                    .get()
                    .id
                    .clone()
            }
            TokenTarget::Jwt(jwt) => {
                self.signed_jwt(instance, jwt)
                    .map_err(|m| EngineError::Invalid(m.to_string()))?
                    .id
            }
            TokenTarget::Custom { .. } => self.custom_cancel_id(instance, target)?,
        };
        let rec = match self.tokens.get_token(&id).map_err(EngineError::store)? {
            Some(rec) if rec.sts_id == instance.config.subpath() => rec,
            _ => return Err(not_active()),
        };
        if !self.may_cancel(instance, &rec, by)? {
            return Err(EngineError::Forbidden(
                "a token may be cancelled only by its principal or an administrator of the instance's realm"
                    .into(),
            ));
        }
        Ok((id, rec))
    }

    /// Cancels a stored token on behalf of `by` (see the module documentation for who may);
    /// returns its id.
    pub fn cancel(
        &self,
        instance: &ResolvedInstance,
        target: &TokenTarget,
        by: Canceller<'_>,
    ) -> Result<String, EngineError> {
        let (id, rec) = self.cancellable(instance, target, by)?;
        let event = crate::audit::Event::new("token.cancelled")
            .with("instance", instance.config.subpath())
            .with("realm", instance.config.realm())
            .with("token_id", &id)
            .with("token_type", &rec.token_type)
            .with("principal", &rec.principal);
        let event = match by {
            Canceller::Administrator { realm, name } => event.actor(realm, name),
            Canceller::Principal(p) => event.actor(p.realm(), p.name()),
        };
        // Recorded before the token goes (with `audit_required`, it stays if that fails). A
        // delete that finds nothing lost a race with another cancel (or a renewal, or the
        // reaper) since the read above: that cancel is the one that happened, so this one
        // fails as for an unknown token, and its event is retracted (`outcome` failed).
        self.audited(event, || {
            match self.tokens.delete_token(&id).map_err(EngineError::store)? {
                true => Ok(()),
                false => Err(not_active()),
            }
        })?;
        Ok(id)
    }

    pub(in crate::engine) fn may_cancel(
        &self,
        instance: &ResolvedInstance,
        rec: &crate::store::TokenRecord,
        by: Canceller<'_>,
    ) -> Result<bool, EngineError> {
        let p = match by {
            Canceller::Administrator { .. } => return Ok(true),
            Canceller::Principal(p) => p,
        };
        let realm = crate::identity::normalize_realm(p.realm());
        if realm == crate::identity::normalize_realm(&rec.realm) && p.name() == rec.principal {
            return Ok(true);
        }
        if p.source() != PrincipalSource::Password
            || !administers(
                &realm,
                &crate::identity::normalize_realm(instance.config.realm()),
            )
        {
            return Ok(false);
        }
        let user = self
            .users
            .find(&realm, p.name())
            .map_err(EngineError::identity)?;
        Ok(user.is_some_and(|u| u.admin && !u.disabled))
    }
}
