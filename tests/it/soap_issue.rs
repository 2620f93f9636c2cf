//! Issue over SOAP 1.1 and 1.2: the RSTR, the assertion, its signature, replay protection.

use crate::common::*;

fn child<'a>(e: &'a sts::xml::Element, ns: &'a str, local: &'a str) -> &'a sts::xml::Element {
    e.elements()
        .find(|c| c.is(ns, local))
        .unwrap_or_else(|| panic!("no {{{ns}}}{local} in {}", e.local))
}

const WSA: &str = "http://www.w3.org/2005/08/addressing";

#[test]
fn soap11_password_text_issue_returns_a_complete_rstrc_and_signed_assertion() {
    let s = start();
    let body = envelope(
        SOAP11,
        &username_text("demo", DEMO_PASSWORD),
        &format!(
            "{RST_ISSUE}<wst:TokenType>urn:oasis:names:tc:SAML:2.0:assertion</wst:TokenType>{}<wst:KeyType>http://docs.oasis-open.org/ws-sx/ws-trust/200512/Bearer</wst:KeyType>",
            applies_to("urn:test:rp")
        ),
    );
    let r = s.post_soap11(&body);
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.content_type.starts_with("text/xml"), "{}", r.content_type);
    assert!(
        !r.body.contains("mustUnderstand"),
        "reply headers must not carry mustUnderstand"
    );
    let env = r.doc();
    assert!(env.is(SOAP11, "Envelope"));
    let header = child(&env, SOAP11, "Header");
    assert_eq!(
        child(header, WSA, "Action").text(),
        "http://docs.oasis-open.org/ws-sx/ws-trust/200512/RSTRC/IssueFinal"
    );
    assert_eq!(
        child(header, WSA, "RelatesTo").text(),
        "urn:uuid:5e1f2a3b-0000-4000-8000-000000000001"
    );
    let rstrc = child(
        child(&env, SOAP11, "Body"),
        WST,
        "RequestSecurityTokenResponseCollection",
    );
    let rstrs: Vec<_> = rstrc.elements().collect();
    assert_eq!(rstrs.len(), 1);
    let rstr = rstrs[0];
    // TokenType echoes the requested URI, with no surrounding whitespace.
    assert!(
        r.body
            .contains("<wst:TokenType>urn:oasis:names:tc:SAML:2.0:assertion</wst:TokenType>")
    );
    let assertion = child(
        child(rstr, WST, "RequestedSecurityToken"),
        SAML2,
        "Assertion",
    );
    let id = assertion.attr(None, "ID").unwrap().to_owned();
    for r in ["RequestedAttachedReference", "RequestedUnattachedReference"] {
        let str_ = child(
            child(rstr, WST, r),
            "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd",
            "SecurityTokenReference",
        );
        let ki = str_.elements().next().unwrap();
        assert_eq!(ki.local, "KeyIdentifier");
        assert_eq!(
            ki.attr(None, "ValueType"),
            Some("http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.1#SAMLID")
        );
        assert_eq!(ki.text(), id);
    }
    let lifetime = child(rstr, WST, "Lifetime");
    assert_eq!(lifetime.elements().count(), 2);
    assert!(r.body.contains("<wsa:Address>urn:test:rp</wsa:Address>"));
    assert_eq!(
        child(rstr, WST, "KeyType").text(),
        "http://docs.oasis-open.org/ws-sx/ws-trust/200512/Bearer"
    );

    // The assertion itself.
    assert_eq!(assertion.attr(None, "Version"), Some("2.0"));
    assert!(assertion.attr(None, "IssueInstant").is_some());
    assert_eq!(child(assertion, SAML2, "Issuer").text(), "sts-demo-idp");
    let subject = child(assertion, SAML2, "Subject");
    let name_id = child(subject, SAML2, "NameID");
    assert_eq!(name_id.text(), "demo");
    assert_eq!(
        name_id.attr(None, "Format"),
        Some("urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified")
    );
    let sc = child(subject, SAML2, "SubjectConfirmation");
    assert_eq!(
        sc.attr(None, "Method"),
        Some("urn:oasis:names:tc:SAML:2.0:cm:bearer")
    );
    assert!(
        child(sc, SAML2, "SubjectConfirmationData")
            .attr(None, "NotOnOrAfter")
            .is_some()
    );
    let cond = child(assertion, SAML2, "Conditions");
    assert!(cond.attr(None, "NotBefore").is_some() && cond.attr(None, "NotOnOrAfter").is_some());
    assert_eq!(
        child(child(cond, SAML2, "AudienceRestriction"), SAML2, "Audience").text(),
        "urn:test:rp"
    );
    assert!(
        child(assertion, SAML2, "AuthnStatement")
            .attr(None, "AuthnInstant")
            .is_some()
    );
    let attrs = child(assertion, SAML2, "AttributeStatement");
    let mail = attrs
        .elements()
        .find(|a| a.attr(None, "Name") == Some("email"))
        .expect("email attribute from saml2-attribute-map");
    assert_eq!(
        child(mail, SAML2, "AttributeValue").text(),
        "demo@example.com"
    );
    // The signature follows Issuer, as the SAML schema requires.
    let order: Vec<&str> = assertion.elements().map(|e| e.local.as_str()).collect();
    assert_eq!(&order[..3], ["Issuer", "Signature", "Subject"]);

    // Third-party verifiers accept it, cut out as text (every namespace declared on it)...
    let text = r.assertion_text();
    let cert = s.cert("sts-signing");
    let (ok, out) = xmlsec1_verify(&text, &cert);
    assert!(ok, "xmlsec1 rejected the assertion: {out}");
    let (ok, out) = signxml_verify(&text, &cert);
    assert!(ok, "signxml rejected the assertion: {out}");
    assert!(text.contains(
        "<ds:SignatureMethod Algorithm=\"http://www.w3.org/2001/04/xmldsig-more#rsa-sha256\"></ds:SignatureMethod>"
    ));
    // (Signed as written, in canonical form: no empty-element tags.)
    assert!(text.contains(
        "<ds:DigestMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\"></ds:DigestMethod>"
    ));
    assert!(text.contains("http://www.w3.org/2001/10/xml-exc-c14n#"));
    assert!(text.contains("<ds:X509Certificate>"));
    // ...and reject it after one byte of the signed content changes.
    let tampered = text.replacen(">demo</saml2:NameID>", ">demp</saml2:NameID>", 1);
    assert_ne!(tampered, text);
    assert!(
        !xmlsec1_verify(&tampered, &cert).0,
        "xmlsec1 accepted a tampered assertion"
    );
    assert!(
        !signxml_verify(&tampered, &cert).0,
        "signxml accepted a tampered assertion"
    );
    // And our own verifier (the one later input validation uses) agrees.
    let pem = std::fs::read(&cert).unwrap();
    let verified = sts::xmldsig::verify_enveloped(text.as_bytes(), "ID", &pem).unwrap();
    assert_eq!(verified.get().id, id);
    assert!(sts::xmldsig::verify_enveloped(tampered.as_bytes(), "ID", &pem).is_err());
}

