//! STS instances, from the JSON of OpenAM's publish API to what the engine serves, in stages:
//!
//! 1. [`model`]: pure serde data of `instance_state`;
//! 2. [`parse`]: JSON to the model, every problem named by its path;
//! 3. key-independent rules and key-dependent binding (keys, files, plug-ins);
//! 4. [`registry`]: the instances of this node, from files and the store.
//!
//! Adding an instance option touches one place per stage.

pub mod model;
pub mod parse;
pub mod registry;

pub use model::*;

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
