//! Key-dependent binding: an instance's configuration, already checked by
//! [`validate`](super::validate), bound to this node's keys, files and plug-ins. The problems
//! found here are those only the node can know: an alias missing from keys/, a file, an
//! unregistered plug-in, a key that does not fit its algorithm.

pub mod custom;
pub mod encryption;
pub mod files;
pub mod oidc;
pub mod saml;
pub mod trust;
pub mod x509;

use std::sync::Arc;

pub use saml::SamlSigning;
pub use trust::{TrustedIssuer, TrustedSamlIssuer};

use super::{InstanceConfig, ResolvedInstance};
use crate::keyring::Keyring;
use crate::plugin::Plugins;
use files::InstanceFiles;

/// The keys an instance signs with when it names none: one per key kind.
#[derive(Debug, Clone)]
pub struct DefaultKeys {
    /// Alias of the RSA key (SAML assertions, RS/PS id_tokens).
    pub rsa: String,
    /// Alias of the EC key (ES id_tokens).
    pub ec: String,
}

/// What instances are bound to on this node.
#[derive(Clone, Copy)]
pub struct Binding<'a> {
    pub keys: &'a Keyring,
    pub default_keys: &'a DefaultKeys,
    /// Custom token plug-ins instances may name.
    pub plugins: &'a Plugins,
    /// Where files that instances name (`jwks-file`) are read from.
    pub files: &'a InstanceFiles,
}

/// Binds `config`; every problem goes to `problems`, and the instance is usable only when
/// none was found (here or before).
pub(super) fn resolve(
    config: InstanceConfig,
    b: &Binding<'_>,
    problems: &mut Vec<String>,
) -> ResolvedInstance {
    let custom = custom::resolve(&config, b.plugins, problems);
    let saml2 = config.saml2();
    let saml_signing = saml2.and_then(|s| saml::resolve(s, b.keys, &b.default_keys.rsa, problems));
    let saml_encryption = saml2.and_then(|s| encryption::resolve(s, b.keys, problems));
    let oidc_signing = config
        .oidc()
        .and_then(|o| oidc::resolve(o, b.keys, b.default_keys, problems))
        .map(Arc::new);
    let oidc_trust = trust::oidc(config.oidc_trusted_issuers(), b.files, problems);
    let relying_party = saml2.and_then(|s| encryption::relying_party(s, b.keys));
    let saml_trust = config
        .soap()
        .map(|c| trust::saml(&c.saml2_trusted_issuers, b.keys, problems))
        .unwrap_or_default();
    let (anchors, revoked, mappings) = config.x509_settings();
    let x509_trust = x509::resolve(anchors, revoked, mappings, b.keys, problems);
    ResolvedInstance {
        config,
        saml_signing,
        saml_encryption,
        oidc_signing,
        oidc_trust,
        x509_trust,
        saml_trust,
        relying_party,
        custom,
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
