//! RFC 7662 introspection: which instance issued a token, and whether it is live.

use std::sync::Arc;

use super::super::{Engine, EngineError, LiveToken, ResolvedInstance, TokenTarget};
use crate::xml::ns;

impl Engine {
    /// RFC 7662 introspection: the instance among `instances` that issued `token` (an
    /// id_token or an assertion) and what the token says, if it is live (see [`Self::check`]).
    /// The issuer and id the token claims only pick which instances to try; each tried
    /// instance verifies it with its own key.
    ///
    /// Tokens do not name their instance, and instances may share an issuer and a key. A
    /// stored token belongs to the instance its record names. A token that is not stored can
    /// only be live if no persisting instance could have signed it: a cancelled token of a
    /// persisting instance looks exactly like that, so the answer then is inactive.
    pub fn introspect(
        &self,
        instances: &[Arc<ResolvedInstance>],
        token: &str,
    ) -> Result<Option<(String, LiveToken)>, EngineError> {
        const MAX_TOKEN: usize = 64 * 1024;
        let token = token.trim();
        if token.is_empty() || token.len() > MAX_TOKEN {
            return Ok(None);
        }
        // Unverified: which issuer and id the token claims.
        let (target, claimed) = if token.starts_with('<') {
            let claim = crate::xml::parse(token.as_bytes(), crate::xml::Limits::default())
                .ok()
                .filter(|el| el.is(ns::SAML2, "Assertion"))
                .and_then(|el| {
                    let issuer = el.child(&[ns::SAML2], "Issuer")?.text();
                    Some((issuer, el.attr(None, "ID")?.to_owned()))
                });
            let Some(claim) = claim else {
                return Ok(None);
            };
            (TokenTarget::Token(token.as_bytes().to_vec()), claim)
        } else {
            use crate::tokens::oidc::unverified_claim;
            let claim = unverified_claim(token, "iss").zip(unverified_claim(token, "jti"));
            let Some(claim) = claim else {
                return Ok(None);
            };
            (TokenTarget::Jwt(token.to_owned()), claim)
        };
        let (issuer, id) = claimed;
        let candidates: Vec<&Arc<ResolvedInstance>> = instances
            .iter()
            .filter(|i| match &target {
                TokenTarget::Jwt(_) => i.config.oidc().is_some_and(|o| o.issuer == issuer),
                _ => i.config.saml2().is_some_and(|c| c.issuer_name == issuer),
            })
            .collect();
        let live =
            |instance: &ResolvedInstance| -> Result<Option<(String, LiveToken)>, EngineError> {
                Ok(self
                    .check(instance, &target)?
                    .ok()
                    .map(|f| (instance.config.subpath(), f)))
            };
        if let Some(rec) = self.tokens.get_token(&id).map_err(EngineError::store)? {
            return match candidates.iter().find(|i| i.config.subpath() == rec.sts_id) {
                Some(instance) => live(instance),
                None => Ok(None),
            };
        }
        let now = self.clock.now();
        let signed_by = |instance: &ResolvedInstance| match &target {
            TokenTarget::Jwt(jwt) => self.signed_jwt(instance, jwt).is_ok(),
            TokenTarget::Token(xml) => self.verify_assertion(instance, xml, now).is_ok(),
            TokenTarget::Reference(_) | TokenTarget::Custom { .. } => false,
        };
        if candidates
            .iter()
            .any(|i| i.config.persist_issued_tokens() && signed_by(i))
        {
            return Ok(None);
        }
        for instance in candidates
            .iter()
            .filter(|i| !i.config.persist_issued_tokens())
        {
            if let Some(found) = live(instance)? {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }
}
