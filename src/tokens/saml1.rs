//! SAML 1.1 assertions, as AD FS issues them to WS-Trust clients (MSAL, ADAL, WCF) and to
//! relying parties that predate SAML 2.0: `AssertionID`, `Issuer` as attributes, a
//! `Conditions` with `AudienceRestrictionCondition`, an `AttributeStatement` of claim URIs
//! split into `AttributeNamespace`/`AttributeName`, an `AuthenticationStatement`, and the
//! enveloped signature last (where the SAML 1.1 schema puts it). Written in exclusive
//! canonical form and signed over the bytes as written, as SAML 2.0 is.
//!
//! SAML 1.1 has no encrypted assertion or attribute element, so nothing here encrypts.

use chrono::{DateTime, Utc};

use crate::crypto::encoding::base64_encode;
use crate::tokens::saml2::{BuildError, Confirmation, SignWith};
use crate::xml::datetime::saml_datetime;
use crate::xml::ns::{
    CLAIMS_2005, CM1_BEARER, CM1_HOLDER_OF_KEY, CM1_SENDER_VOUCHES, DS, NAMEID_UNSPECIFIED, SAML1,
};
use crate::xml::write::Writer;
use crate::xmldsig;

/// Everything that goes into one assertion.
#[derive(Debug, Clone)]
pub struct AssertionSpec<'a> {
    /// `AssertionID`: an NCName (see [`crate::tokens::saml2::new_assertion_id`]).
    pub id: &'a str,
    pub issuer: &'a str,
    pub issue_instant: DateTime<Utc>,
    pub name_id: &'a str,
    /// A SAML 2.0 NameID format is written as SAML 1.1's unspecified, which knows no other.
    pub name_id_format: &'a str,
    pub not_before: DateTime<Utc>,
    pub not_on_or_after: DateTime<Utc>,
    pub audience: Option<&'a str>,
    pub authn_instant: DateTime<Utc>,
    /// `AuthenticationMethod`: how the subject proved who it is (SAML 1.1 core 7.1).
    pub authn_method: &'a str,
    /// Attribute map key (a claim URI or a bare name) and values.
    pub attributes: &'a [(String, Vec<String>)],
    pub confirmation: Confirmation<'a>,
}

/// The assertion ID attribute of SAML 1.1 (SAML 2.0 calls it `ID`).
pub const ID_ATTR: &str = "AssertionID";

/// A claim URI as `(AttributeNamespace, AttributeName)`: split at the last `/`, as AD FS
/// writes `http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn`. A name that is not
/// such a URI goes under the AD FS claims namespace unchanged.
pub fn split_claim(key: &str) -> (&str, &str) {
    match key.rsplit_once('/') {
        Some((ns, name)) if !ns.is_empty() && !name.is_empty() && key.contains("://") => {
            (ns, name)
        }
        _ => (CLAIMS_2005, key),
    }
}

/// `saml:Subject`: the name identifier and how the subject is confirmed.
fn write_subject(w: &mut Writer, spec: &AssertionSpec<'_>) {
    let format = if spec
        .name_id_format
        .starts_with("urn:oasis:names:tc:SAML:1.1:nameid-format:")
    {
        spec.name_id_format
    } else {
        NAMEID_UNSPECIFIED
    };
    w.start("saml:Subject");
    w.start("saml:NameIdentifier")
        .attr("Format", format)
        .text(spec.name_id)
        .end();
    w.start("saml:SubjectConfirmation");
    let method = match spec.confirmation {
        Confirmation::Bearer => CM1_BEARER,
        Confirmation::SenderVouches => CM1_SENDER_VOUCHES,
        Confirmation::HolderOfKey { .. } | Confirmation::HolderOfSymmetricKey { .. } => {
            CM1_HOLDER_OF_KEY
        }
    };
    w.element("saml:ConfirmationMethod", method);
    match spec.confirmation {
        Confirmation::HolderOfKey { cert_der } => {
            w.start("ds:KeyInfo").ns("ds", DS);
            w.start("ds:X509Data");
            w.element("ds:X509Certificate", &base64_encode(cert_der));
            w.end().end();
        }
        Confirmation::HolderOfSymmetricKey { encrypted_key } => {
            w.start("ds:KeyInfo").ns("ds", DS);
            encrypted_key.write(w, true);
            w.end();
        }
        _ => {}
    }
    w.end().end();
}

