//! Issuing a token for an authenticated principal: SAML 2.0 or id_token, persisted when the
//! instance says so.

use super::*;

impl Engine {
    /// Issues a token for `principal` as `instance` is configured.
    pub fn issue(
        &self,
        instance: &Instance,
        principal: &Principal,
        req: &IssueRequest,
    ) -> Result<Issued, EngineError> {
        if !instance.config.issues(req.token_type) {
            return Err(EngineError::BadRequest(format!(
                "this instance does not issue {} tokens",
                req.token_type.name()
            )));
        }
        // One rule for every front end: an id_token confirms nobody but its bearer.
        if req.token_type == TokenType::OpenIdConnect && req.key_type != KeyType::Bearer {
            return Err(EngineError::BadRequest(
                "id_tokens are bearer tokens: KeyType PublicKey, SymmetricKey and sender-vouches apply to SAML 2.0 only".into(),
            ));
        }
        match req.token_type {
            TokenType::Saml2 => self.issue_saml2(instance, principal, req),
            TokenType::OpenIdConnect => self.issue_oidc(instance, principal, req),
            other => Err(EngineError::BadRequest(format!(
                "issuing {} tokens is not supported",
                other.name()
            ))),
        }
    }

    fn issue_saml2(
        &self,
        instance: &Instance,
        principal: &Principal,
        req: &IssueRequest,
    ) -> Result<Issued, EngineError> {
        let cfg = instance
            .config
            .saml2()
            .ok_or_else(|| EngineError::RequestFailed("instance has no saml2-config".into()))?;
        // Whole seconds, as the assertion writes its times: the RSTR's wst:Lifetime states
        // the same instants (IssueInstant = NotBefore = Created, NotOnOrAfter = Expires).
        let now = truncate_to_seconds(self.clock.now());
        let max = Duration::seconds(
            i64::try_from(cfg.token_lifetime_seconds).unwrap_or(i64::MAX / 2_000),
        );
        let not_before = match req.lifetime_created {
            Some(c) if c > now + self.freshness.max_skew => {
                return Err(EngineError::InvalidTimeRange(
                    "postdated tokens (wst:Lifetime/Created in the future) are not issued".into(),
                ));
            }
            _ => now,
        };
        let not_after = match req.lifetime_expires.map(truncate_to_seconds) {
            Some(e) if e <= now => {
                return Err(EngineError::InvalidTimeRange(
                    "wst:Lifetime/Expires is not in the future".into(),
                ));
            }
            Some(e) => e.min(now + max),
            None => now + max,
        };
        if let Some(target) = &req.applies_to
            && !cfg.allowed_audiences.is_empty()
            && !cfg.allowed_audiences.contains(target)
            && cfg.sp_entity_id.as_ref() != Some(target)
        {
            return Err(EngineError::InvalidScope(format!(
                "this instance does not issue tokens for `{target}`"
            )));
        }
        let audience = req.applies_to.clone().or_else(|| cfg.sp_entity_id.clone());
        let attributes: Vec<(String, Vec<String>)> = cfg
            .attribute_map
            .iter()
            .filter_map(|(saml_name, user_attr)| {
                principal
                    .attributes
                    .get(user_attr)
                    .filter(|v| !v.is_empty())
                    .map(|v| (saml_name.clone(), v.clone()))
            })
            .collect();
        // A symmetric proof key: made here, handed to the relying party encrypted in the
        // assertion, to the requestor in the response (which therefore needs TLS).
        let symmetric = match &req.key_type {
            KeyType::Symmetric(sym) => {
                if !req.secure_transport {
                    return Err(EngineError::BadRequest(
                        "a symmetric proof key is only issued over TLS (https): the response carries it or its entropy".into(),
                    ));
                }
                let cert = instance.relying_party.clone().ok_or_else(|| {
                    EngineError::BadRequest(
                        "a symmetric proof key is encrypted for the relying party: this instance's saml2-encryption-key-alias must name its certificate in keys/".into(),
                    )
                })?;
                let encrypter = crate::tokens::xmlenc::Encrypter::new(
                    crate::tokens::xmlenc::BlockCipher::Aes256Gcm,
                    cert,
                )
                .map_err(EngineError::BadRequest)?;
                let made = proof::make(sym).map_err(|e| {
                    EngineError::RequestFailed(format!("making the proof key failed: {e}"))
                })?;
                let encrypted_key = encrypter
                    .encrypted_key(made.key.expose(), true)
                    .map_err(|e| EngineError::RequestFailed(e.to_string()))?;
                Some((made, encrypted_key))
            }
            _ => None,
        };
        let id = saml2::new_assertion_id();
        let spec = AssertionSpec {
            id: &id,
            issuer: &cfg.issuer_name,
            issue_instant: now,
            name_id: &principal.name,
            name_id_format: &cfg.name_id_format,
            not_before,
            not_on_or_after: not_after,
            recipient: cfg.sp_acs_url.as_deref(),
            audience: audience.as_deref(),
            authn_instant: now,
            session_index: req.session_index.as_deref(),
            authn_context: match principal.source {
                PrincipalSource::X509 => saml2::AC_X509,
                PrincipalSource::FederatedToken => saml2::AC_UNSPECIFIED,
                PrincipalSource::Password if req.secure_transport => {
                    saml2::AC_PASSWORD_PROTECTED_TRANSPORT
                }
                PrincipalSource::Password => saml2::AC_PASSWORD,
            },
            attributes: &attributes,
            confirmation: match &req.key_type {
                KeyType::Bearer => saml2::Confirmation::Bearer,
                KeyType::SenderVouches => saml2::Confirmation::SenderVouches,
                KeyType::PublicKey(c) => saml2::Confirmation::HolderOfKey { cert_der: c.der() },
                KeyType::Symmetric(_) => saml2::Confirmation::HolderOfSymmetricKey {
                    encrypted_key: symmetric.as_ref().map_or("", |(_, k)| k.as_str()),
                },
            },
        };
        let sign = instance.saml_signing.as_ref().map(|s| SignWith {
            key: &s.key,
            signature: s.signature,
            digest: s.digest,
        });
        let built = saml2::build(&spec, sign, instance.saml_encryption.as_ref())
            .map_err(|e| EngineError::RequestFailed(e.to_string()))?;
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

impl Engine {
    /// Queues the durable write of an issued token when the instance persists tokens; the
    /// front end sends the reply only after it resolves, so that a client holding a token can
    /// rely on it being found.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn persist(
        &self,
        instance: &Instance,
        principal: &Principal,
        id: &str,
        token_type: &str,
        now: DateTime<Utc>,
        expires: DateTime<Utc>,
        token: &str,
    ) -> Result<Option<crate::store::Durable>, EngineError> {
        if !instance.config.persist_issued_tokens() {
            return Ok(None);
        }
        self.tokens
            .insert_tokens_deferred(&[TokenRecord {
                token_id: id.to_owned(),
                sts_id: instance.config.subpath(),
                realm: principal.realm.clone(),
                principal: principal.name.clone(),
                token_type: token_type.into(),
                issued_ms: now.timestamp_millis(),
                expires_ms: expires.timestamp_millis(),
                token: token.to_owned(),
            }])
            .map(Some)
            .map_err(Self::store_failed)
    }

    fn issue_oidc(
        &self,
        instance: &Instance,
        principal: &Principal,
        req: &IssueRequest,
    ) -> Result<Issued, EngineError> {
        let (Some(cfg), Some(signer)) = (instance.config.oidc(), &instance.oidc_signing) else {
            return Err(EngineError::RequestFailed(
                "instance has no oidc-id-token-config".into(),
            ));
        };
        let now = truncate_to_seconds(self.clock.now());
        let lifetime = Duration::seconds(
            i64::try_from(cfg.token_lifetime_seconds).unwrap_or(i64::MAX / 2_000),
        );
        let expires = now + lifetime;
        let id = uuid::Uuid::new_v4().to_string();
        let mut claims = serde_json::Map::new();
        for (claim, attr) in &cfg.claim_map {
            if let Some(values) = principal.attributes.get(attr).filter(|v| !v.is_empty()) {
                let v = match values.as_slice() {
                    [one] => serde_json::json!(one),
                    many => serde_json::json!(many),
                };
                claims.insert(claim.clone(), v);
            }
        }
        // Always an array, as AM writes it (RFC 7519 allows both forms).
        let aud = serde_json::json!(cfg.audience);
        for (k, v) in [
            ("iss", serde_json::json!(cfg.issuer)),
            ("sub", serde_json::json!(principal.name)),
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
        if let Some((at, amr)) = principal.authenticated {
            claims.insert("auth_time".into(), serde_json::json!(at.timestamp()));
            claims.insert("amr".into(), serde_json::json!([amr]));
        }
        if let Some(nonce) = &req.nonce {
            claims.insert("nonce".into(), serde_json::json!(nonce));
        }
        let token = signer
            .sign(&serde_json::Value::Object(claims))
            .map_err(|e| EngineError::RequestFailed(format!("signing the id_token failed: {e}")))?;
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

/// The `ds:SignatureValue` of an enveloped-signed element, without whitespace.
pub(super) fn signature_value(xml: &[u8]) -> Option<String> {
    let root = crate::xml::parse(xml, crate::xml::Limits::default()).ok()?;
    let sig = root.child(&[crate::xmldsig::DS_NS], "Signature")?;
    let value = sig.child(&[crate::xmldsig::DS_NS], "SignatureValue")?;
    Some(value.text().split_whitespace().collect())
}

pub(super) fn truncate_to_seconds(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(t.timestamp(), 0).unwrap_or(t)
}
