//! OpenID Connect id_tokens: JWS compact serialisation (RFC 7515) over a JSON claim set.
//!
//! Verification accepts exactly the algorithm the instance signs with: the `alg` header is
//! compared with it, never used to choose a key, so `none` and RS->HS confusion cannot pass.
//! A [`VerifiedJwt`] can only be built by [`JwsSigner::verify`].

use std::sync::Arc;

use base64::Engine as _;
use openssl::bn::{BigNum, BigNumContext};
use openssl::ecdsa::EcdsaSig;
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::PKey;
use openssl::rsa::Padding;
use openssl::sign::{RsaPssSaltlen, Signer, Verifier};
use serde_json::{Map, Value, json};

use crate::crypto::{KeyKind, SigningKey};
use crate::secret::{Secret, ct_eq};

/// Longest token accepted for verification.
pub const MAX_JWT_BYTES: usize = 16 * 1024;

/// JWT failures.
#[derive(Debug, thiserror::Error)]
pub enum JwtError {
    #[error("unsupported JWS algorithm `{0}`")]
    UnknownAlgorithm(String),
    #[error("{0}")]
    KeyMismatch(String),
    #[error("the token is not a JWS in compact form: {0}")]
    Malformed(&'static str),
    #[error("the token is signed with `{found}`, not `{expected}`")]
    WrongAlgorithm {
        found: String,
        expected: &'static str,
    },
    #[error("the signature does not verify")]
    BadSignature,
    #[error("signing failed: {0}")]
    Crypto(#[from] openssl::error::ErrorStack),
}

/// JWS algorithms (RFC 7518) an instance may sign id_tokens with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwsAlgorithm {
    Hs256,
    Hs384,
    Hs512,
    Rs256,
    Rs384,
    Rs512,
    Ps256,
    Es256,
    Es384,
    Es512,
}

impl JwsAlgorithm {
    const ALL: [JwsAlgorithm; 10] = [
        Self::Hs256,
        Self::Hs384,
        Self::Hs512,
        Self::Rs256,
        Self::Rs384,
        Self::Rs512,
        Self::Ps256,
        Self::Es256,
        Self::Es384,
        Self::Es512,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Hs256 => "HS256",
            Self::Hs384 => "HS384",
            Self::Hs512 => "HS512",
            Self::Rs256 => "RS256",
            Self::Rs384 => "RS384",
            Self::Rs512 => "RS512",
            Self::Ps256 => "PS256",
            Self::Es256 => "ES256",
            Self::Es384 => "ES384",
            Self::Es512 => "ES512",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.name() == name)
    }

    /// Length of the hash, which is the least HMAC key length (RFC 7518 3.2).
    pub fn digest_len(self) -> usize {
        self.digest().size()
    }

    fn digest(self) -> MessageDigest {
        match self {
            Self::Hs256 | Self::Rs256 | Self::Ps256 | Self::Es256 => MessageDigest::sha256(),
            Self::Hs384 | Self::Rs384 | Self::Es384 => MessageDigest::sha384(),
            Self::Hs512 | Self::Rs512 | Self::Es512 => MessageDigest::sha512(),
        }
    }

    /// The key kind the algorithm needs; None for HMAC (a shared secret).
    pub fn key_kind(self) -> Option<KeyKind> {
        match self {
            Self::Hs256 | Self::Hs384 | Self::Hs512 => None,
            Self::Rs256 | Self::Rs384 | Self::Rs512 | Self::Ps256 => Some(KeyKind::Rsa),
            Self::Es256 | Self::Es384 | Self::Es512 => Some(KeyKind::Ec),
        }
    }

    /// The curve and coordinate length of an ECDSA algorithm.
    fn curve(self) -> Option<(Nid, usize, &'static str)> {
        match self {
            Self::Es256 => Some((Nid::X9_62_PRIME256V1, 32, "P-256")),
            Self::Es384 => Some((Nid::SECP384R1, 48, "P-384")),
            Self::Es512 => Some((Nid::SECP521R1, 66, "P-521")),
            _ => None,
        }
    }
}

