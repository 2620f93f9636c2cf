//! Custom token types of an instance, bound to the registered plug-ins: validators and
//! providers by type name (SOAP providers also by `wst:TokenType` URI), and the REST
//! transforms that run them. Names are checked here with the binding, because a name's
//! uniqueness is among the types that bound.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::instance::{CustomTokenOperation, InstanceConfig, TokenType};
use crate::plugin::{Guarded, Plugins, TokenProvider, TokenValidator};

/// Longest custom type name.
const MAX_NAME: usize = 64;

/// A provider of a custom type.
#[derive(Debug, Clone)]
pub struct CustomProvider {
    pub plugin: Arc<Guarded<dyn TokenProvider>>,
    /// SOAP: the `wst:TokenType` URI.
    pub token_type_uri: Option<String>,
}

/// The custom token types of an instance.
#[derive(Debug, Clone, Default)]
pub struct CustomTypes {
    pub(crate) validators: BTreeMap<String, Arc<Guarded<dyn TokenValidator>>>,
    pub(crate) providers: BTreeMap<String, CustomProvider>,
}

impl CustomTypes {
    /// Whether `name` is a custom type with a validator.
    pub fn validates(&self, name: &str) -> bool {
        self.validators.contains_key(name)
    }

    /// Whether `name` is a custom type with a provider.
    pub fn provides(&self, name: &str) -> bool {
        self.providers.contains_key(name)
    }

    /// The custom type a SOAP client names by `wst:TokenType` URI.
    pub fn by_uri(&self, uri: &str) -> Option<&str> {
        self.providers
            .iter()
            .find(|(_, p)| p.token_type_uri.as_deref() == Some(uri))
            .map(|(name, _)| name.as_str())
    }

    /// The `wst:TokenType` URI of the custom type `name`.
    pub fn uri(&self, name: &str) -> Option<&str> {
        self.providers.get(name)?.token_type_uri.as_deref()
    }

    /// URIs of every custom type, for WSDL and messages.
    pub fn uris(&self) -> impl Iterator<Item = (&str, &str)> {
        self.providers
            .iter()
            .filter_map(|(n, p)| Some((n.as_str(), p.token_type_uri.as_deref()?)))
    }
}

fn name_ok(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
}

