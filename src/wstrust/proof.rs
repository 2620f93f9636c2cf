//! Symmetric proof keys for holder-of-key assertions (WS-Trust 1.4 KeyType SymmetricKey):
//! what a request asks for, the key made for it, and its wire form in the response.
//!
//! With requestor entropy the key is computed (`CK/PSHA1`: P_SHA1(requestor entropy, issuer
//! entropy)) and only the issuer's entropy is returned; without it the issuer picks the key
//! and returns it. Either way the relying party gets the key inside the assertion, encrypted
//! to its certificate.

use crate::crypto::encoding::base64_encode;
use crate::crypto::psha1::p_sha1;
use crate::secret::Secret;
use crate::xml::write::Writer;

use super::TrustVersion;

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

/// `wst:RequestedProofToken`, `wst:Entropy` and `wst:KeySize` of a symmetric proof key, in
/// the request's version.
pub(super) fn write(w: &mut Writer, v: TrustVersion, p: &SymmetricProof) {
    w.start(&v.qname("RequestedProofToken"));
    match &p.returned {
        Returned::Computed { issuer_entropy } => {
            w.element(&v.qname("ComputedKey"), v.ck_psha1());
            w.end();
            w.start(&v.qname("Entropy"));
            w.start(&v.qname("BinarySecret"))
                .attr("Type", v.binary_secret_type(true))
                .text(&base64_encode(issuer_entropy))
                .end();
            w.end();
        }
        Returned::Key => {
            w.start(&v.qname("BinarySecret"))
                .attr("Type", v.binary_secret_type(false))
                .text(&base64_encode(p.key.expose()))
                .end();
            w.end();
        }
    }
    w.element(
        &v.qname("KeySize"),
        &(p.key.expose().len() * 8).to_string(),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_have_the_requested_size_and_entropy_is_mixed_in() {
        let made = make(&SymmetricRequest {
            requestor_entropy: None,
            bits: 256,
        })
        .unwrap();
        assert_eq!(made.key.expose().len(), 32);
        assert!(matches!(made.returned, Returned::Key));
        let entropy = vec![9u8; 32];
        let made = make(&SymmetricRequest {
            requestor_entropy: Some(Secret::new(entropy.clone())),
            bits: 128,
        })
        .unwrap();
        let Returned::Computed { issuer_entropy } = &made.returned else {
            panic!("computed key expected");
        };
        assert_eq!(issuer_entropy.len(), MIN_ENTROPY);
        assert_eq!(
            made.key.expose(),
            &p_sha1(&entropy, issuer_entropy, 16).unwrap()
        );
        let mut w = Writer::default();
        write(&mut w, TrustVersion::V13, &made);
        let out = w.finish();
        assert!(
            out.contains(crate::xml::ns::CK_PSHA1)
                && out.ends_with("<wst:KeySize>128</wst:KeySize>")
        );
        let mut w = Writer::default();
        write(&mut w, TrustVersion::V2005, &made);
        let out = w.finish();
        assert!(
            out.contains(crate::xml::ns::CK_PSHA1_2005)
                && out.ends_with("<t:KeySize>128</t:KeySize>")
        );
    }
}
