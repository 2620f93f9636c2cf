//! Tokens of trusted issuers as input: id_tokens (RSA, EdDSA) and SAML assertions of other
//! identity providers, over SOAP and REST.

use serde_json::{Value, json};

use crate::common::*;

#[test]
fn soap_takes_id_tokens_assertions_and_certificates_and_issues_id_tokens() {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let work = tempfile::tempdir().unwrap();
    let (op_pem, jwk) = openid_provider(work.path());
    // The SAML IdP's certificate is trusted by the instance.
    let (idp, idp_cert) = saml_idp();
    let pki = Pki::new("Test Client CA");
    let alice_cert = pki.issue("alice", "alice", 31, (-1, 30), false);

    let mut instance = sts::datadir::demo_instance();
    instance["deployment-config"] = json!({
        "deployment-url-element": "soap-matrix", "deployment-realm": "/",
        "deployment-offloaded-two-way-tls-header-key": "X-Client-Cert",
        "deployment-tls-offload-engine-hosts": ["127.0.0.1"]
    });
    instance["security-policy-validated-token-config"] = json!([
        {"validatedTokenType": "USERNAME", "invalidateInterimOpenAMSession": true},
        {"validatedTokenType": "OPENIDCONNECT", "invalidateInterimOpenAMSession": true},
        {"validatedTokenType": "SAML2", "invalidateInterimOpenAMSession": true},
        {"validatedTokenType": "X509", "invalidateInterimOpenAMSession": true}
    ]);
    instance["issued-token-types"] = json!(["SAML2", "OPENIDCONNECT"]);
    instance["oidc-trusted-issuers"] = json!([{
        "issuer": "https://op.example.com", "audience": ["sts"], "algorithms": ["RS256"],
        "jwks": {"keys": [jwk]}
    }]);
    instance["saml2-trusted-issuers"] = json!([{
        "issuer": "https://idp.example.com/saml", "certificate": "idp-saml", "audience": "urn:sts"
    }]);
    instance["x509-trust-anchors"] = json!(["client-ca"]);
    instance["oidc-id-token-config"] = json!({
        "oidc-issuer": OIDC_ISSUER, "oidc-audience": ["rp-1"], "oidc-signature-algorithm": "RS256",
        "oidc-token-lifetime-seconds": "300"
    });
    let s = start_with(Opts {
        files: vec![
            ("keys/idp-saml.crt.pem".into(), idp_cert),
            ("keys/client-ca.crt.pem".into(), pki.ca_pem()),
        ],
        instances: vec![("soap-matrix.json".into(), instance)],
        ..Default::default()
    });
    let soap = |security: &str, rst: &str, extra: &[(&str, &str)]| {
        let mut headers = vec![
            ("Content-Type", "text/xml; charset=utf-8"),
            (
                "SOAPAction",
                "\"http://docs.oasis-open.org/ws-sx/ws-trust/200512/RST/Issue\"",
            ),
        ];
        headers.extend_from_slice(extra);
        s.post(
            "/sts/soap-matrix",
            &headers,
            envelope(SOAP11, security, rst),
        )
    };
    let bst = |value_type: &str, content: &str| {
        format!(
            "<wsse:BinarySecurityToken xmlns:wsse=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd\" ValueType=\"{value_type}\" EncodingType=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary\">{content}</wsse:BinarySecurityToken>"
        )
    };
    let jwt_bst = |jwt: &str| bst("urn:ietf:params:oauth:token-type:jwt", &b64.encode(jwt));

    // OPENIDCONNECT in (a JWT BinarySecurityToken) -> SAML2.
    let now = wall_clock().timestamp();
    let id_token = pyjwt_sign(
        "RS256",
        &op_pem,
        &json!({"iss": "https://op.example.com", "aud": "sts", "sub": "alice", "iat": now, "exp": now + 300}),
        "op-1",
    );
    let r = soap(&jwt_bst(&id_token), RST_ISSUE, &[]);
    assert_eq!(r.status, 200, "{}", r.body);
    let a = r.assertion_text();
    assert!(a.contains(">alice</saml2:NameID>"), "{a}");
    assert!(a.contains("ac:classes:unspecified"), "{a}");
    let (ok, out) = xmlsec1_verify(&a, &s.cert("sts-signing"));
    assert!(ok, "xmlsec1: {out}");
    let stale = pyjwt_sign(
        "RS256",
        &op_pem,
        &json!({"iss": "https://op.example.com", "aud": "sts", "sub": "alice", "iat": now - 900, "exp": now - 600}),
        "op-1",
    );
    let r = soap(&jwt_bst(&stale), RST_ISSUE, &[]);
    assert_eq!(r.fault_code(), "wst:FailedAuthentication", "{}", r.body);
    assert!(r.body.contains("expired"), "{}", r.body);

    // SAML2 in (the IdP's assertion in the Security header) -> SAML2.
    let assertion = idp_assertion(&idp, "alice", "urn:sts", (-60, 300));
    let r = soap(&assertion, RST_ISSUE, &[]);
    assert_eq!(r.status, 200, "{}", r.body);
    let a = r.assertion_text();
    assert!(a.contains(">alice</saml2:NameID>"), "{a}");
    assert!(a.contains("<saml2:Issuer>"), "{a}");
    assert!(
        !a.contains("idp.example.com"),
        "our assertion, not the IdP's: {a}"
    );
    // Used once only.
    let r = soap(&assertion, RST_ISSUE, &[]);
    assert_eq!(r.fault_code(), "wst:FailedAuthentication", "{}", r.body);
    assert!(r.body.contains("already used"), "{}", r.body);
    // Tampered, wrong audience, expired, from an untrusted signer, wrapped: each refused.
    let tampered = idp_assertion(&idp, "alice", "urn:sts", (-60, 300))
        .replace(">alice</saml2:NameID>", ">bob</saml2:NameID>");
    let (stranger_key, stranger_cert) =
        sts::crypto::new_key_pair("stranger", sts::crypto::KeyKind::Rsa, wall_clock()).unwrap();
    let stranger = sts::crypto::SigningKey::new(
        "stranger",
        sts::crypto::KeyKind::Rsa,
        sts::secret::Secret::new(stranger_key),
        stranger_cert,
        None,
    )
    .unwrap();
    let genuine = idp_assertion(&idp, "alice", "urn:sts", (-60, 300));
    // Signature wrapping: the signed assertion moved into an unsigned one naming someone else.
    let wrapped = format!(
        "<saml2:Assertion xmlns:saml2=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"_evil\" Version=\"2.0\" IssueInstant=\"2026-01-01T00:00:00Z\"><saml2:Issuer>https://idp.example.com/saml</saml2:Issuer><saml2:Advice>{genuine}</saml2:Advice><saml2:Subject><saml2:NameID>bob</saml2:NameID></saml2:Subject></saml2:Assertion>"
    );
    for (token, needle) in [
        (tampered, "signature"),
        (
            idp_assertion(&idp, "alice", "urn:elsewhere", (-60, 300)),
            "audience",
        ),
        (
            idp_assertion(&idp, "alice", "urn:sts", (-900, -600)),
            "expired",
        ),
        (
            idp_assertion(&stranger, "alice", "urn:sts", (-60, 300)),
            "signature",
        ),
        (wrapped, "signature"),
    ] {
        let r = soap(&token, RST_ISSUE, &[]);
        assert_eq!(
            r.fault_code(),
            "wst:FailedAuthentication",
            "{needle}: {}",
            r.body
        );
        assert!(r.body.contains(needle), "`{needle}` not in {}", r.body);
    }

    // X509 in, from the TLS offload engine's header -> an id_token in a BinarySecurityToken.
    let pem = std::fs::read_to_string(&alice_cert.0).unwrap();
    let der: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let rst_jwt =
        format!("{RST_ISSUE}<wst:TokenType>urn:ietf:params:oauth:token-type:jwt</wst:TokenType>");
    let r = soap("", &rst_jwt, &[("X-Client-Cert", &der)]);
    assert_eq!(r.status, 200, "{}", r.body);
    let open = "<wsse:BinarySecurityToken xmlns:wsse=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd\" ValueType=\"urn:ietf:params:oauth:token-type:jwt\" EncodingType=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary\">";
    let start = r
        .body
        .find(open)
        .unwrap_or_else(|| panic!("no JWT token: {}", r.body))
        + open.len();
    let end = start + r.body[start..].find('<').unwrap();
    let jwt = String::from_utf8(b64.decode(&r.body[start..end]).unwrap()).unwrap();
    assert!(!r.body.contains("RequestedAttachedReference"), "{}", r.body);
    let (ok, out) = pyjwt_verify(&s, &jwt, "RS256", &s.cert("sts-signing"));
    assert!(ok, "PyJWT: {out}");
    assert!(out.contains("\"sub\": \"alice\""), "{out}");
    assert!(out.contains("\"amr\": [\"pop\"]"), "{out}");

    // Validate takes the id_token back in a BinarySecurityToken.
    let validate = format!(
        "<wst:RequestType>http://docs.oasis-open.org/ws-sx/ws-trust/200512/Validate</wst:RequestType><wst:TokenType>http://docs.oasis-open.org/ws-sx/ws-trust/200512/RSTR/Status</wst:TokenType><wst:ValidateTarget>{}</wst:ValidateTarget>",
        jwt_bst(&jwt)
    );
    let r = s.post(
        "/sts/soap-matrix",
        &[
            ("Content-Type", "text/xml; charset=utf-8"),
            (
                "SOAPAction",
                "\"http://docs.oasis-open.org/ws-sx/ws-trust/200512/RST/Validate\"",
            ),
        ],
        envelope(SOAP11, &username_digest("alice", "s3cret"), &validate)
            .replace("RST/Issue", "RST/Validate"),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("status/valid"), "{}", r.body);

    // An X.509 BinarySecurityToken without a message signature proves nothing: refused.
    let r = soap(
        &bst(
            "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3",
            &der,
        ),
        RST_ISSUE,
        &[],
    );
    assert_eq!(r.fault_code(), "wst:FailedAuthentication", "{}", r.body);
    assert!(r.body.contains("needs a ds:Signature"), "{}", r.body);
}

