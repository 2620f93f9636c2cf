//! The one way a [`Principal`] is made: every validator (passwords, sessions, id_tokens,
//! SAML assertions, certificates, custom plug-ins) names its subject through
//! [`Principal::new`], which refuses names that would reach tokens, the store and the log
//! with control characters in them.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::{EngineError, Principal, PrincipalSource};

impl Principal {
    /// An authenticated subject. A name with a control character (C0, DEL or C1: NUL, CR,
    /// LF, ESC, ...) is refused as a failed authentication: whoever vouched for it, it would
    /// be written into the issued token, the store and the log.
    pub fn new(
        realm: String,
        name: String,
        attributes: BTreeMap<String, Vec<String>>,
        authenticated: Option<(DateTime<Utc>, &'static str)>,
        source: PrincipalSource,
    ) -> Result<Principal, EngineError> {
        if let Some(c) = name.chars().find(|c| c.is_control()) {
            return Err(EngineError::FailedAuthentication(format!(
                "the principal name contains a control character (U+{:04X})",
                u32::from(c)
            )));
        }
        if name.is_empty() {
            return Err(EngineError::FailedAuthentication(
                "the principal name is empty".into(),
            ));
        }
        Ok(Principal {
            realm,
            name,
            attributes,
            authenticated,
            source,
        })
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
        assert_eq!(make("alice@example.com").unwrap().name, "alice@example.com");
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
                matches!(make(bad), Err(EngineError::FailedAuthentication(_))),
                "{bad:?} accepted"
            );
        }
    }
}
