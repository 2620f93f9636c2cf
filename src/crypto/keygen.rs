//! New key pairs with self-signed certificates, for the first start and for key rotation.
//! The validity period starts at `now`, given by the caller's clock, so that tests that pin
//! the clock get certificates valid at their pinned time.

use chrono::{DateTime, Utc};
use openssl::asn1::Asn1Time;
use openssl::bn::{BigNum, MsbOption};
use openssl::ec::{EcGroup, EcKey};
use openssl::error::ErrorStack;
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::x509::{X509, X509NameBuilder};

use super::KeyKind;

/// How long a generated certificate is valid.
const VALIDITY_DAYS: i64 = 3650;

/// A self-signed certificate for `key` with common name `cn`, valid from `now` for ten years.
pub fn self_signed(key: &PKey<Private>, cn: &str, now: DateTime<Utc>) -> Result<X509, ErrorStack> {
    let mut name = X509NameBuilder::new()?;
    name.append_entry_by_nid(Nid::COMMONNAME, cn)?;
    let name = name.build();
    let mut b = X509::builder()?;
    b.set_version(2)?;
    let mut serial = BigNum::new()?;
    serial.rand(127, MsbOption::MAYBE_ZERO, false)?;
    let serial = serial.to_asn1_integer()?;
    b.set_serial_number(&serial)?;
    b.set_subject_name(&name)?;
    b.set_issuer_name(&name)?;
    b.set_pubkey(key)?;
    let not_before = Asn1Time::from_unix(now.timestamp())?;
    let not_after = Asn1Time::from_unix((now + chrono::Duration::days(VALIDITY_DAYS)).timestamp())?;
    b.set_not_before(&not_before)?;
    b.set_not_after(&not_after)?;
    b.sign(key, MessageDigest::sha256())?;
    Ok(b.build())
}

/// A new key pair of `kind` (RSA 2048 or EC P-256) with a self-signed certificate valid from
/// `now`: (PKCS#8 key PEM, certificate PEM).
pub fn new_key_pair(
    alias: &str,
    kind: KeyKind,
    now: DateTime<Utc>,
) -> Result<(Vec<u8>, Vec<u8>), ErrorStack> {
    let key = match kind {
        KeyKind::Rsa => PKey::from_rsa(Rsa::generate(2048)?)?,
        KeyKind::Ec => {
            let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1)?;
            PKey::from_ec_key(EcKey::generate(&group)?)?
        }
    };
    let cert = self_signed(&key, alias, now)?;
    Ok((key.private_key_to_pem_pkcs8()?, cert.to_pem()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificates_are_valid_from_the_given_time() {
        let now = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        for kind in [KeyKind::Rsa, KeyKind::Ec] {
            let (key, cert) = new_key_pair("k", kind, now).unwrap();
            let cert = X509::from_pem(&cert).unwrap();
            let key = PKey::private_key_from_pem(&key).unwrap();
            assert!(key.public_eq(&cert.public_key().unwrap()));
            let at = |t: i64| Asn1Time::from_unix(t).unwrap().to_string();
            assert_eq!(cert.not_before().to_string(), at(1_700_000_000));
            assert_eq!(
                cert.not_after().to_string(),
                at(1_700_000_000 + VALIDITY_DAYS * 86_400)
            );
        }
    }
}