/// The key an id_token is signed with.
#[derive(Debug, Clone)]
pub enum JwsKey {
    Hmac(Secret<Vec<u8>>),
    Private(Arc<SigningKey>),
}

/// Signs and verifies the id_tokens of one instance.
#[derive(Debug, Clone)]
pub struct JwsSigner {
    alg: JwsAlgorithm,
    key: JwsKey,
    kid: Option<String>,
    /// The public key as a JWK, for asymmetric keys.
    jwk: Option<Value>,
    jwk_in_header: bool,
    /// The key this alias had before its last rotation, if it fits the algorithm: tokens
    /// it signed still verify, and it stays in the JWK set.
    previous: Option<PreviousKey>,
}

/// The public key of a rotated-out key pair.
#[derive(Debug, Clone)]
struct PreviousKey {
    kid: String,
    jwk: Value,
    key: PKey<openssl::pkey::Public>,
}

/// Claims whose signature was verified. The private field means only
/// [`JwsSigner::verify`] builds one.
#[derive(Debug, Clone)]
pub struct VerifiedJwt {
    claims: Map<String, Value>,
    _proof: (),
}

impl VerifiedJwt {
    pub fn claims(&self) -> &Map<String, Value> {
        &self.claims
    }
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64(s: &str) -> Result<Vec<u8>, JwtError> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|_| JwtError::Malformed("a part is not base64url"))
}

impl JwsSigner {
    /// Checks that `key` fits `alg` (HMAC secrets of at least the digest size, RSA keys of
    /// at least 2048 bits, the curve of ES*), and derives the `kid` (RFC 7638 thumbprint).
    pub fn new(alg: JwsAlgorithm, key: JwsKey, jwk_in_header: bool) -> Result<Self, JwtError> {
        let (kid, jwk) = match (&key, alg.key_kind()) {
            (JwsKey::Hmac(secret), None) => {
                let min = alg.digest().size();
                if secret.expose().len() < min {
                    return Err(JwtError::KeyMismatch(format!(
                        "{} needs a client secret of at least {min} bytes",
                        alg.name()
                    )));
                }
                if jwk_in_header {
                    return Err(JwtError::KeyMismatch(
                        "a JWK header cannot carry an HMAC secret".into(),
                    ));
                }
                (None, None)
            }
            (JwsKey::Private(k), Some(kind)) if k.kind() == kind => {
                let jwk = public_jwk(k.openssl_key(), alg)?;
                (Some(thumbprint(&jwk)), Some(jwk))
            }
            (JwsKey::Private(k), _) => {
                return Err(JwtError::KeyMismatch(format!(
                    "{} does not fit key `{}` ({:?})",
                    alg.name(),
                    k.alias(),
                    k.kind()
                )));
            }
            (JwsKey::Hmac(_), Some(_)) => {
                return Err(JwtError::KeyMismatch(format!(
                    "{} needs a key pair, not a client secret",
                    alg.name()
                )));
            }
        };
        let previous = match &key {
            JwsKey::Private(k) => k.previous().and_then(|cert| {
                // A previous key of another kind or curve cannot have signed with `alg`.
                let jwk = public_jwk(cert.public_key(), alg).ok()?;
                Some(PreviousKey {
                    kid: thumbprint(&jwk),
                    jwk,
                    key: cert.public_key().clone(),
                })
            }),
            JwsKey::Hmac(_) => None,
        };
        Ok(JwsSigner {
            alg,
            key,
            kid,
            jwk,
            jwk_in_header,
            previous,
        })
    }

