//! Custom token types an instance names: plug-ins by registered name, and transforms.

use serde::{Deserialize, Serialize};

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

/// A `custom-token-transforms` entry: like [`super::TokenTransform`], with custom type names.
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
        deserialize_with = "super::serde_compat::str_bool::deserialize"
    )]
    pub invalidate_interim_session: bool,
}
