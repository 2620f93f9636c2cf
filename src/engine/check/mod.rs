//! Checking tokens this STS issued: Validate (WS-Trust and REST), introspection and cancel.
//! A token is live when it verifies with the instance's key, is within its [`TimeWindow`]
//! and, for a persisting instance, is the one stored for it and not cancelled.

pub mod cancel;
mod introspect;
pub(crate) mod rules;
mod transform;

use chrono::{DateTime, Utc};

use super::{Engine, EngineError, LiveToken, ResolvedInstance, TokenTarget, Validation};
use crate::instance::TokenType;
use crate::secret::ct_eq;
use crate::xml::ns;
use rules::{Outside, TimeWindow};

/// Why a token is not live; the text is the reason a Validate answer gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NotLive {
    #[error("this instance does not persist tokens, so it cannot resolve a reference")]
    CannotResolve,
    #[error("custom tokens are checked by Validate only")]
    Custom,
    #[error("no token with this id is stored (unknown, expired or cancelled)")]
    NotStored,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
    #[error("the token is issued in the future")]
    IssuedInFuture,
    #[error("the token has been cancelled")]
    Cancelled,
    #[error("the token was not issued by this instance")]
    OtherInstance,
    #[error("the token was issued by another issuer")]
    OtherIssuer,
    #[error("the token is not signed by this STS")]
    NotSignedHere,
    #[error("this instance issues unsigned assertions, which cannot be validated")]
    Unsigned,
    #[error(
        "the assertion is encrypted for its relying party; only that party can read it (validate it by reference on a persisting instance)"
    )]
    Encrypted,
    #[error("the token is not a SAML 2.0 assertion")]
    NotAssertion,
    #[error("the token's NotBefore is not a time")]
    UnreadableTime,
    #[error("this instance does not issue OpenID Connect tokens")]
    NoOidc,
    #[error("the token has no valid exp claim")]
    NoExpiry,
    #[error("the token has no jti claim")]
    NoId,
}

impl Engine {
    /// Validates a token this STS issued (WS-Trust Validate, REST `_action=validate`).
    pub fn validate(
        &self,
        instance: &ResolvedInstance,
        target: &TokenTarget,
    ) -> Result<Validation, EngineError> {
        crate::metrics::note_tokens(Some(target.metric_name()), None);
        let event = crate::audit::Event::new("token.validated")
            .with("instance", instance.config.subpath())
            .with("realm", instance.config.realm());
        if let Some(v) = self.validate_custom_token(instance, target)? {
            self.audit(
                event
                    .with("token_type", "custom")
                    .with("valid", v.valid)
                    .with("reason", &v.reason),
            )?;
            return Ok(v);
        }
        let (v, event) = match self.check(instance, target)? {
            Ok(live) => (
                Validation {
                    valid: true,
                    reason: "the token is valid".into(),
                },
                event
                    .with("token_type", live.token_type.name())
                    .with("token_id", &live.id)
                    .with_opt("principal", live.subject.as_ref()),
            ),
            Err(reason) => (
                Validation {
                    valid: false,
                    reason: reason.to_string(),
                },
                match target {
                    TokenTarget::Reference(id) => event.with("token_id", id),
                    _ => event,
                },
            ),
        };
        self.audit(event.with("valid", v.valid).with("reason", &v.reason))?;
        Ok(v)
    }