    pub fn algorithm(&self) -> JwsAlgorithm {
        self.alg
    }

    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The public keys as JWKs with `kid`, `alg` and `use` (for a JWKS document): the
    /// current key, then the previous one if the key was rotated. Empty for HMAC.
    pub fn public_jwks(&self) -> Vec<Value> {
        let complete = |jwk: &Value, kid: &str| {
            let mut jwk = jwk.clone();
            if let Value::Object(m) = &mut jwk {
                m.insert("kid".into(), json!(kid));
                m.insert("alg".into(), json!(self.alg.name()));
                m.insert("use".into(), json!("sig"));
            }
            jwk
        };
        let mut out = Vec::new();
        if let (Some(jwk), Some(kid)) = (&self.jwk, &self.kid) {
            out.push(complete(jwk, kid));
        }
        if let Some(p) = &self.previous {
            out.push(complete(&p.jwk, &p.kid));
        }
        out
    }

    /// Signs `claims` (a JSON object) into a compact JWS.
    pub fn sign(&self, claims: &Value) -> Result<String, JwtError> {
        let _timed = crate::metrics::time(crate::metrics::Stage::Sign);
        let mut header = Map::new();
        header.insert("typ".into(), json!("JWT"));
        header.insert("alg".into(), json!(self.alg.name()));
        if let Some(kid) = &self.kid {
            header.insert("kid".into(), json!(kid));
        }
        if self.jwk_in_header
            && let Some(jwk) = &self.jwk
        {
            header.insert("jwk".into(), jwk.clone());
        }
        let mut out = b64(Value::Object(header).to_string().as_bytes());
        out.push('.');
        out.push_str(&b64(claims.to_string().as_bytes()));
        let sig = self.signature(out.as_bytes())?;
        out.push('.');
        out.push_str(&b64(&sig));
        Ok(out)
    }

    fn signature(&self, input: &[u8]) -> Result<Vec<u8>, JwtError> {
        let md = self.alg.digest();
        match &self.key {
            JwsKey::Hmac(secret) => {
                let pkey = PKey::hmac(secret.expose())?;
                let mut s = Signer::new(md, &pkey)?;
                s.update(input)?;
                Ok(s.sign_to_vec()?)
            }
            JwsKey::Private(k) => {
                let pkey = k.openssl_key();
                let mut s = Signer::new(md, pkey)?;
                if self.alg == JwsAlgorithm::Ps256 {
                    s.set_rsa_padding(Padding::PKCS1_PSS)?;
                    s.set_rsa_pss_saltlen(RsaPssSaltlen::DIGEST_LENGTH)?;
                    s.set_rsa_mgf1_md(md)?;
                }
                s.update(input)?;
                let der = s.sign_to_vec()?;
                match self.alg.curve() {
                    // JWS wants R || S, each padded to the coordinate length, not DER.
                    Some((_, len, _)) => {
                        let sig = EcdsaSig::from_der(&der)?;
                        let mut raw = sig.r().to_vec_padded(len as i32)?;
                        raw.extend(sig.s().to_vec_padded(len as i32)?);
                        Ok(raw)
                    }
                    None => Ok(der),
                }
            }
        }
    }

    /// Verifies a compact JWS made with this signer's key and algorithm; returns its claims.
    pub fn verify(&self, token: &str) -> Result<VerifiedJwt, JwtError> {
        let _timed = crate::metrics::time(crate::metrics::Stage::Verify);
        let c = Compact::split(token)?;
        if c.alg != self.alg.name() {
            return Err(JwtError::WrongAlgorithm {
                found: c.alg,
                expected: self.alg.name(),
            });
        }
        let ok = match (&self.key, &self.previous) {
            (JwsKey::Hmac(_), _) => ct_eq(&self.signature(c.input)?, &c.sig),
            // The `kid` only picks between this signer's own two keys.
            (JwsKey::Private(_), Some(p)) if c.kid.as_deref() == Some(p.kid.as_str()) => {
                public_signature_ok(self.alg, &p.key, c.input, &c.sig)?
            }
            (JwsKey::Private(k), _) => {
                public_signature_ok(self.alg, k.openssl_key(), c.input, &c.sig)?
            }
        };
        c.claims_if(ok)
    }
}

