//! SAML 2.0 assertions: written in exclusive canonical form (`Writer::canonical`) with every
//! namespace a descendant uses declared inside the assertion (clients cut it out of the RSTR
//! as text), and signed over those bytes as written (`xmldsig::sign_canonical`).

use chrono::{DateTime, Utc};

use crate::crypto::SigningKey;
use crate::crypto::encoding::base64_encode;
use crate::tokens::xmlenc::{EncryptError, EncryptedKey, Encrypter};
use crate::xml::write::Writer;
use crate::xmldsig::{self, DigestAlgorithm, SignatureAlgorithm};

use crate::xml::ns::{ATTRNAME_UNSPECIFIED, CM_HOLDER_OF_KEY, CM_SENDER_VOUCHES, DS, XS, XSI};

use crate::xml::datetime::saml_datetime;

use crate::xml::ns::{CM_BEARER, SAML2, SAML2_DELEGATION};

/// Someone who acts for the subject (ActAs), as SAML V2.0 Condition for Delegation
/// Restriction 1.0 names it: a `del:Delegate` in a `saml2:Condition` of
/// `xsi:type="del:DelegationRestrictionType"`, oldest first. `ConfirmationMethod` (how the
/// delegate proved itself, as a SAML confirmation method) is left out: a password or an
/// OpenAM session has no such URI.
#[derive(Debug, Clone, Copy)]
pub struct Delegate<'a> {
    pub name_id: &'a str,
    pub name_id_format: &'a str,
    /// When the delegate authenticated to act for the subject (`DelegationInstant`).
    pub instant: DateTime<Utc>,
}

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
    /// Whoever proves possession of a symmetric key, given here wrapped for the relying
    /// party (an `xenc:EncryptedKey` that only it can open).
    HolderOfSymmetricKey {
        encrypted_key: &'a EncryptedKey,
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

/// The renew semantics an assertion records in its `Advice` (`wst:Renewing` of the issue
/// request, WS-Trust 1.3 section 7), so that a stateless instance enforces them at renewal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Renewing {
    pub allow: bool,
    pub ok: bool,
}

