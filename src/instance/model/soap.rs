//! A SOAP STS instance (`SoapSTSInstanceConfig`) and its SOAP-only blocks.

use serde::{Deserialize, Serialize};

use super::common::{deployment_config, instance_config};
use super::{CustomTokenOperation, TrustedSamlIssuerConfig};
use crate::instance::TokenType;

instance_config! {
    /// A SOAP STS instance (`SoapSTSInstanceConfig`).
    pub struct SoapInstanceConfig {
        deployment: SoapDeploymentConfig,
        [
            #[serde(rename = "security-policy-validated-token-config", default)]
            pub validated_tokens: Vec<TokenValidationConfig>,
        ]
        [
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
            /// sts extension: what a Validate with a `wst:TokenType` other than the status
            /// returns: the validated token (of `inputTokenType`) re-issued as
            /// `outputTokenType`, as CXF's STS does.
            #[serde(
                rename = "supported-token-transforms",
                default,
                skip_serializing_if = "Vec::is_empty"
            )]
            pub supported_token_transforms: Vec<super::TokenTransform>,
            #[serde(
                rename = "delegation-relationship-supported",
                with = "super::serde_compat::str_bool",
                default
            )]
            pub delegation_supported: bool,
            #[serde(rename = "soap-delegation-config", default)]
            pub delegation: Option<SoapDelegationConfig>,
            /// sts extension: whether `wst:ActAs` is served, for the token types and under the
            /// rules of OnBehalfOf (`delegation-relationship-supported`,
            /// `soap-delegation-config`). Off unless set: an ActAs token names another subject
            /// than sender-vouches does, and relying parties must be ready for its actor.
            #[serde(
                rename = "act-as-supported",
                with = "super::serde_compat::str_bool",
                default,
                skip_serializing_if = "std::ops::Not::not"
            )]
            pub act_as_supported: bool,
        ]
    }
}

impl SoapInstanceConfig {
    /// The realm-qualified id OpenAM uses for an instance: realm and url element joined, without
    /// leading or trailing `/` (`username-transformer`, `myRealm/soap-x`).
    pub fn subpath(&self) -> String {
        super::subpath(&self.deployment.realm, &self.deployment.url_element)
    }
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

deployment_config! {
    /// `deployment-config` of a SOAP instance (`SoapDeploymentConfig`).
    pub struct SoapDeploymentConfig {
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
