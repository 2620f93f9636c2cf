//! Secrets wrapped at rest with a master key (a key-encryption key every node of a cluster
//! reads from the file `STS_MASTER_KEY_FILE` names): signing keys and users' digest secrets
//! are stored as [`MasterKey::wrap`] blobs, never in clear.
//!
//! # The master key file
//!
//! One line: 32 random bytes in standard base64 (44 characters); surrounding whitespace is
//! ignored. `sts keys master-key generate FILE` writes one (mode 0600). A file that users other
//! than its owner (and its group) may read, or anyone but its owner may write, is refused: the
//! key opens every private key in the store.
//!
//! # The blob
//!
//! ```text
//! version (1 byte, 1) | key id (8) | nonce (12, random) | AES-256-GCM ciphertext | tag (16)
//! ```
//!
//! The key id is the first 8 bytes of SHA-256("sts master key id" | key): not secret, and it
//! tells a wrong master key apart from a damaged blob. The version and key id are
//! authenticated with the caller's `aad` (which binds a blob to its place, e.g. the key alias),
//! so a blob moved to another row or altered fails to unwrap.

use std::fmt;
use std::path::Path;

use openssl::symm::{Cipher, decrypt_aead, encrypt_aead};

use crate::secret::Secret;

const VERSION: u8 = 1;
const KEY_LEN: usize = 32;
const ID_LEN: usize = 8;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
const HEADER_LEN: usize = 1 + ID_LEN + NONCE_LEN;

/// Why a master key could not be loaded or a blob not unwrapped.
#[derive(Debug, thiserror::Error)]
pub enum WrapError {
    #[error("master key file {path}: {message}")]
    File { path: String, message: String },
    #[error(
        "the blob was wrapped with master key {blob} but this node's master key is {ours}: \
         every node needs the same STS_MASTER_KEY_FILE"
    )]
    WrongKey { blob: String, ours: String },
    #[error("not a wrapped secret: {0}")]
    Format(&'static str),
    #[error("the wrapped secret does not authenticate: altered, or stored under another name")]
    Tampered,
    #[error(transparent)]
    Crypto(#[from] openssl::error::ErrorStack),
}

/// The key-encryption key. `Debug` shows only its key id.
pub struct MasterKey {
    /// Zeroed when the key is dropped, so that it does not linger in freed memory.
    key: Secret<zeroize::Zeroizing<[u8; KEY_LEN]>>,
    id: [u8; ID_LEN],
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MasterKey")
            .field("id", &self.id_hex())
            .finish()
    }
}

