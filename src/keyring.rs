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

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use openssl::pkey::{PKey, Public};
use openssl::x509::X509;

use crate::datadir::{DataDirError, write_private};
use crate::secret::Secret;
use crate::xmldsig::{KeyKind, SigningKey};

const KEY_SUFFIX: &str = ".key.pem";
const CERT_SUFFIX: &str = ".crt.pem";
const PREVIOUS_SUFFIX: &str = ".previous.crt.pem";

/// A certificate: a relying party's, or the previous one of a rotated key pair.
pub struct Certificate {
    alias: String,
    der: Vec<u8>,
    pem: Vec<u8>,
    public: PKey<Public>,
    kind: KeyKind,
}

impl std::fmt::Debug for Certificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Certificate")
            .field("alias", &self.alias)
            .field("kind", &self.kind)
            .finish()
    }
}

impl Certificate {
    /// Reads one PEM certificate with an RSA or EC public key.
    pub fn from_pem(alias: &str, pem: &[u8]) -> Result<Certificate, String> {
        let x509 = X509::from_pem(pem).map_err(|e| format!("not a PEM certificate: {e}"))?;
        let public = x509.public_key().map_err(|e| e.to_string())?;
        let kind = match public.id() {
            openssl::pkey::Id::RSA => KeyKind::Rsa,
            openssl::pkey::Id::EC => KeyKind::Ec,
            other => return Err(format!("unsupported public key type {other:?}")),
        };
        Ok(Certificate {
            alias: alias.to_owned(),
            der: x509.to_der().map_err(|e| e.to_string())?,
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

/// Every key and certificate of the node.
#[derive(Debug, Clone, Default)]
pub struct Keyring {
    /// Key pairs by alias, each with the previous certificate of its alias, if rotated.
    pub signing: HashMap<String, Arc<SigningKey>>,
    /// Every certificate by alias (those of the key pairs included).
    pub certificates: HashMap<String, Arc<Certificate>>,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> DataDirError + '_ {
    move |source| DataDirError::Io {
        path: path.to_owned(),
        source,
    }
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

impl Keyring {
    /// Reads `keys/`. A key pair whose key does not match its certificate, or a file that
    /// does not parse, fails the whole load: half a keyring would sign with the wrong key.
    pub fn load(dir: &Path) -> Result<Keyring, DataDirError> {
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
        let invalid = |path: PathBuf, message: String| DataDirError::Invalid { path, message };
        for name in &names {
            if name.ends_with(PREVIOUS_SUFFIX) {
                continue;
            }
            let Some(alias) = name.strip_suffix(CERT_SUFFIX) else {
                continue;
            };
            let path = keys_dir.join(name);
            let pem = std::fs::read(&path).map_err(io(&path))?;
            let cert = Certificate::from_pem(alias, &pem).map_err(|m| invalid(path.clone(), m))?;
            ring.certificates.insert(alias.to_owned(), Arc::new(cert));
        }
        for name in &names {
            let Some(alias) = name.strip_suffix(KEY_SUFFIX) else {
                continue;
            };
            let path = keys_dir.join(name);
            let cert = ring.certificates.get(alias).cloned().ok_or_else(|| {
                invalid(path.clone(), format!("no certificate {alias}{CERT_SUFFIX}"))
            })?;
            let key_pem = Secret::new(std::fs::read(&path).map_err(io(&path))?);
            let pkey = PKey::private_key_from_pem(key_pem.expose())
                .map_err(|e| invalid(path.clone(), e.to_string()))?;
            if !pkey.public_eq(cert.public_key()) {
                return Err(invalid(
                    path,
                    format!("the key does not match the certificate {alias}{CERT_SUFFIX}"),
                ));
            }
            let previous_path = keys_dir.join(format!("{alias}{PREVIOUS_SUFFIX}"));
            let previous = match std::fs::read(&previous_path) {
                Ok(pem) => Some(Arc::new(
                    Certificate::from_pem(alias, &pem)
                        .map_err(|m| invalid(previous_path.clone(), m))?,
                )),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(e) => return Err(io(&previous_path)(e)),
            };
            let key = SigningKey::new(alias, cert.kind(), key_pem, cert.pem().to_vec(), previous)
                .map_err(|e| invalid(path.clone(), e.to_string()))?;
            ring.signing.insert(alias.to_owned(), key);
        }
        Ok(ring)
    }
}

/// Replaces the key pair `alias` with a new one of the same kind and keeps its certificate
/// as `<alias>.previous.crt.pem` (replacing an older previous one). Returns the kind.
///
/// The new pair is written to temporary files first and renamed into place, certificate
/// last; a server that reads the folder between the renames sees a mismatched pair, refuses
/// that load and reads again on its next poll.
pub fn rotate(dir: &Path, alias: &str) -> Result<KeyKind, DataDirError> {
    let keys_dir = dir.join("keys");
    let key_path = keys_dir.join(format!("{alias}{KEY_SUFFIX}"));
    let cert_path = keys_dir.join(format!("{alias}{CERT_SUFFIX}"));
    let old_cert = std::fs::read(&cert_path).map_err(io(&cert_path))?;
    if !key_path.exists() {
        return Err(DataDirError::Invalid {
            path: key_path,
            message: format!("`{alias}` is not a key pair (only a certificate); nothing to rotate"),
        });
    }
    let kind = Certificate::from_pem(alias, &old_cert)
        .map_err(|message| DataDirError::Invalid {
            path: cert_path.clone(),
            message,
        })?
        .kind();
    let (key_pem, cert_pem) = crate::datadir::new_key_pair(alias, kind)?;
    let previous = keys_dir.join(format!("{alias}{PREVIOUS_SUFFIX}"));
    std::fs::write(&previous, &old_cert).map_err(io(&previous))?;
    write_private(&key_path, &key_pem).map_err(io(&key_path))?;
    let tmp = keys_dir.join(format!("{alias}.crt.tmp"));
    std::fs::write(&tmp, &cert_pem).map_err(io(&tmp))?;
    std::fs::rename(&tmp, &cert_path).map_err(io(&cert_path))?;
    Ok(kind)
}

/// SHA-256 of a DER certificate, as `AA:BB:...` (what `openssl x509 -fingerprint -sha256` prints).
pub fn fingerprint(der: &[u8]) -> String {
    openssl::sha::sha256(der)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Adds a relying party's certificate as `keys/<alias>.crt.pem`. Refuses an alias that is
/// not a plain file name or is taken, and anything but one PEM certificate.
pub fn import_certificate(dir: &Path, alias: &str, pem: &[u8]) -> Result<(), DataDirError> {
    let keys_dir = dir.join("keys");
    let path = keys_dir.join(format!("{alias}{CERT_SUFFIX}"));
    let invalid = |message: String| DataDirError::Invalid {
        path: path.clone(),
        message,
    };
    if alias.is_empty()
        || alias.ends_with(".previous")
        || alias.starts_with('.')
        || !alias
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        return Err(invalid(format!(
            "`{alias}` is not a usable alias (letters, digits, - _ . ; not ending in .previous)"
        )));
    }
    if path.exists() {
        return Err(invalid(format!("the alias `{alias}` is taken")));
    }
    Certificate::from_pem(alias, pem).map_err(&invalid)?;
    std::fs::create_dir_all(&keys_dir).map_err(io(&keys_dir))?;
    let tmp = keys_dir.join(format!("{alias}.crt.tmp"));
    std::fs::write(&tmp, pem).map_err(io(&tmp))?;
    std::fs::rename(&tmp, &path).map_err(io(&path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_pairs_and_lone_certificates_and_rotates() {
        let dir = tempfile::tempdir().unwrap();
        crate::datadir::bootstrap(dir.path(), Some("x".into()), Some("y".into())).unwrap();
        let ring = Keyring::load(dir.path()).unwrap();
        let before = ring.signing[crate::datadir::DEFAULT_KEY].clone();
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

        assert_eq!(
            rotate(dir.path(), crate::datadir::DEFAULT_KEY).unwrap(),
            KeyKind::Rsa
        );
        assert_ne!(stamp(dir.path()), stamp_before);
        let ring = Keyring::load(dir.path()).unwrap();
        let after = ring.signing[crate::datadir::DEFAULT_KEY].clone();
        assert_ne!(after.cert_pem(), before.cert_pem());
        assert_eq!(after.previous().unwrap().pem(), before.cert_pem());
        assert!(rotate(dir.path(), "sp").is_err());

        // A key that does not match its certificate stops the load.
        std::fs::write(
            keys.join(format!("{}.crt.pem", crate::datadir::DEFAULT_KEY)),
            before.cert_pem(),
        )
        .unwrap();
        let err = Keyring::load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("does not match"), "{err}");
    }
}
