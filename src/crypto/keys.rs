//! Keys and certificates as values: no file system, no libxmlsec1. The keyring reads them
//! from disk; XML-DSig, JWS and XML-Encryption use them.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use openssl::pkey::{PKey, Private, Public};
use openssl::x509::X509;

use crate::secret::Secret;

/// Why a key or certificate is not usable.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("not a PEM certificate: {0}")]
    NotCertificate(String),
    #[error("unsupported public key type {0}")]
    Unsupported(String),
    #[error("the private key cannot be read: {0}")]
    Key(String),
    #[error(transparent)]
    Crypto(#[from] openssl::error::ErrorStack),
}

/// The kind of a signing key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Rsa,
    Ec,
}

impl KeyKind {
    /// `RSA` or `EC`, for messages.
    pub fn name(self) -> &'static str {
        match self {
            KeyKind::Rsa => "RSA",
            KeyKind::Ec => "EC",
        }
    }
}

/// A certificate: a relying party's, or the previous one of a rotated key pair.
pub struct Certificate {
    alias: String,
    der: Vec<u8>,
    pem: Vec<u8>,
    public: PKey<Public>,
    kind: KeyKind,
}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certificate")
            .field("alias", &self.alias)
            .field("kind", &self.kind)
            .finish()
    }
}

impl Certificate {
    /// Reads one PEM certificate with an RSA or EC public key.
    pub fn from_pem(alias: &str, pem: &[u8]) -> Result<Certificate, KeyError> {
        let x509 = X509::from_pem(pem).map_err(|e| KeyError::NotCertificate(e.to_string()))?;
        let public = x509.public_key()?;
        let kind = match public.id() {
            openssl::pkey::Id::RSA => KeyKind::Rsa,
            openssl::pkey::Id::EC => KeyKind::Ec,
            other => return Err(KeyError::Unsupported(format!("{other:?}"))),
        };
        Ok(Certificate {
            alias: alias.to_owned(),
            der: x509.to_der()?,
            pem: pem.to_vec(),
            public,
            kind,
        })
    }

    pub fn alias(&self) -> &str {
        &self.alias
    }

    pub fn der(&self) -> &[u8] {
        &self.der
    }

    pub fn pem(&self) -> &[u8] {
        &self.pem
    }

    pub fn public_key(&self) -> &PKey<Public> {
        &self.public
    }

    pub fn kind(&self) -> KeyKind {
        self.kind
    }
}

/// A signing key with its certificate, shareable across threads. XML-DSig builds its native
/// key from the PEM lazily, once per thread (see `xmldsig::sign_enveloped`); the canonical
/// signer uses the OpenSSL key parsed here, once.
pub struct SigningKey {
    /// Unique per value, so that per-thread caches of native keys never mix two keys up.
    id: u64,
    alias: String,
    kind: KeyKind,
    key_pem: Secret<Vec<u8>>,
    cert_pem: Vec<u8>,
    /// The certificate's DER in base64, as `ds:X509Certificate` carries it (computed once).
    cert_base64: String,
    /// The same key for OpenSSL itself (JWS signatures); `PKey` is thread-safe.
    pkey: PKey<Private>,
    /// The certificate this alias had before its last rotation: still trusted to verify.
    previous: Option<Arc<Certificate>>,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("alias", &self.alias)
            .field("kind", &self.kind)
            .field("key_pem", &self.key_pem)
            .finish()
    }
}

impl SigningKey {
    /// Checks that the key and the certificate are readable PEM, then wraps them.
    pub fn new(
        alias: &str,
        kind: KeyKind,
        key_pem: Secret<Vec<u8>>,
        cert_pem: Vec<u8>,
        previous: Option<Arc<Certificate>>,
    ) -> Result<Arc<SigningKey>, KeyError> {
        let pkey = PKey::private_key_from_pem(key_pem.expose())
            .map_err(|e| KeyError::Key(e.to_string()))?;
        let x509 =
            X509::from_pem(&cert_pem).map_err(|e| KeyError::NotCertificate(e.to_string()))?;
        let cert_base64 = crate::crypto::encoding::base64_encode(&x509.to_der()?);
        static NEXT: AtomicU64 = AtomicU64::new(1);
        Ok(Arc::new(SigningKey {
            id: NEXT.fetch_add(1, Ordering::Relaxed),
            alias: alias.to_owned(),
            kind,
            key_pem,
            cert_pem,
            cert_base64,
            pkey,
            previous,
        }))
    }

    /// Unique per key value (a cache key for native copies).
    pub fn id(&self) -> u64 {
        self.id
    }

    pub fn alias(&self) -> &str {
        &self.alias
    }

    pub fn kind(&self) -> KeyKind {
        self.kind
    }

    /// The private key as PKCS#8 PEM, for libraries that load their own copy.
    pub fn key_pem(&self) -> &Secret<Vec<u8>> {
        &self.key_pem
    }

    pub fn cert_pem(&self) -> &[u8] {
        &self.cert_pem
    }

    /// The certificate's DER in base64 (no line breaks).
    pub fn cert_base64(&self) -> &str {
        &self.cert_base64
    }

    /// The certificate of this alias before its last rotation.
    pub fn previous(&self) -> Option<&Arc<Certificate>> {
        self.previous.as_ref()
    }

    /// The private key as an OpenSSL key, for signatures outside XML-DSig.
    pub fn openssl_key(&self) -> &PKey<Private> {
        &self.pkey
    }
}

/// SHA-256 of a DER certificate, as `AA:BB:...` (what `openssl x509 -fingerprint -sha256` prints).
pub fn fingerprint(der: &[u8]) -> String {
    openssl::sha::sha256(der)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}
