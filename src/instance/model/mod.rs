//! STS instance configuration in the JSON of OpenAM's publish API (`instance_state`): pure
//! serde data, no rules beyond the shape.
//!
//! Key names and wire types follow OpenAM 13.5: many booleans and numbers travel as strings
//! (`"persist-issued-tokens-in-cts":"false"`), some as JSON booleans. Input accepts both forms;
//! output is written the way OpenAM writes it. Unknown keys are refused, so that a typo never
//! silently falls back to a default. Keys marked "sts extension" are not in OpenAM.

mod common;
mod custom;
mod oidc;
mod rest;
mod saml2;
mod secrets;
pub(crate) mod serde_compat;
mod soap;
mod trust;

pub use custom::{CustomTokenOperation, CustomTokenTransform};
pub use oidc::OidcConfig;
pub use rest::{RestInstanceConfig, TokenTransform, Transform};
pub use saml2::{DEFAULT_RENEW_MAX_AGE_SECS, Saml2Config};
pub use secrets::{is_secret_path, keep_secrets, redact};
pub use soap::SoapInstanceConfig;
pub use trust::{TrustedIssuerConfig, TrustedSamlIssuerConfig};

use super::{Kind, TokenType};

/// The configuration of a REST or SOAP instance.
// Both variants are about 1 KB and live behind an `Arc` in the registry: boxing buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum InstanceConfig {
    Rest(RestInstanceConfig),
    Soap(SoapInstanceConfig),
}

/// Evaluates `$e` with `$c` bound to either variant: the shared fields have the same names
/// in both (see `common.rs`), so one expression serves both.
macro_rules! either {
    ($self:expr, $c:ident => $e:expr) => {
        match $self {
            InstanceConfig::Rest($c) => $e,
            InstanceConfig::Soap($c) => $e,
        }
    };
}

impl InstanceConfig {
    /// Reads `instance_state` JSON of the given kind; unknown keys are errors.
    pub fn from_json(
        kind: Kind,
        v: serde_json::Value,
    ) -> Result<InstanceConfig, serde_json::Error> {
        Ok(match kind {
            Kind::Rest => InstanceConfig::Rest(serde_json::from_value(v)?),
            Kind::Soap => InstanceConfig::Soap(serde_json::from_value(v)?),
        })
    }

    /// The configuration as OpenAM writes it, secrets included (for the store only).
    pub fn to_json(&self) -> serde_json::Value {
        either!(self, c => serde_json::to_value(c)).unwrap_or(serde_json::Value::Null)
    }

    pub fn kind(&self) -> Kind {
        match self {
            InstanceConfig::Rest(_) => Kind::Rest,
            InstanceConfig::Soap(_) => Kind::Soap,
        }
    }

    pub fn realm(&self) -> &str {
        either!(self, c => &c.deployment.realm)
    }

    /// Replaces the realm (with its normal form, when the instance is resolved).
    pub(crate) fn set_realm(&mut self, realm: String) {
        either!(self, c => c.deployment.realm = realm)
    }

    pub fn url_element(&self) -> &str {
        either!(self, c => &c.deployment.url_element)
    }

    /// See [`subpath`].
    pub fn subpath(&self) -> String {
        subpath(self.realm(), self.url_element())
    }

    pub fn saml2(&self) -> Option<&Saml2Config> {
        either!(self, c => c.saml2.as_ref())
    }

    pub fn oidc(&self) -> Option<&OidcConfig> {
        either!(self, c => c.oidc.as_ref())
    }

    pub fn persist_issued_tokens(&self) -> bool {
        either!(self, c => c.persist_issued_tokens)
    }

    /// Whether the instance issues tokens of type `t` at all.
    pub fn issues(&self, t: TokenType) -> bool {
        match self {
            InstanceConfig::Rest(c) => {
                c.supported_token_transforms.iter().any(|x| x.output == t)
                    || c.custom_token_transforms
                        .iter()
                        .any(|x| x.output == t.name())
            }
            InstanceConfig::Soap(c) => c.issued_token_types.contains(&t),
        }
    }

