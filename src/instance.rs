//! STS instance configuration in the JSON of OpenAM's publish API (`instance_state`).
//!
//! Key names and wire types follow OpenAM 13.5: many booleans and numbers travel as strings
//! (`"persist-issued-tokens-in-cts":"false"`), some as JSON booleans. Input accepts both forms;
//! output is written the way OpenAM writes it. Unknown keys are refused, so that a typo never
//! silently falls back to a default. Keys marked "sts extension" are not in OpenAM.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Token types of OpenAM's STS (`TokenType.name()`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TokenType {
    #[serde(rename = "USERNAME")]
    Username,
    #[serde(rename = "OPENAM")]
    OpenAm,
    #[serde(rename = "X509")]
    X509,
    #[serde(rename = "OPENIDCONNECT")]
    OpenIdConnect,
    #[serde(rename = "SAML2")]
    Saml2,
}

impl TokenType {
    /// The name on the wire (`token_type`, `inputTokenType`, the store's `token_type`).
    pub fn name(self) -> &'static str {
        match self {
            TokenType::Username => "USERNAME",
            TokenType::OpenAm => "OPENAM",
            TokenType::X509 => "X509",
            TokenType::OpenIdConnect => "OPENIDCONNECT",
            TokenType::Saml2 => "SAML2",
        }
    }

    /// The built-in type named `name` exactly, if any.
    pub fn from_name(name: &str) -> Option<TokenType> {
        [
            TokenType::Username,
            TokenType::OpenAm,
            TokenType::X509,
            TokenType::OpenIdConnect,
            TokenType::Saml2,
        ]
        .into_iter()
        .find(|t| t.name() == name)
    }
}

/// A SOAP STS instance (`SoapSTSInstanceConfig`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SoapInstanceConfig {
    #[serde(rename = "deployment-config")]
    pub deployment: SoapDeploymentConfig,
    #[serde(
        rename = "saml2-config",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub saml2: Option<Saml2Config>,
    #[serde(
        rename = "oidc-id-token-config",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub oidc: Option<OidcConfig>,
    #[serde(
        rename = "persist-issued-tokens-in-cts",
        with = "str_bool",
        default = "yes"
    )]
    pub persist_issued_tokens: bool,
    #[serde(rename = "security-policy-validated-token-config", default)]
    pub validated_tokens: Vec<TokenValidationConfig>,
    /// sts extension: issuers whose id_tokens are accepted as OPENIDCONNECT input.
    #[serde(
        rename = "oidc-trusted-issuers",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub oidc_trusted_issuers: Vec<TrustedIssuerConfig>,
    /// sts extension: aliases of CA certificates in keys/ that X509 input must chain to.
    #[serde(
        rename = "x509-trust-anchors",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub x509_trust_anchors: Vec<String>,
    /// sts extension: certificate serial numbers (hex) refused even when they chain.
    #[serde(
        rename = "x509-revoked-serials",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub x509_revoked_serials: Vec<String>,
    /// sts extension: issuers whose signed assertions are accepted as SAML2 input.
    #[serde(
        rename = "saml2-trusted-issuers",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub saml2_trusted_issuers: Vec<TrustedSamlIssuerConfig>,
    /// sts extension: providers of custom token types, each with the `tokenTypeUri` a
    /// client names in `wst:TokenType`.
    #[serde(
        rename = "custom-token-providers",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub custom_token_providers: Vec<CustomTokenOperation>,

    #[serde(rename = "soap-keystore-config", default)]
    pub keystore: Option<SoapKeystoreConfig>,
    #[serde(rename = "issued-token-types")]
    pub issued_token_types: Vec<TokenType>,
    #[serde(
        rename = "delegation-relationship-supported",
        with = "str_bool",
        default
    )]
    pub delegation_supported: bool,
    #[serde(rename = "soap-delegation-config", default)]
    pub delegation: Option<SoapDelegationConfig>,
}