/// A compact JWS taken apart (nothing verified yet).
struct Compact<'t> {
    alg: String,
    kid: Option<String>,
    input: &'t [u8],
    payload: &'t str,
    sig: Vec<u8>,
}

impl<'t> Compact<'t> {
    fn split(token: &'t str) -> Result<Compact<'t>, JwtError> {
        if token.len() > MAX_JWT_BYTES {
            return Err(JwtError::Malformed("too long"));
        }
        let token = token.trim();
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(JwtError::Malformed("expected three parts"));
        };
        let header: Map<String, Value> = serde_json::from_slice(&unb64(h)?)
            .map_err(|_| JwtError::Malformed("the header is not a JSON object"))?;
        if header.contains_key("crit") {
            return Err(JwtError::Malformed(
                "critical header parameters are not supported",
            ));
        }
        Ok(Compact {
            alg: header
                .get("alg")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
            kid: header.get("kid").and_then(Value::as_str).map(str::to_owned),
            // `h` and `p` are the first two parts of `token`, joined by one `.`.
            input: token
                .as_bytes()
                .get(..h.len() + 1 + p.len())
                .unwrap_or_default(),
            payload: p,
            sig: unb64(s)?,
        })
    }

    fn claims_if(self, ok: bool) -> Result<VerifiedJwt, JwtError> {
        if !ok {
            return Err(JwtError::BadSignature);
        }
        let claims: Map<String, Value> = serde_json::from_slice(&unb64(self.payload)?)
            .map_err(|_| JwtError::Malformed("the payload is not a JSON object"))?;
        Ok(VerifiedJwt { claims, _proof: () })
    }
}

/// A string claim of a JWT's payload, read WITHOUT verifying anything: only to choose
/// which keys to verify it with; the verified claims are checked again afterwards.
pub fn unverified_claim(token: &str, name: &str) -> Option<String> {
    let payload = token.split('.').nth(1)?;
    let claims: Map<String, Value> = serde_json::from_slice(&unb64(payload).ok()?).ok()?;
    claims.get(name)?.as_str().map(str::to_owned)
}

/// Checks an RS/PS/ES signature (JWS encoding) with a public key.
fn public_signature_ok<T: openssl::pkey::HasPublic>(
    alg: JwsAlgorithm,
    pkey: &openssl::pkey::PKeyRef<T>,
    input: &[u8],
    sig: &[u8],
) -> Result<bool, JwtError> {
    let md = alg.digest();
    let der;
    let sig: &[u8] = match alg.curve() {
        Some((_, len, _)) => {
            let Some((r, s)) = sig.split_at_checked(len).filter(|(_, s)| s.len() == len) else {
                return Ok(false);
            };
            let r = BigNum::from_slice(r)?;
            let s = BigNum::from_slice(s)?;
            der = EcdsaSig::from_private_components(r, s)?.to_der()?;
            &der
        }
        None => {
            // RSA: exactly the modulus length, so one token has one signature encoding.
            if pkey.rsa().map(|r| r.size() as usize).ok() != Some(sig.len()) {
                return Ok(false);
            }
            sig
        }
    };
    let mut v = Verifier::new(md, pkey)?;
    if alg == JwsAlgorithm::Ps256 {
        v.set_rsa_padding(Padding::PKCS1_PSS)?;
        v.set_rsa_pss_saltlen(RsaPssSaltlen::DIGEST_LENGTH)?;
        v.set_rsa_mgf1_md(md)?;
    }
    v.update(input)?;
    Ok(v.verify(sig).unwrap_or(false))
}

/// An algorithm accepted from another issuer: one this STS also signs with, or EdDSA
/// (Ed25519, RFC 8037), which it only verifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrustedAlgorithm {
    Jws(JwsAlgorithm),
    EdDsa,
}

impl TrustedAlgorithm {
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "EdDSA" => Some(Self::EdDsa),
            other => JwsAlgorithm::from_name(other).map(Self::Jws),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Jws(a) => a.name(),
            Self::EdDsa => "EdDSA",
        }
    }
}

