//! STS instances, from the JSON of OpenAM's publish API to what the engine serves, in stages:
//!
//! 1. [`model`]: pure serde data of `instance_state`;
//! 2. [`parse`]: JSON to the model, every problem named by its path;
//! 3. [`validate`]: key-independent rules;
//! 4. [`resolve`]: key-dependent binding (keys, files, plug-ins) to a [`ResolvedInstance`];
//! 5. [`registry`]: the instances of this node, from files and the store.
//!
//! Adding an instance option touches one place per stage.

pub mod model;
pub mod parse;
pub mod registry;
pub mod resolve;
pub mod validate;

pub use model::*;
pub use resolve::{Binding, DefaultKeys};
pub use validate::MAX_LIFETIME_SECS;

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::crypto::Certificate;
use crate::tokens::oidc::JwsSigner;
use crate::tokens::saml2::Encryption;
use resolve::custom::CustomTypes;
use resolve::x509::X509Trust;
use resolve::{SamlSigning, TrustedIssuer, TrustedSamlIssuer};

/// Reads `instance_state` of `kind` and takes it through every stage (parse, validate,
/// resolve); fails with every problem found, each worded so that an operator can act on it.
pub fn load(
    kind: Kind,
    state: &serde_json::Value,
    b: &Binding<'_>,
) -> Result<ResolvedInstance, Vec<String>> {
    let mut problems = Vec::new();
    let Some(config) = parse::parse(kind, state, &mut problems) else {
        return Err(problems);
    };
    let instance = check_and_bind(config, b, &mut problems);
    if problems.is_empty() {
        Ok(instance)
    } else {
        Err(problems)
    }
}

fn check_and_bind(
    mut config: InstanceConfig,
    b: &Binding<'_>,
    problems: &mut Vec<String>,
) -> ResolvedInstance {
    validate::validate(&mut config, problems);
    resolve::resolve(config, b, problems)
}

/// A published instance with its keys resolved: what the engine serves. Only
/// [`load`] and [`ResolvedInstance::resolve`] make one, after every check passed.
// Fields are crate-visible while the engine is being split (issue 15); read them through
// the accessors.
#[derive(Debug, Clone)]
pub struct ResolvedInstance {
    pub(crate) config: InstanceConfig,
    pub(crate) saml_signing: Option<SamlSigning>,
    pub(crate) saml_encryption: Option<Encryption>,
    pub(crate) oidc_signing: Option<Arc<JwsSigner>>,
    pub(crate) oidc_trust: Vec<TrustedIssuer>,
    pub(crate) x509_trust: Option<X509Trust>,
    pub(crate) saml_trust: Vec<TrustedSamlIssuer>,
    pub(crate) relying_party: Option<Arc<Certificate>>,
    pub(crate) custom: CustomTypes,
}

impl ResolvedInstance {
    /// Checks an already-read configuration and binds it; fails with every problem found.
    pub fn resolve(
        config: InstanceConfig,
        b: &Binding<'_>,
    ) -> Result<ResolvedInstance, Vec<String>> {
        let mut problems = Vec::new();
        let instance = check_and_bind(config, b, &mut problems);
        if problems.is_empty() {
            Ok(instance)
        } else {
            Err(problems)
        }
    }

    /// The configuration, with its realm in normal form.
    pub fn config(&self) -> &InstanceConfig {
        &self.config
    }

    /// How its assertions are signed; `None` when it issues unsigned ones (or no SAML).
    pub fn saml_signing(&self) -> Option<&SamlSigning> {
        self.saml_signing.as_ref()
    }

    /// What of its assertions is encrypted, and to whom.
    pub fn saml_encryption(&self) -> Option<&Encryption> {
        self.saml_encryption.as_ref()
    }

    /// How its id_tokens are signed.
    pub fn oidc_signing(&self) -> Option<&Arc<JwsSigner>> {
        self.oidc_signing.as_ref()
    }

    /// Issuers whose id_tokens are accepted as input, with their keys.
    pub fn oidc_trust(&self) -> &[TrustedIssuer] {
        &self.oidc_trust
    }

    /// What X509 input must chain to, and how it names a principal.
    pub fn x509_trust(&self) -> Option<&X509Trust> {
        self.x509_trust.as_ref()
    }

    /// Issuers whose assertions are accepted as input.
    pub fn saml_trust(&self) -> &[TrustedSamlIssuer] {
        &self.saml_trust
    }

    /// The relying party's certificate (`saml2-encryption-key-alias`), if keys/ has it:
    /// symmetric proof keys are encrypted to it.
    pub fn relying_party(&self) -> Option<&Arc<Certificate>> {
        self.relying_party.as_ref()
    }

    /// Custom token types and their plug-ins.
    pub fn custom(&self) -> &CustomTypes {
        &self.custom
    }

    /// Whether the SOAP instance's security policy accepts `t` as an input token.
    pub fn accepts(&self, t: TokenType) -> bool {
        self.config.accepts(t)
    }

    /// Whether the SOAP instance accepts OnBehalfOf tokens of type `t`, and if so the
    /// `invalidateInterimOpenAMSession` for them.
    pub fn delegation(&self, t: TokenType) -> Option<bool> {
        let c = self.config.soap()?;
        if !c.delegation_supported {
            return None;
        }
        c.delegation
            .as_ref()?
            .validated_token_types
            .iter()
            .find(|v| v.validated_token_type == t)
            .map(|v| v.invalidate_interim_session)
    }

    /// Whether the SOAP instance accepts ActAs tokens of type `t` (`act-as-supported`, then
    /// the OnBehalfOf rules), and if so the `invalidateInterimOpenAMSession` for them.
    pub fn act_as(&self, t: TokenType) -> Option<bool> {
        if !self.config.soap()?.act_as_supported {
            return None;
        }
        self.delegation(t)
    }

    /// `invalidateInterimOpenAMSession` of a SOAP instance for input type `t`.
    pub fn invalidate_interim(&self, t: TokenType) -> bool {
        self.config.soap().is_none_or(|c| {
            c.validated_tokens
                .iter()
                .find(|v| v.validated_token_type == t)
                .is_none_or(|v| v.invalidate_interim_session)
        })
    }

    /// The REST transform `input` -> `output` with a custom side, if the instance offers it.
    pub fn custom_transform(&self, input: &str, output: &str) -> Option<&CustomTokenTransform> {
        self.config.rest().and_then(|c| {
            c.custom_token_transforms
                .iter()
                .find(|t| t.input == input && t.output == output)
        })
    }

    /// The REST transform `input` -> `output`, if the instance offers it.
    pub fn transform(&self, input: TokenType, output: TokenType) -> Option<&TokenTransform> {
        self.config.rest().and_then(|c| {
            c.supported_token_transforms
                .iter()
                .find(|t| t.input == input && t.output == output)
        })
    }
}

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
    /// SAML 1.1 assertions: issued only (AD FS's token type for WS-Trust clients).
    #[serde(rename = "SAML1")]
    Saml1,
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
            TokenType::Saml1 => "SAML1",
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
            TokenType::Saml1,
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
    /// The name in publish URLs (`/sts-publish/rest`) and in the store's `kind` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Rest => "rest",
            Kind::Soap => "soap",
        }
    }

    /// The kind named `s` exactly, if any.
    pub fn parse(s: &str) -> Option<Kind> {
        match s {
            "rest" => Some(Kind::Rest),
            "soap" => Some(Kind::Soap),
            _ => None,
        }
    }
}