#[test]
fn soap12_digest_issue_answers_in_soap12_and_refuses_a_replayed_nonce() {
    let s = start();
    let token = username_digest("alice", "s3cret");
    let body = envelope(SOAP12, &token, RST_ISSUE);
    let r = s.post_soap12(&body);
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.content_type.starts_with("application/soap+xml"),
        "{}",
        r.content_type
    );
    assert!(r.doc().is(SOAP12, "Envelope"));
    // No AppliesTo: the audience is the instance's saml2-sp-entity-id.
    assert!(
        r.body
            .contains("<saml2:Audience>urn:sts:demo-sp</saml2:Audience>")
    );
    // A missing TokenType means the default, SAML 2.0.
    assert!(r.body.contains(
        "<wst:TokenType>http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.1#SAMLV2.0</wst:TokenType>"
    ));
    let again = s.post_soap12(&body);
    assert_eq!(again.status, 500);
    assert_eq!(again.fault_code(), "wst:FailedAuthentication");
    assert!(
        again.body.contains("nonce was already used"),
        "{}",
        again.body
    );
    // A fresh nonce works again.
    let fresh = envelope(SOAP12, &username_digest("alice", "s3cret"), RST_ISSUE);
    assert_eq!(s.post_soap12(&fresh).status, 200);
}

