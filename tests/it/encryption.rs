//! Assertions encrypted to the relying party (REST and SOAP instances), decrypted by xmlsec1.

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

use crate::common::*;

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
