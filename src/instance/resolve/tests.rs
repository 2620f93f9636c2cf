//! Binding to keys, files and plug-ins, on a bootstrapped data directory.

use serde_json::{Value, json};

use crate::instance::{Binding, DefaultKeys, Kind, ResolvedInstance, load};
use crate::xmldsig::SignatureAlgorithm;

/// A bootstrapped data directory (demo keys: RSA `sts-signing`, EC `sts-signing-ec`).
struct Node {
    dir: tempfile::TempDir,
    keys: crate::keyring::Keyring,
    defaults: DefaultKeys,
    plugins: crate::plugin::Plugins,
    files: super::files::InstanceFiles,
}

impl Node {
    fn new() -> Node {
        let dir = tempfile::tempdir().unwrap();
        crate::datadir::bootstrap(
            dir.path(),
            Some("x".into()),
            Some("y".into()),
            crate::clock::Clock::now(&crate::clock::SystemClock),
        )
        .unwrap();
        let keys = crate::datadir::load_keys(dir.path()).unwrap();
        let files = super::files::InstanceFiles::in_data_dir(dir.path());
        Node {
            dir,
            keys,
            defaults: DefaultKeys {
                rsa: crate::datadir::DEFAULT_KEY.into(),
                ec: crate::datadir::DEFAULT_EC_KEY.into(),
            },
            plugins: crate::plugin::Plugins::new(),
            files,
        }
    }

    fn load(&self, kind: Kind, json: &Value) -> Result<ResolvedInstance, String> {
        let b = Binding {
            keys: &self.keys,
            default_keys: &self.defaults,
            plugins: &self.plugins,
            files: &self.files,
        };
        load(kind, json, &b).map_err(|p| p.join("; "))
    }

    /// The demo SOAP instance with `edit` applied.
    fn soap(&self, edit: impl FnOnce(&mut Value)) -> Result<ResolvedInstance, String> {
        let mut json = crate::datadir::demo_instance();
        edit(&mut json);
        self.load(Kind::Soap, &json)
    }

    /// A REST instance issuing id_tokens with `oidc` as its `oidc-id-token-config`.
    fn rest_oidc(&self, oidc: Value) -> Result<ResolvedInstance, String> {
        self.load(
            Kind::Rest,
            &json!({
                "deployment-config": {"deployment-url-element": "r"},
                "oidc-id-token-config": oidc,
                "supported-token-transforms": [{"inputTokenType": "USERNAME",
                    "outputTokenType": "OPENIDCONNECT", "invalidateInterimOpenAMSession": true}]
            }),
        )
    }
}

#[test]
fn instances_that_cannot_be_honoured_are_refused_at_load() {
    let node = Node::new();
    assert!(node.soap(|_| {}).is_ok());
    type Edit = fn(&mut Value);
    let cases: [(&str, Edit); 8] = [
        ("encrypt without a certificate", |j| {
            j["saml2-config"]["saml2-encrypt-assertion"] = "true".into()
        }),
        ("encrypt to an EC certificate", |j| {
            j["saml2-config"]["saml2-encrypt-nameid"] = "true".into();
            j["saml2-config"]["saml2-encryption-key-alias"] = "sts-signing-ec".into();
        }),
        ("encrypt assertion and NameID", |j| {
            j["saml2-config"]["saml2-encrypt-assertion"] = "true".into();
            j["saml2-config"]["saml2-encrypt-nameid"] = "true".into();
            j["saml2-config"]["saml2-encryption-key-alias"] = "sts-signing".into();
        }),
        ("encrypt with 3DES", |j| {
            j["saml2-config"]["saml2-encrypt-attributes"] = "true".into();
            j["saml2-config"]["saml2-encryption-key-alias"] = "sts-signing".into();
            j["saml2-config"]["saml2-encryption-algorithm"] =
                "http://www.w3.org/2001/04/xmlenc#tripledes-cbc".into();
        }),
        ("lifetime", |j| {
            j["saml2-config"]["saml2-token-lifetime-seconds"] = "10000000000000".into()
        }),
        ("zero lifetime", |j| {
            j["saml2-config"]["saml2-token-lifetime-seconds"] = "0".into()
        }),
        ("key/alg", |j| {
            j["saml2-config"]["saml2-signature-key-alias"] = "sts-signing-ec".into();
            j["saml2-config"]["saml2-signature-algorithm"] =
                "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256".into();
        }),
        ("custom class", |j| {
            j["saml2-config"]["saml2-custom-subject-provider-class-name"] = "com.x.Y".into()
        }),
    ];
    for (what, edit) in cases {
        assert!(node.soap(edit).is_err(), "{what} accepted");
    }
    let i = node
        .soap(|j| {
            j["saml2-config"]["saml2-encrypt-attributes"] = "true".into();
            j["saml2-config"]["saml2-encryption-key-alias"] = "sts-signing".into();
        })
        .unwrap();
    let enc = i.saml_encryption().unwrap();
    assert!(enc.attributes && !enc.assertion && !enc.name_id);
    // The encryption alias also names the relying party, for symmetric proof keys.
    assert_eq!(i.relying_party().unwrap().alias(), "sts-signing");
    // An EC key without an explicit algorithm signs with ECDSA-SHA256.
    let ec = node
        .soap(|j| j["saml2-config"]["saml2-signature-key-alias"] = "sts-signing-ec".into())
        .unwrap();
    assert_eq!(
        ec.saml_signing().unwrap().signature,
        SignatureAlgorithm::EcdsaSha256
    );
}

