//! X.509 input: client certificates from TLS and from a TLS offload engine, and SOAP requests
//! signed the WS-Security way with an X.509 token.

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

use crate::common::*;

/// A REST instance taking X509 input, trusting the CA stored as `client-ca`.
fn x509_instance(element: &str, deployment: Value) -> Value {
    let mut i = rest_instance(element, false);
    let mut d = json!({"deployment-url-element": element, "deployment-realm": "/"});
    for (k, v) in deployment.as_object().unwrap() {
        d[k] = v.clone();
    }
    i["deployment-config"] = d;
    i["x509-trust-anchors"] = json!(["client-ca"]);
    i["x509-revoked-serials"] = json!(["66"]);
    i["supported-token-transforms"] = json!([
        {"inputTokenType": "X509", "outputTokenType": "SAML2", "invalidateInterimOpenAMSession": true},
        {"inputTokenType": "X509", "outputTokenType": "OPENIDCONNECT", "invalidateInterimOpenAMSession": true}
    ]);
    i
}

fn x509_translate(out: Value) -> String {
    json!({"input_token_state": {"token_type": "X509"}, "output_token_state": out}).to_string()
}

/// POSTs over HTTPS with Python's ssl module: (status, body).
fn tls_post(
    url: &str,
    ca: &Path,
    client: Option<&(std::path::PathBuf, std::path::PathBuf)>,
    body: &str,
) -> (u16, String) {
    let mut c = Command::new("python3");
    c.arg(peers_dir().join("tls_request.py")).arg(url).arg(ca);
    match client {
        Some((crt, key)) => c.arg(crt).arg(key),
        None => c.arg("-").arg("-"),
    };
    let out = c
        .arg(body)
        .arg("Content-Type:application/json")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "tls_request.py: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (status, body) = text.split_once('\n').unwrap();
    (status.trim().parse().unwrap(), body.trim().to_owned())
}

