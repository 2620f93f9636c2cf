//! Proof keys and subject confirmations: symmetric proof keys, holder-of-key with a
//! certificate the requestor proves it holds, sender-vouches.

use serde_json::{Value, json};

use crate::common::*;

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

#[test]
fn sender_vouches_and_holder_of_key_assertions() {
    let s = start();
    let admin = s.login("amadmin", ADMIN_PASSWORD);
    assert_eq!(
        publish(&s, &admin, "rest", &rest_instance("confirm", false)).status,
        201
    );
    let sv = issued(&call(
        &s,
        &admin,
        "confirm",
        "translate",
        &username_to(json!({"token_type": "SAML2", "subject_confirmation": "SENDER_VOUCHES"})),
    ));
    assert!(
        sv.contains("Method=\"urn:oasis:names:tc:SAML:2.0:cm:sender-vouches\""),
        "{sv}"
    );
    let (ok, out) = xmlsec1_verify(&sv, &s.cert("sts-signing"));
    assert!(ok, "xmlsec1: {out}");

    let cert = client_cert_b64(-1, 30);
    let hok = |proof: Value| {
        call(
            &s,
            &admin,
            "confirm",
            "translate",
            &username_to(
                json!({"token_type": "SAML2", "subject_confirmation": "HOLDER_OF_KEY", "proof_token_state": proof}),
            ),
        )
    };
    let a = issued(&hok(json!({"base64EncodedCertificate": cert})));
    assert!(
        a.contains("Method=\"urn:oasis:names:tc:SAML:2.0:cm:holder-of-key\""),
        "{a}"
    );
    assert!(
        a.contains("xsi:type=\"saml2:KeyInfoConfirmationDataType\""),
        "{a}"
    );
    assert!(
        a.contains(&format!("<ds:X509Certificate>{cert}</ds:X509Certificate>")),
        "{a}"
    );
    let (ok, out) = xmlsec1_verify(&a, &s.cert("sts-signing"));
    assert!(ok, "xmlsec1: {out}");
    let (ok, out) = signxml_verify(&a, &s.cert("sts-signing"));
    assert!(ok, "signxml: {out}");

    // A holder-of-key request without a usable key is refused, each way by name.
    let r = call(
        &s,
        &admin,
        "confirm",
        "translate",
        &username_to(json!({"token_type": "SAML2", "subject_confirmation": "HOLDER_OF_KEY"})),
    );
    expect_error(&r, 400, "proof_token_state");
    expect_error(&hok(json!({})), 400, "base64EncodedCertificate is required");
    expect_error(
        &hok(json!({"base64EncodedCertificate": "not base64!"})),
        400,
        "not base64",
    );
    expect_error(
        &hok(json!({"base64EncodedCertificate": "AAAA"})),
        400,
        "not a DER X.509",
    );
    expect_error(
        &hok(json!({"base64EncodedCertificate": client_cert_b64(-30, -1)})),
        400,
        "validity period",
    );
    // Bytes after the certificate would be signed into the assertion: refused.
    let trailing = {
        use base64::Engine as _;
        let e = base64::engine::general_purpose::STANDARD;
        let mut der = e.decode(&cert).unwrap();
        der.extend_from_slice(b"smuggled");
        e.encode(der)
    };
    expect_error(
        &hok(json!({"base64EncodedCertificate": trailing})),
        400,
        "exactly one DER certificate",
    );
}

#[test]
fn soap_public_key_requests_need_proof_of_possession() {
    let s = start();
    let cert = client_cert_b64(-1, 30);
    let use_key = format!(
        "<wst:KeyType>http://docs.oasis-open.org/ws-sx/ws-trust/200512/PublicKey</wst:KeyType>\
         <wst:UseKey><ds:KeyInfo xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"><ds:X509Data>\
         <ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></wst:UseKey>"
    );
    // A certificate anyone can copy proves nothing: without a message signature made with
    // its key, or a TLS client certificate that is it, no holder-of-key assertion.
    let r = s.post_soap11(&envelope(
        SOAP11,
        &username_digest("alice", "s3cret"),
        &use_key,
    ));
    assert_eq!(r.fault_code(), "wst:FailedAuthentication", "{}", r.body);
    assert!(r.body.contains("possession"), "{}", r.body);
    assert!(!r.body.contains("Assertion"), "{}", r.body);
    // PublicKey without UseKey, and SymmetricKey: refused.
    let r = s.post_soap11(&envelope(
        SOAP11,
        &username_digest("alice", "s3cret"),
        "<wst:KeyType>http://docs.oasis-open.org/ws-sx/ws-trust/200512/PublicKey</wst:KeyType>",
    ));
    assert_eq!(r.fault_code(), "wst:InvalidRequest", "{}", r.body);
    let r = s.post_soap11(&envelope(
        SOAP11,
        &username_digest("alice", "s3cret"),
        "<wst:KeyType>http://docs.oasis-open.org/ws-sx/ws-trust/200512/SymmetricKey</wst:KeyType>",
    ));
    assert_eq!(r.fault_code(), "wst:BadRequest", "{}", r.body);
}