/// Builds the assertion; signs it when `sign` is given. Returns the assertion text.
#[cfg_attr(not(any(test, feature = "test-util")), allow(dead_code))]
pub fn build(spec: &AssertionSpec<'_>, sign: Option<SignWith<'_>>) -> Result<String, BuildError> {
    build_advised(spec, None, sign)
}

/// [`build`], with an `Advice` recording the renew semantics when given (`engine::renew`).
pub fn build_advised(
    spec: &AssertionSpec<'_>,
    advice: Option<crate::tokens::saml2::Renewing>,
    sign: Option<SignWith<'_>>,
) -> Result<String, BuildError> {
    let mut w = Writer::canonical(4096);
    w.start("saml:Assertion")
        .ns("saml", SAML1)
        .attr("MajorVersion", "1")
        .attr("MinorVersion", "1")
        .id(ID_ATTR, spec.id)
        .attr("Issuer", spec.issuer)
        .attr("IssueInstant", &saml_datetime(spec.issue_instant));
    w.start("saml:Conditions")
        .attr("NotBefore", &saml_datetime(spec.not_before))
        .attr("NotOnOrAfter", &saml_datetime(spec.not_on_or_after))
        .text("");
    if let Some(a) = spec.audience {
        w.start("saml:AudienceRestrictionCondition");
        w.element("saml:Audience", a);
        w.end();
    }
    w.end();
    if let Some(r) = advice {
        crate::tokens::saml2::write_advice(&mut w, "saml:Advice", r);
    }
    // The schema wants at least one attribute in an AttributeStatement.
    if !spec.attributes.is_empty() {
        w.start("saml:AttributeStatement");
        write_subject(&mut w, spec);
        for (key, values) in spec.attributes {
            let (namespace, name) = split_claim(key);
            w.start("saml:Attribute")
                .attr("AttributeName", name)
                .attr("AttributeNamespace", namespace)
                .text("");
            for v in values {
                w.element("saml:AttributeValue", v);
            }
            w.end();
        }
        w.end();
    }
    w.start("saml:AuthenticationStatement")
        .attr("AuthenticationMethod", spec.authn_method)
        .attr("AuthenticationInstant", &saml_datetime(spec.authn_instant))
        .text("");
    write_subject(&mut w, spec);
    w.end();
    let signature_at = w.position();
    let out = w.finish_canonical().checked()?;
    Ok(match sign {
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
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::ns::{AM1_PASSWORD, NAMEID_UNSPECIFIED};
    use crate::xmldsig::{DigestAlgorithm, SignatureAlgorithm};

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
            name_id_format: "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
            not_before: at(0),
            not_on_or_after: at(600),
            audience: Some("urn:aud"),
            authn_instant: at(-5),
            authn_method: AM1_PASSWORD,
            attributes,
            confirmation,
        }
    }

    /// Unsigned, the assertion is exactly this text, in exclusive canonical form (the
    /// signature digests it as written): the schema's order, AD FS's attribute split, SAML
    /// 1.1's NameID format.
    #[test]
    fn assertions_are_written_byte_for_byte() {
        let attrs = vec![
            (
                format!("{CLAIMS_2005}/upn"),
                vec!["a@x".to_owned(), "b<".to_owned()],
            ),
            ("mail".to_owned(), vec!["m@x".to_owned()]),
        ];
        let s = spec(
            &attrs,
            Confirmation::HolderOfKey {
                cert_der: &[1, 2, 3],
            },
        );
        let subject = format!(
            "<saml:Subject><saml:NameIdentifier Format=\"{NAMEID_UNSPECIFIED}\">alice&amp;</saml:NameIdentifier><saml:SubjectConfirmation><saml:ConfirmationMethod>{CM1_HOLDER_OF_KEY}</saml:ConfirmationMethod><ds:KeyInfo xmlns:ds=\"{DS}\"><ds:X509Data><ds:X509Certificate>AQID</ds:X509Certificate></ds:X509Data></ds:KeyInfo></saml:SubjectConfirmation></saml:Subject>"
        );
        assert_eq!(
            build(&s, None).unwrap(),
            format!(
                "<saml:Assertion xmlns:saml=\"{SAML1}\" AssertionID=\"_a&quot;\" IssueInstant=\"2026-01-02T03:04:05Z\" Issuer=\"iss&lt;\" MajorVersion=\"1\" MinorVersion=\"1\"><saml:Conditions NotBefore=\"2026-01-02T03:04:05Z\" NotOnOrAfter=\"2026-01-02T03:14:05Z\"><saml:AudienceRestrictionCondition><saml:Audience>urn:aud</saml:Audience></saml:AudienceRestrictionCondition></saml:Conditions><saml:AttributeStatement>{subject}<saml:Attribute AttributeName=\"upn\" AttributeNamespace=\"{CLAIMS_2005}\"><saml:AttributeValue>a@x</saml:AttributeValue><saml:AttributeValue>b&lt;</saml:AttributeValue></saml:Attribute><saml:Attribute AttributeName=\"mail\" AttributeNamespace=\"{CLAIMS_2005}\"><saml:AttributeValue>m@x</saml:AttributeValue></saml:Attribute></saml:AttributeStatement><saml:AuthenticationStatement AuthenticationInstant=\"2026-01-02T03:04:00Z\" AuthenticationMethod=\"{AM1_PASSWORD}\">{subject}</saml:AuthenticationStatement></saml:Assertion>"
            )
        );
        let mut bearer = spec(&[], Confirmation::Bearer);
        bearer.audience = None;
        bearer.name_id_format = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";
        let bearer = build(&bearer, None).unwrap();
        assert!(bearer.contains("<saml:Conditions NotBefore=\"2026-01-02T03:04:05Z\" NotOnOrAfter=\"2026-01-02T03:14:05Z\"></saml:Conditions><saml:AuthenticationStatement "), "{bearer}");
        assert!(bearer.contains(&format!("<saml:NameIdentifier Format=\"urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress\">alice&amp;</saml:NameIdentifier><saml:SubjectConfirmation><saml:ConfirmationMethod>{CM1_BEARER}</saml:ConfirmationMethod></saml:SubjectConfirmation>")), "{bearer}");
        assert!(!bearer.contains("AttributeStatement"));
        let key = crate::tokens::saml2::tests::test_encrypted_key();
        let sym = build(
            &spec(
                &[],
                Confirmation::HolderOfSymmetricKey {
                    encrypted_key: &key,
                },
            ),
            None,
        )
        .unwrap();
        assert!(sym.contains(&format!(
            "<saml:ConfirmationMethod>{CM1_HOLDER_OF_KEY}</saml:ConfirmationMethod><ds:KeyInfo xmlns:ds=\"{DS}\"><xenc:EncryptedKey xmlns:xenc=\"{}\">",
            crate::xml::ns::XENC
        )), "{sym}");
    }

    #[test]
    fn claim_uris_split_at_the_last_slash() {
        assert_eq!(
            split_claim("http://schemas.microsoft.com/ws/2008/06/identity/claims/role"),
            (
                "http://schemas.microsoft.com/ws/2008/06/identity/claims",
                "role"
            )
        );
        assert_eq!(split_claim("mail"), (CLAIMS_2005, "mail"));
        assert_eq!(split_claim("a/b"), (CLAIMS_2005, "a/b"));
        assert_eq!(split_claim("http://x/"), (CLAIMS_2005, "http://x/"));
    }

    /// Signed, the signature is the last child, references `#AssertionID`, and verifies
    /// with the signing certificate (and not once the assertion is altered).
    #[test]
    fn signed_assertions_verify_by_assertion_id() {
        let now = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let kind = crate::crypto::KeyKind::Rsa;
        let (pem, cert) = crate::crypto::new_key_pair("k", kind, now).unwrap();
        let key = crate::crypto::SigningKey::new(
            "k",
            kind,
            crate::secret::Secret::new(pem),
            cert.clone(),
            None,
        )
        .unwrap();
        let mut s = spec(&[], Confirmation::Bearer);
        s.id = "_abc";
        let signed = build(
            &s,
            Some(SignWith {
                key: &key,
                signature: SignatureAlgorithm::RsaSha256,
                digest: DigestAlgorithm::Sha256,
            }),
        )
        .unwrap();
        assert!(signed.contains("<ds:Reference URI=\"#_abc\">"), "{signed}");
        assert!(
            signed.ends_with("</ds:Signature></saml:Assertion>"),
            "{signed}"
        );
        let v = xmldsig::verify_enveloped(signed.as_bytes(), ID_ATTR, &cert).unwrap();
        assert_eq!(v.get().id, "_abc");
        let altered = signed.replace("alice&amp;", "mallory");
        assert!(xmldsig::verify_enveloped(altered.as_bytes(), ID_ATTR, &cert).is_err());
    }
}
