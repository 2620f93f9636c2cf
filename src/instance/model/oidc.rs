//! `oidc-id-token-config`: how an instance issues OpenID Connect id_tokens.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `oidc-id-token-config` (`OpenIdConnectTokenConfig`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcConfig {
    #[serde(rename = "oidc-issuer")]
    pub issuer: String,
    #[serde(
        rename = "oidc-token-lifetime-seconds",
        with = "super::serde_compat::str_u64",
        default = "super::serde_compat::ten_minutes"
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
    #[serde(rename = "oidc-audience", with = "super::serde_compat::one_or_many")]
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
