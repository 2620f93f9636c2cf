//! Key-independent rules: what an instance may say whatever keys, files and plug-ins the node
//! has. Each problem is a sentence that starts with the setting's JSON path, so that an
//! operator can act on it. Key-dependent checks (an alias missing from keys/, an unregistered
//! plug-in) are made when the instance is [resolved](super::resolve).
//!
//! The readers of values that both stages need (algorithm URIs, certificate fields, serial
//! numbers) live here: validation reports what they refuse, resolution uses what they accept.

use super::resolve::x509::{CertField, normalise_serial};
use super::{
    InstanceConfig, OidcConfig, RestInstanceConfig, Saml2Config, SoapInstanceConfig, TokenType,
    TrustedIssuerConfig, TrustedSamlIssuerConfig,
};
use crate::tokens::oidc::{JwsAlgorithm, TrustedAlgorithm};
use crate::xmldsig::{DigestAlgorithm, SignatureAlgorithm};

/// Longest token lifetime an instance may configure (ten years).
pub const MAX_LIFETIME_SECS: u64 = 10 * 365 * 24 * 3600;

/// Claims an `oidc-claim-map` may not set, because the engine sets them.
const RESERVED_CLAIMS: &[&str] = &[
    "iss",
    "sub",
    "aud",
    "azp",
    "exp",
    "iat",
    "nbf",
    "auth_time",
    "nonce",
    "jti",
    "amr",
    "acr",
];

/// Checks `config`, and puts its realm in normal form (`/a/b`).
pub fn validate(config: &mut InstanceConfig, problems: &mut Vec<String>) {
    deployment(config, problems);
    match &*config {
        InstanceConfig::Soap(c) => soap(c, problems),
        InstanceConfig::Rest(c) => rest(c, problems),
    }
    if config.issues(TokenType::Saml2) && config.saml2().is_none() {
        problems.push("SAML2 tokens are issued but saml2-config is missing".into());
    }
    // SAML 1.1 assertions take issuer, lifetime, attribute map and signing from saml2-config.
    if config.issues(TokenType::Saml1) && config.saml2().is_none() {
        problems.push(
            "SAML1 tokens are issued but saml2-config (their issuer, lifetime, attributes and signing) is missing".into(),
        );
    }
    if config.accepts(TokenType::Saml1) || config.takes(TokenType::Saml1) {
        problems.push("SAML1 is an output token type only: SAML 1.1 input is not supported".into());
    }
    if config.issues(TokenType::OpenIdConnect) && config.oidc().is_none() {
        problems.push("OPENIDCONNECT tokens are issued but oidc-id-token-config is missing".into());
    }
    if let Some(s) = config.saml2() {
        saml2(s, problems);
        saml2_encryption(s, problems);
    }
    if let Some(o) = config.oidc() {
        oidc(o, problems);
    }
    oidc_trusted_issuers(config.oidc_trusted_issuers(), problems);
    let saml_trusted = config.soap().map_or(&[][..], |c| &c.saml2_trusted_issuers);
    saml_trusted_issuers(saml_trusted, problems);
    inputs(config, saml_trusted, problems);
    tls_offload(config, problems);
}

/// A realm name or url element: one path segment of letters, digits and `-_.~`.
fn segment_ok(seg: &str) -> bool {
    !seg.is_empty()
        && seg != "."
        && seg != ".."
        && seg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.~".contains(c))
}

/// One id per instance: the url element is one path segment and the realm is written `/a/b`,
/// so that realm and element read back unambiguously from a URL.
fn deployment(config: &mut InstanceConfig, problems: &mut Vec<String>) {
    let url = config.url_element();
    if !segment_ok(url) {
        problems.push(format!(
            "deployment-config.deployment-url-element `{url}` must be one path segment of letters, digits and -_.~"
        ));
    }
    let realm = config.realm().trim_matches('/');
    if !realm.is_empty() && !realm.split('/').all(segment_ok) {
        problems.push(format!(
            "deployment-config.deployment-realm `{}` must be realm names of letters, digits and -_.~ separated by /",
            config.realm()
        ));
    }
    let realm = crate::identity::normalize_realm(realm);
    config.set_realm(realm);
}