#[test]
fn key_problems_name_the_alias_and_unsigned_is_a_choice() {
    let node = Node::new();
    let e = node
        .soap(|j| {
            j["saml2-config"]["saml2-signature-key-alias"] = "nope".into();
            j["saml2-config"]["saml2-sign-assertion"] = "false".into();
        })
        .unwrap_err();
    assert_eq!(
        e,
        "saml2-config.saml2-signature-key-alias `nope` names no key in keys/ (a nope.key.pem with its nope.crt.pem)"
    );
    let unsigned = node
        .soap(|j| {
            j["saml2-config"]["saml2-sign-assertion"] = "false".into();
            j["saml2-config"]
                .as_object_mut()
                .unwrap()
                .remove("saml2-signature-key-alias");
        })
        .unwrap();
    assert!(unsigned.saml_signing().is_none());
    let e = node
        .soap(|j| {
            j["saml2-config"]["saml2-encrypt-nameid"] = "true".into();
            j["saml2-config"]["saml2-encryption-key-alias"] = "rp".into();
        })
        .unwrap_err();
    assert_eq!(
        e,
        "saml2-config.saml2-encryption-key-alias `rp` names no certificate in keys/ (rp.crt.pem)"
    );
}

/// Review Appendix A.10: the EC default comes from the node's defaults, like the RSA one.
#[test]
fn id_tokens_sign_with_the_default_key_of_their_algorithm_kind() {
    let mut node = Node::new();
    let oidc = |alg: &str| {
        json!({"oidc-issuer": "https://sts", "oidc-audience": "rp",
        "oidc-signature-algorithm": alg})
    };
    for alg in ["RS256", "ES256", "PS256"] {
        let i = node.rest_oidc(oidc(alg)).unwrap();
        assert_eq!(i.oidc_signing().unwrap().algorithm().name(), alg);
    }
    node.defaults.ec = "missing-ec".into();
    assert_eq!(
        node.rest_oidc(oidc("ES256")).unwrap_err(),
        "oidc-id-token-config.oidc-signature-key-alias `missing-ec` names no key in keys/"
    );
    assert!(node.rest_oidc(oidc("RS256")).is_ok());
    // A key of the wrong kind for the algorithm is refused by the signer.
    let mut wrong = oidc("ES256");
    wrong["oidc-signature-key-alias"] = "sts-signing".into();
    let e = node.rest_oidc(wrong).unwrap_err();
    assert!(e.starts_with("oidc-id-token-config: "), "{e}");
}

