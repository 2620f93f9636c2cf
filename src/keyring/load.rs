//! Building a [`Keyring`] from its entries, wherever they were read (`keys/` here, the store
//! in `datadir::store_keys`), with the same checks for both.

use std::path::Path;
use std::sync::Arc;

use openssl::pkey::PKey;

use super::{CERT_SUFFIX, KEY_SUFFIX, Keyring, KeyringError, PREVIOUS_SUFFIX, io};
use crate::crypto::{Certificate, SigningKey};
use crate::secret::Secret;

/// One alias as read: a certificate, with its private key if it is a key pair, and the
/// certificate it had before its last rotation.
#[derive(Clone)]
pub struct Entry {
    pub alias: String,
    /// Where it was read, for messages (`keys/main.crt.pem`, `store key main`).
    pub origin: String,
    pub cert_pem: Vec<u8>,
    pub key_pem: Option<Secret<Vec<u8>>>,
    pub previous_cert_pem: Option<Vec<u8>>,
}

fn bad(origin: &str, message: impl std::fmt::Display) -> KeyringError {
    KeyringError::Entry {
        origin: origin.to_owned(),
        message: message.to_string(),
    }
}

impl Keyring {
    /// Checks and assembles entries. A key that does not match its certificate, or a value
    /// that does not parse, fails the whole load: half a keyring would sign with the wrong key.
    pub fn from_entries(entries: Vec<Entry>) -> Result<Keyring, KeyringError> {
        let mut ring = Keyring::default();
        for e in entries {
            let cert = Arc::new(
                Certificate::from_pem(&e.alias, &e.cert_pem).map_err(|m| bad(&e.origin, m))?,
            );
            ring.certificates.insert(e.alias.clone(), cert.clone());
            let Some(key_pem) = e.key_pem else {
                continue;
            };
            let pkey =
                PKey::private_key_from_pem(key_pem.expose()).map_err(|m| bad(&e.origin, m))?;
            if !pkey.public_eq(cert.public_key()) {
                return Err(bad(
                    &e.origin,
                    format!("the key does not match the certificate of {}", e.alias),
                ));
            }
            let previous = match &e.previous_cert_pem {
                Some(pem) => Some(Arc::new(
                    Certificate::from_pem(&e.alias, pem)
                        .map_err(|m| bad(&e.origin, format!("previous certificate: {m}")))?,
                )),
                None => None,
            };
            let key = SigningKey::new(
                &e.alias,
                cert.kind(),
                key_pem,
                cert.pem().to_vec(),
                previous,
            )
            .map_err(|m| bad(&e.origin, m))?;
            ring.signing.insert(e.alias, key);
        }
        Ok(ring)
    }

    /// Reads `keys/` (see the module doc for its layout).
    pub fn load(dir: &Path) -> Result<Keyring, KeyringError> {
        Keyring::from_entries(read_dir_entries(dir)?)
    }
}

/// The entries of `keys/`, by alias; an absent folder has none.
pub fn read_dir_entries(dir: &Path) -> Result<Vec<Entry>, KeyringError> {
    let keys_dir = dir.join("keys");
    let entries = match std::fs::read_dir(&keys_dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io(&keys_dir)(e)),
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut out = Vec::new();
    for name in &names {
        if name.ends_with(PREVIOUS_SUFFIX) {
            continue;
        }
        let Some(alias) = name.strip_suffix(CERT_SUFFIX) else {
            continue;
        };
        let cert_path = keys_dir.join(name);
        let key_path = keys_dir.join(format!("{alias}{KEY_SUFFIX}"));
        let previous_path = keys_dir.join(format!("{alias}{PREVIOUS_SUFFIX}"));
        let cert_pem = std::fs::read(&cert_path).map_err(io(&cert_path))?;
        let key_pem = read_optional(&key_path)?.map(Secret::new);
        let origin = if key_pem.is_some() { &key_path } else { &cert_path };
        out.push(Entry {
            alias: alias.to_owned(),
            origin: origin.display().to_string(),
            cert_pem,
            key_pem,
            previous_cert_pem: read_optional(&previous_path)?,
        });
    }
    // A private key without its certificate is a broken pair, not something to skip.
    for name in &names {
        if let Some(alias) = name.strip_suffix(KEY_SUFFIX)
            && !names.contains(&format!("{alias}{CERT_SUFFIX}"))
        {
            return Err(bad(
                &keys_dir.join(name).display().to_string(),
                format!("no certificate {alias}{CERT_SUFFIX}"),
            ));
        }
    }
    Ok(out)
}

fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, KeyringError> {
    match std::fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io(path)(e)),
    }
}