#[test]
fn eddsa_id_tokens_of_trusted_issuers_are_accepted() {
    use base64::Engine as _;
    let b64url = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    let s = start();
    let admin = s.login("amadmin", ADMIN_PASSWORD);
    let ed = openssl::pkey::PKey::generate_ed25519().unwrap();
    let ed_pem = s.dir.path().join("ed.pem");
    std::fs::write(&ed_pem, ed.private_key_to_pem_pkcs8().unwrap()).unwrap();
    let jwk = json!({"kty": "OKP", "crv": "Ed25519", "kid": "ed-1",
                     "x": b64url(&ed.raw_public_key().unwrap())});
    let mut st = rest_instance("eddsa-in", false);
    st["supported-token-transforms"] = json!([
        {"inputTokenType": "OPENIDCONNECT", "outputTokenType": "SAML2", "invalidateInterimOpenAMSession": true}
    ]);
    st["oidc-trusted-issuers"] = json!([{
        "issuer": "https://ed.example.com", "audience": ["sts"], "algorithms": ["EdDSA"],
        "jwks": {"keys": [jwk]}
    }]);
    let r = publish(&s, &admin, "rest", &st);
    assert_eq!(r.status, 201, "{}", r.body);
    let now = wall_clock().timestamp();
    let claims = json!({"iss": "https://ed.example.com", "aud": "sts", "sub": "alice", "iat": now, "exp": now + 300});
    let token = pyjwt_sign("EdDSA", &ed_pem, &claims, "ed-1");
    let translate = |t: &str| {
        call(
            &s,
            &admin,
            "eddsa-in",
            "translate",
            &json!({"input_token_state": {"token_type": "OPENIDCONNECT", "oidc_id_token": t},
                    "output_token_state": {"token_type": "SAML2", "subject_confirmation": "BEARER"}}),
        )
    };
    let a = issued(&translate(&token));
    assert!(a.contains(">alice</saml2:NameID>"), "{a}");
    // A flipped signature byte, and another key's signature, are refused.
    let mut bad = token.clone().into_bytes();
    let last = bad.len() - 3;
    bad[last] = if bad[last] == b'A' { b'B' } else { b'A' };
    expect_error(
        &translate(std::str::from_utf8(&bad).unwrap()),
        401,
        "signature",
    );
    let other = openssl::pkey::PKey::generate_ed25519().unwrap();
    let other_pem = s.dir.path().join("other.pem");
    std::fs::write(&other_pem, other.private_key_to_pem_pkcs8().unwrap()).unwrap();
    expect_error(
        &translate(&pyjwt_sign("EdDSA", &other_pem, &claims, "ed-1")),
        401,
        "signature",
    );
    // An EdDSA issuer without an OKP key cannot be published.
    st["deployment-config"]["deployment-url-element"] = "eddsa-nokey".into();
    st["oidc-trusted-issuers"][0]["jwks"] = json!({"keys": []});
    expect_error(
        &publish(&s, &admin, "rest", &st),
        400,
        "no key can verify EdDSA",
    );
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

    let now = wall_clock().timestamp();
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
    // `good` has no jti: it is accepted once, by its signed content; the same claims signed
    // at another instant are another token.
    expect_error(&translate(&good, oidc_out("n-1")), 401, "already used");
    let again = pyjwt_sign(
        "RS256",
        &idp_pem,
        &claims(&|c| c["iat"] = json!(now - 1)),
        "idp-1",
    );
    let jwt = issued(&translate(&again, oidc_out("n-1")));
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
