//! Validate to a new token: a SOAP Validate whose `wst:TokenType` is not the status type
//! returns the status and, for a valid token, the token re-issued as that type, as the
//! instance's `supported-token-transforms` allows; verified by PyJWT and xmlsec1.

use serde_json::json;

use crate::common::*;

const JWT: &str = "urn:ietf:params:oauth:token-type:jwt";
const SAML1: &str = "urn:oasis:names:tc:SAML:1.0:assertion";
const PATH: &str = "/sts/soap-transform";

fn server(persist: bool) -> TestServer {
    let mut j = persisting_instance("soap-transform", persist);
    j["issued-token-types"] = json!(["SAML2", "SAML1", "OPENIDCONNECT"]);
    j["oidc-id-token-config"] = json!({
        "oidc-issuer": OIDC_ISSUER, "oidc-audience": ["rp-1"], "oidc-signature-algorithm": "RS256",
        "oidc-token-lifetime-seconds": "300"
    });
    j["supported-token-transforms"] = json!([
        {"inputTokenType": "SAML2", "outputTokenType": "OPENIDCONNECT", "invalidateInterimOpenAMSession": true},
        {"inputTokenType": "SAML2", "outputTokenType": "SAML1", "invalidateInterimOpenAMSession": true}
    ]);
    start_with(Opts {
        instances: vec![("soap-transform.json".into(), j)],
        ..Default::default()
    })
}

/// A Validate of `target` asking for `token_type`.
fn validate_as(s: &TestServer, path: &str, target: &str, token_type: &str) -> Reply {
    let body = target_envelope("Validate", &username_text("demo", DEMO_PASSWORD), target).replace(
        "</wst:RequestType>",
        &format!("</wst:RequestType><wst:TokenType>{token_type}</wst:TokenType>"),
    );
    s.post(path, &[("Content-Type", "text/xml")], body)
}

fn jwt_of(body: &str) -> String {
    use base64::Engine as _;
    let open = format!("ValueType=\"{JWT}\" EncodingType=");
    let start = body
        .find(&open)
        .unwrap_or_else(|| panic!("no JWT in {body}"));
    let start = start + body[start..].find('>').unwrap() + 1;
    let end = start + body[start..].find('<').unwrap();
    String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(&body[start..end])
            .unwrap(),
    )
    .unwrap()
}

#[test]
fn a_valid_assertion_comes_back_as_an_id_token_or_saml11() {
    let s = server(true);
    let a = issue(&s, PATH, ("demo", DEMO_PASSWORD)).assertion_text();
    // SAML 2.0 to an id_token, with the status.
    let r = validate_as(&s, PATH, &a, JWT);
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body
            .contains("http://docs.oasis-open.org/ws-sx/ws-trust/200512/RSTR/ValidateFinal")
    );
    assert!(
        r.body
            .contains(&format!("<wst:TokenType>{JWT}</wst:TokenType>")),
        "{}",
        r.body
    );
    assert!(
        r.body.contains(
            "<wst:Code>http://docs.oasis-open.org/ws-sx/ws-trust/200512/status/valid</wst:Code>"
        ),
        "{}",
        r.body
    );
    let jwt = jwt_of(&r.body);
    let (ok, out) = pyjwt_verify(&s, &jwt, "RS256", &s.cert("sts-signing"));
    assert!(ok, "PyJWT: {out}");
    assert!(out.contains("\"sub\": \"demo\""), "{out}");
    // SAML 2.0 to SAML 1.1, stored like any issued token.
    let r = validate_as(&s, PATH, &a, SAML1);
    assert_eq!(r.status, 200, "{}", r.body);
    let start = r
        .body
        .find("<saml:Assertion")
        .expect("a SAML 1.1 assertion");
    let end = r.body.find("</saml:Assertion>").unwrap() + "</saml:Assertion>".len();
    let a1 = &r.body[start..end];
    let (ok, out) = xmlsec1_verify_saml1(a1, &s.cert("sts-signing"));
    assert!(ok, "xmlsec1: {out}");
    assert!(a1.contains(">demo</saml:NameIdentifier>"), "{a1}");
    let id = a1
        .split("AssertionID=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let rec = s.store().get_token(id).unwrap().expect("stored");
    assert_eq!(
        (rec.token_type.as_str(), rec.principal.as_str()),
        ("SAML1", "demo")
    );
    // The validated token is left as it was.
    assert!(
        status(&s.post(
            PATH,
            &[("Content-Type", "text/xml")],
            target_envelope("Validate", &username_text("demo", DEMO_PASSWORD), &a),
        ))
        .0
    );
}

