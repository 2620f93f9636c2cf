//! SAML 2.0 assertions: built as text with every namespace declared on the assertion itself
//! (clients cut it out of the RSTR as text), then signed by libxmlsec1.

use chrono::{DateTime, Utc};

use crate::tokens::xmlenc::{EncryptError, Encrypter};
use crate::xml::{escape_attr, escape_text};
use crate::xmldsig::{self, DigestAlgorithm, SignatureAlgorithm, SigningKey};

use crate::xml::ns::{ATTRNAME_UNSPECIFIED, CM_HOLDER_OF_KEY, CM_SENDER_VOUCHES, DS, XS, XSI};

// compat: remove after issue 15 merge (import these from `xml::ns` and `xml::datetime`).
pub use crate::xml::datetime::saml_datetime;
pub use crate::xml::ns::{
    AC_PASSWORD, AC_PASSWORD_PROTECTED_TRANSPORT, AC_UNSPECIFIED, AC_X509, CM_BEARER,
    SAML2 as SAML2_NS,
};

/// The subject confirmation of an assertion.
#[derive(Debug, Clone, Copy)]
pub enum Confirmation<'a> {
    Bearer,
    /// The requester vouches for the subject (SAML 2.0 core 3.1, `sender-vouches`).
    SenderVouches,
    /// Whoever proves possession of the key of this certificate (DER) is the subject.
    HolderOfKey {
        cert_der: &'a [u8],
    },
    /// Whoever proves possession of a symmetric key, given here as an `xenc:EncryptedKey`
    /// that only the relying party can open.
    HolderOfSymmetricKey {
        encrypted_key: &'a str,
    },
}

/// Everything that goes into one assertion.
#[derive(Debug, Clone)]
pub struct AssertionSpec<'a> {
    pub id: &'a str,
    pub issuer: &'a str,
    pub issue_instant: DateTime<Utc>,
    pub name_id: &'a str,
    pub name_id_format: &'a str,
    pub not_before: DateTime<Utc>,
    pub not_on_or_after: DateTime<Utc>,
    pub recipient: Option<&'a str>,
    pub audience: Option<&'a str>,
    pub authn_instant: DateTime<Utc>,
    /// The session the authentication belongs to (its public id), if it outlives the call.
    pub session_index: Option<&'a str>,
    pub authn_context: &'a str,
    pub attributes: &'a [(String, Vec<String>)],
    pub confirmation: Confirmation<'a>,
}

/// How to sign: key and algorithms.
#[derive(Debug, Clone, Copy)]
pub struct SignWith<'a> {
    pub key: &'a SigningKey,
    pub signature: SignatureAlgorithm,
    pub digest: DigestAlgorithm,
}

/// What to encrypt for the relying party. The assertion as a whole excludes its parts
/// (OpenAM's rule, checked when an instance is published).
#[derive(Debug, Clone)]
pub struct Encryption {
    pub encrypter: Encrypter,
    pub assertion: bool,
    pub attributes: bool,
    pub name_id: bool,
}