/// A REST STS instance (`RestSTSInstanceConfig`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestInstanceConfig {
    #[serde(rename = "deployment-config")]
    pub deployment: RestDeploymentConfig,
    #[serde(
        rename = "saml2-config",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub saml2: Option<Saml2Config>,
    #[serde(
        rename = "oidc-id-token-config",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub oidc: Option<OidcConfig>,
    #[serde(
        rename = "persist-issued-tokens-in-cts",
        with = "str_bool",
        default = "yes"
    )]
    pub persist_issued_tokens: bool,
    #[serde(rename = "supported-token-transforms")]
    pub supported_token_transforms: Vec<TokenTransform>,
    /// sts extension: issuers whose id_tokens are accepted as OPENIDCONNECT input.
    #[serde(
        rename = "oidc-trusted-issuers",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub oidc_trusted_issuers: Vec<TrustedIssuerConfig>,
    /// sts extension: aliases of CA certificates in keys/ that X509 input must chain to.
    #[serde(
        rename = "x509-trust-anchors",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub x509_trust_anchors: Vec<String>,
    /// sts extension: certificate serial numbers (hex) refused even when they chain.
    #[serde(
        rename = "x509-revoked-serials",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub x509_revoked_serials: Vec<String>,

    /// Validators of custom token types.
    #[serde(rename = "custom-token-validators", default)]
    pub custom_token_validators: Vec<CustomTokenOperation>,
    /// Providers of custom token types.
    #[serde(rename = "custom-token-providers", default)]
    pub custom_token_providers: Vec<CustomTokenOperation>,
    /// Transforms involving custom token types (names are free text).
    #[serde(rename = "custom-token-transforms", default)]
    pub custom_token_transforms: Vec<CustomTokenTransform>,
}

/// A `custom-token-validators` / `custom-token-providers` entry (`CustomTokenOperation`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomTokenOperation {
    #[serde(rename = "customTokenName")]
    pub token_name: String,
    /// The registered plug-in (AM: a Java class name).
    #[serde(rename = "customOperationClassName")]
    pub operation: String,
    /// sts extension, SOAP providers only: the `wst:TokenType` URI of the type.
    #[serde(
        rename = "tokenTypeUri",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub token_type_uri: Option<String>,
}

/// A `custom-token-transforms` entry: like [`TokenTransform`], with custom type names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomTokenTransform {
    #[serde(rename = "inputTokenType")]
    pub input: String,
    #[serde(rename = "outputTokenType")]
    pub output: String,
    /// A JSON boolean, as AM writes it here (a string is read too).
    #[serde(
        rename = "invalidateInterimOpenAMSession",
        deserialize_with = "str_bool::deserialize"
    )]
    pub invalidate_interim_session: bool,
}

/// An issuer whose SAML 2.0 assertions a SOAP instance accepts as input (sts extension).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustedSamlIssuerConfig {
    /// The exact `saml2:Issuer` of its assertions.
    pub issuer: String,
    /// Alias of its signing certificate in keys/.
    pub certificate: String,
    /// Every AudienceRestriction of an assertion must name one of these.
    #[serde(with = "one_or_many")]
    pub audience: Vec<String>,
}

/// An issuer whose id_tokens an instance accepts as input (sts extension).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustedIssuerConfig {
    /// The exact `iss` of its tokens.
    pub issuer: String,
    /// At least one must be in the token's `aud`.
    #[serde(with = "one_or_many")]
    pub audience: Vec<String>,
    /// JWS algorithms accepted (default RS256 and ES256); `none` is never accepted.
    #[serde(default = "default_trusted_algorithms")]
    pub algorithms: Vec<String>,
    /// The issuer's verification keys as a JWK set (`{"keys": [...]}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks: Option<serde_json::Value>,
    /// ...or a file holding that JWK set, read whenever the instance is loaded.
    #[serde(rename = "jwks-file", default, skip_serializing_if = "Option::is_none")]
    pub jwks_file: Option<String>,
    /// The shared secret of HS256/384/512 tokens.
    #[serde(
        rename = "client-secret",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub client_secret: Option<crate::secret::Secret<String>>,
    /// The claim that names the principal (default `sub`).
    #[serde(rename = "principal-claim", default = "sub_claim")]
    pub principal_claim: String,
}

