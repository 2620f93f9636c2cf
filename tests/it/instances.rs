//! What publishing (and loading) an instance may do: signing is the default, keys and
//! algorithms are checked whatever the other settings, and files an instance names are
//! read only from the data directory, bounded.

use serde_json::{Value, json};

use crate::common::*;
use crate::rest::{expect_error, publish};

/// The demo SOAP instance at `element` with `edit` applied to its `saml2-config`.
fn soap_with(element: &str, edit: impl FnOnce(&mut serde_json::Map<String, Value>)) -> Value {
    let mut j = persisting_instance(element, false);
    edit(j["saml2-config"].as_object_mut().unwrap());
    j
}

fn issue_at(s: &TestServer, element: &str) -> Reply {
    s.post(
        &format!("/sts/{element}"),
        &[("Content-Type", "text/xml"), ("SOAPAction", ISSUE_ACTION)],
        envelope(SOAP11, &username_text("demo", DEMO_PASSWORD), RST_ISSUE),
    )
}

#[test]
fn an_unknown_signature_key_alias_is_refused_whatever_the_sign_flag() {
    let s = start();
    let admin = s.login("amadmin", ADMIN_PASSWORD);
    for sign in [
        None,
        Some(json!("false")),
        Some(json!(false)),
        Some(json!("true")),
    ] {
        let st = soap_with("alias-nope", |c| {
            c.insert("saml2-signature-key-alias".into(), json!("nope"));
            match &sign {
                None => {
                    c.remove("saml2-sign-assertion");
                }
                Some(v) => {
                    c.insert("saml2-sign-assertion".into(), v.clone());
                }
            }
        });
        expect_error(
            &publish(&s, &admin, "soap", &st),
            400,
            "saml2-config.saml2-signature-key-alias `nope` names no key in keys/",
        );
    }
    assert_eq!(issue_at(&s, "alias-nope").status, 404);
}

#[test]
fn assertions_are_signed_unless_unsigned_is_chosen_explicitly() {
    let s = start();
    let admin = s.login("amadmin", ADMIN_PASSWORD);
    // Left out, or null: signed, with the default key.
    for (element, sign) in [("sign-omitted", None), ("sign-null", Some(Value::Null))] {
        let st = soap_with(element, |c| {
            c.remove("saml2-signature-key-alias");
            match &sign {
                None => {
                    c.remove("saml2-sign-assertion");
                }
                Some(v) => {
                    c.insert("saml2-sign-assertion".into(), v.clone());
                }
            }
        });
        let r = publish(&s, &admin, "soap", &st);
        assert_eq!(r.status, 201, "{}", r.body);
        let shown = s.request(
            "GET",
            &format!("/sts-publish/soap/{element}"),
            &[("iPlanetDirectoryPro", &admin)],
            "",
        );
        assert_eq!(
            shown.json()[element]["saml2-config"]["saml2-sign-assertion"],
            "true",
            "{}",
            shown.body
        );
        let assertion = issue_at(&s, element).assertion_text();
        let (ok, out) = xmlsec1_verify(&assertion, &s.cert("sts-signing"));
        assert!(ok, "{element}: {out}\n{assertion}");
    }
    // Explicitly false: unsigned, as asked.
    let st = soap_with("sign-false", |c| {
        c.insert("saml2-sign-assertion".into(), json!("false"));
    });
    let r = publish(&s, &admin, "soap", &st);
    assert_eq!(r.status, 201, "{}", r.body);
    let assertion = issue_at(&s, "sign-false").assertion_text();
    assert!(!assertion.contains("Signature"), "{assertion}");
}

#[test]
fn sha1_is_not_offered_for_signing() {
    let s = start();
    let admin = s.login("amadmin", ADMIN_PASSWORD);
    for sign in ["true", "false"] {
        let st = soap_with("sha1-sig", |c| {
            c.insert("saml2-sign-assertion".into(), json!(sign));
            c.insert(
                "saml2-signature-algorithm".into(),
                json!("http://www.w3.org/2000/09/xmldsig#rsa-sha1"),
            );
        });
        let r = publish(&s, &admin, "soap", &st);
        for needle in [
            "saml2-config.saml2-signature-algorithm `http://www.w3.org/2000/09/xmldsig#rsa-sha1`: SHA-1 is not offered for signing",
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
            "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512",
        ] {
            expect_error(&r, 400, needle);
        }
        let st = soap_with("sha1-digest", |c| {
            c.insert("saml2-sign-assertion".into(), json!(sign));
            c.insert(
                "saml2-digest-algorithm".into(),
                json!("http://www.w3.org/2000/09/xmldsig#sha1"),
            );
        });
        let r = publish(&s, &admin, "soap", &st);
        for needle in [
            "saml2-config.saml2-digest-algorithm `http://www.w3.org/2000/09/xmldsig#sha1`: SHA-1 is not offered for signing",
            "http://www.w3.org/2001/04/xmlenc#sha256",
        ] {
            expect_error(&r, 400, needle);
        }
    }
    // Other unknown URIs are named with the accepted ones too.
    let st = soap_with("md5-sig", |c| {
        c.insert(
            "saml2-signature-algorithm".into(),
            json!("http://www.w3.org/2001/04/xmldsig-more#rsa-md5"),
        );
    });
    let r = publish(&s, &admin, "soap", &st);
    expect_error(
        &r,
        400,
        "saml2-config.saml2-signature-algorithm `http://www.w3.org/2001/04/xmldsig-more#rsa-md5` is not supported; use one of",
    );
    // SHA-2 algorithms still work, and the instance validates what it issues.
    let st = soap_with("sha512", |c| {
        c.insert(
            "saml2-signature-algorithm".into(),
            json!("http://www.w3.org/2001/04/xmldsig-more#rsa-sha512"),
        );
        c.insert(
            "saml2-digest-algorithm".into(),
            json!("http://www.w3.org/2001/04/xmlenc#sha512"),
        );
    });
    assert_eq!(publish(&s, &admin, "soap", &st).status, 201);
    let assertion = issue_at(&s, "sha512").assertion_text();
    assert!(assertion.contains("xmldsig-more#rsa-sha512"), "{assertion}");
    let validate = s.post(
        "/sts/sha512",
        &[("Content-Type", "text/xml")],
        target_envelope(
            "Validate",
            &username_text("demo", DEMO_PASSWORD),
            &assertion,
        ),
    );
    assert!(
        validate.body.contains(
            "<wst:Code>http://docs.oasis-open.org/ws-sx/ws-trust/200512/status/valid</wst:Code>"
        ),
        "{}",
        validate.body
    );
}
