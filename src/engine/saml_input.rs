//! SAML 2.0 assertions of other issuers as input tokens (`SAML2` on SOAP): the assertion's
//! own enveloped signature must verify with the certificate configured for its issuer
//! (`saml2-trusted-issuers`), and everything read afterwards is read from the verified,
//! signature-stripped bytes only. Conditions are checked with bounded skew, an audience of
//! this STS is required, only bearer confirmation is accepted (holder-of-key would need a
//! proof of possession the request does not carry), and each assertion ID is accepted once.

use chrono::{DateTime, Duration, Utc};

// compat: remove after issue 15 merge (resolved in `instance::resolve::trust`).
pub use crate::instance::resolve::trust::TrustedSamlIssuer;
use crate::tokens::saml2::{CM_BEARER, SAML2_NS};
use crate::xml::Element;

/// Largest assertion accepted as input.
pub const MAX_ASSERTION_BYTES: usize = 64 * 1024;

/// What a verified assertion says about its subject.
#[derive(Debug, Clone)]
pub struct Asserted {
    pub issuer: String,
    pub id: String,
    pub name_id: String,
    pub not_on_or_after: DateTime<Utc>,
}

/// Verifies `xml` (the assertion as it was presented) and reads it. Errors are the reason
/// given to the client.
pub fn verify(
    xml: &[u8],
    trusted: &[TrustedSamlIssuer],
    now: DateTime<Utc>,
    skew: Duration,
) -> Result<Asserted, String> {
    if xml.len() > MAX_ASSERTION_BYTES {
        return Err(format!(
            "the assertion is larger than {MAX_ASSERTION_BYTES} bytes"
        ));
    }
    // The Issuer only selects which certificate to try; it is read again from the verified
    // bytes and must match.
    let unverified = crate::xml::parse(xml, crate::xml::Limits::default())
        .map_err(|e| format!("the assertion is not well-formed XML: {e}"))?;
    if !unverified.is(SAML2_NS, "Assertion") {
        return Err("the token is not a SAML 2.0 assertion".into());
    }
    let claimed = unverified
        .child(&[SAML2_NS], "Issuer")
        .map(Element::text)
        .ok_or("the assertion has no Issuer")?;
    let trust = trusted
        .iter()
        .find(|t| t.issuer == claimed)
        .ok_or("the assertion's issuer is not trusted by this instance")?;
    let verified = crate::xmldsig::verify_enveloped(xml, "ID", trust.certificate.pem())
        .map_err(|e| format!("the assertion's signature is not acceptable: {e}"))?;
    let el = crate::xml::parse(&verified.get().xml, crate::xml::Limits::default())
        .map_err(|e| format!("the signed assertion cannot be read: {e}"))?;
    if el
        .child(&[SAML2_NS], "Issuer")
        .map(Element::text)
        .as_deref()
        != Some(&trust.issuer)
    {
        return Err("the assertion's issuer is not trusted by this instance".into());
    }
    let time = |e: Option<&Element>, name: &str| -> Result<Option<DateTime<Utc>>, String> {
        match e.and_then(|e| e.attr(None, name)) {
            None => Ok(None),
            Some(v) => crate::wstrust::parse_datetime(v)
                .map(Some)
                .ok_or_else(|| format!("{name} is not a dateTime")),
        }
    };
    let conditions = el
        .child(&[SAML2_NS], "Conditions")
        .ok_or("the assertion has no Conditions")?;
    if time(Some(conditions), "NotBefore")?.is_some_and(|t| t > now + skew) {
        return Err("the assertion is not valid yet".into());
    }
    let not_after = time(Some(conditions), "NotOnOrAfter")?
        .ok_or("the assertion's Conditions have no NotOnOrAfter")?;
    if not_after + skew <= now {
        return Err("the assertion has expired".into());
    }
    // Every AudienceRestriction must name one of ours (SAML core 2.5.1.4).
    let restrictions: Vec<&Element> = conditions
        .elements()
        .filter(|c| c.is(SAML2_NS, "AudienceRestriction"))
        .collect();
    if restrictions.is_empty() {
        return Err("the assertion has no AudienceRestriction for this STS".into());
    }
    for r in restrictions {
        let ok = r
            .elements()
            .filter(|a| a.is(SAML2_NS, "Audience"))
            .any(|a| trust.audience.contains(&a.text()));
        if !ok {
            return Err("the assertion's audience is not this STS".into());
        }
    }
    // ProxyRestriction forbids issuing new assertions on this one's basis, which is what an
    // STS would do. (OneTimeUse is honoured by the engine's replay check, as is every ID.)
    if conditions
        .elements()
        .any(|c| c.is(SAML2_NS, "ProxyRestriction"))
    {
        return Err("the assertion's ProxyRestriction forbids issuing tokens from it".into());
    }
    let subject = el
        .child(&[SAML2_NS], "Subject")
        .ok_or("the assertion has no Subject")?;
    let name_id = subject
        .child(&[SAML2_NS], "NameID")
        .map(Element::text)
        // Control characters are refused with every principal (`Principal::new`).
        .filter(|n| !n.is_empty() && n.len() <= 256)
        .ok_or(
            "the assertion's Subject has no usable NameID (an EncryptedID cannot be read here)",
        )?;
    let mut bearer = false;
    for sc in subject
        .elements()
        .filter(|c| c.is(SAML2_NS, "SubjectConfirmation"))
    {
        if sc.attr(None, "Method") != Some(CM_BEARER) {
            continue;
        }
        let data = sc.child(&[SAML2_NS], "SubjectConfirmationData");
        if time(data, "NotOnOrAfter")?.is_some_and(|t| t + skew <= now) {
            continue;
        }
        if time(data, "NotBefore")?.is_some_and(|t| t > now + skew) {
            continue;
        }
        bearer = true;
    }
    if !bearer {
        return Err(
            "the assertion has no current bearer SubjectConfirmation (holder-of-key and sender-vouches assertions are not accepted as input)".into(),
        );
    }
    Ok(Asserted {
        issuer: trust.issuer.clone(),
        id: verified.get().id.clone(),
        name_id,
        not_on_or_after: not_after,
    })
}
