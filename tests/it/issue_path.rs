//! The issue path end to end: principals with control characters are refused wherever they
//! come from, log lines cannot be forged, a successful request logs no error and a token that
//! cannot be stored is withheld, and key types are the engine's rule for every front end.

use serde_json::{Value, json};

use crate::common::*;

const FORGED: &str = "1999-01-01T00:00:00.000000Z  INFO sts::engine: FORGED";

/// A persisting SOAP instance taking id_tokens and assertions of the test issuers.
fn federated_soap(element: &str) -> Value {
    let mut i = persisting_instance(element, true);
    i["security-policy-validated-token-config"] = json!([
        {"validatedTokenType": "OPENIDCONNECT", "invalidateInterimOpenAMSession": true},
        {"validatedTokenType": "SAML2", "invalidateInterimOpenAMSession": true}
    ]);
    i["oidc-trusted-issuers"] = trusted_op();
    i["saml2-trusted-issuers"] = json!([{
        "issuer": "https://idp.example.com/saml", "certificate": "idp-saml", "audience": "urn:sts"
    }]);
    i
}

/// A persisting REST instance taking id_tokens of the test issuer.
fn federated_rest(element: &str) -> Value {
    let mut r = rest_instance(element, true);
    r["oidc-trusted-issuers"] = trusted_op();
    r["supported-token-transforms"] = json!([
        {"inputTokenType": "OPENIDCONNECT", "outputTokenType": "SAML2", "invalidateInterimOpenAMSession": true},
        {"inputTokenType": "USERNAME", "outputTokenType": "SAML2", "invalidateInterimOpenAMSession": true}
    ]);
    r
}

fn soap_issue(base: &str, element: &str, security: &str) -> reqwest::blocking::Response {
    reqwest::blocking::Client::new()
        .post(format!("{base}/sts/{element}"))
        .header("Content-Type", "text/xml; charset=utf-8")
        .header("SOAPAction", format!("\"{ISSUE_ACTION}\""))
        .body(envelope(SOAP11, security, RST_ISSUE))
        .send()
        .unwrap()
}

fn rest_translate(base: &str, element: &str, input: Value) -> reqwest::blocking::Response {
    reqwest::blocking::Client::new()
        .post(format!("{base}/rest-sts/{element}?_action=translate"))
        .header("Content-Type", "application/json")
        .body(
            json!({"input_token_state": input,
                   "output_token_state": {"token_type": "SAML2", "subject_confirmation": "BEARER"}})
            .to_string(),
        )
        .send()
        .unwrap()
}

fn stored_tokens(s: &TestServer) -> Vec<sts::store::TokenInfo> {
    s.store()
        .query_tokens(&sts::store::Filter::True, 100, None)
        .unwrap()
        .items
}

#[test]
fn principals_with_control_characters_are_refused_and_nothing_is_issued() {
    let (idp, idp_cert) = saml_idp();
    let s = start_with(Opts {
        files: vec![
            ("keys/idp-saml.crt.pem".into(), idp_cert),
            (
                "instances/rest/rest-fed.json".into(),
                serde_json::to_vec(&federated_rest("rest-fed")).unwrap(),
            ),
        ],
        instances: vec![("soap-fed.json".into(), federated_soap("soap-fed"))],
        rest_sts_caller: Some(sts::config::RestCaller::Anyone),
        ..Default::default()
    });
    // The same inputs with a plain principal are issued (and stored): the refusals below are
    // about the principal only.
    let r = Reply::from(soap_issue(
        &s.base,
        "soap-fed",
        &jwt_bst(&op_id_token("alice")),
    ));
    assert_eq!(r.status, 200, "{}", r.body);
    let r = Reply::from(soap_issue(
        &s.base,
        "soap-fed",
        &idp_assertion(&idp, "alice", "urn:sts", (-60, 300)),
    ));
    assert_eq!(r.status, 200, "{}", r.body);
    let r = Reply::from(rest_translate(
        &s.base,
        "rest-fed",
        json!({"token_type": "OPENIDCONNECT", "oidc_id_token": op_id_token("alice")}),
    ));
    assert_eq!(r.status, 200, "{}", r.body);
    let before = stored_tokens(&s).len();
    assert_eq!(before, 3);

    for sub in [
        format!("alice\n{FORGED}"),
        format!("alice\r{FORGED}"),
        "ali\u{0}ce".to_owned(),
        "ali\u{1b}[31mce".to_owned(),
        "ali\u{85}ce".to_owned(),
        "ali\u{7f}ce".to_owned(),
    ] {
        let r = Reply::from(soap_issue(
            &s.base,
            "soap-fed",
            &jwt_bst(&op_id_token(&sub)),
        ));
        assert_eq!(
            r.fault_code(),
            "wst:FailedAuthentication",
            "{sub:?}: {}",
            r.body
        );
        assert!(r.body.contains("control character"), "{sub:?}: {}", r.body);
        assert!(!r.body.contains("FORGED"), "{}", r.body);
        let r = Reply::from(rest_translate(
            &s.base,
            "rest-fed",
            json!({"token_type": "OPENIDCONNECT", "oidc_id_token": op_id_token(&sub)}),
        ));
        expect_error(&r, 401, "control character");
    }
    // A SAML NameID with a carriage return (written &#xD;, its canonical form, signed by the
    // trusted IdP).
    let assertion = idp_assertion(&idp, &format!("alice\r{FORGED}"), "urn:sts", (-60, 300));
    assert!(assertion.contains("&#xD;"), "{assertion}");
    let r = Reply::from(soap_issue(&s.base, "soap-fed", &assertion));
    assert_eq!(r.fault_code(), "wst:FailedAuthentication", "{}", r.body);
    assert!(r.body.contains("control character"), "{}", r.body);
    // A UsernameToken whose username holds a control character cannot name a user (names
    // are letters, digits and .-_@), so it fails like any wrong credential.
    let r = s.post_soap11(&envelope(
        SOAP11,
        &username_text("demo&#10;FORGED", DEMO_PASSWORD),
        RST_ISSUE,
    ));
    assert_eq!(r.fault_code(), "wst:FailedAuthentication", "{}", r.body);
    assert_eq!(stored_tokens(&s).len(), before, "a token was issued");
}

