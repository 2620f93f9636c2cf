//! The fields SOAP and REST instances share, defined once. serde's `flatten` does not work
//! with `deny_unknown_fields`, so the shared fields are emitted by macros into each struct, at
//! the places OpenAM's JSON has them (serde lists the expected keys in declaration order in
//! its "unknown field" message, which the publish API returns).

/// A top-level instance struct: `deployment-config`, the shared blocks, and the
/// kind's own fields in two groups (before and after the shared trust settings).
macro_rules! instance_config {
    (
        $(#[$attr:meta])*
        pub struct $name:ident {
            deployment: $deployment:ty,
            [$($first:tt)*]
            [$($rest:tt)*]
        }
    ) => {
        $(#[$attr])*
        #[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            #[serde(rename = "deployment-config")]
            pub deployment: $deployment,
            #[serde(
                rename = "saml2-config",
                default,
                skip_serializing_if = "Option::is_none"
            )]
            pub saml2: Option<$crate::instance::model::Saml2Config>,
            #[serde(
                rename = "oidc-id-token-config",
                default,
                skip_serializing_if = "Option::is_none"
            )]
            pub oidc: Option<$crate::instance::model::OidcConfig>,
            #[serde(
                rename = "persist-issued-tokens-in-cts",
                with = "crate::instance::model::serde_compat::str_bool",
                default = "crate::instance::model::serde_compat::yes"
            )]
            pub persist_issued_tokens: bool,
            $($first)*
            /// sts extension: issuers whose id_tokens are accepted as OPENIDCONNECT input.
            #[serde(
                rename = "oidc-trusted-issuers",
                default,
                skip_serializing_if = "Vec::is_empty"
            )]
            pub oidc_trusted_issuers: Vec<$crate::instance::model::TrustedIssuerConfig>,
            /// sts extension: aliases of CA certificates in keys/ that X509 input must chain to.
            #[serde(
                rename = "x509-trust-anchors",
                default,
                skip_serializing_if = "Vec::is_empty"
            )]
            pub x509_trust_anchors: Vec<String>,
            /// sts extension: certificate serial numbers (hex) refused even when they chain.
            #[serde(
                rename = "x509-revoked-serials",
                default,
                skip_serializing_if = "Vec::is_empty"
            )]
            pub x509_revoked_serials: Vec<String>,
            $($rest)*
        }
    };
}
pub(crate) use instance_config;

/// A `deployment-config` struct: the shared settings, then the kind's own.
macro_rules! deployment_config {
    (
        $(#[$attr:meta])*
        pub struct $name:ident {
            $($rest:tt)*
        }
    ) => {
        $(#[$attr])*
        #[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            #[serde(rename = "deployment-url-element")]
            pub url_element: String,
            #[serde(
                rename = "deployment-realm",
                default = "crate::instance::model::serde_compat::root_realm"
            )]
            pub realm: String,
            #[serde(rename = "deployment-auth-target-mappings", default)]
            pub auth_target_mappings: serde_json::Map<String, serde_json::Value>,
            #[serde(rename = "deployment-offloaded-two-way-tls-header-key", default)]
            pub offloaded_tls_header_key: Option<String>,
            #[serde(rename = "deployment-tls-offload-engine-hosts", default)]
            pub tls_offload_engine_hosts: Vec<String>,
            $($rest)*
        }
    };
}
pub(crate) use deployment_config;
