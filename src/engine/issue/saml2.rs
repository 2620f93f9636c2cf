//! SAML 2.0 assertions: subject, conditions, attributes, authentication context and
//! subject confirmation as the instance and the request say; signed, maybe encrypted.

use super::super::{
    Engine, EngineError, IssueRequest, Issued, KeyType, Principal, PrincipalSource,
    ResolvedInstance,
};
use super::SamlPlan;
use crate::instance::TokenType;
use crate::tokens::saml2::{self, AssertionSpec, SignWith};

impl Engine {
    pub(super) fn issue_saml2(
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
        let SamlPlan {
            now,
            not_before,
            not_after,
            audience,
            key_type,
            tls,
        } = plan;
        // A claim URI asks for the attribute of that name.
        let attributes = super::claims::select(
            &cfg.attribute_map,
            principal,
            req.claims.as_deref(),
            |name, _, uri| name == uri,
        )?;
        // ActAs: the requester, who acts for the subject, is its delegate.
        let delegates: Vec<saml2::Delegate<'_>> = req
            .actor
            .iter()
            .map(|a| saml2::Delegate {
                name_id: a.name(),
                name_id_format: &cfg.name_id_format,
                instant: now,
            })
            .collect();
        // A symmetric proof key: made here, handed to the relying party encrypted in the
        // assertion, to the requestor in the response (the plan made sure that is over TLS).
        let symmetric = match &key_type {
            KeyType::Symmetric(sym) => {
                let cert = instance.relying_party.clone().ok_or_else(|| {
                    EngineError::Unsupported(
                        "a symmetric proof key is encrypted for the relying party: this instance's saml2-encryption-key-alias must name its certificate in keys/".into(),
                    )
                })?;
                let encrypter = crate::tokens::xmlenc::Encrypter::new(
                    crate::tokens::xmlenc::BlockCipher::Aes256Gcm,
                    cert,
                )
                .map_err(EngineError::Unsupported)?;
                let made = crate::wstrust::proof::make(sym).map_err(|e| {
                    EngineError::Internal(format!("making the proof key failed: {e}"))
                })?;
                let encrypted_key = encrypter
                    .encrypted_key(made.key.expose())
                    .map_err(|e| EngineError::Internal(e.to_string()))?;
                Some((made, encrypted_key))
            }
            _ => None,
        };
        let id = saml2::new_assertion_id();
        let spec = AssertionSpec {
            id: &id,
            issuer: &cfg.issuer_name,
            issue_instant: now,
            name_id: principal.name(),
            name_id_format: &cfg.name_id_format,
            not_before,
            not_on_or_after: not_after,
            recipient: cfg.sp_acs_url.as_deref(),
            audience: audience.as_deref(),
            authn_instant: req.authn_instant.unwrap_or(now),
            session_index: req.session_index.as_deref(),
            authn_context: match principal.source() {
                PrincipalSource::X509 => crate::xml::ns::AC_X509,
                PrincipalSource::FederatedToken => crate::xml::ns::AC_UNSPECIFIED,
                PrincipalSource::Password if tls => crate::xml::ns::AC_PASSWORD_PROTECTED_TRANSPORT,
                PrincipalSource::Password => crate::xml::ns::AC_PASSWORD,
            },
            attributes: &attributes,
            confirmation: match &key_type {
                KeyType::Bearer => saml2::Confirmation::Bearer,
                KeyType::SenderVouches => saml2::Confirmation::SenderVouches,
                KeyType::PublicKey(c) => saml2::Confirmation::HolderOfKey { cert_der: c.der() },
                KeyType::Symmetric(_) => match &symmetric {
                    Some((_, k)) => saml2::Confirmation::HolderOfSymmetricKey { encrypted_key: k },
                    None => return Err(EngineError::Internal("no proof key was made".into())),
                },
            },
        };
        let sign = instance.saml_signing.as_ref().map(|s| SignWith {
            key: &s.key,
            signature: s.signature,
            digest: s.digest,
        });
        let advice = req
            .renewing
            .map(|r| crate::tokens::saml2::Renewing { allow: r.allow, ok: r.ok });
        let built = saml2::build_delegated(
            &spec,
            &delegates,
            advice,
            sign,
            instance.saml_encryption.as_ref(),
        )
            .map_err(|e| EngineError::Internal(e.to_string()))?;
        // The store keeps the signed assertion, not its encryption, so that a persisting
        // instance can validate it by reference.
        let durable = self.persist(
            instance,
            principal,
            &id,
            TokenType::Saml2.name(),
            now,
            not_after,
            &built.assertion,
        )?;
        Ok(Issued {
            id,
            token: built.wire,
            created: not_before,
            expires: not_after,
            audience,
            durable,
            proof: symmetric.map(|(p, _)| p),
        })
    }
}
