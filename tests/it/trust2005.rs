//! WS-Trust February 2005 on the instance path: chosen by the request's namespace, answered in
//! it (a bare RSTR, the 2005 actions, KeyType and status URIs, faults with `t:` codes), as
//! AD FS's `/trust/2005/` endpoints answer MSAL, ADAL and WCF.

use serde_json::json;

use crate::common::*;

const T: &str = "http://schemas.xmlsoap.org/ws/2005/02/trust";
const NO_PROOF_KEY: &str = "http://schemas.xmlsoap.org/ws/2005/05/identity/NoProofKey";
const SAML1: &str = "urn:oasis:names:tc:SAML:1.0:assertion";
const SAML20_PROFILE: &str =
    "http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.1#SAMLV2.0";
const ELEMENT: &str = "soap-2005";
const PATH: &str = "/sts/soap-2005";

fn server() -> TestServer {
    let mut j = persisting_instance(ELEMENT, true);
    j["issued-token-types"] = json!(["SAML2", "SAML1"]);
    start_with(Opts {
        instances: vec![("soap-2005.json".into(), j)],
        ..Default::default()
    })
}

/// A 2005 envelope: `op`'s action in the 2005 namespace, `children` in a `t:` RST.
fn envelope_2005(soap: &str, op: &str, security: &str, children: &str) -> String {
    envelope(soap, security, "")
        .replace(ISSUE_ACTION, &format!("{T}/RST/{op}"))
        .replace(
            &format!("<wst:RequestSecurityToken xmlns:wst=\"{WST}\"></wst:RequestSecurityToken>"),
            &format!(
                "<t:RequestSecurityToken xmlns:t=\"{T}\"><t:RequestType>{T}/{op}</t:RequestType>{children}</t:RequestSecurityToken>"
            ),
        )
}

fn post(s: &TestServer, soap: &str, op: &str, body: &str) -> Reply {
    let action = format!("{T}/RST/{op}");
    if soap == SOAP11 {
        s.post(
            PATH,
            &[
                ("Content-Type", "text/xml; charset=utf-8"),
                ("SOAPAction", &action),
            ],
            body,
        )
    } else {
        let ct = format!("application/soap+xml; charset=utf-8; action=\"{action}\"");
        s.post(PATH, &[("Content-Type", &ct)], body)
    }
}

fn issue(s: &TestServer, soap: &str, token_type: &str, key_type: &str) -> Reply {
    let children = format!(
        "{}<t:KeyType>{key_type}</t:KeyType><t:TokenType>{token_type}</t:TokenType>",
        applies_to("urn:federation:MicrosoftOnline")
    );
    let body = envelope_2005(
        soap,
        "Issue",
        &username_text("demo", DEMO_PASSWORD),
        &children,
    );
    post(s, soap, "Issue", &body)
}

/// The names of the RSTR's children, in order.
fn rstr_children(body: &str) -> Vec<String> {
    let env = sts::xml::parse(body.as_bytes(), sts::xml::Limits::default()).unwrap();
    let soap_body = env.elements().last().unwrap();
    let rstr = soap_body.elements().next().unwrap();
    assert!(rstr.is(T, "RequestSecurityTokenResponse"), "{body}");
    rstr.elements()
        .map(|e| {
            assert_eq!(e.ns.as_deref() == Some(T), e.local != "AppliesTo", "{body}");
            e.local.clone()
        })
        .collect()
}

/// MSAL's own parser (`msal.wstrust_response.parse_response`) on a reply: the token type
/// it read and whether the token it cut out is the assertion.
fn msal_parses(body: &str) -> (String, String) {
    let f = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(f.path(), body).unwrap();
    let (ok, out) = run(std::process::Command::new("python3")
        .arg("-c")
        .arg(
            "import sys, msal.wstrust_response as r\n\
         t = r.parse_response(open(sys.argv[1]).read())\n\
         print(t['type']); print(t['token'].decode()[:40])",
        )
        .arg(f.path()));
    assert!(ok, "MSAL could not parse the reply: {out}\n{body}");
    let mut lines = out.lines();
    (
        lines.next().unwrap_or_default().to_owned(),
        lines.next().unwrap_or_default().to_owned(),
    )
}

#[test]
fn issue_in_2005_answers_a_bare_rstr_that_msal_parses() {
    let s = server();
    for (soap, token_type, key_type) in [
        (SOAP12, SAML1, NO_PROOF_KEY),
        (SOAP11, SAML1, &*format!("{T}/Bearer")),
        (SOAP12, SAML20_PROFILE, &*format!("{T}/Bearer")),
        (SOAP11, SAML2, NO_PROOF_KEY),
    ] {
        let r = issue(&s, soap, token_type, key_type);
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(
            r.body.contains(&format!("{T}/RSTR/Issue</wsa:Action>")),
            "{}",
            r.body
        );
        assert!(!r.body.contains("RequestSecurityTokenResponseCollection"));
        assert!(
            !r.body.contains("docs.oasis-open.org/ws-sx/ws-trust"),
            "{}",
            r.body
        );
        assert_eq!(
            rstr_children(&r.body),
            [
                "Lifetime",
                "AppliesTo",
                "RequestedSecurityToken",
                "RequestedAttachedReference",
                "RequestedUnattachedReference",
                "TokenType",
                "RequestType",
                "KeyType"
            ]
        );
        // The KeyType is echoed as the client spelled bearer.
        assert!(
            r.body
                .contains(&format!("<t:KeyType>{key_type}</t:KeyType>")),
            "{}",
            r.body
        );
        assert!(
            r.body
                .contains(&format!("<t:RequestType>{T}/Issue</t:RequestType>"))
        );
        let (parsed_type, token) = msal_parses(&r.body);
        if token_type == SAML1 {
            assert_eq!(parsed_type, SAML1);
            assert!(token.starts_with("<saml:Assertion"), "{token}");
            let a = &r.body[r.body.find("<saml:Assertion").unwrap()
                ..r.body.find("</saml:Assertion>").unwrap() + "</saml:Assertion>".len()];
            let (ok, out) = xmlsec1_verify_saml1(a, &s.cert("sts-signing"));
            assert!(ok, "{out}");
        } else {
            assert_eq!(parsed_type, token_type);
            assert!(token.contains("Assertion"), "{token}");
        }
    }
}