/// Failures of building an assertion.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("signing the assertion failed: {0}")]
    Sign(#[from] xmldsig::DsigError),
    #[error("encrypting the assertion failed: {0}")]
    Encrypt(#[from] EncryptError),
}

/// A built assertion: what goes on the wire, and the signed assertion inside it (the same
/// text unless the whole assertion is encrypted), which the STS keeps to validate it later.
#[derive(Debug, Clone)]
pub struct Built {
    pub wire: String,
    pub assertion: String,
}

/// A fresh assertion ID: `_` and 128 random bits in hex (an NCName, as SAML requires).
pub fn new_assertion_id() -> String {
    format!("_{}", uuid::Uuid::new_v4().simple())
}

/// Builds the assertion; signs it when `sign` is given (the signature goes right after
/// `saml2:Issuer`, where the SAML schema puts it).
pub fn build(
    spec: &AssertionSpec<'_>,
    sign: Option<SignWith<'_>>,
    encryption: Option<&Encryption>,
) -> Result<Built, BuildError> {
    let encrypter = |part: bool| encryption.filter(|_| part).map(|e| &e.encrypter);
    let mut out = String::with_capacity(4096);
    out.push_str(&format!(
        "<saml2:Assertion xmlns:saml2=\"{SAML2_NS}\" xmlns:xs=\"{XS}\" xmlns:xsi=\"{XSI}\" ID=\"{}\" IssueInstant=\"{}\" Version=\"2.0\"><saml2:Issuer>{}</saml2:Issuer>",
        escape_attr(spec.id),
        saml_datetime(spec.issue_instant),
        escape_text(spec.issuer),
    ));
    if let Some(s) = &sign {
        out.push_str(&xmldsig::signature_template(spec.id, s.signature, s.digest));
    }
    let method = match spec.confirmation {
        Confirmation::Bearer => CM_BEARER,
        Confirmation::SenderVouches => CM_SENDER_VOUCHES,
        Confirmation::HolderOfKey { .. } | Confirmation::HolderOfSymmetricKey { .. } => {
            CM_HOLDER_OF_KEY
        }
    };
    out.push_str("<saml2:Subject>");
    match encrypter(encryption.is_some_and(|e| e.name_id)) {
        None => out.push_str(&format!(
            "<saml2:NameID Format=\"{}\">{}</saml2:NameID>",
            escape_attr(spec.name_id_format),
            escape_text(spec.name_id),
        )),
        Some(enc) => {
            let name_id = format!(
                "<saml2:NameID xmlns:saml2=\"{SAML2_NS}\" Format=\"{}\">{}</saml2:NameID>",
                escape_attr(spec.name_id_format),
                escape_text(spec.name_id),
            );
            out.push_str("<saml2:EncryptedID>");
            out.push_str(&enc.encrypt(&name_id)?);
            out.push_str("</saml2:EncryptedID>");
        }
    }
    out.push_str(&format!(
        "<saml2:SubjectConfirmation Method=\"{method}\"><saml2:SubjectConfirmationData"
    ));
    if let Confirmation::HolderOfKey { .. } | Confirmation::HolderOfSymmetricKey { .. } =
        spec.confirmation
    {
        out.push_str(" xsi:type=\"saml2:KeyInfoConfirmationDataType\"");
    }
    out.push_str(&format!(
        " NotOnOrAfter=\"{}\"",
        saml_datetime(spec.not_on_or_after)
    ));
    if let Some(r) = spec.recipient {
        out.push_str(&format!(" Recipient=\"{}\"", escape_attr(r)));
    }
    match spec.confirmation {
        Confirmation::HolderOfKey { cert_der } => {
            use base64::Engine as _;
            out.push_str(&format!(
                "><ds:KeyInfo xmlns:ds=\"{}\"><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></saml2:SubjectConfirmationData>",
                DS,
                base64::engine::general_purpose::STANDARD.encode(cert_der)
            ));
        }
        Confirmation::HolderOfSymmetricKey { encrypted_key } => {
            out.push_str(&format!(
                "><ds:KeyInfo xmlns:ds=\"{}\">{encrypted_key}</ds:KeyInfo></saml2:SubjectConfirmationData>",
                DS,
            ));
        }
        _ => out.push_str("/>"),
    }
    out.push_str(&format!(
        "</saml2:SubjectConfirmation></saml2:Subject><saml2:Conditions NotBefore=\"{}\" NotOnOrAfter=\"{}\">",
        saml_datetime(spec.not_before),
        saml_datetime(spec.not_on_or_after),
    ));
    if let Some(a) = spec.audience {
        out.push_str(&format!(
            "<saml2:AudienceRestriction><saml2:Audience>{}</saml2:Audience></saml2:AudienceRestriction>",
            escape_text(a)
        ));
    }
    out.push_str(&format!(
        "</saml2:Conditions><saml2:AuthnStatement AuthnInstant=\"{}\"",
        saml_datetime(spec.authn_instant)
    ));
    if let Some(si) = spec.session_index {
        out.push_str(&format!(" SessionIndex=\"{}\"", escape_attr(si)));
    }
    out.push_str(&format!(
        "><saml2:AuthnContext><saml2:AuthnContextClassRef>{}</saml2:AuthnContextClassRef></saml2:AuthnContext></saml2:AuthnStatement>",
        escape_text(spec.authn_context),
    ));
    if !spec.attributes.is_empty() {
        out.push_str("<saml2:AttributeStatement>");
        let enc = encrypter(encryption.is_some_and(|e| e.attributes));
        for (name, values) in spec.attributes {
            // Encrypted out of context, an attribute declares the namespaces it uses.
            let declare = if enc.is_some() {
                format!(" xmlns:saml2=\"{SAML2_NS}\" xmlns:xs=\"{XS}\" xmlns:xsi=\"{XSI}\"")
            } else {
                String::new()
            };
            let mut attr = format!(
                "<saml2:Attribute{declare} Name=\"{}\" NameFormat=\"{ATTRNAME_UNSPECIFIED}\">",
                escape_attr(name)
            );
            for v in values {
                attr.push_str(&format!(
                    "<saml2:AttributeValue xsi:type=\"xs:string\">{}</saml2:AttributeValue>",
                    escape_text(v)
                ));
            }
            attr.push_str("</saml2:Attribute>");
            match enc {
                None => out.push_str(&attr),
                Some(enc) => {
                    out.push_str("<saml2:EncryptedAttribute>");
                    out.push_str(&enc.encrypt(&attr)?);
                    out.push_str("</saml2:EncryptedAttribute>");
                }
            }
        }
        out.push_str("</saml2:AttributeStatement>");
    }
    out.push_str("</saml2:Assertion>");
    let assertion = match sign {
        None => out,
        Some(s) => {
            let signed = xmldsig::sign_enveloped(out.as_bytes(), "ID", s.signature, s.key)?;
            String::from_utf8(signed)
                .map_err(|_| xmldsig::DsigError::Native(xmldsig::FfiError::Serialize))?
        }
    };
    let wire = match encrypter(encryption.is_some_and(|e| e.assertion)) {
        None => assertion.clone(),
        Some(enc) => format!(
            "<saml2:EncryptedAssertion xmlns:saml2=\"{SAML2_NS}\">{}</saml2:EncryptedAssertion>",
            enc.encrypt(&assertion)?
        ),
    };
    Ok(Built { wire, assertion })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::ns::{AC_PASSWORD, NAMEID_UNSPECIFIED, SAML2};

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_767_323_045 + secs, 0).unwrap()
    }

    fn spec<'a>(
        attributes: &'a [(String, Vec<String>)],
        confirmation: Confirmation<'a>,
    ) -> AssertionSpec<'a> {
        AssertionSpec {
            id: "_a\"",
            issuer: "iss<",
            issue_instant: at(0),
            name_id: "alice&",
            name_id_format: NAMEID_UNSPECIFIED,
            not_before: at(0),
            not_on_or_after: at(600),
            recipient: None,
            audience: None,
            authn_instant: at(-5),
            session_index: None,
            authn_context: AC_PASSWORD,
            attributes,
            confirmation,
        }
    }

    /// Unsigned and unencrypted, the assertion is exactly this text: relying parties and the
    /// integration tests verify signatures over it.
    #[test]
    fn assertions_are_written_byte_for_byte() {
        let attrs = vec![("mail".to_owned(), vec!["a@x".to_owned(), "b<".to_owned()])];
        let mut s = spec(
            &attrs,
            Confirmation::HolderOfKey {
                cert_der: &[1, 2, 3],
            },
        );
        s.recipient = Some("urn:r");
        s.audience = Some("urn:aud");
        s.session_index = Some("s1");
        let built = build(&s, None, None).unwrap();
        assert_eq!(built.wire, built.assertion);
        assert_eq!(
            built.wire,
            format!(
                "<saml2:Assertion xmlns:saml2=\"{SAML2}\" xmlns:xs=\"{XS}\" xmlns:xsi=\"{XSI}\" ID=\"_a&quot;\" IssueInstant=\"2026-01-02T03:04:05Z\" Version=\"2.0\"><saml2:Issuer>iss&lt;</saml2:Issuer><saml2:Subject><saml2:NameID Format=\"{NAMEID_UNSPECIFIED}\">alice&amp;</saml2:NameID><saml2:SubjectConfirmation Method=\"{CM_HOLDER_OF_KEY}\"><saml2:SubjectConfirmationData xsi:type=\"saml2:KeyInfoConfirmationDataType\" NotOnOrAfter=\"2026-01-02T03:14:05Z\" Recipient=\"urn:r\"><ds:KeyInfo xmlns:ds=\"{DS}\"><ds:X509Data><ds:X509Certificate>AQID</ds:X509Certificate></ds:X509Data></ds:KeyInfo></saml2:SubjectConfirmationData></saml2:SubjectConfirmation></saml2:Subject><saml2:Conditions NotBefore=\"2026-01-02T03:04:05Z\" NotOnOrAfter=\"2026-01-02T03:14:05Z\"><saml2:AudienceRestriction><saml2:Audience>urn:aud</saml2:Audience></saml2:AudienceRestriction></saml2:Conditions><saml2:AuthnStatement AuthnInstant=\"2026-01-02T03:04:00Z\" SessionIndex=\"s1\"><saml2:AuthnContext><saml2:AuthnContextClassRef>{AC_PASSWORD}</saml2:AuthnContextClassRef></saml2:AuthnContext></saml2:AuthnStatement><saml2:AttributeStatement><saml2:Attribute Name=\"mail\" NameFormat=\"{ATTRNAME_UNSPECIFIED}\"><saml2:AttributeValue xsi:type=\"xs:string\">a@x</saml2:AttributeValue><saml2:AttributeValue xsi:type=\"xs:string\">b&lt;</saml2:AttributeValue></saml2:Attribute></saml2:AttributeStatement></saml2:Assertion>"
            )
        );
        let bearer = build(&spec(&[], Confirmation::Bearer), None, None).unwrap();
        assert!(bearer.wire.contains(&format!(
            "<saml2:SubjectConfirmation Method=\"{CM_BEARER}\"><saml2:SubjectConfirmationData NotOnOrAfter=\"2026-01-02T03:14:05Z\"/></saml2:SubjectConfirmation></saml2:Subject><saml2:Conditions NotBefore=\"2026-01-02T03:04:05Z\" NotOnOrAfter=\"2026-01-02T03:14:05Z\"></saml2:Conditions><saml2:AuthnStatement AuthnInstant=\"2026-01-02T03:04:00Z\"><saml2:AuthnContext>"
        )), "{}", bearer.wire);
        assert!(
            bearer
                .wire
                .ends_with("</saml2:AuthnStatement></saml2:Assertion>")
        );
        let symmetric = build(
            &spec(
                &[],
                Confirmation::HolderOfSymmetricKey {
                    encrypted_key: "<k/>",
                },
            ),
            None,
            None,
        )
        .unwrap();
        assert!(symmetric.wire.contains(&format!(
            "<saml2:SubjectConfirmationData xsi:type=\"saml2:KeyInfoConfirmationDataType\" NotOnOrAfter=\"2026-01-02T03:14:05Z\"><ds:KeyInfo xmlns:ds=\"{DS}\"><k/></ds:KeyInfo></saml2:SubjectConfirmationData>"
        )));
        let vouches = build(&spec(&[], Confirmation::SenderVouches), None, None).unwrap();
        assert!(vouches.wire.contains(&format!(
            "Method=\"{CM_SENDER_VOUCHES}\"><saml2:SubjectConfirmationData NotOnOrAfter"
        )));
    }
}