/// A verification key of another issuer: a public key from its JWKS, or a shared secret.
#[derive(Debug, Clone)]
pub enum TrustedKey {
    Public {
        kid: Option<String>,
        key: PKey<openssl::pkey::Public>,
        kind: KeyKind,
        /// The curve of an EC key: ES256/384/512 each name one.
        curve: Option<Nid>,
    },
    Hmac(Secret<Vec<u8>>),
    /// An Ed25519 public key (`kty` OKP, `crv` Ed25519), for EdDSA.
    Ed25519 {
        kid: Option<String>,
        key: PKey<openssl::pkey::Public>,
    },
}

impl TrustedKey {
    /// A public key from a JWK (`kty` RSA with `n`, `e`; EC with `crv`, `x`, `y`).
    pub fn from_jwk(jwk: &Value) -> Result<TrustedKey, String> {
        let field = |name: &str| -> Result<Vec<u8>, String> {
            let v = jwk
                .get(name)
                .and_then(Value::as_str)
                .ok_or_else(|| format!("the JWK has no `{name}`"))?;
            unb64(v).map_err(|_| format!("the JWK member `{name}` is not base64url"))
        };
        let kid = jwk.get("kid").and_then(Value::as_str).map(str::to_owned);
        if jwk
            .get("use")
            .and_then(Value::as_str)
            .is_some_and(|u| u != "sig")
        {
            return Err("the JWK is not a signature key (`use` is not `sig`)".into());
        }
        let bn = |b: Vec<u8>| BigNum::from_slice(&b).map_err(|e| e.to_string());
        match jwk.get("kty").and_then(Value::as_str) {
            Some("RSA") => {
                let e = bn(field("e")?)?;
                // e = 1 would let anyone forge; an even e is not an RSA key.
                if !e.is_bit_set(0) || e.num_bits() < 2 || e.num_bits() > 32 {
                    return Err(
                        "the RSA exponent must be odd, at least 3 and at most 32 bits".into(),
                    );
                }
                let rsa = openssl::rsa::Rsa::from_public_components(bn(field("n")?)?, e)
                    .map_err(|e| e.to_string())?;
                if rsa.size() < 256 || rsa.size() > 1024 {
                    return Err("RSA keys must have 2048 to 8192 bits".into());
                }
                let key = PKey::from_rsa(rsa).map_err(|e| e.to_string())?;
                Ok(TrustedKey::Public {
                    kid,
                    key,
                    kind: KeyKind::Rsa,
                    curve: None,
                })
            }
            Some("EC") => {
                let nid = match jwk.get("crv").and_then(Value::as_str) {
                    Some("P-256") => Nid::X9_62_PRIME256V1,
                    Some("P-384") => Nid::SECP384R1,
                    Some("P-521") => Nid::SECP521R1,
                    other => return Err(format!("unsupported curve {other:?}")),
                };
                let group =
                    openssl::ec::EcGroup::from_curve_name(nid).map_err(|e| e.to_string())?;
                let ec = openssl::ec::EcKey::from_public_key_affine_coordinates(
                    &group,
                    &*bn(field("x")?)?,
                    &*bn(field("y")?)?,
                )
                .map_err(|_| "the EC point is not on the curve".to_owned())?;
                ec.check_key()
                    .map_err(|_| "the EC key is not valid".to_owned())?;
                let key = PKey::from_ec_key(ec).map_err(|e| e.to_string())?;
                Ok(TrustedKey::Public {
                    kid,
                    key,
                    kind: KeyKind::Ec,
                    curve: Some(nid),
                })
            }
            Some("OKP") => {
                if jwk.get("crv").and_then(Value::as_str) != Some("Ed25519") {
                    return Err("only the OKP curve Ed25519 is supported".into());
                }
                let x = field("x")?;
                if x.len() != 32 {
                    return Err("an Ed25519 key has 32 bytes".into());
                }
                let key = PKey::public_key_from_raw_bytes(&x, openssl::pkey::Id::ED25519)
                    .map_err(|e| e.to_string())?;
                Ok(TrustedKey::Ed25519 { kid, key })
            }
            other => Err(format!("unsupported JWK kty {other:?}")),
        }
    }

