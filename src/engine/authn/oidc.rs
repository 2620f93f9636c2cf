//! Another issuer's id_token (`OPENIDCONNECT` input): one of the instance's trusted issuers,
//! its algorithms and keys only, `aud`, `exp`, `nbf` and `iat` with the configured skew, and
//! each token accepted once (per issuer, until `exp`), as every other input credential: by its
//! `jti`, or, without one, by its signed content (header and claims as signed). The signed
//! content rather than the signature value, because an ECDSA signature (r, s) also verifies as
//! (r, n - s): a re-signed copy of the same claims would pass a key made of the signature.
//! OpenAM accepts a token without `jti` until it expires; an issuer entry opts into that with
//! `insecure-accept-replays-without-jti`.

use super::super::check::rules::{Outside, TimeWindow, audience_matches, jwt_audiences};
use super::super::{AuthFailure, Engine, EngineError, ResolvedInstance};
use super::{Principal, PrincipalSource};

impl Engine {
    /// Validates an id_token of one of the instance's trusted issuers. The principal is the
    /// `principal-claim`; a user of that name in the instance's realm lends its attributes.
    pub(super) fn oidc(
        &self,
        instance: &ResolvedInstance,
        token: &str,
    ) -> Result<Principal, EngineError> {
        let fail = |m: &str| EngineError::refused(format!("id_token: {m}"));
        let untrusted = || {
            EngineError::UnknownIssuer(
                "id_token: the issuer is not trusted by this instance".into(),
            )
        };
        // `iss` only selects whose keys to try; it is checked again once verified.
        let claimed_iss = crate::tokens::oidc::unverified_claim(token, "iss")
            .ok_or_else(|| fail("not a JWT with an iss claim"))?;
        let trust = instance
            .oidc_trust
            .iter()
            .find(|t| t.issuer == claimed_iss)
            .ok_or_else(untrusted)?;
        let verified = crate::tokens::oidc::verify_trusted(token, &trust.algorithms, &trust.keys)
            .map_err(|e| match e {
            crate::tokens::oidc::JwtError::UnknownAlgorithm(a) => {
                fail(&format!("algorithm `{a}` is not accepted for this issuer"))
            }
            crate::tokens::oidc::JwtError::Malformed(m) => fail(m),
            _ => EngineError::BadSignature(
                "id_token: the signature does not verify with the issuer's keys".into(),
            ),
        })?;
        let claims = verified.claims();
        // A time claim that is present must be an integer: a value `as_i64` cannot read is
        // refused, not skipped.
        for name in ["exp", "nbf", "iat"] {
            if claims.get(name).is_some_and(|v| v.as_i64().is_none()) {
                return Err(fail(&format!("the {name} claim is not an integer")));
            }
        }
        let num = |name: &str| claims.get(name).and_then(serde_json::Value::as_i64);
        if claims.get("iss").and_then(serde_json::Value::as_str) != Some(trust.issuer.as_str()) {
            return Err(untrusted());
        }
        if !audience_matches(jwt_audiences(claims.get("aud")), &trust.audience) {
            return Err(fail("the audience is not this STS"));
        }
        let late =
            |m: &str| EngineError::AuthFailed(AuthFailure::OutOfTime(format!("id_token: {m}")));
        let window = TimeWindow::foreign(self.freshness.max_skew);
        let now = self.clock.now();
        let Some(exp) = num("exp") else {
            return Err(fail("no exp claim"));
        };
        if window.check_secs(None, Some(exp), now) == Err(Outside::Over) {
            return Err(late("expired"));
        }
        if window.check_secs(num("nbf"), None, now).is_err() {
            return Err(late("not valid yet (nbf)"));
        }
        if window.check_secs(num("iat"), None, now).is_err() {
            return Err(late("issued in the future (iat)"));
        }
        let name = claims
            .get(&trust.principal_claim)
            .and_then(serde_json::Value::as_str)
            .filter(|n| !n.is_empty() && n.len() <= 256)
            .ok_or_else(|| fail(&format!("no usable `{}` claim", trust.principal_claim)))?;
        let jti = match claims.get("jti") {
            None => None,
            Some(serde_json::Value::String(j)) => Some(j),
            Some(_) => return Err(fail("the jti claim is not a string")),
        };
        let principal =
            self.known_principal(instance, name, PrincipalSource::FederatedToken, fail)?;
        // Remembered until it expires: an `exp` past what a date can hold is refused, neither
        // kept for a moment only (it would be accepted again) nor added to (which overflows).
        let until = chrono::DateTime::from_timestamp(exp, 0)
            .and_then(|t| t.checked_add_signed(self.freshness.max_skew))
            .ok_or_else(|| fail("the exp claim is out of range"))?;
        let full = "too many recent id_tokens; retry later";
        if let Some(jti) = jti {
            let key = format!("jwt\u{0}{}\u{0}{jti}", trust.issuer);
            self.remember(
                key.as_bytes(),
                until,
                "id_token: this token (jti) was already used",
                full,
            )?;
        } else if !trust.replays_without_jti {
            // The signing input verified above: the token's first two parts as sent (the
            // verifier trims the token the same way and refused anything but three parts).
            let signed = token
                .trim()
                .rsplit_once('.')
                .map_or(token.as_bytes(), |(input, _)| input.as_bytes());
            let digest = openssl::sha::sha256(signed);
            let parts: [&[u8]; 4] = [b"jwt-signed\0", trust.issuer.as_bytes(), b"\0", &digest];
            let key = parts.concat();
            self.remember(
                &key,
                until,
                "id_token: this token was already used (it has no jti: the same signed claims)",
                full,
            )?;
        }
        Ok(principal)
    }
}
