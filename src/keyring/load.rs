//! Reading `keys/` into a [`Keyring`].

use std::path::Path;
use std::sync::Arc;

use openssl::pkey::PKey;

use super::{CERT_SUFFIX, KEY_SUFFIX, Keyring, KeyringError, PREVIOUS_SUFFIX, invalid, io};
use crate::crypto::{Certificate, SigningKey};
use crate::secret::Secret;

impl Keyring {
    /// Reads `keys/`. A key pair whose key does not match its certificate, or a file that
    /// does not parse, fails the whole load: half a keyring would sign with the wrong key.
    pub fn load(dir: &Path) -> Result<Keyring, KeyringError> {
        let keys_dir = dir.join("keys");
        let mut ring = Keyring::default();
        let entries = match std::fs::read_dir(&keys_dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(ring),
            Err(e) => return Err(io(&keys_dir)(e)),
        };
        let mut names: Vec<String> = entries
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        for name in &names {
            if name.ends_with(PREVIOUS_SUFFIX) {
                continue;
            }
            let Some(alias) = name.strip_suffix(CERT_SUFFIX) else {
                continue;
            };
            let path = keys_dir.join(name);
            let pem = std::fs::read(&path).map_err(io(&path))?;
            let cert = Certificate::from_pem(alias, &pem).map_err(|m| invalid(&path, m))?;
            ring.certificates.insert(alias.to_owned(), Arc::new(cert));
        }
        for name in &names {
            let Some(alias) = name.strip_suffix(KEY_SUFFIX) else {
                continue;
            };
            let path = keys_dir.join(name);
            let cert =
                ring.certificates.get(alias).cloned().ok_or_else(|| {
                    invalid(&path, format!("no certificate {alias}{CERT_SUFFIX}"))
                })?;
            let key_pem = Secret::new(std::fs::read(&path).map_err(io(&path))?);
            let pkey =
                PKey::private_key_from_pem(key_pem.expose()).map_err(|e| invalid(&path, e))?;
            if !pkey.public_eq(cert.public_key()) {
                return Err(invalid(
                    &path,
                    format!("the key does not match the certificate {alias}{CERT_SUFFIX}"),
                ));
            }
            let previous_path = keys_dir.join(format!("{alias}{PREVIOUS_SUFFIX}"));
            let previous = match std::fs::read(&previous_path) {
                Ok(pem) => Some(Arc::new(
                    Certificate::from_pem(alias, &pem).map_err(|m| invalid(&previous_path, m))?,
                )),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(e) => return Err(io(&previous_path)(e)),
            };
            let key = SigningKey::new(alias, cert.kind(), key_pem, cert.pem().to_vec(), previous)
                .map_err(|e| invalid(&path, e))?;
            ring.signing.insert(alias.to_owned(), key);
        }
        Ok(ring)
    }
}