#[test]
fn lifetime_is_capped_by_the_instance_and_honoured_when_shorter() {
    // The server's clock is pinned to the request's Created, so the lifetime granted is exact
    // however long the request takes on a loaded machine.
    let now = chrono::DateTime::from_timestamp(wall_clock().timestamp(), 0).unwrap();
    let s = start_with(Opts {
        clock: Some(sts::clock::FixedClock::new(now)),
        ..Default::default()
    });
    let fmt = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let lifetime = |secs: i64| {
        format!(
            "<wst:Lifetime><wsu:Created xmlns:wsu=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd\">{}</wsu:Created><wsu:Expires xmlns:wsu=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd\">{}</wsu:Expires></wst:Lifetime>",
            fmt(now),
            fmt(now + chrono::Duration::seconds(secs))
        )
    };
    let expires_of = |r: &Reply| {
        let a = r.assertion_text();
        let doc = sts::xml::parse(a.as_bytes(), Default::default()).unwrap();
        let c = doc.child(&[SAML2], "Conditions").unwrap();
        let nb = sts::xml::datetime::parse_datetime(c.attr(None, "NotBefore").unwrap()).unwrap();
        let na = sts::xml::datetime::parse_datetime(c.attr(None, "NotOnOrAfter").unwrap()).unwrap();
        (na - nb).num_seconds()
    };
    let short = s.post_soap11(&envelope(
        SOAP11,
        &username_text("demo", DEMO_PASSWORD),
        &format!("{RST_ISSUE}{}", lifetime(60)),
    ));
    assert_eq!(short.status, 200, "{}", short.body);
    assert_eq!(expires_of(&short), 60);
    let long = s.post_soap11(&envelope(
        SOAP11,
        &username_text("demo", DEMO_PASSWORD),
        &format!("{RST_ISSUE}{}", lifetime(86_400)),
    ));
    assert_eq!(expires_of(&long), 600);
    let past = s.post_soap11(&envelope(
        SOAP11,
        &username_text("demo", DEMO_PASSWORD),
        &format!("{RST_ISSUE}{}", lifetime(-60)),
    ));
    assert_eq!(past.fault_code(), "wst:InvalidTimeRange");
}

fn ec_instance() -> serde_json::Value {
    let mut j = sts::datadir::demo_instance();
    j["deployment-config"]["deployment-url-element"] = "soap-ec".into();
    j["deployment-config"]["deployment-realm"] = "/myRealm".into();
    j["saml2-config"]["saml2-signature-key-alias"] = "sts-signing-ec".into();
    j["saml2-config"]["saml2-signature-algorithm"] =
        "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384".into();
    j["saml2-config"]["saml2-digest-algorithm"] = "http://www.w3.org/2001/04/xmlenc#sha512".into();
    j["saml2-config"]["saml2-sp-acs-url"] = "https://sp.example.com/acs".into();
    j["saml2-config"]["saml2-name-id-format"] =
        "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress".into();
    j
}