fn default_trusted_algorithms() -> Vec<String> {
    vec!["RS256".to_owned(), "ES256".to_owned()]
}

fn sub_claim() -> String {
    "sub".to_owned()
}

/// One `supported-token-transforms` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenTransform {
    #[serde(rename = "inputTokenType")]
    pub input: TokenType,
    #[serde(rename = "outputTokenType")]
    pub output: TokenType,
    /// A JSON boolean, as AM writes it here (a string is read too).
    #[serde(
        rename = "invalidateInterimOpenAMSession",
        deserialize_with = "str_bool::deserialize"
    )]
    pub invalidate_interim_session: bool,
}

/// `deployment-config` of a REST instance (`RestDeploymentConfig`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestDeploymentConfig {
    #[serde(rename = "deployment-url-element")]
    pub url_element: String,
    #[serde(rename = "deployment-realm", default = "root_realm")]
    pub realm: String,
    #[serde(rename = "deployment-auth-target-mappings", default)]
    pub auth_target_mappings: serde_json::Map<String, serde_json::Value>,
    #[serde(rename = "deployment-offloaded-two-way-tls-header-key", default)]
    pub offloaded_tls_header_key: Option<String>,
    #[serde(rename = "deployment-tls-offload-engine-hosts", default)]
    pub tls_offload_engine_hosts: Vec<String>,
}

/// `oidc-id-token-config` (`OpenIdConnectTokenConfig`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcConfig {
    #[serde(rename = "oidc-issuer")]
    pub issuer: String,
    #[serde(
        rename = "oidc-token-lifetime-seconds",
        with = "str_u64",
        default = "ten_minutes"
    )]
    pub token_lifetime_seconds: u64,
    /// HS256/384/512, RS256/384/512, ES256/384/512 or PS256.
    #[serde(rename = "oidc-signature-algorithm", default = "rs256")]
    pub signature_algorithm: String,
    /// `NONE` (a `kid` only) or `JWK` (the public key in the JWS header).
    #[serde(rename = "oidc-public-key-reference-type", default = "none_ref")]
    pub public_key_reference_type: String,
    #[serde(rename = "oidc-keystore-location", default)]
    pub keystore_location: Option<String>,
    #[serde(rename = "oidc-keystore-password", default)]
    pub keystore_password: Option<crate::secret::Secret<String>>,
    /// Names a key in the data directory's `keys/` folder (RS/ES/PS algorithms).
    #[serde(rename = "oidc-signature-key-alias", default)]
    pub signature_key_alias: Option<String>,
    #[serde(rename = "oidc-signature-key-password", default)]
    pub signature_key_password: Option<crate::secret::Secret<String>>,
    /// The HMAC key of the HS algorithms.
    #[serde(rename = "oidc-client-secret", default)]
    pub client_secret: Option<crate::secret::Secret<String>>,
    /// `aud` of the id_token; OpenAM accepts a string or a list.
    #[serde(rename = "oidc-audience", with = "one_or_many")]
    pub audience: Vec<String>,
    #[serde(rename = "oidc-authorized-party", default)]
    pub authorized_party: Option<String>,
    /// Claim name -> user attribute name.
    #[serde(rename = "oidc-claim-map", default)]
    pub claim_map: BTreeMap<String, String>,
    #[serde(rename = "oidc-custom-claim-mapper-class", default)]
    pub custom_claim_mapper: Option<String>,
    #[serde(rename = "oidc-custom-authn-context-mapper-class", default)]
    pub custom_authn_context_mapper: Option<String>,
    #[serde(rename = "oidc-custom-authn-method-references-mapper-class", default)]
    pub custom_authn_method_references_mapper: Option<String>,
}

fn rs256() -> String {
    "RS256".to_owned()
}

fn none_ref() -> String {
    "NONE".to_owned()
}