fn prepared_dir(files: &[(&str, Vec<u8>)]) -> tempfile::TempDir {
    let dir = bootstrapped_dir();
    for (name, bytes) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
    dir
}

#[test]
fn client_text_cannot_forge_server_log_lines() {
    let (idp, idp_cert) = saml_idp();
    let dir = prepared_dir(&[
        ("keys/idp-saml.crt.pem", idp_cert),
        (
            "instances/soap/soap-fed.json",
            serde_json::to_vec(&federated_soap("soap-fed")).unwrap(),
        ),
        (
            "instances/rest/rest-fed.json",
            serde_json::to_vec(&federated_rest("rest-fed")).unwrap(),
        ),
    ]);
    let s = LoggedServer::start(
        dir.path(),
        &["--data-dir", "."],
        &[("STS_REST_STS_CALLER", "anyone"), ("STS_LOG", "info")],
    );
    let forged_sub = format!("alice\n{FORGED}");
    let r = soap_issue(&s.base, "soap-fed", &jwt_bst(&op_id_token(&forged_sub)));
    assert_eq!(r.status().as_u16(), 500);
    let r = soap_issue(
        &s.base,
        "soap-fed",
        &idp_assertion(&idp, &format!("alice\r\n{FORGED}"), "urn:sts", (-60, 300)),
    );
    assert_eq!(r.status().as_u16(), 500);
    let r = rest_translate(
        &s.base,
        "rest-fed",
        json!({"token_type": "OPENIDCONNECT", "oidc_id_token": op_id_token(&forged_sub)}),
    );
    assert_eq!(r.status().as_u16(), 401);
    // A username with line breaks (it names no user).
    let r = reqwest::blocking::Client::new()
        .post(format!("{}/sts/{INSTANCE}", s.base))
        .header("Content-Type", "text/xml; charset=utf-8")
        .header("SOAPAction", format!("\"{ISSUE_ACTION}\""))
        .body(envelope(
            SOAP11,
            &username_text(&format!("x&#10;{FORGED}&#13;"), "pw"),
            RST_ISSUE,
        ))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 500);
    let log = s.stop();
    assert!(
        log.contains("FailedAuthentication"),
        "the refusals are logged: {log}"
    );
    for line in log.lines() {
        assert!(
            !line.starts_with("1999-01-01") && !line.contains("\u{1b}"),
            "forged or coloured line in the log: {line:?}\n{log}"
        );
    }
}

#[test]
fn successful_persisting_requests_log_no_error() {
    let dir = prepared_dir(&[
        (
            "instances/soap/soap-p.json",
            serde_json::to_vec(&persisting_instance("soap-p", true)).unwrap(),
        ),
        (
            "instances/rest/rest-p.json",
            serde_json::to_vec(&federated_rest("rest-p")).unwrap(),
        ),
    ]);
    let s = LoggedServer::start(
        dir.path(),
        &["--data-dir", "."],
        &[("STS_REST_STS_CALLER", "anyone"), ("STS_LOG", "info")],
    );
    let r = soap_issue(&s.base, "soap-p", &username_text("demo", DEMO_PASSWORD));
    assert_eq!(r.status().as_u16(), 200);
    let r = rest_translate(
        &s.base,
        "rest-p",
        json!({"token_type": "USERNAME", "username": "demo", "password": DEMO_PASSWORD}),
    );
    assert_eq!(r.status().as_u16(), 200);
    let log = s.stop();
    assert!(log.contains("issued"), "{log}");
    assert!(log.contains("translated USERNAME to SAML2"), "{log}");
    assert!(
        !log.lines().any(|l| l.contains("ERROR")),
        "a successful request logged an error:\n{log}"
    );
}

