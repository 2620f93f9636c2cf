//! Issuers whose tokens an instance accepts as input (sts extensions).

use serde::{Deserialize, Serialize};

/// An issuer whose SAML 2.0 assertions a SOAP instance accepts as input (sts extension).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustedSamlIssuerConfig {
    /// The exact `saml2:Issuer` of its assertions.
    pub issuer: String,
    /// Alias of its signing certificate in keys/.
    pub certificate: String,
    /// Every AudienceRestriction of an assertion must name one of these.
    #[serde(with = "super::serde_compat::one_or_many")]
    pub audience: Vec<String>,
}

/// An issuer whose id_tokens an instance accepts as input (sts extension).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustedIssuerConfig {
    /// The exact `iss` of its tokens.
    pub issuer: String,
    /// At least one must be in the token's `aud`.
    #[serde(with = "super::serde_compat::one_or_many")]
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
    /// OpenAM's behaviour, off by default: an id_token of this issuer without a `jti` may be
    /// presented again and again until it expires. Otherwise such a token is accepted once
    /// (keyed on its signed content), like every other input credential.
    #[serde(
        rename = "insecure-accept-replays-without-jti",
        default,
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub insecure_accept_replays_without_jti: bool,
}

fn default_trusted_algorithms() -> Vec<String> {
    vec!["RS256".to_owned(), "ES256".to_owned()]
}

fn sub_claim() -> String {
    "sub".to_owned()
}