#[test]
fn invalid_tokens_get_a_status_and_unlisted_transforms_a_fault() {
    let s = server(false);
    let a = issue(&s, PATH, ("demo", DEMO_PASSWORD)).assertion_text();
    // An altered token: status invalid, no token.
    let altered = a.replace(">demo</saml2:NameID>", ">root</saml2:NameID>");
    let r = validate_as(&s, PATH, &altered, JWT);
    let (valid, reason) = status(&r);
    assert!(!valid, "{reason}");
    assert!(!r.body.contains("RequestedSecurityToken"), "{}", r.body);
    // SAML 2.0 to SAML 2.0 is not listed: a clear fault naming the setting.
    let r = validate_as(
        &s,
        PATH,
        &a,
        "http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.1#SAMLV2.0",
    );
    assert_eq!(r.fault_code(), "wst:BadRequest", "{}", r.body);
    assert!(r.body.contains("supported-token-transforms"), "{}", r.body);
    // An instance without transforms answers only with a status.
    let d = issue(&s, &format!("/sts/{INSTANCE}"), ("demo", DEMO_PASSWORD)).assertion_text();
    let r = validate_as(&s, &format!("/sts/{INSTANCE}"), &d, JWT);
    assert_eq!(r.fault_code(), "wst:BadRequest", "{}", r.body);
    assert!(r.body.contains("supported-token-transforms"), "{}", r.body);
    // A TokenType that names no token type at all.
    let r = validate_as(&s, PATH, &a, "urn:example:nothing");
    assert_eq!(r.fault_code(), "wst:BadRequest", "{}", r.body);
}

#[test]
fn transforms_must_name_tokens_of_this_sts_and_issued_types() {
    let mut j = persisting_instance("soap-badtransform", false);
    j["supported-token-transforms"] = json!([
        {"inputTokenType": "USERNAME", "outputTokenType": "SAML2", "invalidateInterimOpenAMSession": true},
        {"inputTokenType": "SAML2", "outputTokenType": "OPENIDCONNECT", "invalidateInterimOpenAMSession": true}
    ]);
    let mut problems = Vec::new();
    let mut config =
        sts::instance::parse::parse(sts::instance::Kind::Soap, &j, &mut problems).unwrap();
    sts::instance::validate::validate(&mut config, &mut problems);
    let all = problems.join("\n");
    assert!(
        all.contains("supported-token-transforms[0]") && all.contains("USERNAME"),
        "{all}"
    );
    assert!(
        all.contains("supported-token-transforms[1]: OPENIDCONNECT is not in issued-token-types"),
        "{all}"
    );
}

#[test]
fn only_a_presented_bearer_token_is_transformed() {
    let s = server(true);
    let a = issue(&s, PATH, ("demo", DEMO_PASSWORD)).assertion_text();
    // Named by its ID (the stored token of someone else, for all the caller proves): refused,
    // although the same token presented itself is transformed.
    let r = validate_as(&s, PATH, &saml_str(&assertion_id(&a)), JWT);
    assert_eq!(r.fault_code(), "wst:BadRequest", "{}", r.body);
    assert!(r.body.contains("presented itself"), "{}", r.body);
    assert!(!r.body.contains("RequestedSecurityToken"), "{}", r.body);
    let r = validate_as(&s, PATH, &a, JWT);
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("RequestedSecurityToken"), "{}", r.body);
}
