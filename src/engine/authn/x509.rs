//! X.509 client certificates as input tokens (`X509`): a [`ProvenChain`] must lead to one of
//! the instance's trust anchors at the engine's clock time, no certificate of it may be
//! revoked by configuration, the leaf must be fit for client authentication, and a field of
//! the leaf names the principal (`deployment-auth-target-mappings`), a user who is enabled
//! and not an administrator of this STS.
//!
//! Possession of the key was proven by whoever made the [`ProvenChain`] (the TLS handshake,
//! a TLS offload engine the instance trusts, or a message signature).

use chrono::{DateTime, Utc};
use openssl::asn1::Asn1Time;
use openssl::nid::Nid;
use openssl::stack::Stack;
use openssl::x509::{X509, X509StoreContext};

use super::super::{Engine, EngineError, ProvenChain, ResolvedInstance};
use super::{Principal, PrincipalSource};
use crate::instance::resolve::x509::{CertField, normalise_serial};
use crate::instance::resolve::x509::{MAX_CHAIN, X509Trust};

/// Largest certificate accepted.
pub const MAX_CERT_BYTES: usize = 16 * 1024;

/// Why a certificate was refused (the message goes to the client).
pub type Refusal = String;

impl X509Trust {
    /// Verifies `chain` (DER, leaf first) at `now` and returns the principal name.
    pub fn principal(&self, chain: &[Vec<u8>], now: DateTime<Utc>) -> Result<String, Refusal> {
        let Some(leaf_der) = chain.first() else {
            return Err("no client certificate was presented".into());
        };
        if chain.len() > MAX_CHAIN || chain.iter().any(|c| c.len() > MAX_CERT_BYTES) {
            return Err(format!(
                "the certificate chain is too large (at most {MAX_CHAIN} certificates of {MAX_CERT_BYTES} bytes)"
            ));
        }
        let parse = |der: &[u8]| {
            X509::from_der(der).map_err(|_| "a presented certificate is not DER X.509".to_owned())
        };
        let leaf = parse(leaf_der)?;
        let verified = self
            .verify(&leaf, chain, now)
            .map_err(|e| format!("the certificate cannot be verified: {e}"))?;
        let (ok, reason, serials) = verified;
        if !ok {
            return Err(format!("the certificate is not trusted: {reason}"));
        }
        if let Some(s) = serials.iter().find(|s| self.revoked.contains(s)) {
            return Err(format!("certificate serial {s} is revoked"));
        }
        // A control character (an embedded NUL above all) would let one name pass for another.
        self.name_of(&leaf)
            .filter(|n| !n.is_empty() && n.len() <= 256 && !n.chars().any(char::is_control))
            .ok_or_else(|| format!("the certificate has no usable {:?}", self.field))
    }

    /// Runs OpenSSL's path validation, then checks every certificate of the built chain
    /// against `now` (time is a parameter, never the system clock): (valid, reason, serial
    /// numbers of the built chain).
    fn verify(
        &self,
        leaf: &X509,
        chain: &[Vec<u8>],
        now: DateTime<Utc>,
    ) -> Result<(bool, String, Vec<String>), openssl::error::ErrorStack> {
        let mut untrusted = Stack::new()?;
        for der in chain.get(1..).unwrap_or_default() {
            untrusted.push(X509::from_der(der)?)?;
        }
        let now = Asn1Time::from_unix(now.timestamp())?;
        let mut ctx = X509StoreContext::new()?;
        ctx.init(&self.store.0, leaf, &untrusted, |c| {
            let mut ok = c.verify_cert()?;
            let mut reason = c.error().error_string().to_owned();
            let mut serials = Vec::new();
            if let Some(built) = c.chain() {
                for cert in built {
                    let hex = cert.serial_number().to_bn()?.to_hex_str()?.to_string();
                    serials.push(normalise_serial(&hex));
                    // `compare` fails rather than guessing on a time it cannot read.
                    if ok && cert.not_before().compare(&now)? == std::cmp::Ordering::Greater {
                        (ok, reason) = (false, "certificate is not yet valid".into());
                    } else if ok && cert.not_after().compare(&now)? != std::cmp::Ordering::Greater {
                        (ok, reason) = (false, "certificate has expired".into());
                    }
                }
            }
            Ok((ok, reason, serials))
        })
    }