    /// Whether a REST instance takes input tokens of type `t`, in a built-in or a custom
    /// transform.
    pub fn takes(&self, t: TokenType) -> bool {
        self.rest().is_some_and(|c| {
            c.supported_token_transforms.iter().any(|x| x.input == t)
                || c.custom_token_transforms
                    .iter()
                    .any(|x| x.input == t.name())
        })
    }

    /// Whether a SOAP instance's security policy accepts `t` as an input token.
    pub fn accepts(&self, t: TokenType) -> bool {
        self.soap().is_some_and(|c| {
            c.validated_tokens
                .iter()
                .any(|v| v.validated_token_type == t)
        })
    }

    /// Issuers whose id_tokens are accepted as input.
    pub fn oidc_trusted_issuers(&self) -> &[TrustedIssuerConfig] {
        either!(self, c => &c.oidc_trusted_issuers)
    }

    /// `x509-trust-anchors`, `x509-revoked-serials`, `deployment-auth-target-mappings`.
    pub fn x509_settings(
        &self,
    ) -> (
        &[String],
        &[String],
        &serde_json::Map<String, serde_json::Value>,
    ) {
        either!(self, c => (
            &c.x509_trust_anchors,
            &c.x509_revoked_serials,
            &c.deployment.auth_target_mappings,
        ))
    }

    /// `deployment-offloaded-two-way-tls-header-key` and `deployment-tls-offload-engine-hosts`.
    pub fn tls_offload(&self) -> (Option<&str>, &[String]) {
        either!(self, c => (
            c.deployment.offloaded_tls_header_key.as_deref(),
            &c.deployment.tls_offload_engine_hosts,
        ))
    }

    /// `custom-token-providers` (both kinds) and `custom-token-validators` (REST only).
    pub fn custom_operations(&self) -> (&[CustomTokenOperation], &[CustomTokenOperation]) {
        match self {
            InstanceConfig::Rest(c) => (&c.custom_token_validators, &c.custom_token_providers),
            InstanceConfig::Soap(c) => (&[], &c.custom_token_providers),
        }
    }

    pub fn soap(&self) -> Option<&SoapInstanceConfig> {
        match self {
            InstanceConfig::Soap(c) => Some(c),
            InstanceConfig::Rest(_) => None,
        }
    }

    pub fn rest(&self) -> Option<&RestInstanceConfig> {
        match self {
            InstanceConfig::Rest(c) => Some(c),
            InstanceConfig::Soap(_) => None,
        }
    }
}

