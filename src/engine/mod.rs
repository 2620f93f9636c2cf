//! The token engine shared by every front end: validate an input credential to a principal,
//! then issue the requested token. It knows nothing about HTTP or SOAP framing, and reads the
//! time only from its [`Clock`].

pub mod cancel;
pub mod custom;
mod error;
mod issue;
use issue::{signature_value, truncate_to_seconds};
mod nonces;
mod principal;
pub mod proof;
mod request;
pub mod saml_input;
pub mod x509;
pub use error::*;
pub use request::*;
// compat: remove after issue 15 merge (instances are resolved in `instance/`).
pub use crate::instance::ResolvedInstance as Instance;
pub use crate::instance::resolve::files;
pub use crate::instance::resolve::{SamlSigning, TrustedIssuer};

use std::sync::Arc;

use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};

pub use nonces::NonceCache;

use crate::clock::Clock;
use crate::identity::sessions::Sessions;
use crate::identity::throttle::{Locked, Source, Throttle};
use crate::identity::{UserStore, verify_password};
use crate::instance::TokenType;
use crate::secret::{Secret, ct_eq};
use crate::store::{TokenRecord, TokenStore};
use crate::tokens::saml2::{self, AssertionSpec, SignWith};

/// The token engine.
pub struct Engine {
    clock: Arc<dyn Clock>,
    users: Arc<dyn UserStore>,
    nonces: NonceCache,
    freshness: Freshness,
    sessions: Sessions,
    throttle: Throttle,
    tokens: Arc<dyn TokenStore>,
}

