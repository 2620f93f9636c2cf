//! New key pairs under `keys/`: the first ones, and rotation with the previous certificate
//! kept. Certificates are valid from the caller's `now`.

use std::path::Path;

use chrono::{DateTime, Utc};

use super::{CERT_SUFFIX, KEY_SUFFIX, KeyringError, PREVIOUS_SUFFIX, invalid, io};
use crate::crypto::{Certificate, KeyKind, new_key_pair};
use crate::fs::write_private;

/// Creates the key pair `alias` (a new key with a self-signed certificate) under `keys/`.
pub fn create_pair(
    dir: &Path,
    alias: &str,
    kind: KeyKind,
    now: DateTime<Utc>,
) -> Result<(), KeyringError> {
    let keys = dir.join("keys");
    std::fs::create_dir_all(&keys).map_err(io(&keys))?;
    let (key_pem, cert_pem) = new_key_pair(alias, kind, now)?;
    let kp = keys.join(format!("{alias}{KEY_SUFFIX}"));
    write_private(&kp, &key_pem).map_err(io(&kp))?;
    let cp = keys.join(format!("{alias}{CERT_SUFFIX}"));
    std::fs::write(&cp, cert_pem).map_err(io(&cp))?;
    Ok(())
}

/// Replaces the key pair `alias` with a new one of the same kind and keeps its certificate
/// as `<alias>.previous.crt.pem` (replacing an older previous one). Returns the kind.
///
/// The new pair is written to temporary files first and renamed into place, certificate
/// last; a server that reads the folder between the renames sees a mismatched pair, refuses
/// that load and reads again on its next poll.
pub fn rotate(dir: &Path, alias: &str, now: DateTime<Utc>) -> Result<KeyKind, KeyringError> {
    let keys_dir = dir.join("keys");
    let key_path = keys_dir.join(format!("{alias}{KEY_SUFFIX}"));
    let cert_path = keys_dir.join(format!("{alias}{CERT_SUFFIX}"));
    let old_cert = std::fs::read(&cert_path).map_err(io(&cert_path))?;
    if !key_path.exists() {
        return Err(invalid(
            &key_path,
            format!("`{alias}` is not a key pair (only a certificate); nothing to rotate"),
        ));
    }
    let kind = Certificate::from_pem(alias, &old_cert)
        .map_err(|m| invalid(&cert_path, m))?
        .kind();
    let (key_pem, cert_pem) = new_key_pair(alias, kind, now)?;
    let previous = keys_dir.join(format!("{alias}{PREVIOUS_SUFFIX}"));
    std::fs::write(&previous, &old_cert).map_err(io(&previous))?;
    write_private(&key_path, &key_pem).map_err(io(&key_path))?;
    let tmp = keys_dir.join(format!("{alias}.crt.tmp"));
    std::fs::write(&tmp, &cert_pem).map_err(io(&tmp))?;
    std::fs::rename(&tmp, &cert_path).map_err(io(&cert_path))?;
    Ok(kind)
}
