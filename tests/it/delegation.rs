//! Delegation: SOAP OnBehalfOf gets sender-vouches assertions.

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
            format!("{RST_ISSUE}<wst:ActAs>{bob_ut}</wst:ActAs>"),
            "wst:BadRequest",
            "ActAs",
        ),
    ] {
        let r = issue(at, &security, &rst);
        assert_eq!(r.fault_code(), code, "{needle}: {}", r.body);
        assert!(r.body.contains(needle), "`{needle}` not in {}", r.body);
    }
}
