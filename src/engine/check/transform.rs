//! Validate to a new token (WS-Trust 1.3 section 9 lets a Validate return a new token; CXF's
//! STS transforms on Validate): a token of this STS that validates is re-issued as another
//! type the instance issues, when `supported-token-transforms` lists the pair. The new token
//! is issued for the validated token's subject, looked up in the instance's realm as any
//! party's vouched-for subject is (attributes from the directory now, not from the old token).
//!
//! The new token is a bearer token for the requested audience, so only what already works as
//! one may be transformed: the token itself must be presented (an ID names a token, it does not
//! prove holding it), and a token bound to a key, vouched for by a sender, naming an actor, or
//! issued not to be renewed is refused (its restrictions would not survive the re-issue).

use std::collections::BTreeMap;

use super::super::{
    Engine, EngineError, IssueRequest, Issued, ResolvedInstance, TokenTarget, Validation,
};
use crate::instance::TokenType;

impl Engine {
    /// Validates `target` and, when it is valid, issues a token of type `output` for its
    /// subject. An invalid token gives the status and no token; a transform the instance does
    /// not list is refused.
    pub fn validate_to(
        &self,
        instance: &ResolvedInstance,
        target: &TokenTarget,
        output: TokenType,
        applies_to: Option<String>,
    ) -> Result<(Validation, Option<Issued>), EngineError> {
        let transforms = instance
            .config
            .soap()
            .map(|c| c.supported_token_transforms.as_slice())
            .unwrap_or_default();
        if !transforms.iter().any(|t| t.output == output) {
            return Err(EngineError::Unsupported(format!(
                "this instance's Validate returns a status, not {} tokens (supported-token-transforms lists none)",
                output.name()
            )));
        }
        match target {
            TokenTarget::Token(_) | TokenTarget::Jwt(_) => {}
            TokenTarget::Reference(_) | TokenTarget::Custom { .. } => {
                return Err(EngineError::Unsupported(
                    "a token is transformed on Validate only when it is presented itself, not named by its ID".into(),
                ));
            }
        }
        let live = match self.check(instance, target)? {
            Ok(live) => live,
            Err(reason) => {
                self.audit(
                    crate::audit::Event::new("token.validated")
                        .with("instance", instance.config.subpath())
                        .with("realm", instance.config.realm())
                        .with("valid", false)
                        .with("reason", reason),
                )?;
                return Ok((
                    Validation {
                        valid: false,
                        reason: reason.to_string(),
                    },
                    None,
                ));
            }
        };
        if !transforms
            .iter()
            .any(|t| t.output == output && t.input == live.token_type)
        {
            return Err(EngineError::Unsupported(format!(
                "{} to {} is not a supported token transform of this instance (supported-token-transforms)",
                live.token_type.name(),
                output.name()
            )));
        }
        if let Some(what) = restriction(target) {
            return Err(EngineError::Unsupported(format!(
                "a token {what} is not transformed on Validate: the new token would be a bearer token without that restriction"
            )));
        }
        let subject = live.subject.ok_or_else(|| {
            EngineError::Invalid("the validated token names no subject to issue for".into())
        })?;
        let fail = |m: &str| EngineError::refused(format!("the validated token's subject: {m}"));
        // One of this STS's SAML assertions: its subject's account now, as a renewal checks it.
        let origin = match target {
            TokenTarget::Token(xml) => super::super::renew::subject_origin(xml),
            _ => None,
        };
        let principal = match origin {
            Some(origin) => self.reissued_subject(instance, &subject, origin, fail)?,
            None => self.vouched_by_plugin(instance, &subject, BTreeMap::new(), fail)?,
        };
        let mut req = IssueRequest::new(output);
        req.applies_to = applies_to;
        // A re-issue is bounded as renewals are: by the first authentication's age.
        if let TokenTarget::Token(xml) = target {
            req.authn_instant =
                super::super::renew::first_authentication(instance, xml, self.clock.now())?;
        }
        let mut issued = self.issue(instance, &principal, &req)?;
        self.audit(
            crate::audit::Event::new("token.validated")
                .with("instance", instance.config.subpath())
                .with("realm", instance.config.realm())
                .with("token_type", live.token_type.name())
                .with("token_id", &live.id)
                .with("principal", &subject)
                .with("valid", true)
                .with("reason", "the token is valid"),
        )?;
        self.audit_pending(
            crate::audit::Event::new("token.issued")
                .with("instance", instance.config.subpath())
                .with("realm", instance.config.realm())
                .with("principal", principal.name())
                .with("principal_realm", principal.realm())
                .with("token_type", output.name())
                .with("input_token_type", live.token_type.name())
                .with("token_id", &issued.id)
                .with("via", "validate"),
            &mut issued.durable,
        )?;
        Ok((
            Validation {
                valid: true,
                reason: "the token is valid".into(),
            },
            Some(issued),
        ))
    }
}