#[test]
fn x509_client_certificates_from_tls_become_assertions_and_id_tokens() {
    let pki = Pki::new("Test Client CA");
    let other = Pki::new("Some Other CA");
    let server = pki.issue("server", "localhost", 10, (-1, 30), true);
    let alice = pki.issue("alice", "alice", 11, (-1, 30), false);
    let expired = pki.issue("expired", "alice", 12, (-30, -1), false);
    let revoked = pki.issue("revoked", "alice", 0x66, (-1, 30), false);
    let stranger = other.issue("stranger", "alice", 13, (-1, 30), false);
    let admin = pki.issue("admin", "amadmin", 14, (-1, 30), false);
    let future = pki.issue("future", "alice", 15, (1, 30), false);
    let s = start_with(Opts {
        tls: Some(server.clone()),
        rest_sts_caller: Some(sts::config::RestCaller::Anyone),
        files: vec![
            ("keys/client-ca.crt.pem".into(), pki.ca_pem()),
            (
                "instances/rest/x509.json".into(),
                serde_json::to_vec(&x509_instance("x509", json!({}))).unwrap(),
            ),
        ],
        ..Default::default()
    });
    assert!(s.base.starts_with("https://"));
    let url = s.url("/rest-sts/x509?_action=translate");
    let sv = json!({"token_type": "SAML2", "subject_confirmation": "SENDER_VOUCHES"});

    let (status, body) = tls_post(
        &url,
        &pki.ca_file(),
        Some(&alice),
        &x509_translate(sv.clone()),
    );
    assert_eq!(status, 200, "{body}");
    let token = serde_json::from_str::<Value>(&body).unwrap()["issued_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(token.contains(">alice</saml2:NameID>"), "{token}");
    assert!(token.contains("cm:sender-vouches"), "{token}");
    assert!(
        token.contains(">urn:oasis:names:tc:SAML:2.0:ac:classes:X509<"),
        "{token}"
    );
    let (ok, out) = xmlsec1_verify(&token, &s.cert("sts-signing"));
    assert!(ok, "xmlsec1: {out}");

    let (status, body) = tls_post(
        &url,
        &pki.ca_file(),
        Some(&alice),
        &x509_translate(oidc_out("x")),
    );
    assert_eq!(status, 200, "{body}");
    let jwt = serde_json::from_str::<Value>(&body).unwrap()["issued_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (ok, out) = pyjwt_verify(&s, &jwt, "RS256", &s.cert("sts-signing"));
    assert!(ok, "PyJWT: {out}");
    assert!(out.contains("\"sub\": \"alice\""), "{out}");
    assert!(out.contains("\"amr\": [\"pop\"]"), "{out}");

    // Each bad certificate is refused with its reason, as a 401.
    for (client, needle) in [
        (None, "no client certificate"),
        (Some(&stranger), "not trusted"),
        (Some(&expired), "expired"),
        (Some(&future), "not yet valid"),
        (Some(&revoked), "revoked"),
        (Some(&admin), "administrator"),
    ] {
        let (status, body) = tls_post(&url, &pki.ca_file(), client, &x509_translate(sv.clone()));
        assert_eq!(status, 401, "{needle}: {body}");
        assert!(body.contains(needle), "`{needle}` not in {body}");
    }
}

#[test]
fn x509_certificates_from_a_tls_offload_engine_are_believed_only_from_its_hosts() {
    let pki = Pki::new("Test Client CA");
    let alice = pki.issue("alice", "alice", 21, (-1, 30), false);
    let alice_pem = std::fs::read_to_string(&alice.0).unwrap();
    let s = start_with(Opts {
        files: vec![("keys/client-ca.crt.pem".into(), pki.ca_pem())],
        ..Default::default()
    });
    let admin = s.login("amadmin", ADMIN_PASSWORD);
    let header = json!({"deployment-offloaded-two-way-tls-header-key": "X-Client-Cert"});
    let mut trusted = header.clone();
    trusted["deployment-tls-offload-engine-hosts"] = json!(["127.0.0.1"]);
    let mut elsewhere = header.clone();
    elsewhere["deployment-tls-offload-engine-hosts"] = json!(["10.9.9.9"]);
    let mut dn = trusted.clone();
    dn["deployment-auth-target-mappings"] = json!({"X509": {"mapping-auth-index-type": "module", "mapping-auth-index-value": "cert",
                        "mapping-context": {"certificate-field": "subject DN"}}});
    for (element, d) in [
        ("offload", trusted),
        ("offload-elsewhere", elsewhere),
        ("offload-dn", dn),
    ] {
        let r = publish(&s, &admin, "rest", &x509_instance(element, d));
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let post = |element: &str, cert: &str| {
        s.request(
            "POST",
            &format!("/rest-sts/{element}?_action=translate"),
            &[
                ("iPlanetDirectoryPro", &admin),
                ("Content-Type", "application/json"),
                ("X-Client-Cert", cert),
            ],
            &x509_translate(json!({"token_type": "SAML2", "subject_confirmation": "BEARER"})),
        )
    };
    // nginx's $ssl_client_escaped_cert form.
    let escaped: String = alice_pem
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect();
    let token = issued(&post("offload", &escaped));
    assert!(token.contains(">alice</saml2:NameID>"), "{token}");
    let token = issued(&post("offload-dn", &escaped));
    assert!(
        token.contains(">CN=alice,O=Example</saml2:NameID>"),
        "{token}"
    );
    expect_error(
        &post("offload-elsewhere", &escaped),
        401,
        "deployment-tls-offload-engine-hosts",
    );
    expect_error(&post("offload", "garbage!"), 401, "neither PEM nor base64");
    // Without the header on plain HTTP there is no certificate at all.
    let r = call(
        &s,
        &admin,
        "offload",
        "translate",
        &serde_json::from_str(&x509_translate(
            json!({"token_type": "SAML2", "subject_confirmation": "BEARER"}),
        ))
        .unwrap(),
    );
    expect_error(&r, 401, "no client certificate");

    // X509 input without trust anchors, or with a bad mapping, is refused at publish.
    let mut no_anchor = x509_instance("x-none", json!({}));
    no_anchor
        .as_object_mut()
        .unwrap()
        .remove("x509-trust-anchors");
    no_anchor
        .as_object_mut()
        .unwrap()
        .remove("x509-revoked-serials");
    expect_error(
        &publish(&s, &admin, "rest", &no_anchor),
        400,
        "x509-trust-anchors",
    );
    let bad_map = x509_instance(
        "x-map",
        json!({"deployment-auth-target-mappings": {"X509": {"mapping-context": {"certificate-field": "serial"}}},
               "deployment-tls-offload-engine-hosts": ["not-an-ip"]}),
    );
    let r = publish(&s, &admin, "rest", &bad_map);
    expect_error(&r, 400, "certificate-field `serial`");
    assert!(r.body.contains("not-an-ip"), "{}", r.body);
}

#[test]
fn soap_x509_tokens_must_sign_the_body_and_timestamp() {
    let pki = Pki::new("Test Client CA");
    let other = Pki::new("Some Other CA");
    let alice = pki.issue("alice", "alice", 41, (-1, 30), false);
    let mallory = pki.issue("mallory", "mallory", 42, (-1, 30), false);
    let stranger = other.issue("stranger", "alice", 43, (-1, 30), false);
    let mut instance = sts::datadir::demo_instance();
    instance["deployment-config"]["deployment-url-element"] = "soap-x509".into();
    instance["security-policy-validated-token-config"] = json!([
        {"validatedTokenType": "X509", "invalidateInterimOpenAMSession": true}
    ]);
    instance["x509-trust-anchors"] = json!(["client-ca"]);
    let s = start_with(Opts {
        files: vec![("keys/client-ca.crt.pem".into(), pki.ca_pem())],
        instances: vec![("soap-x509.json".into(), instance)],
        ..Default::default()
    });
    let post = |body: &str| {
        s.post(
            "/sts/soap-x509",
            &[
                ("Content-Type", "text/xml; charset=utf-8"),
                ("SOAPAction", &format!("\"{ISSUE_ACTION}\"")),
            ],
            body.to_owned(),
        )
    };
    let good = wss_signed(&alice.0, &alice.1, &["Body-1", "TS-1"], "");
    let r = post(&good);
    assert_eq!(r.status, 200, "{}", r.body);
    let a = r.assertion_text();
    assert!(a.contains(">alice</saml2:NameID>"), "{a}");
    assert!(a.contains("ac:classes:X509"), "{a}");
    let (ok, out) = xmlsec1_verify(&a, &s.cert("sts-signing"));
    assert!(ok, "xmlsec1: {out}");

    let tampered = wss_signed(&alice.0, &alice.1, &["Body-1", "TS-1"], "").replace(
        RST_ISSUE,
        &format!("{RST_ISSUE}{}", applies_to("urn:elsewhere")),
    );
    // mallory's key signs, alice's certificate is presented.
    let swapped = {
        let by_mallory = wss_signed(&mallory.0, &mallory.1, &["Body-1", "TS-1"], "");
        let der_of = |p: &Path| {
            use base64::Engine as _;
            let pem = std::fs::read(p).unwrap();
            base64::engine::general_purpose::STANDARD.encode(
                openssl::x509::X509::from_pem(&pem)
                    .unwrap()
                    .to_der()
                    .unwrap(),
            )
        };
        by_mallory.replace(&der_of(&mallory.0), &der_of(&alice.0))
    };
    // A second element with the Body's wsu:Id, so that `#Body-1` could name either.
    let duplicate = wss_signed(
        &alice.0,
        &alice.1,
        &["Body-1", "TS-1"],
        "<x:Copy xmlns:x=\"urn:x\" wsu:Id=\"Body-1\"/>",
    );
    for (body, needle) in [
        (good.clone(), "replay"),
        (tampered, "does not verify"),
        (swapped, "does not verify"),
        (
            wss_signed(&alice.0, &alice.1, &["Body-1"], ""),
            "exactly the soap:Body and the wsu:Timestamp",
        ),
        (
            wss_signed(&stranger.0, &stranger.1, &["Body-1", "TS-1"], ""),
            "not trusted",
        ),
        (duplicate, "does not verify"),
    ] {
        let r = post(&body);
        assert_eq!(
            r.fault_code(),
            "wst:FailedAuthentication",
            "{needle}: {}",
            r.body
        );
        assert!(r.body.contains(needle), "`{needle}` not in {}", r.body);
    }
}
