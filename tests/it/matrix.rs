//! The token matrix beyond bearer assertions: encryption to a relying party, key rotation.

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

use crate::common::*;
use crate::rest::*;

/// A relying party's RSA key pair: (private key PEM file, certificate PEM bytes).
fn relying_party(dir: &Path) -> (std::path::PathBuf, Vec<u8>) {
    let (key, cert) =
        sts::crypto::new_key_pair("sp", sts::crypto::KeyKind::Rsa, chrono::Utc::now()).unwrap();
    let key_path = dir.join("sp.key.pem");
    std::fs::write(&key_path, key).unwrap();
    (key_path, cert)
}

/// Decrypts the first `xenc:EncryptedData` of `xml` with `xmlsec1 --decrypt`.
fn xmlsec1_decrypt(xml: &str, key: &Path) -> String {
    let f = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(f.path(), xml).unwrap();
    let out = Command::new("xmlsec1")
        .arg("--decrypt")
        .arg("--privkey-pem")
        .arg(key)
        .arg(f.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "xmlsec1 --decrypt: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn encrypting_instance(element: &str, saml: Value) -> Value {
    let mut i = rest_instance(element, false);
    for (k, v) in saml.as_object().unwrap() {
        i["saml2-config"][k] = v.clone();
    }
    i["saml2-config"]["saml2-attribute-map"] = json!({"email": "mail"});
    i
}

#[test]
fn assertions_are_encrypted_to_the_relying_party_and_xmlsec1_decrypts_them() {
    let sp_dir = tempfile::tempdir().unwrap();
    let (sp_key, sp_cert) = relying_party(sp_dir.path());
    let s = start_with(Opts {
        files: vec![("keys/sp-enc.crt.pem".into(), sp_cert)],
        ..Default::default()
    });
    let admin = s.login("amadmin", ADMIN_PASSWORD);
    let sts_cert = s.cert("sts-signing");

    // The whole assertion, with each block cipher OpenAM offers and AES-GCM (the default).
    for (element, algorithm, strength, uri) in [
        (
            "enc-gcm",
            None,
            None,
            "http://www.w3.org/2009/xmlenc11#aes256-gcm",
        ),
        (
            "enc-cbc128",
            Some("http://www.w3.org/2001/04/xmlenc#aes128-cbc"),
            Some("128"),
            "http://www.w3.org/2001/04/xmlenc#aes128-cbc",
        ),
        (
            "enc-cbc256",
            Some("http://www.w3.org/2001/04/xmlenc#aes128-cbc"),
            Some("256"),
            "http://www.w3.org/2001/04/xmlenc#aes256-cbc",
        ),
        (
            "enc-gcm128",
            Some("http://www.w3.org/2009/xmlenc11#aes128-gcm"),
            None,
            "http://www.w3.org/2009/xmlenc11#aes128-gcm",
        ),
    ] {
        let mut saml = json!({
            "saml2-encrypt-assertion": "true",
            "saml2-encryption-key-alias": "sp-enc",
        });
        if let Some(a) = algorithm {
            saml["saml2-encryption-algorithm"] = a.into();
        }
        if let Some(st) = strength {
            saml["saml2-encryption-algorithm-strength"] = st.into();
        }
        let r = publish(&s, &admin, "rest", &encrypting_instance(element, saml));
        assert_eq!(r.status, 201, "{}", r.body);
        let token = issued(&call(
            &s,
            &admin,
            element,
            "translate",
            &username_to(json!({"token_type": "SAML2", "subject_confirmation": "BEARER"})),
        ));
        assert!(token.starts_with("<saml2:EncryptedAssertion"), "{token}");
        assert!(token.contains(&format!("Algorithm=\"{uri}\"")), "{token}");
        assert!(
            token.contains("Algorithm=\"http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p\""),
            "{token}"
        );
        assert!(!token.contains("alice"), "the subject leaks: {token}");
        let plain = xmlsec1_decrypt(&token, &sp_key);
        assert!(plain.contains("<saml2:Assertion"), "{plain}");
        assert!(plain.contains(">alice</saml2:NameID>"), "{plain}");
        assert!(plain.contains("alice@example.com"), "{plain}");
        // What the relying party decrypts is the signed assertion, intact.
        let (ok, out) = xmlsec1_verify(&plain, &sts_cert);
        assert!(
            ok,
            "{element}: xmlsec1 --verify of the decrypted assertion: {out}"
        );

        // The STS cannot read it back (AM's answer carries no reason).
        let v = call(
            &s,
            &admin,
            element,
            "validate",
            &json!({"validated_token_state": {"token_type": "SAML2", "saml2_token": token}}),
        );
        assert_eq!(v.status, 200, "{}", v.body);
        assert_eq!(v.json()["token_valid"], false, "{}", v.body);
    }

    // NameID and attributes encrypted inside a signed assertion.
    let saml = json!({
        "saml2-encrypt-nameid": "true",
        "saml2-encrypt-attributes": "true",
        "saml2-encryption-key-alias": "sp-enc",
    });
    let r = publish(&s, &admin, "rest", &encrypting_instance("enc-parts", saml));
    assert_eq!(r.status, 201, "{}", r.body);
    let token = issued(&call(
        &s,
        &admin,
        "enc-parts",
        "translate",
        &username_to(json!({"token_type": "SAML2", "subject_confirmation": "BEARER"})),
    ));
    assert!(token.starts_with("<saml2:Assertion"), "{token}");
    assert!(token.contains("<saml2:EncryptedID>"), "{token}");
    assert!(token.contains("<saml2:EncryptedAttribute>"), "{token}");
    assert!(
        !token.contains("alice"),
        "the subject or an attribute leaks: {token}"
    );
    // The signature covers the encrypted parts.
    let (ok, out) = xmlsec1_verify(&token, &sts_cert);
    assert!(ok, "xmlsec1 --verify: {out}");
    let (ok, out) = signxml_verify(&token, &sts_cert);
    assert!(ok, "signxml: {out}");
    let once = xmlsec1_decrypt(&token, &sp_key);
    assert!(once.contains(">alice</saml2:NameID>"), "{once}");
    let twice = xmlsec1_decrypt(&once, &sp_key);
    assert!(
        twice.contains("<saml2:AttributeValue xsi:type=\"xs:string\">alice@example.com<"),
        "{twice}"
    );

    // Settings that cannot be honoured are refused at publish, by name.
    for (saml, needle) in [
        (
            json!({"saml2-encrypt-assertion": "true"}),
            "saml2-encryption-key-alias must name",
        ),
        (
            json!({"saml2-encrypt-assertion": "true", "saml2-encryption-key-alias": "nobody"}),
            "`nobody` names no certificate",
        ),
        (
            json!({"saml2-encrypt-nameid": "true", "saml2-encryption-key-alias": "sts-signing-ec"}),
            "needs an RSA key",
        ),
        (
            json!({"saml2-encrypt-assertion": "true", "saml2-encrypt-nameid": "true", "saml2-encryption-key-alias": "sp-enc"}),
            "cannot be combined",
        ),
        (
            json!({"saml2-encrypt-assertion": "true", "saml2-encryption-key-alias": "sp-enc",
                   "saml2-encryption-algorithm": "http://www.w3.org/2001/04/xmlenc#tripledes-cbc"}),
            "3DES",
        ),
    ] {
        let r = publish(&s, &admin, "rest", &encrypting_instance("enc-bad", saml));
        expect_error(&r, 400, needle);
    }
}

#[test]
fn soap_instances_encrypt_issued_assertions() {
    let sp_dir = tempfile::tempdir().unwrap();
    let (sp_key, sp_cert) = relying_party(sp_dir.path());
    let mut instance = sts::datadir::demo_instance();
    instance["deployment-config"]["deployment-url-element"] = "soap-enc".into();
    instance["saml2-config"]["saml2-encrypt-assertion"] = "true".into();
    instance["saml2-config"]["saml2-encryption-key-alias"] = "sp-enc".into();
    let s = start_with(Opts {
        files: vec![("keys/sp-enc.crt.pem".into(), sp_cert)],
        instances: vec![("soap-enc.json".into(), instance)],
        ..Default::default()
    });
    let r = s.post(
        "/sts/soap-enc",
        &[
            ("Content-Type", "text/xml; charset=utf-8"),
            ("SOAPAction", &format!("\"{ISSUE_ACTION}\"")),
        ],
        envelope(SOAP11, &username_digest("alice", "s3cret"), RST_ISSUE),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let start = r.body.find("<saml2:EncryptedAssertion").expect(&r.body);
    let end =
        r.body.find("</saml2:EncryptedAssertion>").unwrap() + "</saml2:EncryptedAssertion>".len();
    let token = &r.body[start..end];
    assert!(!token.contains("alice"), "{token}");
    let plain = xmlsec1_decrypt(token, &sp_key);
    let (ok, out) = xmlsec1_verify(&plain, &s.cert("sts-signing"));
    assert!(ok, "xmlsec1 --verify of the decrypted assertion: {out}");
}

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

    sts::keyring::rotate(s.dir.path(), "sts-signing", chrono::Utc::now()).unwrap();
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
    sts::keyring::rotate(s.dir.path(), "sts-signing", chrono::Utc::now()).unwrap();
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

/// A test PKI: a CA and certificates it issues, with keys, as PEM files in a folder.
pub(crate) struct Pki {
    dir: tempfile::TempDir,
    ca_key: openssl::pkey::PKey<openssl::pkey::Private>,
    ca: openssl::x509::X509,
}

impl Pki {
    pub(crate) fn new(name: &str) -> Pki {
        use openssl::x509::extension::{BasicConstraints, KeyUsage};
        let dir = tempfile::tempdir().unwrap();
        let ca_key =
            openssl::pkey::PKey::from_rsa(openssl::rsa::Rsa::generate(2048).unwrap()).unwrap();
        let mut b = Self::builder(name, 1, -1, 365, &ca_key);
        b.set_issuer_name(&Self::name(name)).unwrap();
        b.append_extension(BasicConstraints::new().critical().ca().build().unwrap())
            .unwrap();
        b.append_extension(
            KeyUsage::new()
                .critical()
                .key_cert_sign()
                .crl_sign()
                .build()
                .unwrap(),
        )
        .unwrap();
        b.sign(&ca_key, openssl::hash::MessageDigest::sha256())
            .unwrap();
        let ca = b.build();
        std::fs::write(dir.path().join("ca.crt.pem"), ca.to_pem().unwrap()).unwrap();
        Pki { dir, ca_key, ca }
    }

    fn name(cn: &str) -> openssl::x509::X509Name {
        let mut n = openssl::x509::X509NameBuilder::new().unwrap();
        n.append_entry_by_text("O", "Example").unwrap();
        n.append_entry_by_text("CN", cn).unwrap();
        n.build()
    }

    fn builder(
        cn: &str,
        serial: u32,
        from_days: i64,
        to_days: i64,
        key: &openssl::pkey::PKey<openssl::pkey::Private>,
    ) -> openssl::x509::X509Builder {
        let mut b = openssl::x509::X509::builder().unwrap();
        b.set_version(2).unwrap();
        let serial = openssl::bn::BigNum::from_u32(serial)
            .unwrap()
            .to_asn1_integer()
            .unwrap();
        b.set_serial_number(&serial).unwrap();
        b.set_subject_name(&Self::name(cn)).unwrap();
        b.set_pubkey(key).unwrap();
        let day = 86_400;
        let now = chrono::Utc::now().timestamp();
        b.set_not_before(&openssl::asn1::Asn1Time::from_unix(now + from_days * day).unwrap())
            .unwrap();
        b.set_not_after(&openssl::asn1::Asn1Time::from_unix(now + to_days * day).unwrap())
            .unwrap();
        b
    }

    /// Issues a certificate; writes `<file>.crt.pem` and `<file>.key.pem`; returns the paths.
    pub(crate) fn issue(
        &self,
        file: &str,
        cn: &str,
        serial: u32,
        days: (i64, i64),
        server: bool,
    ) -> (std::path::PathBuf, std::path::PathBuf) {
        use openssl::x509::extension::{ExtendedKeyUsage, SubjectAlternativeName};
        let key = openssl::pkey::PKey::from_ec_key(
            openssl::ec::EcKey::generate(
                &openssl::ec::EcGroup::from_curve_name(openssl::nid::Nid::X9_62_PRIME256V1)
                    .unwrap(),
            )
            .unwrap(),
        )
        .unwrap();
        let mut b = Self::builder(cn, serial, days.0, days.1, &key);
        b.set_issuer_name(self.ca.subject_name()).unwrap();
        let eku = if server {
            ExtendedKeyUsage::new().server_auth().build().unwrap()
        } else {
            ExtendedKeyUsage::new().client_auth().build().unwrap()
        };
        b.append_extension(eku).unwrap();
        if server {
            let san = SubjectAlternativeName::new()
                .ip("127.0.0.1")
                .build(&b.x509v3_context(Some(&self.ca), None))
                .unwrap();
            b.append_extension(san).unwrap();
        }
        b.sign(&self.ca_key, openssl::hash::MessageDigest::sha256())
            .unwrap();
        let cert = b.build();
        let crt = self.dir.path().join(format!("{file}.crt.pem"));
        let keyf = self.dir.path().join(format!("{file}.key.pem"));
        std::fs::write(&crt, cert.to_pem().unwrap()).unwrap();
        std::fs::write(&keyf, key.private_key_to_pem_pkcs8().unwrap()).unwrap();
        (crt, keyf)
    }

    fn ca_pem(&self) -> Vec<u8> {
        self.ca.to_pem().unwrap()
    }

    pub(crate) fn ca_file(&self) -> std::path::PathBuf {
        self.dir.path().join("ca.crt.pem")
    }
}

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

/// An OpenID provider's RSA key, written to `dir` as PEM, and its public JWK (kid `op-1`).
fn openid_provider(dir: &Path) -> (std::path::PathBuf, Value) {
    use base64::Engine as _;
    let b64url = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    let op = openssl::rsa::Rsa::generate(2048).unwrap();
    let pem = dir.join("op.pem");
    std::fs::write(&pem, op.private_key_to_pem().unwrap()).unwrap();
    let jwk = json!({"kty": "RSA", "kid": "op-1", "n": b64url(&op.n().to_vec()), "e": b64url(&op.e().to_vec())});
    (pem, jwk)
}

/// A SAML identity provider's signing key, and its certificate (PEM).
pub fn saml_idp() -> (std::sync::Arc<sts::crypto::SigningKey>, Vec<u8>) {
    let (key, cert) =
        sts::crypto::new_key_pair("idp", sts::crypto::KeyKind::Rsa, chrono::Utc::now()).unwrap();
    let idp = sts::crypto::SigningKey::new(
        "idp",
        sts::crypto::KeyKind::Rsa,
        sts::secret::Secret::new(key),
        cert.clone(),
        None,
    )
    .unwrap();
    (idp, cert)
}

/// An identity provider's signed SAML 2.0 bearer assertion about `subject`, built and signed
/// (RSA-SHA256, libxmlsec1) with the IdP's own key.
pub fn idp_assertion(
    idp: &std::sync::Arc<sts::crypto::SigningKey>,
    subject: &str,
    audience: &str,
    valid: (i64, i64),
) -> String {
    use sts::tokens::saml2;
    let now = chrono::Utc::now();
    let id = saml2::new_assertion_id();
    let spec = saml2::AssertionSpec {
        id: &id,
        issuer: "https://idp.example.com/saml",
        issue_instant: now,
        name_id: subject,
        name_id_format: "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
        not_before: now + chrono::Duration::seconds(valid.0),
        not_on_or_after: now + chrono::Duration::seconds(valid.1),
        recipient: None,
        audience: Some(audience),
        authn_instant: now,
        session_index: None,
        authn_context: saml2::AC_PASSWORD_PROTECTED_TRANSPORT,
        attributes: &[],
        confirmation: saml2::Confirmation::Bearer,
    };
    let sign = saml2::SignWith {
        key: idp,
        signature: sts::xmldsig::SignatureAlgorithm::RsaSha256,
        digest: sts::xmldsig::DigestAlgorithm::Sha256,
    };
    saml2::build(&spec, Some(sign), None).unwrap().wire
}

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
    let now = chrono::Utc::now().timestamp();
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
        sts::crypto::new_key_pair("stranger", sts::crypto::KeyKind::Rsa, chrono::Utc::now())
            .unwrap();
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

/// P_SHA1(secret, seed) written out from RFC 2246 5, independently of the server's.
fn p_sha1(secret: &[u8], seed: &[u8], len: usize) -> Vec<u8> {
    let key = openssl::pkey::PKey::hmac(secret).unwrap();
    let hmac = |d: &[u8]| {
        let mut s = openssl::sign::Signer::new(openssl::hash::MessageDigest::sha1(), &key).unwrap();
        s.update(d).unwrap();
        s.sign_to_vec().unwrap()
    };
    let (mut a, mut out) = (seed.to_vec(), Vec::new());
    while out.len() < len {
        a = hmac(&a);
        out.extend(hmac(&[a.as_slice(), seed].concat()));
    }
    out.truncate(len);
    out
}

/// The text of the first element named `open` (a start tag prefix) in `xml`.
fn text_of(xml: &str, open: &str) -> String {
    let start = xml
        .find(open)
        .unwrap_or_else(|| panic!("no {open} in {xml}"));
    let start = start + xml[start..].find('>').unwrap() + 1;
    let end = start + xml[start..].find('<').unwrap();
    xml[start..end].to_owned()
}

#[test]
fn symmetric_proof_keys_reach_the_requestor_and_the_relying_party_only() {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let sp_dir = tempfile::tempdir().unwrap();
    let (sp_key, sp_cert) = relying_party(sp_dir.path());
    let mut instance = sts::datadir::demo_instance();
    instance["deployment-config"]["deployment-url-element"] = "soap-hok".into();
    instance["saml2-config"]["saml2-encryption-key-alias"] = "sp-enc".into();
    let s = start_with(Opts {
        files: vec![("keys/sp-enc.crt.pem".into(), sp_cert)],
        instances: vec![("soap-hok.json".into(), instance)],
        public_base_url: Some("https://sts.example.com".into()),
        ..Default::default()
    });
    let issue = |at: &str, rst: &str| {
        s.post(
            at,
            &[
                ("Content-Type", "text/xml; charset=utf-8"),
                ("SOAPAction", &format!("\"{ISSUE_ACTION}\"")),
            ],
            envelope(SOAP11, &username_digest("alice", "s3cret"), rst),
        )
    };
    let sp = openssl::pkey::PKey::private_key_from_pem(&std::fs::read(&sp_key).unwrap()).unwrap();
    // The key the relying party reads from the assertion's EncryptedKey.
    let relying_party_key = |assertion: &str| {
        let conf = &assertion[assertion.find("<saml2:SubjectConfirmationData").unwrap()..];
        let wrapped = b64.decode(text_of(conf, "<xenc:CipherValue")).unwrap();
        let mut dec = openssl::encrypt::Decrypter::new(&sp).unwrap();
        dec.set_rsa_padding(openssl::rsa::Padding::PKCS1_OAEP)
            .unwrap();
        let mut k = vec![0u8; dec.decrypt_len(&wrapped).unwrap()];
        let n = dec.decrypt(&wrapped, &mut k).unwrap();
        k.truncate(n);
        k
    };
    const SYM: &str =
        "<wst:KeyType>http://docs.oasis-open.org/ws-sx/ws-trust/200512/SymmetricKey</wst:KeyType>";

    // Requestor entropy: the key is computed with P_SHA1 on both sides.
    let mut entropy = [0u8; 32];
    openssl::rand::rand_bytes(&mut entropy).unwrap();
    let rst = format!(
        "{RST_ISSUE}{SYM}<wst:KeySize>256</wst:KeySize><wst:ComputedKeyAlgorithm>http://docs.oasis-open.org/ws-sx/ws-trust/200512/CK/PSHA1</wst:ComputedKeyAlgorithm><wst:Entropy><wst:BinarySecret Type=\"http://docs.oasis-open.org/ws-sx/ws-trust/200512/Nonce\">{}</wst:BinarySecret></wst:Entropy>",
        b64.encode(entropy)
    );
    let r = issue("/sts/soap-hok", &rst);
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body.contains("<wst:ComputedKey>http://docs.oasis-open.org/ws-sx/ws-trust/200512/CK/PSHA1</wst:ComputedKey>"),
        "{}",
        r.body
    );
    assert!(
        r.body.contains("<wst:KeySize>256</wst:KeySize>"),
        "{}",
        r.body
    );
    assert!(r.body.contains("/SymmetricKey</wst:KeyType>"), "{}", r.body);
    let issuer_entropy = b64.decode(text_of(&r.body, "<wst:BinarySecret")).unwrap();
    let computed = p_sha1(&entropy, &issuer_entropy, 32);
    let a = r.assertion_text();
    assert!(a.contains("cm:holder-of-key"), "{a}");
    assert!(a.contains("KeyInfoConfirmationDataType"), "{a}");
    assert_eq!(
        relying_party_key(&a),
        computed,
        "requestor and relying party disagree"
    );
    let (ok, out) = xmlsec1_verify(&a, &s.cert("sts-signing"));
    assert!(ok, "xmlsec1: {out}");

    // No requestor entropy: the key itself comes back, over TLS only.
    let r = issue(
        "/sts/soap-hok",
        &format!("{RST_ISSUE}{SYM}<wst:KeySize>128</wst:KeySize>"),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let proof_token = &r.body[r.body.find("<wst:RequestedProofToken>").unwrap()..];
    let key = b64
        .decode(text_of(proof_token, "<wst:BinarySecret"))
        .unwrap();
    assert_eq!(key.len(), 16);
    assert_eq!(relying_party_key(&r.assertion_text()), key);

    // Refusals, by name.
    for (at, rst, code, needle) in [
        (
            "/sts/soap-hok",
            format!("{RST_ISSUE}{SYM}<wst:KeySize>100</wst:KeySize>"),
            "wst:BadRequest",
            "KeySize",
        ),
        (
            "/sts/soap-hok",
            format!(
                "{RST_ISSUE}{SYM}<wst:ComputedKeyAlgorithm>http://docs.oasis-open.org/ws-sx/ws-trust/200512/CK/PSHA1</wst:ComputedKeyAlgorithm>"
            ),
            "wst:InvalidRequest",
            "Entropy",
        ),
        (
            "/sts/soap-hok",
            format!(
                "{RST_ISSUE}{SYM}<wst:Entropy><wst:BinarySecret>AAAA</wst:BinarySecret></wst:Entropy>"
            ),
            "wst:InvalidRequest",
            "entropy",
        ),
        (
            &format!("/sts/{INSTANCE}"),
            format!("{RST_ISSUE}{SYM}"),
            "wst:BadRequest",
            "saml2-encryption-key-alias",
        ),
    ] {
        let r = issue(at, &rst);
        assert_eq!(r.fault_code(), code, "{needle}: {}", r.body);
        assert!(r.body.contains(needle), "`{needle}` not in {}", r.body);
    }
}

const WSU_NS: &str =
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd";
const X509V3: &str =
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3";

/// A SOAP 1.1 Issue request signed the WS-Security way by `xmlsec1 --sign` (a third-party
/// signer): an X.509 BinarySecurityToken holding `cert`, a Timestamp, and a ds:Signature
/// (ECDSA-SHA256) made with `key` over the references `refs` (e.g. `["Body-1", "TS-1"]`).
fn wss_signed(cert: &Path, key: &Path, refs: &[&str], extra_header: &str) -> String {
    wss_signed_rst(cert, key, refs, extra_header, "")
}

/// [`wss_signed`] with `rst_extra` after the RequestType in the signed RST.
fn wss_signed_rst(
    cert: &Path,
    key: &Path,
    refs: &[&str],
    extra_header: &str,
    rst_extra: &str,
) -> String {
    use base64::Engine as _;
    let pem = std::fs::read_to_string(cert).unwrap();
    let der = openssl::x509::X509::from_pem(pem.as_bytes())
        .unwrap()
        .to_der()
        .unwrap();
    let now = chrono::Utc::now();
    let fmt = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let references: String = refs
        .iter()
        .map(|r| format!("<ds:Reference URI=\"#{r}\"><ds:Transforms><ds:Transform Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/></ds:Transforms><ds:DigestMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\"/><ds:DigestValue/></ds:Reference>"))
        .collect();
    let template = format!(
        "<s:Envelope xmlns:s=\"{SOAP11}\" xmlns:wsu=\"{WSU_NS}\"><s:Header>{extra_header}<wsse:Security xmlns:wsse=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd\"><wsu:Timestamp wsu:Id=\"TS-1\"><wsu:Created>{}</wsu:Created><wsu:Expires>{}</wsu:Expires></wsu:Timestamp><wsse:BinarySecurityToken wsu:Id=\"X509-1\" ValueType=\"{X509V3}\" EncodingType=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary\">{}</wsse:BinarySecurityToken><ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/><ds:SignatureMethod Algorithm=\"http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256\"/>{references}</ds:SignedInfo><ds:SignatureValue/><ds:KeyInfo><wsse:SecurityTokenReference><wsse:Reference URI=\"#X509-1\" ValueType=\"{X509V3}\"/></wsse:SecurityTokenReference></ds:KeyInfo></ds:Signature></wsse:Security></s:Header><s:Body wsu:Id=\"Body-1\"><wst:RequestSecurityToken xmlns:wst=\"{WST}\">{RST_ISSUE}{rst_extra}</wst:RequestSecurityToken></s:Body></s:Envelope>",
        fmt(now - chrono::Duration::seconds(5)),
        fmt(now + chrono::Duration::seconds(300)),
        base64::engine::general_purpose::STANDARD.encode(der),
    );
    let dir = tempfile::tempdir().unwrap();
    let (input, output) = (dir.path().join("t.xml"), dir.path().join("o.xml"));
    std::fs::write(&input, template).unwrap();
    let out = Command::new("xmlsec1")
        .arg("--sign")
        .arg("--privkey-pem")
        .arg(key)
        .args(["--id-attr:Id", &format!("{SOAP11}:Body")])
        .args(["--id-attr:Id", &format!("{WSU_NS}:Timestamp")])
        .arg("--output")
        .arg(&output)
        .arg(&input)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "xmlsec1 --sign: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read_to_string(output).unwrap()
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
    let now = chrono::Utc::now().timestamp();
    let id_token = pyjwt_sign(
        "RS256",
        &op_pem,
        &json!({"iss": "https://op.example.com", "aud": "sts", "sub": "alice", "iat": now, "exp": now + 600}),
        "op-1",
    );
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
                _ => json!({"token_type": "OPENIDCONNECT", "oidc_id_token": id_token}),
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
                            "<wsse:BinarySecurityToken ValueType=\"urn:ietf:params:oauth:token-type:jwt\">{id_token}</wsse:BinarySecurityToken>"
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
    let now = chrono::Utc::now().timestamp();
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
fn soap_on_behalf_of_gets_sender_vouches_assertions() {
    let mut instance = sts::datadir::demo_instance();
    instance["deployment-config"]["deployment-url-element"] = "soap-sv".into();
    instance["delegation-relationship-supported"] = "true".into();
    instance["soap-delegation-config"] = json!({"delegation-validated-token-types": [
        {"validatedTokenType": "USERNAME", "invalidateInterimOpenAMSession": true},
        {"validatedTokenType": "OPENAM", "invalidateInterimOpenAMSession": false}
    ]});
    let s = start_with(Opts {
        instances: vec![("soap-sv.json".into(), instance)],
        ..Default::default()
    });
    s.add_user("/", "bob", "bob-pw");
    let issue = |at: &str, security: &str, rst: &str| {
        s.post(
            at,
            &[
                ("Content-Type", "text/xml; charset=utf-8"),
                ("SOAPAction", &format!("\"{ISSUE_ACTION}\"")),
            ],
            envelope(SOAP11, security, rst),
        )
    };
    let obo = |token: &str| format!("{RST_ISSUE}<wst:OnBehalfOf>{token}</wst:OnBehalfOf>");
    let wsse = "xmlns:wsse=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd\"";
    let bob_ut = format!(
        "<wsse:UsernameToken {wsse}><wsse:Username>bob</wsse:Username><wsse:Password>bob-pw</wsse:Password></wsse:UsernameToken>"
    );
    let alice = username_digest("alice", "s3cret");

    let r = issue("/sts/soap-sv", &alice, &obo(&bob_ut));
    assert_eq!(r.status, 200, "{}", r.body);
    let a = r.assertion_text();
    assert!(a.contains(">bob</saml2:NameID>"), "{a}");
    assert!(
        a.contains("Method=\"urn:oasis:names:tc:SAML:2.0:cm:sender-vouches\""),
        "{a}"
    );
    let (ok, out) = xmlsec1_verify(&a, &s.cert("sts-signing"));
    assert!(ok, "xmlsec1: {out}");
    // bob's OpenAM session as the OnBehalfOf token; the interim policy keeps no session.
    let session = s.login("bob", "bob-pw");
    let r = issue(
        "/sts/soap-sv",
        &username_digest("alice", "s3cret"),
        &obo(&format!(
            "<wsse:BinarySecurityToken {wsse} ValueType=\"http://schemas.forgerock.org/ws/securitypolicy#OpenAMSessionToken\">{session}</wsse:BinarySecurityToken>"
        )),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.assertion_text().contains(">bob</saml2:NameID>"));

    let wrong = bob_ut.replace("bob-pw", "guess");
    let jwt = format!(
        "<wsse:BinarySecurityToken {wsse} ValueType=\"urn:ietf:params:oauth:token-type:jwt\">a.b.c</wsse:BinarySecurityToken>"
    );
    let hok = format!(
        "{}<wst:KeyType>http://docs.oasis-open.org/ws-sx/ws-trust/200512/PublicKey</wst:KeyType><wst:UseKey><ds:KeyInfo xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></wst:UseKey>",
        obo(&bob_ut),
        client_cert_b64(-1, 30)
    );
    for (at, security, rst, code, needle) in [
        (
            "/sts/soap-sv",
            username_digest("alice", "s3cret"),
            obo(&wrong),
            "wst:FailedAuthentication",
            "authentication failed",
        ),
        (
            "/sts/soap-sv",
            String::new(),
            obo(&bob_ut),
            "wst:FailedAuthentication",
            "wsse:Security",
        ),
        (
            "/sts/soap-sv",
            username_digest("alice", "s3cret"),
            obo(&jwt),
            "wst:BadRequest",
            "OPENIDCONNECT tokens in wst:OnBehalfOf",
        ),
        (
            "/sts/soap-sv",
            username_digest("alice", "s3cret"),
            hok,
            "wst:BadRequest",
            "sender-vouches",
        ),
        (
            &format!("/sts/{INSTANCE}") as &str,
            username_digest("alice", "s3cret"),
            obo(&bob_ut),
            "wst:BadRequest",
            "delegation-relationship-supported",
        ),
        (
            "/sts/soap-sv",
            username_digest("alice", "s3cret"),
            format!("{RST_ISSUE}<wst:ActAs>{bob_ut}</wst:ActAs>"),
            "wst:BadRequest",
            "ActAs",
        ),
    ] {
        let r = issue(at, &security, &rst);
        assert_eq!(r.fault_code(), code, "{needle}: {}", r.body);
        assert!(r.body.contains(needle), "`{needle}` not in {}", r.body);
    }
}

#[test]
fn a_signed_message_proves_the_use_key_on_a_username_instance() {
    use base64::Engine as _;
    // The demo instance takes UsernameTokens only; the X.509 token beside the UsernameToken
    // is no credential there, but its signature over Body and Timestamp proves its key.
    let s = start();
    let pki = Pki::new("Key Holder CA");
    let holder = pki.issue("holder", "holder", 61, (-1, 30), false);
    let holder_der = base64::engine::general_purpose::STANDARD.encode(
        openssl::x509::X509::from_pem(&std::fs::read(&holder.0).unwrap())
            .unwrap()
            .to_der()
            .unwrap(),
    );
    let use_key = |cert: &str| {
        format!(
            "<wst:KeyType>http://docs.oasis-open.org/ws-sx/ws-trust/200512/PublicKey</wst:KeyType><wst:UseKey><ds:KeyInfo xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"><ds:X509Data><ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></wst:UseKey>"
        )
    };
    let signed = |rst_extra: &str| {
        // The signature covers Body and Timestamp only: the UsernameToken is added after.
        wss_signed_rst(&holder.0, &holder.1, &["Body-1", "TS-1"], "", rst_extra).replacen(
            "<wsu:Timestamp",
            &format!("{}<wsu:Timestamp", username_text("alice", "s3cret")),
            1,
        )
    };
    let r = s.post_soap11(&signed(&use_key(&holder_der)));
    assert_eq!(r.status, 200, "{}", r.body);
    let a = r.assertion_text();
    assert!(
        a.contains("cm:holder-of-key") && a.contains(&holder_der),
        "{a}"
    );
    assert!(a.contains(">alice</saml2:NameID>"), "{a}");
    // The same signed message naming another certificate proves nothing about it.
    let r = s.post_soap11(&signed(&use_key(&client_cert_b64(-1, 30))));
    assert_eq!(r.fault_code(), "wst:FailedAuthentication", "{}", r.body);
    assert!(r.body.contains("possession"), "{}", r.body);
}
