//! An instance's X.509 trust for X509 input tokens: its anchors (CA certificates in keys/,
//! `x509-trust-anchors`) built once into an OpenSSL store, serial numbers refused by
//! configuration, and the leaf field that names the principal. Verifying a presented chain
//! is the engine's (`engine::authn::x509`).

use std::sync::Arc;

use openssl::x509::store::{X509Store, X509StoreBuilder};
use openssl::x509::verify::{X509VerifyFlags, X509VerifyParam};
use openssl::x509::{X509, X509PurposeId};

use crate::crypto::Certificate;
use crate::instance::validate::{cert_field, serial};
use crate::keyring::Keyring;

/// Most certificates a presented chain may hold (leaf and intermediates).
pub const MAX_CHAIN: usize = 5;

/// The leaf's field that names the principal (the values of AM's certificate module).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertField {
    SubjectCn,
    SubjectDn,
    SubjectUid,
    Email,
}

impl CertField {
    pub(crate) fn parse(v: &str) -> Option<CertField> {
        match v {
            "subject CN" => Some(Self::SubjectCn),
            "subject DN" => Some(Self::SubjectDn),
            "subject UID" => Some(Self::SubjectUid),
            "email address" => Some(Self::Email),
            _ => None,
        }
    }
}

/// The anchors as an OpenSSL store, built once per instance and shared by concurrent
/// verifications (OpenSSL allows that; each verification has its own context). Time checks
/// are off in it: validity is checked against the engine's clock afterwards.
#[derive(Clone)]
pub(crate) struct Store(pub(crate) Arc<X509Store>);

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("X509Store")
    }
}

fn build_store(anchors: &[Arc<Certificate>]) -> Result<Store, openssl::error::ErrorStack> {
    let mut store = X509StoreBuilder::new()?;
    for a in anchors {
        store.add_cert(X509::from_der(a.der())?)?;
    }
    let mut param = X509VerifyParam::new()?;
    param.set_depth(MAX_CHAIN as i32);
    param.set_purpose(X509PurposeId::SSL_CLIENT)?;
    param.set_flags(X509VerifyFlags::NO_CHECK_TIME)?;
    store.set_param(&param)?;
    Ok(Store(Arc::new(store.build())))
}

/// An instance's X.509 trust, resolved.
#[derive(Debug, Clone)]
pub struct X509Trust {
    pub(crate) store: Store,
    /// Serial numbers refused even when they chain (upper-case hex, no leading zeros).
    pub(crate) revoked: Vec<String>,
    pub(crate) field: CertField,
}

/// A serial number in the one form serials are compared in: upper-case hex, no separators,
/// no leading zeros.
pub(crate) fn normalise_serial(s: &str) -> String {
    let hex: String = s
        .chars()
        .filter(|c| !matches!(c, ':' | ' '))
        .collect::<String>()
        .to_ascii_uppercase();
    let trimmed = hex.trim_start_matches('0');
    if trimmed.is_empty() {
        "0".into()
    } else {
        trimmed.into()
    }
}

/// From `x509-trust-anchors`, `x509-revoked-serials` and the `X509` entry of
/// `deployment-auth-target-mappings`; `None` when the instance names neither anchors nor
/// serials, or when a problem was recorded (here or by validation).
pub(crate) fn resolve(
    anchors: &[String],
    revoked: &[String],
    mappings: &serde_json::Map<String, serde_json::Value>,
    keys: &Keyring,
    problems: &mut Vec<String>,
) -> Option<X509Trust> {
    if anchors.is_empty() && revoked.is_empty() {
        return None;
    }
    let before = problems.len();
    let mut certs = Vec::new();
    for (i, alias) in anchors.iter().enumerate() {
        match keys.certificates.get(alias) {
            Some(c) => certs.push(c.clone()),
            None => problems.push(format!(
                "x509-trust-anchors[{i}]: `{alias}` names no certificate in keys/ ({alias}.crt.pem)"
            )),
        }
    }
    let revoked = revoked.iter().map(|s| serial(s)).collect::<Result<_, _>>();
    let (Ok(revoked), Ok(field)) = (revoked, cert_field(mappings)) else {
        return None;
    };
    if certs.is_empty() || problems.len() > before {
        return None;
    }
    match build_store(&certs) {
        Ok(store) => Some(X509Trust {
            store,
            revoked,
            field,
        }),
        Err(e) => {
            problems.push(format!("x509-trust-anchors: {e}"));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_compare_in_one_form() {
        assert_eq!(normalise_serial("0a:1B:00"), "A1B00");
        assert_eq!(normalise_serial("00"), "0");
    }
}