/// Resolves `custom-token-validators`, `-providers` and `-transforms` against the registered
/// plug-ins; every problem goes to `problems`.
pub(super) fn resolve(
    config: &InstanceConfig,
    plugins: &Plugins,
    problems: &mut Vec<String>,
) -> CustomTypes {
    let mut out = CustomTypes::default();
    let (validators, providers) = config.custom_operations();
    let soap = config.soap().is_some();
    let check_name = |key: &str,
                      i: usize,
                      op: &CustomTokenOperation,
                      problems: &mut Vec<String>| {
        let name = &op.token_name;
        if !name_ok(name) {
            problems.push(format!(
                "{key}[{i}].customTokenName `{name}` must be 1 to {MAX_NAME} letters, digits, _ - or ."
            ));
            false
        } else if TokenType::from_name(&name.to_ascii_uppercase()).is_some() {
            problems.push(format!(
                "{key}[{i}].customTokenName `{name}` is a built-in token type"
            ));
            false
        } else {
            true
        }
    };
    for (i, op) in validators.iter().enumerate() {
        let key = "custom-token-validators";
        if !check_name(key, i, op, problems) {
            continue;
        }
        if op.token_type_uri.is_some() {
            problems.push(format!(
                "{key}[{i}].tokenTypeUri applies to providers of SOAP instances"
            ));
        }
        match plugins.validator(&op.operation) {
            None => problems.push(format!(
                "{key}[{i}].customOperationClassName `{}` is not a registered validator (registered: {})",
                op.operation,
                list(&plugins.names(false))
            )),
            Some(v) => {
                if out.validators.insert(op.token_name.clone(), v).is_some() {
                    problems.push(format!(
                        "{key}[{i}]: a second validator for `{}`",
                        op.token_name
                    ));
                }
            }
        }
    }
    for (i, op) in providers.iter().enumerate() {
        let key = "custom-token-providers";
        if !check_name(key, i, op, problems) {
            continue;
        }
        let uri = match (&op.token_type_uri, soap) {
            (Some(u), true) => {
                let u = u.trim();
                if u.is_empty() || !u.contains(':') || u.chars().any(char::is_whitespace) {
                    problems.push(format!("{key}[{i}].tokenTypeUri `{u}` is not a URI"));
                } else if is_builtin_uri(u) {
                    problems.push(format!(
                        "{key}[{i}].tokenTypeUri `{u}` is the URI of a built-in token type"
                    ));
                } else if out.by_uri(u).is_some() {
                    problems.push(format!("{key}[{i}].tokenTypeUri `{u}` is used twice"));
                }
                Some(u.to_owned())
            }
            (None, true) => {
                problems.push(format!(
                    "{key}[{i}].tokenTypeUri is required: SOAP clients name the type by URI in wst:TokenType"
                ));
                None
            }
            (Some(_), false) => {
                problems.push(format!(
                    "{key}[{i}].tokenTypeUri applies to SOAP instances only"
                ));
                None
            }
            (None, false) => None,
        };
        match plugins.provider(&op.operation) {
            None => problems.push(format!(
                "{key}[{i}].customOperationClassName `{}` is not a registered provider (registered: {})",
                op.operation,
                list(&plugins.names(true))
            )),
            Some(plugin) => {
                let p = CustomProvider {
                    plugin,
                    token_type_uri: uri,
                };
                if out.providers.insert(op.token_name.clone(), p).is_some() {
                    problems.push(format!(
                        "{key}[{i}]: a second provider for `{}`",
                        op.token_name
                    ));
                }
            }
        }
    }
    if let InstanceConfig::Rest(c) = config {
        let mut seen = std::collections::HashSet::new();
        for (i, t) in c.custom_token_transforms.iter().enumerate() {
            let key = format!("custom-token-transforms[{i}]");
            let input_ok = match TokenType::from_name(&t.input) {
                Some(
                    TokenType::Username
                    | TokenType::OpenAm
                    | TokenType::OpenIdConnect
                    | TokenType::X509,
                ) => true,
                Some(other) => {
                    problems.push(format!(
                        "{key}.inputTokenType {} is not supported as input of a REST instance",
                        other.name()
                    ));
                    false
                }
                None if out.validates(&t.input) => true,
                None => {
                    problems.push(format!(
                        "{key}.inputTokenType `{}` has no custom-token-validators entry",
                        t.input
                    ));
                    false
                }
            };
            let output_ok = match TokenType::from_name(&t.output) {
                Some(TokenType::Saml2 | TokenType::OpenIdConnect) => true,
                Some(other) => {
                    problems.push(format!(
                        "{key}.outputTokenType {} cannot be issued",
                        other.name()
                    ));
                    false
                }
                None if out.provides(&t.output) => true,
                None => {
                    problems.push(format!(
                        "{key}.outputTokenType `{}` has no custom-token-providers entry",
                        t.output
                    ));
                    false
                }
            };
            if input_ok
                && output_ok
                && TokenType::from_name(&t.input).is_some()
                && TokenType::from_name(&t.output).is_some()
            {
                problems.push(format!(
                    "{key}: {} to {} involves no custom type; list it in supported-token-transforms",
                    t.input, t.output
                ));
            }
            if !seen.insert((t.input.clone(), t.output.clone())) {
                problems.push(format!(
                    "{key}: {} to {} is listed twice",
                    t.input, t.output
                ));
            }
        }
    }
    out
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

fn is_builtin_uri(u: &str) -> bool {
    use crate::xml::ns::{
        TOKEN_TYPE_ID_TOKEN, TOKEN_TYPE_JWT, TOKEN_TYPE_SAML20, TOKEN_TYPE_SAML20_NS,
        TOKEN_TYPE_STATUS,
    };
    [
        TOKEN_TYPE_SAML20,
        TOKEN_TYPE_SAML20_NS,
        TOKEN_TYPE_JWT,
        TOKEN_TYPE_ID_TOKEN,
        TOKEN_TYPE_STATUS,
    ]
    .contains(&u)
}