/// Joins realm and url element the way OpenAM names instances.
pub fn subpath(realm: &str, url_element: &str) -> String {
    let joined = format!(
        "{}/{}",
        realm.trim_matches('/'),
        url_element.trim_matches('/')
    );
    joined.trim_matches('/').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_openam_json_and_writes_it_back_in_openam_types() {
        let json = r#"{
          "deployment-config": {"deployment-url-element": "soap-x", "deployment-realm": "/myRealm",
             "deployment-auth-target-mappings": {}, "deployment-wsdl-location": "sts_ut_transport.wsdl",
             "deployment-am-url": null},
          "saml2-config": {"issuer-name": "idp", "saml2-sp-entity-id": "sp", "saml2-sign-assertion": "true",
             "saml2-token-lifetime-seconds": "300", "saml2-attribute-map": {"email": "mail"}},
          "persist-issued-tokens-in-cts": "false",
          "security-policy-validated-token-config": [{"validatedTokenType": "USERNAME", "invalidateInterimOpenAMSession": true}],
          "issued-token-types": ["SAML2"],
          "soap-keystore-config": null
        }"#;
        let c: SoapInstanceConfig = serde_json::from_str(json).unwrap();
        assert_eq!(c.subpath(), "myRealm/soap-x");
        let s = c.saml2.as_ref().unwrap();
        assert!(s.sign_assertion);
        assert_eq!(s.token_lifetime_seconds, 300);
        assert!(!c.persist_issued_tokens);
        let back = serde_json::to_value(&c).unwrap();
        assert_eq!(back["persist-issued-tokens-in-cts"], "false");
        assert_eq!(back["saml2-config"]["saml2-token-lifetime-seconds"], "300");
        assert_eq!(
            back["security-policy-validated-token-config"][0]["invalidateInterimOpenAMSession"],
            true
        );
    }

    #[test]
    fn refuses_unknown_keys() {
        let json = r#"{"deployment-config": {"deployment-url-element": "x"}, "issued-token-types": ["SAML2"], "saml2-confg": {}}"#;
        let err = serde_json::from_str::<SoapInstanceConfig>(json).unwrap_err();
        assert!(err.to_string().contains("saml2-confg"), "{err}");
    }

    /// serde names the expected keys in declaration order, and the publish API returns that
    /// message: the shared fields must sit where OpenAM's JSON has them.
    #[test]
    fn unknown_key_messages_list_the_keys_in_openam_order() {
        let rest = r#"{"deployment-config": {"deployment-url-element": "x"}, "supported-token-transforms": [], "nope": 1}"#;
        let err = serde_json::from_str::<RestInstanceConfig>(rest).unwrap_err();
        assert!(
            err.to_string().starts_with(
                "unknown field `nope`, expected one of `deployment-config`, `saml2-config`, `oidc-id-token-config`, `persist-issued-tokens-in-cts`, `supported-token-transforms`, `oidc-trusted-issuers`, `x509-trust-anchors`, `x509-revoked-serials`, `custom-token-validators`, `custom-token-providers`, `custom-token-transforms`"
            ),
            "{err}"
        );
        let soap = r#"{"deployment-config": {"deployment-url-element": "x", "nope": 1}, "issued-token-types": []}"#;
        let err = serde_json::from_str::<SoapInstanceConfig>(soap).unwrap_err();
        assert!(
            err.to_string().starts_with(
                "unknown field `nope`, expected one of `deployment-url-element`, `deployment-realm`, `deployment-auth-target-mappings`, `deployment-offloaded-two-way-tls-header-key`, `deployment-tls-offload-engine-hosts`, `deployment-service-name`"
            ),
            "{err}"
        );
    }

    #[test]
    fn shared_accessors_read_either_kind() {
        let rest: RestInstanceConfig = serde_json::from_value(serde_json::json!({
            "deployment-config": {"deployment-url-element": "r", "deployment-realm": "/a",
                "deployment-tls-offload-engine-hosts": ["10.0.0.1"]},
            "persist-issued-tokens-in-cts": false,
            "x509-trust-anchors": ["ca"],
            "supported-token-transforms": [{"inputTokenType": "X509", "outputTokenType": "SAML2",
                "invalidateInterimOpenAMSession": "true"}]
        }))
        .unwrap();
        let mut c = InstanceConfig::Rest(rest);
        assert_eq!((c.kind(), c.subpath().as_str()), (Kind::Rest, "a/r"));
        assert!(!c.persist_issued_tokens());
        assert!(c.takes(TokenType::X509) && c.issues(TokenType::Saml2));
        assert!(!c.accepts(TokenType::X509) && !c.issues(TokenType::OpenIdConnect));
        assert_eq!(c.x509_settings().0, ["ca".to_owned()]);
        assert_eq!(c.tls_offload(), (None, &["10.0.0.1".to_owned()][..]));
        c.set_realm("b".into());
        assert_eq!(c.subpath(), "b/r");
        // Absent fields are written back with OpenAM's defaults, sorted by key.
        let back = c.to_json();
        assert_eq!(back["persist-issued-tokens-in-cts"], "false");
        assert!(back.get("oidc-trusted-issuers").is_none());
        assert_eq!(back["custom-token-providers"], serde_json::json!([]));
    }
}