    fn name_of(&self, leaf: &X509) -> Option<String> {
        let entry = |nid: Nid| {
            leaf.subject_name()
                .entries_by_nid(nid)
                .next()
                .and_then(|e| e.data().to_string().ok())
        };
        match self.field {
            CertField::SubjectCn => entry(Nid::COMMONNAME),
            CertField::SubjectUid => entry(Nid::USERID),
            CertField::Email => leaf
                .subject_alt_names()
                .and_then(|names| names.iter().find_map(|n| n.email().map(str::to_owned)))
                .or_else(|| entry(Nid::PKCS9_EMAILADDRESS)),
            CertField::SubjectDn => {
                // RFC 4514 order: most specific first.
                let parts: Vec<String> = leaf
                    .subject_name()
                    .entries()
                    .filter_map(|e| {
                        let key = e.object().nid().short_name().ok()?;
                        let value = e.data().to_string().ok()?;
                        Some(format!("{key}={value}"))
                    })
                    .collect();
                Some(parts.into_iter().rev().collect::<Vec<_>>().join(","))
            }
        }
    }
}

/// Checks that `cert` is inside its validity period at `now`. A time that OpenSSL cannot
/// read or compare is a refusal, never taken as "valid" (fail closed).
pub fn check_validity(
    cert: &openssl::x509::X509Ref,
    now: DateTime<Utc>,
) -> Result<(), &'static str> {
    use std::cmp::Ordering;
    let now = Asn1Time::from_unix(now.timestamp()).map_err(|_| "the clock is out of range")?;
    match cert.not_before().compare(&now) {
        Ok(Ordering::Less | Ordering::Equal) => {}
        Ok(Ordering::Greater) => return Err("not yet valid"),
        Err(_) => return Err("its notBefore cannot be read"),
    }
    match cert.not_after().compare(&now) {
        Ok(Ordering::Greater) => Ok(()),
        Ok(Ordering::Less | Ordering::Equal) => Err("expired"),
        Err(_) => Err("its notAfter cannot be read"),
    }
}

