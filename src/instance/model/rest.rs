//! A REST STS instance (`RestSTSInstanceConfig`) and its transforms.

use serde::{Deserialize, Serialize};

use super::common::{deployment_config, instance_config};
use super::{CustomTokenOperation, CustomTokenTransform};
use crate::instance::TokenType;

instance_config! {
    /// A REST STS instance (`RestSTSInstanceConfig`).
    pub struct RestInstanceConfig {
        deployment: RestDeploymentConfig,
        [
            #[serde(rename = "supported-token-transforms")]
            pub supported_token_transforms: Vec<TokenTransform>,
        ]
        [
            /// Validators of custom token types.
            #[serde(rename = "custom-token-validators", default)]
            pub custom_token_validators: Vec<CustomTokenOperation>,
            /// Providers of custom token types.
            #[serde(rename = "custom-token-providers", default)]
            pub custom_token_providers: Vec<CustomTokenOperation>,
            /// Transforms involving custom token types (names are free text).
            #[serde(rename = "custom-token-transforms", default)]
            pub custom_token_transforms: Vec<CustomTokenTransform>,
        ]
    }
}

/// One `supported-token-transforms` entry.
pub type TokenTransform = Transform<TokenType>;

/// A transform of a REST instance: input token type to output token type. `T` is
/// [`TokenType`] for built-in transforms and free text for custom ones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transform<T> {
    #[serde(rename = "inputTokenType")]
    pub input: T,
    #[serde(rename = "outputTokenType")]
    pub output: T,
    /// A JSON boolean, as AM writes it here (a string is read too).
    #[serde(
        rename = "invalidateInterimOpenAMSession",
        deserialize_with = "super::serde_compat::str_bool::deserialize"
    )]
    pub invalidate_interim_session: bool,
}

deployment_config! {
    /// `deployment-config` of a REST instance (`RestDeploymentConfig`).
    pub struct RestDeploymentConfig {}
}
