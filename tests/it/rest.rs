//! The REST STS (`/rest-sts/...`) and the publish API (`/sts-publish/...`).

use serde_json::{Value, json};

use crate::common::*;

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

fn saml_bearer() -> Value {
    json!({"token_type": "SAML2", "subject_confirmation": "BEARER"})
}

pub fn oidc_out(nonce: &str) -> Value {
    json!({"token_type": "OPENIDCONNECT", "nonce": nonce, "allow_access": true})
}

/// Verifies a JWT with PyJWT against `cert`, returning its header and claims.
pub fn pyjwt_verify(
    s: &TestServer,
    token: &str,
    alg: &str,
    key: &std::path::Path,
) -> (bool, String) {
    let _ = s;
    run(std::process::Command::new("python3")
        .arg(peers_dir().join("verify_jwt.py"))
        .args([token, alg])
        .arg(key)
        .args(["rp-1", OIDC_ISSUER]))
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

#[test]
fn publish_translate_validate_cancel_round_trip() {
    let s = start();
    let admin = s.login("amadmin", ADMIN_PASSWORD);
    let r = publish(
        &s,
        &admin,
        "rest",
        &rest_instance("username-transformer", true),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let created = r.json();
    assert_eq!(created["_id"], "username-transformer");
    assert_eq!(created["url_element"], "username-transformer");
    assert_eq!(created["result"], "success");
    let rev = created["_rev"].as_str().unwrap().to_owned();
    assert!(!rev.is_empty());

    // Read: the reference shape, without any secret.
    let r = s.request(
        "GET",
        "/sts-publish/rest/username-transformer",
        &[("iPlanetDirectoryPro", &admin)],
        "",
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    assert_eq!(v["_id"], "username-transformer");
    assert_eq!(v["_rev"], rev.as_str());
    let cfg = &v["username-transformer"];
    assert_eq!(
        cfg["deployment-config"]["deployment-url-element"],
        "username-transformer"
    );
    assert_eq!(cfg["persist-issued-tokens-in-cts"], "true");
    assert_eq!(
        cfg["supported-token-transforms"][2]["inputTokenType"],
        "OPENAM"
    );
    assert_eq!(
        cfg["supported-token-transforms"][2]["invalidateInterimOpenAMSession"],
        false
    );
    assert!(
        !r.body.contains("keystore-secret"),
        "a secret was returned: {}",
        r.body
    );
    assert!(cfg["saml2-config"].get("saml2-keystore-password").is_none());

    // USERNAME -> SAML2: a signed assertion that xmlsec1 accepts.
    let saml = issued(&call(
        &s,
        &admin,
        "username-transformer",
        "translate",
        &username_to(saml_bearer()),
    ));
    let (ok, out) = xmlsec1_verify(&saml, &s.cert("sts-signing"));
    assert!(ok, "xmlsec1: {out}");
    assert!(
        saml.contains(">alice</saml:NameID>") || saml.contains(">alice<"),
        "{saml}"
    );
    assert!(saml.contains("urn:oasis:names:tc:SAML:2.0:cm:bearer"));

    // USERNAME -> OPENIDCONNECT: PyJWT verifies it with the certificate.
    let jwt = issued(&call(
        &s,
        &admin,
        "username-transformer",
        "translate",
        &username_to(oidc_out("n-123")),
    ));
    let (ok, out) = pyjwt_verify(&s, &jwt, "RS256", &s.cert("sts-signing"));
    assert!(ok, "PyJWT: {out}");
    let v: Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    let c = &v["claims"];
    assert_eq!(c["sub"], "alice");
    assert_eq!(c["nonce"], "n-123");
    assert_eq!(c["azp"], "rp-1");
    assert_eq!(c["email"], "alice@example.com");
    assert_eq!(c["amr"], json!(["pwd"]));
    assert_eq!(c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(), 300);
    assert!(v["header"]["kid"].is_string());

    // OPENAM -> OPENIDCONNECT with a user's session.
    let alice = s.login("alice", "s3cret");
    let body = json!({
        "input_token_state": {"token_type": "OPENAM", "session_id": alice},
        "output_token_state": oidc_out("471564333")
    });
    let jwt2 = issued(&call(
        &s,
        &admin,
        "username-transformer",
        "translate",
        &body,
    ));
    let (ok, out) = pyjwt_verify(&s, &jwt2, "RS256", &s.cert("sts-signing"));
    assert!(ok, "PyJWT: {out}");
    assert!(out.contains("\"nonce\": \"471564333\""), "{out}");

    // Persisted: /sts-tokengen lists all three for this instance.
    let r = s.request(
        "GET",
        "/sts-tokengen?_queryFilter=%2Fsts_id+eq+%27username-transformer%27",
        &[("iPlanetDirectoryPro", &admin)],
        "",
    );
    assert_eq!(r.json()["resultCount"], 3, "{}", r.body);

    // Validate and cancel, for both token types.
    let oidc_state = |t: &str| json!({"token_type": "OPENIDCONNECT", "oidc_id_token": t});
    let saml_state = |t: &str| json!({"token_type": "SAML2", "saml2_token": t});
    for (state, kind) in [
        (oidc_state(&jwt), "OPENIDCONNECT"),
        (saml_state(&saml), "SAML2"),
    ] {
        let r = call(
            &s,
            &admin,
            "username-transformer",
            "validate",
            &json!({"validated_token_state": state}),
        );
        assert_eq!(r.json(), json!({"token_valid": true}), "{}", r.body);
        let r = call(
            &s,
            &admin,
            "username-transformer",
            "cancel",
            &json!({"cancelled_token_state": state}),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(
            r.json(),
            json!({"result": format!("{kind} token cancelled successfully.")})
        );
        let r = call(
            &s,
            &admin,
            "username-transformer",
            "validate",
            &json!({"validated_token_state": state}),
        );
        assert_eq!(r.json(), json!({"token_valid": false}), "{}", r.body);
        // A second cancel finds nothing.
        let r = call(
            &s,
            &admin,
            "username-transformer",
            "cancel",
            &json!({"cancelled_token_state": state}),
        );
        assert_eq!(r.status, 400, "{}", r.body);
    }
    // Another persisting instance with the same key and issuer: the token is not its own.
    assert_eq!(
        publish(&s, &admin, "rest", &rest_instance("twin", true)).status,
        201
    );
    let r = call(
        &s,
        &admin,
        "twin",
        "validate",
        &json!({"validated_token_state": oidc_state(&jwt2)}),
    );
    assert_eq!(r.json(), json!({"token_valid": false}), "{}", r.body);
    // One changed byte of the signature: not valid.
    let mut forged = jwt2.clone().into_bytes();
    let n = forged.len() - 5;
    forged[n] = if forged[n] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).unwrap();
    let r = call(
        &s,
        &admin,
        "username-transformer",
        "validate",
        &json!({"validated_token_state": oidc_state(&forged)}),
    );
    assert_eq!(r.json(), json!({"token_valid": false}));
    let r = call(
        &s,
        &admin,
        "username-transformer",
        "validate",
        &json!({"validated_token_state": oidc_state(&jwt2)}),
    );
    assert_eq!(r.json(), json!({"token_valid": true}));
}

#[test]
fn translate_refuses_what_the_instance_does_not_offer_and_bad_input() {
    let s = start();
    let admin = s.login("amadmin", ADMIN_PASSWORD);
    let mut only_saml = rest_instance("only-saml", false);
    only_saml["supported-token-transforms"] = json!([
        {"inputTokenType": "USERNAME", "outputTokenType": "SAML2", "invalidateInterimOpenAMSession": true}
    ]);
    assert_eq!(publish(&s, &admin, "rest", &only_saml).status, 201);
    let p = "only-saml";
    expect_error(
        &call(&s, &admin, p, "translate", &username_to(oidc_out("n"))),
        400,
        "from USERNAME to OPENIDCONNECT, is not a supported token translation",
    );
    expect_error(
        &call(
            &s,
            &admin,
            "no-such",
            "translate",
            &username_to(saml_bearer()),
        ),
        404,
        "Not Found",
    );
    expect_error(
        &call(&s, &admin, p, "renew", &username_to(saml_bearer())),
        400,
        "renew",
    );
    let missing = json!({"input_token_state": {"token_type": "USERNAME", "username": "alice"}, "output_token_state": saml_bearer()});
    expect_error(
        &call(&s, &admin, p, "translate", &missing),
        400,
        "input_token_state.password is required",
    );
    let mistyped = json!({"input_token_state": {"token_type": "USERNAME", "username": "alice", "password": 7}, "output_token_state": saml_bearer()});
    expect_error(
        &call(&s, &admin, p, "translate", &mistyped),
        400,
        "input_token_state.password must be a string",
    );
    expect_error(
        &call(
            &s,
            &admin,
            p,
            "translate",
            &json!({"input_token_state": {}}),
        ),
        400,
        "output_token_state is required",
    );
    let bad_type = json!({"input_token_state": {"token_type": "KERBEROS"}, "output_token_state": saml_bearer()});
    expect_error(
        &call(&s, &admin, p, "translate", &bad_type),
        400,
        "KERBEROS",
    );
    let bad_sc = username_to(json!({"token_type": "SAML2", "subject_confirmation": "MAGIC"}));
    expect_error(
        &call(&s, &admin, p, "translate", &bad_sc),
        400,
        "subject_confirmation",
    );
    let wrong_pw = json!({"input_token_state": {"token_type": "USERNAME", "username": "alice", "password": "nope"}, "output_token_state": saml_bearer()});
    expect_error(
        &call(&s, &admin, p, "translate", &wrong_pw),
        401,
        "authentication failed",
    );
    // Not JSON, the wrong media type, too large.
    let r = s.request(
        "POST",
        "/rest-sts/only-saml?_action=translate",
        &[
            ("iPlanetDirectoryPro", &admin),
            ("Content-Type", "application/json"),
        ],
        "{not json",
    );
    expect_error(&r, 400, "not valid JSON");
    let r = s.request(
        "POST",
        "/rest-sts/only-saml?_action=translate",
        &[
            ("iPlanetDirectoryPro", &admin),
            ("Content-Type", "text/plain"),
        ],
        &username_to(saml_bearer()).to_string(),
    );
    expect_error(&r, 415, "application/json");
    let big = format!("{{\"x\":\"{}\"}}", "a".repeat(2 * 1024 * 1024));
    let r = s.request(
        "POST",
        "/rest-sts/only-saml?_action=translate",
        &[
            ("iPlanetDirectoryPro", &admin),
            ("Content-Type", "application/json"),
        ],
        &big,
    );
    expect_error(&r, 413, "exceeds");
    // The SSO header of an administrator is required, as the reference pages say.
    let r = s.request(
        "POST",
        "/rest-sts/only-saml?_action=translate",
        &[("Content-Type", "application/json")],
        &username_to(saml_bearer()).to_string(),
    );
    expect_error(&r, 401, "Access Denied");
    let alice = s.login("alice", "s3cret");
    let r = call(&s, &alice, p, "translate", &username_to(saml_bearer()));
    expect_error(&r, 403, "Access Denied");
    // A non-persisting instance cannot cancel.
    let saml = issued(&call(
        &s,
        &admin,
        p,
        "translate",
        &username_to(saml_bearer()),
    ));
    let r = call(
        &s,
        &admin,
        p,
        "cancel",
        &json!({"cancelled_token_state": {"token_type": "SAML2", "saml2_token": saml}}),
    );
    expect_error(&r, 409, "does not persist");
    let no_access =
        username_to(json!({"token_type": "OPENIDCONNECT", "nonce": "n", "allow_access": false}));
    let mut both = only_saml.clone();
    both["deployment-config"]["deployment-url-element"] = json!("both");
    both["supported-token-transforms"][0]["outputTokenType"] = json!("OPENIDCONNECT");
    assert_eq!(publish(&s, &admin, "rest", &both).status, 201);
    expect_error(
        &call(&s, &admin, "both", "translate", &no_access),
        400,
        "allow_access must be true",
    );
    // A SOAP instance is not served at /rest-sts, nor a REST one at /sts.
    expect_error(
        &call(
            &s,
            &admin,
            INSTANCE,
            "translate",
            &username_to(saml_bearer()),
        ),
        404,
        "Not Found",
    );
    let r = s.get("/sts/only-saml?wsdl");
    assert_eq!(r.status, 404);
}

#[test]
fn anyone_may_translate_when_configured() {
    let s = start_with(Opts {
        rest_sts_caller: Some(sts::config::RestCaller::Anyone),
        ..Default::default()
    });
    let admin = s.login("amadmin", ADMIN_PASSWORD);
    assert_eq!(
        publish(&s, &admin, "rest", &rest_instance("open", false)).status,
        201
    );
    let r = s.request(
        "POST",
        "/rest-sts/open?_action=translate",
        &[("Content-Type", "application/json")],
        &username_to(oidc_out("x")).to_string(),
    );
    assert_eq!(r.status, 200, "{}", r.body);
}

#[test]
fn publish_names_every_problem() {
    let s = start();
    let admin = s.login("amadmin", ADMIN_PASSWORD);
    assert_eq!(
        publish(&s, &admin, "rest", &rest_instance("taken", false)).status,
        201
    );
    let mut st = rest_instance("taken", false);
    st["supported-token-transforms"][0]["inputTokenType"] = json!("KERBEROS");
    st["saml2-config"]["issuer-name"] = json!("");
    st["oidc-id-token-config"]["oidc-signature-key-alias"] = json!("no-such-key");
    let r = publish(&s, &admin, "rest", &st);
    assert_eq!(r.status, 400, "{}", r.body);
    let m = r.json()["message"].as_str().unwrap().to_owned();
    for needle in [
        "supported-token-transforms[0].inputTokenType: unknown token type \"KERBEROS\"",
        "saml2-config.issuer-name must not be empty",
        "oidc-signature-key-alias `no-such-key` names no key",
        "already published at `taken`",
    ] {
        assert!(m.contains(needle), "`{needle}` not in `{m}`");
    }
    // Unknown and mistyped keys are named by path.
    let mut st = rest_instance("other", false);
    st["saml2-config"]["saml2-sign-assertoin"] = json!("true");
    expect_error(
        &publish(&s, &admin, "rest", &st),
        400,
        "saml2-config.saml2-sign-assertoin: unknown field",
    );
    let mut st = rest_instance("other", false);
    st["oidc-id-token-config"]["oidc-token-lifetime-seconds"] = json!("soon");
    expect_error(
        &publish(&s, &admin, "rest", &st),
        400,
        "oidc-id-token-config.oidc-token-lifetime-seconds",
    );
    // Missing instance_state, not JSON, wrong action, wrong media type.
    let r = s.request(
        "POST",
        "/sts-publish/rest?_action=create",
        &[
            ("iPlanetDirectoryPro", &admin),
            ("Content-Type", "application/json"),
        ],
        "{}",
    );
    expect_error(&r, 400, "instance_state is required");
    let r = s.request(
        "POST",
        "/sts-publish/rest?_action=delete",
        &[
            ("iPlanetDirectoryPro", &admin),
            ("Content-Type", "application/json"),
        ],
        "{}",
    );
    expect_error(&r, 400, "_action=create");
    let r = s.request(
        "POST",
        "/sts-publish/rest?_action=create",
        &[
            ("iPlanetDirectoryPro", &admin),
            ("Content-Type", "text/xml"),
        ],
        "{}",
    );
    expect_error(&r, 415, "application/json");
    // Only administrators publish.
    let alice = s.login("alice", "s3cret");
    expect_error(
        &publish(&s, &alice, "rest", &rest_instance("x", false)),
        403,
        "Access Denied",
    );
    expect_error(
        &publish(&s, "not-a-session", "rest", &rest_instance("x", false)),
        401,
        "Access Denied",
    );
    // One id per instance: the url element is one segment, the realm is normalised.
    let mut st = rest_instance("a/b", false);
    st["deployment-config"]["deployment-realm"] = json!("x y");
    let r = publish(&s, &admin, "rest", &st);
    expect_error(
        &r,
        400,
        "deployment-url-element `a/b` must be one path segment",
    );
    expect_error(&r, 400, "deployment-realm `x y` must be realm names");
    let mut st = rest_instance("in-realm", false);
    st["deployment-config"]["deployment-realm"] = json!("myRealm/");
    let r = publish(&s, &admin, "rest", &st);
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.json()["_id"], "myRealm/in-realm");
    let r = s.request(
        "GET",
        "/sts-publish/rest/myRealm/in-realm",
        &[("iPlanetDirectoryPro", &admin)],
        "",
    );
    assert_eq!(
        r.json()["myRealm/in-realm"]["deployment-config"]["deployment-realm"],
        "/myRealm"
    );
    // A secret's value is never echoed, even in an error.
    let mut st = rest_instance("other", false);
    st["oidc-id-token-config"]["oidc-client-secret"] = json!(987654321);
    let r = publish(&s, &admin, "rest", &st);
    expect_error(&r, 400, "oidc-id-token-config.oidc-client-secret");
    assert!(!r.body.contains("987654321"), "{}", r.body);
    // A duplicate alone is a conflict.
    expect_error(
        &publish(
            &s,
            &admin,
            "soap",
            &crate::common::persisting_instance("taken", false),
        ),
        409,
        "already published",
    );
}

#[test]
fn update_is_optimistic_keeps_secrets_and_delete_removes_the_endpoint() {
    let s = start();
    let admin = s.login("amadmin", ADMIN_PASSWORD);
    let r = publish(&s, &admin, "rest", &rest_instance("upd", false));
    let rev1 = r.json()["_rev"].as_str().unwrap().to_owned();
    let put = |rev: &str, st: &Value| {
        s.request(
            "PUT",
            "/sts-publish/rest/upd",
            &[
                ("iPlanetDirectoryPro", &admin),
                ("Content-Type", "application/json"),
                ("If-Match", rev),
            ],
            &json!({"invocation_context": "invocation_context_client_sdk", "instance_state": st})
                .to_string(),
        )
    };
    // An update built from a read (which has no secrets) keeps the stored ones.
    let read = s
        .request(
            "GET",
            "/sts-publish/rest/upd",
            &[("iPlanetDirectoryPro", &admin)],
            "",
        )
        .json();
    let mut st = read["upd"].clone();
    st["oidc-id-token-config"]["oidc-token-lifetime-seconds"] = json!("60");
    let r = put(&rev1, &st);
    assert_eq!(r.status, 200, "{}", r.body);
    let rev2 = r.json()["_rev"].as_str().unwrap().to_owned();
    assert_ne!(rev1, rev2);
    let stored = s.store().get_instance("upd").unwrap().unwrap();
    assert!(
        stored.config.contains("oidc-keystore-secret"),
        "the secret was lost"
    );
    // The new lifetime is live at once.
    let jwt = issued(&call(
        &s,
        &admin,
        "upd",
        "translate",
        &username_to(oidc_out("n")),
    ));
    let (ok, out) = pyjwt_verify(&s, &jwt, "RS256", &s.cert("sts-signing"));
    assert!(ok, "{out}");
    let c: Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    assert_eq!(
        c["claims"]["exp"].as_i64().unwrap() - c["claims"]["iat"].as_i64().unwrap(),
        60
    );
    // A stale revision is refused, and changes nothing.
    st["oidc-id-token-config"]["oidc-token-lifetime-seconds"] = json!("90");
    expect_error(&put(&rev1, &st), 412, "changed since");
    // Moving an instance is not an update.
    let mut moved = st.clone();
    moved["deployment-config"]["deployment-url-element"] = json!("elsewhere");
    expect_error(&put(&rev2, &moved), 400, "publish a new instance");
    // List, then delete: the endpoint is gone.
    let list = s
        .request(
            "GET",
            "/sts-publish/rest",
            &[("iPlanetDirectoryPro", &admin)],
            "",
        )
        .json();
    assert_eq!(list["resultCount"], 1, "{list}");
    assert_eq!(list["result"][0]["_id"], "upd");
    let r = s.request(
        "DELETE",
        "/sts-publish/rest/upd",
        &[("iPlanetDirectoryPro", &admin)],
        "",
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.json()["result"],
        "rest sts instance upd successfully removed from realm /"
    );
    expect_error(
        &call(&s, &admin, "upd", "translate", &username_to(oidc_out("n"))),
        404,
        "Not Found",
    );
    let r = s.request(
        "GET",
        "/sts-publish/rest/upd",
        &[("iPlanetDirectoryPro", &admin)],
        "",
    );
    expect_error(&r, 404, "no rest STS instance");
    // The file-defined demo instance is read-only through the API.
    let r = s.request(
        "DELETE",
        &format!("/sts-publish/soap/{INSTANCE}"),
        &[("iPlanetDirectoryPro", &admin)],
        "",
    );
    expect_error(&r, 409, "edit or remove that file");
    let r = s.request(
        "GET",
        &format!("/sts-publish/soap/{INSTANCE}"),
        &[("iPlanetDirectoryPro", &admin)],
        "",
    );
    assert_eq!(r.status, 200, "{}", r.body);
}

#[test]
fn published_soap_instances_serve_wsdl_and_issue_and_survive_restart_and_reach_other_nodes() {
    let s = start();
    let admin = s.login("amadmin", ADMIN_PASSWORD);
    let node2 = s.second_node();
    let r = publish(
        &s,
        &admin,
        "soap",
        &persisting_instance("soap-published", false),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let r = s.get("/sts/soap-published?wsdl");
    assert_eq!(r.status, 200);
    assert!(r.body.contains("/sts/soap-published\""), "{}", r.body);
    let issue = |srv: &TestServer| {
        srv.post(
            "/sts/soap-published",
            &[
                ("Content-Type", "text/xml; charset=utf-8"),
                ("SOAPAction", &format!("\"{ISSUE_ACTION}\"")),
            ],
            envelope(SOAP11, &username_digest("alice", "s3cret"), ""),
        )
    };
    let r = issue(&s);
    assert_eq!(r.status, 200, "{}", r.body);
    // The other node picks the instance up from the shared store.
    wait_until("the second node serves the published instance", || {
        node2.get("/sts/soap-published?wsdl").status == 200
    });
    assert_eq!(issue(&node2).status, 200);
    // Deleted on node 2: gone on node 1 too.
    let r = node2.request(
        "DELETE",
        "/sts-publish/soap/soap-published",
        &[("iPlanetDirectoryPro", &admin)],
        "",
    );
    assert_eq!(r.status, 200, "{}", r.body);
    wait_until("node 1 no longer serves the deleted instance", || {
        s.get("/sts/soap-published?wsdl").status == 404
    });
    drop(node2);
    // Published instances survive a restart.
    assert_eq!(
        publish(&s, &admin, "rest", &rest_instance("durable", false)).status,
        201
    );
    let s = s.restart();
    let admin = s.login("amadmin", ADMIN_PASSWORD);
    let r = call(
        &s,
        &admin,
        "durable",
        "translate",
        &username_to(saml_bearer()),
    );
    assert_eq!(r.status, 200, "{}", r.body);
}

#[test]
fn concurrent_publishes_of_one_url_element_leave_exactly_one_winner() {
    let s = start();
    let admin = s.login("amadmin", ADMIN_PASSWORD);
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let (s, admin) = (&s, &admin);
                scope.spawn(move || {
                    let mut st = rest_instance("contested", false);
                    st["oidc-id-token-config"]["oidc-issuer"] = json!(format!("issuer-{i}"));
                    publish(s, admin, "rest", &st).status
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        statuses.iter().filter(|&&c| c == 201).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|&c| c == 201 || c == 409),
        "{statuses:?}"
    );
}

/// A self-signed certificate (DER, base64) valid from `from_days` to `to_days` around now.
pub fn client_cert_b64(from_days: i64, to_days: i64) -> String {
    use base64::Engine as _;
    use openssl::{asn1::Asn1Time, ec, nid::Nid, pkey::PKey, x509};
    let group = ec::EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
    let key = PKey::from_ec_key(ec::EcKey::generate(&group).unwrap()).unwrap();
    let mut name = x509::X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", "client").unwrap();
    let name = name.build();
    let mut b = x509::X509Builder::new().unwrap();
    b.set_version(2).unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(&name).unwrap();
    b.set_pubkey(&key).unwrap();
    let now = chrono::Utc::now().timestamp();
    b.set_not_before(&Asn1Time::from_unix(now + from_days * 86_400).unwrap())
        .unwrap();
    b.set_not_after(&Asn1Time::from_unix(now + to_days * 86_400).unwrap())
        .unwrap();
    b.sign(&key, openssl::hash::MessageDigest::sha256())
        .unwrap();
    base64::engine::general_purpose::STANDARD.encode(b.build().to_der().unwrap())
}

#[test]
fn sender_vouches_and_holder_of_key_assertions() {
    let s = start();
    let admin = s.login("amadmin", ADMIN_PASSWORD);
    assert_eq!(
        publish(&s, &admin, "rest", &rest_instance("confirm", false)).status,
        201
    );
    let sv = issued(&call(
        &s,
        &admin,
        "confirm",
        "translate",
        &username_to(json!({"token_type": "SAML2", "subject_confirmation": "SENDER_VOUCHES"})),
    ));
    assert!(
        sv.contains("Method=\"urn:oasis:names:tc:SAML:2.0:cm:sender-vouches\""),
        "{sv}"
    );
    let (ok, out) = xmlsec1_verify(&sv, &s.cert("sts-signing"));
    assert!(ok, "xmlsec1: {out}");

    let cert = client_cert_b64(-1, 30);
    let hok = |proof: Value| {
        call(
            &s,
            &admin,
            "confirm",
            "translate",
            &username_to(
                json!({"token_type": "SAML2", "subject_confirmation": "HOLDER_OF_KEY", "proof_token_state": proof}),
            ),
        )
    };
    let a = issued(&hok(json!({"base64EncodedCertificate": cert})));
    assert!(
        a.contains("Method=\"urn:oasis:names:tc:SAML:2.0:cm:holder-of-key\""),
        "{a}"
    );
    assert!(
        a.contains("xsi:type=\"saml2:KeyInfoConfirmationDataType\""),
        "{a}"
    );
    assert!(
        a.contains(&format!("<ds:X509Certificate>{cert}</ds:X509Certificate>")),
        "{a}"
    );
    let (ok, out) = xmlsec1_verify(&a, &s.cert("sts-signing"));
    assert!(ok, "xmlsec1: {out}");
    let (ok, out) = signxml_verify(&a, &s.cert("sts-signing"));
    assert!(ok, "signxml: {out}");

    // A holder-of-key request without a usable key is refused, each way by name.
    let r = call(
        &s,
        &admin,
        "confirm",
        "translate",
        &username_to(json!({"token_type": "SAML2", "subject_confirmation": "HOLDER_OF_KEY"})),
    );
    expect_error(&r, 400, "proof_token_state");
    expect_error(&hok(json!({})), 400, "base64EncodedCertificate is required");
    expect_error(
        &hok(json!({"base64EncodedCertificate": "not base64!"})),
        400,
        "not base64",
    );
    expect_error(
        &hok(json!({"base64EncodedCertificate": "AAAA"})),
        400,
        "not a DER X.509",
    );
    expect_error(
        &hok(json!({"base64EncodedCertificate": client_cert_b64(-30, -1)})),
        400,
        "validity period",
    );
    // Bytes after the certificate would be signed into the assertion: refused.
    let trailing = {
        use base64::Engine as _;
        let e = base64::engine::general_purpose::STANDARD;
        let mut der = e.decode(&cert).unwrap();
        der.extend_from_slice(b"smuggled");
        e.encode(der)
    };
    expect_error(
        &hok(json!({"base64EncodedCertificate": trailing})),
        400,
        "exactly one DER certificate",
    );
}

#[test]
fn soap_public_key_requests_need_proof_of_possession() {
    let s = start();
    let cert = client_cert_b64(-1, 30);
    let use_key = format!(
        "<wst:KeyType>http://docs.oasis-open.org/ws-sx/ws-trust/200512/PublicKey</wst:KeyType>\
         <wst:UseKey><ds:KeyInfo xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"><ds:X509Data>\
         <ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></wst:UseKey>"
    );
    // A certificate anyone can copy proves nothing: without a message signature made with
    // its key, or a TLS client certificate that is it, no holder-of-key assertion.
    let r = s.post_soap11(&envelope(
        SOAP11,
        &username_digest("alice", "s3cret"),
        &use_key,
    ));
    assert_eq!(r.fault_code(), "wst:FailedAuthentication", "{}", r.body);
    assert!(r.body.contains("possession"), "{}", r.body);
    assert!(!r.body.contains("Assertion"), "{}", r.body);
    // PublicKey without UseKey, and SymmetricKey: refused.
    let r = s.post_soap11(&envelope(
        SOAP11,
        &username_digest("alice", "s3cret"),
        "<wst:KeyType>http://docs.oasis-open.org/ws-sx/ws-trust/200512/PublicKey</wst:KeyType>",
    ));
    assert_eq!(r.fault_code(), "wst:InvalidRequest", "{}", r.body);
    let r = s.post_soap11(&envelope(
        SOAP11,
        &username_digest("alice", "s3cret"),
        "<wst:KeyType>http://docs.oasis-open.org/ws-sx/ws-trust/200512/SymmetricKey</wst:KeyType>",
    ));
    assert_eq!(r.fault_code(), "wst:BadRequest", "{}", r.body);
}

#[test]
fn jwks_of_a_realm_verifies_its_id_tokens() {
    let s = start();
    let admin = s.login("amadmin", ADMIN_PASSWORD);
    let mut ec = rest_instance("ec-oidc", false);
    ec["oidc-id-token-config"]["oidc-signature-algorithm"] = json!("ES256");
    ec["oidc-id-token-config"]["oidc-signature-key-alias"] = json!("sts-signing-ec");
    let mut hs = rest_instance("hs-oidc", false);
    hs["oidc-id-token-config"]["oidc-signature-algorithm"] = json!("HS256");
    hs["oidc-id-token-config"]["oidc-client-secret"] =
        json!("a-shared-secret-of-32-bytes-or-more!");
    let mut other_realm = rest_instance("elsewhere", false);
    other_realm["deployment-config"]["deployment-realm"] = json!("/myRealm");
    for st in [rest_instance("rs-oidc", false), ec, hs, other_realm] {
        assert_eq!(publish(&s, &admin, "rest", &st).status, 201);
    }
    let r = s.get("/oauth2/connect/jwk_uri");
    assert_eq!(r.status, 200, "{}", r.body);
    let jwks = r.json();
    let keys = jwks["keys"].as_array().unwrap();
    // RS256 and ES256 of the top-level realm (the demo SOAP instance issues no id_tokens);
    // never the HMAC secret.
    assert_eq!(keys.len(), 2, "{jwks}");
    assert!(!r.body.contains("a-shared-secret"), "{}", r.body);
    for (element, alg) in [("rs-oidc", "RS256"), ("ec-oidc", "ES256")] {
        let jwt = issued(&call(
            &s,
            &admin,
            element,
            "translate",
            &username_to(oidc_out("n")),
        ));
        let header: Value = {
            use base64::Engine as _;
            let h = jwt.split('.').next().unwrap();
            serde_json::from_slice(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(h)
                    .unwrap(),
            )
            .unwrap()
        };
        let jwk = keys
            .iter()
            .find(|k| k["kid"] == header["kid"])
            .unwrap_or_else(|| panic!("no key {} in {jwks}", header["kid"]));
        assert_eq!(jwk["alg"], alg);
        let file = s.dir.path().join(format!("{element}.jwk.json"));
        std::fs::write(&file, jwk.to_string()).unwrap();
        let (ok, out) = pyjwt_verify(&s, &jwt, alg, &file);
        assert!(ok, "PyJWT with the published JWK: {out}");
    }
    let r = s.get("/oauth2/realms/root/realms/myRealm/connect/jwk_uri");
    assert_eq!(r.json()["keys"].as_array().unwrap().len(), 1, "{}", r.body);
    assert_eq!(s.get("/oauth2/connect/nothing").status, 404);
}

/// Signs `claims` with PyJWT.
pub fn pyjwt_sign(alg: &str, key: &std::path::Path, claims: &Value, kid: &str) -> String {
    let (ok, out) = run(std::process::Command::new("python3")
        .arg(peers_dir().join("sign_jwt.py"))
        .arg(alg)
        .arg(key)
        .arg(claims.to_string())
        .arg(kid));
    assert!(ok, "PyJWT sign: {out}");
    out.trim().to_owned()
}

#[test]
fn oidc_id_tokens_of_trusted_issuers_are_accepted_as_input() {
    use base64::Engine as _;
    let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    let s = start();
    let admin = s.login("amadmin", ADMIN_PASSWORD);
    // The identity provider's key, and a stranger's.
    let idp = openssl::rsa::Rsa::generate(2048).unwrap();
    let stranger = openssl::rsa::Rsa::generate(2048).unwrap();
    let idp_pem = s.dir.path().join("idp.pem");
    std::fs::write(&idp_pem, idp.private_key_to_pem().unwrap()).unwrap();
    let stranger_pem = s.dir.path().join("stranger.pem");
    std::fs::write(&stranger_pem, stranger.private_key_to_pem().unwrap()).unwrap();
    let jwk = json!({"kty": "RSA", "kid": "idp-1", "n": b64(&idp.n().to_vec()), "e": b64(&idp.e().to_vec())});
    let mut st = rest_instance("oidc-in", false);
    st["supported-token-transforms"] = json!([
        {"inputTokenType": "OPENIDCONNECT", "outputTokenType": "SAML2", "invalidateInterimOpenAMSession": true},
        {"inputTokenType": "OPENIDCONNECT", "outputTokenType": "OPENIDCONNECT", "invalidateInterimOpenAMSession": true}
    ]);
    st["oidc-trusted-issuers"] = json!([{
        "issuer": "https://idp.example.com", "audience": ["sts"], "algorithms": ["RS256"],
        "jwks": {"keys": [jwk]}
    }]);
    let r = publish(&s, &admin, "rest", &st);
    assert_eq!(r.status, 201, "{}", r.body);

    let now = chrono::Utc::now().timestamp();
    let claims = |edit: &dyn Fn(&mut Value)| {
        let mut c = json!({"iss": "https://idp.example.com", "aud": "sts", "sub": "alice", "iat": now, "exp": now + 300});
        edit(&mut c);
        c
    };
    let good = pyjwt_sign("RS256", &idp_pem, &claims(&|_| {}), "idp-1");
    let translate = |token: &str, out: Value| {
        call(
            &s,
            &admin,
            "oidc-in",
            "translate",
            &json!({
                "input_token_state": {"token_type": "OPENIDCONNECT", "oidc_id_token": token},
                "output_token_state": out
            }),
        )
    };
    let saml = issued(&translate(&good, saml_bearer()));
    assert!(saml.contains(">alice</saml2:NameID>"), "{saml}");
    // How the other issuer authenticated alice is not known: no password is claimed.
    assert!(
        saml.contains(">urn:oasis:names:tc:SAML:2.0:ac:classes:unspecified<"),
        "{saml}"
    );
    let (ok, out) = xmlsec1_verify(&saml, &s.cert("sts-signing"));
    assert!(ok, "xmlsec1: {out}");
    // OIDC -> OIDC: the local user alice lends her attributes to the claim map.
    let jwt = issued(&translate(&good, oidc_out("n-1")));
    let (ok, out) = pyjwt_verify(&s, &jwt, "RS256", &s.cert("sts-signing"));
    assert!(ok, "{out}");
    assert!(out.contains("\"email\": \"alice@example.com\""), "{out}");

    // Each bad token is refused with a specific reason.
    let hs_confusion = {
        // HS256 keyed with the issuer's public key: the classic algorithm confusion.
        let h = b64(br#"{"alg":"HS256","typ":"JWT"}"#);
        let p = b64(claims(&|_| {}).to_string().as_bytes());
        let key = openssl::pkey::PKey::hmac(&idp.public_key_to_pem().unwrap()).unwrap();
        let mut signer =
            openssl::sign::Signer::new(openssl::hash::MessageDigest::sha256(), &key).unwrap();
        signer.update(format!("{h}.{p}").as_bytes()).unwrap();
        format!("{h}.{p}.{}", b64(&signer.sign_to_vec().unwrap()))
    };
    let none = format!(
        "{}.{}.",
        b64(br#"{"alg":"none"}"#),
        b64(claims(&|_| {}).to_string().as_bytes())
    );
    let cases: Vec<(String, &str)> = vec![
        (
            pyjwt_sign(
                "RS256",
                &idp_pem,
                &claims(&|c| c["exp"] = json!(now - 1000)),
                "idp-1",
            ),
            "expired",
        ),
        (
            pyjwt_sign(
                "RS256",
                &idp_pem,
                &claims(&|c| c["nbf"] = json!(now + 3600)),
                "idp-1",
            ),
            "not valid yet",
        ),
        (
            pyjwt_sign(
                "RS256",
                &idp_pem,
                &claims(&|c| c["iss"] = json!("https://evil.example.com")),
                "idp-1",
            ),
            "issuer is not trusted",
        ),
        (
            pyjwt_sign(
                "RS256",
                &idp_pem,
                &claims(&|c| c["aud"] = json!(["someone-else"])),
                "idp-1",
            ),
            "audience",
        ),
        (
            pyjwt_sign("RS256", &stranger_pem, &claims(&|_| {}), "idp-1"),
            "signature does not verify",
        ),
        (none, "algorithm `none` is not accepted"),
        (hs_confusion, "algorithm `HS256` is not accepted"),
        ("not-a-jwt".to_owned(), "not a JWT"),
        // Another party never speaks for a local administrator.
        (
            pyjwt_sign(
                "RS256",
                &idp_pem,
                &claims(&|c| c["sub"] = json!("amadmin")),
                "idp-1",
            ),
            "administrator",
        ),
        (
            pyjwt_sign(
                "RS256",
                &idp_pem,
                &claims(&|c| c["nbf"] = json!(1.5)),
                "idp-1",
            ),
            "nbf claim is not an integer",
        ),
    ];
    for (token, reason) in cases {
        let r = translate(&token, saml_bearer());
        expect_error(&r, 401, reason);
    }
    // An instance cannot take OIDC input without trusted issuers.
    let mut bad = st.clone();
    bad["deployment-config"]["deployment-url-element"] = json!("oidc-in-2");
    bad.as_object_mut().unwrap().remove("oidc-trusted-issuers");
    expect_error(
        &publish(&s, &admin, "rest", &bad),
        400,
        "OPENIDCONNECT input needs oidc-trusted-issuers",
    );
    // A JWK whose exponent is 1 would let anyone sign: refused when publishing.
    let mut weak = st.clone();
    weak["deployment-config"]["deployment-url-element"] = json!("oidc-in-3");
    weak["oidc-trusted-issuers"][0]["jwks"]["keys"][0]["e"] = json!("AQ");
    expect_error(
        &publish(&s, &admin, "rest", &weak),
        400,
        "RSA exponent must be odd, at least 3",
    );
}
