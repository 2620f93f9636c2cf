//! The data directory: its layout, its first-start [`bootstrap`], and loading what it holds.
//! Only the composition root and the CLI import this module.
//!
//! ```text
//! <data-dir>/keys/<alias>.key.pem      private key (0600), PKCS#8 PEM
//! <data-dir>/keys/<alias>.crt.pem      its certificate
//! <data-dir>/users.json                users (0600), see identity
//! <data-dir>/instances/soap/*.json     SOAP STS instances, OpenAM `instance_state` JSON
//! <data-dir>/instances/rest/*.json     REST STS instances, the same
//! ```
//!
//! With a shared store (PostgreSQL) the keys live in the store instead ([`store_keys`]).

mod bootstrap;
pub mod store_keys;

use std::path::{Path, PathBuf};

#[cfg(any(test, feature = "test-util"))]
pub use bootstrap::bootstrap;
pub use bootstrap::{Bootstrap, bootstrap_with};
#[cfg(any(test, feature = "test-util"))]
pub use bootstrap::demo_instance;

/// The RSA signing key created on first start, used when an instance names none.
pub const DEFAULT_KEY: &str = "sts-signing";
/// An EC P-256 key created on first start, for instances that sign with ECDSA.
pub const DEFAULT_EC_KEY: &str = "sts-signing-ec";
pub const DEMO_INSTANCE: &str = "soap-username-transformer";
pub const DEMO_USER: &str = "demo";
pub const ADMIN_USER: &str = "amadmin";

#[derive(Debug, thiserror::Error)]
pub enum DataDirError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("generating a key failed: {0}")]
    Crypto(#[from] openssl::error::ErrorStack),
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error(transparent)]
    Identity(#[from] crate::identity::IdentityError),
    #[error(transparent)]
    Keyring(#[from] crate::keyring::KeyringError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    MasterKey(#[from] crate::crypto::WrapError),
    #[error("keys: {0}")]
    Keys(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> DataDirError + '_ {
    move |source| DataDirError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Loads the keyring under `keys/` (see [`crate::keyring`]).
pub fn load_keys(dir: &Path) -> Result<crate::keyring::Keyring, DataDirError> {
    Ok(crate::keyring::Keyring::load(dir)?)
}

/// Reads every instance file: `instances/rest/*.json` and `instances/soap/*.json`, each an
/// `instance_state` object (checked later, by the publisher).
pub fn load_instance_files(
    dir: &Path,
) -> Result<Vec<(PathBuf, crate::instance::Kind, serde_json::Value)>, DataDirError> {
    let mut out = Vec::new();
    for kind in [crate::instance::Kind::Rest, crate::instance::Kind::Soap] {
        let kind_dir = dir.join("instances").join(kind.as_str());
        let entries = match std::fs::read_dir(&kind_dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io(&kind_dir)(e)),
        };
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        paths.sort();
        for path in paths {
            let bytes = std::fs::read(&path).map_err(io(&path))?;
            let json = serde_json::from_slice(&bytes).map_err(|e| DataDirError::Invalid {
                path: path.clone(),
                message: e.to_string(),
            })?;
            out.push((path, kind, json));
        }
    }
    Ok(out)
}
