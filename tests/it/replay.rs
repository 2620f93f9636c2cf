//! Values accepted once: an input id_token with a `jti` is refused the second time (by
//! issuer and jti), one without by its signed content (an ECDSA signature made over again as
//! (r, n - s) included), unless its issuer entry keeps OpenAM's behaviour
//! (`insecure-accept-replays-without-jti`).

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
    // Without a jti: once, by its signed content (it used to be accepted until it expired).
    let plain = token(json!({}));
    issued(&translate(&plain));
    expect_error(&translate(&plain), 401, "already used");
    // Other claims are another token.
    issued(&translate(&token(json!({"iat": now - 2}))));
    // An exp a date cannot hold, or one that overflows once the skew is added, is refused
    // (it used to be remembered for the skew only, or to panic the request).
    for exp in [9_000_000_000_000_i64, 8_210_266_876_700] {
        expect_error(
            &translate(&token(json!({"jti": format!("far-{exp}"), "exp": exp}))),
            401,
            "exp claim is out of range",
        );
    }
}

/// P-256's group order, as the bytes of a big-endian number.
fn p256_order() -> openssl::bn::BigNum {
    let group = openssl::ec::EcGroup::from_curve_name(openssl::nid::Nid::X9_62_PRIME256V1).unwrap();
    let mut order = openssl::bn::BigNum::new().unwrap();
    let mut ctx = openssl::bn::BigNumContext::new().unwrap();
    group.order(&mut order, &mut ctx).unwrap();
    order
}

#[test]
fn an_input_id_token_without_a_jti_is_accepted_once_unless_its_issuer_opts_out() {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let s = start();
    let admin = s.login("amadmin", ADMIN_PASSWORD);
    let ec = openssl::ec::EcKey::generate(
        &openssl::ec::EcGroup::from_curve_name(openssl::nid::Nid::X9_62_PRIME256V1).unwrap(),
    )
    .unwrap();
    let pem = s.dir.path().join("op-ec.pem");
    std::fs::write(&pem, ec.private_key_to_pem().unwrap()).unwrap();
    let (mut x, mut y) = (
        openssl::bn::BigNum::new().unwrap(),
        openssl::bn::BigNum::new().unwrap(),
    );
    let mut ctx = openssl::bn::BigNumContext::new().unwrap();
    ec.public_key()
        .affine_coordinates(ec.group(), &mut x, &mut y, &mut ctx)
        .unwrap();
    let jwk = json!({"kty": "EC", "crv": "P-256", "kid": "ec-1",
        "x": b64.encode(x.to_vec_padded(32).unwrap()), "y": b64.encode(y.to_vec_padded(32).unwrap())});
    let entry = |issuer: &str, opt_out: bool| {
        let mut e = json!({"issuer": issuer, "audience": ["sts"], "algorithms": ["ES256"],
            "jwks": {"keys": [jwk.clone()]}});
        if opt_out {
            e["insecure-accept-replays-without-jti"] = json!(true);
        }
        e
    };
    let mut st = rest_instance("no-jti", false);
    st["supported-token-transforms"] = json!([
        {"inputTokenType": "OPENIDCONNECT", "outputTokenType": "SAML2", "invalidateInterimOpenAMSession": true}
    ]);
    st["oidc-trusted-issuers"] = json!([
        entry("https://strict.example.com", false),
        entry("https://openam-like.example.com", true)
    ]);
    let r = publish(&s, &admin, "rest", &st);
    assert_eq!(r.status, 201, "{}", r.body);
    // The switch is kept as published, and only where it is on.
    let r = s.request(
        "GET",
        "/sts-publish/rest/no-jti",
        &[("iPlanetDirectoryPro", &admin)],
        "",
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let listed = r
        .body
        .matches("insecure-accept-replays-without-jti")
        .count();
    assert_eq!(listed, 1, "{}", r.body);
    let now = wall_clock().timestamp();
    let token = |iss: &str| {
        pyjwt_sign(
            "ES256",
            &pem,
            &json!({"iss": iss, "aud": "sts", "sub": "alice", "iat": now, "exp": now + 300}),
            "ec-1",
        )
    };
    let translate = |t: &str| {
        call(
            &s,
            &admin,
            "no-jti",
            "translate",
            &json!({"input_token_state": {"token_type": "OPENIDCONNECT", "oidc_id_token": t},
                    "output_token_state": saml_bearer()}),
        )
    };
    let strict = token("https://strict.example.com");
    issued(&translate(&strict));
    expect_error(&translate(&strict), 401, "already used");
    // The same claims under the other valid ECDSA signature (r, n - s): the same token.
    let (input, sig) = strict.rsplit_once('.').unwrap();
    let sig = b64.decode(sig).unwrap();
    let r_part = &sig[..32];
    let s_part = openssl::bn::BigNum::from_slice(&sig[32..]).unwrap();
    let mut flipped = openssl::bn::BigNum::new().unwrap();
    flipped.checked_sub(&p256_order(), &s_part).unwrap();
    let resigned = format!(
        "{input}.{}",
        b64.encode([r_part, flipped.to_vec_padded(32).unwrap().as_slice()].concat())
    );
    assert_ne!(resigned, strict);
    expect_error(&translate(&resigned), 401, "already used");
    // The issuer that keeps OpenAM's behaviour: accepted until it expires.
    let lax = token("https://openam-like.example.com");
    issued(&translate(&lax));
    issued(&translate(&lax));
}
