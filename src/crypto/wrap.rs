//! Secrets wrapped at rest with a master key (a key-encryption key every node of a cluster
//! reads from the file `STS_MASTER_KEY_FILE` names): signing keys and users' digest secrets
//! are stored as [`MasterKey::wrap`] blobs, never in clear.
//!
//! # The master key file
//!
//! One key a line: 32 random bytes in standard base64 (44 characters); blank lines and
//! surrounding whitespace are ignored. The first key is the current one: it wraps everything
//! new. Further lines are previous keys, kept while a rotation is under way: they only unwrap
//! blobs whose key id names them (`sts keys master-key rewrap` wraps those again under the
//! current key; see README "Keys in a cluster"). `sts keys master-key generate FILE` writes a
//! file with one key (mode 0600). A file that users other than its owner (and its group) may
//! read, or anyone but its owner may write, is refused: the keys open every private key in the
//! store.
//!
//! # The blob
//!
//! ```text
//! version (1 byte, 1) | key id (8) | nonce (12, random) | AES-256-GCM ciphertext | tag (16)
//! ```
//!
//! The key id is the first 8 bytes of SHA-256("sts master key id" | key): not secret, and it
//! tells a wrong master key apart from a damaged blob, and which key of the file opens a blob.
//! The version and key id are authenticated with the caller's `aad` (which binds a blob to its
//! place, e.g. the key alias), so a blob moved to another row or altered fails to unwrap.