/// Which publish endpoint an instance belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Rest,
    Soap,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Rest => "rest",
            Kind::Soap => "soap",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        match s {
            "rest" => Some(Kind::Rest),
            "soap" => Some(Kind::Soap),
            _ => None,
        }
    }
}

/// The configuration of a REST or SOAP instance.
// Both variants are about 1 KB and live behind an `Arc` in the registry: boxing buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum InstanceConfig {
    Rest(RestInstanceConfig),
    Soap(SoapInstanceConfig),
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
        match self {
            InstanceConfig::Rest(c) => serde_json::to_value(c),
            InstanceConfig::Soap(c) => serde_json::to_value(c),
        }
        .unwrap_or(serde_json::Value::Null)
    }

    pub fn kind(&self) -> Kind {
        match self {
            InstanceConfig::Rest(_) => Kind::Rest,
            InstanceConfig::Soap(_) => Kind::Soap,
        }
    }

    pub fn realm(&self) -> &str {
        match self {
            InstanceConfig::Rest(c) => &c.deployment.realm,
            InstanceConfig::Soap(c) => &c.deployment.realm,
        }
    }

    pub fn url_element(&self) -> &str {
        match self {
            InstanceConfig::Rest(c) => &c.deployment.url_element,
            InstanceConfig::Soap(c) => &c.deployment.url_element,
        }
    }

    /// See [`subpath`].
    pub fn subpath(&self) -> String {
        subpath(self.realm(), self.url_element())
    }

    pub fn saml2(&self) -> Option<&Saml2Config> {
        match self {
            InstanceConfig::Rest(c) => c.saml2.as_ref(),
            InstanceConfig::Soap(c) => c.saml2.as_ref(),
        }
    }

    pub fn oidc(&self) -> Option<&OidcConfig> {
        match self {
            InstanceConfig::Rest(c) => c.oidc.as_ref(),
            InstanceConfig::Soap(c) => c.oidc.as_ref(),
        }
    }

    pub fn persist_issued_tokens(&self) -> bool {
        match self {
            InstanceConfig::Rest(c) => c.persist_issued_tokens,
            InstanceConfig::Soap(c) => c.persist_issued_tokens,
        }
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

    /// Issuers whose id_tokens are accepted as input.
    pub fn oidc_trusted_issuers(&self) -> &[TrustedIssuerConfig] {
        match self {
            InstanceConfig::Rest(c) => &c.oidc_trusted_issuers,
            InstanceConfig::Soap(c) => &c.oidc_trusted_issuers,
        }
    }

    /// `x509-trust-anchors`, `x509-revoked-serials`, `deployment-auth-target-mappings`.
    pub fn x509_settings(
        &self,
    ) -> (
        &[String],
        &[String],
        &serde_json::Map<String, serde_json::Value>,
    ) {
        match self {
            InstanceConfig::Rest(c) => (
                &c.x509_trust_anchors,
                &c.x509_revoked_serials,
                &c.deployment.auth_target_mappings,
            ),
            InstanceConfig::Soap(c) => (
                &c.x509_trust_anchors,
                &c.x509_revoked_serials,
                &c.deployment.auth_target_mappings,
            ),
        }
    }

    /// `deployment-offloaded-two-way-tls-header-key` and `deployment-tls-offload-engine-hosts`.
    pub fn tls_offload(&self) -> (Option<&str>, &[String]) {
        match self {
            InstanceConfig::Rest(c) => (
                c.deployment.offloaded_tls_header_key.as_deref(),
                &c.deployment.tls_offload_engine_hosts,
            ),
            InstanceConfig::Soap(c) => (
                c.deployment.offloaded_tls_header_key.as_deref(),
                &c.deployment.tls_offload_engine_hosts,
            ),
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

/// Keys whose values are secrets: stored, never returned by the publish API nor logged.
pub const SECRET_KEYS: &[&str] = &[
    "saml2-keystore-password",
    "saml2-signature-key-password",
    "oidc-keystore-password",
    "oidc-signature-key-password",
    "oidc-client-secret",
    "soap-keystore-password",
    "soap-signature-key-password",
    "soap-encryption-key-password",
    "client-secret",
];

/// Removes every secret from configuration JSON (at any depth).
pub fn redact(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(m) => {
            m.retain(|k, _| !SECRET_KEYS.contains(&k.as_str()));
            m.values_mut().for_each(redact);
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(redact),
        _ => {}
    }
}

/// Copies into `new` each secret that `old` has and `new` omits at the same place, so that
/// an update built from a (redacted) read keeps the stored secrets. A secret sent as `null`
/// is removed.
pub fn keep_secrets(new: &mut serde_json::Value, old: &serde_json::Value) {
    let (serde_json::Value::Object(n), serde_json::Value::Object(o)) = (new, old) else {
        return;
    };
    for (k, ov) in o {
        if SECRET_KEYS.contains(&k.as_str()) {
            if !n.contains_key(k) {
                n.insert(k.clone(), ov.clone());
            }
        } else if let Some(nv) = n.get_mut(k) {
            keep_secrets(nv, ov);
        }
    }
}

fn yes() -> bool {
    true
}

/// `security-policy-validated-token-config` entries.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenValidationConfig {
    #[serde(rename = "validatedTokenType")]
    pub validated_token_type: TokenType,
    #[serde(rename = "invalidateInterimOpenAMSession")]
    pub invalidate_interim_session: bool,
}

/// `soap-delegation-config` (`SoapDelegationConfig`): what an `OnBehalfOf` token may be.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SoapDelegationConfig {
    #[serde(rename = "delegation-validated-token-types", default)]
    pub validated_token_types: Vec<TokenValidationConfig>,
    /// Java classes of OpenAM; refused.
    #[serde(rename = "delegation-custom-token-handlers", default)]
    pub custom_token_handlers: Vec<String>,
}

/// `deployment-config` of a SOAP instance (`SoapDeploymentConfig`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SoapDeploymentConfig {
    #[serde(rename = "deployment-url-element")]
    pub url_element: String,
    #[serde(rename = "deployment-realm", default = "root_realm")]
    pub realm: String,
    #[serde(rename = "deployment-auth-target-mappings", default)]
    pub auth_target_mappings: serde_json::Map<String, serde_json::Value>,
    #[serde(rename = "deployment-offloaded-two-way-tls-header-key", default)]
    pub offloaded_tls_header_key: Option<String>,
    #[serde(rename = "deployment-tls-offload-engine-hosts", default)]
    pub tls_offload_engine_hosts: Vec<String>,
    #[serde(rename = "deployment-service-name", default)]
    pub service_name: Option<String>,
    #[serde(rename = "deployment-service-port", default)]
    pub service_port: Option<String>,
    /// OpenAM's WSDL choice (`sts_ut_transport.wsdl`, ...). This STS generates the WSDL from
    /// the instance, so the value is kept for compatibility and echoed back.
    #[serde(rename = "deployment-wsdl-location", default = "default_wsdl")]
    pub wsdl_location: String,
    #[serde(rename = "deployment-custom-wsdl-location", default)]
    pub custom_wsdl_location: Option<String>,
    #[serde(rename = "deployment-custom-service-port", default)]
    pub custom_service_port: Option<String>,
    #[serde(rename = "deployment-custom-service-name", default)]
    pub custom_service_name: Option<String>,
    #[serde(rename = "deployment-am-url", default)]
    pub am_url: Option<String>,
}