#[test]
fn trusted_issuers_bind_their_keys_and_certificates() {
    let node = Node::new();
    std::fs::create_dir_all(node.dir.path().join("jwks")).unwrap();
    std::fs::write(node.dir.path().join("jwks/idp.json"), b"{\"keys\": []}").unwrap();
    std::fs::write(node.dir.path().join("jwks/bad.json"), b"not json").unwrap();
    let rest = |issuer: Value| {
        node.load(
            Kind::Rest,
            &json!({
                "deployment-config": {"deployment-url-element": "r"},
                "saml2-config": {"issuer-name": "sts"},
                "oidc-trusted-issuers": [issuer],
                "supported-token-transforms": [{"inputTokenType": "OPENIDCONNECT",
                    "outputTokenType": "SAML2", "invalidateInterimOpenAMSession": true}]
            }),
        )
    };
    let e = rest(json!({"issuer": "i", "audience": "sts", "jwks-file": "idp.json"})).unwrap_err();
    assert_eq!(
        e,
        "oidc-trusted-issuers[0]: no key can verify RS256 tokens; oidc-trusted-issuers[0]: no key can verify ES256 tokens"
    );
    let e = rest(
        json!({"issuer": "i", "audience": "sts", "jwks-file": "bad.json",
        "algorithms": ["HS256"], "client-secret": "0123456789abcdef0123456789abcdef"}),
    )
    .unwrap_err();
    assert!(
        e.starts_with("oidc-trusted-issuers[0].jwks-file `bad.json`: not JSON"),
        "{e}"
    );
    let i = rest(
        json!({"issuer": "i", "audience": "sts", "algorithms": ["HS256"],
        "client-secret": "0123456789abcdef0123456789abcdef", "principal-claim": "email"}),
    )
    .unwrap();
    let t = &i.oidc_trust()[0];
    assert_eq!(
        (t.issuer.as_str(), t.principal_claim.as_str()),
        ("i", "email")
    );
    assert_eq!(t.keys.len(), 1);

    let e = node
        .soap(|j| {
            j["saml2-trusted-issuers"] =
                json!([{"issuer": "idp", "certificate": "nope", "audience": "sts"}])
        })
        .unwrap_err();
    assert_eq!(
        e,
        "saml2-trusted-issuers[0].certificate `nope` names no certificate in keys/"
    );
    let i = node
        .soap(|j| {
            j["saml2-trusted-issuers"] =
                json!([{"issuer": "idp", "certificate": "sts-signing", "audience": ["sts"]}])
        })
        .unwrap();
    assert_eq!(i.saml_trust()[0].certificate.alias(), "sts-signing");
}

#[test]
fn x509_anchors_must_be_certificates_in_keys() {
    let node = Node::new();
    let e = node
        .soap(|j| j["x509-trust-anchors"] = json!(["sts-signing", "nope"]))
        .unwrap_err();
    assert_eq!(
        e,
        "x509-trust-anchors[1]: `nope` names no certificate in keys/ (nope.crt.pem)"
    );
    let i = node
        .soap(|j| {
            j["x509-trust-anchors"] = json!(["sts-signing"]);
            j["x509-revoked-serials"] = json!(["00:0a"]);
        })
        .unwrap();
    let trust = i.x509_trust().unwrap();
    assert_eq!(trust.revoked, ["A"]);
    assert!(node.soap(|_| {}).unwrap().x509_trust().is_none());
}

#[test]
fn custom_types_must_name_registered_plugins() {
    let node = Node::new();
    let e = node
        .soap(|j| {
            j["custom-token-providers"] = json!([{"customTokenName": "ticket",
                "customOperationClassName": "tickets", "tokenTypeUri": "urn:x:ticket"}])
        })
        .unwrap_err();
    assert_eq!(
        e,
        "custom-token-providers[0].customOperationClassName `tickets` is not a registered provider (registered: none)"
    );
    let e = node
        .soap(|j| {
            j["custom-token-providers"] = json!([{"customTokenName": "SAML2",
                "customOperationClassName": "tickets"}])
        })
        .unwrap_err();
    assert_eq!(
        e,
        "custom-token-providers[0].customTokenName `SAML2` is a built-in token type"
    );
}
