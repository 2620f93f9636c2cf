//! WS-Trust Renew: SAML 2.0 and SAML 1.1 assertions of an instance re-issued with a new ID and
//! lifetime and the original's content, verified by xmlsec1 (and signxml for SAML 1.1); the
//! old token retired where persisted; the renewal window; `wst:Renewing`; cancelled, foreign
//! and altered tokens refused; WS-Trust 2005.

use serde_json::json;

use crate::common::*;

const RENEW_ACTION: &str = "http://docs.oasis-open.org/ws-sx/ws-trust/200512/RST/Renew";
pub(crate) const SAML1: &str = "urn:oasis:names:tc:SAML:1.0:assertion";
const T2005: &str = "http://schemas.xmlsoap.org/ws/2005/02/trust";

/// A Renew of `target` at `path` by `who`, with `extra` RST children.
pub(crate) fn renew_by(
    s: &TestServer,
    path: &str,
    who: (&str, &str),
    target: &str,
    extra: &str,
) -> Reply {
    let body = target_envelope("Renew", &username_text(who.0, who.1), target)
        .replace("</wst:RenewTarget>", &format!("</wst:RenewTarget>{extra}"));
    s.post(
        path,
        &[("Content-Type", "text/xml"), ("SOAPAction", RENEW_ACTION)],
        body,
    )
}

pub(crate) fn renew(s: &TestServer, path: &str, target: &str, extra: &str) -> Reply {
    renew_by(s, path, ("demo", DEMO_PASSWORD), target, extra)
}

pub(crate) fn validate(s: &TestServer, path: &str, target: &str) -> (bool, String) {
    status(&s.post(
        path,
        &[("Content-Type", "text/xml")],
        target_envelope("Validate", &username_text("demo", DEMO_PASSWORD), target),
    ))
}

/// The element `local` of the assertion `a`, as text (start tag to end tag), if any.
pub(crate) fn part<'a>(a: &'a str, open: &str, close: &str) -> &'a str {
    let start = a.find(open).unwrap_or_else(|| panic!("no {open} in {a}"));
    let end = a[start..].find(close).unwrap() + start + close.len();
    &a[start..end]
}

/// An instance of the demo's kind at `element`, with `changes` to its saml2-config.
pub(crate) fn instance(
    element: &str,
    persist: bool,
    saml2: serde_json::Value,
) -> serde_json::Value {
    let mut j = persisting_instance(element, persist);
    j["issued-token-types"] = json!(["SAML2", "SAML1"]);
    for (k, v) in saml2.as_object().unwrap() {
        j["saml2-config"][k] = v.clone();
    }
    j
}

pub(crate) fn issue_type(s: &TestServer, path: &str, token_type: &str) -> Reply {
    issue_as(s, path, ("demo", DEMO_PASSWORD), token_type)
}

/// An Issue for `who` (PasswordText) of `token_type`, for `urn:test:rp`.
pub(crate) fn issue_as(s: &TestServer, path: &str, who: (&str, &str), token_type: &str) -> Reply {
    s.post(
        path,
        &[("Content-Type", "text/xml"), ("SOAPAction", ISSUE_ACTION)],
        envelope(
            SOAP11,
            &username_text(who.0, who.1),
            &format!(
                "{RST_ISSUE}<wst:TokenType>{token_type}</wst:TokenType>{}",
                applies_to("urn:test:rp")
            ),
        ),
    )
}