    /// Whether `target` is a live token of `instance`: signed by it, current, and (for a
    /// persisting instance) stored for it and not cancelled.
    pub fn check(
        &self,
        instance: &ResolvedInstance,
        target: &TokenTarget,
    ) -> Result<Result<LiveToken, NotLive>, EngineError> {
        let persisting = instance.config.persist_issued_tokens();
        /// The token itself, as presented or as stored under a reference.
        enum Presented {
            Jwt(String),
            Xml(Vec<u8>),
        }
        // A reference is resolved once; the record fetched then is the one compared below.
        let (presented, fetched) = match target {
            TokenTarget::Reference(id) => {
                if !persisting {
                    return Ok(Err(NotLive::CannotResolve));
                }
                match self.tokens.get_token(id).map_err(EngineError::store)? {
                    Some(rec)
                        if rec.token_type != TokenType::OpenIdConnect.name()
                            && rec.token_type != TokenType::Saml2.name()
                            && rec.token_type != TokenType::Saml1.name() =>
                    {
                        return Ok(Err(NotLive::Custom));
                    }
                    Some(rec) => {
                        let p = if rec.token_type == TokenType::OpenIdConnect.name() {
                            Presented::Jwt(rec.token.clone())
                        } else {
                            Presented::Xml(rec.token.clone().into_bytes())
                        };
                        (p, Some(rec))
                    }
                    None => return Ok(Err(NotLive::NotStored)),
                }
            }
            TokenTarget::Jwt(jwt) => (Presented::Jwt(jwt.clone()), None),
            TokenTarget::Token(xml) => (Presented::Xml(xml.clone()), None),
            TokenTarget::Custom { .. } => return Ok(Err(NotLive::Custom)),
        };
        let now = self.clock.now();
        // With an assertion, the signature value libxmlsec1 verified.
        let verified = match &presented {
            Presented::Jwt(jwt) => self.verify_jwt(instance, jwt, now).map(|f| (f, None)),
            Presented::Xml(xml) => self
                .verify_assertion(instance, xml, now)
                .map(|(f, sig)| (f, Some(sig))),
        };
        let (facts, signature) = match verified {
            Ok(f) => f,
            Err(reason) => return Ok(Err(reason)),
        };
        if persisting {
            // The token stored for this instance: another instance's token, or a re-signed or
            // altered copy that reuses a real id, is not the token issued here. JWTs compare
            // byte for byte; assertions by signature value, because a client may re-serialise
            // XML (the signature, over canonical XML, still verified above); the bytes stored
            // are the same token without reading them. A token read by reference is the
            // stored one.
            let (rec, same) = match fetched {
                Some(rec) => (rec, true),
                None => {
                    let Some(rec) = self
                        .tokens
                        .get_token(&facts.id)
                        .map_err(EngineError::store)?
                    else {
                        return Ok(Err(NotLive::Cancelled));
                    };
                    let same = match &presented {
                        Presented::Jwt(t) => ct_eq(rec.token.as_bytes(), t.as_bytes()),
                        Presented::Xml(x) => {
                            ct_eq(rec.token.as_bytes(), x)
                                || match (signature, signature_value(rec.token.as_bytes())) {
                                    (Some(a), Some(b)) => ct_eq(a.as_bytes(), b.as_bytes()),
                                    _ => false,
                                }
                        }
                    };
                    (rec, same)
                }
            };
            if rec.sts_id != instance.config.subpath() || !same {
                return Ok(Err(NotLive::OtherInstance));
            }
        }
        Ok(Ok(facts))
    }

