//! The key-independent rules, one by one, on JSON as an operator writes it.

use serde_json::{Value, json};

use super::*;
use crate::instance::{Kind, parse::parse};

/// Problems of `state` (parse and validate), and the checked configuration.
fn check(kind: Kind, state: Value) -> (Option<InstanceConfig>, Vec<String>) {
    let mut problems = Vec::new();
    let config = parse(kind, &state, &mut problems).map(|mut c| {
        validate(&mut c, &mut problems);
        c
    });
    (config, problems)
}

fn soap(edit: impl FnOnce(&mut Value)) -> Vec<String> {
    let mut j = crate::datadir::demo_instance();
    edit(&mut j);
    check(Kind::Soap, j).1
}

fn rest(edit: impl FnOnce(&mut Value)) -> Vec<String> {
    let mut j = json!({
        "deployment-config": {"deployment-url-element": "r"},
        "oidc-id-token-config": {"oidc-issuer": "https://sts", "oidc-audience": "rp",
            "oidc-signature-algorithm": "RS256"},
        "supported-token-transforms": [{"inputTokenType": "USERNAME",
            "outputTokenType": "OPENIDCONNECT", "invalidateInterimOpenAMSession": true}]
    });
    edit(&mut j);
    check(Kind::Rest, j).1
}

/// `problems` is exactly one sentence, which starts with `start`.
#[track_caller]
fn one(problems: Vec<String>, start: &str) {
    assert!(
        problems.len() == 1 && problems[0].starts_with(start),
        "expected only `{start}...`, got {problems:?}"
    );
}

#[test]
fn the_demo_instances_pass() {
    assert_eq!(soap(|_| {}), Vec::<String>::new());
    assert_eq!(rest(|_| {}), Vec::<String>::new());
}

#[test]
fn url_element_and_realm_are_path_segments_and_the_realm_is_normalised() {
    for bad in ["", ".", "..", "a/b", "a b", "ä"] {
        one(
            soap(|j| j["deployment-config"]["deployment-url-element"] = bad.into()),
            &format!("deployment-config.deployment-url-element `{bad}` must be one path segment"),
        );
    }
    one(
        soap(|j| j["deployment-config"]["deployment-realm"] = "/a/../b".into()),
        "deployment-config.deployment-realm `/a/../b` must be realm names",
    );
    let mut j = crate::datadir::demo_instance();
    j["deployment-config"]["deployment-realm"] = "a/b/".into();
    let (c, p) = check(Kind::Soap, j);
    assert!(p.is_empty(), "{p:?}");
    let c = c.unwrap();
    assert_eq!(
        (c.realm(), c.subpath().as_str()),
        ("/a/b", "a/b/soap-username-transformer")
    );
}

#[test]
fn offload_headers_are_field_names_and_offload_hosts_ip_addresses() {
    one(
        rest(|j| {
            j["deployment-config"]["deployment-offloaded-two-way-tls-header-key"] =
                "X Client Cert".into()
        }),
        "deployment-config.deployment-offloaded-two-way-tls-header-key `X Client Cert` is not an HTTP header name",
    );
    assert!(
        rest(|j| {
            j["deployment-config"]["deployment-offloaded-two-way-tls-header-key"] =
                "X-Client-Cert".into();
            j["deployment-config"]["deployment-tls-offload-engine-hosts"] =
                json!(["10.0.0.1", "::1"]);
        })
        .is_empty()
    );
    one(
        rest(|j| {
            j["deployment-config"]["deployment-tls-offload-engine-hosts"] =
                json!(["10.0.0.1", "lb.example.com"])
        }),
        "deployment-config.deployment-tls-offload-engine-hosts[1] `lb.example.com` is not an IP address",
    );
}

#[test]
fn reserved_claims_cannot_be_mapped() {
    for claim in RESERVED_CLAIMS {
        one(
            rest(|j| j["oidc-id-token-config"]["oidc-claim-map"] = json!({*claim: "uid"})),
            &format!("oidc-id-token-config.oidc-claim-map may not set the `{claim}` claim"),
        );
    }
    assert!(
        rest(|j| j["oidc-id-token-config"]["oidc-claim-map"] = json!({"email": "mail"})).is_empty()
    );
}