/// What binds a (verified, this STS's own) token beyond its bearer, if anything. A plain
/// search of the token's text: it fails closed (an attribute value that happens to hold one
/// of these strings is refused too, never the other way round).
fn restriction(target: &TokenTarget) -> Option<&'static str> {
    use crate::xml::ns;
    let text = match target {
        TokenTarget::Token(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        TokenTarget::Jwt(jwt) => {
            let claims = jwt
                .split('.')
                .nth(1)
                .and_then(crate::crypto::encoding::b64url_decode)
                .and_then(|c| serde_json::from_slice::<serde_json::Value>(&c).ok());
            let Some(claims) = claims else {
                return Some("whose claims cannot be read");
            };
            if claims.get("act").is_some() {
                return Some("naming an actor (act)");
            }
            if claims.get("cnf").is_some() {
                return Some("bound to a key (cnf)");
            }
            return None;
        }
        _ => return Some("named by its ID"),
    };
    [
        (ns::CM_HOLDER_OF_KEY, "bound to a key (holder-of-key)"),
        (ns::CM1_HOLDER_OF_KEY, "bound to a key (holder-of-key)"),
        (ns::CM_SENDER_VOUCHES, "vouched for by a sender"),
        (ns::CM1_SENDER_VOUCHES, "vouched for by a sender"),
        (ns::SAML2_DELEGATION, "naming an actor (del:Delegate)"),
        (ns::CLAIM_ACTOR, "naming an actor"),
        ("Allow=\"false\"", "issued not to be renewed (wst:Renewing Allow=\"false\")"),
    ]
    .into_iter()
    .find(|(needle, _)| text.contains(needle))
    .map(|(_, what)| what)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::encoding::b64url_encode;

    #[test]
    fn restrictions_that_a_bearer_reissue_would_drop_are_found() {
        let token = |s: &str| TokenTarget::Token(s.as_bytes().to_vec());
        let bearer = "<saml2:SubjectConfirmation Method=\"urn:oasis:names:tc:SAML:2.0:cm:bearer\"/>";
        assert_eq!(restriction(&token(bearer)), None);
        for (t, want) in [
            ("Method=\"urn:oasis:names:tc:SAML:2.0:cm:holder-of-key\"", "bound to a key (holder-of-key)"),
            ("Method=\"urn:oasis:names:tc:SAML:1.0:cm:holder-of-key\"", "bound to a key (holder-of-key)"),
            ("Method=\"urn:oasis:names:tc:SAML:2.0:cm:sender-vouches\"", "vouched for by a sender"),
            ("xmlns:del=\"urn:oasis:names:tc:SAML:2.0:conditions:delegation\"", "naming an actor (del:Delegate)"),
            ("<Renewing Allow=\"false\"/>", "issued not to be renewed (wst:Renewing Allow=\"false\")"),
        ] {
            assert_eq!(restriction(&token(&format!("{bearer}{t}"))), Some(want), "{t}");
        }
        let jwt = |claims: &str| {
            TokenTarget::Jwt(format!("e30.{}.sig", b64url_encode(claims.as_bytes())))
        };
        assert_eq!(restriction(&jwt(r#"{"sub":"a"}"#)), None);
        assert_eq!(restriction(&jwt(r#"{"sub":"a","act":{"sub":"b"}}"#)), Some("naming an actor (act)"));
        assert_eq!(restriction(&jwt(r#"{"sub":"a","cnf":{}}"#)), Some("bound to a key (cnf)"));
        assert_eq!(
            restriction(&TokenTarget::Jwt("e30.!!.sig".into())),
            Some("whose claims cannot be read")
        );
        assert_eq!(restriction(&TokenTarget::Reference("x".into())), Some("named by its ID"));
    }
}
