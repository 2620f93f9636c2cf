//! SAML 1.1 assertions: the SAML 2.0 instance settings (`saml2-config`: issuer, lifetime,
//! NameID format, attribute map, signing) written in SAML 1.1's shape; never encrypted,
//! because SAML 1.1 has no encrypted assertion.

use super::super::{
    Engine, EngineError, IssueRequest, Issued, KeyType, Principal, PrincipalSource,
    ResolvedInstance,
};
use super::SamlPlan;
use crate::instance::TokenType;
use crate::tokens::saml1::{self, AssertionSpec};
use crate::tokens::saml2::{self, Confirmation, SignWith};
use crate::xml::ns::{CLAIM_ACTOR, CLAIM_NAME, SAML1};
use crate::xml::write::Writer;

/// The value of the `actor` attribute: `<Actor>` with a `saml:Attribute` of the actor's name,
/// as WIF's SAML 1.1 handler writes and reads it (it becomes `ClaimsIdentity.Actor`). A name
/// with a character XML does not allow is refused here: written into this text it would
/// reach the signed token as U+FFFD, past the assertion writer's own check.
fn actor_value(name: &str) -> Result<String, EngineError> {
    let (namespace, local) = saml1::split_claim(CLAIM_NAME);
    let mut w = Writer::with_capacity(256);
    w.start("Actor");
    w.start("saml:Attribute")
        .ns("saml", SAML1)
        .attr("AttributeName", local)
        .attr("AttributeNamespace", namespace);
    w.element("saml:AttributeValue", name);
    w.end().end();
    w.finish_checked()
        .map_err(|e| EngineError::Internal(format!("the actor: {e}")))
}

impl Engine {
    pub(super) fn issue_saml1(
        &self,
        instance: &ResolvedInstance,
        principal: &Principal,
        req: &IssueRequest,
        plan: SamlPlan,
    ) -> Result<Issued, EngineError> {
        let cfg = instance
            .config
            .saml2()
            .ok_or_else(|| EngineError::Internal("instance has no saml2-config".into()))?;
        // Refused rather than issued in clear: the instance asked for its assertions to be
        // readable by the relying party only.
        if instance.saml_encryption.is_some() {
            return Err(EngineError::Unsupported(
                "this instance encrypts its assertions, and SAML 1.1 has no encrypted assertion: ask for SAML 2.0".into(),
            ));
        }
        let SamlPlan {
            now,
            not_before,
            not_after,
            audience,
            key_type,
            tls: _,
        } = plan;
        let confirmation = match &key_type {
            KeyType::Bearer => Confirmation::Bearer,
            KeyType::PublicKey(c) => Confirmation::HolderOfKey { cert_der: c.der() },
            // A symmetric key would travel encrypted for the relying party, as in SAML 2.0;
            // not offered for SAML 1.1.
            KeyType::Symmetric(_) | KeyType::SenderVouches => {
                return Err(EngineError::Unsupported(
                    "SAML 1.1 assertions are issued with KeyType Bearer or PublicKey".into(),
                ));
            }
        };
        // A claim URI asks for the attribute of that key, or of that AttributeNamespace and
        // AttributeName (a bare key `mail` answers to `.../identity/claims/mail`).
        let mut attributes = super::claims::select(
            &cfg.attribute_map,
            principal,
            req.claims.as_deref(),
            |name, _, uri| {
                name == uri || {
                    let (ns, local) = saml1::split_claim(name);
                    uri.strip_prefix(ns)
                        .and_then(|rest| rest.strip_prefix('/'))
                        == Some(local)
                }
            },
        )?;
        // ActAs: SAML 1.1 has no delegation condition; the actor goes in WIF's and AD FS's
        // `actor` claim, whose value is an `<Actor>` holding the actor's claims as SAML
        // attributes (here its name).
        if let Some(actor) = &req.actor {
            attributes.push((CLAIM_ACTOR.to_owned(), vec![actor_value(actor.name())?]));
        }
        let id = saml2::new_assertion_id();
        let spec = AssertionSpec {
            id: &id,
            issuer: &cfg.issuer_name,
            issue_instant: now,
            name_id: principal.name(),
            name_id_format: &cfg.name_id_format,
            not_before,
            not_on_or_after: not_after,
            audience: audience.as_deref(),
            authn_instant: req.authn_instant.unwrap_or(now),
            authn_method: match principal.source() {
                PrincipalSource::X509 => crate::xml::ns::AM1_X509,
                PrincipalSource::FederatedToken => crate::xml::ns::AM1_UNSPECIFIED,
                PrincipalSource::Password => crate::xml::ns::AM1_PASSWORD,
            },
            attributes: &attributes,
            confirmation,
        };
        let advice = req
            .renewing
            .map(|r| crate::tokens::saml2::Renewing { allow: r.allow, ok: r.ok });
        let sign = instance.saml_signing.as_ref().map(|s| SignWith {
            key: &s.key,
            signature: s.signature,
            digest: s.digest,
        });
        let assertion =
            saml1::build_advised(&spec, advice, sign)
                .map_err(|e| EngineError::Internal(e.to_string()))?;
        let durable = self.persist(
            instance,
            principal,
            &id,
            TokenType::Saml1.name(),
            now,
            not_after,
            &assertion,
        )?;
        Ok(Issued {
            id,
            token: assertion,
            created: not_before,
            expires: not_after,
            audience,
            durable,
            proof: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::actor_value;

    #[test]
    fn an_actor_name_xml_does_not_allow_is_refused_not_altered() {
        let ok = actor_value("bob").unwrap();
        assert!(ok.contains(">bob</saml:AttributeValue>"), "{ok}");
        for bad in ["bob\u{FFFF}", "bob\u{FFFE}", "bob\u{1}"] {
            let e = actor_value(bad).unwrap_err().to_string();
            assert!(e.contains("XML 1.0 does not allow"), "{bad:?}: {e}");
        }
    }
}