/// `<{advice}><wst:Renewing Allow OK/></{advice}>`, through the writer (canonical when it is),
/// so an assertion with an `Advice` is signed as written too.
pub(crate) fn write_advice(w: &mut Writer, advice: &str, r: Renewing) {
    let bool_text = |b: bool| if b { "true" } else { "false" };
    w.start(advice);
    w.start("wst:Renewing")
        .ns("wst", crate::xml::ns::WST)
        .attr("Allow", bool_text(r.allow))
        .attr("OK", bool_text(r.ok))
        .end();
    w.end();
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
    /// A value held a character XML does not allow: refused, never written altered.
    #[error(transparent)]
    Char(#[from] crate::xml::write::InvalidChar),
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

/// `saml2:NameID`; declaring `saml2` when it is encrypted on its own.
fn write_name_id(w: &mut Writer, spec: &AssertionSpec<'_>, declare: bool) {
    let tag = w.start("saml2:NameID");
    let tag = if declare { tag.ns("saml2", SAML2) } else { tag };
    tag.attr("Format", spec.name_id_format)
        .text(spec.name_id)
        .end();
}

/// One `saml2:Attribute` with string values; declaring the namespaces it uses when it is
/// encrypted on its own (out of context).
fn write_attribute(w: &mut Writer, name: &str, values: &[String], declare: bool) {
    let tag = w.start("saml2:Attribute");
    let tag = if declare {
        tag.ns("saml2", SAML2).ns("xs", XS).ns("xsi", XSI)
    } else {
        tag
    };
    tag.attr("Name", name)
        .attr("NameFormat", ATTRNAME_UNSPECIFIED)
        .text("");
    for v in values {
        w.start("saml2:AttributeValue")
            .attr("xsi:type", "xs:string")
            .text(v)
            .end();
    }
    w.end();
}

/// The part `write` produces, as its own text: what gets encrypted (refused if a value held
/// a character XML does not allow).
fn fragment(write: impl FnOnce(&mut Writer)) -> Result<String, BuildError> {
    let mut w = Writer::with_capacity(512);
    write(&mut w);
    Ok(w.finish_checked()?)
}

/// Builds the assertion; signs it when `sign` is given (the signature goes right after
/// `saml2:Issuer`, where the SAML schema puts it). The engine calls [`build_delegated`];
/// tests, benches and fuzz targets call this.
#[cfg_attr(not(any(test, feature = "test-util")), allow(dead_code))]
pub fn build(
    spec: &AssertionSpec<'_>,
    sign: Option<SignWith<'_>>,
    encryption: Option<&Encryption>,
) -> Result<Built, BuildError> {
    build_delegated(spec, &[], None, sign, encryption)
}

/// [`build`], with a delegation restriction naming `delegates` when there are any, and an
/// `Advice` recording the renew semantics when given.
pub fn build_delegated(
    spec: &AssertionSpec<'_>,
    delegates: &[Delegate<'_>],
    advice: Option<Renewing>,
    sign: Option<SignWith<'_>>,
    encryption: Option<&Encryption>,
) -> Result<Built, BuildError> {
    let encrypter = |part: bool| encryption.filter(|_| part).map(|e| &e.encrypter);
    let mut w = Writer::canonical(4096);
    // `xs`, `xsi` (and `del` with delegates) are inclusive prefixes: attribute values name
    // them in content. Declared on the apex: exclusive C14N renders an inclusive prefix on the
    // apex whenever an ancestor of the assertion's eventual context declares it, so a
    // declaration further down would digest differently once the assertion is embedded.
    let mut apex = w
        .start("saml2:Assertion")
        .ns("saml2", SAML2)
        .ns_inclusive("xs", XS)
        .ns_inclusive("xsi", XSI);
    if !delegates.is_empty() {
        apex = apex.ns_inclusive("del", SAML2_DELEGATION);
    }
    apex.id("ID", spec.id)
        .attr("IssueInstant", &saml_datetime(spec.issue_instant))
        .attr("Version", "2.0");
    w.element("saml2:Issuer", spec.issuer);
    let signature_at = w.position();
    let method = match spec.confirmation {
        Confirmation::Bearer => CM_BEARER,
        Confirmation::SenderVouches => CM_SENDER_VOUCHES,
        Confirmation::HolderOfKey { .. } | Confirmation::HolderOfSymmetricKey { .. } => {
            CM_HOLDER_OF_KEY
        }
    };
    w.start("saml2:Subject");
    match encrypter(encryption.is_some_and(|e| e.name_id)) {
        None => write_name_id(&mut w, spec, false),
        Some(enc) => {
            let name_id = fragment(|w| write_name_id(w, spec, true))?;
            w.start("saml2:EncryptedID")
                .insert(&enc.encrypt_canonical(&name_id)?)
                .end();
        }
    }
    w.start("saml2:SubjectConfirmation").attr("Method", method);
    let tag = w.start("saml2:SubjectConfirmationData");
    let tag = match spec.confirmation {
        Confirmation::HolderOfKey { .. } | Confirmation::HolderOfSymmetricKey { .. } => {
            tag.attr("xsi:type", "saml2:KeyInfoConfirmationDataType")
        }
        _ => tag,
    };
    tag.attr("NotOnOrAfter", &saml_datetime(spec.not_on_or_after))
        .attr_opt("Recipient", spec.recipient);
    match spec.confirmation {
        Confirmation::HolderOfKey { cert_der } => {
            w.start("ds:KeyInfo").ns("ds", DS);
            w.start("ds:X509Data");
            w.element("ds:X509Certificate", &base64_encode(cert_der));
            w.end().end();
        }
        Confirmation::HolderOfSymmetricKey { encrypted_key } => {
            // Written by this writer, so the assertion stays canonical and is signed as
            // written.
            w.start("ds:KeyInfo").ns("ds", DS);
            encrypted_key.write(&mut w, true);
            w.end();
        }
        _ => {}
    }
    w.end().end().end();
    w.start("saml2:Conditions")
        .attr("NotBefore", &saml_datetime(spec.not_before))
        .attr("NotOnOrAfter", &saml_datetime(spec.not_on_or_after))
        .text("");
    if let Some(a) = spec.audience {
        w.start("saml2:AudienceRestriction");
        w.element("saml2:Audience", a);
        w.end();
    }
    if !delegates.is_empty() {
        // `del` is declared on the apex (above).
        w.start("saml2:Condition")
            .attr("xsi:type", "del:DelegationRestrictionType");
        for d in delegates {
            w.start("del:Delegate")
                .attr("DelegationInstant", &saml_datetime(d.instant));
            w.start("saml2:NameID")
                .attr("Format", d.name_id_format)
                .text(d.name_id)
                .end();
            w.end();
        }
        w.end();
    }
    w.end();
    // Advice follows Conditions (the renew semantics, `engine::renew`).
    if let Some(r) = advice {
        write_advice(&mut w, "saml2:Advice", r);
    }
    w.start("saml2:AuthnStatement")
        .attr("AuthnInstant", &saml_datetime(spec.authn_instant))
        .attr_opt("SessionIndex", spec.session_index);
    w.start("saml2:AuthnContext");
    w.element("saml2:AuthnContextClassRef", spec.authn_context);
    w.end().end();
    if !spec.attributes.is_empty() {
        w.start("saml2:AttributeStatement");
        let enc = encrypter(encryption.is_some_and(|e| e.attributes));
        for (name, values) in spec.attributes {
            match enc {
                None => write_attribute(&mut w, name, values, false),
                Some(enc) => {
                    let attr = fragment(|w| write_attribute(w, name, values, true))?;
                    w.start("saml2:EncryptedAttribute")
                        .insert(&enc.encrypt_canonical(&attr)?)
                        .end();
                }
            }
        }
        w.end();
    }
    let out = w.finish_canonical().checked()?;
    let assertion = match sign {
        None => out.into_string(),
        Some(s) => xmldsig::sign_canonical(
            out,
            &xmldsig::Enveloped {
                at: signature_at,
                signature: s.signature,
                digest: s.digest,
                key: s.key,
            },
        )?
        .into_string(),
    };
    let wire = match encrypter(encryption.is_some_and(|e| e.assertion)) {
        None => assertion.clone(),
        Some(enc) => {
            let encrypted = enc.encrypt(&assertion)?;
            fragment(|w| {
                w.start("saml2:EncryptedAssertion")
                    .ns("saml2", SAML2)
                    .raw(&encrypted);
            })?
        }
    };
    Ok(Built { wire, assertion })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::xml::ns::{AC_PASSWORD, DS_SHA1, NAMEID_UNSPECIFIED, SAML2, XENC, XENC_RSA_OAEP_MGF1P};

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_767_323_045 + secs, 0).unwrap()
    }

    /// A proof key wrapped for a fresh relying party certificate.
    pub(crate) fn test_encrypted_key() -> EncryptedKey {
        let (_, pem) =
            crate::crypto::new_key_pair("rp", crate::crypto::KeyKind::Rsa, at(0)).unwrap();
        let cert = std::sync::Arc::new(crate::crypto::Certificate::from_pem("rp", &pem).unwrap());
        Encrypter::new(crate::tokens::xmlenc::BlockCipher::Aes256Gcm, cert)
            .unwrap()
            .encrypted_key(&[7; 32])
            .unwrap()
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

    /// Unsigned and unencrypted, the assertion is exactly this text, in exclusive canonical
    /// form: the signature digests it as written.
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
                "<saml2:Assertion xmlns:saml2=\"{SAML2}\" xmlns:xs=\"{XS}\" xmlns:xsi=\"{XSI}\" ID=\"_a&quot;\" IssueInstant=\"2026-01-02T03:04:05Z\" Version=\"2.0\"><saml2:Issuer>iss&lt;</saml2:Issuer><saml2:Subject><saml2:NameID Format=\"{NAMEID_UNSPECIFIED}\">alice&amp;</saml2:NameID><saml2:SubjectConfirmation Method=\"{CM_HOLDER_OF_KEY}\"><saml2:SubjectConfirmationData NotOnOrAfter=\"2026-01-02T03:14:05Z\" Recipient=\"urn:r\" xsi:type=\"saml2:KeyInfoConfirmationDataType\"><ds:KeyInfo xmlns:ds=\"{DS}\"><ds:X509Data><ds:X509Certificate>AQID</ds:X509Certificate></ds:X509Data></ds:KeyInfo></saml2:SubjectConfirmationData></saml2:SubjectConfirmation></saml2:Subject><saml2:Conditions NotBefore=\"2026-01-02T03:04:05Z\" NotOnOrAfter=\"2026-01-02T03:14:05Z\"><saml2:AudienceRestriction><saml2:Audience>urn:aud</saml2:Audience></saml2:AudienceRestriction></saml2:Conditions><saml2:AuthnStatement AuthnInstant=\"2026-01-02T03:04:00Z\" SessionIndex=\"s1\"><saml2:AuthnContext><saml2:AuthnContextClassRef>{AC_PASSWORD}</saml2:AuthnContextClassRef></saml2:AuthnContext></saml2:AuthnStatement><saml2:AttributeStatement><saml2:Attribute Name=\"mail\" NameFormat=\"{ATTRNAME_UNSPECIFIED}\"><saml2:AttributeValue xsi:type=\"xs:string\">a@x</saml2:AttributeValue><saml2:AttributeValue xsi:type=\"xs:string\">b&lt;</saml2:AttributeValue></saml2:Attribute></saml2:AttributeStatement></saml2:Assertion>"
            )
        );
        let bearer = build(&spec(&[], Confirmation::Bearer), None, None).unwrap();
        assert!(bearer.wire.contains(&format!(
            "<saml2:SubjectConfirmation Method=\"{CM_BEARER}\"><saml2:SubjectConfirmationData NotOnOrAfter=\"2026-01-02T03:14:05Z\"></saml2:SubjectConfirmationData></saml2:SubjectConfirmation></saml2:Subject><saml2:Conditions NotBefore=\"2026-01-02T03:04:05Z\" NotOnOrAfter=\"2026-01-02T03:14:05Z\"></saml2:Conditions><saml2:AuthnStatement AuthnInstant=\"2026-01-02T03:04:00Z\"><saml2:AuthnContext>"
        )), "{}", bearer.wire);
        assert!(
            bearer
                .wire
                .ends_with("</saml2:AuthnStatement></saml2:Assertion>")
        );
        let key = test_encrypted_key();
        let symmetric = build(
            &spec(
                &[],
                Confirmation::HolderOfSymmetricKey {
                    encrypted_key: &key,
                },
            ),
            None,
            None,
        )
        .unwrap();
        // The EncryptedKey is written by the assertion's writer: `ds` is bound by the
        // KeyInfo, `xenc` declared where it is used, no empty-element tags.
        assert!(symmetric.wire.contains(&format!(
            "<saml2:SubjectConfirmationData NotOnOrAfter=\"2026-01-02T03:14:05Z\" xsi:type=\"saml2:KeyInfoConfirmationDataType\"><ds:KeyInfo xmlns:ds=\"{DS}\"><xenc:EncryptedKey xmlns:xenc=\"{XENC}\"><xenc:EncryptionMethod Algorithm=\"{XENC_RSA_OAEP_MGF1P}\"><ds:DigestMethod Algorithm=\"{DS_SHA1}\"></ds:DigestMethod></xenc:EncryptionMethod><ds:KeyInfo><ds:X509Data><ds:X509Certificate>"
        )), "{}", symmetric.wire);
        assert!(symmetric.wire.contains("</xenc:CipherValue></xenc:CipherData></xenc:EncryptedKey></ds:KeyInfo></saml2:SubjectConfirmationData>"), "{}", symmetric.wire);
        let vouches = build(&spec(&[], Confirmation::SenderVouches), None, None).unwrap();
        assert!(vouches.wire.contains(&format!(
            "Method=\"{CM_SENDER_VOUCHES}\"><saml2:SubjectConfirmationData NotOnOrAfter"
        )));
    }

    /// ActAs: the delegation restriction goes after the audience, one `del:Delegate` each.
    #[test]
    fn delegates_are_written_as_a_delegation_restriction() {
        let mut s = spec(&[], Confirmation::Bearer);
        s.audience = Some("urn:aud");
        let d = Delegate {
            name_id: "svc<",
            name_id_format: NAMEID_UNSPECIFIED,
            instant: at(0),
        };
        let built = build_delegated(&s, &[d], None, None, None).unwrap();
        assert!(built.wire.contains(&format!(
            "</saml2:AudienceRestriction><saml2:Condition xsi:type=\"del:DelegationRestrictionType\"><del:Delegate DelegationInstant=\"2026-01-02T03:04:05Z\"><saml2:NameID Format=\"{NAMEID_UNSPECIFIED}\">svc&lt;</saml2:NameID></del:Delegate></saml2:Condition></saml2:Conditions>"
        )), "{}", built.wire);
        assert!(built.wire.starts_with(&format!("<saml2:Assertion xmlns:del=\"{SAML2_DELEGATION}\" xmlns:saml2=")), "{}", built.wire);
        assert_eq!(build(&s, None, None).unwrap().wire, build_delegated(&s, &[], None, None, None).unwrap().wire);
    }

    /// What gets encrypted on its own declares its namespaces, as before the writer.
    #[test]
    fn encrypted_parts_declare_their_namespaces() {
        let s = spec(&[], Confirmation::Bearer);
        assert_eq!(
            fragment(|w| write_name_id(w, &s, true)).unwrap(),
            format!(
                "<saml2:NameID xmlns:saml2=\"{SAML2}\" Format=\"{NAMEID_UNSPECIFIED}\">alice&amp;</saml2:NameID>"
            )
        );
        assert_eq!(
            fragment(|w| write_attribute(w, "n\"", &["v".to_owned()], true)).unwrap(),
            format!(
                "<saml2:Attribute xmlns:saml2=\"{SAML2}\" xmlns:xs=\"{XS}\" xmlns:xsi=\"{XSI}\" Name=\"n&quot;\" NameFormat=\"{ATTRNAME_UNSPECIFIED}\"><saml2:AttributeValue xsi:type=\"xs:string\">v</saml2:AttributeValue></saml2:Attribute>"
            )
        );
        assert_eq!(
            fragment(|w| write_attribute(w, "n", &[], false)).unwrap(),
            format!(
                "<saml2:Attribute Name=\"n\" NameFormat=\"{ATTRNAME_UNSPECIFIED}\"></saml2:Attribute>"
            )
        );
    }
}
