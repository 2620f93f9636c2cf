//! SAML 1.1 output (`SAML1`): issued over SOAP and REST, Bearer and holder-of-key, verified
//! by xmlsec1 and signxml with `AssertionID`, stored, validated and cancelled.

use serde_json::{Value, json};

use crate::common::*;

const SAML1: &str = "urn:oasis:names:tc:SAML:1.0:assertion";
const SAML11_PROFILE: &str =
    "http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.1#SAMLV1.1";
const SAML11_ID: &str =
    "http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.0#SAMLAssertionID";
const CLAIMS: &str = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims";
const MS_CLAIMS: &str = "http://schemas.microsoft.com/ws/2008/06/identity/claims";
const PATH: &str = "/sts/soap-saml1";

/// The demo instance issuing SAML 1.1 and 2.0, persisting, with AD FS claim URIs.
fn saml1_instance() -> Value {
    let mut j = persisting_instance("soap-saml1", true);
    j["issued-token-types"] = json!(["SAML2", "SAML1"]);
    j["saml2-config"]["saml2-attribute-map"] = json!({
        format!("{CLAIMS}/emailaddress"): "mail",
        format!("{CLAIMS}/name"): "cn",
        format!("{MS_CLAIMS}/groups"): "isMemberOf",
    });
    j
}

fn server() -> TestServer {
    start_with(Opts {
        instances: vec![("soap-saml1.json".into(), saml1_instance())],
        ..Default::default()
    })
}

/// The SAML 1.1 assertion in a reply, cut out as text.
fn saml1_text(body: &str) -> String {
    let start = body
        .find("<saml:Assertion")
        .unwrap_or_else(|| panic!("no SAML 1.1 assertion in {body}"));
    let end = body.find("</saml:Assertion>").unwrap() + "</saml:Assertion>".len();
    body[start..end].to_owned()
}