/// A reference to a SAML 1.1 assertion by its AssertionID.
fn saml1_ref(id: &str) -> String {
    format!(
        "<wsse:SecurityTokenReference xmlns:wsse=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd\"><wsse:KeyIdentifier ValueType=\"http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.0#SAMLAssertionID\">{id}</wsse:KeyIdentifier></wsse:SecurityTokenReference>"
    )
}

#[test]
fn validate_and_cancel_in_2005_answer_in_2005() {
    let s = server();
    let r = issue(&s, SOAP12, SAML1, NO_PROOF_KEY);
    assert_eq!(r.status, 200, "{}", r.body);
    let id = r
        .body
        .split("AssertionID=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let pw = username_text("demo", DEMO_PASSWORD);
    let validate = |soap: &str| {
        let children = format!(
            "<t:TokenType>{T}/RSTR/Status</t:TokenType><t:ValidateTarget>{}</t:ValidateTarget>",
            saml1_ref(&id)
        );
        post(
            &s,
            soap,
            "Validate",
            &envelope_2005(soap, "Validate", &pw, &children),
        )
    };
    let v = validate(SOAP11);
    assert_eq!(v.status, 200, "{}", v.body);
    assert!(
        v.body.contains(&format!("{T}/RSTR/Validate</wsa:Action>")),
        "{}",
        v.body
    );
    assert!(
        v.body.contains(&format!(
            "<t:TokenType>{T}/RSTR/Status</t:TokenType><t:Status><t:Code>{T}/status/valid</t:Code>"
        )),
        "{}",
        v.body
    );
    let children = format!("<t:CancelTarget>{}</t:CancelTarget>", saml1_ref(&id));
    let c = post(
        &s,
        SOAP12,
        "Cancel",
        &envelope_2005(SOAP12, "Cancel", &pw, &children),
    );
    assert_eq!(c.status, 200, "{}", c.body);
    assert!(
        c.body.contains(&format!("{T}/RSTR/Cancel</wsa:Action>")),
        "{}",
        c.body
    );
    assert!(c.body.contains(&format!(
        "<t:RequestSecurityTokenResponse xmlns:t=\"{T}\"><t:RequestedTokenCancelled/>"
    )));
    let v = validate(SOAP12);
    assert!(
        v.body
            .contains(&format!("<t:Code>{T}/status/invalid</t:Code>")),
        "{}",
        v.body
    );
}

#[test]
fn faults_in_2005_carry_2005_codes_and_mixed_versions_are_refused() {
    let s = server();
    let wrong = username_text("demo", "wrong-password");
    let children = format!("<t:KeyType>{NO_PROOF_KEY}</t:KeyType>");
    // A failed sign-in, SOAP 1.2: the 2005 code as the Subcode, as MSAL reads it.
    let r = post(
        &s,
        SOAP12,
        "Issue",
        &envelope_2005(SOAP12, "Issue", &wrong, &children),
    );
    assert_eq!(r.status, 500);
    assert!(
        r.body.contains(&format!("<soap:Fault xmlns:t=\"{T}\"")),
        "{}",
        r.body
    );
    assert!(
        r.body.contains(
            "<soap:Subcode><soap:Value>t:FailedAuthentication</soap:Value></soap:Subcode>"
        ),
        "{}",
        r.body
    );
    // SOAP 1.1: the 2005 code as the faultcode.
    let pw = username_text("demo", DEMO_PASSWORD);
    let mixed = format!("<t:KeyType>{WST}/Bearer</t:KeyType>");
    let r = post(
        &s,
        SOAP11,
        "Issue",
        &envelope_2005(SOAP11, "Issue", &pw, &mixed),
    );
    assert_eq!(r.status, 500);
    assert!(
        r.body.contains("<faultcode>t:InvalidRequest</faultcode>"),
        "{}",
        r.body
    );
    // A 1.3 element in a 2005 request, and a 1.3 action on a 2005 body.
    let el = format!("<wst:TokenType xmlns:wst=\"{WST}\">{SAML1}</wst:TokenType>");
    let r = post(
        &s,
        SOAP11,
        "Issue",
        &envelope_2005(SOAP11, "Issue", &pw, &el),
    );
    assert!(
        r.body.contains("<faultcode>t:InvalidRequest</faultcode>"),
        "{}",
        r.body
    );
    let body = envelope_2005(SOAP11, "Issue", &pw, &children)
        .replace(&format!("{T}/RST/Issue"), ISSUE_ACTION);
    let r = s.post(
        PATH,
        &[("Content-Type", "text/xml"), ("SOAPAction", ISSUE_ACTION)],
        body,
    );
    assert!(
        r.body.contains("<faultcode>t:InvalidRequest</faultcode>"),
        "{}",
        r.body
    );
    // A 1.3 request still answers in 1.3.
    let r = s.post(
        PATH,
        &[("Content-Type", "text/xml"), ("SOAPAction", ISSUE_ACTION)],
        envelope(SOAP11, &wrong, RST_ISSUE),
    );
    assert!(
        r.body
            .contains("<faultcode>wst:FailedAuthentication</faultcode>"),
        "{}",
        r.body
    );
}
