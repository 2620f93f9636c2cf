//! A published instance's configuration bound to keys, trust anchors and plug-ins.

use super::*;

#[derive(Debug, Clone)]
pub struct SamlSigning {
    pub key: Arc<SigningKey>,
    pub signature: SignatureAlgorithm,
    pub digest: DigestAlgorithm,
}

/// A published instance with its keys resolved.
#[derive(Debug, Clone)]
pub struct Instance {
    pub config: InstanceConfig,
    pub saml_signing: Option<SamlSigning>,
    /// What of its assertions is encrypted, and to whom.
    pub saml_encryption: Option<saml2::Encryption>,
    pub oidc_signing: Option<Arc<JwsSigner>>,
    /// Issuers whose id_tokens are accepted as input, with their keys.
    pub oidc_trust: Vec<TrustedIssuer>,
    /// What X509 input must chain to, and how it names a principal.
    pub x509_trust: Option<x509::X509Trust>,
    /// Issuers whose assertions are accepted as input.
    pub saml_trust: Vec<saml_input::TrustedSamlIssuer>,
    /// The relying party's certificate (`saml2-encryption-key-alias`), if keys/ has it:
    /// symmetric proof keys are encrypted to it.
    pub relying_party: Option<Arc<crate::keyring::Certificate>>,
    /// Custom token types and their plug-ins.
    pub custom: custom::CustomTypes,
}

/// A trusted id_token issuer, resolved.
#[derive(Debug, Clone)]
pub struct TrustedIssuer {
    pub issuer: String,
    pub audience: Vec<String>,
    pub algorithms: Vec<crate::tokens::oidc::TrustedAlgorithm>,
    pub keys: Vec<crate::tokens::oidc::TrustedKey>,
    pub principal_claim: String,
}

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

impl Instance {
    /// Resolves keys and algorithms; fails with every problem found, each worded so that an
    /// operator can act on it.
    pub fn resolve(
        mut config: InstanceConfig,
        keys: &Keyring,
        default_key: &str,
        plugins: &crate::plugin::Plugins,
        files: &files::InstanceFiles,
    ) -> Result<Instance, Vec<String>> {
        let mut problems = Vec::new();
        // One id per instance: the url element is one path segment and the realm is written
        // `/a/b`, so that realm and element read back unambiguously from a URL.
        let segment_ok = |seg: &str| {
            !seg.is_empty()
                && seg != "."
                && seg != ".."
                && seg
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.~".contains(c))
        };
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
        match &config {
            InstanceConfig::Soap(c) => {
                if c.issued_token_types.is_empty() {
                    problems.push("issued-token-types must not be empty".into());
                }
                let d = c.delegation.clone().unwrap_or_default();
                if !d.custom_token_handlers.is_empty() {
                    problems.push(
                        "soap-delegation-config.delegation-custom-token-handlers: custom Java classes are not supported".into(),
                    );
                }
                if c.delegation_supported && d.validated_token_types.is_empty() {
                    problems.push(
                        "delegation-relationship-supported needs soap-delegation-config.delegation-validated-token-types".into(),
                    );
                }
                for (i, v) in d.validated_token_types.iter().enumerate() {
                    if matches!(v.validated_token_type, TokenType::X509) {
                        problems.push(format!(
                            "soap-delegation-config.delegation-validated-token-types[{i}]: an X509 OnBehalfOf token proves nothing without its key"
                        ));
                    }
                }
            }
            InstanceConfig::Rest(c) => {
                if c.supported_token_transforms.is_empty() {
                    problems.push("supported-token-transforms must not be empty".into());
                }
                for (i, t) in c.supported_token_transforms.iter().enumerate() {
                    if !matches!(
                        t.input,
                        TokenType::Username
                            | TokenType::OpenAm
                            | TokenType::OpenIdConnect
                            | TokenType::X509
                    ) {
                        problems.push(format!(
                            "supported-token-transforms[{i}]: input token type {} is not supported yet",
                            t.input.name()
                        ));
                    }
                    if !matches!(t.output, TokenType::Saml2 | TokenType::OpenIdConnect) {
                        problems.push(format!(
                            "supported-token-transforms[{i}]: output token type {} cannot be issued",
                            t.output.name()
                        ));
                    }
                }
            }
        }
        let custom = custom::resolve(&config, plugins, &mut problems);
        if config.issues(TokenType::Saml2) && config.saml2().is_none() {
            problems.push("SAML2 tokens are issued but saml2-config is missing".into());
        }
        if config.issues(TokenType::OpenIdConnect) && config.oidc().is_none() {
            problems
                .push("OPENIDCONNECT tokens are issued but oidc-id-token-config is missing".into());
        }
        let saml_signing = config
            .saml2()
            .and_then(|s| resolve_saml(s, keys, default_key, &mut problems));
        let saml_encryption = config
            .saml2()
            .and_then(|s| resolve_saml_encryption(s, keys, &mut problems));
        let oidc_signing = config
            .oidc()
            .and_then(|o| resolve_oidc(o, keys, default_key, &mut problems))
            .map(Arc::new);
        let oidc_trust = resolve_trust(config.oidc_trusted_issuers(), files, &mut problems);
        // Not an error when absent: OpenAM exports often name an alias nobody uses; the
        // certificate is required only when a symmetric proof key is asked for.
        let relying_party = config
            .saml2()
            .and_then(|s| s.encryption_key_alias.as_deref())
            .and_then(|a| keys.certificates.get(a).cloned());
        let saml_trust = config
            .soap()
            .map(|c| saml_input::resolve(&c.saml2_trusted_issuers, keys, &mut problems))
            .unwrap_or_default();
        let soap_takes = |t: TokenType| {
            config.soap().is_some_and(|c| {
                c.validated_tokens
                    .iter()
                    .any(|v| v.validated_token_type == t)
            })
        };
        if soap_takes(TokenType::Saml2) && saml_trust.is_empty() {
            problems.push(
                "SAML2 input needs saml2-trusted-issuers (issuer, certificate alias, audience)"
                    .into(),
            );
        }
        if soap_takes(TokenType::OpenIdConnect) && oidc_trust.is_empty() {
            problems.push("OPENIDCONNECT input needs oidc-trusted-issuers".into());
        }
        let (anchors, revoked, mappings) = config.x509_settings();
        let x509_trust = if anchors.is_empty() && revoked.is_empty() {
            None
        } else {
            x509::X509Trust::resolve(anchors, revoked, mappings, keys, &mut problems)
        };
        let takes_x509 = soap_takes(TokenType::X509) || config.takes(TokenType::X509);
        if takes_x509 && anchors.is_empty() {
            problems.push(
                "X509 input needs x509-trust-anchors (aliases of CA certificates in keys/)".into(),
            );
        }
        let (header, hosts) = config.tls_offload();
        if header.is_some_and(|h| !is_header_name(h)) {
            problems.push(format!(
                "deployment-config.deployment-offloaded-two-way-tls-header-key `{}` is not an HTTP header name",
                header.unwrap_or_default()
            ));
        }
        for (i, h) in hosts.iter().enumerate() {
            if h.parse::<std::net::IpAddr>().is_err() {
                problems.push(format!(
                    "deployment-config.deployment-tls-offload-engine-hosts[{i}] `{h}` is not an IP address"
                ));
            }
        }
        if oidc_trust.is_empty() && config.takes(TokenType::OpenIdConnect) {
            problems.push("OPENIDCONNECT input needs oidc-trusted-issuers".into());
        }
        if problems.is_empty() {
            Ok(Instance {
                config,
                saml_signing,
                saml_encryption,
                oidc_signing,
                oidc_trust,
                x509_trust,
                saml_trust,
                relying_party,
                custom,
            })
        } else {
            Err(problems)
        }
    }

