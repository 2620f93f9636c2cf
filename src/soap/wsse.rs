//! WS-Security header tokens: UsernameToken, binary security tokens (OpenAM session, JWT,
//! X.509), a SAML assertion's position, the message signature's value, and the Timestamp.

use chrono::{DateTime, Utc};

use crate::crypto::encoding::base64_decode;
use crate::secret::Secret;
use crate::xml::Element;
use crate::xml::datetime::parse_datetime;
use crate::xml::ns::{
    BASE64_BINARY, DS, JWT_VALUE_TYPES, OPENAM_SESSION_VALUE_TYPE, PASSWORD_DIGEST, PASSWORD_TEXT,
    SAML2, WSSE, WSU, X509V3_VALUE_TYPE,
};

use super::RequestHeaders;
use super::envelope::SoapError;

/// A WS-Security UsernameToken.
#[derive(Debug, Clone)]
pub struct UsernameToken {
    pub username: String,
    pub password: Secret<String>,
    pub digest: bool,
    pub nonce: Option<Vec<u8>>,
    pub created: Option<String>,
}

/// A wsu:Timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timestamp {
    pub created: Option<DateTime<Utc>>,
    pub expires: Option<DateTime<Utc>>,
}

/// Reads the tokens among the children of `sec` (a `wsse:Security` header, or a
/// `wst:OnBehalfOf`) into `out`.
pub fn read_security(sec: &Element, out: &mut RequestHeaders) -> Result<(), SoapError> {
    let bad = |m: &str| SoapError::InvalidHeader(m.to_owned());
    for child in sec.elements() {
        let ns = child.ns.as_deref().unwrap_or("");
        match (ns, child.local.as_str()) {
            (WSSE, "UsernameToken") => {
                if out.username_token.is_some() {
                    return Err(bad("more than one wsse:UsernameToken"));
                }
                let username = child
                    .child(&[WSSE], "Username")
                    .map(Element::text)
                    .filter(|u| !u.is_empty())
                    .ok_or_else(|| bad("wsse:UsernameToken has no wsse:Username"))?;
                let pw = child
                    .child(&[WSSE], "Password")
                    .ok_or_else(|| bad("wsse:UsernameToken has no wsse:Password"))?;
                let digest = match pw.attr(None, "Type").map(str::trim) {
                    None | Some(PASSWORD_TEXT) => false,
                    Some(PASSWORD_DIGEST) => true,
                    Some(other) => {
                        return Err(SoapError::InvalidHeader(format!(
                            "unsupported wsse:Password Type `{other}`"
                        )));
                    }
                };
                let nonce = match child.child(&[WSSE], "Nonce") {
                    None => None,
                    Some(n) => {
                        if n.attr(None, "EncodingType")
                            .is_some_and(|e| e != BASE64_BINARY)
                        {
                            return Err(bad("wsse:Nonce must be Base64Binary"));
                        }
                        Some(
                            base64_decode(&n.text())
                                .ok_or_else(|| bad("wsse:Nonce is not valid base64"))?,
                        )
                    }
                };
                let created = child
                    .child(&[WSU], "Created")
                    .or_else(|| child.child(&[WSSE], "Created"))
                    .map(Element::text);
                out.username_token = Some(UsernameToken {
                    username,
                    // Text content, untrimmed: a password may end in spaces.
                    password: Secret::new(raw_text(pw)),
                    digest,
                    nonce,
                    created,
                });
            }
            (WSSE, "BinarySecurityToken")
                if child.attr(None, "ValueType").map(str::trim)
                    == Some(OPENAM_SESSION_VALUE_TYPE) =>
            {
                if out.session_token.is_some() {
                    return Err(bad("more than one OpenAM session token"));
                }
                let text = child.text();
                let token = match child.attr(None, "EncodingType").map(str::trim) {
                    Some(BASE64_BINARY) => base64_decode(&text)
                        .and_then(|b| String::from_utf8(b).ok())
                        .ok_or_else(|| bad("the OpenAM session token is not valid base64"))?,
                    _ => text,
                };
                out.session_token = Some(Secret::new(token));
            }
            (WSSE, "BinarySecurityToken")
                if child
                    .attr(None, "ValueType")
                    .map(str::trim)
                    .is_some_and(|v| JWT_VALUE_TYPES.contains(&v)) =>
            {
                if out.jwt.is_some() {
                    return Err(bad("more than one JWT BinarySecurityToken"));
                }
                let text = child.text();
                // The content is base64Binary of the JWT's bytes; a bare compact JWT (which has
                // dots, so is never base64) is read as it is.
                let token = if text.contains('.') {
                    text
                } else {
                    base64_decode(&text)
                        .and_then(|b| String::from_utf8(b).ok())
                        .ok_or_else(|| bad("the JWT BinarySecurityToken is not valid base64"))?
                };
                out.jwt = Some(Secret::new(token));
            }
            (WSSE, "BinarySecurityToken")
                if child.attr(None, "ValueType").map(str::trim) == Some(X509V3_VALUE_TYPE) =>
            {
                if out.x509_token.is_some() {
                    return Err(bad("more than one X.509 BinarySecurityToken"));
                }
                if child
                    .attr(None, "EncodingType")
                    .is_some_and(|e| e.trim() != BASE64_BINARY)
                {
                    return Err(bad("an X.509 BinarySecurityToken must be Base64Binary"));
                }
                out.x509_token = Some(
                    base64_decode(&child.text())
                        .ok_or_else(|| bad("the X.509 BinarySecurityToken is not valid base64"))?,
                );
            }
            (DS, "Signature") => {
                if out.signature_value.is_some() {
                    return Err(bad("more than one ds:Signature in wsse:Security"));
                }
                let value = child
                    .child(&[DS], "SignatureValue")
                    .and_then(|v| base64_decode(&v.text()))
                    .ok_or_else(|| bad("the ds:Signature has no valid SignatureValue"))?;
                out.signature_value = Some(value);
            }
            (SAML2, "Assertion") => {
                if out.saml_assertion_at.is_some() {
                    return Err(bad("more than one saml2:Assertion"));
                }
                out.saml_assertion_at = Some(child.span.clone());
            }
            (WSU, "Timestamp") => {
                if out.timestamp.is_some() {
                    return Err(bad("more than one wsu:Timestamp"));
                }
                let read = |name: &str| -> Result<Option<DateTime<Utc>>, SoapError> {
                    child
                        .child(&[WSU], name)
                        .map(|e| {
                            parse_datetime(&e.text()).ok_or_else(|| {
                                SoapError::InvalidHeader(format!(
                                    "wsu:Timestamp/wsu:{name} is not a dateTime"
                                ))
                            })
                        })
                        .transpose()
                };
                out.timestamp = Some(Timestamp {
                    created: read("Created")?,
                    expires: read("Expires")?,
                });
                out.timestamp_id = child.attr(Some(WSU), "Id").map(str::to_owned);
            }
            _ => {}
        }
    }
    Ok(())
}

fn raw_text(e: &Element) -> String {
    e.children
        .iter()
        .filter_map(|n| match n {
            crate::xml::Node::Text(t) => Some(t.as_str()),
            crate::xml::Node::Element(_) => None,
        })
        .collect()
}
