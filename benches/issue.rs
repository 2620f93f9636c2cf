//! `cargo bench --bench issue`: per-request CPU cost of the Issue path's stages, single thread.
//! (End-to-end throughput over HTTP is measured by `bench/run.sh` with wrk.)
#![allow(clippy::expect_used)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use sts::clock::{Clock, SystemClock};

fn measure(name: &str, mut f: impl FnMut()) {
    // `cargo test --all-targets` runs this binary without `--bench`: one pass as a smoke test.
    if !std::env::args().any(|a| a == "--bench") {
        f();
        println!("{name:<40} ok");
        return;
    }
    for _ in 0..50 {
        f();
    }
    let mut n = 0u32;
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(2) {
        f();
        n += 1;
    }
    let per = start.elapsed() / n;
    println!(
        "{name:<40} {:>9.1} us/op  {:>8.0} op/s",
        per.as_secs_f64() * 1e6,
        1.0 / per.as_secs_f64()
    );
}

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    sts::datadir::bootstrap(
        dir.path(),
        Some("bench".into()),
        Some("bench-admin".into()),
        SystemClock.now(),
    )
    .expect("bootstrap");
    let keys = sts::datadir::load_keys(dir.path()).expect("keys");
    let binding = sts::instance::Binding {
        keys: &keys,
        default_keys: &sts::instance::DefaultKeys {
            rsa: sts::datadir::DEFAULT_KEY.into(),
            ec: sts::datadir::DEFAULT_EC_KEY.into(),
        },
        plugins: &sts::plugin::Plugins::new(),
        files: &sts::instance::resolve::files::InstanceFiles::in_data_dir(dir.path()),
    };
    let instance = sts::instance::load(
        sts::instance::Kind::Soap,
        &sts::datadir::demo_instance(),
        &binding,
    )
    .expect("resolve");
    let signing = instance.saml_signing().cloned().expect("signing");
    let now = SystemClock.now();
    let spec = |id: &'static str| sts::tokens::saml2::AssertionSpec {
        id,
        issuer: "sts-demo-idp",
        issue_instant: now,
        name_id: "demo",
        name_id_format: "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
        not_before: now,
        not_on_or_after: now,
        recipient: None,
        audience: Some("urn:bench:rp"),
        authn_instant: now,
        session_index: None,
        authn_context: sts::xml::ns::AC_PASSWORD,
        attributes: &[],
        confirmation: sts::tokens::saml2::Confirmation::Bearer,
    };
    let envelope = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/soap/captures/zeep-issue-soap12-digest-wsa.xml"),
    )
    .expect("capture");
    // Reference: the raw signature operation alone, on the same keys, in the same run.
    for (name, alias) in [
        ("openssl RSA-2048 SHA-256 sign (reference)", "sts-signing"),
        (
            "openssl ECDSA P-256 SHA-256 sign (reference)",
            "sts-signing-ec",
        ),
    ] {
        let pem = std::fs::read(dir.path().join(format!("keys/{alias}.key.pem"))).expect("pem");
        let pkey = openssl::pkey::PKey::private_key_from_pem(&pem).expect("pkey");
        measure(name, || {
            let mut signer =
                openssl::sign::Signer::new(openssl::hash::MessageDigest::sha256(), &pkey)
                    .expect("signer");
            signer
                .update(black_box(b"<ds:SignedInfo>...</ds:SignedInfo>"))
                .expect("update");
            black_box(signer.sign_to_vec().expect("sign"));
        });
    }
    // Session validation: the hot path of every admin call and OPENAM input (SQLite, WAL).
    let store = sts::store::open(&format!(
        "sqlite://{}",
        dir.path().join("bench.db").display()
    ))
    .expect("store");
    let sessions = sts::identity::sessions::Sessions::new(
        store,
        std::sync::Arc::new(sts::clock::SystemClock),
        sts::identity::sessions::SessionPolicy {
            idle: chrono::Duration::minutes(30),
            max: chrono::Duration::hours(2),
        },
    );
    let tokens: Vec<_> = (0..1000)
        .map(|i| {
            sessions
                .create("/", &format!("user{i}"), false)
                .expect("create")
                .0
        })
        .collect();
    let mut i = 0usize;
    measure("session validate (SQLite, 1000 live)", || {
        i = (i + 1) % tokens.len();
        let token = tokens.get(i).expect("a token");
        black_box(
            sessions
                .validate(token.expose())
                .expect("validate")
                .expect("live"),
        );
    });
    measure("session validate, unknown token", || {
        black_box(
            sessions
                .validate("no-such-token-000000000000000000000000000")
                .expect("validate"),
        );
    });
    measure("session create (SQLite insert)", || {
        black_box(sessions.create("/", "bench", true).expect("create"));
    });
    measure("parse envelope + headers + RST", || {
        let env = sts::soap::parse_envelope(black_box(&envelope), Default::default()).expect("env");
        let h = sts::soap::read_headers(&env).expect("headers");
        black_box(sts::wstrust::parse_rst(&env.body, &envelope).expect("rst"));
        black_box(h);
    });
    measure("build assertion (unsigned)", || {
        black_box(sts::tokens::saml2::build(&spec("_a"), None, None).expect("build"));
    });
    for (name, alg, key) in [
        (
            "build + sign assertion RSA-SHA256",
            sts::xmldsig::SignatureAlgorithm::RsaSha256,
            "sts-signing",
        ),
        (
            "build + sign assertion ECDSA-SHA256",
            sts::xmldsig::SignatureAlgorithm::EcdsaSha256,
            "sts-signing-ec",
        ),
    ] {
        let key = keys.signing.get(key).expect("key").clone();
        measure(name, || {
            let with = sts::tokens::saml2::SignWith {
                key: &key,
                signature: alg,
                digest: signing.digest,
            };
            black_box(sts::tokens::saml2::build(&spec("_a"), Some(with), None).expect("sign"));
        });
    }
    // Validate's signature check (the libxmlsec1 verifier with the instance's certificate),
    // beside raw OpenSSL verification with the same key.
    let rsa = keys.signing.get("sts-signing").expect("key").clone();
    let with = sts::tokens::saml2::SignWith {
        key: &rsa,
        signature: sts::xmldsig::SignatureAlgorithm::RsaSha256,
        digest: signing.digest,
    };
    let signed = sts::tokens::saml2::build(&spec("_a"), Some(with), None)
        .expect("sign")
        .assertion;
    let public = openssl::x509::X509::from_pem(rsa.cert_pem())
        .expect("cert")
        .public_key()
        .expect("public key");
    let sig = {
        let mut s =
            openssl::sign::Signer::new(openssl::hash::MessageDigest::sha256(), rsa.openssl_key())
                .expect("signer");
        s.update(b"<ds:SignedInfo>...</ds:SignedInfo>")
            .expect("update");
        s.sign_to_vec().expect("sign")
    };
    measure("openssl RSA-2048 SHA-256 verify (reference)", || {
        let mut v = openssl::sign::Verifier::new(openssl::hash::MessageDigest::sha256(), &public)
            .expect("verifier");
        v.update(black_box(b"<ds:SignedInfo>...</ds:SignedInfo>"))
            .expect("update");
        assert!(v.verify(&sig).expect("verify"));
    });
    measure("verify assertion, certificate read per call", || {
        sts::xmldsig::forget_verify_keys();
        black_box(
            sts::xmldsig::verify_enveloped(black_box(signed.as_bytes()), "ID", rsa.cert_pem())
                .expect("verify"),
        );
    });
    // Validate reads the verified tree; Renew (and Validate before 2026-12-08) serialises the
    // verified element and parses it again.
    measure("verify assertion RSA-SHA256 (Validate)", || {
        black_box(
            sts::xmldsig::verify_enveloped_tree(black_box(signed.as_bytes()), "ID", rsa.cert_pem())
                .expect("verify"),
        );
    });
    measure("verify assertion, bytes re-parsed (Renew)", || {
        black_box(
            sts::xmldsig::verify_enveloped(black_box(signed.as_bytes()), "ID", rsa.cert_pem())
                .expect("verify"),
        );
    });
    // SAML 1.1 with the same content, next to SAML 2.0 (issue 18: no more than 10% dearer).
    let spec1 = |id: &'static str| sts::tokens::saml1::AssertionSpec {
        id,
        issuer: "sts-demo-idp",
        issue_instant: now,
        name_id: "demo",
        name_id_format: "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
        not_before: now,
        not_on_or_after: now,
        audience: Some("urn:bench:rp"),
        authn_instant: now,
        authn_method: sts::xml::ns::AM1_PASSWORD,
        attributes: &[],
        confirmation: sts::tokens::saml2::Confirmation::Bearer,
    };
    measure("SAML 1.1: build assertion (unsigned)", || {
        black_box(sts::tokens::saml1::build(&spec1("_a"), None).expect("build"));
    });
    for (name, alg, key) in [
        (
            "SAML 1.1: build + sign RSA-SHA256",
            sts::xmldsig::SignatureAlgorithm::RsaSha256,
            "sts-signing",
        ),
        (
            "SAML 1.1: build + sign ECDSA-SHA256",
            sts::xmldsig::SignatureAlgorithm::EcdsaSha256,
            "sts-signing-ec",
        ),
    ] {
        let key = keys.signing.get(key).expect("key").clone();
        measure(name, || {
            let with = sts::tokens::saml2::SignWith {
                key: &key,
                signature: alg,
                digest: signing.digest,
            };
            black_box(sts::tokens::saml1::build(&spec1("_a"), Some(with)).expect("sign"));
        });
    }
}
