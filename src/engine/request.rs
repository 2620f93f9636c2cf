//! What front ends hand the engine, and what it hands back.

use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};

use super::authn::x509;
use super::{Authenticated, EngineError, Principal, ProvenChain};
use crate::instance::TokenType;
use crate::secret::Secret;
use crate::wstrust::proof;

/// Longest nonce accepted (WSS suggests 16 bytes; some clients send 32 or 64).
pub const MAX_NONCE_BYTES: usize = 128;

/// Time and replay settings.
#[derive(Debug, Clone, Copy)]
pub struct Freshness {
    /// Clock difference tolerated between client and server.
    pub max_skew: Duration,
    /// How old a UsernameToken `Created` may be; nonces are remembered this long (plus skew).
    pub window: Duration,
}

impl Default for Freshness {
    fn default() -> Self {
        Freshness {
            max_skew: Duration::seconds(300),
            window: Duration::seconds(300),
        }
    }
}

/// A credential presented by a caller.
#[derive(Debug, Clone)]
pub enum Credential {
    /// WS-Security UsernameToken (or REST `USERNAME`) with the password in clear.
    PasswordText {
        username: String,
        password: Secret<String>,
        nonce: Option<Vec<u8>>,
        created: Option<String>,
        /// The client's address, for throttling failures (`identity::throttle`).
        source: Option<std::net::IpAddr>,
    },
    /// WS-Security PasswordDigest: Base64(SHA-1(nonce + created + password)).
    PasswordDigest {
        username: String,
        digest: Secret<String>,
        nonce: Vec<u8>,
        created: String,
        source: Option<std::net::IpAddr>,
    },
    /// An SSO session token (OpenAM's `OPENAM` input token type).
    Session { token: Secret<String> },
    /// An OpenID Connect id_token of a trusted issuer (`OPENIDCONNECT` input).
    OidcIdToken { token: Secret<String> },
    /// A client certificate chain whose key the request proved (`X509` input).
    X509(ProvenChain),
    /// A signed SAML 2.0 assertion of a trusted issuer, as presented (`SAML2` input).
    Saml2Assertion { xml: Vec<u8> },
}

impl Credential {
    /// Its input token type, as the `token_in` label of the request metrics.
    pub fn metric_name(&self) -> &'static str {
        match self {
            Credential::PasswordText { .. } | Credential::PasswordDigest { .. } => "USERNAME",
            Credential::Session { .. } => "OPENAM",
            Credential::OidcIdToken { .. } => "OPENIDCONNECT",
            Credential::X509(_) => "X509",
            Credential::Saml2Assertion { .. } => "SAML2",
        }
    }
}

/// What a Validate or Cancel names: the token itself, or its id.
#[derive(Debug, Clone)]
pub enum TokenTarget {
    /// A SAML 2.0 assertion.
    Token(Vec<u8>),
    /// An OpenID Connect id_token (compact JWS).
    Jwt(String),
    /// The id of a stored token.
    Reference(String),
    /// A custom token: its type name, the id it was issued under, and the token.
    Custom {
        token_type: String,
        id: String,
        token: String,
    },
}

impl TokenTarget {
    /// Its token type, as the `token_in` label of the request metrics (a closed set: every
    /// custom type is `CUSTOM`, a stored token's id is `REFERENCE`).
    pub fn metric_name(&self) -> &'static str {
        match self {
            TokenTarget::Token(_) => "SAML2",
            TokenTarget::Jwt(_) => "OPENIDCONNECT",
            TokenTarget::Reference(_) => "REFERENCE",
            TokenTarget::Custom { .. } => "CUSTOM",
        }
    }
}

/// The outcome of a validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validation {
    pub valid: bool,
    pub reason: String,
}

/// A live token of this STS (see `Engine::check`): what it says, read from the verified
/// content only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveToken {
    pub token_type: TokenType,
    /// Assertion ID or `jti`.
    pub id: String,
    pub subject: Option<String>,
    pub issuer: String,
    /// Seconds since the epoch.
    pub issued_at: Option<i64>,
    pub expires: i64,
    pub audience: Vec<String>,
    /// `azp` of an id_token.
    pub authorized_party: Option<String>,
}

/// A WS-Security message timestamp.
#[derive(Debug, Clone, Copy)]
pub struct MessageTimestamp {
    pub created: Option<DateTime<Utc>>,
    pub expires: Option<DateTime<Utc>>,
}

/// How the subject of an issued token is confirmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyType {
    Bearer,
    /// SAML2 `sender-vouches`: the requester vouches for the subject.
    SenderVouches,
    /// Holder-of-key with the public key of a client certificate.
    PublicKey(ProofCertificate),
    /// Holder-of-key with a symmetric key made for this token.
    Symmetric(proof::SymmetricRequest),
}

/// A client certificate to bind a holder-of-key token to: checked to be one DER X.509
/// certificate with an RSA or EC key of a usable size, within its validity period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofCertificate {
    der: Vec<u8>,
}

/// Largest proof certificate accepted.
pub const MAX_PROOF_CERT_BYTES: usize = 16 * 1024;