fn key_id(key: &[u8; KEY_LEN]) -> [u8; ID_LEN] {
    let mut h = openssl::sha::Sha256::new();
    h.update(b"sts master key id");
    h.update(key);
    let digest = h.finish();
    let mut id = [0u8; ID_LEN];
    id.copy_from_slice(digest.get(..ID_LEN).unwrap_or(&[0u8; ID_LEN]));
    id
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl MasterKey {
    /// A master key from its 32 bytes.
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> MasterKey {
        let id = key_id(&bytes);
        MasterKey {
            key: Secret::new(zeroize::Zeroizing::new(bytes)),
            id,
        }
    }

    /// A new random master key.
    pub fn generate() -> Result<MasterKey, WrapError> {
        let mut bytes = [0u8; KEY_LEN];
        openssl::rand::rand_bytes(&mut bytes)?;
        Ok(MasterKey::from_bytes(bytes))
    }

    /// The file content for this key (base64 and a newline). Secret: write it 0600.
    pub fn to_file_content(&self) -> Secret<String> {
        Secret::new(format!(
            "{}\n",
            super::encoding::base64_encode(&**self.key.expose())
        ))
    }

    /// Reads the master key file (see the module doc for its format and permissions).
    pub fn load(path: &Path) -> Result<MasterKey, WrapError> {
        let fail = |message: String| WrapError::File {
            path: path.display().to_string(),
            message,
        };
        let meta = std::fs::metadata(path).map_err(|e| fail(e.to_string()))?;
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = meta.permissions().mode();
            if mode & 0o027 != 0 {
                return Err(fail(format!(
                    "mode {:03o} lets other users read or write it; chmod 600 it",
                    mode & 0o777
                )));
            }
        }
        let text = Secret::new(std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?);
        let bytes = Secret::new(
            super::encoding::base64_decode(text.expose().trim())
                .ok_or_else(|| fail("not base64 (expected 32 bytes in base64)".into()))?,
        );
        let key: [u8; KEY_LEN] = bytes.expose().as_slice().try_into().map_err(|_| {
            fail(format!(
                "{} bytes, expected {KEY_LEN}",
                bytes.expose().len()
            ))
        })?;
        Ok(MasterKey::from_bytes(key))
    }

    /// The key id (hex), for messages and `sts keys master-key id`.
    pub fn id_hex(&self) -> String {
        hex(&self.id)
    }

    /// Encrypts `plain`, bound to `aad` (which must be given again to unwrap).
    pub fn wrap(&self, plain: &[u8], aad: &[u8]) -> Result<Vec<u8>, WrapError> {
        let mut nonce = [0u8; NONCE_LEN];
        openssl::rand::rand_bytes(&mut nonce)?;
        let version_id = [&[VERSION][..], &self.id].concat();
        let full_aad = [&version_id[..], aad].concat();
        let mut tag = [0u8; TAG_LEN];
        let ct = encrypt_aead(
            Cipher::aes_256_gcm(),
            &**self.key.expose(),
            Some(&nonce),
            &full_aad,
            plain,
            &mut tag,
        )?;
        Ok([&version_id[..], &nonce, &ct, &tag].concat())
    }

    /// Decrypts a blob of [`MasterKey::wrap`] with the same `aad`.
    pub fn unwrap(&self, blob: &[u8], aad: &[u8]) -> Result<Secret<Vec<u8>>, WrapError> {
        if blob.len() < HEADER_LEN + TAG_LEN {
            return Err(WrapError::Format("too short"));
        }
        let (header, rest) = blob.split_at(HEADER_LEN);
        let (version_id, nonce) = header.split_at(1 + ID_LEN);
        let (version, id) = version_id.split_at(1);
        if version != [VERSION] {
            return Err(WrapError::Format("unknown version"));
        }
        if !crate::secret::ct_eq(id, &self.id) {
            return Err(WrapError::WrongKey {
                blob: hex(id),
                ours: self.id_hex(),
            });
        }
        let (ct, tag) = rest.split_at(rest.len() - TAG_LEN);
        let full_aad = [version_id, aad].concat();
        decrypt_aead(
            Cipher::aes_256_gcm(),
            &**self.key.expose(),
            Some(nonce),
            &full_aad,
            ct,
            tag,
        )
        .map(Secret::new)
        .map_err(|_| WrapError::Tampered)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn round_trip_and_fresh_nonce() {
        let k = MasterKey::generate().unwrap();
        let a = k.wrap(b"private key", b"keys/main").unwrap();
        let b = k.wrap(b"private key", b"keys/main").unwrap();
        assert_ne!(a, b, "a fresh nonce each time");
        assert_eq!(a.len(), HEADER_LEN + 11 + TAG_LEN);
        assert_eq!(k.unwrap(&a, b"keys/main").unwrap().expose(), b"private key");
        assert_eq!(k.unwrap(&b, b"keys/main").unwrap().expose(), b"private key");
        assert_eq!(k.wrap(b"", b"").map(|x| k.unwrap(&x, b"").unwrap().expose().len()).unwrap(), 0);
    }

    #[test]
    fn wrong_key_is_named_as_such() {
        let k = MasterKey::generate().unwrap();
        let other = MasterKey::generate().unwrap();
        let blob = k.wrap(b"secret", b"a").unwrap();
        let err = other.unwrap(&blob, b"a").unwrap_err();
        assert!(matches!(err, WrapError::WrongKey { .. }), "{err}");
        let msg = err.to_string();
        assert!(msg.contains(&k.id_hex()) && msg.contains(&other.id_hex()), "{msg}");
        assert!(msg.contains("STS_MASTER_KEY_FILE"), "{msg}");
    }

    #[test]
    fn tampered_blob_and_wrong_aad_fail() {
        let k = MasterKey::generate().unwrap();
        let blob = k.wrap(b"secret", b"alias-a").unwrap();
        assert!(matches!(k.unwrap(&blob, b"alias-b"), Err(WrapError::Tampered)));
        for i in HEADER_LEN - NONCE_LEN..blob.len() {
            let mut bad = blob.clone();
            bad[i] ^= 0x01;
            assert!(matches!(k.unwrap(&bad, b"alias-a"), Err(WrapError::Tampered)), "byte {i}");
        }
        let mut bad = blob.clone();
        bad[0] = 2;
        assert!(matches!(k.unwrap(&bad, b"alias-a"), Err(WrapError::Format(_))));
        assert!(matches!(k.unwrap(&blob[..20], b"alias-a"), Err(WrapError::Format(_))));
    }

    #[test]
    fn debug_shows_only_the_id() {
        let k = MasterKey::from_bytes([7u8; 32]);
        let d = format!("{k:?}");
        assert!(d.contains(&k.id_hex()), "{d}");
        assert!(!d.contains("7, 7") && !d.contains("BwcH"), "{d}");
    }

    #[test]
    fn load_reads_the_file_and_refuses_loose_modes_and_bad_content() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        let k = MasterKey::generate().unwrap();
        crate::fs::write_private(&path, k.to_file_content().expose().as_bytes()).unwrap();
        let loaded = MasterKey::load(&path).unwrap();
        assert_eq!(loaded.id_hex(), k.id_hex());
        let blob = k.wrap(b"x", b"").unwrap();
        assert_eq!(loaded.unwrap(&blob, b"").unwrap().expose(), b"x");

        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = MasterKey::load(&path).unwrap_err().to_string();
        assert!(err.contains("chmod 600"), "{err}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        assert!(MasterKey::load(&path).is_ok(), "group-readable is allowed");

        crate::fs::write_private(&path, b"c2hvcnQ=\n").unwrap();
        let err = MasterKey::load(&path).unwrap_err().to_string();
        assert!(err.contains("expected 32"), "{err}");
        crate::fs::write_private(&path, b"not base64!\n").unwrap();
        assert!(MasterKey::load(&path).is_err());
        assert!(MasterKey::load(&dir.path().join("missing")).is_err());
    }
}
