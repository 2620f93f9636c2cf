//! The keys of this node, read from the data directory's `keys/` folder:
//!
//! ```text
//! keys/<alias>.key.pem + keys/<alias>.crt.pem   a signing key pair (the key is PKCS#8 PEM, 0600)
//! keys/<alias>.crt.pem alone                     a peer certificate (a relying party's, to encrypt to)
//! keys/<alias>.previous.crt.pem                  the certificate <alias> had before `sts keys rotate`
//! ```
//!
//! The previous certificate of a rotated pair is kept so that tokens signed before the
//! rotation still validate and relying parties that cached the JWK set still find the old
//! `kid`; its private key is not kept.
//!
//! A keyring is built from [`Entry`] values with the same checks wherever they come from: this
//! folder ([`DirSource`]) or, in a cluster, the store (`datadir::store_keys`, above the store's
//! layer). A [`KeySource`] says where, and stamps its content so that changes are noticed.

mod import;
mod load;
mod rotate;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::crypto::{Certificate, SigningKey};

pub use import::{check_alias, import_certificate};
pub use load::{Entry, read_dir_entries};
pub use rotate::{create_pair, rotate};

const KEY_SUFFIX: &str = ".key.pem";
const CERT_SUFFIX: &str = ".crt.pem";
const PREVIOUS_SUFFIX: &str = ".previous.crt.pem";

/// Why `keys/` could not be read or changed.
#[derive(Debug, thiserror::Error)]
pub enum KeyringError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("generating a key failed: {0}")]
    Crypto(#[from] openssl::error::ErrorStack),
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("{origin}: {message}")]
    Entry { origin: String, message: String },
    /// The keys' source (the store) could not be read or changed.
    #[error("{0}")]
    Source(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> KeyringError + '_ {
    move |source| KeyringError::Io {
        path: path.to_owned(),
        source,
    }
}

fn invalid(path: &Path, message: impl std::fmt::Display) -> KeyringError {
    KeyringError::Invalid {
        path: path.to_owned(),
        message: message.to_string(),
    }
}

/// Every key and certificate of the node.
#[derive(Debug, Clone, Default)]
pub struct Keyring {
    /// Key pairs by alias, each with the previous certificate of its alias, if rotated.
    pub signing: HashMap<String, Arc<SigningKey>>,
    /// Every certificate by alias (those of the key pairs included).
    pub certificates: HashMap<String, Arc<Certificate>>,
}

/// What a [`KeySource`] stamps its content with: when it changes, the keyring is read again.
pub type KeyStamp = Vec<String>;

/// Where a node's keys are read from.
pub trait KeySource: Send + Sync {
    /// Changes whenever the keys do; None when it cannot be read now (tried again later).
    fn stamp(&self) -> Option<KeyStamp>;
    fn load(&self) -> Result<Keyring, KeyringError>;
}

/// The data directory's `keys/` folder.
pub struct DirSource(pub PathBuf);

impl KeySource for DirSource {
    fn stamp(&self) -> Option<KeyStamp> {
        Some(stamp(&self.0))
    }

    fn load(&self) -> Result<Keyring, KeyringError> {
        Keyring::load(&self.0)
    }
}

/// Names, sizes and modification times of the files under `keys/`.
pub fn stamp(dir: &Path) -> KeyStamp {
    let mut out: Vec<_> = std::fs::read_dir(dir.join("keys"))
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|e| {
            let meta = e.metadata().ok()?;
            Some(format!(
                "{}\t{}\t{:?}",
                e.file_name().to_string_lossy(),
                meta.len(),
                meta.modified().ok()
            ))
        })
        .collect();
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::KeyKind;

    #[test]
    fn loads_pairs_and_lone_certificates_and_rotates() {
        let dir = tempfile::tempdir().unwrap();
        let now = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        create_pair(dir.path(), "main", KeyKind::Rsa, now).unwrap();
        let ring = Keyring::load(dir.path()).unwrap();
        let before = ring.signing["main"].clone();
        assert!(before.previous().is_none());
        let stamp_before = stamp(dir.path());

        // A lone certificate is a peer certificate, not a key pair.
        let keys = dir.path().join("keys");
        import_certificate(dir.path(), "sp", before.cert_pem()).unwrap();
        assert!(import_certificate(dir.path(), "sp", before.cert_pem()).is_err());
        assert!(import_certificate(dir.path(), "../x", before.cert_pem()).is_err());
        assert!(import_certificate(dir.path(), "y", b"not pem").is_err());
        let ring = Keyring::load(dir.path()).unwrap();
        assert!(ring.certificates.contains_key("sp"));
        assert!(!ring.signing.contains_key("sp"));

        assert_eq!(rotate(dir.path(), "main", now).unwrap(), KeyKind::Rsa);
        assert_ne!(stamp(dir.path()), stamp_before);
        let ring = Keyring::load(dir.path()).unwrap();
        let after = ring.signing["main"].clone();
        assert_ne!(after.cert_pem(), before.cert_pem());
        assert_eq!(after.previous().unwrap().pem(), before.cert_pem());
        assert!(rotate(dir.path(), "sp", now).is_err());

        // A key that does not match its certificate stops the load.
        std::fs::write(keys.join("main.crt.pem"), before.cert_pem()).unwrap();
        let err = Keyring::load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("does not match"), "{err}");
    }
}