fn soap(c: &SoapInstanceConfig, problems: &mut Vec<String>) {
    if c.issued_token_types.is_empty() {
        problems.push("issued-token-types must not be empty".into());
    }
    // Validate re-issues what it validated: tokens of this STS, as a type it issues.
    for (i, t) in c.supported_token_transforms.iter().enumerate() {
        if !matches!(
            t.input,
            TokenType::Saml2 | TokenType::Saml1 | TokenType::OpenIdConnect
        ) {
            problems.push(format!(
                "supported-token-transforms[{i}]: a SOAP Validate transforms tokens this STS issued (SAML2, SAML1, OPENIDCONNECT), not {}",
                t.input.name()
            ));
        }
        if !c.issued_token_types.contains(&t.output) {
            problems.push(format!(
                "supported-token-transforms[{i}]: {} is not in issued-token-types",
                t.output.name()
            ));
        }
    }
    let d = c.delegation.clone().unwrap_or_default();
    no_java_classes(
        "soap-delegation-config",
        [(
            "delegation-custom-token-handlers",
            !d.custom_token_handlers.is_empty(),
        )],
        problems,
    );
    if c.act_as_supported && !c.delegation_supported {
        problems.push(
            "act-as-supported needs delegation-relationship-supported (ActAs tokens are the delegation token types)".into(),
        );
    }
    if c.delegation_supported && d.validated_token_types.is_empty() {
        problems.push(
            "delegation-relationship-supported needs soap-delegation-config.delegation-validated-token-types".into(),
        );
    }
    for (i, v) in d.validated_token_types.iter().enumerate() {
        if matches!(v.validated_token_type, TokenType::Saml1) {
            problems.push(format!(
                "soap-delegation-config.delegation-validated-token-types[{i}]: SAML1 OnBehalfOf tokens are not supported"
            ));
        }
        if matches!(v.validated_token_type, TokenType::X509) {
            problems.push(format!(
                "soap-delegation-config.delegation-validated-token-types[{i}]: an X509 OnBehalfOf token proves nothing without its key"
            ));
        }
    }
}

fn rest(c: &RestInstanceConfig, problems: &mut Vec<String>) {
    if c.supported_token_transforms.is_empty() {
        problems.push("supported-token-transforms must not be empty".into());
    }
    for (i, t) in c.supported_token_transforms.iter().enumerate() {
        if !matches!(
            t.input,
            TokenType::Username | TokenType::OpenAm | TokenType::OpenIdConnect | TokenType::X509
        ) {
            problems.push(format!(
                "supported-token-transforms[{i}]: input token type {} is not supported yet",
                t.input.name()
            ));
        }
        if !matches!(
            t.output,
            TokenType::Saml2 | TokenType::Saml1 | TokenType::OpenIdConnect
        ) {
            problems.push(format!(
                "supported-token-transforms[{i}]: output token type {} cannot be issued",
                t.output.name()
            ));
        }
    }
}

/// OpenAM's Java extension points: refused when they name a class.
fn no_java_classes<'a>(
    block: &str,
    settings: impl IntoIterator<Item = (&'a str, bool)>,
    problems: &mut Vec<String>,
) {
    for (key, named) in settings {
        if named {
            problems.push(format!(
                "{block}.{key}: custom Java classes are not supported"
            ));
        }
    }
}

/// Whether an optional class-name setting names a class.
fn named(class: &Option<String>) -> bool {
    class.as_deref().is_some_and(|c| !c.is_empty())
}

/// A token lifetime in seconds: 1 to [`MAX_LIFETIME_SECS`].
fn lifetime(field: &str, secs: u64, problems: &mut Vec<String>) {
    if !(1..=MAX_LIFETIME_SECS).contains(&secs) {
        problems.push(format!("{field} must be between 1 and {MAX_LIFETIME_SECS}"));
    }
}

/// An audience list: at least one, none blank.
fn audience_ok(audience: &[String]) -> bool {
    !audience.is_empty() && !audience.iter().any(|a| a.trim().is_empty())
}

