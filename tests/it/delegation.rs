//! Delegation: SOAP OnBehalfOf gets sender-vouches assertions; ActAs names the ActAs
//! token's subject and records the requester as its actor (SAML 2.0 delegation restriction,
//! SAML 1.1 `actor` claim, id_token `act`).

use serde_json::json;

use crate::common::*;

#[test]
fn soap_on_behalf_of_gets_sender_vouches_assertions() {
    let mut instance = sts::datadir::demo_instance();
    instance["deployment-config"]["deployment-url-element"] = "soap-sv".into();
    instance["delegation-relationship-supported"] = "true".into();
    instance["soap-delegation-config"] = json!({"delegation-validated-token-types": [
        {"validatedTokenType": "USERNAME", "invalidateInterimOpenAMSession": true},
        {"validatedTokenType": "OPENAM", "invalidateInterimOpenAMSession": false}
    ]});
    let s = start_with(Opts {
        instances: vec![("soap-sv.json".into(), instance)],
        ..Default::default()
    });
    s.add_user("/", "bob", "bob-pw");
    let issue = |at: &str, security: &str, rst: &str| {
        s.post(
            at,
            &[
                ("Content-Type", "text/xml; charset=utf-8"),
                ("SOAPAction", &format!("\"{ISSUE_ACTION}\"")),
            ],
            envelope(SOAP11, security, rst),
        )
    };
    let obo = |token: &str| format!("{RST_ISSUE}<wst:OnBehalfOf>{token}</wst:OnBehalfOf>");
    let wsse = "xmlns:wsse=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd\"";
    let bob_ut = format!(
        "<wsse:UsernameToken {wsse}><wsse:Username>bob</wsse:Username><wsse:Password>bob-pw</wsse:Password></wsse:UsernameToken>"
    );
    let alice = username_digest("alice", "s3cret");

    let r = issue("/sts/soap-sv", &alice, &obo(&bob_ut));
    assert_eq!(r.status, 200, "{}", r.body);
    let a = r.assertion_text();
    assert!(a.contains(">bob</saml2:NameID>"), "{a}");
    assert!(
        a.contains("Method=\"urn:oasis:names:tc:SAML:2.0:cm:sender-vouches\""),
        "{a}"
    );
    let (ok, out) = xmlsec1_verify(&a, &s.cert("sts-signing"));
    assert!(ok, "xmlsec1: {out}");
    // bob's OpenAM session as the OnBehalfOf token; the interim policy keeps no session.
    let session = s.login("bob", "bob-pw");
    let r = issue(
        "/sts/soap-sv",
        &username_digest("alice", "s3cret"),
        &obo(&format!(
            "<wsse:BinarySecurityToken {wsse} ValueType=\"http://schemas.forgerock.org/ws/securitypolicy#OpenAMSessionToken\">{session}</wsse:BinarySecurityToken>"
        )),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.assertion_text().contains(">bob</saml2:NameID>"));

    let wrong = bob_ut.replace("bob-pw", "guess");
    let jwt = format!(
        "<wsse:BinarySecurityToken {wsse} ValueType=\"urn:ietf:params:oauth:token-type:jwt\">a.b.c</wsse:BinarySecurityToken>"
    );
    let hok = format!(
        "{}<wst:KeyType>http://docs.oasis-open.org/ws-sx/ws-trust/200512/PublicKey</wst:KeyType><wst:UseKey><ds:KeyInfo xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></wst:UseKey>",
        obo(&bob_ut),
        client_cert_b64(-1, 30)
    );
    for (at, security, rst, code, needle) in [
        (
            "/sts/soap-sv",
            username_digest("alice", "s3cret"),
            obo(&wrong),
            "wst:FailedAuthentication",
            "authentication failed",
        ),
        (
            "/sts/soap-sv",
            String::new(),
            obo(&bob_ut),
            "wst:FailedAuthentication",
            "wsse:Security",
        ),
        (
            "/sts/soap-sv",
            username_digest("alice", "s3cret"),
            obo(&jwt),
            "wst:BadRequest",
            "OPENIDCONNECT tokens in wst:OnBehalfOf",
        ),
        (
            "/sts/soap-sv",
            username_digest("alice", "s3cret"),
            hok,
            "wst:BadRequest",
            "sender-vouches",
        ),
        (
            &format!("/sts/{INSTANCE}") as &str,
            username_digest("alice", "s3cret"),
            obo(&bob_ut),
            "wst:BadRequest",
            "delegation-relationship-supported",
        ),
        (
            "/sts/soap-sv",
            username_digest("alice", "s3cret"),
            format!(
                "{RST_ISSUE}<wst14:ActAs xmlns:wst14=\"http://docs.oasis-open.org/ws-sx/ws-trust/200802\">{bob_ut}</wst14:ActAs>"
            ),
            "wst:BadRequest",
            "act-as-supported",
        ),
    ] {
        let r = issue(at, &security, &rst);
        assert_eq!(r.fault_code(), code, "{needle}: {}", r.body);
        assert!(r.body.contains(needle), "`{needle}` not in {}", r.body);
    }
}