    /// Whether the SOAP instance's security policy accepts `t` as an input token.
    pub fn accepts(&self, t: TokenType) -> bool {
        self.config.soap().is_some_and(|c| {
            c.validated_tokens
                .iter()
                .any(|v| v.validated_token_type == t)
        })
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
    pub fn custom_transform(
        &self,
        input: &str,
        output: &str,
    ) -> Option<&crate::instance::CustomTokenTransform> {
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

/// An HTTP field name (RFC 9110 token).
fn is_header_name(h: &str) -> bool {
    !h.is_empty()
        && h.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn resolve_saml(
    s: &crate::instance::Saml2Config,
    keys: &Keyring,
    default_key: &str,
    problems: &mut Vec<String>,
) -> Option<SamlSigning> {
    if s.issuer_name.trim().is_empty() {
        problems.push("saml2-config.issuer-name must not be empty".into());
    }
    if !(1..=MAX_LIFETIME_SECS).contains(&s.token_lifetime_seconds) {
        problems.push(format!(
            "saml2-config.saml2-token-lifetime-seconds must be between 1 and {MAX_LIFETIME_SECS}"
        ));
    }
    for (class, key) in [
        (
            &s.custom_conditions_provider,
            "saml2-custom-conditions-provider-class-name",
        ),
        (
            &s.custom_subject_provider,
            "saml2-custom-subject-provider-class-name",
        ),
        (
            &s.custom_attribute_statements_provider,
            "saml2-custom-attribute-statements-provider-class-name",
        ),
        (
            &s.custom_authentication_statements_provider,
            "saml2-custom-authentication-statements-provider-class-name",
        ),
        (
            &s.custom_authz_decision_statements_provider,
            "saml2-custom-authz-decision-statements-provider-class-name",
        ),
        (
            &s.custom_attribute_mapper,
            "saml2-custom-attribute-mapper-class-name",
        ),
        (
            &s.custom_authn_context_mapper,
            "saml2-custom-authn-context-mapper-class-name",
        ),
    ] {
        if class.as_deref().is_some_and(|c| !c.is_empty()) {
            problems.push(format!(
                "saml2-config.{key}: custom Java classes are not supported"
            ));
        }
    }
    signing::resolve(s, keys, default_key, problems)
}

/// The encryption of an instance's assertions: the relying party's certificate
/// (`saml2-encryption-key-alias`, a certificate in keys/) and the block cipher.
fn resolve_saml_encryption(
    s: &crate::instance::Saml2Config,
    keys: &Keyring,
    problems: &mut Vec<String>,
) -> Option<saml2::Encryption> {
    if !(s.encrypt_assertion || s.encrypt_attributes || s.encrypt_nameid) {
        return None;
    }
    if s.encrypt_assertion && (s.encrypt_attributes || s.encrypt_nameid) {
        problems.push(
            "saml2-config: saml2-encrypt-assertion already hides NameID and attributes; it cannot be combined with saml2-encrypt-nameid or saml2-encrypt-attributes".into(),
        );
        return None;
    }
    let cipher = match crate::tokens::xmlenc::BlockCipher::from_config(
        s.encryption_algorithm.as_deref(),
        s.encryption_algorithm_strength,
    ) {
        Ok(c) => c,
        Err(e) => {
            problems.push(format!("saml2-config.saml2-encryption-algorithm: {e}"));
            return None;
        }
    };
    let Some(alias) = s.encryption_key_alias.as_deref().filter(|a| !a.is_empty()) else {
        problems.push(
            "saml2-config.saml2-encryption-key-alias must name the relying party's certificate to encrypt to".into(),
        );
        return None;
    };
    let Some(cert) = keys.certificates.get(alias) else {
        problems.push(format!(
            "saml2-config.saml2-encryption-key-alias `{alias}` names no certificate in keys/ ({alias}.crt.pem)"
        ));
        return None;
    };
    match crate::tokens::xmlenc::Encrypter::new(cipher, cert.clone()) {
        Ok(encrypter) => Some(saml2::Encryption {
            encrypter,
            assertion: s.encrypt_assertion,
            attributes: s.encrypt_attributes,
            name_id: s.encrypt_nameid,
        }),
        Err(e) => {
            problems.push(format!("saml2-config.saml2-encryption-key-alias: {e}"));
            None
        }
    }
}

fn resolve_trust(
    list: &[crate::instance::TrustedIssuerConfig],
    files: &files::InstanceFiles,
    problems: &mut Vec<String>,
) -> Vec<TrustedIssuer> {
    use crate::tokens::oidc::TrustedKey;
    let mut out = Vec::new();
    for (i, t) in list.iter().enumerate() {
        let at = format!("oidc-trusted-issuers[{i}]");
        let before = problems.len();
        if t.issuer.trim().is_empty() {
            problems.push(format!("{at}.issuer must not be empty"));
        }
        if t.audience.is_empty() || t.audience.iter().any(|a| a.trim().is_empty()) {
            problems.push(format!("{at}.audience must name at least one audience"));
        }
        let mut algorithms = Vec::new();
        for a in &t.algorithms {
            match crate::tokens::oidc::TrustedAlgorithm::from_name(a) {
                Some(alg) => algorithms.push(alg),
                None => problems.push(format!(
                    "{at}.algorithms: `{a}` is not a JWS algorithm this STS verifies"
                )),
            }
        }
        if algorithms.is_empty() {
            problems.push(format!("{at}.algorithms must not be empty"));
        }
        let mut keys = Vec::new();
        let jwks = match (&t.jwks, &t.jwks_file) {
            (Some(j), None) => Some(j.clone()),
            (None, Some(path)) => match files.read(&format!("{at}.jwks-file"), path) {
                Ok(b) => match serde_json::from_slice(&b) {
                    Ok(j) => Some(j),
                    Err(e) => {
                        problems.push(format!("{at}.jwks-file `{path}`: not JSON: {e}"));
                        None
                    }
                },
                Err(e) => {
                    problems.push(e);
                    None
                }
            },
            (Some(_), Some(_)) => {
                problems.push(format!("{at}: give jwks or jwks-file, not both"));
                None
            }
            (None, None) => None,
        };
        if let Some(j) = jwks {
            match j.get("keys").and_then(serde_json::Value::as_array) {
                Some(list) => {
                    for (k, jwk) in list.iter().enumerate() {
                        match TrustedKey::from_jwk(jwk) {
                            Ok(key) => keys.push(key),
                            Err(e) => problems.push(format!("{at}.jwks.keys[{k}]: {e}")),
                        }
                    }
                }
                None => problems.push(format!("{at}.jwks must be a JWK set ({{\"keys\": [...]}})")),
            }
        }
        if list[..i].iter().any(|o| o.issuer == t.issuer) {
            problems.push(format!("{at}.issuer `{}` is listed twice", t.issuer));
        }
        if let Some(secret) = &t.client_secret {
            // RFC 7518 3.2: a key at least as long as the hash.
            let need = algorithms
                .iter()
                .filter_map(|a| match a {
                    crate::tokens::oidc::TrustedAlgorithm::Jws(j) if j.key_kind().is_none() => {
                        Some(j.digest_len())
                    }
                    _ => None,
                })
                .max()
                .unwrap_or(32);
            if secret.expose().len() < need {
                problems.push(format!(
                    "{at}.client-secret must have at least {need} bytes"
                ));
            }
            keys.push(TrustedKey::Hmac(Secret::new(
                secret.expose().as_bytes().to_vec(),
            )));
        }
        for alg in &algorithms {
            let usable = keys.iter().any(|k| k.fits(*alg));
            if !usable {
                problems.push(format!("{at}: no key can verify {} tokens", alg.name()));
            }
        }
        if problems.len() == before {
            out.push(TrustedIssuer {
                issuer: t.issuer.clone(),
                audience: t.audience.clone(),
                algorithms,
                keys,
                principal_claim: t.principal_claim.clone(),
            });
        }
    }
    out
}

fn resolve_oidc(
    o: &crate::instance::OidcConfig,
    keys: &Keyring,
    default_key: &str,
    problems: &mut Vec<String>,
) -> Option<JwsSigner> {
    if o.issuer.trim().is_empty() {
        problems.push("oidc-id-token-config.oidc-issuer must not be empty".into());
    }
    if o.audience.is_empty() || o.audience.iter().any(|a| a.trim().is_empty()) {
        problems.push("oidc-id-token-config.oidc-audience must name at least one audience".into());
    }
    if !(1..=MAX_LIFETIME_SECS).contains(&o.token_lifetime_seconds) {
        problems.push(format!(
            "oidc-id-token-config.oidc-token-lifetime-seconds must be between 1 and {MAX_LIFETIME_SECS}"
        ));
    }
    for claim in o.claim_map.keys() {
        if RESERVED_CLAIMS.contains(&claim.as_str()) {
            problems.push(format!(
                "oidc-id-token-config.oidc-claim-map may not set the `{claim}` claim"
            ));
        }
    }
    for (class, key) in [
        (&o.custom_claim_mapper, "oidc-custom-claim-mapper-class"),
        (
            &o.custom_authn_context_mapper,
            "oidc-custom-authn-context-mapper-class",
        ),
        (
            &o.custom_authn_method_references_mapper,
            "oidc-custom-authn-method-references-mapper-class",
        ),
    ] {
        if class.as_deref().is_some_and(|c| !c.is_empty()) {
            problems.push(format!(
                "oidc-id-token-config.{key}: custom Java classes are not supported"
            ));
        }
    }
    let jwk_in_header = match o.public_key_reference_type.as_str() {
        "NONE" => false,
        "JWK" => true,
        other => {
            problems.push(format!(
                "oidc-id-token-config.oidc-public-key-reference-type `{other}` is not NONE or JWK"
            ));
            false
        }
    };
    let Some(alg) = JwsAlgorithm::from_name(&o.signature_algorithm) else {
        problems.push(format!(
            "oidc-id-token-config.oidc-signature-algorithm `{}` is not one of HS256, HS384, HS512, RS256, RS384, RS512, PS256, ES256, ES384, ES512",
            o.signature_algorithm
        ));
        return None;
    };
    let key = match alg.key_kind() {
        None => match &o.client_secret {
            Some(s) => JwsKey::Hmac(Secret::new(s.expose().as_bytes().to_vec())),
            None => {
                problems.push(format!(
                    "oidc-id-token-config.oidc-client-secret is required for {}",
                    alg.name()
                ));
                return None;
            }
        },
        Some(kind) => {
            let alias = o.signature_key_alias.as_deref().unwrap_or(match kind {
                crate::xmldsig::KeyKind::Rsa => default_key,
                crate::xmldsig::KeyKind::Ec => crate::datadir::DEFAULT_EC_KEY,
            });
            match keys.signing.get(alias) {
                Some(k) => JwsKey::Private(k.clone()),
                None => {
                    problems.push(format!(
                        "oidc-id-token-config.oidc-signature-key-alias `{alias}` names no key in keys/"
                    ));
                    return None;
                }
            }
        }
    };
    match JwsSigner::new(alg, key, jwk_in_header) {
        Ok(s) => Some(s),
        Err(e) => {
            problems.push(format!("oidc-id-token-config: {e}"));
            None
        }
    }
}