    /// Whether this key can verify `alg` tokens.
    pub fn fits(&self, alg: TrustedAlgorithm) -> bool {
        match (self, alg) {
            (TrustedKey::Ed25519 { .. }, TrustedAlgorithm::EdDsa) => true,
            (TrustedKey::Hmac(_), TrustedAlgorithm::Jws(a)) => a.key_kind().is_none(),
            (TrustedKey::Public { kind, curve, .. }, TrustedAlgorithm::Jws(a)) => {
                a.key_kind() == Some(*kind) && *curve == a.curve().map(|c| c.0)
            }
            _ => false,
        }
    }
}

/// Verifies a token of another issuer: its `alg` must be in `allowed` (never `none`, which no
/// [`JwsAlgorithm`] names), and a key of the matching kind (and `kid`, when the token names
/// one) must verify it. HMAC algorithms use only [`TrustedKey::Hmac`] keys and the others
/// only public keys, so a public key can never be used as an HMAC secret.
pub fn verify_trusted(
    token: &str,
    allowed: &[TrustedAlgorithm],
    keys: &[TrustedKey],
) -> Result<VerifiedJwt, JwtError> {
    let c = Compact::split(token)?;
    let trusted = TrustedAlgorithm::from_name(&c.alg)
        .filter(|a| allowed.contains(a))
        .ok_or_else(|| JwtError::UnknownAlgorithm(c.alg.clone()))?;
    let alg = match trusted {
        TrustedAlgorithm::Jws(a) => a,
        TrustedAlgorithm::EdDsa => {
            let mut ok = false;
            for key in keys {
                let TrustedKey::Ed25519 { kid, key } = key else {
                    continue;
                };
                if c.kid.is_some() && kid.is_some() && c.kid != *kid {
                    continue;
                }
                if c.sig.len() != 64 {
                    break;
                }
                let mut v = Verifier::new_without_digest(key)?;
                ok = v.verify_oneshot(&c.sig, c.input).unwrap_or(false);
                if ok {
                    break;
                }
            }
            return c.claims_if(ok);
        }
    };
    let mut ok = false;
    for key in keys {
        ok = match (key, alg.key_kind()) {
            (TrustedKey::Hmac(secret), None) => {
                let pkey = PKey::hmac(secret.expose())?;
                let mut s = Signer::new(alg.digest(), &pkey)?;
                s.update(c.input)?;
                ct_eq(&s.sign_to_vec()?, &c.sig)
            }
            (
                TrustedKey::Public {
                    kid,
                    key,
                    kind,
                    curve,
                },
                Some(want),
            ) if *kind == want && *curve == alg.curve().map(|c| c.0) => {
                if c.kid.is_some() && kid.is_some() && c.kid != *kid {
                    continue;
                }
                public_signature_ok(alg, key, c.input, &c.sig)?
            }
            _ => continue,
        };
        if ok {
            break;
        }
    }
    c.claims_if(ok)
}

/// The public half of `key` as a JWK (members in RFC 7638 order).
fn public_jwk<T: openssl::pkey::HasPublic>(
    key: &openssl::pkey::PKeyRef<T>,
    alg: JwsAlgorithm,
) -> Result<Value, JwtError> {
    if let Some((nid, len, crv)) = alg.curve() {
        let ec = key.ec_key()?;
        if ec.group().curve_name() != Some(nid) {
            return Err(JwtError::KeyMismatch(format!(
                "{} needs a {crv} key",
                alg.name()
            )));
        }
        let mut ctx = BigNumContext::new()?;
        let (mut x, mut y) = (BigNum::new()?, BigNum::new()?);
        ec.public_key()
            .affine_coordinates(ec.group(), &mut x, &mut y, &mut ctx)?;
        return Ok(json!({
            "crv": crv,
            "kty": "EC",
            "x": b64(&x.to_vec_padded(len as i32)?),
            "y": b64(&y.to_vec_padded(len as i32)?),
        }));
    }
    let rsa = key.rsa()?;
    if rsa.size() < 256 {
        return Err(JwtError::KeyMismatch(
            "RSA keys for id_tokens must have at least 2048 bits".into(),
        ));
    }
    Ok(json!({"e": b64(&rsa.e().to_vec()), "kty": "RSA", "n": b64(&rsa.n().to_vec())}))
}

