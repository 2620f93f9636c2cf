//! Adding a relying party's certificate to `keys/`.

use std::path::Path;

use crate::crypto::Certificate;

use super::{CERT_SUFFIX, KeyringError, invalid, io};

/// Refuses an alias that is not a plain file name (letters, digits, `-_.`, not starting with
/// a dot) or ends in `.previous`: aliases name files under `keys/` and rows of the store alike.
pub fn check_alias(alias: &str) -> Result<(), String> {
    if alias.is_empty()
        || alias.ends_with(".previous")
        || alias.starts_with('.')
        || !alias
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        return Err(format!(
            "`{alias}` is not a usable alias (letters, digits, - _ . ; not ending in .previous)"
        ));
    }
    Ok(())
}

/// Adds a relying party's certificate as `keys/<alias>.crt.pem`. Refuses an alias that is
/// not a plain file name or is taken, and anything but one PEM certificate.
pub fn import_certificate(dir: &Path, alias: &str, pem: &[u8]) -> Result<(), KeyringError> {
    let keys_dir = dir.join("keys");
    let path = keys_dir.join(format!("{alias}{CERT_SUFFIX}"));
    check_alias(alias).map_err(|m| invalid(&path, m))?;
    if path.exists() {
        return Err(invalid(&path, format!("the alias `{alias}` is taken")));
    }
    Certificate::from_pem(alias, pem).map_err(|m| invalid(&path, m))?;
    std::fs::create_dir_all(&keys_dir).map_err(io(&keys_dir))?;
    let tmp = keys_dir.join(format!("{alias}.crt.tmp"));
    std::fs::write(&tmp, pem).map_err(io(&tmp))?;
    std::fs::rename(&tmp, &path).map_err(io(&path))
}