#[test]
fn a_token_that_cannot_be_stored_is_withheld() {
    let s = start_with(Opts {
        instances: vec![("soap-p.json".into(), persisting_instance("soap-p", true))],
        files: vec![(
            "instances/rest/rest-p.json".into(),
            serde_json::to_vec(&federated_rest("rest-p")).unwrap(),
        )],
        rest_sts_caller: Some(sts::config::RestCaller::Anyone),
        ..Default::default()
    });
    let ok = Reply::from(soap_issue(
        &s.base,
        "soap-p",
        &username_text("demo", DEMO_PASSWORD),
    ));
    assert_eq!(ok.status, 200, "{}", ok.body);
    // From now on every token insert fails, as on a full or broken disk.
    let db = rusqlite::Connection::open(s.dir.path().join("sts.db")).unwrap();
    db.busy_timeout(std::time::Duration::from_secs(30)).unwrap();
    db.execute_batch(
        "CREATE TRIGGER refuse_tokens BEFORE INSERT ON tokens BEGIN SELECT RAISE(ABORT, 'disk on fire'); END;",
    )
    .unwrap();
    let r = Reply::from(soap_issue(
        &s.base,
        "soap-p",
        &username_text("demo", DEMO_PASSWORD),
    ));
    assert_eq!(r.fault_code(), "wst:RequestFailed", "{}", r.body);
    assert!(!r.body.contains("Assertion"), "{}", r.body);
    assert!(!r.body.contains("disk on fire"), "{}", r.body);
    let r = Reply::from(rest_translate(
        &s.base,
        "rest-p",
        json!({"token_type": "USERNAME", "username": "demo", "password": DEMO_PASSWORD}),
    ));
    assert_eq!(r.status, 500, "{}", r.body);
    assert!(r.json().get("issued_token").is_none(), "{}", r.body);
    assert_eq!(stored_tokens(&s).len(), 1);
}

#[test]
fn id_tokens_are_bearer_tokens_whoever_asks_the_engine() {
    let dir = bootstrapped_dir();
    let mut i = persisting_instance("soap-oidc", false);
    i["issued-token-types"] = json!(["SAML2", "OPENIDCONNECT"]);
    i["oidc-id-token-config"] = json!({
        "oidc-issuer": "https://sts.example.com/oidc", "oidc-audience": ["rp-1"],
        "oidc-signature-algorithm": "RS256", "oidc-token-lifetime-seconds": "300"
    });
    std::fs::write(
        dir.path().join("instances/soap/soap-oidc.json"),
        serde_json::to_vec(&i).unwrap(),
    )
    .unwrap();
    let cfg = sts::config::Config {
        data_dir: dir.path().to_owned(),
        ..Default::default()
    };
    let state = sts::build_state(&cfg, std::sync::Arc::new(sts::clock::SystemClock)).unwrap();
    let instance = state.publisher.instance("soap-oidc").unwrap();
    let principal = state
        .engine
        .authenticate_for(
            &instance,
            &sts::engine::Credential::PasswordText {
                username: "demo".into(),
                password: sts::secret::Secret::new(DEMO_PASSWORD.into()),
                nonce: None,
                created: None,
                source: None,
            },
        )
        .unwrap();
    use sts::engine::{EngineError, IssueRequest, KeyType, ProofCertificate};
    use sts::instance::TokenType;
    let bearer = IssueRequest::new(TokenType::OpenIdConnect);
    assert!(state.engine.issue(&instance, &principal, &bearer).is_ok());
    let cert = ProofCertificate::from_base64(&client_cert_b64(-1, 30), state.engine.now()).unwrap();
    for key_type in [
        KeyType::PublicKey(cert),
        KeyType::SenderVouches,
        KeyType::Symmetric(sts::wstrust::proof::SymmetricRequest {
            requestor_entropy: None,
            bits: 256,
        }),
    ] {
        let mut req = IssueRequest::new(TokenType::OpenIdConnect);
        req.key_type = key_type.clone();
        match state.engine.issue(&instance, &principal, &req) {
            Err(EngineError::Unsupported(m)) => assert!(m.contains("bearer"), "{m}"),
            other => panic!("{key_type:?}: {other:?}"),
        }
    }
}