/// RFC 7638 thumbprint: SHA-256 over the required members, sorted, without whitespace.
fn thumbprint(jwk: &Value) -> String {
    // serde_json maps are ordered by key, which is the order RFC 7638 asks for.
    b64(&openssl::sha::sha256(jwk.to_string().as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> std::collections::HashMap<String, Arc<SigningKey>> {
        let now = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        [("rsa", KeyKind::Rsa), ("ec", KeyKind::Ec)]
            .into_iter()
            .map(|(alias, kind)| {
                let (key, cert) = crate::crypto::new_key_pair(alias, kind, now).unwrap();
                let key = SigningKey::new(alias, kind, Secret::new(key), cert, None).unwrap();
                (alias.to_owned(), key)
            })
            .collect()
    }

    #[test]
    fn signs_and_verifies_every_algorithm_and_refuses_tampering() {
        let keys = keys();
        let rsa = keys["rsa"].clone();
        let ec = keys["ec"].clone();
        let hmac = JwsKey::Hmac(Secret::new(vec![7u8; 64]));
        for alg in JwsAlgorithm::ALL {
            let key = match alg.key_kind() {
                None => hmac.clone(),
                Some(KeyKind::Rsa) => JwsKey::Private(rsa.clone()),
                Some(KeyKind::Ec) => JwsKey::Private(ec.clone()),
            };
            let signer = match JwsSigner::new(alg, key, false) {
                Ok(s) => s,
                // The bootstrap EC key is P-256 only.
                Err(JwtError::KeyMismatch(_))
                    if matches!(alg, JwsAlgorithm::Es384 | JwsAlgorithm::Es512) =>
                {
                    continue;
                }
                Err(e) => panic!("{alg:?}: {e}"),
            };
            let t = signer.sign(&json!({"sub": "demo", "n": 1})).unwrap();
            let v = signer.verify(&t).unwrap();
            assert_eq!(v.claims()["sub"], "demo", "{alg:?}");
            let mut bad = t.clone().into_bytes();
            let i = t.find('.').unwrap() + 3;
            bad[i] = if bad[i] == b'A' { b'B' } else { b'A' };
            assert!(
                signer.verify(std::str::from_utf8(&bad).unwrap()).is_err(),
                "{alg:?}"
            );
        }
    }

    #[test]
    fn alg_none_and_algorithm_confusion_are_refused() {
        let keys = keys();
        let rsa = JwsSigner::new(
            JwsAlgorithm::Rs256,
            JwsKey::Private(keys["rsa"].clone()),
            false,
        )
        .unwrap();
        let payload = b64(br#"{"sub":"admin"}"#);
        let none = format!("{}.{payload}.", b64(br#"{"alg":"none"}"#));
        assert!(matches!(
            rsa.verify(&none),
            Err(JwtError::WrongAlgorithm { .. })
        ));
        // HS256 keyed with the public key's JWK text: refused before any HMAC is computed.
        let hs = format!("{}.{payload}.AAAA", b64(br#"{"alg":"HS256"}"#));
        assert!(matches!(
            rsa.verify(&hs),
            Err(JwtError::WrongAlgorithm { .. })
        ));
        assert!(
            JwsSigner::new(
                JwsAlgorithm::Hs256,
                JwsKey::Hmac(Secret::new(b"short".to_vec())),
                false
            )
            .is_err()
        );
    }
}