    /// Checks signature, issuer and time of an assertion of this STS; returns what it says,
    /// and the verified signature value (without whitespace).
    fn verify_assertion(
        &self,
        instance: &ResolvedInstance,
        xml: &[u8],
        now: DateTime<Utc>,
    ) -> Result<(LiveToken, String), NotLive> {
        let signing = instance.saml_signing.as_ref().ok_or(NotLive::Unsigned)?;
        // The previous certificate of a rotated key still vouches for what it signed.
        let verified = match cancel::verify_signed_tree(signing, xml) {
            Ok(v) => v,
            Err(e) => {
                if crate::xml::parse(xml, crate::xml::Limits::default())
                    .is_ok_and(|el| el.is(ns::SAML2, "EncryptedAssertion"))
                {
                    return Err(NotLive::Encrypted);
                }
                tracing::info!(instance = %instance.config.subpath(), error = %e, "validate: signature refused");
                return Err(NotLive::NotSignedHere);
            }
        };
        // Only the verified, signature-stripped content is read from here on: the tree
        // libxmlsec1 verified, read once.
        let signature = verified.get().signature_value.clone();
        let el = match &verified.get().root {
            Ok(el) if el.is(ns::SAML2, "Assertion") => el,
            Ok(el) if el.is(ns::SAML1, "Assertion") => {
                return self
                    .saml1_facts(instance, el, verified.get().id.clone(), now)
                    .map(|f| (f, signature));
            }
            _ => return Err(NotLive::NotAssertion),
        };
        let issuer = el
            .child(&[ns::SAML2], "Issuer")
            .map(crate::xml::Element::text);
        let expected = instance.config.saml2().map(|c| c.issuer_name.clone());
        if issuer.is_none() || issuer != expected {
            return Err(NotLive::OtherIssuer);
        }
        let conditions = el.child(&[ns::SAML2], "Conditions");
        let expires = self.conditions_window(conditions, now)?;
        let audience = audiences(conditions, ns::SAML2, "AudienceRestriction");
        let facts = LiveToken {
            token_type: TokenType::Saml2,
            id: verified.get().id.clone(),
            subject: el
                .child(&[ns::SAML2], "Subject")
                .and_then(|s| s.child(&[ns::SAML2], "NameID"))
                .map(crate::xml::Element::text),
            issuer: issuer.unwrap_or_default(),
            issued_at: el
                .attr(None, "IssueInstant")
                .and_then(crate::xml::datetime::parse_datetime)
                .map(|t| t.timestamp()),
            expires: expires.timestamp(),
            audience,
            authorized_party: None,
        };
        Ok((facts, signature))
    }

    /// The verified SAML 1.1 assertion `el`: issuer and time, and what it says.
    fn saml1_facts(
        &self,
        instance: &ResolvedInstance,
        el: &crate::xml::Element,
        id: String,
        now: DateTime<Utc>,
    ) -> Result<LiveToken, NotLive> {
        let issuer = el.attr(None, "Issuer");
        let expected = instance.config.saml2().map(|c| c.issuer_name.as_str());
        if issuer.is_none() || issuer != expected {
            return Err(NotLive::OtherIssuer);
        }
        let conditions = el.child(&[ns::SAML1], "Conditions");
        let expires = self.conditions_window(conditions, now)?;
        Ok(LiveToken {
            token_type: TokenType::Saml1,
            id,
            subject: el
                .child(&[ns::SAML1], "AuthenticationStatement")
                .and_then(|s| s.child(&[ns::SAML1], "Subject"))
                .and_then(|s| s.child(&[ns::SAML1], "NameIdentifier"))
                .map(crate::xml::Element::text),
            issuer: issuer.unwrap_or_default().to_owned(),
            issued_at: el
                .attr(None, "IssueInstant")
                .and_then(crate::xml::datetime::parse_datetime)
                .map(|t| t.timestamp()),
            expires: expires.timestamp(),
            audience: audiences(conditions, ns::SAML1, "AudienceRestrictionCondition"),
            authorized_party: None,
        })
    }

    /// `NotBefore`/`NotOnOrAfter` of an assertion's `Conditions` against now; returns the
    /// expiry. Present but unreadable is refused, never read as absent (fail closed).
    fn conditions_window(
        &self,
        conditions: Option<&crate::xml::Element>,
        now: DateTime<Utc>,
    ) -> Result<DateTime<Utc>, NotLive> {
        let time = |name: &str| {
            conditions
                .and_then(|c| c.attr(None, name))
                .map(|v| crate::xml::datetime::parse_datetime(v).ok_or(()))
        };
        let window = TimeWindow::own(self.freshness.max_skew);
        match time("NotBefore") {
            Some(Err(())) => return Err(NotLive::UnreadableTime),
            Some(Ok(t)) if window.check(Some(t), None, now).is_err() => {
                return Err(NotLive::NotYetValid);
            }
            _ => {}
        }
        match time("NotOnOrAfter") {
            Some(Ok(t)) if window.check(None, Some(t), now).is_ok() => Ok(t),
            _ => Err(NotLive::Expired),
        }
    }

