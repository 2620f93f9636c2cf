//! Key rotation: rotated keys stay trusted until the next rotation, and cancel by value
//! accepts the previous key.

use serde_json::{Value, json};

use crate::common::*;

fn jwt_kid(jwt: &str) -> String {
    use base64::Engine as _;
    let h = jwt.split('.').next().unwrap();
    let header: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(h)
            .unwrap(),
    )
    .unwrap();
    header["kid"].as_str().unwrap().to_owned()
}

/// Polls the JWK set until it holds `n` keys (the server re-reads keys/ on its poll).
pub fn wait_for_jwks(s: &TestServer, n: usize) -> Vec<Value> {
    let mut keys = Vec::new();
    wait_until(&format!("the JWK set holds {n} keys"), || {
        keys = s.get("/oauth2/connect/jwk_uri").json()["keys"]
            .as_array()
            .unwrap()
            .clone();
        keys.len() == n
    });
    keys
}

#[test]
fn rotated_keys_stay_trusted_until_the_next_rotation() {
    let s = start();
    let admin = s.login("amadmin", ADMIN_PASSWORD);
    let r = publish(&s, &admin, "rest", &rest_instance("rotating", false));
    assert_eq!(r.status, 201, "{}", r.body);
    let translate = |out: Value| {
        issued(&call(
            &s,
            &admin,
            "rotating",
            "translate",
            &username_to(out),
        ))
    };
    let validate = |state: Value| {
        let r = call(
            &s,
            &admin,
            "rotating",
            "validate",
            &json!({ "validated_token_state": state }),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        r.json()["token_valid"].as_bool().unwrap()
    };
    let jwt_state = |t: &str| json!({"token_type": "OPENIDCONNECT", "oidc_id_token": t});
    let saml_state = |t: &str| json!({"token_type": "SAML2", "saml2_token": t});
    let saml_out = json!({"token_type": "SAML2", "subject_confirmation": "BEARER"});

    let old_jwt = translate(oidc_out("1"));
    let old_saml = translate(saml_out.clone());
    let old_kid = jwt_kid(&old_jwt);
    let before = wait_for_jwks(&s, 1);
    assert_eq!(before[0]["kid"], old_kid.as_str());
    let old_cert = std::fs::read(s.cert("sts-signing")).unwrap();

    sts::keyring::rotate(s.dir.path(), "sts-signing", wall_clock()).unwrap();
    // The running server picks the new key up; the JWK set holds both.
    let keys = wait_for_jwks(&s, 2);
    let new_jwt = translate(oidc_out("2"));
    let new_kid = jwt_kid(&new_jwt);
    assert_ne!(new_kid, old_kid);
    assert_eq!(keys[0]["kid"].as_str().unwrap().len(), 43);
    for (jwt, kid) in [(&old_jwt, &old_kid), (&new_jwt, &new_kid)] {
        let jwk = keys.iter().find(|k| k["kid"] == kid.as_str()).unwrap();
        let file = s.dir.path().join(format!("{kid}.jwk.json"));
        std::fs::write(&file, jwk.to_string()).unwrap();
        let (ok, out) = pyjwt_verify(&s, jwt, "RS256", &file);
        assert!(ok, "PyJWT with the published JWK {kid}: {out}");
        assert!(validate(jwt_state(jwt)), "{kid} no longer validates");
    }
    // Assertions: new ones are signed with the new key; old ones still validate.
    let new_saml = translate(saml_out.clone());
    let (ok, out) = xmlsec1_verify(&new_saml, &s.cert("sts-signing"));
    assert!(ok, "xmlsec1 with the new certificate: {out}");
    let old_cert_file = s.dir.path().join("old.crt.pem");
    std::fs::write(&old_cert_file, &old_cert).unwrap();
    let (ok, _) = xmlsec1_verify(&new_saml, &old_cert_file);
    assert!(!ok, "the new assertion verifies with the old certificate");
    assert!(validate(saml_state(&old_saml)));
    assert!(validate(saml_state(&new_saml)));

    // A second rotation retires the first key: what it signed no longer validates.
    sts::keyring::rotate(s.dir.path(), "sts-signing", wall_clock()).unwrap();
    wait_until("the first key leaves the JWK set", || {
        wait_for_jwks(&s, 2)
            .iter()
            .all(|k| k["kid"] != old_kid.as_str())
    });
    let keys = wait_for_jwks(&s, 2);
    assert!(
        keys.iter().all(|k| k["kid"] != old_kid.as_str()),
        "{keys:?}"
    );
    assert!(
        keys.iter().any(|k| k["kid"] == new_kid.as_str()),
        "{keys:?}"
    );
    assert!(!validate(jwt_state(&old_jwt)));
    assert!(validate(jwt_state(&new_jwt)));
    assert!(!validate(saml_state(&old_saml)));
    assert!(validate(saml_state(&new_saml)));
}

#[test]
fn saml_cancel_by_value_accepts_the_previous_key_after_a_rotation() {
    let s = start();
    let admin = s.login("amadmin", ADMIN_PASSWORD);
    assert_eq!(
        publish(&s, &admin, "rest", &rest_instance("rotating", true)).status,
        201
    );
    let saml_out = json!({"token_type": "SAML2", "subject_confirmation": "BEARER"});
    let state = |t: &str| json!({"token_type": "SAML2", "saml2_token": t});
    let old = issued(&call(
        &s,
        &admin,
        "rotating",
        "translate",
        &username_to(saml_out),
    ));
    wait_for_jwks(&s, 1);
    sts::keyring::rotate(s.dir.path(), "sts-signing", wall_clock()).unwrap();
    // The server has picked up the new key once the JWK set holds both.
    wait_for_jwks(&s, 2);
    let validate = |t: &str| -> Value {
        let r = call(
            &s,
            &admin,
            "rotating",
            "validate",
            &json!({"validated_token_state": state(t)}),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        r.json()["token_valid"].clone()
    };
    assert_eq!(validate(&old), true);
    let r = call(
        &s,
        &admin,
        "rotating",
        "cancel",
        &json!({"cancelled_token_state": state(&old)}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["result"], "SAML2 token cancelled successfully.");
    assert_eq!(validate(&old), false);
    assert!(s.store().get_token(&assertion_id(&old)).unwrap().is_none());
}
