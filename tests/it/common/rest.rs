//! The REST STS (`/rest-sts/...`) and the publish API (`/sts-publish/...`): a REST instance,
//! publishing it, calling it, and reading its answers.

use serde_json::{Value, json};

use super::*;

pub const OIDC_ISSUER: &str = "https://sts.example.com/oidc";

/// A REST instance offering USERNAME/OPENAM -> SAML2/OPENIDCONNECT.
pub fn rest_instance(element: &str, persist: bool) -> Value {
    json!({
        "deployment-config": {"deployment-url-element": element, "deployment-realm": "/"},
        "saml2-config": {
            "issuer-name": "rest-idp",
            "saml2-sign-assertion": "true",
            "saml2-sp-entity-id": "urn:sp:rest",
            "saml2-signature-key-alias": "sts-signing",
            "saml2-keystore-password": "saml-keystore-secret"
        },
        "oidc-id-token-config": {
            "oidc-issuer": OIDC_ISSUER,
            "oidc-audience": ["rp-1"],
            "oidc-authorized-party": "rp-1",
            "oidc-signature-algorithm": "RS256",
            "oidc-token-lifetime-seconds": "300",
            "oidc-claim-map": {"email": "mail"},
            "oidc-keystore-password": "oidc-keystore-secret"
        },
        "persist-issued-tokens-in-cts": persist.to_string(),
        "supported-token-transforms": [
            {"inputTokenType": "USERNAME", "outputTokenType": "SAML2", "invalidateInterimOpenAMSession": true},
            {"inputTokenType": "USERNAME", "outputTokenType": "OPENIDCONNECT", "invalidateInterimOpenAMSession": true},
            {"inputTokenType": "OPENAM", "outputTokenType": "OPENIDCONNECT", "invalidateInterimOpenAMSession": false}
        ]
    })
}

pub fn publish(s: &TestServer, admin: &str, kind: &str, state: &Value) -> Reply {
    s.request(
        "POST",
        &format!("/sts-publish/{kind}?_action=create"),
        &[
            ("iPlanetDirectoryPro", admin),
            ("Content-Type", "application/json"),
        ],
        &json!({"invocation_context": "invocation_context_client_sdk", "instance_state": state})
            .to_string(),
    )
}

pub fn call(s: &TestServer, admin: &str, path: &str, action: &str, body: &Value) -> Reply {
    s.request(
        "POST",
        &format!("/rest-sts/{path}?_action={action}"),
        &[
            ("iPlanetDirectoryPro", admin),
            ("Content-Type", "application/json"),
        ],
        &body.to_string(),
    )
}

pub fn username_to(out: Value) -> Value {
    json!({
        "input_token_state": {"token_type": "USERNAME", "username": "alice", "password": "s3cret"},
        "output_token_state": out
    })
}

pub fn saml_bearer() -> Value {
    json!({"token_type": "SAML2", "subject_confirmation": "BEARER"})
}

pub fn oidc_out(nonce: &str) -> Value {
    json!({"token_type": "OPENIDCONNECT", "nonce": nonce, "allow_access": true})
}

pub fn issued(r: &Reply) -> String {
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["issued_token"].as_str().unwrap().to_owned()
}

pub fn expect_error(r: &Reply, status: u16, needle: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    let v = r.json();
    assert_eq!(v["code"], status, "{}", r.body);
    assert!(v["reason"].is_string(), "{}", r.body);
    let m = v["message"].as_str().unwrap();
    assert!(m.contains(needle), "`{needle}` not in `{m}`");
}