impl ProofCertificate {
    /// Reads a certificate given as base64 of its DER encoding (PEM armour is tolerated).
    pub fn from_base64(b64: &str, now: DateTime<Utc>) -> Result<ProofCertificate, EngineError> {
        let bad = |m: &str| EngineError::Invalid(format!("proof certificate: {m}"));
        let body: String = b64
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .flat_map(|l| l.split_whitespace())
            .collect();
        if body.len() > MAX_PROOF_CERT_BYTES * 4 / 3 + 4 {
            return Err(bad("too large"));
        }
        let der = base64::engine::general_purpose::STANDARD
            .decode(body)
            .map_err(|_| bad("not base64"))?;
        Self::from_der(der, now)
    }

    pub fn from_der(der: Vec<u8>, now: DateTime<Utc>) -> Result<ProofCertificate, EngineError> {
        let bad = |m: String| EngineError::Invalid(format!("proof certificate: {m}"));
        let cert = openssl::x509::X509::from_der(&der)
            .map_err(|_| bad("not a DER X.509 certificate".into()))?;
        let key = cert
            .public_key()
            .map_err(|_| bad("no readable public key".into()))?;
        // d2i reads the first certificate and ignores what follows: nothing else may be there.
        if cert.to_der().ok().as_deref() != Some(der.as_slice()) {
            return Err(bad("exactly one DER certificate is expected".into()));
        }
        let named_curve = || {
            key.ec_key()
                .ok()
                .and_then(|ec| ec.group().curve_name())
                .is_some_and(|n| {
                    [
                        openssl::nid::Nid::X9_62_PRIME256V1,
                        openssl::nid::Nid::SECP384R1,
                        openssl::nid::Nid::SECP521R1,
                    ]
                    .contains(&n)
                })
        };
        match key.id() {
            openssl::pkey::Id::RSA if key.bits() >= 2048 => {}
            openssl::pkey::Id::EC if named_curve() => {}
            _ => {
                return Err(bad(
                    "the key must be RSA (2048 bits or more) or EC on P-256, P-384 or P-521".into(),
                ));
            }
        }
        x509::check_validity(&cert, now)
            .map_err(|why| bad(format!("not within its validity period ({why})")))?;
        Ok(ProofCertificate { der })
    }

    pub fn der(&self) -> &[u8] {
        &self.der
    }
}

/// A claim type a requester asks to find in the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestedClaim {
    /// The claim URI (or an id_token claim name).
    pub uri: String,
    /// Whether the token may go without it; a required claim the instance cannot supply
    /// fails the request.
    pub optional: bool,
    /// The one value asked for, if any: only that value is put in.
    pub value: Option<String>,
}

/// What the caller asked for.
#[derive(Debug, Clone)]
pub struct IssueRequest {
    pub token_type: TokenType,
    pub key_type: KeyType,
    pub applies_to: Option<String>,
    pub lifetime_created: Option<DateTime<Utc>>,
    pub lifetime_expires: Option<DateTime<Utc>>,
    /// For `wst:OnBehalfOf`: the authenticated requester, who vouches for the principal
    /// (the token is then a sender-vouches assertion).
    pub vouched_by: Option<Authenticated<Principal>>,
    /// For `wst:ActAs`: the authenticated requester, who acts as the principal and is
    /// named in the token as its actor (SAML 2.0 `del:Delegate`, SAML 1.1 `actor` claim,
    /// id_token `act`).
    pub actor: Option<Authenticated<Principal>>,
    /// The claim types asked for (`wst:Claims`); `None` puts every mapped attribute in.
    pub claims: Option<Vec<RequestedClaim>>,
    /// The public id of the session behind the token, for `AuthnStatement/@SessionIndex`.
    pub session_index: Option<String>,
    /// The `nonce` claim of an id_token.
    pub nonce: Option<String>,
    /// `wst:Renewing`: the renew semantics recorded in an assertion (see `engine::renew`).
    pub renewing: Option<super::RenewSemantics>,
    /// When the subject was first authenticated, for a token re-issued from another of this
    /// STS's (Validate to a new token): an assertion's `AuthnInstant` keeps it, so that
    /// `saml2-renew-max-age-seconds` still counts from there. `None`: now.
    pub authn_instant: Option<DateTime<Utc>>,
}

impl IssueRequest {
    /// A request for a bearer token of `token_type` with the instance's defaults.
    pub fn new(token_type: TokenType) -> IssueRequest {
        IssueRequest {
            token_type,
            key_type: KeyType::Bearer,
            applies_to: None,
            lifetime_created: None,
            lifetime_expires: None,
            vouched_by: None,
            actor: None,
            claims: None,
            session_index: None,
            nonce: None,
            renewing: None,
            authn_instant: None,
        }
    }
}

/// An issued token.
#[derive(Debug)]
pub struct Issued {
    pub id: String,
    /// The token: assertion XML, or a compact JWS.
    pub token: String,
    pub created: DateTime<Utc>,
    pub expires: DateTime<Utc>,
    pub audience: Option<String>,
    /// For a persisting instance, the pending durable write of the token: the reply must
    /// not be sent before it resolves.
    pub durable: Option<crate::store::Durable>,
    /// For a symmetric holder-of-key token: what the requestor learns of the proof key, and
    /// the key (which the requestor already has or can compute, and the relying party gets
    /// encrypted in the token).
    pub proof: Option<proof::SymmetricProof>,
}
