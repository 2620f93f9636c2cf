//! Values accepted once: an input id_token with a `jti` is refused the second time (by
//! issuer and jti), one without is not (it cannot be told from its re-presentation).

use serde_json::{Value, json};

use crate::common::*;

#[test]
fn an_input_id_token_with_a_jti_is_accepted_once() {
    use base64::Engine as _;
    let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    let s = start();
    let admin = s.login("amadmin", ADMIN_PASSWORD);
    let idp = openssl::rsa::Rsa::generate(2048).unwrap();
    let idp_pem = s.dir.path().join("idp.pem");
    std::fs::write(&idp_pem, idp.private_key_to_pem().unwrap()).unwrap();
    let jwk = json!({"kty": "RSA", "kid": "idp-1", "n": b64(&idp.n().to_vec()), "e": b64(&idp.e().to_vec())});
    let mut st = rest_instance("jti-in", false);
    st["supported-token-transforms"] = json!([
        {"inputTokenType": "OPENIDCONNECT", "outputTokenType": "SAML2", "invalidateInterimOpenAMSession": true}
    ]);
    st["oidc-trusted-issuers"] = json!([{
        "issuer": "https://idp.example.com", "audience": ["sts"], "algorithms": ["RS256"],
        "jwks": {"keys": [jwk]}
    }]);
    let r = publish(&s, &admin, "rest", &st);
    assert_eq!(r.status, 201, "{}", r.body);
    let now = wall_clock().timestamp();
    let token = |extra: Value| {
        let mut c = json!({"iss": "https://idp.example.com", "aud": "sts", "sub": "alice", "iat": now, "exp": now + 300});
        if let (Some(c), Some(e)) = (c.as_object_mut(), extra.as_object()) {
            c.extend(e.clone());
        }
        pyjwt_sign("RS256", &idp_pem, &c, "idp-1")
    };
    let translate = |t: &str| {
        call(
            &s,
            &admin,
            "jti-in",
            "translate",
            &json!({"input_token_state": {"token_type": "OPENIDCONNECT", "oidc_id_token": t},
                    "output_token_state": saml_bearer()}),
        )
    };
    let once = token(json!({"jti": "j-1"}));
    assert!(issued(&translate(&once)).contains(">alice</saml2:NameID>"));
    expect_error(&translate(&once), 401, "already used");
    // Another token with the same jti from the same issuer is the same token.
    expect_error(
        &translate(&token(json!({"jti": "j-1", "iat": now - 1}))),
        401,
        "already used",
    );
    issued(&translate(&token(json!({"jti": "j-2"}))));
    expect_error(
        &translate(&token(json!({"jti": 7}))),
        401,
        "jti claim is not a string",
    );
    // Without a jti: accepted until it expires.
    let plain = token(json!({}));
    issued(&translate(&plain));
    issued(&translate(&plain));
}