#[test]
fn a_persisted_saml2_assertion_is_renewed_and_the_old_one_retired() {
    let s = server_with(Opts::default());
    let path = "/sts/soap-persist";
    let r = issue_type(
        &s,
        path,
        "http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.1#SAMLV2.0",
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let old = r.assertion_text();
    let old_id = assertion_id(&old);
    let n = renew(&s, path, &old, "");
    assert_eq!(n.status, 200, "{}", n.body);
    assert_eq!(
        n.header("content-type").map(|c| c.starts_with("text/xml")),
        Some(true)
    );
    // One RSTR (Renew's WSDL output), with the RenewFinal action.
    assert!(
        n.body
            .contains("http://docs.oasis-open.org/ws-sx/ws-trust/200512/RSTR/RenewFinal"),
        "{}",
        n.body
    );
    assert!(!n.body.contains("Collection"), "{}", n.body);
    assert!(n.body.contains("<wst:Lifetime"), "{}", n.body);
    let new = n.assertion_text();
    let new_id = assertion_id(&new);
    assert_ne!(new_id, old_id);
    assert_eq!(
        n.body
            .matches(&format!(">{new_id}</wsse:KeyIdentifier>"))
            .count(),
        2
    );
    let (ok, out) = xmlsec1_verify(&new, &s.cert("sts-signing"));
    assert!(ok, "xmlsec1 rejected the renewed assertion: {out}\n{new}");
    // The original's subject, confirmation, audience, authentication and attributes.
    for (open, close) in [
        ("<saml2:NameID", "</saml2:NameID>"),
        (
            "<saml2:AudienceRestriction>",
            "</saml2:AudienceRestriction>",
        ),
        ("<saml2:AuthnStatement", "</saml2:AuthnStatement>"),
        ("<saml2:Issuer>", "</saml2:Issuer>"),
    ] {
        assert_eq!(part(&old, open, close), part(&new, open, close), "{open}");
    }
    if old.contains("<saml2:AttributeStatement>") {
        assert_eq!(
            part(
                &old,
                "<saml2:AttributeStatement>",
                "</saml2:AttributeStatement>"
            ),
            part(
                &new,
                "<saml2:AttributeStatement>",
                "</saml2:AttributeStatement>"
            )
        );
    }
    assert!(new.contains("Method=\"urn:oasis:names:tc:SAML:2.0:cm:bearer\""));
    // Stored in place of the old one, for the same principal.
    assert!(
        s.store().get_token(&old_id).unwrap().is_none(),
        "old record kept"
    );
    let rec = s
        .store()
        .get_token(&new_id)
        .unwrap()
        .expect("renewal stored");
    assert_eq!(
        (
            rec.principal.as_str(),
            rec.token_type.as_str(),
            rec.sts_id.as_str()
        ),
        ("demo", "SAML2", "soap-persist")
    );
    assert_eq!(rec.token, new);
    let (valid, reason) = validate(&s, path, &old);
    assert!(!valid && reason.contains("cancelled"), "{reason}");
    assert!(validate(&s, path, &new).0);
    // The old token cannot be renewed again.
    let again = renew(&s, path, &old, "");
    assert_eq!(
        again.fault_code(),
        "wst:InvalidSecurityToken",
        "{}",
        again.body
    );
    // By reference: for the token's principal, not for another user; the token itself
    // renews for its bearer.
    let by_alice = renew_by(&s, path, ("alice", "s3cret"), &saml_str(&new_id), "");
    assert_eq!(
        by_alice.fault_code(),
        "wst:FailedAuthentication",
        "{}",
        by_alice.body
    );
    assert!(
        validate(&s, path, &new).0,
        "a refused renewal retires nothing"
    );
    let by_ref = renew(&s, path, &saml_str(&new_id), "");
    assert_eq!(by_ref.status, 200, "{}", by_ref.body);
    let third = by_ref.assertion_text();
    let bearer = renew_by(&s, path, ("alice", "s3cret"), &third, "");
    assert_eq!(bearer.status, 200, "{}", bearer.body);
    assert_eq!(
        s.store()
            .get_token(&assertion_id(&bearer.assertion_text()))
            .unwrap()
            .unwrap()
            .principal,
        "demo",
        "the renewal stays the original principal's"
    );
    // Renew authenticates like Issue.
    let anon = s.post(
        path,
        &[("Content-Type", "text/xml"), ("SOAPAction", RENEW_ACTION)],
        target_envelope("Renew", "", &third),
    );
    assert_eq!(anon.fault_code(), "wst:FailedAuthentication");
    // A cancelled token is not renewed.
    let fresh = issue(&s, path, ("demo", DEMO_PASSWORD)).assertion_text();
    let c = s.post(
        path,
        &[("Content-Type", "text/xml")],
        target_envelope("Cancel", &username_text("demo", DEMO_PASSWORD), &fresh),
    );
    assert_eq!(c.status, 200, "{}", c.body);
    let r = renew(&s, path, &fresh, "");
    assert_eq!(r.fault_code(), "wst:InvalidSecurityToken", "{}", r.body);
    assert!(r.body.contains("cancelled"), "{}", r.body);
}

#[test]
fn a_saml11_assertion_is_renewed_and_verified_by_peers() {
    let s = start_with(Opts {
        instances: vec![("soap-r1.json".into(), instance("soap-r1", true, json!({})))],
        ..Default::default()
    });
    let r = issue_type(&s, "/sts/soap-r1", SAML1);
    assert_eq!(r.status, 200, "{}", r.body);
    let old = part(&r.body, "<saml:Assertion", "</saml:Assertion>").to_owned();
    let n = renew(
        &s,
        "/sts/soap-r1",
        &old,
        &format!("<wst:TokenType>{SAML1}</wst:TokenType>"),
    );
    assert_eq!(n.status, 200, "{}", n.body);
    assert!(
        n.body
            .contains(&format!("<wst:TokenType>{SAML1}</wst:TokenType>"))
    );
    let new = part(&n.body, "<saml:Assertion", "</saml:Assertion>").to_owned();
    let id = |a: &str| {
        a.split("AssertionID=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .to_owned()
    };
    assert_ne!(id(&old), id(&new));
    let cert = s.cert("sts-signing");
    let (ok, out) = xmlsec1_verify_saml1(&new, &cert);
    assert!(ok, "xmlsec1: {out}\n{new}");
    let (ok, out) = signxml_verify_saml1(&new, &cert);
    assert!(ok, "signxml: {out}\n{new}");
    let (ok, out) = pysaml2_verify_saml1(&new, &cert);
    assert!(ok, "pysaml2: {out}\n{new}");
    for (open, close) in [
        ("<saml:AttributeStatement>", "</saml:AttributeStatement>"),
        (
            "<saml:AuthenticationStatement",
            "</saml:AuthenticationStatement>",
        ),
        (
            "<saml:AudienceRestrictionCondition>",
            "</saml:AudienceRestrictionCondition>",
        ),
    ] {
        assert_eq!(part(&old, open, close), part(&new, open, close), "{open}");
    }
    let doc = sts::xml::parse(new.as_bytes(), sts::xml::Limits::default()).unwrap();
    assert_eq!(
        doc.elements().last().unwrap().local,
        "Signature",
        "signed last"
    );
    assert!(s.store().get_token(&id(&old)).unwrap().is_none());
    assert!(s.store().get_token(&id(&new)).unwrap().is_some());
    // A TokenType that is not the token's is refused before anything is retired.
    let wrong = renew(
        &s,
        "/sts/soap-r1",
        &new,
        "<wst:TokenType>http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.1#SAMLV2.0</wst:TokenType>",
    );
    assert_eq!(wrong.fault_code(), "wst:InvalidRequest", "{}", wrong.body);
    assert!(s.store().get_token(&id(&new)).unwrap().is_some());
}

#[test]
fn the_window_and_wst_renewing_decide_what_expired_tokens_renew() {
    let t0 = chrono::DateTime::from_timestamp(wall_clock().timestamp(), 0).unwrap();
    let clock = sts::clock::FixedClock::new(t0);
    let s = start_with(Opts {
        clock: Some(clock.clone()),
        instances: vec![
            (
                "soap-window.json".into(),
                instance(
                    "soap-window",
                    false,
                    json!({"saml2-renew-window-seconds": "120"}),
                ),
            ),
            (
                "soap-nowindow.json".into(),
                instance("soap-nowindow", false, json!({})),
            ),
        ],
        ..Default::default()
    });
    let (w, nw) = ("/sts/soap-window", "/sts/soap-nowindow");
    let a = issue(&s, w, ("demo", DEMO_PASSWORD)).assertion_text();
    let b = issue(&s, nw, ("demo", DEMO_PASSWORD)).assertion_text();
    let secs = |n: i64| t0 + chrono::Duration::seconds(n);
    // Expired 60 s ago (lifetime 600 s): inside the window, outside none.
    clock.set(secs(660));
    let r = renew(&s, nw, &b, "");
    assert_eq!(r.fault_code(), "wst:ExpiredData", "{}", r.body);
    let r = renew(&s, w, &a, "");
    assert_eq!(r.status, 200, "{}", r.body);
    let renewed = r.assertion_text();
    assert!(
        renewed.contains(&format!(
            "NotOnOrAfter=\"{}\"",
            secs(1260).format("%Y-%m-%dT%H:%M:%SZ")
        )),
        "a new lifetime from now: {renewed}"
    );
    // Expired 121 s ago: outside the window.
    clock.set(secs(1260 + 121));
    let r = renew(&s, w, &renewed, "");
    assert_eq!(r.fault_code(), "wst:ExpiredData", "{}", r.body);
    assert!(r.body.contains("renewal window"), "{}", r.body);
    // wst:Renewing of a renewal is recorded in the renewed token.
    clock.set(secs(2000));
    let c = issue(&s, w, ("demo", DEMO_PASSWORD)).assertion_text();
    let not_ok = renew(&s, w, &c, "<wst:Renewing/>").assertion_text();
    assert!(not_ok.contains("<saml2:Advice><wst:Renewing"), "{not_ok}");
    let ok = renew(&s, w, &c, "<wst:Renewing OK=\"true\"/>").assertion_text();
    let never = renew(&s, w, &c, "<wst:Renewing Allow=\"false\"/>").assertion_text();
    // Allow="false": not even while valid.
    let r = renew(&s, w, &never, "");
    assert_eq!(r.fault_code(), "wst:UnableToRenew", "{}", r.body);
    // Valid: both renew.
    assert_eq!(renew(&s, w, &not_ok, "").status, 200);
    // Expired within the window: only OK="true".
    clock.set(secs(2000 + 660));
    let r = renew(&s, w, &not_ok, "");
    assert_eq!(r.fault_code(), "wst:ExpiredData", "{}", r.body);
    assert!(r.body.contains("OK="), "{}", r.body);
    let r = renew(&s, w, &ok, "");
    assert_eq!(r.status, 200, "{}", r.body);
    // The semantics carry over to the renewal when the request states none.
    assert!(r.assertion_text().contains("Allow=\"true\" OK=\"true\""));
}

/// An Issue request's `wst:Renewing` is recorded in the issued assertion (signed: xmlsec1 and
/// signxml verify it) and honoured at renewal, SAML 2.0 and SAML 1.1 alike.
#[test]
fn renew_semantics_of_an_issue_request_are_honoured() {
    let t0 = chrono::DateTime::from_timestamp(wall_clock().timestamp(), 0).unwrap();
    let clock = sts::clock::FixedClock::new(t0);
    let s = start_with(Opts {
        clock: Some(clock.clone()),
        instances: vec![(
            "soap-rw.json".into(),
            instance(
                "soap-rw",
                false,
                json!({"saml2-renew-window-seconds": "300"}),
            ),
        )],
        ..Default::default()
    });
    let path = "/sts/soap-rw";
    let issue_with = |token_type: &str, renewing: &str| {
        let r = s.post(
            path,
            &[("Content-Type", "text/xml"), ("SOAPAction", ISSUE_ACTION)],
            envelope(
                SOAP11,
                &username_text("demo", DEMO_PASSWORD),
                &format!("{RST_ISSUE}<wst:TokenType>{token_type}</wst:TokenType>{renewing}"),
            ),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        r
    };
    let saml2 = "http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.1#SAMLV2.0";
    let never = issue_with(saml2, "<wst:Renewing Allow=\"false\"/>").assertion_text();
    assert!(never.contains("<saml2:Advice><wst:Renewing"), "{never}");
    let (ok, out) = xmlsec1_verify(&never, &s.cert("sts-signing"));
    assert!(ok, "{out}");
    let r = renew(&s, path, &never, "");
    assert_eq!(r.fault_code(), "wst:UnableToRenew", "{}", r.body);
    let while_valid = issue_with(saml2, "<wst:Renewing/>").assertion_text();
    let ok_r = issue_with(SAML1, "<wst:Renewing OK=\"true\"/>");
    let after_expiry = part(&ok_r.body, "<saml:Assertion", "</saml:Assertion>").to_owned();
    assert!(
        after_expiry.contains("<saml:Advice><wst:Renewing"),
        "{after_expiry}"
    );
    let cert = s.cert("sts-signing");
    let (ok, out) = xmlsec1_verify_saml1(&after_expiry, &cert);
    assert!(ok, "xmlsec1: {out}");
    let (ok, out) = signxml_verify_saml1(&after_expiry, &cert);
    assert!(ok, "signxml: {out}");
    // Expired 100 s ago, inside the window: OK="true" renews, the default (false) does not.
    clock.set(t0 + chrono::Duration::seconds(700));
    let r = renew(&s, path, &while_valid, "");
    assert_eq!(r.fault_code(), "wst:ExpiredData", "{}", r.body);
    let r = renew(&s, path, &after_expiry, "");
    assert_eq!(r.status, 200, "{}", r.body);
    let renewed = part(&r.body, "<saml:Assertion", "</saml:Assertion>").to_owned();
    let (ok, out) = xmlsec1_verify_saml1(&renewed, &cert);
    assert!(ok, "xmlsec1: {out}");
}

#[test]
fn foreign_altered_and_unnamed_tokens_are_refused() {
    let s = start_with(Opts {
        instances: vec![(
            "soap-other.json".into(),
            instance("soap-other", false, json!({"issuer-name": "another-idp"})),
        )],
        ..Default::default()
    });
    let demo = format!("/sts/{INSTANCE}");
    // Signed with the same key, but by another issuer.
    let other = issue(&s, "/sts/soap-other", ("demo", DEMO_PASSWORD)).assertion_text();
    let r = renew(&s, &demo, &other, "");
    assert_eq!(r.fault_code(), "wst:InvalidSecurityToken", "{}", r.body);
    assert!(r.body.contains("another issuer"), "{}", r.body);
    // Altered after signing.
    let a = issue(&s, &demo, ("demo", DEMO_PASSWORD)).assertion_text();
    let altered = a.replace(">demo</saml2:NameID>", ">admin</saml2:NameID>");
    assert_ne!(altered, a);
    let r = renew(&s, &demo, &altered, "");
    assert_eq!(r.fault_code(), "wst:InvalidSecurityToken", "{}", r.body);
    // A non-persisting instance renews the token itself, never a reference.
    let r = renew(&s, &demo, &saml_str(&assertion_id(&a)), "");
    assert_eq!(r.fault_code(), "wst:BadRequest", "{}", r.body);
    assert_eq!(renew(&s, &demo, &a, "").status, 200);
}

#[test]
fn renew_speaks_ws_trust_2005() {
    let s = start_with(Opts {
        instances: vec![("soap-r5.json".into(), instance("soap-r5", true, json!({})))],
        ..Default::default()
    });
    let a = issue(&s, "/sts/soap-r5", ("demo", DEMO_PASSWORD)).assertion_text();
    let body = envelope(SOAP12, &username_text("demo", DEMO_PASSWORD), "")
        .replace(ISSUE_ACTION, &format!("{T2005}/RST/Renew"))
        .replace(
            &format!("<wst:RequestSecurityToken xmlns:wst=\"{WST}\"></wst:RequestSecurityToken>"),
            &format!(
                "<t:RequestSecurityToken xmlns:t=\"{T2005}\"><t:RequestType>{T2005}/Renew</t:RequestType><t:RenewTarget>{a}</t:RenewTarget></t:RequestSecurityToken>"
            ),
        );
    let ct = format!("application/soap+xml; charset=utf-8; action=\"{T2005}/RST/Renew\"");
    let r = s.post("/sts/soap-r5", &[("Content-Type", &ct)], body.clone());
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body.contains(&format!(">{T2005}/RSTR/Renew<")),
        "{}",
        r.body
    );
    assert!(
        r.body.contains(&format!(
            "<t:RequestSecurityTokenResponse xmlns:t=\"{T2005}\""
        )),
        "{}",
        r.body
    );
    let new = r.assertion_text();
    let (ok, out) = xmlsec1_verify(&new, &s.cert("sts-signing"));
    assert!(ok, "{out}");
    // The same request again: the old token is retired; the fault speaks 2005.
    let again = s.post("/sts/soap-r5", &[("Content-Type", &ct)], body);
    assert_eq!(
        again.fault_code(),
        "t:InvalidSecurityToken",
        "{}",
        again.body
    );
}

/// A server whose instance `name` (persisting or not) renews for at most 1000 s from the first
/// authentication (window 60 s), on a fixed clock at `t0`, and `at(n)`: `t0 + n` seconds as
/// an `xs:dateTime`.
pub(crate) fn max_age_server(
    name: &str,
    persist: bool,
) -> (
    TestServer,
    std::sync::Arc<sts::clock::FixedClock>,
    chrono::DateTime<chrono::Utc>,
    impl Fn(i64) -> String,
) {
    let t0 = chrono::DateTime::from_timestamp(wall_clock().timestamp(), 0).unwrap();
    let clock = sts::clock::FixedClock::new(t0);
    let s = start_with(Opts {
        clock: Some(clock.clone()),
        instances: vec![(
            format!("{name}.json"),
            instance(
                name,
                persist,
                json!({"saml2-renew-max-age-seconds": "1000", "saml2-renew-window-seconds": "60"}),
            ),
        )],
        ..Default::default()
    });
    let at = move |n: i64| {
        (t0 + chrono::Duration::seconds(n))
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string()
    };
    (s, clock, t0, at)
}

/// A token renewed again and again lives at most `saml2-renew-max-age-seconds` from its first
/// authentication (`AuthnInstant`, kept by every renewal): renewals are cut short at that
/// instant, and refused from it on.
#[test]
fn renewals_end_at_the_maximum_age() {
    let (s, clock, t0, at) = max_age_server("soap-age", true);
    let path = "/sts/soap-age";
    let first = issue(&s, path, ("demo", DEMO_PASSWORD)).assertion_text();
    let authn = part(&first, "<saml2:AuthnStatement", "</saml2:AuthnStatement>").to_owned();
    assert!(
        authn.contains(&format!("AuthnInstant=\"{}\"", at(0))),
        "{authn}"
    );
    // A full lifetime (600 s) while it fits.
    clock.set(t0 + chrono::Duration::seconds(300));
    let r = renew(&s, path, &first, "");
    assert_eq!(r.status, 200, "{}", r.body);
    let second = r.assertion_text();
    assert!(
        second.contains(&format!("NotOnOrAfter=\"{}\"", at(900))),
        "{second}"
    );
    assert_eq!(
        part(&second, "<saml2:AuthnStatement", "</saml2:AuthnStatement>"),
        authn
    );
    // Then cut at t0 + 1000, in Conditions, SubjectConfirmationData and the RSTR's Lifetime.
    clock.set(t0 + chrono::Duration::seconds(800));
    let r = renew(&s, path, &second, "");
    assert_eq!(r.status, 200, "{}", r.body);
    let third = r.assertion_text();
    assert_eq!(
        third
            .matches(&format!("NotOnOrAfter=\"{}\"", at(1000)))
            .count(),
        2,
        "{third}"
    );
    assert!(!third.contains(&at(1400)), "{third}");
    assert!(
        r.body.contains(&format!(
            "<wsu:Expires>{}.000Z</wsu:Expires>",
            &at(1000)[..19]
        )),
        "{}",
        r.body
    );
    let (ok, out) = xmlsec1_verify(&third, &s.cert("sts-signing"));
    assert!(ok, "{out}");
    // At the maximum age, even within the renewal window: refused, and the token not retired.
    clock.set(t0 + chrono::Duration::seconds(1000));
    let r = renew(&s, path, &third, "");
    assert_eq!(r.fault_code(), "wst:UnableToRenew", "{}", r.body);
    assert!(r.body.contains("saml2-renew-max-age-seconds"), "{}", r.body);
    clock.set(t0 + chrono::Duration::seconds(999));
    let (valid, body) = validate(&s, path, &third);
    assert!(valid, "{body}");
    // The key is checked when an instance is published: at least one second.
    let mut bad = instance(
        "soap-bad-age",
        false,
        json!({"saml2-renew-max-age-seconds": "0"}),
    );
    bad["deployment-config"]["deployment-url-element"] = json!("soap-bad-age");
    let admin = s.login("amadmin", ADMIN_PASSWORD);
    let r = publish(&s, &admin, "soap", &bad);
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("saml2-renew-max-age-seconds"), "{}", r.body);
}

/// A Renew request's `wst:Renewing` may make the renewed token stricter than the one it
/// renews, never looser: `OK="true"` for a token issued with `OK="false"` is refused, and so
/// is `Allow="true"` for one issued with `Allow="false"`: refused as a loosening (checked
/// before the token's own `Allow="false"`, which would refuse it anyway, says so).
#[test]
fn a_renew_request_cannot_loosen_wst_renewing() {
    let s = start_with(Opts {
        instances: vec![(
            "soap-sem.json".into(),
            instance(
                "soap-sem",
                false,
                json!({"saml2-renew-window-seconds": "300"}),
            ),
        )],
        ..Default::default()
    });
    let path = "/sts/soap-sem";
    let issue_with = |renewing: &str| {
        let r = s.post(
            path,
            &[("Content-Type", "text/xml"), ("SOAPAction", ISSUE_ACTION)],
            envelope(
                SOAP11,
                &username_text("demo", DEMO_PASSWORD),
                &format!("{RST_ISSUE}{renewing}"),
            ),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        r.assertion_text()
    };
    let strict = issue_with("<wst:Renewing OK=\"false\"/>");
    let r = renew(&s, path, &strict, "<wst:Renewing OK=\"true\"/>");
    assert_eq!(r.fault_code(), "wst:UnableToRenew", "{}", r.body);
    assert!(r.body.contains("loosen"), "{}", r.body);
    // Stating the same, or stricter, is fine; stricter is recorded.
    let same = renew(&s, path, &strict, "<wst:Renewing/>");
    assert_eq!(same.status, 200, "{}", same.body);
    let r = renew(
        &s,
        path,
        &same.assertion_text(),
        "<wst:Renewing Allow=\"false\"/>",
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let never = r.assertion_text();
    assert!(never.contains("Allow=\"false\" OK=\"false\""), "{never}");
    // Allow="true" for it: the loosening is what is refused (without the check, the token's
    // own Allow="false" would answer, and this message would not).
    for asked in ["Allow=\"true\" OK=\"true\"", "Allow=\"true\" OK=\"false\""] {
        let r = renew(&s, path, &never, &format!("<wst:Renewing {asked}/>"));
        assert_eq!(r.fault_code(), "wst:UnableToRenew", "{}", r.body);
        assert!(
            r.body.contains(&format!(
                "wst:Renewing {asked} would loosen the token's Allow=\"false\" OK=\"false\""
            )),
            "{}",
            r.body
        );
    }
    // Not asking to loosen it: the token's own semantics refuse it.
    for asked in ["", "<wst:Renewing Allow=\"false\"/>"] {
        let r = renew(&s, path, &never, asked);
        assert_eq!(r.fault_code(), "wst:UnableToRenew", "{}", r.body);
        assert!(r.body.contains("it is not renewable"), "{}", r.body);
        assert!(!r.body.contains("loosen"), "{}", r.body);
    }
    // A token issued without wst:Renewing follows the window alone, as loose as OK="true".
    let open = issue_with("");
    let r = renew(&s, path, &open, "<wst:Renewing OK=\"true\"/>");
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.assertion_text().contains("Allow=\"true\" OK=\"true\""));
}

/// Validate to a new token keeps the first `AuthnInstant` and is refused past the maximum age,
/// so that re-issuing through Validate does not outlast what renewals may.
#[test]
fn the_maximum_age_follows_a_token_through_validate_to_a_new_token() {
    let t0 = chrono::DateTime::from_timestamp(wall_clock().timestamp(), 0).unwrap();
    let clock = sts::clock::FixedClock::new(t0);
    let mut j = instance(
        "soap-tx",
        false,
        json!({"saml2-renew-max-age-seconds": "1000", "saml2-token-lifetime-seconds": "3000"}),
    );
    j["supported-token-transforms"] = json!([
        {"inputTokenType": "SAML2", "outputTokenType": "SAML1", "invalidateInterimOpenAMSession": true}
    ]);
    let s = start_with(Opts {
        clock: Some(clock.clone()),
        instances: vec![("soap-tx.json".into(), j)],
        ..Default::default()
    });
    let path = "/sts/soap-tx";
    let validate_to_saml1 = |target: &str| {
        let body = target_envelope("Validate", &username_text("demo", DEMO_PASSWORD), target)
            .replace(
                "</wst:RequestType>",
                "</wst:RequestType><wst:TokenType>http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.1#SAMLV1.1</wst:TokenType>",
            );
        s.post(path, &[("Content-Type", "text/xml")], body)
    };
    let first = issue(&s, path, ("demo", DEMO_PASSWORD)).assertion_text();
    clock.set(t0 + chrono::Duration::seconds(500));
    let r = validate_to_saml1(&first);
    assert_eq!(r.status, 200, "{}", r.body);
    let saml1 = part(&r.body, "<saml:Assertion", "</saml:Assertion>").to_owned();
    let instant = t0.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    assert!(
        saml1.contains(&format!("AuthenticationInstant=\"{instant}\"")),
        "the first authentication's instant: {saml1}"
    );
    // Still valid (lifetime 3000 s), but first issued 1000 s ago: no new token.
    clock.set(t0 + chrono::Duration::seconds(1000));
    let r = validate_to_saml1(&first);
    assert_eq!(r.fault_code(), "wst:ExpiredData", "{}", r.body);
    assert!(r.body.contains("saml2-renew-max-age-seconds"), "{}", r.body);
}