const WST14: &str = "http://docs.oasis-open.org/ws-sx/ws-trust/200802";
const DELEGATION: &str = "urn:oasis:names:tc:SAML:2.0:conditions:delegation";

/// An instance serving ActAs (and OnBehalfOf) for UsernameToken, OpenAM session and SAML 2.0
/// tokens of one trusted identity provider; issuing SAML 2.0, SAML 1.1 and id_tokens.
pub(crate) fn act_as_server() -> (TestServer, std::sync::Arc<sts::crypto::SigningKey>) {
    let (idp, idp_cert) = saml_idp();
    let mut instance = sts::datadir::demo_instance();
    instance["deployment-config"]["deployment-url-element"] = "soap-act".into();
    instance["issued-token-types"] = json!(["SAML2", "SAML1", "OPENIDCONNECT"]);
    instance["delegation-relationship-supported"] = "true".into();
    instance["act-as-supported"] = "true".into();
    instance["soap-delegation-config"] = json!({"delegation-validated-token-types": [
        {"validatedTokenType": "USERNAME", "invalidateInterimOpenAMSession": true},
        {"validatedTokenType": "OPENAM", "invalidateInterimOpenAMSession": true},
        {"validatedTokenType": "SAML2", "invalidateInterimOpenAMSession": true}
    ]});
    instance["saml2-trusted-issuers"] = json!([{
        "issuer": "https://idp.example.com/saml", "certificate": "idp-saml", "audience": "urn:sts"
    }]);
    instance["oidc-id-token-config"] = json!({
        "oidc-issuer": "https://sts.example.com", "oidc-audience": ["rp-1"],
        "oidc-signature-algorithm": "RS256", "oidc-token-lifetime-seconds": "300"
    });
    let s = start_with(Opts {
        files: vec![("keys/idp-saml.crt.pem".into(), idp_cert)],
        instances: vec![("soap-act.json".into(), instance)],
        ..Default::default()
    });
    s.add_user("/", "bob", "bob-pw");
    (s, idp)
}

pub(crate) fn act_as(token: &str) -> String {
    format!("<wst14:ActAs xmlns:wst14=\"{WST14}\">{token}</wst14:ActAs>")
}

pub(crate) fn post_issue(s: &TestServer, security: &str, rst: &str) -> Reply {
    s.post(
        "/sts/soap-act",
        &[
            ("Content-Type", "text/xml; charset=utf-8"),
            ("SOAPAction", &format!("\"{ISSUE_ACTION}\"")),
        ],
        envelope(SOAP11, security, rst),
    )
}

pub(crate) const BOB_UT: &str = "<wsse:UsernameToken xmlns:wsse=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd\"><wsse:Username>bob</wsse:Username><wsse:Password>bob-pw</wsse:Password></wsse:UsernameToken>";