fn root_realm() -> String {
    "/".to_owned()
}

fn default_wsdl() -> String {
    "sts_ut_transport.wsdl".to_owned()
}

/// `soap-keystore-config`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SoapKeystoreConfig {
    #[serde(rename = "soap-keystore-filename", default)]
    pub filename: Option<String>,
    #[serde(rename = "soap-keystore-password", default)]
    pub password: Option<crate::secret::Secret<String>>,
    #[serde(rename = "soap-signature-key-alias", default)]
    pub signature_key_alias: Option<String>,
    #[serde(rename = "soap-encryption-key-alias", default)]
    pub encryption_key_alias: Option<String>,
    #[serde(rename = "soap-signature-key-password", default)]
    pub signature_key_password: Option<crate::secret::Secret<String>>,
    #[serde(rename = "soap-encryption-key-password", default)]
    pub encryption_key_password: Option<crate::secret::Secret<String>>,
}

/// `saml2-config` (`SAML2Config`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Saml2Config {
    #[serde(rename = "issuer-name")]
    pub issuer_name: String,
    #[serde(rename = "saml2-name-id-format", default = "unspecified_format")]
    pub name_id_format: String,
    #[serde(
        rename = "saml2-token-lifetime-seconds",
        with = "str_u64",
        default = "ten_minutes"
    )]
    pub token_lifetime_seconds: u64,
    #[serde(rename = "saml2-custom-conditions-provider-class-name", default)]
    pub custom_conditions_provider: Option<String>,
    #[serde(rename = "saml2-custom-subject-provider-class-name", default)]
    pub custom_subject_provider: Option<String>,
    #[serde(
        rename = "saml2-custom-attribute-statements-provider-class-name",
        default
    )]
    pub custom_attribute_statements_provider: Option<String>,
    #[serde(
        rename = "saml2-custom-authentication-statements-provider-class-name",
        default
    )]
    pub custom_authentication_statements_provider: Option<String>,
    #[serde(
        rename = "saml2-custom-authz-decision-statements-provider-class-name",
        default
    )]
    pub custom_authz_decision_statements_provider: Option<String>,
    #[serde(rename = "saml2-custom-attribute-mapper-class-name", default)]
    pub custom_attribute_mapper: Option<String>,
    #[serde(rename = "saml2-custom-authn-context-mapper-class-name", default)]
    pub custom_authn_context_mapper: Option<String>,
    /// Signed unless set to false explicitly (left out or null: signed). OpenAM's default
    /// was unsigned; an assertion nobody can verify is never what a typo should produce.
    #[serde(
        rename = "saml2-sign-assertion",
        serialize_with = "str_bool::serialize",
        deserialize_with = "str_bool::deserialize_or_true",
        default = "yes"
    )]
    pub sign_assertion: bool,
    #[serde(rename = "saml2-encrypt-assertion", with = "str_bool", default)]
    pub encrypt_assertion: bool,
    #[serde(rename = "saml2-encrypt-attributes", with = "str_bool", default)]
    pub encrypt_attributes: bool,
    #[serde(rename = "saml2-encrypt-nameid", with = "str_bool", default)]
    pub encrypt_nameid: bool,
    #[serde(rename = "saml2-encryption-algorithm", default)]
    pub encryption_algorithm: Option<String>,
    #[serde(
        rename = "saml2-encryption-algorithm-strength",
        with = "str_u64",
        default
    )]
    pub encryption_algorithm_strength: u64,
    /// SAML attribute name -> user attribute name.
    #[serde(rename = "saml2-attribute-map", default)]
    pub attribute_map: BTreeMap<String, String>,
    #[serde(rename = "saml2-keystore-filename", default)]
    pub keystore_filename: Option<String>,
    #[serde(rename = "saml2-keystore-password", default)]
    pub keystore_password: Option<crate::secret::Secret<String>>,
    #[serde(rename = "saml2-sp-acs-url", default)]
    pub sp_acs_url: Option<String>,
    #[serde(rename = "saml2-sp-entity-id", default)]
    pub sp_entity_id: Option<String>,
    /// Names a key in the data directory's `keys/` folder (`<alias>.key.pem`, `<alias>.crt.pem`).
    #[serde(rename = "saml2-signature-key-alias", default)]
    pub signature_key_alias: Option<String>,
    #[serde(rename = "saml2-signature-key-password", default)]
    pub signature_key_password: Option<crate::secret::Secret<String>>,
    #[serde(rename = "saml2-encryption-key-alias", default)]
    pub encryption_key_alias: Option<String>,
    /// sts extension: XML-DSig SignatureMethod URI (default RSA-SHA256).
    #[serde(
        rename = "saml2-signature-algorithm",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub signature_algorithm: Option<String>,
    /// sts extension: the AppliesTo addresses tokens may be issued for (besides
    /// `saml2-sp-entity-id`). Empty: any AppliesTo is accepted, as OpenAM does.
    #[serde(
        rename = "saml2-allowed-audiences",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub allowed_audiences: Vec<String>,
    /// sts extension: XML-DSig DigestMethod URI (default SHA-256).
    #[serde(
        rename = "saml2-digest-algorithm",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub digest_algorithm: Option<String>,
}

