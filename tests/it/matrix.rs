//! Every cell of the token matrix: front end x input x output (x confirmation).

use serde_json::json;

use crate::common::*;

/// Every cell of the token matrix, front end x input x output (x confirmation), on one
/// server: each issued assertion is verified by xmlsec1 and each id_token by PyJWT, and
/// each names alice.
#[test]
fn every_cell_of_the_token_matrix() {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let work = tempfile::tempdir().unwrap();
    let (op_pem, jwk) = openid_provider(work.path());
    let (idp, idp_cert) = saml_idp();
    let (_, sp_cert) = relying_party(work.path());
    let pki = Pki::new("Test Client CA");
    let alice_cert = pki.issue("alice", "alice", 51, (-1, 30), false);
    let alice_der = {
        let pem = std::fs::read(&alice_cert.0).unwrap();
        b64.encode(
            openssl::x509::X509::from_pem(&pem)
                .unwrap()
                .to_der()
                .unwrap(),
        )
    };
    let proof_cert = client_cert_b64(-1, 30);

    let deployment = |element: &str| {
        json!({"deployment-url-element": element, "deployment-realm": "/",
               "deployment-offloaded-two-way-tls-header-key": "X-Client-Cert",
               "deployment-tls-offload-engine-hosts": ["127.0.0.1"]})
    };
    let trusted_op = json!([{"issuer": "https://op.example.com", "audience": ["sts"], "algorithms": ["RS256"], "jwks": {"keys": [jwk]}}]);
    let mut rest = rest_instance("matrix-rest", false);
    rest["deployment-config"] = deployment("matrix-rest");
    rest["oidc-trusted-issuers"] = trusted_op.clone();
    rest["x509-trust-anchors"] = json!(["client-ca"]);
    let mut transforms = Vec::new();
    for input in ["USERNAME", "OPENAM", "X509", "OPENIDCONNECT"] {
        for output in ["SAML2", "OPENIDCONNECT"] {
            transforms.push(json!({"inputTokenType": input, "outputTokenType": output, "invalidateInterimOpenAMSession": true}));
        }
    }
    rest["supported-token-transforms"] = json!(transforms);
    let mut soap_i = sts::datadir::demo_instance();
    soap_i["deployment-config"] = deployment("matrix-soap");
    soap_i["security-policy-validated-token-config"] = json!(
        ["USERNAME", "OPENAM", "OPENIDCONNECT", "SAML2", "X509"]
            .iter()
            .map(|t| json!({"validatedTokenType": t, "invalidateInterimOpenAMSession": true}))
            .collect::<Vec<_>>()
    );
    soap_i["issued-token-types"] = json!(["SAML2", "OPENIDCONNECT"]);
    soap_i["oidc-trusted-issuers"] = trusted_op;
    soap_i["saml2-trusted-issuers"] = json!([{"issuer": "https://idp.example.com/saml", "certificate": "idp-saml", "audience": ["urn:sts"]}]);
    soap_i["x509-trust-anchors"] = json!(["client-ca"]);
    soap_i["saml2-config"]["saml2-encryption-key-alias"] = "sp-enc".into();
    soap_i["oidc-id-token-config"] = rest["oidc-id-token-config"].clone();
    let s = start_with(Opts {
        files: vec![
            ("keys/idp-saml.crt.pem".into(), idp_cert),
            ("keys/client-ca.crt.pem".into(), pki.ca_pem()),
            ("keys/sp-enc.crt.pem".into(), sp_cert),
            (
                "instances/rest/matrix-rest.json".into(),
                serde_json::to_vec(&rest).unwrap(),
            ),
        ],
        instances: vec![("matrix-soap.json".into(), soap_i)],
        public_base_url: Some("https://sts.example.com".into()),
        ..Default::default()
    });
    let admin = s.login("amadmin", ADMIN_PASSWORD);
    let now = wall_clock().timestamp();
    // One id_token per cell: an id_token is accepted once (without jti, by its signed claims).
    let id_token = |cell: &str| {
        pyjwt_sign(
            "RS256",
            &op_pem,
            &json!({"iss": "https://op.example.com", "aud": "sts", "sub": "alice", "iat": now,
                    "exp": now + 600, "nonce": cell}),
            "op-1",
        )
    };
    let sts_cert = s.cert("sts-signing");
    let check_saml = |cell: &str, a: &str, method: &str| {
        assert!(a.contains(">alice</saml2:NameID>"), "{cell}: {a}");
        assert!(
            a.contains(&format!(
                "Method=\"urn:oasis:names:tc:SAML:2.0:cm:{method}\""
            )),
            "{cell}: {a}"
        );
        let (ok, out) = xmlsec1_verify(a, &sts_cert);
        assert!(ok, "{cell}: xmlsec1: {out}");
    };
    let check_jwt = |cell: &str, jwt: &str| {
        let (ok, out) = pyjwt_verify(&s, jwt, "RS256", &sts_cert);
        assert!(ok, "{cell}: PyJWT: {out}");
        assert!(out.contains("\"sub\": \"alice\""), "{cell}: {out}");
    };
    let mut cells = 0;

    // REST: USERNAME, OPENAM, X509, OPENIDCONNECT x SAML2 (three confirmations), OPENIDCONNECT.
    for input in ["USERNAME", "OPENAM", "X509", "OPENIDCONNECT"] {
        for output in ["BEARER", "SENDER_VOUCHES", "HOLDER_OF_KEY", "OPENIDCONNECT"] {
            let cell = format!("REST {input} -> {output}");
            let input_state = match input {
                "USERNAME" => {
                    json!({"token_type": "USERNAME", "username": "alice", "password": "s3cret"})
                }
                "OPENAM" => {
                    json!({"token_type": "OPENAM", "session_id": s.login("alice", "s3cret")})
                }
                "X509" => json!({"token_type": "X509"}),
                _ => json!({"token_type": "OPENIDCONNECT", "oidc_id_token": id_token(&cell)}),
            };
            let output_state = match output {
                "OPENIDCONNECT" => oidc_out("n"),
                "HOLDER_OF_KEY" => json!({"token_type": "SAML2", "subject_confirmation": output,
                                          "proof_token_state": {"base64EncodedCertificate": proof_cert}}),
                _ => json!({"token_type": "SAML2", "subject_confirmation": output}),
            };
            let r = s.request(
                "POST",
                "/rest-sts/matrix-rest?_action=translate",
                &[
                    ("iPlanetDirectoryPro", &admin),
                    ("Content-Type", "application/json"),
                    ("X-Client-Cert", &alice_der),
                ],
                &json!({"input_token_state": input_state, "output_token_state": output_state})
                    .to_string(),
            );
            // The certificate header only counts for X509 input; other inputs ignore it.
            assert_eq!(r.status, 200, "{cell}: {}", r.body);
            let token = r.json()["issued_token"].as_str().unwrap().to_owned();
            match output {
                "OPENIDCONNECT" => check_jwt(&cell, &token),
                "BEARER" => check_saml(&cell, &token, "bearer"),
                "SENDER_VOUCHES" => check_saml(&cell, &token, "sender-vouches"),
                _ => check_saml(&cell, &token, "holder-of-key"),
            }
            cells += 1;
        }
    }

    // SOAP: UsernameToken (text, digest), OpenAM session, id_token, assertion, signed X.509
    // token, offloaded certificate x bearer, public-key and symmetric-key holder-of-key
    // assertions, and id_tokens.
    let sym =
        "<wst:KeyType>http://docs.oasis-open.org/ws-sx/ws-trust/200512/SymmetricKey</wst:KeyType>";
    let public = format!(
        "<wst:KeyType>http://docs.oasis-open.org/ws-sx/ws-trust/200512/PublicKey</wst:KeyType><wst:UseKey><ds:KeyInfo xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"><ds:X509Data><ds:X509Certificate>{alice_der}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></wst:UseKey>"
    );
    let jwt_type = "<wst:TokenType>urn:ietf:params:oauth:token-type:jwt</wst:TokenType>";
    for input in [
        "PasswordText",
        "PasswordDigest",
        "OPENAM",
        "OPENIDCONNECT",
        "SAML2",
        "X509 token",
        "X509 offload",
    ] {
        for output in ["bearer", "public key", "symmetric key", "OPENIDCONNECT"] {
            let cell = format!("SOAP {input} -> {output}");
            let extra = match output {
                "bearer" => String::new(),
                "public key" => public.clone(),
                "symmetric key" => sym.to_owned(),
                _ => jwt_type.to_owned(),
            };
            let mut headers: Vec<(&str, String)> = vec![
                ("Content-Type", "text/xml; charset=utf-8".into()),
                ("SOAPAction", format!("\"{ISSUE_ACTION}\"")),
            ];
            let body = match input {
                "X509 token" => wss_signed_rst(
                    &alice_cert.0,
                    &alice_cert.1,
                    &["Body-1", "TS-1"],
                    "",
                    &extra,
                ),
                _ => {
                    let security = match input {
                        "PasswordText" => username_text("alice", "s3cret"),
                        "PasswordDigest" => username_digest("alice", "s3cret"),
                        "OPENAM" => format!(
                            "<wsse:BinarySecurityToken ValueType=\"http://schemas.forgerock.org/ws/securitypolicy#OpenAMSessionToken\">{}</wsse:BinarySecurityToken>",
                            s.login("alice", "s3cret")
                        ),
                        "OPENIDCONNECT" => format!(
                            "<wsse:BinarySecurityToken ValueType=\"urn:ietf:params:oauth:token-type:jwt\">{}</wsse:BinarySecurityToken>",
                            id_token(&cell)
                        ),
                        "SAML2" => idp_assertion(&idp, "alice", "urn:sts", (-60, 300)),
                        _ => {
                            headers.push(("X-Client-Cert", alice_der.clone()));
                            String::new()
                        }
                    };
                    envelope(SOAP11, &security, &format!("{RST_ISSUE}{extra}"))
                }
            };
            // The UseKey certificate is proven by the message signature (X509 token), else
            // by the client certificate of the TLS offload engine.
            if output == "public key" && !input.starts_with("X509") {
                headers.push(("X-Client-Cert", alice_der.clone()));
            }
            let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let r = s.post("/sts/matrix-soap", &h, body);
            assert_eq!(r.status, 200, "{cell}: {}", r.body);
            match output {
                "OPENIDCONNECT" => {
                    let jwt = String::from_utf8(
                        b64.decode(text_of(&r.body, "<wsse:BinarySecurityToken"))
                            .unwrap(),
                    )
                    .unwrap();
                    check_jwt(&cell, &jwt);
                }
                "bearer" => check_saml(&cell, &r.assertion_text(), "bearer"),
                "public key" => {
                    let a = r.assertion_text();
                    assert!(a.contains(&alice_der), "{cell}: {a}");
                    check_saml(&cell, &a, "holder-of-key");
                }
                _ => {
                    let a = r.assertion_text();
                    assert!(a.contains("<xenc:EncryptedKey"), "{cell}: {a}");
                    assert!(
                        r.body.contains("<wst:RequestedProofToken>"),
                        "{cell}: {}",
                        r.body
                    );
                    check_saml(&cell, &a, "holder-of-key");
                }
            }
            cells += 1;
        }
    }
    assert_eq!(cells, 16 + 28);
    // A UseKey certificate other than the one proven is not bound to the assertion.
    let r = s.post(
        "/sts/matrix-soap",
        &[
            ("Content-Type", "text/xml; charset=utf-8"),
            ("SOAPAction", &format!("\"{ISSUE_ACTION}\"")),
            ("X-Client-Cert", &alice_der),
        ],
        envelope(
            SOAP11,
            &username_text("alice", "s3cret"),
            &format!("{RST_ISSUE}{}", public.replace(&alice_der, &proof_cert)),
        ),
    );
    assert_eq!(r.fault_code(), "wst:FailedAuthentication", "{}", r.body);
    assert!(r.body.contains("possession"), "{}", r.body);
    let r = s.post(
        "/sts/matrix-soap",
        &[
            ("Content-Type", "text/xml; charset=utf-8"),
            ("SOAPAction", &format!("\"{ISSUE_ACTION}\"")),
        ],
        wss_signed_rst(
            &alice_cert.0,
            &alice_cert.1,
            &["Body-1", "TS-1"],
            "",
            &public.replace(&alice_der, &proof_cert),
        ),
    );
    assert_eq!(r.fault_code(), "wst:FailedAuthentication", "{}", r.body);
}
