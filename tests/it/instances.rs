//! What publishing (and loading) an instance may do: signing is the default, keys and
//! algorithms are checked whatever the other settings, and files an instance names are
//! read only from the data directory, bounded.

use serde_json::{Value, json};

use crate::common::*;

/// The demo SOAP instance at `element` with `edit` applied to its `saml2-config`.
fn soap_with(element: &str, edit: impl FnOnce(&mut serde_json::Map<String, Value>)) -> Value {
    let mut j = persisting_instance(element, false);
    edit(j["saml2-config"].as_object_mut().unwrap());
    j
}

/// Issue at the SOAP instance `element`, as the demo user.
fn issue_at(s: &TestServer, element: &str) -> Reply {
    issue(s, &format!("/sts/{element}"), ("demo", DEMO_PASSWORD))
}

#[test]
fn an_unknown_signature_key_alias_is_refused_whatever_the_sign_flag() {
    let s = start();
    let admin = s.login("amadmin", ADMIN_PASSWORD);
    for sign in [
        None,
        Some(json!("false")),
        Some(json!(false)),
        Some(json!("true")),
    ] {
        let st = soap_with("alias-nope", |c| {
            c.insert("saml2-signature-key-alias".into(), json!("nope"));
            match &sign {
                None => {
                    c.remove("saml2-sign-assertion");
                }
                Some(v) => {
                    c.insert("saml2-sign-assertion".into(), v.clone());
                }
            }
        });
        expect_error(
            &publish(&s, &admin, "soap", &st),
            400,
            "saml2-config.saml2-signature-key-alias `nope` names no key in keys/",
        );
    }
    assert_eq!(issue_at(&s, "alias-nope").status, 404);
}

#[test]
fn assertions_are_signed_unless_unsigned_is_chosen_explicitly() {
    let s = start();
    let admin = s.login("amadmin", ADMIN_PASSWORD);
    // Left out, or null: signed, with the default key.
    for (element, sign) in [("sign-omitted", None), ("sign-null", Some(Value::Null))] {
        let st = soap_with(element, |c| {
            c.remove("saml2-signature-key-alias");
            match &sign {
                None => {
                    c.remove("saml2-sign-assertion");
                }
                Some(v) => {
                    c.insert("saml2-sign-assertion".into(), v.clone());
                }
            }
        });
        let r = publish(&s, &admin, "soap", &st);
        assert_eq!(r.status, 201, "{}", r.body);
        let shown = s.request(
            "GET",
            &format!("/sts-publish/soap/{element}"),
            &[("iPlanetDirectoryPro", &admin)],
            "",
        );
        assert_eq!(
            shown.json()[element]["saml2-config"]["saml2-sign-assertion"],
            "true",
            "{}",
            shown.body
        );
        let assertion = issue_at(&s, element).assertion_text();
        let (ok, out) = xmlsec1_verify(&assertion, &s.cert("sts-signing"));
        assert!(ok, "{element}: {out}\n{assertion}");
    }
    // Explicitly false: unsigned, as asked.
    let st = soap_with("sign-false", |c| {
        c.insert("saml2-sign-assertion".into(), json!("false"));
    });
    let r = publish(&s, &admin, "soap", &st);
    assert_eq!(r.status, 201, "{}", r.body);
    let assertion = issue_at(&s, "sign-false").assertion_text();
    assert!(!assertion.contains("Signature"), "{assertion}");
}