fn sha1_digest_b64(nonce: &[u8], created: &str, password: &str) -> String {
    let mut h = openssl::sha::Sha1::new();
    h.update(nonce);
    h.update(created.as_bytes());
    h.update(password.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(h.finish())
}

impl Engine {
    pub fn new(
        clock: Arc<dyn Clock>,
        users: Arc<dyn UserStore>,
        freshness: Freshness,
        sessions: Sessions,
        throttle: Throttle,
        tokens: Arc<dyn TokenStore>,
    ) -> Engine {
        Engine {
            clock,
            users,
            nonces: NonceCache::new(1_000_000),
            freshness,
            sessions,
            throttle,
            tokens,
        }
    }

    /// The store of issued tokens.
    pub fn tokens(&self) -> &dyn TokenStore {
        self.tokens.as_ref()
    }

    /// Removes expired tokens in batches of `batch`, until none is left; returns how many.
    /// Each batch is its own short transaction, so issuing is never blocked for long.
    pub fn reap_tokens(&self, batch: usize) -> Result<usize, EngineError> {
        let mut total = 0;
        loop {
            let n = self
                .tokens
                .delete_expired_tokens(self.clock.now().timestamp_millis(), batch)
                .map_err(Self::store_failed)?;
            total += n;
            if n < batch {
                return Ok(total);
            }
            std::thread::yield_now();
        }
    }

    /// Validates a token this STS issued (WS-Trust Validate, REST `_action=validate`).
    pub fn validate(
        &self,
        instance: &Instance,
        target: &TokenTarget,
    ) -> Result<Validation, EngineError> {
        if let Some(v) = self.validate_custom_token(instance, target)? {
            return Ok(v);
        }
        Ok(match self.check(instance, target)? {
            Ok(_) => Validation {
                valid: true,
                reason: "the token is valid".into(),
            },
            Err(reason) => Validation {
                valid: false,
                reason,
            },
        })
    }

    /// Whether `target` is a live token of `instance`: signed by it, current, and (for a
    /// persisting instance) stored for it and not cancelled. `Ok(Err(reason))` when not.
    pub fn check(
        &self,
        instance: &Instance,
        target: &TokenTarget,
    ) -> Result<Result<TokenFacts, String>, EngineError> {
        let invalid = |reason: &str| Ok(Err(reason.to_owned()));
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
                    return invalid(
                        "this instance does not persist tokens, so it cannot resolve a reference",
                    );
                }
                match self.tokens.get_token(id).map_err(Self::store_failed)? {
                    Some(rec)
                        if rec.token_type != TokenType::OpenIdConnect.name()
                            && rec.token_type != TokenType::Saml2.name() =>
                    {
                        return invalid("custom tokens are checked by Validate only");
                    }
                    Some(rec) => {
                        let p = if rec.token_type == TokenType::OpenIdConnect.name() {
                            Presented::Jwt(rec.token.clone())
                        } else {
                            Presented::Xml(rec.token.clone().into_bytes())
                        };
                        (p, Some(rec))
                    }
                    None => {
                        return invalid(
                            "no token with this id is stored (unknown, expired or cancelled)",
                        );
                    }
                }
            }
            TokenTarget::Jwt(jwt) => (Presented::Jwt(jwt.clone()), None),
            TokenTarget::Token(xml) => (Presented::Xml(xml.clone()), None),
            TokenTarget::Custom { .. } => {
                return invalid("custom tokens are checked by Validate only");
            }
        };
        let now = self.clock.now();
        let facts = match &presented {
            Presented::Jwt(jwt) => match self.verify_jwt(instance, jwt) {
                Ok(f) if f.expires <= now.timestamp() => return invalid("the token has expired"),
                Ok(f) => f,
                Err(reason) => return invalid(reason),
            },
            Presented::Xml(xml) => match self.verify_assertion(instance, xml, now) {
                Ok(f) => f,
                Err(reason) => return invalid(reason),
            },
        };
        let id = facts.id.clone();
        if persisting {
            // The token stored for this instance: another instance's token, or a re-signed or
            // altered copy that reuses a real id, is not the token issued here. JWTs compare
            // byte for byte; assertions by signature value, because a client may re-serialise
            // XML (the signature, over canonical XML, still verified above). A token read by
            // reference is the stored one.
            let (rec, same) = match fetched {
                Some(rec) => (rec, true),
                None => {
                    let Some(rec) = self.tokens.get_token(&id).map_err(Self::store_failed)? else {
                        return invalid("the token has been cancelled");
                    };
                    let same = match &presented {
                        Presented::Jwt(t) => ct_eq(rec.token.as_bytes(), t.as_bytes()),
                        Presented::Xml(x) => {
                            match (signature_value(x), signature_value(rec.token.as_bytes())) {
                                (Some(a), Some(b)) => ct_eq(a.as_bytes(), b.as_bytes()),
                                _ => false,
                            }
                        }
                    };
                    (rec, same)
                }
            };
            if rec.sts_id != instance.config.subpath() || !same {
                return invalid("the token was not issued by this instance");
            }
        }
        Ok(Ok(facts))
    }

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
        instances: &[Arc<Instance>],
        token: &str,
    ) -> Result<Option<(String, TokenFacts)>, EngineError> {
        const MAX_TOKEN: usize = 64 * 1024;
        let token = token.trim();
        if token.is_empty() || token.len() > MAX_TOKEN {
            return Ok(None);
        }
        // Unverified: which issuer and id the token claims.
        let (target, claimed) = if token.starts_with('<') {
            let claim = crate::xml::parse(token.as_bytes(), crate::xml::Limits::default())
                .ok()
                .filter(|el| el.is(saml2::SAML2_NS, "Assertion"))
                .and_then(|el| {
                    let issuer = el.child(&[saml2::SAML2_NS], "Issuer")?.text();
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
        let candidates: Vec<&Arc<Instance>> = instances
            .iter()
            .filter(|i| match &target {
                TokenTarget::Jwt(_) => i.config.oidc().is_some_and(|o| o.issuer == issuer),
                _ => i.config.saml2().is_some_and(|c| c.issuer_name == issuer),
            })
            .collect();
        let live = |instance: &Instance| -> Result<Option<(String, TokenFacts)>, EngineError> {
            Ok(self
                .check(instance, &target)?
                .ok()
                .map(|f| (instance.config.subpath(), f)))
        };
        if let Some(rec) = self.tokens.get_token(&id).map_err(Self::store_failed)? {
            return match candidates.iter().find(|i| i.config.subpath() == rec.sts_id) {
                Some(instance) => live(instance),
                None => Ok(None),
            };
        }
        let now = self.clock.now();
        let signed_by = |instance: &Instance| match &target {
            TokenTarget::Jwt(jwt) => self.verify_jwt(instance, jwt).is_ok(),
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

    /// Checks signature, issuer and time of an assertion; returns what it says.
    fn verify_assertion(
        &self,
        instance: &Instance,
        xml: &[u8],
        now: DateTime<Utc>,
    ) -> Result<TokenFacts, &'static str> {
        let Some(signing) = &instance.saml_signing else {
            return Err("this instance issues unsigned assertions, which cannot be validated");
        };
        // The previous certificate of a rotated key still vouches for what it signed.
        let verified = match cancel::verify_signed(signing, xml) {
            Ok(v) => v,
            Err(e) => {
                if crate::xml::parse(xml, crate::xml::Limits::default())
                    .is_ok_and(|el| el.is(saml2::SAML2_NS, "EncryptedAssertion"))
                {
                    return Err(
                        "the assertion is encrypted for its relying party; only that party can read it (validate it by reference on a persisting instance)",
                    );
                }
                tracing::info!(instance = %instance.config.subpath(), error = %e, "validate: signature refused");
                return Err("the token is not signed by this STS");
            }
        };
        // Only the verified, signature-stripped bytes are read from here on.
        let el = match crate::xml::parse(&verified.get().xml, crate::xml::Limits::default()) {
            Ok(el) if el.is(saml2::SAML2_NS, "Assertion") => el,
            _ => return Err("the token is not a SAML 2.0 assertion"),
        };
        let issuer = el
            .child(&[saml2::SAML2_NS], "Issuer")
            .map(crate::xml::Element::text);
        let expected = instance.config.saml2().map(|c| c.issuer_name.clone());
        if issuer.is_none() || issuer != expected {
            return Err("the token was issued by another issuer");
        }
        let conditions = el.child(&[saml2::SAML2_NS], "Conditions");
        // Present but unreadable is refused, never read as absent (fail closed).
        let time = |name: &str| {
            conditions
                .and_then(|c| c.attr(None, name))
                .map(|v| crate::wstrust::parse_datetime(v).ok_or(()))
        };
        match time("NotBefore") {
            Some(Err(())) => return Err("the token's NotBefore is not a time"),
            Some(Ok(t)) if t > now + self.freshness.max_skew => {
                return Err("the token is not valid yet");
            }
            _ => {}
        }
        let expires = match time("NotOnOrAfter") {
            Some(Ok(t)) if t > now => t,
            _ => return Err("the token has expired"),
        };
        let audience = conditions
            .into_iter()
            .flat_map(|c| c.elements())
            .filter(|r| r.is(saml2::SAML2_NS, "AudienceRestriction"))
            .flat_map(|r| r.elements())
            .filter(|a| a.is(saml2::SAML2_NS, "Audience"))
            .map(crate::xml::Element::text)
            .collect();
        Ok(TokenFacts {
            token_type: TokenType::Saml2,
            id: verified.get().id.clone(),
            subject: el
                .child(&[saml2::SAML2_NS], "Subject")
                .and_then(|s| s.child(&[saml2::SAML2_NS], "NameID"))
                .map(crate::xml::Element::text),
            issuer: issuer.unwrap_or_default(),
            issued_at: el
                .attr(None, "IssueInstant")
                .and_then(crate::wstrust::parse_datetime)
                .map(|t| t.timestamp()),
            expires: expires.timestamp(),
            audience,
            authorized_party: None,
        })
    }

    /// Checks signature and issuer of an id_token; returns its `jti` and expiry.
    fn verify_jwt(&self, instance: &Instance, jwt: &str) -> Result<TokenFacts, &'static str> {
        let Some(signer) = &instance.oidc_signing else {
            return Err("this instance does not issue OpenID Connect tokens");
        };
        let verified = match signer.verify(jwt) {
            Ok(v) => v,
            Err(e) => {
                tracing::info!(instance = %instance.config.subpath(), error = %e, "validate: id_token refused");
                return Err("the token is not signed by this STS");
            }
        };
        let claims = verified.claims();
        let expected = instance.config.oidc().map(|c| c.issuer.as_str());
        if claims.get("iss").and_then(serde_json::Value::as_str) != expected {
            return Err("the token was issued by another issuer");
        }
        let exp = claims
            .get("exp")
            .and_then(serde_json::Value::as_i64)
            .and_then(|t| DateTime::from_timestamp(t, 0))
            .ok_or("the token has no valid exp claim")?;
        if claims
            .get("iat")
            .and_then(serde_json::Value::as_i64)
            .and_then(|t| DateTime::from_timestamp(t, 0))
            .is_some_and(|t| t > self.clock.now() + self.freshness.max_skew)
        {
            return Err("the token is issued in the future");
        }
        let jti = claims
            .get("jti")
            .and_then(serde_json::Value::as_str)
            .ok_or("the token has no jti claim")?;
        let text = |name: &str| {
            claims
                .get(name)
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned)
        };
        let audience = match claims.get("aud") {
            Some(serde_json::Value::String(a)) => vec![a.clone()],
            Some(serde_json::Value::Array(list)) => list
                .iter()
                .filter_map(serde_json::Value::as_str)
                .map(str::to_owned)
                .collect(),
            _ => Vec::new(),
        };
        Ok(TokenFacts {
            token_type: TokenType::OpenIdConnect,
            id: jti.to_owned(),
            subject: text("sub"),
            issuer: text("iss").unwrap_or_default(),
            issued_at: claims.get("iat").and_then(serde_json::Value::as_i64),
            expires: exp.timestamp(),
            audience,
            authorized_party: text("azp"),
        })
    }

    /// The session service (SSO tokens).
    pub fn sessions(&self) -> &Sessions {
        &self.sessions
    }

    fn store_failed(e: crate::store::StoreError) -> EngineError {
        EngineError::RequestFailed(format!("store: {e}"))
    }

    /// The principal of a live session, if its user still exists and is enabled. `realm`
    /// None accepts a session of any realm.
    pub fn session_principal(
        &self,
        token: &str,
        realm: Option<&str>,
    ) -> Result<Option<(Principal, crate::identity::sessions::SessionInfo, bool)>, EngineError>
    {
        let Some(info) = self.sessions.validate(token).map_err(Self::store_failed)? else {
            return Ok(None);
        };
        if realm.is_some_and(|r| crate::identity::normalize_realm(r) != info.realm) {
            return Ok(None);
        }
        let user = self
            .users
            .find(&info.realm, &info.username)
            .map_err(|e| EngineError::RequestFailed(format!("identity store: {e}")))?;
        let Some(u) = user.filter(|u| !u.disabled) else {
            return Ok(None);
        };
        let admin = u.admin;
        let principal = Principal::new(
            info.realm.clone(),
            u.username,
            u.attributes,
            None,
            PrincipalSource::Password,
        )?;
        Ok(Some((principal, info, admin)))
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
    ) -> Result<(Principal, Issued), EngineError> {
        let principal = self.authenticate_for(instance, cred)?;
        let req = request()?;
        let session_input = matches!(cred, Credential::Session { .. });
        let issued =
            self.issue_for(instance, &principal, session_input, invalidate_interim, req)?;
        Ok((principal, issued))
    }

    /// Issues a built-in token for an authenticated principal; an input other than a
    /// session gets an interim session, kept when `invalidate_interim` is false.
    fn issue_for(
        &self,
        instance: &Instance,
        principal: &Principal,
        session_input: bool,
        invalidate_interim: bool,
        mut req: IssueRequest,
    ) -> Result<Issued, EngineError> {
        // An interim session that would be ended before the reply leaves this function is
        // never visible to anyone, so it is not written to the store at all; a kept one is
        // persisted and named in the assertion's SessionIndex.
        let mut kept = None;
        if !invalidate_interim && !session_input {
            let (token, info) = self
                .sessions
                .create(&principal.realm, &principal.name, true)
                .map_err(Self::store_failed)?;
            req.session_index = Some(info.uid);
            kept = Some(token);
        }
        let issued = self.issue(instance, principal, &req);
        if issued.is_err()
            && let Some(token) = kept
        {
            // Nothing was issued: the session would only be an orphan.
            self.sessions
                .logout(token.expose())
                .map_err(Self::store_failed)?;
        }
        issued
    }

    /// Authenticates any credential for `instance`: passwords and sessions against the
    /// identity store of its realm, other parties' tokens and certificates against its trust.
    pub fn authenticate_for(
        &self,
        instance: &Instance,
        cred: &Credential,
    ) -> Result<Principal, EngineError> {
        match cred {
            Credential::OidcIdToken { token } => self.authenticate_oidc(instance, token.expose()),
            Credential::X509 { chain } => self.authenticate_x509(instance, chain),
            Credential::Saml2Assertion { xml } => self.authenticate_saml(instance, xml),
            other => self.authenticate(instance.config.realm(), other),
        }
    }

    /// Validates an id_token of one of the instance's trusted issuers to a principal: the
    /// issuer named by `iss`, its algorithms and keys only, `aud`, `exp`, `nbf` and `iat` with
    /// the configured skew. The principal is the `principal-claim`; a user of that name in the
    /// instance's realm lends its attributes.
    pub fn authenticate_oidc(
        &self,
        instance: &Instance,
        token: &str,
    ) -> Result<Principal, EngineError> {
        let fail = |m: &str| EngineError::FailedAuthentication(format!("id_token: {m}"));
        // `iss` only selects whose keys to try; it is checked again once verified.
        let claimed_iss = crate::tokens::oidc::unverified_claim(token, "iss")
            .ok_or_else(|| fail("not a JWT with an iss claim"))?;
        let trust = instance
            .oidc_trust
            .iter()
            .find(|t| t.issuer == claimed_iss)
            .ok_or_else(|| fail("the issuer is not trusted by this instance"))?;
        let verified = crate::tokens::oidc::verify_trusted(token, &trust.algorithms, &trust.keys)
            .map_err(|e| match e {
            crate::tokens::oidc::JwtError::UnknownAlgorithm(a) => {
                fail(&format!("algorithm `{a}` is not accepted for this issuer"))
            }
            crate::tokens::oidc::JwtError::Malformed(m) => fail(m),
            _ => fail("the signature does not verify with the issuer's keys"),
        })?;
        let claims = verified.claims();
        let now = self.clock.now().timestamp();
        let skew = self.freshness.max_skew.num_seconds();
        // A time claim that is present must be an integer: a value `as_i64` cannot read is
        // refused, not skipped.
        for name in ["exp", "nbf", "iat"] {
            if claims.get(name).is_some_and(|v| v.as_i64().is_none()) {
                return Err(fail(&format!("the {name} claim is not an integer")));
            }
        }
        let num = |name: &str| claims.get(name).and_then(serde_json::Value::as_i64);
        if claims.get("iss").and_then(serde_json::Value::as_str) != Some(trust.issuer.as_str()) {
            return Err(fail("the issuer is not trusted by this instance"));
        }
        let aud_ok = match claims.get("aud") {
            Some(serde_json::Value::String(a)) => trust.audience.contains(a),
            Some(serde_json::Value::Array(list)) => list
                .iter()
                .filter_map(serde_json::Value::as_str)
                .any(|a| trust.audience.iter().any(|t| t == a)),
            _ => false,
        };
        if !aud_ok {
            return Err(fail("the audience is not this STS"));
        }
        match num("exp") {
            Some(exp) if exp.saturating_add(skew) > now => {}
            Some(_) => return Err(fail("expired")),
            None => return Err(fail("no exp claim")),
        }
        if num("nbf").is_some_and(|nbf| nbf.saturating_sub(skew) > now) {
            return Err(fail("not valid yet (nbf)"));
        }
        if num("iat").is_some_and(|iat| iat.saturating_sub(skew) > now) {
            return Err(fail("issued in the future (iat)"));
        }
        let name = claims
            .get(&trust.principal_claim)
            .and_then(serde_json::Value::as_str)
            .filter(|n| !n.is_empty() && n.len() <= 256)
            .ok_or_else(|| fail(&format!("no usable `{}` claim", trust.principal_claim)))?;
        self.known_principal(instance, name, PrincipalSource::FederatedToken, fail)
    }

    /// A client certificate chain to a principal of the instance's realm: trusted at the
    /// engine's clock time, not revoked, fit for client authentication, and naming a user
    /// who is enabled and not an administrator of this STS.
    pub fn authenticate_x509(
        &self,
        instance: &Instance,
        chain: &[Vec<u8>],
    ) -> Result<Principal, EngineError> {
        let fail = |m: &str| EngineError::FailedAuthentication(format!("X.509: {m}"));
        let trust = instance
            .x509_trust
            .as_ref()
            .ok_or_else(|| fail("this instance trusts no certificate authority"))?;
        let name = trust
            .principal(chain, self.clock.now())
            .map_err(|m| fail(&m))?;
        self.known_principal(instance, &name, PrincipalSource::X509, fail)
    }

    /// A trusted issuer's signed bearer assertion to its subject, once per assertion ID.
    pub fn authenticate_saml(
        &self,
        instance: &Instance,
        xml: &[u8],
    ) -> Result<Principal, EngineError> {
        let fail = |m: &str| EngineError::FailedAuthentication(format!("SAML2 assertion: {m}"));
        let now = self.clock.now();
        let asserted = saml_input::verify(xml, &instance.saml_trust, now, self.freshness.max_skew)
            .map_err(|m| fail(&m))?;
        let key = format!("saml2\u{0}{}\u{0}{}", asserted.issuer, asserted.id);
        match self.nonces.insert(
            key.as_bytes(),
            asserted.not_on_or_after + self.freshness.max_skew,
            now,
        ) {
            nonces::Insert::Fresh => {}
            nonces::Insert::Replay => return Err(fail("this assertion was already used")),
            nonces::Insert::Full => {
                return Err(EngineError::Busy(
                    "too many recent assertions; retry later".into(),
                ));
            }
        }
        self.known_principal(
            instance,
            &asserted.name_id,
            PrincipalSource::FederatedToken,
            fail,
        )
    }

    /// Refuses a value (a message signature, say) seen before, remembering it until
    /// `until` (plus skew); `kind` keeps kinds of values apart.
    pub fn accept_once(
        &self,
        kind: &[u8],
        value: &[u8],
        until: DateTime<Utc>,
    ) -> Result<(), EngineError> {
        let now = self.clock.now();
        let key = [kind, b"\0", value].concat();
        match self
            .nonces
            .insert(&key, until + self.freshness.max_skew, now)
        {
            nonces::Insert::Fresh => Ok(()),
            nonces::Insert::Replay => Err(EngineError::FailedAuthentication(
                "this message was already received (replay)".into(),
            )),
            nonces::Insert::Full => Err(EngineError::Busy(
                "too many recent messages; retry later".into(),
            )),
        }
    }

    /// The user `name` of the instance's realm, as the subject of a credential another
    /// party vouched for: unknown users pass without attributes; disabled users and the
    /// STS's administrators do not.
    fn known_principal(
        &self,
        instance: &Instance,
        name: &str,
        source: PrincipalSource,
        fail: impl Fn(&str) -> EngineError,
    ) -> Result<Principal, EngineError> {
        // Instance::resolve normalised the realm.
        let realm = instance.config.realm().to_owned();
        let user = self
            .users
            .find(&realm, name)
            .map_err(|e| EngineError::RequestFailed(format!("identity store: {e}")))?;
        if user.as_ref().is_some_and(|u| u.disabled) {
            return Err(fail("the user is disabled"));
        }
        // Another party's assertion never stands for one of this STS's administrators.
        if user.as_ref().is_some_and(|u| u.admin) {
            return Err(fail("the principal is an administrator of this STS"));
        }
        Principal::new(
            realm,
            name.to_owned(),
            user.map(|u| u.attributes).unwrap_or_default(),
            match source {
                // This request proved possession of the certificate's key (RFC 8176 `pop`).
                PrincipalSource::X509 => Some((self.clock.now(), "pop")),
                _ => None,
            },
            source,
        )
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Checks a message Timestamp: not created in the future, not expired.
    pub fn check_timestamp(&self, ts: &MessageTimestamp) -> Result<(), EngineError> {
        let now = self.clock.now();
        if let (Some(c), Some(e)) = (ts.created, ts.expires)
            && e < c
        {
            return Err(EngineError::InvalidRequest(
                "wsu:Timestamp expires before it was created".into(),
            ));
        }
        if ts
            .created
            .is_some_and(|c| c > now + self.freshness.max_skew)
        {
            return Err(EngineError::ExpiredData(
                "wsu:Timestamp is created in the future".into(),
            ));
        }
        if ts
            .expires
            .is_some_and(|e| e + self.freshness.max_skew < now)
        {
            return Err(EngineError::ExpiredData("wsu:Timestamp has expired".into()));
        }
        Ok(())
    }

    /// Checks a UsernameToken `Created` and records its nonce; a nonce seen inside the window
    /// is a replay.
    fn check_fresh_nonce(&self, nonce: &[u8], created: &str) -> Result<(), EngineError> {
        let now = self.clock.now();
        let created_at = crate::wstrust::parse_datetime(created).ok_or_else(|| {
            EngineError::InvalidRequest("UsernameToken wsu:Created is not a dateTime".into())
        })?;
        if created_at > now + self.freshness.max_skew {
            return Err(EngineError::ExpiredData(
                "UsernameToken is created in the future".into(),
            ));
        }
        if created_at + self.freshness.window < now - self.freshness.max_skew {
            return Err(EngineError::ExpiredData(
                "UsernameToken is older than the freshness window".into(),
            ));
        }
        if !(8..=MAX_NONCE_BYTES).contains(&nonce.len()) {
            return Err(EngineError::InvalidRequest(format!(
                "a UsernameToken nonce must have 8 to {MAX_NONCE_BYTES} bytes"
            )));
        }
        let remember_until = created_at + self.freshness.window + self.freshness.max_skew * 2;
        match self.nonces.insert(nonce, remember_until, now) {
            nonces::Insert::Fresh => Ok(()),
            nonces::Insert::Replay => Err(EngineError::FailedAuthentication(
                "the UsernameToken nonce was already used".into(),
            )),
            nonces::Insert::Full => Err(EngineError::Busy(
                "too many recent nonces; retry later".into(),
            )),
        }
    }

    /// Validates a credential in `realm` to a principal.
    pub fn authenticate(&self, realm: &str, cred: &Credential) -> Result<Principal, EngineError> {
        let failed = || EngineError::FailedAuthentication("authentication failed".into());
        let (username, source) = match cred {
            Credential::PasswordText {
                username, source, ..
            }
            | Credential::PasswordDigest {
                username, source, ..
            } => (username, Source::of(*source)),
            Credential::Session { token } => {
                return match self.session_principal(token.expose(), Some(realm))? {
                    Some((p, _, _)) => Ok(p),
                    None => Err(failed()),
                };
            }
            // Need an instance's trust: see `authenticate_oidc`, `authenticate_x509`.
            Credential::OidcIdToken { .. }
            | Credential::X509 { .. }
            | Credential::Saml2Assertion { .. } => return Err(failed()),
        };
        let realm_n = crate::identity::normalize_realm(realm);
        let now = self.clock.now();
        // A locked account or source fails like a wrong password, whatever was presented.
        if self.throttle.is_locked(&realm_n, username, source, now) {
            return Err(failed());
        }
        let user = self
            .users
            .find(realm, username)
            .map_err(|e| EngineError::RequestFailed(format!("identity store: {e}")))?;
        let ok = match (cred, &user) {
            (
                Credential::PasswordText {
                    password,
                    nonce,
                    created,
                    ..
                },
                Some(u),
            ) => {
                // Verify before recording the nonce, so that guesses do not burn nonces.
                let ok = verify_password(password.expose(), &u.password_hash);
                if ok && let (Some(n), Some(c)) = (nonce, created) {
                    self.check_fresh_nonce(n, c)?;
                }
                ok
            }
            (
                Credential::Session { .. }
                | Credential::OidcIdToken { .. }
                | Credential::X509 { .. }
                | Credential::Saml2Assertion { .. },
                _,
            ) => false,
            (Credential::PasswordText { password, .. }, None) => {
                // Spend the same effort for unknown users, so timing does not reveal them.
                let _ = verify_password(password.expose(), &dummy_hash());
                false
            }
            (
                Credential::PasswordDigest {
                    digest,
                    nonce,
                    created,
                    ..
                },
                user,
            ) => {
                let secret = user.as_ref().and_then(|u| u.digest_secret.as_ref());
                let expected = sha1_digest_b64(
                    nonce,
                    created,
                    secret.map(|s| s.expose().as_str()).unwrap_or(""),
                );
                let ok = secret.is_some()
                    && ct_eq(expected.as_bytes(), digest.expose().trim().as_bytes());
                if ok {
                    self.check_fresh_nonce(nonce, created)?;
                }
                ok
            }
        };
        match user {
            Some(u) if ok && !u.disabled => {
                self.throttle.success(&realm_n, username, source);
                Principal::new(
                    realm_n,
                    u.username,
                    u.attributes,
                    Some((now, "pwd")),
                    PrincipalSource::Password,
                )
            }
            _ => {
                // The name is the client's claim; Debug-escaped, and no secret is logged.
                match self.throttle.failure(&realm_n, username, source, now) {
                    Locked::Nothing => {}
                    Locked::Pair => {
                        tracing::warn!(realm = %realm_n, user = ?username, %source, "sign-in to the account from this source locked after repeated failures")
                    }
                    Locked::Source => {
                        tracing::warn!(%source, "sign-ins from this source locked after repeated failures")
                    }
                }
                Err(failed())
            }
        }
    }
}
/// A valid argon2id hash of a random password, computed once, for unknown-user timing.
fn dummy_hash() -> Secret<String> {
    static DUMMY: std::sync::OnceLock<Secret<String>> = std::sync::OnceLock::new();
    DUMMY
        .get_or_init(|| {
            let mut pw = [0u8; 24];
            let _ = openssl::rand::rand_bytes(&mut pw);
            crate::identity::hash_password(&base64::engine::general_purpose::STANDARD.encode(pw))
                .unwrap_or_default()
        })
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_matches_the_wss4j_capture() {
        // From ../shared/interop/captures/wss4j-issue-soap11-digest.xml (password s3cret).
        let nonce = base64::engine::general_purpose::STANDARD
            .decode("o5CBhjdHfQp+WvXqJmc2pg==")
            .unwrap();
        assert_eq!(
            sha1_digest_b64(&nonce, "2026-11-22T03:34:42.969Z", "s3cret"),
            "SieveVtW3jNdKVLAKt3wbwna41c="
        );
    }
}
