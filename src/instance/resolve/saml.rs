//! How an instance signs its assertions (`saml2-config`): the key, the SignatureMethod and
//! the DigestMethod. A named alias must exist whatever `saml2-sign-assertion` says, so a typo
//! is a publish error, never a silent fallback; signing is the default and an unsigned
//! instance is an explicit `"saml2-sign-assertion": "false"`. The algorithm URIs were
//! checked by [`validate`](super::super::validate).

use std::sync::Arc;

use crate::crypto::{KeyKind, SigningKey};
use crate::instance::Saml2Config;
use crate::instance::validate::{digest_algorithm, signature_algorithm};
use crate::keyring::Keyring;
use crate::xmldsig::{DigestAlgorithm, SignatureAlgorithm};

/// The key and algorithms an instance signs its assertions with.
#[derive(Debug, Clone)]
pub struct SamlSigning {
    pub key: Arc<SigningKey>,
    pub signature: SignatureAlgorithm,
    pub digest: DigestAlgorithm,
}

/// The signing of an instance's assertions: `None` when it does not sign (an explicit
/// choice) or when a problem was recorded.
pub(super) fn resolve(
    s: &Saml2Config,
    keys: &Keyring,
    default_key: &str,
    problems: &mut Vec<String>,
) -> Option<SamlSigning> {
    let before = problems.len();
    // An alias that is named must exist, signing or not; without one, the default key is
    // needed only to sign.
    let key = match (s.signature_key_alias.as_deref(), s.sign_assertion) {
        (None, false) => None,
        (alias, _) => {
            let alias = alias.unwrap_or(default_key);
            let key = keys.signing.get(alias).cloned();
            if key.is_none() {
                problems.push(format!(
                    "saml2-config.saml2-signature-key-alias `{alias}` names no key in keys/ (a {alias}.key.pem with its {alias}.crt.pem)"
                ));
            }
            key
        }
    };
    let key = key?;
    // Refused URIs were reported by validation.
    let signature = match s.signature_algorithm.as_deref() {
        Some(uri) => signature_algorithm(uri).ok()?,
        None => match key.kind() {
            KeyKind::Rsa => SignatureAlgorithm::RsaSha256,
            KeyKind::Ec => SignatureAlgorithm::EcdsaSha256,
        },
    };
    if signature.key_kind() != key.kind() {
        problems.push(format!(
            "saml2-config.saml2-signature-algorithm {} does not fit key `{}` ({:?})",
            signature.uri(),
            key.alias(),
            key.kind()
        ));
    }
    let digest = match s.digest_algorithm.as_deref() {
        Some(uri) => digest_algorithm(uri).ok()?,
        None => DigestAlgorithm::Sha256,
    };
    if problems.len() != before || !s.sign_assertion {
        return None;
    }
    Some(SamlSigning {
        key,
        signature,
        digest,
    })
}