fn saml2(s: &Saml2Config, problems: &mut Vec<String>) {
    if s.issuer_name.trim().is_empty() {
        problems.push("saml2-config.issuer-name must not be empty".into());
    }
    lifetime(
        "saml2-config.saml2-token-lifetime-seconds",
        s.token_lifetime_seconds,
        problems,
    );
    if s.renew_window_seconds > MAX_LIFETIME_SECS {
        problems.push(format!(
            "saml2-config.saml2-renew-window-seconds must be at most {MAX_LIFETIME_SECS}"
        ));
    }
    if !(1..=MAX_LIFETIME_SECS).contains(&s.renew_max_age_seconds) {
        problems.push(format!(
            "saml2-config.saml2-renew-max-age-seconds must be 1 to {MAX_LIFETIME_SECS}"
        ));
    }
    no_java_classes(
        "saml2-config",
        [
            (
                "saml2-custom-conditions-provider-class-name",
                named(&s.custom_conditions_provider),
            ),
            (
                "saml2-custom-subject-provider-class-name",
                named(&s.custom_subject_provider),
            ),
            (
                "saml2-custom-attribute-statements-provider-class-name",
                named(&s.custom_attribute_statements_provider),
            ),
            (
                "saml2-custom-authentication-statements-provider-class-name",
                named(&s.custom_authentication_statements_provider),
            ),
            (
                "saml2-custom-authz-decision-statements-provider-class-name",
                named(&s.custom_authz_decision_statements_provider),
            ),
            (
                "saml2-custom-attribute-mapper-class-name",
                named(&s.custom_attribute_mapper),
            ),
            (
                "saml2-custom-authn-context-mapper-class-name",
                named(&s.custom_authn_context_mapper),
            ),
        ],
        problems,
    );
    // Named algorithms are checked whatever `saml2-sign-assertion` says: a typo is a
    // publish error, never a silent fallback.
    if let Some(uri) = &s.signature_algorithm
        && let Err(e) = signature_algorithm(uri)
    {
        problems.push(e);
    }
    if let Some(uri) = &s.digest_algorithm
        && let Err(e) = digest_algorithm(uri)
    {
        problems.push(e);
    }
}

/// Whether an algorithm URI names SHA-1 (RSA, DSA, ECDSA, HMAC or the digest itself).
fn is_sha1(uri: &str) -> bool {
    let lower = uri.to_ascii_lowercase();
    lower.ends_with("sha1") || lower.ends_with("sha-1")
}

/// Reads `field` (a URI) into one of `all`: a refusal names the field, the value and the
/// accepted URIs. SHA-1 is not offered: this STS does not accept SHA-1 signatures (it could
/// not validate its own tokens), and relying parties should not either.
fn algorithm<T: Copy>(
    field: &str,
    uri: &str,
    all: &[T],
    uri_of: impl Fn(T) -> &'static str,
) -> Result<T, String> {
    if let Some(a) = all.iter().copied().find(|a| uri_of(*a) == uri) {
        return Ok(a);
    }
    let list = all
        .iter()
        .map(|a| uri_of(*a))
        .collect::<Vec<_>>()
        .join(", ");
    Err(if is_sha1(uri) {
        format!(
            "saml2-config.{field} `{uri}`: SHA-1 is not offered for signing (it is broken, and this STS does not verify SHA-1 signatures, so it could not validate its own tokens); use one of: {list}"
        )
    } else {
        format!("saml2-config.{field} `{uri}` is not supported; use one of: {list}")
    })
}

/// `saml2-signature-algorithm`.
pub(super) fn signature_algorithm(uri: &str) -> Result<SignatureAlgorithm, String> {
    algorithm(
        "saml2-signature-algorithm",
        uri,
        &SignatureAlgorithm::ALL,
        SignatureAlgorithm::uri,
    )
}

/// `saml2-digest-algorithm`.
pub(super) fn digest_algorithm(uri: &str) -> Result<DigestAlgorithm, String> {
    algorithm(
        "saml2-digest-algorithm",
        uri,
        &DigestAlgorithm::ALL,
        DigestAlgorithm::uri,
    )
}

/// What of an assertion is encrypted, with which cipher, to whom (the certificate itself is
/// looked up when resolving).
fn saml2_encryption(s: &Saml2Config, problems: &mut Vec<String>) {
    if !(s.encrypt_assertion || s.encrypt_attributes || s.encrypt_nameid) {
        return;
    }
    if s.encrypt_assertion && (s.encrypt_attributes || s.encrypt_nameid) {
        problems.push(
            "saml2-config: saml2-encrypt-assertion already hides NameID and attributes; it cannot be combined with saml2-encrypt-nameid or saml2-encrypt-attributes".into(),
        );
        return;
    }
    if let Err(e) = crate::tokens::xmlenc::BlockCipher::from_config(
        s.encryption_algorithm.as_deref(),
        s.encryption_algorithm_strength,
    ) {
        problems.push(format!("saml2-config.saml2-encryption-algorithm: {e}"));
        return;
    }
    if s.encryption_key_alias.as_deref().is_none_or(str::is_empty) {
        problems.push(
            "saml2-config.saml2-encryption-key-alias must name the relying party's certificate to encrypt to".into(),
        );
    }
}

