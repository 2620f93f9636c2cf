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

/// Decodes base64url without padding, strictly.
pub fn b64url_decode(s: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(s).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_allows_xml_whitespace_and_base64url_has_no_padding() {
        assert_eq!(
            base64_decode(" aGVs\r\n bG8=\t").as_deref(),
            Some(&b"hello"[..])
        );
        assert_eq!(base64_decode("aGVsbG8"), None);
        assert_eq!(base64_encode(b"hello"), "aGVsbG8=");
        assert_eq!(b64url_encode(&[0xfb, 0xff]), "-_8");
    }
}