use std::fmt;
use std::path::Path;
use std::sync::{Arc, RwLock};

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
        "the blob was wrapped with master key {blob}, which this node's STS_MASTER_KEY_FILE \
         does not hold (it holds {ours}): every node needs a master key file with the keys \
         the store's blobs name"
    )]
    WrongKey { blob: String, ours: String },
    #[error("not a wrapped secret: {0}")]
    Format(&'static str),
    #[error("the wrapped secret does not authenticate: altered, or stored under another name")]
    Tampered,
    #[error(transparent)]
    Crypto(#[from] openssl::error::ErrorStack),
}

/// One key of the file.
struct Kek {
    /// Zeroed when the key is dropped, so that it does not linger in freed memory.
    key: Secret<zeroize::Zeroizing<[u8; KEY_LEN]>>,
    id: [u8; ID_LEN],
}

impl Kek {
    /// Copies the key from `bytes` (borrowed: no copy of it is left unzeroed here).
    fn new(bytes: &[u8; KEY_LEN]) -> Kek {
        let mut key = zeroize::Zeroizing::new([0u8; KEY_LEN]);
        key.copy_from_slice(bytes);
        Kek {
            key: Secret::new(key),
            id: key_id(bytes),
        }
    }
}

/// The keys of a master key file: the current one first, then previous ones.
struct KeySet {
    current: Kek,
    previous: Vec<Kek>,
}

impl KeySet {
    fn all(&self) -> impl Iterator<Item = &Kek> {
        std::iter::once(&self.current).chain(self.previous.iter())
    }

    fn ids_hex(&self) -> Vec<String> {
        self.all().map(|k| hex(&k.id)).collect()
    }
}

/// The key-encryption keys of the master key file: [`MasterKey::wrap`] uses the current
/// (first) one, [`MasterKey::unwrap`] whichever one the blob names. Cloned `Arc`s share one
/// set, which [`MasterKey::replace`] swaps (SIGHUP). `Debug` shows only key ids.
pub struct MasterKey {
    keys: RwLock<Arc<KeySet>>,
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MasterKey")
            .field("ids", &self.ids_hex())
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

/// The key id a blob names (hex), or None when it is no blob of a known version.
pub fn blob_key_id(blob: &[u8]) -> Option<String> {
    match blob.get(..1 + ID_LEN)?.split_first()? {
        (&VERSION, id) => Some(hex(id)),
        _ => None,
    }
}

impl MasterKey {
    fn from_set(set: KeySet) -> MasterKey {
        MasterKey {
            keys: RwLock::new(Arc::new(set)),
        }
    }

    /// The key set in use, read-locked for as long as the guard lives (no `Arc` clone; a
    /// `replace` waits for it).
    fn set(&self) -> std::sync::RwLockReadGuard<'_, Arc<KeySet>> {
        self.keys
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A master key (one key, no previous ones) from its 32 bytes (borrowed: the caller
    /// zeroes its copy).
    pub fn from_bytes(bytes: &[u8; KEY_LEN]) -> MasterKey {
        MasterKey::from_set(KeySet {
            current: Kek::new(bytes),
            previous: Vec::new(),
        })
    }

    /// The keys of `self` followed by those of `older` as previous keys (a file with `self`'s
    /// lines, then `older`'s).
    pub fn with_previous(self, older: &MasterKey) -> MasterKey {
        let ours = self.set();
        let theirs = older.set();
        let copy = |k: &Kek| Kek::new(k.key.expose());
        MasterKey::from_set(KeySet {
            current: copy(&ours.current),
            previous: ours
                .previous
                .iter()
                .chain(theirs.all())
                .map(copy)
                .collect(),
        })
    }

    /// A new random master key.
    pub fn generate() -> Result<MasterKey, WrapError> {
        let mut bytes = zeroize::Zeroizing::new([0u8; KEY_LEN]);
        openssl::rand::rand_bytes(&mut *bytes)?;
        Ok(MasterKey::from_bytes(&bytes))
    }

    /// The file content for these keys (base64, one a line, the current one first). Secret:
    /// write it 0600.
    pub fn to_file_content(&self) -> Secret<String> {
        Secret::new(
            self.set()
                .all()
                .map(|k| format!("{}\n", super::encoding::base64_encode(&**k.key.expose())))
                .collect(),
        )
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
        let mut keys: Vec<Kek> = Vec::new();
        for (n, line) in text.expose().lines().enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            // The line's text is never quoted: it is a key.
            let n = n.saturating_add(1);
            let bytes = Secret::new(super::encoding::base64_decode(line).ok_or_else(|| {
                fail(format!(
                    "line {n}: not base64 (expected 32 bytes in base64)"
                ))
            })?);
            let key = zeroize::Zeroizing::new(
                <[u8; KEY_LEN]>::try_from(bytes.expose().as_slice()).map_err(|_| {
                    fail(format!(
                        "line {n}: {} bytes, expected {KEY_LEN}",
                        bytes.expose().len()
                    ))
                })?,
            );
            let kek = Kek::new(&key);
            if keys.iter().any(|k| k.id == kek.id) {
                return Err(fail(format!(
                    "line {n}: master key {} is there twice",
                    hex(&kek.id)
                )));
            }
            keys.push(kek);
        }
        let mut keys = keys.into_iter();
        let current = keys.next().ok_or_else(|| {
            fail("holds no key (expected 32 bytes in base64 on the first line)".into())
        })?;
        Ok(MasterKey::from_set(KeySet {
            current,
            previous: keys.collect(),
        }))
    }

    /// Puts the keys of `new` in place of these, for every holder of this `MasterKey`
    /// (a master key file read again on SIGHUP).
    pub fn replace(&self, new: MasterKey) {
        let set = new
            .keys
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *self
            .keys
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = set;
    }

    /// The current key's id (hex), for messages and `sts keys master-key id`.
    pub fn id_hex(&self) -> String {
        hex(&self.set().current.id)
    }

    /// Every key's id (hex), the current one first.
    pub fn ids_hex(&self) -> Vec<String> {
        self.set().ids_hex()
    }

    /// Whether `blob` names the current key (it may still fail to unwrap).
    pub fn is_current(&self, blob: &[u8]) -> bool {
        blob_key_id(blob).is_some_and(|id| id == self.id_hex())
    }

    /// Encrypts `plain` with the current key, bound to `aad` (which must be given again to
    /// unwrap).
    pub fn wrap(&self, plain: &[u8], aad: &[u8]) -> Result<Vec<u8>, WrapError> {
        let set = self.set();
        let kek = &set.current;
        let mut nonce = [0u8; NONCE_LEN];
        openssl::rand::rand_bytes(&mut nonce)?;
        let version_id = [&[VERSION][..], &kek.id].concat();
        let full_aad = [&version_id[..], aad].concat();
        let mut tag = [0u8; TAG_LEN];
        let ct = encrypt_aead(
            Cipher::aes_256_gcm(),
            &**kek.key.expose(),
            Some(&nonce),
            &full_aad,
            plain,
            &mut tag,
        )?;
        Ok([&version_id[..], &nonce, &ct, &tag].concat())
    }

    /// Decrypts a blob of [`MasterKey::wrap`] with the same `aad`, with the key (current or
    /// previous) the blob names.
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
        let set = self.set();
        let Some(kek) = set.all().find(|k| crate::secret::ct_eq(id, &k.id)) else {
            let ids = set.ids_hex();
            let ours = match ids.split_first() {
                Some((current, [])) => current.clone(),
                Some((current, previous)) => {
                    format!("{current} (current), {}", previous.join(", "))
                }
                None => String::new(),
            };
            return Err(WrapError::WrongKey {
                blob: hex(id),
                ours,
            });
        };
        let (ct, tag) = rest.split_at(rest.len() - TAG_LEN);
        let full_aad = [version_id, aad].concat();
        decrypt_aead(
            Cipher::aes_256_gcm(),
            &**kek.key.expose(),
            Some(nonce),
            &full_aad,
            ct,
            tag,
        )
        .map(Secret::new)
        .map_err(|_| WrapError::Tampered)
    }
}

/// What `sts keys master-key rewrap` did to one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowRewrap {
    /// Wrapped again under the current key, and written.
    Rewrapped,
    /// Already wrapped with the current key (and it unwraps).
    Current,
    /// Gone, or without a wrapped secret, when it was read again.
    Gone,
    /// Left as it was, and why (names the row, never its secret).
    Failed(String),
}

