//! Symmetric proof keys for holder-of-key assertions (WS-Trust 1.4 KeyType SymmetricKey).
//!
//! With requestor entropy the key is computed (`CK/PSHA1`: P_SHA1(requestor entropy, issuer
//! entropy), TLS 1.0's P_hash with HMAC-SHA1) and only the issuer's entropy is returned;
//! without it the issuer picks the key and returns it. Either way the relying party gets
//! the key inside the assertion, encrypted to its certificate.

use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::sign::Signer;

use crate::secret::Secret;

use super::{EngineError, ProofCertificate};

/// WS-Trust 1.4 §9.2: the requestor of a PublicKey token proves possession of the key it
/// asks to be bound to. A `wst:UseKey` certificate is accepted only when this request proved
/// its key: `proven` are the certificates (DER) whose keys it did prove, the one that signed
/// the message (WS-Security signature over Body and Timestamp) and the TLS client
/// certificate. Anyone can copy a certificate; only its key holder can do either.
pub fn require_possession<'a>(
    cert: &ProofCertificate,
    proven: impl IntoIterator<Item = &'a [u8]>,
) -> Result<(), EngineError> {
    if proven.into_iter().any(|p| p == cert.der()) {
        return Ok(());
    }
    Err(EngineError::FailedAuthentication(
        "possession of the wst:UseKey key is not proven: sign the message (WS-Security, over the soap:Body and wsu:Timestamp) with that key, or present that certificate as the TLS client certificate".into(),
    ))
}

/// `wst:ComputedKeyAlgorithm` of P_SHA1.
pub const CK_PSHA1: &str = "http://docs.oasis-open.org/ws-sx/ws-trust/200512/CK/PSHA1";
/// Key sizes (bits) accepted in `wst:KeySize`; the default is 256.
pub const KEY_SIZES: [usize; 4] = [128, 192, 256, 512];
/// Least requestor entropy accepted, in bytes.
pub const MIN_ENTROPY: usize = 16;
/// Most requestor entropy accepted, in bytes.
pub const MAX_ENTROPY: usize = 1024;

/// What a SymmetricKey request asked for.
#[derive(Debug, Clone)]
pub struct SymmetricRequest {
    pub requestor_entropy: Option<Secret<Vec<u8>>>,
    pub bits: usize,
}

impl PartialEq for SymmetricRequest {
    fn eq(&self, other: &Self) -> bool {
        self.bits == other.bits
            && match (&self.requestor_entropy, &other.requestor_entropy) {
                (Some(a), Some(b)) => crate::secret::ct_eq(a.expose(), b.expose()),
                (None, None) => true,
                _ => false,
            }
    }
}

impl Eq for SymmetricRequest {}

/// A proof key and what the requestor is told about it.
#[derive(Debug, Clone)]
pub struct SymmetricProof {
    pub key: Secret<Vec<u8>>,
    pub returned: Returned,
}

/// What goes into `wst:RequestedProofToken`.
#[derive(Debug, Clone)]
pub enum Returned {
    /// `wst:ComputedKey` PSHA1, with the issuer's entropy in `wst:Entropy`.
    Computed { issuer_entropy: Vec<u8> },
    /// `wst:BinarySecret` holding the key itself.
    Key,
}

/// P_SHA1(secret, seed) truncated to `len` bytes (RFC 2246 section 5).
pub fn p_sha1(
    secret: &[u8],
    seed: &[u8],
    len: usize,
) -> Result<Vec<u8>, openssl::error::ErrorStack> {
    let key = PKey::hmac(secret)?;
    let hmac = |data: &[&[u8]]| -> Result<Vec<u8>, openssl::error::ErrorStack> {
        let mut s = Signer::new(MessageDigest::sha1(), &key)?;
        for d in data {
            s.update(d)?;
        }
        s.sign_to_vec()
    };
    let mut out = Vec::with_capacity(len + 20);
    let mut a = hmac(&[seed])?;
    while out.len() < len {
        out.extend(hmac(&[&a, seed])?);
        a = hmac(&[&a])?;
    }
    out.truncate(len);
    Ok(out)
}

/// Makes the proof key of `req`.
pub fn make(req: &SymmetricRequest) -> Result<SymmetricProof, openssl::error::ErrorStack> {
    let len = req.bits / 8;
    match &req.requestor_entropy {
        Some(entropy) => {
            let mut issuer_entropy = vec![0u8; len.max(MIN_ENTROPY)];
            openssl::rand::rand_bytes(&mut issuer_entropy)?;
            let key = p_sha1(entropy.expose(), &issuer_entropy, len)?;
            Ok(SymmetricProof {
                key: Secret::new(key),
                returned: Returned::Computed { issuer_entropy },
            })
        }
        None => {
            let mut key = vec![0u8; len];
            openssl::rand::rand_bytes(&mut key)?;
            Ok(SymmetricProof {
                key: Secret::new(key),
                returned: Returned::Key,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// P_SHA1 is TLS 1.0's P_hash; checked against an independent expansion by hand.
    #[test]
    fn p_sha1_expands_as_p_hash() {
        let secret = b"requestor";
        let seed = b"issuer";
        let out = p_sha1(secret, seed, 50).unwrap();
        let key = PKey::hmac(secret).unwrap();
        let h = |d: &[u8]| {
            let mut s = Signer::new(MessageDigest::sha1(), &key).unwrap();
            s.update(d).unwrap();
            s.sign_to_vec().unwrap()
        };
        let a1 = h(seed);
        let a2 = h(&a1);
        let a3 = h(&a2);
        let mut expect = h(&[a1.as_slice(), seed].concat());
        expect.extend(h(&[a2.as_slice(), seed].concat()));
        expect.extend(h(&[a3.as_slice(), seed].concat()));
        assert_eq!(out, expect[..50]);
        let made = make(&SymmetricRequest {
            requestor_entropy: None,
            bits: 256,
        })
        .unwrap();
        assert_eq!(made.key.expose().len(), 32);
    }
}