#[test]
fn sha1_is_not_offered_for_signing() {
    let s = start();
    let admin = s.login("amadmin", ADMIN_PASSWORD);
    for sign in ["true", "false"] {
        let st = soap_with("sha1-sig", |c| {
            c.insert("saml2-sign-assertion".into(), json!(sign));
            c.insert(
                "saml2-signature-algorithm".into(),
                json!("http://www.w3.org/2000/09/xmldsig#rsa-sha1"),
            );
        });
        let r = publish(&s, &admin, "soap", &st);
        for needle in [
            "saml2-config.saml2-signature-algorithm `http://www.w3.org/2000/09/xmldsig#rsa-sha1`: SHA-1 is not offered for signing",
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
            "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512",
        ] {
            expect_error(&r, 400, needle);
        }
        let st = soap_with("sha1-digest", |c| {
            c.insert("saml2-sign-assertion".into(), json!(sign));
            c.insert(
                "saml2-digest-algorithm".into(),
                json!("http://www.w3.org/2000/09/xmldsig#sha1"),
            );
        });
        let r = publish(&s, &admin, "soap", &st);
        for needle in [
            "saml2-config.saml2-digest-algorithm `http://www.w3.org/2000/09/xmldsig#sha1`: SHA-1 is not offered for signing",
            "http://www.w3.org/2001/04/xmlenc#sha256",
        ] {
            expect_error(&r, 400, needle);
        }
    }
    // Other unknown URIs are named with the accepted ones too.
    let st = soap_with("md5-sig", |c| {
        c.insert(
            "saml2-signature-algorithm".into(),
            json!("http://www.w3.org/2001/04/xmldsig-more#rsa-md5"),
        );
    });
    let r = publish(&s, &admin, "soap", &st);
    expect_error(
        &r,
        400,
        "saml2-config.saml2-signature-algorithm `http://www.w3.org/2001/04/xmldsig-more#rsa-md5` is not supported; use one of",
    );
    // SHA-2 algorithms still work, and the instance validates what it issues.
    let st = soap_with("sha512", |c| {
        c.insert(
            "saml2-signature-algorithm".into(),
            json!("http://www.w3.org/2001/04/xmldsig-more#rsa-sha512"),
        );
        c.insert(
            "saml2-digest-algorithm".into(),
            json!("http://www.w3.org/2001/04/xmlenc#sha512"),
        );
    });
    assert_eq!(publish(&s, &admin, "soap", &st).status, 201);
    let assertion = issue_at(&s, "sha512").assertion_text();
    assert!(assertion.contains("xmldsig-more#rsa-sha512"), "{assertion}");
    let validate = s.post(
        "/sts/sha512",
        &[("Content-Type", "text/xml")],
        target_envelope(
            "Validate",
            &username_text("demo", DEMO_PASSWORD),
            &assertion,
        ),
    );
    assert!(
        validate.body.contains(
            "<wst:Code>http://docs.oasis-open.org/ws-sx/ws-trust/200512/status/valid</wst:Code>"
        ),
        "{}",
        validate.body
    );
}

/// A REST instance taking id_tokens of one issuer whose keys are in `jwks_file`.
fn with_jwks_file(element: &str, jwks_file: &str) -> Value {
    let mut st = rest_instance(element, false);
    st["supported-token-transforms"] = json!([
        {"inputTokenType": "OPENIDCONNECT", "outputTokenType": "SAML2", "invalidateInterimOpenAMSession": true}
    ]);
    st["oidc-trusted-issuers"] = json!([{
        "issuer": "https://idp.example.com", "audience": ["sts"], "algorithms": ["RS256"],
        "jwks-file": jwks_file
    }]);
    st
}