/// What a rewrap did to the rows of one kind.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Rewrapped {
    pub rewrapped: usize,
    pub current: usize,
    /// One message per row left as it was.
    pub failed: Vec<String>,
}

impl Rewrapped {
    pub fn count(&mut self, row: RowRewrap) {
        match row {
            RowRewrap::Rewrapped => self.rewrapped = self.rewrapped.saturating_add(1),
            RowRewrap::Current => self.current = self.current.saturating_add(1),
            RowRewrap::Gone => {}
            RowRewrap::Failed(why) => self.failed.push(why),
        }
    }
}

/// How often a rewrap reads a row again after another writer changed it meanwhile.
pub const REWRAP_ATTEMPTS: usize = 5;

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
        let k = MasterKey::from_bytes(&[7u8; 32]);
        let d = format!("{k:?}");
        assert!(d.contains(&k.id_hex()), "{d}");
        assert!(!d.contains("7, 7") && !d.contains("BwcH"), "{d}");
        // No byte array at all: the ids, as hex strings, and nothing else.
        assert_eq!(d, format!("MasterKey {{ ids: [{:?}] }}", k.id_hex()));
        let several = MasterKey::from_bytes(&[8u8; 32]).with_previous(&k);
        let [current, previous] = several.ids_hex().try_into().unwrap();
        assert_eq!(
            format!("{several:?}"),
            format!("MasterKey {{ ids: [{current:?}, {previous:?}] }}")
        );
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

    /// A master key file with `keys`' lines (as `to_file_content` writes them), mode 0600.
    fn write_keys(path: &Path, keys: &[&MasterKey], padding: &str) {
        let text: String = keys
            .iter()
            .map(|k| format!("{padding}{}{padding}\n", k.to_file_content().expose().trim()))
            .collect();
        crate::fs::write_private(path, text.as_bytes()).unwrap();
    }

    #[test]
    fn a_file_of_several_keys_wraps_with_the_first_and_unwraps_with_any() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        let old = MasterKey::generate().unwrap();
        let new = MasterKey::generate().unwrap();
        // New first, blank lines and surrounding whitespace around the keys.
        write_keys(&path, &[&new, &old], " \t");
        let text = std::fs::read_to_string(&path).unwrap();
        crate::fs::write_private(&path, format!("\n\n{text}\n  \n").as_bytes()).unwrap();
        let both = MasterKey::load(&path).unwrap();
        assert_eq!(both.id_hex(), new.id_hex());
        assert_eq!(both.ids_hex(), [new.id_hex(), old.id_hex()]);

        // Blobs of either key open; the old one's only because its id names it.
        let by_old = old.wrap(b"old secret", b"keys/a").unwrap();
        let by_new = new.wrap(b"new secret", b"keys/a").unwrap();
        assert_eq!(both.unwrap(&by_old, b"keys/a").unwrap().expose(), b"old secret");
        assert_eq!(both.unwrap(&by_new, b"keys/a").unwrap().expose(), b"new secret");
        assert!(matches!(both.unwrap(&by_old, b"keys/b"), Err(WrapError::Tampered)));
        assert!(!both.is_current(&by_old) && both.is_current(&by_new));
        assert_eq!(blob_key_id(&by_old), Some(old.id_hex()));

        // Everything new is wrapped with the first key: the old key alone cannot open it.
        for _ in 0..3 {
            let blob = both.wrap(b"fresh", b"keys/a").unwrap();
            assert_eq!(blob_key_id(&blob), Some(new.id_hex()));
            assert!(both.is_current(&blob));
            assert_eq!(new.unwrap(&blob, b"keys/a").unwrap().expose(), b"fresh");
            assert!(matches!(old.unwrap(&blob, b"keys/a"), Err(WrapError::WrongKey { .. })));
        }

        // The order of the lines decides which key is current.
        write_keys(&path, &[&old, &new], "");
        let swapped = MasterKey::load(&path).unwrap();
        assert_eq!(swapped.ids_hex(), [old.id_hex(), new.id_hex()]);
        let blob = swapped.wrap(b"x", b"").unwrap();
        assert_eq!(blob_key_id(&blob), Some(old.id_hex()));
    }

    #[test]
    fn a_blob_of_a_key_the_file_lacks_names_every_id() {
        let old = MasterKey::generate().unwrap();
        let stranger = MasterKey::generate().unwrap();
        let older = MasterKey::generate().unwrap().with_previous(&old);
        let both = MasterKey::from_bytes(&[9u8; 32]).with_previous(&older);
        assert_eq!(both.ids_hex().len(), 3);
        let blob = stranger.wrap(b"secret", b"a").unwrap();
        let err = both.unwrap(&blob, b"a").unwrap_err();
        assert!(matches!(err, WrapError::WrongKey { .. }), "{err}");
        let msg = err.to_string();
        for id in both.ids_hex() {
            assert!(msg.contains(&id), "{msg}");
        }
        assert!(msg.contains(&stranger.id_hex()), "{msg}");
        assert!(msg.contains(&format!("{} (current)", both.id_hex())), "{msg}");
        assert!(msg.contains("STS_MASTER_KEY_FILE"), "{msg}");
        // Debug names the ids and no key material.
        let d = format!("{both:?}");
        assert!(d.contains(&old.id_hex()) && !d.contains("CQkJ"), "{d}");
    }

    #[test]
    fn with_previous_and_the_file_content_keep_the_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        let old = MasterKey::generate().unwrap();
        let new = MasterKey::generate().unwrap();
        let ids = [new.id_hex(), old.id_hex()];
        let both = new.with_previous(&old);
        assert_eq!(both.ids_hex(), ids);
        crate::fs::write_private(&path, both.to_file_content().expose().as_bytes()).unwrap();
        assert_eq!(
            both.to_file_content().expose().lines().count(),
            2,
            "one key a line"
        );
        assert_eq!(MasterKey::load(&path).unwrap().ids_hex(), ids);
    }

    #[test]
    fn replace_swaps_the_keys_of_every_holder() {
        let old = MasterKey::generate().unwrap();
        let new = MasterKey::generate().unwrap();
        let shared = Arc::new(MasterKey::from_bytes(&[3u8; 32]).with_previous(&old));
        let holder = shared.clone();
        let by_old = old.wrap(b"s", b"").unwrap();
        assert!(holder.unwrap(&by_old, b"").is_ok());
        let new_id = new.id_hex();
        shared.replace(new);
        assert_eq!(holder.ids_hex(), std::slice::from_ref(&new_id));
        assert!(matches!(holder.unwrap(&by_old, b""), Err(WrapError::WrongKey { .. })));
        assert_eq!(blob_key_id(&holder.wrap(b"s", b"").unwrap()), Some(new_id));
    }

    #[test]
    fn load_refuses_empty_files_bad_lines_repeats_and_loose_modes_of_several_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        let a = MasterKey::generate().unwrap();
        let b = MasterKey::generate().unwrap();

        crate::fs::write_private(&path, b"\n  \n").unwrap();
        let err = MasterKey::load(&path).unwrap_err().to_string();
        assert!(err.contains("holds no key"), "{err}");

        let good = a.to_file_content().expose().clone();
        crate::fs::write_private(&path, format!("{good}\nnot base64!\n").as_bytes()).unwrap();
        let err = MasterKey::load(&path).unwrap_err().to_string();
        assert!(err.contains("line 3") && err.contains("not base64"), "{err}");
        assert!(!err.contains("not base64!") && !err.contains("base64!"), "the bad line is never quoted: {err}");
        crate::fs::write_private(&path, format!("{good}c2hvcnQ=\n").as_bytes()).unwrap();
        let err = MasterKey::load(&path).unwrap_err().to_string();
        assert!(err.contains("line 2") && err.contains("expected 32"), "{err}");
        assert!(!err.contains("c2hvcnQ"), "the bad line is never quoted: {err}");
        assert!(!err.contains(good.trim()), "nor the good one: {err}");

        write_keys(&path, &[&a, &b, &a], "");
        let err = MasterKey::load(&path).unwrap_err().to_string();
        assert!(err.contains("line 3") && err.contains(&a.id_hex()), "{err}");

        write_keys(&path, &[&a, &b], "");
        assert!(MasterKey::load(&path).is_ok());
        for mode in [0o604, 0o660, 0o622] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            let err = MasterKey::load(&path).unwrap_err().to_string();
            assert!(err.contains("chmod 600"), "{mode:o}: {err}");
        }
    }

    /// A file written on Windows (CRLF line ends, a final CRLF, blank CRLF lines) reads as
    /// the same keys.
    #[test]
    fn crlf_line_ends_are_read_as_line_ends() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        let a = MasterKey::generate().unwrap();
        let b = MasterKey::generate().unwrap();
        let lines: Vec<String> = [&a, &b]
            .iter()
            .map(|k| k.to_file_content().expose().trim().to_owned())
            .collect();
        let text = format!("\r\n{}\r\n\r\n{}\r\n", lines[0], lines[1]);
        crate::fs::write_private(&path, text.as_bytes()).unwrap();
        let both = MasterKey::load(&path).unwrap();
        assert_eq!(both.ids_hex(), [a.id_hex(), b.id_hex()]);
        let blob = b.wrap(b"x", b"").unwrap();
        assert_eq!(both.unwrap(&blob, b"").unwrap().expose(), b"x");
        // A lone CR inside a key is no line end: the line is refused, by number.
        let text = format!("{}\r{}\r\n", lines[0], lines[1]);
        crate::fs::write_private(&path, text.as_bytes()).unwrap();
        let err = MasterKey::load(&path).unwrap_err().to_string();
        assert!(err.contains("line 1"), "{err}");
    }
}