fn unspecified_format() -> String {
    "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified".to_owned()
}

fn ten_minutes() -> u64 {
    600
}

impl SoapInstanceConfig {
    /// The realm-qualified id OpenAM uses for an instance: realm and url element joined, without
    /// leading or trailing `/` (`username-transformer`, `myRealm/soap-x`).
    pub fn subpath(&self) -> String {
        subpath(&self.deployment.realm, &self.deployment.url_element)
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

/// OpenAM writes booleans as `"true"`/`"false"`; accept those and JSON booleans.
mod str_bool {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(v: &bool, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(if *v { "true" } else { "false" })
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::Bool(b) => Ok(b),
            serde_json::Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
            serde_json::Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
            serde_json::Value::Null => Ok(false),
            other => Err(D::Error::custom(format!(
                "expected \"true\" or \"false\", found {other}"
            ))),
        }
    }

    /// Like [`deserialize`], but null means true (for settings that default to true).
    pub fn deserialize_or_true<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::Null => Ok(true),
            other => deserialize(other).map_err(D::Error::custom),
        }
    }
}

/// A string or a list of strings.
mod one_or_many {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(v: &[String], s: S) -> Result<S::Ok, S::Error> {
        v.serialize(s)
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
        Ok(match OneOrMany::deserialize(d)? {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        })
    }
}

