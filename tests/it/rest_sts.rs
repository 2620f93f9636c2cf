//! The REST STS (`/rest-sts/...`): translate, validate and cancel, and what it refuses.

use serde_json::{Value, json};

use crate::common::*;

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
