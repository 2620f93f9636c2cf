//! How an instance signs its assertions (`saml2-config`): the key, the SignatureMethod and
//! the DigestMethod. Everything named is checked whatever `saml2-sign-assertion` says, so a
//! typo in an alias or an algorithm is a publish error, never a silent fallback; signing is
//! the default and an unsigned instance is an explicit `"saml2-sign-assertion": "false"`.
//! SHA-1 is not offered: this STS does not accept SHA-1 signatures (it could not validate
//! its own tokens), and relying parties should not either.

use crate::instance::Saml2Config;
use crate::keyring::Keyring;
use crate::xmldsig::{DigestAlgorithm, SignatureAlgorithm};

use super::SamlSigning;

/// Whether an algorithm URI names SHA-1 (RSA, DSA, ECDSA, HMAC or the digest itself).
fn is_sha1(uri: &str) -> bool {
    let lower = uri.to_ascii_lowercase();
    lower.ends_with("sha1") || lower.ends_with("sha-1")
}

fn accepted<T: Copy>(all: &[T], uri: impl Fn(T) -> &'static str) -> String {
    all.iter().map(|a| uri(*a)).collect::<Vec<_>>().join(", ")
}

/// Reads `field` (a URI) into one of `all`: a refusal names the field, the value and the
/// accepted URIs.
fn algorithm<T: Copy>(
    field: &str,
    uri: &str,
    all: &[T],
    uri_of: impl Fn(T) -> &'static str,
    problems: &mut Vec<String>,
) -> Option<T> {
    if let Some(a) = all.iter().copied().find(|a| uri_of(*a) == uri) {
        return Some(a);
    }
    let list = accepted(all, uri_of);
    problems.push(if is_sha1(uri) {
        format!(
            "saml2-config.{field} `{uri}`: SHA-1 is not offered for signing (it is broken, and this STS does not verify SHA-1 signatures, so it could not validate its own tokens); use one of: {list}"
        )
    } else {
        format!("saml2-config.{field} `{uri}` is not supported; use one of: {list}")
    });
    None
}

/// The signing of an instance's assertions: `None` when it does not sign (an explicit
/// choice) or when a problem was recorded.
pub fn resolve(
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
            match keys.signing.get(alias) {
                Some(k) => Some(k.clone()),
                None => {
                    problems.push(format!(
                        "saml2-config.saml2-signature-key-alias `{alias}` names no key in keys/ (a {alias}.key.pem with its {alias}.crt.pem)"
                    ));
                    None
                }
            }
        }
    };
    let signature = s.signature_algorithm.as_deref().and_then(|uri| {
        algorithm(
            "saml2-signature-algorithm",
            uri,
            &SignatureAlgorithm::ALL,
            SignatureAlgorithm::uri,
            problems,
        )
    });
    let digest = s
        .digest_algorithm
        .as_deref()
        .map_or(Some(DigestAlgorithm::Sha256), |uri| {
            algorithm(
                "saml2-digest-algorithm",
                uri,
                &DigestAlgorithm::ALL,
                DigestAlgorithm::uri,
                problems,
            )
        });
    let key = key?;
    let signature = match (signature, &s.signature_algorithm) {
        (Some(a), _) => a,
        (None, Some(_)) => return None,
        (None, None) => match key.kind() {
            crate::xmldsig::KeyKind::Rsa => SignatureAlgorithm::RsaSha256,
            crate::xmldsig::KeyKind::Ec => SignatureAlgorithm::EcdsaSha256,
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
    let digest = digest?;
    if problems.len() != before || !s.sign_assertion {
        return None;
    }
    Some(SamlSigning {
        key,
        signature,
        digest,
    })
}