/// OpenAM writes numbers as strings; accept those and JSON numbers.
mod str_u64 {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::Number(n) => n
                .as_u64()
                .ok_or_else(|| D::Error::custom("expected a non-negative integer")),
            serde_json::Value::String(s) => s
                .trim()
                .parse()
                .map_err(|_| D::Error::custom(format!("expected a number, found \"{s}\""))),
            other => Err(D::Error::custom(format!(
                "expected a number, found {other}"
            ))),
        }
    }
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
    fn secrets_are_redacted_and_kept_across_updates() {
        let old = serde_json::json!({
            "saml2-config": {"issuer-name": "a", "saml2-keystore-password": "k1"},
            "oidc-id-token-config": {"oidc-client-secret": "c1", "oidc-issuer": "i"}
        });
        let mut shown = old.clone();
        redact(&mut shown);
        assert!(!shown.to_string().contains("k1") && !shown.to_string().contains("c1"));
        assert_eq!(shown["saml2-config"]["issuer-name"], "a");
        // An update built from the redacted read keeps both secrets; an explicit null drops one,
        // a new value replaces one.
        let mut new = shown.clone();
        new["oidc-id-token-config"]["oidc-client-secret"] = serde_json::Value::Null;
        new["saml2-config"]["saml2-keystore-password"] = "k2".into();
        keep_secrets(&mut new, &old);
        assert_eq!(new["saml2-config"]["saml2-keystore-password"], "k2");
        assert!(new["oidc-id-token-config"]["oidc-client-secret"].is_null());
        let mut again = shown;
        keep_secrets(&mut again, &old);
        assert_eq!(again, old);
    }

    #[test]
    fn refuses_unknown_keys() {
        let json = r#"{"deployment-config": {"deployment-url-element": "x"}, "issued-token-types": ["SAML2"], "saml2-confg": {}}"#;
        let err = serde_json::from_str::<SoapInstanceConfig>(json).unwrap_err();
        assert!(err.to_string().contains("saml2-confg"), "{err}");
    }
}