fn saml1_id(a: &str) -> String {
    a.split("AssertionID=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned()
}

fn issue_saml1(s: &TestServer, token_type: &str, extra: &str) -> Reply {
    s.post(
        PATH,
        &[("Content-Type", "text/xml"), ("SOAPAction", ISSUE_ACTION)],
        envelope(
            SOAP11,
            &username_text("demo", DEMO_PASSWORD),
            &format!(
                "{RST_ISSUE}<wst:TokenType>{token_type}</wst:TokenType>{}{extra}",
                applies_to("urn:test:rp")
            ),
        ),
    )
}

fn verified_by_peers(a: &str, cert: &std::path::Path) {
    let (ok, out) = xmlsec1_verify_saml1(a, cert);
    assert!(ok, "xmlsec1 rejected the SAML 1.1 assertion: {out}\n{a}");
    let (ok, out) = signxml_verify_saml1(a, cert);
    assert!(ok, "signxml rejected the SAML 1.1 assertion: {out}\n{a}");
    let (ok, out) = pysaml2_verify_saml1(a, cert);
    assert!(ok, "pysaml2 rejected the SAML 1.1 assertion: {out}\n{a}");
}

#[test]
fn soap_issues_signed_saml11_assertions_that_validate_and_cancel() {
    let s = server();
    let r = issue_saml1(&s, SAML1, "");
    assert_eq!(r.status, 200, "{}", r.body);
    // MSAL accepts only the assertion namespace as a SAML 1.1 TokenType.
    assert!(
        r.body
            .contains(&format!("<wst:TokenType>{SAML1}</wst:TokenType>")),
        "{}",
        r.body
    );
    let a = saml1_text(&r.body);
    let id = saml1_id(&a);
    assert!(id.starts_with('_') && id.len() == 33, "{id}");
    // Both references name the assertion the SAML 1.1 way.
    let reference = format!(
        "wsse11:TokenType=\"{SAML11_PROFILE}\"><wsse:KeyIdentifier ValueType=\"{SAML11_ID}\">{id}</wsse:KeyIdentifier>"
    );
    assert_eq!(r.body.matches(&reference).count(), 2, "{}", r.body);

    let doc = sts::xml::parse(a.as_bytes(), sts::xml::Limits::default()).unwrap();
    assert!(doc.is(SAML1, "Assertion"));
    assert_eq!(doc.attr(None, "MajorVersion"), Some("1"));
    assert_eq!(doc.attr(None, "MinorVersion"), Some("1"));
    assert_eq!(doc.attr(None, "Issuer"), Some("sts-demo-idp"));
    assert!(doc.attr(None, "IssueInstant").is_some());
    let order: Vec<&str> = doc.elements().map(|e| e.local.as_str()).collect();
    assert_eq!(
        order,
        [
            "Conditions",
            "AttributeStatement",
            "AuthenticationStatement",
            "Signature"
        ]
    );
    let cond = doc.child(&[SAML1], "Conditions").unwrap();
    assert!(cond.attr(None, "NotBefore").is_some() && cond.attr(None, "NotOnOrAfter").is_some());
    let audience = cond
        .child(&[SAML1], "AudienceRestrictionCondition")
        .and_then(|c| c.child(&[SAML1], "Audience"))
        .unwrap();
    assert_eq!(audience.text(), "urn:test:rp");
    let authn = doc.child(&[SAML1], "AuthenticationStatement").unwrap();
    assert_eq!(
        authn.attr(None, "AuthenticationMethod"),
        Some("urn:oasis:names:tc:SAML:1.0:am:password")
    );
    assert!(authn.attr(None, "AuthenticationInstant").is_some());
    let subject = authn.child(&[SAML1], "Subject").unwrap();
    assert_eq!(
        subject.child(&[SAML1], "NameIdentifier").unwrap().text(),
        "demo"
    );
    assert_eq!(
        subject
            .child(&[SAML1], "SubjectConfirmation")
            .and_then(|c| c.child(&[SAML1], "ConfirmationMethod"))
            .unwrap()
            .text(),
        "urn:oasis:names:tc:SAML:1.0:cm:bearer"
    );
    // AD FS's claim URIs, split into namespace and name.
    let attrs: Vec<(String, String, String)> = doc
        .child(&[SAML1], "AttributeStatement")
        .unwrap()
        .elements()
        .filter(|e| e.is(SAML1, "Attribute"))
        .map(|e| {
            (
                e.attr(None, "AttributeNamespace").unwrap().to_owned(),
                e.attr(None, "AttributeName").unwrap().to_owned(),
                e.child(&[SAML1], "AttributeValue").unwrap().text(),
            )
        })
        .collect();
    for want in [
        (CLAIMS, "emailaddress", "demo@example.com"),
        (CLAIMS, "name", "Demo User"),
        (MS_CLAIMS, "groups", "sts-users"),
    ] {
        assert!(
            attrs
                .iter()
                .any(|(n, k, v)| (n.as_str(), k.as_str(), v.as_str()) == want),
            "{want:?} not in {attrs:?}"
        );
    }

    // Third parties verify it with AssertionID as the ID, and refuse it altered.
    let cert = s.cert("sts-signing");
    verified_by_peers(&a, &cert);
    assert!(a.contains("xmldsig-more#rsa-sha256"));
    assert!(a.contains(&format!("<ds:Reference URI=\"#{id}\">")));
    let tampered = a.replacen(
        ">demo</saml:NameIdentifier>",
        ">demp</saml:NameIdentifier>",
        1,
    );
    assert_ne!(tampered, a);
    assert!(!xmlsec1_verify_saml1(&tampered, &cert).0);
    assert!(!signxml_verify_saml1(&tampered, &cert).0);
    assert!(!pysaml2_verify_saml1(&tampered, &cert).0);
    // The pysaml2 check also requires the signature to reference this assertion, by its
    // AssertionID: a signature over another element proves nothing about it.
    let elsewhere = a.replacen(
        &format!("<ds:Reference URI=\"#{id}\">"),
        "<ds:Reference URI=\"#_elsewhere\">",
        1,
    );
    assert_ne!(elsewhere, a);
    let (ok, out) = pysaml2_verify_saml1(&elsewhere, &cert);
    assert!(!ok && out.contains("the signature references"), "{out}");

    // Stored as SAML1; the token profile URI is accepted too, answered with the namespace.
    let rec = s.store().get_token(&id).unwrap().expect("stored");
    assert_eq!(rec.token_type, "SAML1");
    assert_eq!(rec.token, a);
    let r2 = issue_saml1(&s, SAML11_PROFILE, "");
    assert_eq!(r2.status, 200, "{}", r2.body);
    assert!(
        r2.body
            .contains(&format!("<wst:TokenType>{SAML1}</wst:TokenType>"))
    );
    let a2 = saml1_text(&r2.body);
    verified_by_peers(&a2, &cert);

    // Validate: the token, by either KeyIdentifier, and a tampered copy.
    let validate = |target: &str| {
        status(&s.post(
            PATH,
            &[("Content-Type", "text/xml")],
            target_envelope("Validate", &username_text("demo", DEMO_PASSWORD), target),
        ))
    };
    let by_ref = |id: &str| {
        format!(
            "<wsse:SecurityTokenReference xmlns:wsse=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd\"><wsse:KeyIdentifier ValueType=\"{SAML11_ID}\">{id}</wsse:KeyIdentifier></wsse:SecurityTokenReference>"
        )
    };
    assert_eq!(validate(&a), (true, "the token is valid".into()));
    assert!(validate(&by_ref(&id)).0);
    assert!(validate(&saml_str(&id)).0);
    let (valid, reason) = validate(&tampered);
    assert!(
        !valid && reason.contains("not signed by this STS"),
        "{reason}"
    );
    // Cancel by reference, then the token is no longer valid; the other one still is.
    let c = s.post(
        PATH,
        &[("Content-Type", "text/xml")],
        target_envelope(
            "Cancel",
            &username_text("demo", DEMO_PASSWORD),
            &by_ref(&id),
        ),
    );
    assert_eq!(c.status, 200, "{}", c.body);
    assert!(c.body.contains("<wst:RequestedTokenCancelled/>"));
    assert!(s.store().get_token(&id).unwrap().is_none());
    let (valid, reason) = validate(&a);
    assert!(!valid && reason.contains("cancelled"), "{reason}");
    assert!(validate(&a2).0);
    // Cancel with the token itself.
    let c = s.post(
        PATH,
        &[("Content-Type", "text/xml")],
        target_envelope("Cancel", &username_text("demo", DEMO_PASSWORD), &a2),
    );
    assert_eq!(c.status, 200, "{}", c.body);
    assert!(s.store().get_token(&saml1_id(&a2)).unwrap().is_none());

    // The demo instance does not issue SAML 1.1.
    let r = s.post(
        &format!("/sts/{INSTANCE}"),
        &[("Content-Type", "text/xml"), ("SOAPAction", ISSUE_ACTION)],
        envelope(
            SOAP11,
            &username_text("demo", DEMO_PASSWORD),
            &format!("{RST_ISSUE}<wst:TokenType>{SAML1}</wst:TokenType>"),
        ),
    );
    assert!(r.body.contains("does not issue SAML1"), "{}", r.body);
}

#[test]
fn soap_holder_of_key_saml11_names_the_proven_key() {
    use base64::Engine as _;
    let s = server();
    let pki = Pki::new("Key Holder CA");
    let holder = pki.issue("holder", "holder", 61, (-1, 30), false);
    let der = base64::engine::general_purpose::STANDARD.encode(
        openssl::x509::X509::from_pem(&std::fs::read(&holder.0).unwrap())
            .unwrap()
            .to_der()
            .unwrap(),
    );
    let extra = format!(
        "<wst:TokenType>{SAML1}</wst:TokenType><wst:KeyType>http://docs.oasis-open.org/ws-sx/ws-trust/200512/PublicKey</wst:KeyType><wst:UseKey><ds:KeyInfo xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"><ds:X509Data><ds:X509Certificate>{der}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></wst:UseKey>"
    );
    // The message signature over Body and Timestamp proves the key; the UsernameToken is
    // added after signing.
    let body = wss_signed_rst(&holder.0, &holder.1, &["Body-1", "TS-1"], "", &extra).replacen(
        "<wsu:Timestamp",
        &format!("{}<wsu:Timestamp", username_text("demo", DEMO_PASSWORD)),
        1,
    );
    let r = s.post(
        PATH,
        &[("Content-Type", "text/xml"), ("SOAPAction", ISSUE_ACTION)],
        body,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let a = saml1_text(&r.body);
    assert!(
        a.contains(&format!(
            "<saml:ConfirmationMethod>urn:oasis:names:tc:SAML:1.0:cm:holder-of-key</saml:ConfirmationMethod><ds:KeyInfo xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"><ds:X509Data><ds:X509Certificate>{der}</ds:X509Certificate>"
        )),
        "{a}"
    );
    assert!(r.body.contains("/200512/PublicKey</wst:KeyType>"));
    verified_by_peers(&a, &s.cert("sts-signing"));
    // Without proof of possession: refused, as for SAML 2.0.
    let r = issue_saml1(
        &s,
        SAML1,
        &extra.replace(&format!("<wst:TokenType>{SAML1}</wst:TokenType>"), ""),
    );
    assert_eq!(r.fault_code(), "wst:FailedAuthentication", "{}", r.body);
}

#[test]
fn rest_translates_to_saml1_and_validates_and_cancels_it() {
    let s = start();
    let admin = s.login("amadmin", ADMIN_PASSWORD);
    let mut inst = rest_instance("to-saml1", true);
    inst["supported-token-transforms"] = json!([
        {"inputTokenType": "USERNAME", "outputTokenType": "SAML1", "invalidateInterimOpenAMSession": true}
    ]);
    inst["saml2-config"]["saml2-attribute-map"] = json!({format!("{CLAIMS}/upn"): "mail"});
    assert_eq!(publish(&s, &admin, "rest", &inst).status, 201);
    let out = |conf: &str| json!({"token_type": "SAML1", "subject_confirmation": conf});
    let a = issued(&call(
        &s,
        &admin,
        "to-saml1",
        "translate",
        &username_to(out("BEARER")),
    ));
    assert!(a.starts_with("<saml:Assertion "), "{a}");
    assert!(a.contains(">alice</saml:NameIdentifier>"), "{a}");
    assert!(a.contains(&format!(
        "<saml:Attribute AttributeName=\"upn\" AttributeNamespace=\"{CLAIMS}\"><saml:AttributeValue>alice@example.com</saml:AttributeValue>"
    )), "{a}");
    assert!(a.contains("Issuer=\"rest-idp\""));
    let cert = s.cert("sts-signing");
    verified_by_peers(&a, &cert);
    let rec = s.store().get_token(&saml1_id(&a)).unwrap().unwrap();
    assert_eq!(rec.token_type, "SAML1");

    // Holder-of-key with the caller's certificate.
    let client = client_cert_b64(-1, 30);
    let mut hok = out("HOLDER_OF_KEY");
    hok["proof_token_state"] = json!({"base64EncodedCertificate": client});
    let h = issued(&call(
        &s,
        &admin,
        "to-saml1",
        "translate",
        &username_to(hok),
    ));
    assert!(
        h.contains("cm:holder-of-key</saml:ConfirmationMethod>"),
        "{h}"
    );
    assert!(h.contains(&format!(
        "<ds:X509Certificate>{client}</ds:X509Certificate>"
    )));
    verified_by_peers(&h, &cert);
    // Sender-vouches is SAML 2.0's (OnBehalfOf) only.
    let r = call(
        &s,
        &admin,
        "to-saml1",
        "translate",
        &username_to(out("SENDER_VOUCHES")),
    );
    expect_error(&r, 400, "Bearer or PublicKey");
    // SAML2 is not among this instance's outputs.
    let r = call(
        &s,
        &admin,
        "to-saml1",
        "translate",
        &username_to(saml_bearer()),
    );
    assert_eq!(r.status, 400, "{}", r.body);

    let state = json!({"token_type": "SAML1", "saml1_token": a});
    let validate = || {
        call(
            &s,
            &admin,
            "to-saml1",
            "validate",
            &json!({"validated_token_state": state}),
        )
        .json()
    };
    assert_eq!(validate(), json!({"token_valid": true}));
    let r = call(
        &s,
        &admin,
        "to-saml1",
        "cancel",
        &json!({"cancelled_token_state": state}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.json(),
        json!({"result": "SAML1 token cancelled successfully."})
    );
    assert_eq!(validate(), json!({"token_valid": false}));
    // An altered copy is not this STS's token.
    let forged = h.replace(
        ">alice</saml:NameIdentifier>",
        ">admin</saml:NameIdentifier>",
    );
    let r = call(
        &s,
        &admin,
        "to-saml1",
        "validate",
        &json!({"validated_token_state": {"token_type": "SAML1", "saml1_token": forged}}),
    );
    assert_eq!(r.json(), json!({"token_valid": false}));
}

#[test]
fn saml1_is_refused_as_input_and_with_encryption() {
    let sp_dir = tempfile::tempdir().unwrap();
    let (_, sp_cert) = relying_party(sp_dir.path());
    let s = start_with(Opts {
        files: vec![("keys/sp-enc.crt.pem".into(), sp_cert)],
        ..Default::default()
    });
    let admin = s.login("amadmin", ADMIN_PASSWORD);
    let mut inst = rest_instance("from-saml1", false);
    inst["supported-token-transforms"] = json!([
        {"inputTokenType": "SAML1", "outputTokenType": "SAML2", "invalidateInterimOpenAMSession": true}
    ]);
    let r = publish(&s, &admin, "rest", &inst);
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        r.body.contains("SAML 1.1 input is not supported"),
        "{}",
        r.body
    );
    // An instance that encrypts its assertions does not issue SAML 1.1 in clear: SAML 1.1
    // has no encrypted assertion.
    let mut inst = rest_instance("enc-saml1", false);
    inst["supported-token-transforms"] = json!([
        {"inputTokenType": "USERNAME", "outputTokenType": "SAML1", "invalidateInterimOpenAMSession": true},
        {"inputTokenType": "USERNAME", "outputTokenType": "SAML2", "invalidateInterimOpenAMSession": true}
    ]);
    inst["saml2-config"]["saml2-encrypt-assertion"] = "true".into();
    inst["saml2-config"]["saml2-encryption-key-alias"] = "sp-enc".into();
    assert_eq!(publish(&s, &admin, "rest", &inst).status, 201);
    let r = call(
        &s,
        &admin,
        "enc-saml1",
        "translate",
        &username_to(json!({"token_type": "SAML1", "subject_confirmation": "BEARER"})),
    );
    expect_error(&r, 400, "SAML 1.1 has no encrypted assertion");
    let t = issued(&call(
        &s,
        &admin,
        "enc-saml1",
        "translate",
        &username_to(saml_bearer()),
    ));
    assert!(t.starts_with("<saml2:EncryptedAssertion"), "{t}");
}