#[test]
fn per_instance_ecdsa_algorithms_realm_path_and_recipient() {
    let s = start_with(Opts {
        instances: vec![("soap-ec.json".into(), ec_instance())],
        ..Default::default()
    });
    let body = envelope(SOAP11, &username_text("demo", DEMO_PASSWORD), RST_ISSUE);
    // Unknown in the top-level realm; published under /sts/{realm}/{element}.
    assert_eq!(
        s.post(
            "/sts/soap-ec",
            &[("Content-Type", "text/xml")],
            body.clone()
        )
        .status,
        404
    );
    let r = s.post(
        "/sts/myRealm/soap-ec",
        &[("Content-Type", "text/xml"), ("SOAPAction", ISSUE_ACTION)],
        body,
    );
    // demo lives in the top-level realm, not in /myRealm.
    assert_eq!(r.fault_code(), "wst:FailedAuthentication");
    s.add_user("/myRealm", "bob", "pw-b");
    let r = s.post(
        "/sts/myRealm/soap-ec",
        &[("Content-Type", "text/xml"), ("SOAPAction", ISSUE_ACTION)],
        envelope(SOAP11, &username_text("bob", "pw-b"), RST_ISSUE),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let text = r.assertion_text();
    assert!(text.contains("http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384"));
    assert!(text.contains("http://www.w3.org/2001/04/xmlenc#sha512"));
    assert!(text.contains("Recipient=\"https://sp.example.com/acs\""));
    assert!(text.contains("nameid-format:emailAddress"));
    let cert = s.cert("sts-signing-ec");
    let (ok, out) = xmlsec1_verify(&text, &cert);
    assert!(ok, "xmlsec1 rejected the ECDSA assertion: {out}");
    let (ok, out) = signxml_verify(&text, &cert);
    assert!(ok, "signxml rejected the ECDSA assertion: {out}");
    // A digest UsernameToken for a user without a digest secret fails like a wrong password.
    let r = s.post(
        "/sts/myRealm/soap-ec",
        &[("Content-Type", "text/xml"), ("SOAPAction", ISSUE_ACTION)],
        envelope(SOAP11, &username_digest("bob", "pw-b"), RST_ISSUE),
    );
    assert_eq!(r.fault_code(), "wst:FailedAuthentication");
}

#[test]
fn client_captures_are_accepted_with_the_clock_pinned_to_their_time() {
    // The captures in fixtures/soap/captures were made at these times by zeep, node-soap and WSS4J.
    let at = chrono::DateTime::parse_from_rfc3339("2026-11-22T03:34:45Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let clock = sts::clock::FixedClock::new(at);
    let s = start_with(Opts {
        clock: Some(clock.clone()),
        ..Default::default()
    });
    let cases = [
        (
            "zeep-issue-soap11-usernametoken.xml",
            "text/xml; charset=utf-8",
            Some(ISSUE_ACTION),
        ),
        (
            "zeep-cxfwsdl-issue.xml",
            "text/xml; charset=utf-8",
            Some(ISSUE_ACTION),
        ),
        (
            "zeep-create_message-issue.xml",
            "text/xml; charset=utf-8",
            Some(ISSUE_ACTION),
        ),
        (
            "node-soap-issue-soap11-usernametoken.xml",
            "text/xml; charset=utf-8",
            Some(ISSUE_ACTION),
        ),
        (
            "node-soap-cxfwsdl-issue.xml",
            "text/xml; charset=utf-8",
            Some(ISSUE_ACTION),
        ),
        (
            "zeep-issue-soap12-digest-wsa.xml",
            "application/soap+xml; charset=utf-8",
            None,
        ),
        (
            "zeep-issue-soap12-digest-timestamp.xml",
            "application/soap+xml; charset=utf-8",
            None,
        ),
        (
            "node-soap-issue-soap12-digest.xml",
            "application/soap+xml; charset=utf-8",
            None,
        ),
        (
            "wss4j-issue-soap11-digest.xml",
            "text/xml; charset=utf-8",
            Some(ISSUE_ACTION),
        ),
        (
            "zeep-raw-soap12.xml",
            "application/soap+xml; charset=utf-8",
            None,
        ),
        // No SOAPAction, no action parameter: dispatch falls through to wsa:Action.
        (
            "node-soap-raw.xml",
            "application/soap+xml; charset=utf-8",
            None,
        ),
    ];
    for (file, ct, action) in cases {
        let body = std::fs::read(captures_dir().join(file)).unwrap();
        let mut headers = vec![("Content-Type", ct)];
        if let Some(a) = action {
            headers.push(("SOAPAction", a));
        }
        let path = format!("/sts/{INSTANCE}");
        let r = s.post(&path, &headers, body.clone());
        assert_eq!(r.status, 200, "{file}: {}", r.body);
        assert!(r.body.contains("<saml2:NameID"), "{file}");
        if r.body.contains("wsa:RelatesTo") {
            let doc = sts::xml::parse(&body, Default::default()).unwrap();
            let first_id = doc
                .elements()
                .next()
                .unwrap()
                .elements()
                .find(|e| e.local == "MessageID")
                .map(|e| e.text());
            assert!(
                first_id.is_some_and(|id| r.body.contains(&format!(">{id}</wsa:RelatesTo>"))),
                "{file}"
            );
        }
        if file.contains("digest") {
            // The same capture again is a replayed nonce.
            let again = s.post(&path, &headers, body);
            assert_eq!(again.fault_code(), "wst:FailedAuthentication", "{file}");
        }
    }
    // Outside the freshness window, a digest capture is stale, not a replay.
    clock.set(at + chrono::Duration::hours(1));
    let s2_body = std::fs::read(captures_dir().join("zeep-fault-soap12.xml")).unwrap();
    let r = s.post(
        &format!("/sts/{INSTANCE}"),
        &[("Content-Type", "application/soap+xml; charset=utf-8")],
        s2_body,
    );
    assert_eq!(r.fault_code(), "wst:ExpiredData", "{}", r.body);
}

#[test]
fn rstr_lifetime_and_assertion_state_the_same_instants() {
    // A clock 999 ms into a second: a Lifetime that kept the milliseconds would outlive the
    // assertion's NotOnOrAfter, which is written in whole seconds.
    let at = chrono::DateTime::parse_from_rfc3339("2026-12-04T16:00:00.999Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let s = start_with(Opts {
        clock: Some(sts::clock::FixedClock::new(at)),
        ..Default::default()
    });
    let r = s.post_soap11(&envelope(
        SOAP11,
        &username_text("demo", DEMO_PASSWORD),
        RST_ISSUE,
    ));
    assert_eq!(r.status, 200, "{}", r.body);
    const WSU: &str =
        "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd";
    let env = r.doc();
    let rstr = child(
        child(&env, SOAP11, "Body"),
        WST,
        "RequestSecurityTokenResponseCollection",
    )
    .elements()
    .next()
    .unwrap();
    let lifetime = child(rstr, WST, "Lifetime");
    let instant = |s: &str| sts::xml::datetime::parse_datetime(s).unwrap();
    let created = instant(&child(lifetime, WSU, "Created").text());
    let expires = instant(&child(lifetime, WSU, "Expires").text());
    let assertion = child(
        child(rstr, WST, "RequestedSecurityToken"),
        SAML2,
        "Assertion",
    );
    let cond = child(assertion, SAML2, "Conditions");
    let issue_instant = instant(assertion.attr(None, "IssueInstant").unwrap());
    let not_before = instant(cond.attr(None, "NotBefore").unwrap());
    let not_on_or_after = instant(cond.attr(None, "NotOnOrAfter").unwrap());
    let confirmation = child(
        child(
            child(assertion, SAML2, "Subject"),
            SAML2,
            "SubjectConfirmation",
        ),
        SAML2,
        "SubjectConfirmationData",
    );
    let confirmation_until = instant(confirmation.attr(None, "NotOnOrAfter").unwrap());
    assert_eq!(created, issue_instant, "{}", r.body);
    assert_eq!(created, not_before, "{}", r.body);
    assert_eq!(expires, not_on_or_after, "{}", r.body);
    assert_eq!(expires, confirmation_until, "{}", r.body);
    // Whole seconds: the clock's second, not the next one.
    assert_eq!(created.timestamp_subsec_millis(), 0);
    assert_eq!(created.timestamp(), at.timestamp());
    assert_eq!((expires - created).num_seconds(), 600);
}