#[test]
fn soap_act_as_names_the_subject_and_records_the_requester_as_delegate() {
    let (s, idp) = act_as_server();
    // SAML 2.0: bob is the subject, alice (the requester) his delegate, and the token is
    // confirmed as the request asked (bearer), not sender-vouches.
    let r = post_issue(
        &s,
        &username_digest("alice", "s3cret"),
        &format!("{RST_ISSUE}{}", act_as(BOB_UT)),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let a = r.assertion_text();
    let doc = sts::xml::parse(a.as_bytes(), sts::xml::Limits::default()).unwrap();
    let subject = doc.child(&[SAML2], "Subject").unwrap();
    assert_eq!(subject.child(&[SAML2], "NameID").unwrap().text(), "bob");
    assert_eq!(
        subject
            .child(&[SAML2], "SubjectConfirmation")
            .unwrap()
            .attr(None, "Method"),
        Some("urn:oasis:names:tc:SAML:2.0:cm:bearer")
    );
    let conditions = doc.child(&[SAML2], "Conditions").unwrap();
    let condition = conditions.child(&[SAML2], "Condition").unwrap();
    assert_eq!(
        condition.attr(Some("http://www.w3.org/2001/XMLSchema-instance"), "type"),
        Some("del:DelegationRestrictionType"),
        "{a}"
    );
    assert!(a.contains(&format!("xmlns:del=\"{DELEGATION}\"")), "{a}");
    let delegates: Vec<_> = condition
        .children_named(&[DELEGATION], "Delegate")
        .collect();
    assert_eq!(delegates.len(), 1, "{a}");
    assert_eq!(
        delegates[0].child(&[SAML2], "NameID").unwrap().text(),
        "alice"
    );
    let instant = delegates[0].attr(None, "DelegationInstant").unwrap();
    assert_eq!(
        Some(instant),
        doc.attr(None, "IssueInstant"),
        "the delegation happened when the token was issued"
    );
    let (ok, out) = xmlsec1_verify(&a, &s.cert("sts-signing"));
    assert!(ok, "xmlsec1: {out}");

    // A SAML 2.0 assertion of the trusted identity provider as the ActAs token.
    let carol = idp_assertion(&idp, "carol", "urn:sts", (-5, 300));
    let r = post_issue(
        &s,
        &username_digest("alice", "s3cret"),
        &format!("{RST_ISSUE}{}", act_as(&carol)),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let a = r.assertion_text();
    assert!(a.contains(">carol</saml2:NameID>"), "{a}");
    assert!(a.contains("<del:Delegate"), "{a}");

    // SAML 1.1: WIF's `actor` claim, an <Actor> of the requester's name claim.
    let r = post_issue(
        &s,
        &username_digest("alice", "s3cret"),
        &format!(
            "{RST_ISSUE}<wst:TokenType>http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.1#SAMLV1.1</wst:TokenType>{}",
            act_as(BOB_UT)
        ),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let start = r.body.find("<saml:Assertion").unwrap();
    let end = r.body.find("</saml:Assertion>").unwrap() + "</saml:Assertion>".len();
    let a1 = &r.body[start..end];
    let doc = sts::xml::parse(a1.as_bytes(), sts::xml::Limits::default()).unwrap();
    const SAML1: &str = "urn:oasis:names:tc:SAML:1.0:assertion";
    let statement = doc.child(&[SAML1], "AttributeStatement").unwrap();
    let name = statement
        .child(&[SAML1], "Subject")
        .unwrap()
        .child(&[SAML1], "NameIdentifier")
        .unwrap()
        .text();
    assert_eq!(name, "bob");
    let actor = statement
        .children_named(&[SAML1], "Attribute")
        .find(|a| a.attr(None, "AttributeName") == Some("actor"))
        .unwrap_or_else(|| panic!("no actor attribute: {a1}"));
    assert_eq!(
        actor.attr(None, "AttributeNamespace"),
        Some("http://schemas.xmlsoap.org/ws/2009/09/identity/claims")
    );
    let value = actor.child(&[SAML1], "AttributeValue").unwrap().text();
    let inner = sts::xml::parse(value.as_bytes(), sts::xml::Limits::default()).unwrap();
    assert_eq!(inner.local, "Actor", "{value}");
    let attr = inner.child(&[SAML1], "Attribute").unwrap();
    assert_eq!(attr.attr(None, "AttributeName"), Some("name"));
    assert_eq!(
        attr.attr(None, "AttributeNamespace"),
        Some("http://schemas.xmlsoap.org/ws/2005/05/identity/claims")
    );
    assert_eq!(
        attr.child(&[SAML1], "AttributeValue").unwrap().text(),
        "alice"
    );
    let (ok, out) = xmlsec1_verify_saml1(a1, &s.cert("sts-signing"));
    assert!(ok, "xmlsec1: {out}");

    // id_token: RFC 8693's `act` claim.
    let r = post_issue(
        &s,
        &username_digest("alice", "s3cret"),
        &format!(
            "{RST_ISSUE}<wst:TokenType>urn:ietf:params:oauth:token-type:jwt</wst:TokenType>{}",
            act_as(BOB_UT)
        ),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    use base64::Engine as _;
    let doc = r.doc();
    fn find<'a>(e: &'a sts::xml::Element, local: &str) -> Option<&'a sts::xml::Element> {
        if e.local == local {
            return Some(e);
        }
        e.elements().find_map(|c| find(c, local))
    }
    let bst = find(&doc, "BinarySecurityToken").unwrap().text();
    let jwt = String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(bst.trim())
            .unwrap(),
    )
    .unwrap();
    let payload: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(jwt.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(payload["sub"], "bob", "{payload}");
    assert_eq!(payload["act"], json!({"sub": "alice"}), "{payload}");
}

#[test]
fn soap_act_as_refuses_untrusted_tokens_and_what_the_gate_does_not_allow() {
    let (s, _) = act_as_server();
    // Same issuer name, another key: not the trusted identity provider.
    let (forger, _) = saml_idp();
    let forged = idp_assertion(&forger, "carol", "urn:sts", (-5, 300));
    let jwt = "<wsse:BinarySecurityToken xmlns:wsse=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd\" ValueType=\"urn:ietf:params:oauth:token-type:jwt\">a.b.c</wsse:BinarySecurityToken>";
    for (security, rst, code, needle) in [
        (
            username_digest("alice", "s3cret"),
            format!("{RST_ISSUE}{}", act_as(&forged)),
            "wst:FailedAuthentication",
            "",
        ),
        (
            username_digest("alice", "s3cret"),
            format!("{RST_ISSUE}{}", act_as(&BOB_UT.replace("bob-pw", "guess"))),
            "wst:FailedAuthentication",
            "authentication failed",
        ),
        // The requester must authenticate too.
        (
            String::new(),
            format!("{RST_ISSUE}{}", act_as(BOB_UT)),
            "wst:FailedAuthentication",
            "wsse:Security",
        ),
        (
            username_digest("alice", "s3cret"),
            format!("{RST_ISSUE}{}", act_as(jwt)),
            "wst:BadRequest",
            "OPENIDCONNECT tokens in wst:ActAs",
        ),
        (
            username_digest("alice", "s3cret"),
            format!(
                "{RST_ISSUE}<wst:OnBehalfOf>{BOB_UT}</wst:OnBehalfOf>{}",
                act_as(BOB_UT)
            ),
            "wst:BadRequest",
            "OnBehalfOf and wst:ActAs",
        ),
        (
            username_digest("alice", "s3cret"),
            format!("{RST_ISSUE}{}{}", act_as(BOB_UT), act_as(BOB_UT)),
            "wst:InvalidRequest",
            "more than once",
        ),
        (
            username_digest("alice", "s3cret"),
            format!("{RST_ISSUE}<wst14:ActAs xmlns:wst14=\"{WST14}\"/>"),
            "wst:InvalidRequest",
            "exactly one token",
        ),
    ] {
        let r = post_issue(&s, &security, &rst);
        assert_eq!(r.fault_code(), code, "{needle}: {}", r.body);
        assert!(r.body.contains(needle), "`{needle}` not in {}", r.body);
    }
}

/// python zeep, from the WSDL alone: ActAs and Claims in one Issue, on both ports; the
/// assertions it received verified by xmlsec1.
#[test]
fn python_zeep_sends_act_as_and_claims() {
    let mut instance = sts::datadir::demo_instance();
    instance["deployment-config"]["deployment-url-element"] = "soap-act-zeep".into();
    instance["delegation-relationship-supported"] = "true".into();
    instance["act-as-supported"] = "true".into();
    instance["soap-delegation-config"] = json!({"delegation-validated-token-types": [
        {"validatedTokenType": "USERNAME", "invalidateInterimOpenAMSession": true}
    ]});
    let s = start_with(Opts {
        instances: vec![("soap-act-zeep.json".into(), instance)],
        ..Default::default()
    });
    s.add_user("/", "bob", "bob-pw");
    let out = tempfile::tempdir().unwrap();
    let (ok, log) = run(std::process::Command::new("python3")
        .arg(peers_dir().join("zeep_act_as.py"))
        .arg(format!("{}?wsdl", s.url("/sts/soap-act-zeep")))
        .args(["bob", "bob-pw", "alice", "s3cret"])
        .arg(out.path()));
    assert!(ok, "zeep: {log}");
    let mut n = 0;
    for entry in std::fs::read_dir(out.path()).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        let (ok, out) = xmlsec1_verify(&text, &s.cert("sts-signing"));
        assert!(ok, "xmlsec1: {out}");
        n += 1;
    }
    assert_eq!(n, 2, "{log}");
}