#[test]
fn custom_java_classes_are_refused_wherever_openam_allowed_them() {
    one(
        soap(|j| j["saml2-config"]["saml2-custom-attribute-mapper-class-name"] = "com.x.Y".into()),
        "saml2-config.saml2-custom-attribute-mapper-class-name: custom Java classes are not supported",
    );
    // An empty name names no class.
    assert!(
        soap(|j| j["saml2-config"]["saml2-custom-subject-provider-class-name"] = "".into())
            .is_empty()
    );
    one(
        rest(|j| j["oidc-id-token-config"]["oidc-custom-claim-mapper-class"] = "com.x.Y".into()),
        "oidc-id-token-config.oidc-custom-claim-mapper-class: custom Java classes are not supported",
    );
    one(
        soap(|j| {
            j["soap-delegation-config"] =
                json!({"delegation-custom-token-handlers": ["com.x.Handler"]})
        }),
        "soap-delegation-config.delegation-custom-token-handlers: custom Java classes are not supported",
    );
}

#[test]
fn lifetimes_are_one_second_to_ten_years() {
    for bad in ["0", "315360001"] {
        one(
            soap(|j| j["saml2-config"]["saml2-token-lifetime-seconds"] = bad.into()),
            "saml2-config.saml2-token-lifetime-seconds must be between 1 and 315360000",
        );
        one(
            rest(|j| j["oidc-id-token-config"]["oidc-token-lifetime-seconds"] = bad.into()),
            "oidc-id-token-config.oidc-token-lifetime-seconds must be between 1 and 315360000",
        );
    }
    assert!(
        soap(|j| j["saml2-config"]["saml2-token-lifetime-seconds"] = "315360000".into()).is_empty()
    );
}

#[test]
fn signing_and_encryption_settings_are_read_without_keys() {
    one(
        soap(|j| {
            j["saml2-config"]["saml2-digest-algorithm"] =
                "http://www.w3.org/2000/09/xmldsig#sha1".into()
        }),
        "saml2-config.saml2-digest-algorithm `http://www.w3.org/2000/09/xmldsig#sha1`: SHA-1 is not offered",
    );
    one(
        soap(|j| {
            j["saml2-config"]["saml2-encrypt-assertion"] = "true".into();
            j["saml2-config"]["saml2-encrypt-nameid"] = "true".into();
        }),
        "saml2-config: saml2-encrypt-assertion already hides NameID and attributes",
    );
    one(
        soap(|j| j["saml2-config"]["saml2-encrypt-attributes"] = "true".into()),
        "saml2-config.saml2-encryption-key-alias must name the relying party's certificate",
    );
    one(
        rest(|j| j["oidc-id-token-config"]["oidc-signature-algorithm"] = "HS256".into()),
        "oidc-id-token-config.oidc-client-secret is required for HS256",
    );
    one(
        rest(|j| j["oidc-id-token-config"]["oidc-public-key-reference-type"] = "X5T".into()),
        "oidc-id-token-config.oidc-public-key-reference-type `X5T` is not NONE or JWK",
    );
}

#[test]
fn trusted_issuer_lists_share_one_rule_set() {
    let oidc = json!({"issuer": "https://idp", "audience": ["sts"], "algorithms": ["HS256"],
        "client-secret": "0123456789abcdef0123456789abcdef"});
    let takes_oidc = |j: &mut Value| {
        j["supported-token-transforms"][0]["inputTokenType"] = "OPENIDCONNECT".into()
    };
    one(
        rest(|j| takes_oidc(j)),
        "OPENIDCONNECT input needs oidc-trusted-issuers",
    );
    assert!(
        rest(|j| {
            takes_oidc(j);
            j["oidc-trusted-issuers"] = json!([oidc]);
        })
        .is_empty()
    );
    let p = rest(|j| j["oidc-trusted-issuers"] = json!([oidc, oidc]));
    one(
        p,
        "oidc-trusted-issuers[1].issuer `https://idp` is listed twice",
    );
    let p = rest(|j| {
        let mut short = oidc.clone();
        short["client-secret"] = "short".into();
        short["algorithms"] = json!(["HS512", "none"]);
        short["audience"] = json!([" "]);
        j["oidc-trusted-issuers"] = json!([short]);
    });
    assert_eq!(
        p,
        [
            "oidc-trusted-issuers[0].audience must name at least one audience",
            "oidc-trusted-issuers[0].algorithms: `none` is not a JWS algorithm this STS verifies",
            "oidc-trusted-issuers[0].client-secret must have at least 64 bytes",
        ]
    );
    let saml = json!({"issuer": "", "certificate": "idp", "audience": "sts"});
    one(
        soap(|j| j["saml2-trusted-issuers"] = json!([saml])),
        "saml2-trusted-issuers[0].issuer must not be empty",
    );
    one(
        soap(|j| {
            j["security-policy-validated-token-config"] =
                json!([{"validatedTokenType": "SAML2", "invalidateInterimOpenAMSession": true}])
        }),
        "SAML2 input needs saml2-trusted-issuers",
    );
}

