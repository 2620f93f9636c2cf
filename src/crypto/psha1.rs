//! P_SHA1, TLS 1.0's P_hash with HMAC-SHA1 (RFC 2246 section 5): WS-Trust's `CK/PSHA1`
//! computed-key algorithm derives a symmetric proof key with it.

use openssl::error::ErrorStack;
use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::sign::Signer;

/// P_SHA1(secret, seed) truncated to `len` bytes.
pub fn p_sha1(secret: &[u8], seed: &[u8], len: usize) -> Result<Vec<u8>, ErrorStack> {
    let key = PKey::hmac(secret)?;
    let hmac = |data: &[&[u8]]| -> Result<Vec<u8>, ErrorStack> {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Checked against an independent expansion by hand: A(i) = HMAC(secret, A(i-1)),
    /// output = HMAC(secret, A(1) + seed) + HMAC(secret, A(2) + seed) + ...
    #[test]
    fn expands_as_p_hash() {
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
        assert_eq!(p_sha1(secret, seed, 0).unwrap(), Vec::<u8>::new());
    }

    /// Anchors the HMAC underneath on RFC 2202's HMAC-SHA1 test case 2, then checks that
    /// the first output block is HMAC(secret, A(1) + seed).
    #[test]
    fn first_block_is_hmac_of_a1_and_seed() {
        // RFC 2202 test case 2: HMAC-SHA1("Jefe", "what do ya want for nothing?").
        let a1 = {
            let key = PKey::hmac(b"Jefe").unwrap();
            let mut s = Signer::new(MessageDigest::sha1(), &key).unwrap();
            s.update(b"what do ya want for nothing?").unwrap();
            s.sign_to_vec().unwrap()
        };
        let hex: String = a1.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
        let out = p_sha1(b"Jefe", b"what do ya want for nothing?", 20).unwrap();
        let key = PKey::hmac(b"Jefe").unwrap();
        let mut s = Signer::new(MessageDigest::sha1(), &key).unwrap();
        s.update(&a1).unwrap();
        s.update(b"what do ya want for nothing?").unwrap();
        assert_eq!(out, s.sign_to_vec().unwrap());
    }
}
