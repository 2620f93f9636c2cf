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

mod import;
mod load;
mod rotate;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::crypto::{Certificate, SigningKey};

pub use import::import_certificate;
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

/// Names, sizes and modification times of the files under `keys/`.
pub type KeyStamp = Vec<(String, u64, Option<std::time::SystemTime>)>;

/// The [`KeyStamp`] of `dir`: when it changes, the keyring is read again.
pub fn stamp(dir: &Path) -> KeyStamp {
    let mut out: Vec<_> = std::fs::read_dir(dir.join("keys"))
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|e| {
            let meta = e.metadata().ok()?;
            Some((
                e.file_name().to_string_lossy().into_owned(),
                meta.len(),
                meta.modified().ok(),
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