fn oidc(o: &OidcConfig, problems: &mut Vec<String>) {
    if o.issuer.trim().is_empty() {
        problems.push("oidc-id-token-config.oidc-issuer must not be empty".into());
    }
    if !audience_ok(&o.audience) {
        problems.push("oidc-id-token-config.oidc-audience must name at least one audience".into());
    }
    lifetime(
        "oidc-id-token-config.oidc-token-lifetime-seconds",
        o.token_lifetime_seconds,
        problems,
    );
    for claim in o.claim_map.keys() {
        if RESERVED_CLAIMS.contains(&claim.as_str()) {
            problems.push(format!(
                "oidc-id-token-config.oidc-claim-map may not set the `{claim}` claim"
            ));
        }
    }
    no_java_classes(
        "oidc-id-token-config",
        [
            (
                "oidc-custom-claim-mapper-class",
                named(&o.custom_claim_mapper),
            ),
            (
                "oidc-custom-authn-context-mapper-class",
                named(&o.custom_authn_context_mapper),
            ),
            (
                "oidc-custom-authn-method-references-mapper-class",
                named(&o.custom_authn_method_references_mapper),
            ),
        ],
        problems,
    );
    if let Err(e) = jwk_in_header(o) {
        problems.push(e);
    }
    let Some(alg) = JwsAlgorithm::from_name(&o.signature_algorithm) else {
        problems.push(format!(
            "oidc-id-token-config.oidc-signature-algorithm `{}` is not one of HS256, HS384, HS512, RS256, RS384, RS512, PS256, ES256, ES384, ES512",
            o.signature_algorithm
        ));
        return;
    };
    if alg.key_kind().is_none() && o.client_secret.is_none() {
        problems.push(format!(
            "oidc-id-token-config.oidc-client-secret is required for {}",
            alg.name()
        ));
    }
}

/// `oidc-public-key-reference-type`: `NONE` (a `kid` only) or `JWK` (the key in the header).
pub(super) fn jwk_in_header(o: &OidcConfig) -> Result<bool, String> {
    match o.public_key_reference_type.as_str() {
        "NONE" => Ok(false),
        "JWK" => Ok(true),
        other => Err(format!(
            "oidc-id-token-config.oidc-public-key-reference-type `{other}` is not NONE or JWK"
        )),
    }
}

/// What every trusted-issuer entry must say, OIDC or SAML: an issuer, listed once, and an
/// audience.
fn trusted_issuer<'a>(
    at: &str,
    issuer: &str,
    mut earlier: impl Iterator<Item = &'a str>,
    audience: &[String],
    problems: &mut Vec<String>,
) {
    if issuer.trim().is_empty() {
        problems.push(format!("{at}.issuer must not be empty"));
    }
    if earlier.any(|o| o == issuer) {
        problems.push(format!("{at}.issuer `{issuer}` is listed twice"));
    }
    if !audience_ok(audience) {
        problems.push(format!("{at}.audience must name at least one audience"));
    }
}

/// The JWS algorithms an `oidc-trusted-issuers` entry names, each unknown one refused.
pub(super) fn trusted_algorithms(
    at: &str,
    t: &TrustedIssuerConfig,
) -> (Vec<TrustedAlgorithm>, Vec<String>) {
    let mut problems = Vec::new();
    let mut algorithms = Vec::new();
    for a in &t.algorithms {
        match TrustedAlgorithm::from_name(a) {
            Some(alg) => algorithms.push(alg),
            None => problems.push(format!(
                "{at}.algorithms: `{a}` is not a JWS algorithm this STS verifies"
            )),
        }
    }
    (algorithms, problems)
}

fn oidc_trusted_issuers(list: &[TrustedIssuerConfig], problems: &mut Vec<String>) {
    for (i, t) in list.iter().enumerate() {
        let at = format!("oidc-trusted-issuers[{i}]");
        let earlier = list.iter().take(i).map(|o| o.issuer.as_str());
        trusted_issuer(&at, &t.issuer, earlier, &t.audience, problems);
        let (algorithms, refused) = trusted_algorithms(&at, t);
        problems.extend(refused);
        if algorithms.is_empty() {
            problems.push(format!("{at}.algorithms must not be empty"));
        }
        if t.jwks.is_some() && t.jwks_file.is_some() {
            problems.push(format!("{at}: give jwks or jwks-file, not both"));
        }
        if let Some(secret) = &t.client_secret {
            // RFC 7518 3.2: a key at least as long as the hash.
            let need = algorithms
                .iter()
                .filter_map(|a| match a {
                    TrustedAlgorithm::Jws(j) if j.key_kind().is_none() => Some(j.digest_len()),
                    _ => None,
                })
                .max()
                .unwrap_or(32);
            if secret.expose().len() < need {
                problems.push(format!(
                    "{at}.client-secret must have at least {need} bytes"
                ));
            }
        }
    }
}

