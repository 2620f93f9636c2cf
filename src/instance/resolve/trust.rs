//! Issuers whose tokens an instance accepts as input, bound to their keys: OpenID Connect
//! issuers (`oidc-trusted-issuers`, keys inline or in a JWK set file) and SAML 2.0 issuers
//! (`saml2-trusted-issuers`, a certificate in keys/). Issuer names, audiences, algorithm names
//! and secret lengths were checked by validation.

use std::sync::Arc;

use serde_json::Value;

use super::files::InstanceFiles;
use crate::crypto::Certificate;
use crate::instance::validate::trusted_algorithms;
use crate::instance::{TrustedIssuerConfig, TrustedSamlIssuerConfig};
use crate::keyring::Keyring;
use crate::secret::Secret;
use crate::tokens::oidc::{TrustedAlgorithm, TrustedKey};

/// A trusted id_token issuer, resolved.
#[derive(Debug, Clone)]
pub struct TrustedIssuer {
    pub issuer: String,
    pub audience: Vec<String>,
    pub algorithms: Vec<TrustedAlgorithm>,
    pub keys: Vec<TrustedKey>,
    pub principal_claim: String,
    /// `insecure-accept-replays-without-jti`: tokens without `jti` are not accepted once.
    pub replays_without_jti: bool,
}

/// An issuer whose assertions an instance accepts, resolved.
#[derive(Debug, Clone)]
pub struct TrustedSamlIssuer {
    pub issuer: String,
    pub certificate: Arc<Certificate>,
    pub audience: Vec<String>,
}

/// `oidc-trusted-issuers`, each with the keys that verify its tokens.
pub(super) fn oidc(
    list: &[TrustedIssuerConfig],
    files: &InstanceFiles,
    problems: &mut Vec<String>,
) -> Vec<TrustedIssuer> {
    let mut out = Vec::new();
    for (i, t) in list.iter().enumerate() {
        let at = format!("oidc-trusted-issuers[{i}]");
        let before = problems.len();
        let (algorithms, _) = trusted_algorithms(&at, t);
        let mut keys = Vec::new();
        if let Some(j) = jwks(&at, t, files, problems) {
            match j.get("keys").and_then(Value::as_array) {
                Some(list) => {
                    for (k, jwk) in list.iter().enumerate() {
                        match TrustedKey::from_jwk(jwk) {
                            Ok(key) => keys.push(key),
                            Err(e) => problems.push(format!("{at}.jwks.keys[{k}]: {e}")),
                        }
                    }
                }
                None => problems.push(format!("{at}.jwks must be a JWK set ({{\"keys\": [...]}})")),
            }
        }
        if let Some(secret) = &t.client_secret {
            keys.push(TrustedKey::Hmac(Secret::new(
                secret.expose().as_bytes().to_vec(),
            )));
        }
        for alg in &algorithms {
            if !keys.iter().any(|k| k.fits(*alg)) {
                problems.push(format!("{at}: no key can verify {} tokens", alg.name()));
            }
        }
        if problems.len() == before {
            out.push(TrustedIssuer {
                issuer: t.issuer.clone(),
                audience: t.audience.clone(),
                algorithms,
                keys,
                principal_claim: t.principal_claim.clone(),
                replays_without_jti: t.insecure_accept_replays_without_jti,
            });
        }
    }
    out
}

/// The JWK set of an entry, inline or read from its `jwks-file` (both at once was refused
/// by validation).
fn jwks(
    at: &str,
    t: &TrustedIssuerConfig,
    files: &InstanceFiles,
    problems: &mut Vec<String>,
) -> Option<Value> {
    match (&t.jwks, &t.jwks_file) {
        (Some(j), None) => Some(j.clone()),
        (None, Some(path)) => match files.read(&format!("{at}.jwks-file"), path) {
            Ok(b) => match serde_json::from_slice(&b) {
                Ok(j) => Some(j),
                Err(e) => {
                    problems.push(format!("{at}.jwks-file `{path}`: not JSON: {e}"));
                    None
                }
            },
            Err(e) => {
                problems.push(e);
                None
            }
        },
        _ => None,
    }
}

/// `saml2-trusted-issuers`: `[{"issuer", "certificate" (an alias in keys/), "audience"}]`.
pub(super) fn saml(
    list: &[TrustedSamlIssuerConfig],
    keys: &Keyring,
    problems: &mut Vec<String>,
) -> Vec<TrustedSamlIssuer> {
    let mut out = Vec::new();
    for (i, t) in list.iter().enumerate() {
        match keys.certificates.get(&t.certificate) {
            Some(cert) => out.push(TrustedSamlIssuer {
                issuer: t.issuer.clone(),
                certificate: cert.clone(),
                audience: t.audience.clone(),
            }),
            None => problems.push(format!(
                "saml2-trusted-issuers[{i}].certificate `{}` names no certificate in keys/",
                t.certificate
            )),
        }
    }
    out
}
