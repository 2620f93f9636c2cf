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

/// A `custom-token-transforms` entry: a [`Transform`](super::Transform) whose type names are
/// free text (at least one of them a custom type).
pub type CustomTokenTransform = super::Transform<String>;
