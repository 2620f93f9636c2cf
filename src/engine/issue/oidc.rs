//! OpenID Connect id_tokens: the instance's claims, signed with its key.

use chrono::Duration;

use super::super::{Engine, EngineError, IssueRequest, Issued, Principal, ResolvedInstance};
use super::truncate_to_seconds;
use crate::instance::TokenType;

impl Engine {
    pub(super) fn issue_oidc(
        &self,
        instance: &ResolvedInstance,
        principal: &Principal,
        req: &IssueRequest,
    ) -> Result<Issued, EngineError> {
        let (Some(cfg), Some(signer)) = (instance.config.oidc(), &instance.oidc_signing) else {
            return Err(EngineError::Internal(
                "instance has no oidc-id-token-config".into(),
            ));
        };
        let now = truncate_to_seconds(self.clock.now());
        let lifetime = Duration::seconds(
            i64::try_from(cfg.token_lifetime_seconds).unwrap_or(i64::MAX / 2_000),
        );
        let expires = now + lifetime;
        let id = uuid::Uuid::new_v4().to_string();
        // A requested claim names an id_token claim, or a SAML attribute of the instance's
        // attribute map: the claims of the same user attribute answer to it.
        let saml_map = instance.config.saml2().map(|c| &c.attribute_map);
        let selected = super::claims::select(
            &cfg.claim_map,
            principal,
            req.claims.as_deref(),
            |claim, attr, uri| {
                claim == uri || saml_map.and_then(|m| m.get(uri)).is_some_and(|a| a == attr)
            },
        )?;
        let mut claims = serde_json::Map::new();
        for (claim, values) in selected {
            let v = match values.as_slice() {
                [one] => serde_json::json!(one),
                many => serde_json::json!(many),
            };
            claims.insert(claim, v);
        }
        // Always an array, as AM writes it (RFC 7519 allows both forms).
        let aud = serde_json::json!(cfg.audience);
        for (k, v) in [
            ("iss", serde_json::json!(cfg.issuer)),
            ("sub", serde_json::json!(principal.name())),
            ("aud", aud),
            ("iat", serde_json::json!(now.timestamp())),
            ("exp", serde_json::json!(expires.timestamp())),
            ("jti", serde_json::json!(id)),
        ] {
            claims.insert(k.into(), v);
        }
        if let Some(azp) = &cfg.authorized_party {
            claims.insert("azp".into(), serde_json::json!(azp));
        }
        if let Some((at, amr)) = principal.authenticated() {
            claims.insert("auth_time".into(), serde_json::json!(at.timestamp()));
            claims.insert("amr".into(), serde_json::json!([amr]));
        }
        // ActAs: RFC 8693 4.1, the current actor.
        if let Some(actor) = &req.actor {
            claims.insert("act".into(), serde_json::json!({"sub": actor.name()}));
        }
        if let Some(nonce) = &req.nonce {
            claims.insert("nonce".into(), serde_json::json!(nonce));
        }
        let token = signer
            .sign(&serde_json::Value::Object(claims))
            .map_err(|e| EngineError::Internal(format!("signing the id_token failed: {e}")))?;
        let durable = self.persist(
            instance,
            principal,
            &id,
            TokenType::OpenIdConnect.name(),
            now,
            expires,
            &token,
        )?;
        Ok(Issued {
            id,
            token,
            created: now,
            expires,
            audience: cfg.audience.first().cloned(),
            durable,
            proof: None,
        })
    }
}
