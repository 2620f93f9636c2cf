//! `saml2-config`: how an instance issues SAML 2.0 assertions.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The default of `saml2-renew-max-age-seconds`: a working day.
pub const DEFAULT_RENEW_MAX_AGE_SECS: u64 = 8 * 3600;

fn default_renew_max_age() -> u64 {
    DEFAULT_RENEW_MAX_AGE_SECS
}

fn is_default_renew_max_age(v: &u64) -> bool {
    *v == DEFAULT_RENEW_MAX_AGE_SECS
}

/// `saml2-config` (`SAML2Config`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Saml2Config {
    #[serde(rename = "issuer-name")]
    pub issuer_name: String,
    #[serde(rename = "saml2-name-id-format", default = "unspecified_format")]
    pub name_id_format: String,
    #[serde(
        rename = "saml2-token-lifetime-seconds",
        with = "super::serde_compat::str_u64",
        default = "super::serde_compat::ten_minutes"
    )]
    pub token_lifetime_seconds: u64,
    /// sts extension: how long after its expiry an assertion of this instance may still be
    /// renewed (WS-Trust Renew); 0, the default, renews only tokens that are still valid.
    #[serde(
        rename = "saml2-renew-window-seconds",
        with = "super::serde_compat::str_u64",
        default,
        skip_serializing_if = "super::serde_compat::is_zero"
    )]
    pub renew_window_seconds: u64,
    /// sts extension: the longest a token and its renewals live in all, counted from the
    /// first token's `AuthnInstant` (which every renewal keeps): no renewal reaches past it,
    /// and after it Renew is refused, so that the subject authenticates again. Default
    /// [`DEFAULT_RENEW_MAX_AGE_SECS`] (8 hours).
    #[serde(
        rename = "saml2-renew-max-age-seconds",
        with = "super::serde_compat::str_u64",
        default = "default_renew_max_age",
        skip_serializing_if = "is_default_renew_max_age"
    )]
    pub renew_max_age_seconds: u64,
    #[serde(rename = "saml2-custom-conditions-provider-class-name", default)]
    pub custom_conditions_provider: Option<String>,
    #[serde(rename = "saml2-custom-subject-provider-class-name", default)]
    pub custom_subject_provider: Option<String>,
    #[serde(
        rename = "saml2-custom-attribute-statements-provider-class-name",
        default
    )]
    pub custom_attribute_statements_provider: Option<String>,
    #[serde(
        rename = "saml2-custom-authentication-statements-provider-class-name",
        default
    )]
    pub custom_authentication_statements_provider: Option<String>,
    #[serde(
        rename = "saml2-custom-authz-decision-statements-provider-class-name",
        default
    )]
    pub custom_authz_decision_statements_provider: Option<String>,
    #[serde(rename = "saml2-custom-attribute-mapper-class-name", default)]
    pub custom_attribute_mapper: Option<String>,
    #[serde(rename = "saml2-custom-authn-context-mapper-class-name", default)]
    pub custom_authn_context_mapper: Option<String>,
    /// Signed unless set to false explicitly (left out or null: signed). OpenAM's default
    /// was unsigned; an assertion nobody can verify is never what a typo should produce.
    #[serde(
        rename = "saml2-sign-assertion",
        serialize_with = "super::serde_compat::str_bool::serialize",
        deserialize_with = "super::serde_compat::str_bool::deserialize_or_true",
        default = "super::serde_compat::yes"
    )]
    pub sign_assertion: bool,
    #[serde(
        rename = "saml2-encrypt-assertion",
        with = "super::serde_compat::str_bool",
        default
    )]
    pub encrypt_assertion: bool,
    #[serde(
        rename = "saml2-encrypt-attributes",
        with = "super::serde_compat::str_bool",
        default
    )]
    pub encrypt_attributes: bool,
    #[serde(
        rename = "saml2-encrypt-nameid",
        with = "super::serde_compat::str_bool",
        default
    )]
    pub encrypt_nameid: bool,
    #[serde(rename = "saml2-encryption-algorithm", default)]
    pub encryption_algorithm: Option<String>,
    #[serde(
        rename = "saml2-encryption-algorithm-strength",
        with = "super::serde_compat::str_u64",
        default
    )]
    pub encryption_algorithm_strength: u64,
    /// SAML attribute name -> user attribute name.
    #[serde(rename = "saml2-attribute-map", default)]
    pub attribute_map: BTreeMap<String, String>,
    #[serde(rename = "saml2-keystore-filename", default)]
    pub keystore_filename: Option<String>,
    #[serde(rename = "saml2-keystore-password", default)]
    pub keystore_password: Option<crate::secret::Secret<String>>,
    #[serde(rename = "saml2-sp-acs-url", default)]
    pub sp_acs_url: Option<String>,
    #[serde(rename = "saml2-sp-entity-id", default)]
    pub sp_entity_id: Option<String>,
    /// Names a key in the data directory's `keys/` folder (`<alias>.key.pem`, `<alias>.crt.pem`).
    #[serde(rename = "saml2-signature-key-alias", default)]
    pub signature_key_alias: Option<String>,
    #[serde(rename = "saml2-signature-key-password", default)]
    pub signature_key_password: Option<crate::secret::Secret<String>>,
    #[serde(rename = "saml2-encryption-key-alias", default)]
    pub encryption_key_alias: Option<String>,
    /// sts extension: XML-DSig SignatureMethod URI (default RSA-SHA256).
    #[serde(
        rename = "saml2-signature-algorithm",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub signature_algorithm: Option<String>,
    /// sts extension: the AppliesTo addresses tokens may be issued for (besides
    /// `saml2-sp-entity-id`). Empty: any AppliesTo is accepted, as OpenAM does.
    #[serde(
        rename = "saml2-allowed-audiences",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub allowed_audiences: Vec<String>,
    /// sts extension: XML-DSig DigestMethod URI (default SHA-256).
    #[serde(
        rename = "saml2-digest-algorithm",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub digest_algorithm: Option<String>,
}

fn unspecified_format() -> String {
    crate::xml::ns::NAMEID_UNSPECIFIED.to_owned()
}
