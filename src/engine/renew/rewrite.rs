//! The renewed assertion as text edits of the original: what the signature covered (the
//! verified, signature-stripped bytes) is kept as it is, subject, confirmation, audience,
//! attributes and any extension included, and only the ID, the times, the renew semantics
//! and a new signature template change. Editing the text rather than rebuilding from a model
//! keeps what no model here knows (an encrypted NameID or attribute, a delegation condition).

use std::ops::Range;

use chrono::{DateTime, Utc};

use crate::xml::datetime::saml_datetime;
use crate::xml::ns::{SAML1, SAML2, WST, WST_NSS};
use crate::xml::{Element, Limits};

/// `wst:Renewing` as recorded in an assertion's `Advice`: whether it may be renewed at all,
/// and whether after it expired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RenewSemantics {
    pub allow: bool,
    pub ok: bool,
}

/// What the renewed assertion gets.
pub(super) struct Fresh<'a> {
    pub id: &'a str,
    pub now: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
    /// The renew semantics to record instead of the original's, if the request named some.
    pub renewing: Option<RenewSemantics>,
    /// The `ds:Signature` template to insert, when the instance signs.
    pub signature: Option<String>,
}

/// An assertion read from its verified bytes.
pub(super) struct Original {
    pub root: Element,
    pub saml1: bool,
}

impl Original {
    pub fn parse(xml: &[u8]) -> Option<Original> {
        Self::new(crate::xml::parse(xml, Limits::default()).ok()?)
    }

    /// The assertion `root`, parsed from its verified bytes (spans into them).
    pub fn new(root: Element) -> Option<Original> {
        let saml1 = if root.is(SAML2, "Assertion") {
            false
        } else if root.is(SAML1, "Assertion") {
            true
        } else {
            return None;
        };
        Some(Original { root, saml1 })
    }

    fn ns(&self) -> &'static [&'static str] {
        if self.saml1 { &[SAML1] } else { &[SAML2] }
    }

    pub fn conditions(&self) -> Option<&Element> {
        self.root.child(self.ns(), "Conditions")
    }

    /// The renew semantics the assertion was issued with (`wst:Renewing` in its `Advice`).
    pub fn renewing(&self) -> Option<RenewSemantics> {
        let advice = self.root.child(self.ns(), "Advice")?;
        let r = advice.elements().find(|e| {
            e.local == "Renewing" && e.ns.as_deref().is_some_and(|n| WST_NSS.contains(&n))
        })?;
        // Written by this STS as `true`/`false`; anything else reads as the stricter value.
        let flag = |name: &str, default: bool| match r.attr(None, name).map(str::trim) {
            None => default,
            Some(v) => v == "true" || v == "1",
        };
        Some(RenewSemantics {
            allow: flag("Allow", true),
            ok: flag("OK", false),
        })
    }
}

/// The `saml:Advice` content that records renew semantics.
pub fn renewing_xml(r: RenewSemantics) -> String {
    format!(
        "<wst:Renewing xmlns:wst=\"{WST}\" Allow=\"{}\" OK=\"{}\"/>",
        r.allow, r.ok
    )
}

/// The byte range of attribute `name`'s value (unprefixed) in the start tag at `at`.
fn attr_value(xml: &[u8], at: usize, name: &str) -> Option<Range<usize>> {
    let ws = |b: u8| b == b' ' || b == b'\t' || b == b'\n' || b == b'\r';
    let mut i = at;
    if xml.get(i) != Some(&b'<') {
        return None;
    }
    // The element name.
    while xml.get(i).is_some_and(|&b| !ws(b) && b != b'>' && b != b'/') {
        i += 1;
    }
    loop {
        while xml.get(i).copied().is_some_and(ws) {
            i += 1;
        }
        match xml.get(i) {
            None | Some(b'>' | b'/') => return None,
            _ => {}
        }
        let start = i;
        while xml.get(i).is_some_and(|&b| b != b'=' && !ws(b)) {
            i += 1;
        }
        let attr = xml.get(start..i)?;
        while xml.get(i).copied().is_some_and(ws) {
            i += 1;
        }
        if xml.get(i) != Some(&b'=') {
            return None;
        }
        i += 1;
        while xml.get(i).copied().is_some_and(ws) {
            i += 1;
        }
        let quote = *xml.get(i).filter(|&&q| q == b'"' || q == b'\'')?;
        let value_start = i + 1;
        let len = xml.get(value_start..)?.iter().position(|&b| b == quote)?;
        if attr == name.as_bytes() {
            return Some(value_start..value_start + len);
        }
        i = value_start + len + 1;
    }
}

