//! The encodings of binary values on the wire, one function each, so that whitespace and
//! padding rules are decided once: `xs:base64Binary` (XML content, whitespace allowed),
//! base64url without padding (JOSE, opaque tokens, strict), and PEM certificates.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

/// Standard base64 with padding, as `xs:base64Binary` content.
pub fn base64_encode(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Decodes `xs:base64Binary` content: standard alphabet with padding; the whitespace XML
/// allows in it (line breaks of wrapped values, indentation) is ignored.
pub fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let compact: String = s.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    STANDARD.decode(compact).ok()
}

/// base64url without padding (RFC 7515 section 2).
pub fn b64url_encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes base64url without padding, strictly: no whitespace, no padding.
pub fn b64url_decode(s: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(s).ok()
}

/// The DER of every certificate in a PEM text, in order.
pub fn pem_certificates(pem: &[u8]) -> Result<Vec<Vec<u8>>, openssl::error::ErrorStack> {
    openssl::x509::X509::stack_from_pem(pem)?
        .iter()
        .map(|c| c.to_der())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_allows_xml_whitespace_and_base64url_is_strict() {
        assert_eq!(
            base64_decode(" aGVs\r\n bG8=\t").as_deref(),
            Some(&b"hello"[..])
        );
        assert_eq!(base64_decode("aGVsbG8"), None);
        assert_eq!(base64_encode(b"hello"), "aGVsbG8=");
        assert_eq!(b64url_encode(&[0xfb, 0xff]), "-_8");
        assert_eq!(b64url_decode("-_8").as_deref(), Some(&[0xfb, 0xff][..]));
        assert_eq!(b64url_decode("-_8="), None);
        assert_eq!(b64url_decode("-_ 8"), None);
    }

    #[test]
    fn pem_certificates_reads_a_chain() {
        let now = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let (_, a) = super::super::new_key_pair("a", super::super::KeyKind::Ec, now).unwrap();
        let (_, b) = super::super::new_key_pair("b", super::super::KeyKind::Ec, now).unwrap();
        let chain = pem_certificates(&[a.clone(), b].concat()).unwrap();
        assert_eq!(chain.len(), 2);
        let first = openssl::x509::X509::from_pem(&a).unwrap().to_der().unwrap();
        assert_eq!(chain[0], first);
        assert!(pem_certificates(b"nothing").map_or(true, |c| c.is_empty()));
    }
}