#[test]
fn jwks_files_are_read_only_from_the_jwks_folder_of_the_data_directory_and_bounded() {
    use base64::Engine as _;
    let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    let s = start();
    let admin = s.login("amadmin", ADMIN_PASSWORD);
    let jwks_dir = s.dir.path().join("jwks");
    std::fs::create_dir_all(jwks_dir.join("sub")).unwrap();
    let idp = openssl::rsa::Rsa::generate(2048).unwrap();
    let jwks = json!({"keys": [{"kty": "RSA", "kid": "idp-1", "n": b64(&idp.n().to_vec()), "e": b64(&idp.e().to_vec())}]});
    std::fs::write(jwks_dir.join("idp.json"), jwks.to_string()).unwrap();
    std::fs::write(jwks_dir.join("sub/idp.json"), jwks.to_string()).unwrap();
    // Valid JSON one byte over the cap: only the size refuses it.
    let cap = 256 * 1024;
    let mut big = jwks.clone();
    big["padding"] = json!("");
    let pad = cap + 1 - big.to_string().len();
    big["padding"] = json!("x".repeat(pad));
    assert_eq!(big.to_string().len(), cap + 1);
    std::fs::write(jwks_dir.join("big.json"), big.to_string()).unwrap();
    let mut fits = big.clone();
    fits["padding"] = json!("x".repeat(pad - 1));
    std::fs::write(jwks_dir.join("fits.json"), fits.to_string()).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", jwks_dir.join("passwd")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", jwks_dir.join("zero")).unwrap();
    std::os::unix::fs::symlink("../users.json", jwks_dir.join("users")).unwrap();
    let (ok, out) = run(std::process::Command::new("mkfifo").arg(jwks_dir.join("fifo")));
    assert!(ok, "{out}");

    for (i, name) in ["idp.json", "sub/idp.json", "fits.json"]
        .into_iter()
        .enumerate()
    {
        let r = publish(
            &s,
            &admin,
            "rest",
            &with_jwks_file(&format!("ok-{i}"), name),
        );
        assert_eq!(r.status, 201, "{name}: {}", r.body);
    }
    let field = "oidc-trusted-issuers[0].jwks-file";
    let cases: Vec<(&str, String)> = vec![
        (
            "/dev/zero",
            format!(
                "{field} `/dev/zero` must be a relative path inside the data directory's jwks/ folder"
            ),
        ),
        (
            "/etc/passwd",
            format!("{field} `/etc/passwd` must be a relative path"),
        ),
        ("../x", format!("{field} `../x` must be a relative path")),
        (
            "../users.json",
            format!("{field} `../users.json` must be a relative path"),
        ),
        (
            "sub/../idp.json",
            format!("{field} `sub/../idp.json` must be a relative path"),
        ),
        (
            "./idp.json",
            format!("{field} `./idp.json` must be a relative path"),
        ),
        ("", format!("{field} `` must be a relative path")),
        (
            "passwd",
            format!("{field} `passwd` leads outside the data directory's jwks/ folder"),
        ),
        ("zero", format!("{field} `zero` leads outside")),
        ("users", format!("{field} `users` leads outside")),
        ("fifo", format!("{field} `fifo` is not a regular file")),
        ("sub", format!("{field} `sub` is not a regular file")),
        (
            "missing.json",
            format!("{field} `missing.json`: jwks/missing.json does not exist"),
        ),
        (
            "big.json",
            format!(
                "{field} `big.json` is larger than 262144 bytes (256 KiB), the most a file named by an instance may hold"
            ),
        ),
    ];
    for (name, needle) in &cases {
        let r = publish(&s, &admin, "rest", &with_jwks_file("refused", name));
        expect_error(&r, 400, needle);
        assert!(!r.body.contains("root:"), "{name}: {}", r.body);
    }
}

#[test]
fn instance_files_naming_files_outside_the_data_directory_stop_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let sts = || {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_sts"));
        c.arg("--data-dir").arg(&data).env_remove("STS_DATA_DIR");
        c
    };
    let (ok, out) = run(sts().arg("init"));
    assert!(ok, "{out}");
    let mut j = sts::datadir::demo_instance();
    j["deployment-config"]["deployment-url-element"] = "reads-zero".into();
    j["oidc-trusted-issuers"] = json!([{
        "issuer": "https://idp.example.com", "audience": ["sts"], "jwks-file": "/dev/zero"
    }]);
    std::fs::write(
        data.join("instances/soap/reads-zero.json"),
        serde_json::to_vec(&j).unwrap(),
    )
    .unwrap();
    let (ok, out) = run(sts().args(["serve", "--listen", "127.0.0.1:0"]));
    assert!(!ok, "{out}");
    assert!(
        out.contains("reads-zero.json")
            && out.contains("oidc-trusted-issuers[0].jwks-file `/dev/zero` must be a relative path inside the data directory's jwks/ folder"),
        "{out}"
    );
}