/// The prefix of an element's name in its start tag (`saml2` of `<saml2:Assertion`).
fn prefix_of(xml: &[u8], el: &Element) -> Option<String> {
    let tag = xml.get(el.span.start + 1..el.span.end)?;
    let end = tag
        .iter()
        .position(|&b| b == b' ' || b == b'>' || b == b'/' || b == b'\t' || b == b'\n')?;
    let name = std::str::from_utf8(tag.get(..end)?).ok()?;
    Some(name.split_once(':').map(|(p, _)| p.to_owned()).unwrap_or_default())
}

/// The renewed assertion's text (unsigned, with the signature template where it goes).
pub(super) fn reissue(xml: &[u8], original: &Original, fresh: &Fresh<'_>) -> Result<String, String> {
    let root = &original.root;
    let ns = original.ns();
    let mut edits: Vec<(Range<usize>, String)> = Vec::new();
    let mut set = |el: &Element, name: &str, value: String, required: bool| {
        match attr_value(xml, el.span.start, name) {
            Some(r) => {
                edits.push((r, value));
                Ok(())
            }
            None if required => Err(format!("the assertion's {} has no {name}", el.local)),
            None => Ok(()),
        }
    };
    let id_attr = if original.saml1 {
        crate::tokens::saml1::ID_ATTR
    } else {
        "ID"
    };
    set(root, id_attr, fresh.id.to_owned(), true)?;
    set(root, "IssueInstant", saml_datetime(fresh.now), true)?;
    let conditions = original
        .conditions()
        .ok_or_else(|| "the assertion has no Conditions".to_owned())?;
    set(conditions, "NotBefore", saml_datetime(fresh.now), true)?;
    set(conditions, "NotOnOrAfter", saml_datetime(fresh.not_after), true)?;
    // SAML 2.0 bounds the confirmation too; SAML 1.1's has no times.
    if let Some(subject) = root.child(&[SAML2], "Subject") {
        for sc in subject.children_named(&[SAML2], "SubjectConfirmation") {
            if let Some(data) = sc.child(&[SAML2], "SubjectConfirmationData") {
                set(data, "NotOnOrAfter", saml_datetime(fresh.not_after), false)?;
            }
        }
    }
    let prefix = prefix_of(xml, root).ok_or_else(|| "unreadable start tag".to_owned())?;
    let qname = |local: &str| {
        if prefix.is_empty() {
            local.to_owned()
        } else {
            format!("{prefix}:{local}")
        }
    };
    if let Some(r) = fresh.renewing {
        let advice = format!(
            "<{a}>{}</{a}>",
            renewing_xml(r),
            a = qname("Advice")
        );
        match root.child(ns, "Advice") {
            Some(old) => edits.push((old.span.clone(), advice)),
            // Advice follows Conditions in both schemas.
            None => edits.push((conditions.span.end..conditions.span.end, advice)),
        }
    }
    if let Some(template) = &fresh.signature {
        let at = if original.saml1 {
            // Last, before the end tag, where the SAML 1.1 schema puts it.
            let body = xml
                .get(..root.span.end)
                .ok_or_else(|| "unreadable assertion".to_owned())?;
            body.windows(2)
                .rposition(|w| w == b"</")
                .ok_or_else(|| "the assertion has no end tag".to_owned())?
        } else {
            root.child(&[SAML2], "Issuer")
                .ok_or_else(|| "the assertion has no Issuer".to_owned())?
                .span
                .end
        };
        edits.push((at..at, template.clone()));
    }
    // Back to front, so that earlier ranges stay where they were.
    edits.sort_by_key(|e| std::cmp::Reverse(e.0.start));
    let mut out = xml.to_vec();
    for (range, text) in edits {
        if range.end > out.len() || range.start > range.end {
            return Err("an edit fell outside the assertion".into());
        }
        out.splice(range, text.into_bytes());
    }
    String::from_utf8(out).map_err(|_| "the renewed assertion is not UTF-8".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_values_are_found_in_the_start_tag_only() {
        let xml = br#"<a:X  b='1' ID = "_x" c="2"><a:Y ID="in"/></a:X>"#;
        let r = attr_value(xml, 0, "ID").unwrap();
        assert_eq!(&xml[r], b"_x");
        assert_eq!(&xml[attr_value(xml, 0, "b").unwrap()], b"1");
        assert!(attr_value(xml, 0, "d").is_none());
        assert!(attr_value(b"<X/>", 0, "ID").is_none());
    }

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap()
    }

    #[test]
    fn a_saml2_assertion_gets_new_id_times_advice_and_template() {
        let xml = format!(
            "<s:Assertion xmlns:s=\"{SAML2}\" ID=\"_old\" IssueInstant=\"x\" Version=\"2.0\"><s:Issuer>i</s:Issuer><s:Subject><s:NameID>n</s:NameID><s:SubjectConfirmation Method=\"m\"><s:SubjectConfirmationData NotOnOrAfter=\"x\"/></s:SubjectConfirmation></s:Subject><s:Conditions NotBefore=\"x\" NotOnOrAfter=\"x\"><s:AudienceRestriction><s:Audience>a</s:Audience></s:AudienceRestriction></s:Conditions><s:AuthnStatement AuthnInstant=\"keep\"/></s:Assertion>"
        );
        let o = Original::parse(xml.as_bytes()).unwrap();
        assert_eq!(o.renewing(), None);
        let fresh = Fresh {
            id: "_new",
            now: t(0),
            not_after: t(600),
            renewing: Some(RenewSemantics {
                allow: false,
                ok: true,
            }),
            signature: Some("<SIG/>".into()),
        };
        let out = reissue(xml.as_bytes(), &o, &fresh).unwrap();
        assert_eq!(
            out,
            format!(
                "<s:Assertion xmlns:s=\"{SAML2}\" ID=\"_new\" IssueInstant=\"2027-01-15T08:00:00Z\" Version=\"2.0\"><s:Issuer>i</s:Issuer><SIG/><s:Subject><s:NameID>n</s:NameID><s:SubjectConfirmation Method=\"m\"><s:SubjectConfirmationData NotOnOrAfter=\"2027-01-15T08:10:00Z\"/></s:SubjectConfirmation></s:Subject><s:Conditions NotBefore=\"2027-01-15T08:00:00Z\" NotOnOrAfter=\"2027-01-15T08:10:00Z\"><s:AudienceRestriction><s:Audience>a</s:Audience></s:AudienceRestriction></s:Conditions><s:Advice><wst:Renewing xmlns:wst=\"{WST}\" Allow=\"false\" OK=\"true\"/></s:Advice><s:AuthnStatement AuthnInstant=\"keep\"/></s:Assertion>"
            )
        );
        let again = Original::parse(out.replace("<SIG/>", "").as_bytes()).unwrap();
        assert_eq!(
            again.renewing(),
            Some(RenewSemantics {
                allow: false,
                ok: true
            })
        );
        // A second renewal replaces the Advice rather than adding one.
        let fresh = Fresh {
            renewing: Some(RenewSemantics {
                allow: true,
                ok: false,
            }),
            signature: None,
            ..fresh
        };
        let twice = reissue(out.replace("<SIG/>", "").as_bytes(), &again, &fresh).unwrap();
        assert_eq!(twice.matches("Advice>").count(), 2, "{twice}");
        assert!(twice.contains("Allow=\"true\" OK=\"false\""));
    }

    #[test]
    fn a_saml1_assertion_is_signed_last() {
        let xml = format!(
            "<saml:Assertion xmlns:saml=\"{SAML1}\" MajorVersion=\"1\" AssertionID=\"_o\" Issuer=\"i\" IssueInstant=\"x\"><saml:Conditions NotBefore=\"x\" NotOnOrAfter=\"x\"></saml:Conditions><saml:AuthenticationStatement/></saml:Assertion>"
        );
        let o = Original::parse(xml.as_bytes()).unwrap();
        let fresh = Fresh {
            id: "_n",
            now: t(0),
            not_after: t(60),
            renewing: None,
            signature: Some("<SIG/>".into()),
        };
        let out = reissue(xml.as_bytes(), &o, &fresh).unwrap();
        assert!(out.contains("AssertionID=\"_n\""), "{out}");
        assert!(out.ends_with("<saml:AuthenticationStatement/><SIG/></saml:Assertion>"), "{out}");
        assert!(out.contains("NotOnOrAfter=\"2027-01-15T08:01:00Z\""));
    }
}