    /// Checks signature, issuer and time of an id_token of this STS; returns what it says.
    fn verify_jwt(
        &self,
        instance: &ResolvedInstance,
        jwt: &str,
        now: DateTime<Utc>,
    ) -> Result<LiveToken, NotLive> {
        let facts = self.signed_jwt(instance, jwt)?;
        let window = TimeWindow::own(self.freshness.max_skew);
        match window.check_secs(None, Some(facts.expires), now) {
            Err(Outside::Over) => Err(NotLive::Expired),
            _ => Ok(facts),
        }
    }

    /// Checks signature and issuer of an id_token of this STS, and that it is not issued in
    /// the future; its expiry is the caller's to check (cancel accepts expired tokens).
    fn signed_jwt(&self, instance: &ResolvedInstance, jwt: &str) -> Result<LiveToken, NotLive> {
        let signer = instance.oidc_signing.as_ref().ok_or(NotLive::NoOidc)?;
        let verified = match signer.verify(jwt) {
            Ok(v) => v,
            Err(e) => {
                tracing::info!(instance = %instance.config.subpath(), error = %e, "validate: id_token refused");
                return Err(NotLive::NotSignedHere);
            }
        };
        let claims = verified.claims();
        let expected = instance.config.oidc().map(|c| c.issuer.as_str());
        if claims.get("iss").and_then(serde_json::Value::as_str) != expected {
            return Err(NotLive::OtherIssuer);
        }
        let exp = claims
            .get("exp")
            .and_then(serde_json::Value::as_i64)
            .and_then(|t| DateTime::from_timestamp(t, 0))
            .ok_or(NotLive::NoExpiry)?;
        let iat = claims.get("iat").and_then(serde_json::Value::as_i64);
        if iat
            .and_then(|t| DateTime::from_timestamp(t, 0))
            .is_some_and(|t| {
                TimeWindow::own(self.freshness.max_skew)
                    .check(Some(t), None, self.clock.now())
                    .is_err()
            })
        {
            return Err(NotLive::IssuedInFuture);
        }
        let jti = claims
            .get("jti")
            .and_then(serde_json::Value::as_str)
            .ok_or(NotLive::NoId)?;
        let text = |name: &str| {
            claims
                .get(name)
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned)
        };
        Ok(LiveToken {
            token_type: TokenType::OpenIdConnect,
            id: jti.to_owned(),
            subject: text("sub"),
            issuer: text("iss").unwrap_or_default(),
            issued_at: iat,
            expires: exp.timestamp(),
            audience: rules::jwt_audiences(claims.get("aud"))
                .into_iter()
                .map(str::to_owned)
                .collect(),
            authorized_party: text("azp"),
        })
    }
}

/// The audiences of an assertion's `Conditions` (`restriction` in the namespace `saml`).
fn audiences(conditions: Option<&crate::xml::Element>, saml: &str, restriction: &str) -> Vec<String> {
    conditions
        .into_iter()
        .flat_map(|c| c.elements())
        .filter(|r| r.is(saml, restriction))
        .flat_map(|r| r.elements())
        .filter(|a| a.is(saml, "Audience"))
        .map(crate::xml::Element::text)
        .collect()
}

/// The `ds:SignatureValue` of an enveloped-signed element, without whitespace.
pub(in crate::engine) fn signature_value(xml: &[u8]) -> Option<String> {
    let root = crate::xml::parse(xml, crate::xml::Limits::default()).ok()?;
    let sig = root.child(&[ns::DS], "Signature")?;
    let value = sig.child(&[ns::DS], "SignatureValue")?;
    Some(value.text().split_whitespace().collect())
}