#[test]
fn x509_input_needs_anchors_and_well_formed_serials_and_mapping() {
    let takes_x509 =
        |j: &mut Value| j["supported-token-transforms"][0]["inputTokenType"] = "X509".into();
    one(
        rest(|j| takes_x509(j)),
        "X509 input needs x509-trust-anchors",
    );
    one(
        rest(|j| {
            takes_x509(j);
            j["x509-trust-anchors"] = json!(["ca"]);
            j["x509-revoked-serials"] = json!(["0A:1B", "xyz"]);
        }),
        "x509-revoked-serials[1]: `xyz` is not a hexadecimal serial number",
    );
    let mapping = |field: Value| {
        rest(move |j| {
            takes_x509(j);
            j["x509-trust-anchors"] = json!(["ca"]);
            j["deployment-config"]["deployment-auth-target-mappings"] =
                json!({"X509": {"mapping-context": {"certificate-field": field}}});
        })
    };
    assert!(mapping("subject DN".into()).is_empty());
    one(
        mapping("issuer CN".into()),
        "deployment-auth-target-mappings.X509.mapping-context.certificate-field `issuer CN` is not one of",
    );
    one(
        mapping(json!(3)),
        "deployment-auth-target-mappings.X509.mapping-context.certificate-field must be a string",
    );
    assert_eq!(serial("00:0a:1B"), Ok("A1B".into()));
}

#[test]
fn kind_rules_soap_delegation_and_rest_transforms() {
    one(
        soap(|j| j["issued-token-types"] = json!([])),
        "issued-token-types must not be empty",
    );
    one(
        soap(|j| j["delegation-relationship-supported"] = "true".into()),
        "delegation-relationship-supported needs soap-delegation-config.delegation-validated-token-types",
    );
    one(
        soap(|j| {
            j["delegation-relationship-supported"] = "true".into();
            j["soap-delegation-config"] = json!({"delegation-validated-token-types": [
                {"validatedTokenType": "X509", "invalidateInterimOpenAMSession": true}]});
        }),
        "soap-delegation-config.delegation-validated-token-types[0]: an X509 OnBehalfOf token proves nothing",
    );
    one(
        soap(|j| j["issued-token-types"] = json!(["SAML2", "OPENIDCONNECT"])),
        "OPENIDCONNECT tokens are issued but oidc-id-token-config is missing",
    );
    let p = rest(|j| {
        j["supported-token-transforms"] = json!([{"inputTokenType": "SAML2",
            "outputTokenType": "USERNAME", "invalidateInterimOpenAMSession": true}])
    });
    assert_eq!(
        p,
        [
            "supported-token-transforms[0]: input token type SAML2 is not supported yet",
            "supported-token-transforms[0]: output token type USERNAME cannot be issued",
        ]
    );
}

#[test]
fn saml1_is_issued_with_a_saml2_config_and_never_taken_as_input() {
    assert_eq!(
        soap(|j| j["issued-token-types"] = json!(["SAML1"])),
        Vec::<String>::new()
    );
    one(
        soap(|j| {
            j["issued-token-types"] = json!(["SAML1"]);
            j["saml2-config"] = Value::Null;
        }),
        "SAML1 tokens are issued but saml2-config",
    );
    one(
        soap(|j| {
            j["security-policy-validated-token-config"] =
                json!([{"validatedTokenType": "SAML1", "invalidateInterimOpenAMSession": true}]);
        }),
        "SAML1 is an output token type only",
    );
    let mut problems = rest(|j| {
        j["supported-token-transforms"] = json!([{"inputTokenType": "SAML1",
            "outputTokenType": "OPENIDCONNECT", "invalidateInterimOpenAMSession": true}]);
    });
    problems.sort();
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("SAML1 is an output token type only")),
        "{problems:?}"
    );
    assert_eq!(
        rest(|j| {
            j["saml2-config"] = json!({"issuer-name": "i"});
            j["supported-token-transforms"] = json!([{"inputTokenType": "USERNAME",
                "outputTokenType": "SAML1", "invalidateInterimOpenAMSession": true}]);
        }),
        Vec::<String>::new()
    );
}