impl Engine {
    /// A proven client certificate chain to a principal of the instance's realm.
    pub(super) fn x509(
        &self,
        instance: &ResolvedInstance,
        chain: &ProvenChain,
    ) -> Result<Principal, EngineError> {
        let fail = |m: &str| EngineError::refused(format!("X.509: {m}"));
        let trust = instance
            .x509_trust
            .as_ref()
            .ok_or_else(|| fail("this instance trusts no certificate authority"))?;
        let name = trust
            .principal(chain.chain(), self.clock.now())
            .map_err(|m| fail(&m))?;
        self.known_principal(instance, &name, PrincipalSource::X509, fail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::Certificate;
    use crate::keyring::Keyring;
    use std::sync::Arc;

    /// A CA and a leaf `CN=alice` valid from now for 30 days: (CA PEM, leaf DER).
    /// A fixed instant, so that a failure replays the same way.
    fn t0() -> DateTime<Utc> {
        DateTime::from_timestamp(1_767_225_600, 0).unwrap()
    }

    fn pki() -> (Vec<u8>, Vec<u8>) {
        use openssl::hash::MessageDigest;
        use openssl::pkey::PKey;
        use openssl::x509::extension::{BasicConstraints, ExtendedKeyUsage};
        use openssl::x509::{X509Builder, X509NameBuilder};
        let make = |cn: &str, key: &PKey<openssl::pkey::Private>| {
            let mut name = X509NameBuilder::new().unwrap();
            name.append_entry_by_text("CN", cn).unwrap();
            let name = name.build();
            let mut b = X509Builder::new().unwrap();
            b.set_version(2).unwrap();
            b.set_subject_name(&name).unwrap();
            b.set_pubkey(key).unwrap();
            let serial = openssl::bn::BigNum::from_u32(7)
                .unwrap()
                .to_asn1_integer()
                .unwrap();
            b.set_serial_number(&serial).unwrap();
            let t0 = t0().timestamp();
            b.set_not_before(&Asn1Time::from_unix(t0).unwrap()).unwrap();
            b.set_not_after(&Asn1Time::from_unix(t0 + 30 * 86_400).unwrap())
                .unwrap();
            b
        };
        let ca_key = PKey::from_rsa(openssl::rsa::Rsa::generate(2048).unwrap()).unwrap();
        let mut ca = make("ca", &ca_key);
        ca.set_issuer_name(
            &X509NameBuilder::new()
                .map(|mut n| {
                    n.append_entry_by_text("CN", "ca").unwrap();
                    n.build()
                })
                .unwrap(),
        )
        .unwrap();
        ca.append_extension(BasicConstraints::new().critical().ca().build().unwrap())
            .unwrap();
        ca.sign(&ca_key, MessageDigest::sha256()).unwrap();
        let ca = ca.build();
        let leaf_key = PKey::from_rsa(openssl::rsa::Rsa::generate(2048).unwrap()).unwrap();
        let mut leaf = make("alice", &leaf_key);
        leaf.set_issuer_name(ca.subject_name()).unwrap();
        leaf.append_extension(ExtendedKeyUsage::new().client_auth().build().unwrap())
            .unwrap();
        leaf.sign(&ca_key, MessageDigest::sha256()).unwrap();
        (ca.to_pem().unwrap(), leaf.build().to_der().unwrap())
    }

    /// Validity is judged by the engine's clock, not the system's.
    #[test]
    fn validity_follows_the_injected_clock() {
        let (ca_pem, leaf) = pki();
        let mut keys = Keyring::default();
        keys.certificates.insert(
            "ca".into(),
            Arc::new(Certificate::from_pem("ca", &ca_pem).unwrap()),
        );
        let mut problems = Vec::new();
        let trust = crate::instance::resolve::x509::resolve(
            &["ca".into()],
            &[],
            &serde_json::Map::new(),
            &keys,
            &mut problems,
        )
        .unwrap();
        let now = t0() + chrono::Duration::minutes(1);
        assert_eq!(
            trust.principal(std::slice::from_ref(&leaf), now).unwrap(),
            "alice"
        );
        let later = trust
            .principal(
                std::slice::from_ref(&leaf),
                now + chrono::Duration::days(60),
            )
            .unwrap_err();
        assert!(later.contains("expired"), "{later}");
        let earlier = trust
            .principal(&[leaf], now - chrono::Duration::days(10))
            .unwrap_err();
        assert!(earlier.contains("not yet valid"), "{earlier}");
    }

    /// `leaf` with the content of its notBefore UTCTime replaced by `with` (13 bytes).
    fn with_not_before(leaf: &[u8], with: &[u8; 13]) -> Vec<u8> {
        let at = leaf
            .windows(2)
            .position(|w| w == [0x17, 0x0d])
            .expect("a UTCTime notBefore");
        let mut out = leaf.to_vec();
        out[at + 2..at + 15].copy_from_slice(with);
        out
    }

    /// A proof certificate whose notBefore cannot be compared with the clock is refused:
    /// an unreadable time is never taken as "already valid".
    #[test]
    fn proof_certificates_fail_closed_on_unreadable_validity() {
        let (_, leaf) = pki();
        let now = t0() + chrono::Duration::minutes(1);
        assert!(crate::engine::ProofCertificate::from_der(leaf.clone(), now).is_ok());
        for bad in [b"2401ZZ000000Z", b"99999999999XZ", b"000000000000Z"] {
            let broken = with_not_before(&leaf, bad);
            let cert = X509::from_der(&broken).expect("still DER");
            assert!(
                cert.not_before()
                    .compare(&Asn1Time::from_unix(now.timestamp()).unwrap())
                    .is_err(),
                "{}: OpenSSL compares it",
                String::from_utf8_lossy(bad)
            );
            let Err(err) = crate::engine::ProofCertificate::from_der(broken, now) else {
                panic!("a certificate with an unreadable notBefore was accepted");
            };
            assert!(err.to_string().contains("validity"), "{err}");
        }
        // Not yet valid and expired are refused too.
        let err = crate::engine::ProofCertificate::from_der(
            leaf.clone(),
            now - chrono::Duration::days(10),
        )
        .unwrap_err();
        assert!(err.to_string().contains("validity"), "{err}");
        let err = crate::engine::ProofCertificate::from_der(leaf, now + chrono::Duration::days(60))
            .unwrap_err();
        assert!(err.to_string().contains("validity"), "{err}");
    }
}