fn saml_trusted_issuers(list: &[TrustedSamlIssuerConfig], problems: &mut Vec<String>) {
    for (i, t) in list.iter().enumerate() {
        let at = format!("saml2-trusted-issuers[{i}]");
        let earlier = list.iter().take(i).map(|o| o.issuer.as_str());
        trusted_issuer(&at, &t.issuer, earlier, &t.audience, problems);
    }
}

/// Input token types need what verifies them: trusted issuers, trust anchors.
fn inputs(
    config: &InstanceConfig,
    saml_trusted: &[TrustedSamlIssuerConfig],
    problems: &mut Vec<String>,
) {
    if config.accepts(TokenType::Saml2) && saml_trusted.is_empty() {
        problems.push(
            "SAML2 input needs saml2-trusted-issuers (issuer, certificate alias, audience)".into(),
        );
    }
    let takes = |t| config.accepts(t) || config.takes(t);
    if takes(TokenType::OpenIdConnect) && config.oidc_trusted_issuers().is_empty() {
        problems.push("OPENIDCONNECT input needs oidc-trusted-issuers".into());
    }
    let (anchors, revoked, mappings) = config.x509_settings();
    for (i, s) in revoked.iter().enumerate() {
        if let Err(e) = serial(s) {
            problems.push(format!("x509-revoked-serials[{i}]: {e}"));
        }
    }
    // The mapping is read only by instances that take X509 input at all.
    if !(anchors.is_empty() && revoked.is_empty())
        && let Err(e) = cert_field(mappings)
    {
        problems.push(e);
    }
    if takes(TokenType::X509) && anchors.is_empty() {
        problems.push(
            "X509 input needs x509-trust-anchors (aliases of CA certificates in keys/)".into(),
        );
    }
}

/// An `x509-revoked-serials` entry, in the form serials are compared in.
pub(super) fn serial(s: &str) -> Result<String, String> {
    if s.is_empty()
        || !s
            .chars()
            .all(|c| c.is_ascii_hexdigit() || c == ':' || c == ' ')
    {
        return Err(format!("`{s}` is not a hexadecimal serial number"));
    }
    Ok(normalise_serial(s))
}

/// The leaf field that names an X509 principal: the `X509` entry of
/// `deployment-auth-target-mappings` (default: subject CN).
pub(super) fn cert_field(
    mappings: &serde_json::Map<String, serde_json::Value>,
) -> Result<CertField, String> {
    match mappings
        .get("X509")
        .and_then(|m| m.get("mapping-context"))
        .and_then(|c| c.get("certificate-field"))
    {
        None => Ok(CertField::SubjectCn),
        Some(serde_json::Value::String(v)) => CertField::parse(v).ok_or_else(|| {
            format!(
                "deployment-auth-target-mappings.X509.mapping-context.certificate-field `{v}` is not one of \"subject CN\", \"subject DN\", \"subject UID\", \"email address\""
            )
        }),
        Some(_) => Err(
            "deployment-auth-target-mappings.X509.mapping-context.certificate-field must be a string".into(),
        ),
    }
}

/// An HTTP field name (RFC 9110 token).
fn is_header_name(h: &str) -> bool {
    !h.is_empty()
        && h.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn tls_offload(config: &InstanceConfig, problems: &mut Vec<String>) {
    let (header, hosts) = config.tls_offload();
    if let Some(h) = header.filter(|h| !is_header_name(h)) {
        problems.push(format!(
            "deployment-config.deployment-offloaded-two-way-tls-header-key `{h}` is not an HTTP header name"
        ));
    }
    for (i, h) in hosts.iter().enumerate() {
        if h.parse::<std::net::IpAddr>().is_err() {
            problems.push(format!(
                "deployment-config.deployment-tls-offload-engine-hosts[{i}] `{h}` is not an IP address"
            ));
        }
    }
}

#[cfg(test)]
#[path = "validate_tests.rs"]
mod tests;
