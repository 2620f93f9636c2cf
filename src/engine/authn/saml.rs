//! Other issuers' SAML 2.0 assertions as input tokens (`SAML2` on SOAP): the assertion's
//! own enveloped signature must verify with the certificate configured for its issuer
//! (`saml2-trusted-issuers`), and everything read afterwards is read from the verified,
//! signature-stripped bytes only. Conditions are checked with the foreign [`TimeWindow`],
//! an audience of this STS is required, only bearer confirmation is accepted (holder-of-key
//! would need a proof of possession the request does not carry), and each assertion ID is
//! accepted once.

use chrono::{DateTime, Utc};

use super::super::check::rules::{Outside, TimeWindow, audience_matches};
use super::super::{AuthFailure, Engine, EngineError, ResolvedInstance};
use super::{Principal, PrincipalSource};
use crate::instance::resolve::trust::TrustedSamlIssuer;
use crate::xml::Element;
use crate::xml::ns::{CM_BEARER, SAML2};

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

/// Why an assertion is refused; the text is the reason given to the client.
#[derive(Debug)]
pub(super) enum Refusal {
    UnknownIssuer(String),
    BadSignature(String),
    OutOfTime(String),
    Other(String),
}

impl From<&str> for Refusal {
    fn from(m: &str) -> Refusal {
        Refusal::Other(m.into())
    }
}

impl From<String> for Refusal {
    fn from(m: String) -> Refusal {
        Refusal::Other(m)
    }
}

impl Refusal {
    fn into_error(self) -> EngineError {
        let p = |m: String| format!("SAML2 assertion: {m}");
        match self {
            Refusal::UnknownIssuer(m) => EngineError::UnknownIssuer(p(m)),
            Refusal::BadSignature(m) => EngineError::BadSignature(p(m)),
            Refusal::OutOfTime(m) => EngineError::AuthFailed(AuthFailure::OutOfTime(p(m))),
            Refusal::Other(m) => EngineError::refused(p(m)),
        }
    }
}

impl Engine {
    /// A trusted issuer's signed bearer assertion to its subject, once per assertion ID.
    pub(super) fn saml(
        &self,
        instance: &ResolvedInstance,
        xml: &[u8],
    ) -> Result<Principal, EngineError> {
        let now = self.clock.now();
        let window = TimeWindow::foreign(self.freshness.max_skew);
        let asserted =
            verify(xml, &instance.saml_trust, now, window).map_err(Refusal::into_error)?;
        let key = format!("saml2\u{0}{}\u{0}{}", asserted.issuer, asserted.id);
        self.remember(
            key.as_bytes(),
            asserted.not_on_or_after + self.freshness.max_skew,
            "SAML2 assertion: this assertion was already used",
            "too many recent assertions; retry later",
        )?;
        let fail = |m: &str| EngineError::refused(format!("SAML2 assertion: {m}"));
        self.known_principal(
            instance,
            &asserted.name_id,
            PrincipalSource::FederatedToken,
            fail,
        )
    }
}

/// Verifies `xml` (the assertion as it was presented) and reads it.
pub(super) fn verify(
    xml: &[u8],
    trusted: &[TrustedSamlIssuer],
    now: DateTime<Utc>,
    window: TimeWindow,
) -> Result<Asserted, Refusal> {
    if xml.len() > MAX_ASSERTION_BYTES {
        return Err(format!("the assertion is larger than {MAX_ASSERTION_BYTES} bytes").into());
    }
    let untrusted =
        || Refusal::UnknownIssuer("the assertion's issuer is not trusted by this instance".into());
    // The Issuer only selects which certificate to try; it is read again from the verified
    // bytes and must match.
    let unverified = crate::xml::parse(xml, crate::xml::Limits::default())
        .map_err(|e| format!("the assertion is not well-formed XML: {e}"))?;
    if !unverified.is(SAML2, "Assertion") {
        return Err("the token is not a SAML 2.0 assertion".into());
    }
    let claimed = unverified
        .child(&[SAML2], "Issuer")
        .map(Element::text)
        .ok_or("the assertion has no Issuer")?;
    let trust = trusted
        .iter()
        .find(|t| t.issuer == claimed)
        .ok_or_else(untrusted)?;
    let verified =
        crate::xmldsig::verify_enveloped_tree(xml, "ID", trust.certificate.pem()).map_err(|e| {
            Refusal::BadSignature(format!("the assertion's signature is not acceptable: {e}"))
        })?;
    let el = verified
        .get()
        .root
        .as_ref()
        .map_err(|e| format!("the signed assertion cannot be read: {e}"))?;
    if el.child(&[SAML2], "Issuer").map(Element::text).as_deref() != Some(&trust.issuer) {
        return Err(untrusted());
    }
    let time = |e: Option<&Element>, name: &str| -> Result<Option<DateTime<Utc>>, Refusal> {
        match e.and_then(|e| e.attr(None, name)) {
            None => Ok(None),
            Some(v) => crate::xml::datetime::parse_datetime(v)
                .map(Some)
                .ok_or_else(|| format!("{name} is not a dateTime").into()),
        }
    };
    let conditions = el
        .child(&[SAML2], "Conditions")
        .ok_or("the assertion has no Conditions")?;
    if window.check(time(Some(conditions), "NotBefore")?, None, now) == Err(Outside::NotYet) {
        return Err(Refusal::OutOfTime("the assertion is not valid yet".into()));
    }
    let not_after = time(Some(conditions), "NotOnOrAfter")?
        .ok_or("the assertion's Conditions have no NotOnOrAfter")?;
    if window.check(None, Some(not_after), now) == Err(Outside::Over) {
        return Err(Refusal::OutOfTime("the assertion has expired".into()));
    }
    // Every AudienceRestriction must name one of ours (SAML core 2.5.1.4).
    let restrictions: Vec<&Element> = conditions
        .elements()
        .filter(|c| c.is(SAML2, "AudienceRestriction"))
        .collect();
    if restrictions.is_empty() {
        return Err("the assertion has no AudienceRestriction for this STS".into());
    }
    for r in restrictions {
        let named: Vec<String> = r
            .elements()
            .filter(|a| a.is(SAML2, "Audience"))
            .map(Element::text)
            .collect();
        if !audience_matches(named.iter().map(String::as_str), &trust.audience) {
            return Err("the assertion's audience is not this STS".into());
        }
    }
    // ProxyRestriction forbids issuing new assertions on this one's basis, which is what an
    // STS would do. (OneTimeUse is honoured by the engine's replay check, as is every ID.)
    if conditions
        .elements()
        .any(|c| c.is(SAML2, "ProxyRestriction"))
    {
        return Err("the assertion's ProxyRestriction forbids issuing tokens from it".into());
    }
    let subject = el
        .child(&[SAML2], "Subject")
        .ok_or("the assertion has no Subject")?;
    let name_id = subject
        .child(&[SAML2], "NameID")
        .map(Element::text)
        // Control characters are refused with every principal (`Principal::new`).
        .filter(|n| !n.is_empty() && n.len() <= 256)
        .ok_or(
            "the assertion's Subject has no usable NameID (an EncryptedID cannot be read here)",
        )?;
    let mut bearer = false;
    for sc in subject
        .elements()
        .filter(|c| c.is(SAML2, "SubjectConfirmation"))
    {
        if sc.attr(None, "Method") != Some(CM_BEARER) {
            continue;
        }
        let data = sc.child(&[SAML2], "SubjectConfirmationData");
        if window
            .check(None, time(data, "NotOnOrAfter")?, now)
            .is_err()
        {
            continue;
        }
        if window.check(time(data, "NotBefore")?, None, now).is_err() {
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
