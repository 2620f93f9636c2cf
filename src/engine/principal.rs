//! Who a request is for. A [`Principal`] is made in one way ([`Principal::new`], which
//! refuses names with control characters), and the proof that this request authenticated
//! it, [`Authenticated`], only by the engine's authentication (`engine::authn`): issuing and
//! cancelling take that proof, not a bare principal.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::EngineError;
use super::authn::AuthnProof;

/// An authenticated subject.
#[derive(Debug, Clone)]
pub struct Principal {
    realm: String,
    name: String,
    attributes: BTreeMap<String, Vec<String>>,
    authenticated: Option<(DateTime<Utc>, &'static str)>,
    source: PrincipalSource,
}

/// What established a principal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrincipalSource {
    /// A password, now or when the presented session began.
    Password,
    /// A client certificate whose key this request proved.
    X509,
    /// Another issuer's token: how that issuer authenticated the user is not known here.
    FederatedToken,
}

impl Principal {
    /// A subject named by a validator. A name with a control character (C0, DEL or C1: NUL,
    /// CR, LF, ESC, ...) is refused as a failed authentication: whoever vouched for it, it
    /// would be written into the issued token, the store and the log.
    pub(crate) fn new(
        realm: String,
        name: String,
        attributes: BTreeMap<String, Vec<String>>,
        authenticated: Option<(DateTime<Utc>, &'static str)>,
        source: PrincipalSource,
    ) -> Result<Principal, EngineError> {
        if let Some(c) = name.chars().find(|c| c.is_control()) {
            return Err(EngineError::refused(format!(
                "the principal name contains a control character (U+{:04X})",
                u32::from(c)
            )));
        }
        if name.is_empty() {
            return Err(EngineError::refused("the principal name is empty"));
        }
        Ok(Principal {
            realm,
            name,
            attributes,
            authenticated,
            source,
        })
    }

    /// The realm (normalised, `/` or `/sub`).
    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// The user name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The user's attributes, by name.
    pub fn attributes(&self) -> &BTreeMap<String, Vec<String>> {
        &self.attributes
    }

    /// When and how (an RFC 8176 `amr` value) the principal authenticated, when this
    /// request did it (`auth_time`, `amr` of id_tokens).
    pub fn authenticated(&self) -> Option<(DateTime<Utc>, &'static str)> {
        self.authenticated
    }

    /// What the principal was established from, for the SAML authentication context.
    pub fn source(&self) -> PrincipalSource {
        self.source
    }

    /// Adds attributes a custom validator vouched for.
    pub(super) fn extend_attributes(&mut self, more: BTreeMap<String, Vec<String>>) {
        self.attributes.extend(more);
    }
}

/// Proof that the engine authenticated `P` during this request. Only `engine::authn` can
/// make one (it alone has an `AuthnProof`); it can be read and cloned, never forged.
#[derive(Debug, Clone)]
pub struct Authenticated<P> {
    value: P,
    _proof: AuthnProof,
}

impl<P> Authenticated<P> {
    pub(crate) fn new(value: P, proof: AuthnProof) -> Authenticated<P> {
        Authenticated {
            value,
            _proof: proof,
        }
    }

    /// What was authenticated.
    pub fn get(&self) -> &P {
        &self.value
    }

    /// What was authenticated, without the proof.
    pub fn into_inner(self) -> P {
        self.value
    }
}

impl<P> std::ops::Deref for Authenticated<P> {
    type Target = P;
    fn deref(&self) -> &P {
        &self.value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_refused_in_every_principal() {
        let make = |n: &str| {
            Principal::new(
                "/".into(),
                n.into(),
                BTreeMap::new(),
                None,
                PrincipalSource::FederatedToken,
            )
        };
        assert_eq!(
            make("alice@example.com").unwrap().name(),
            "alice@example.com"
        );
        assert!(make("Zoë Ωmega").is_ok());
        for bad in [
            "a\nb",
            "a\rb",
            "a\u{0}b",
            "a\u{1b}[31mb",
            "a\u{7f}b",
            "a\u{85}b",
            "a\tb",
            "",
        ] {
            assert!(
                matches!(make(bad), Err(EngineError::AuthFailed(_))),
                "{bad:?} accepted"
            );
        }
    }
}
