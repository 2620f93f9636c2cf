//! Users and their credentials.
//!
//! Passwords are stored as argon2id hashes. A WS-Security PasswordDigest is computed by the
//! client from the plain password, so a user who may authenticate with digests needs a
//! recoverable secret: it is kept in `digest_secret`, only for users created with `--digest`,
//! in the same owner-only file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use argon2::password_hash::{PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use serde::{Deserialize, Serialize};

use crate::secret::Secret;

pub mod ldap;
pub mod sessions;
pub mod stored;
#[cfg(any(test, feature = "test-util"))]
pub mod testldap;
pub mod throttle;

pub use stored::Users;

/// Errors of the identity layer.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("reading or writing the user file {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the user file {path} is invalid: {source}")]
    Format {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("hashing the password failed")]
    Hash,
    #[error("user `{0}` already exists in realm `{1}`")]
    Exists(String, String),
    #[error("no user `{0}` in realm `{1}`")]
    NoSuchUser(String, String),
    #[error("realm `{0}` does not exist (create it with `sts realm add`)")]
    NoSuchRealm(String),
    #[error("realm `{0}` already exists")]
    RealmExists(String),
    #[error("invalid name `{0}`: use letters, digits, `.`, `_`, `-` and `@` (1-128 characters)")]
    InvalidName(String),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("stored users: {0}")]
    Stored(String),
    #[error(
        "a digest secret in a shared store is wrapped with the master key: set STS_MASTER_KEY_FILE"
    )]
    NoMasterKey,
    #[error("master key: {0}")]
    MasterKey(String),
    /// A change that needs the user's digest secret, which does not open on this node (its
    /// master key file lacks the key the secret names): refused, nothing written.
    #[error("{0}")]
    DigestSecretLocked(String),
}

/// `name` (or `/name`, `/a/b`) as a normalised realm, if every segment is a valid name.
pub(crate) fn checked_realm(name: &str) -> Result<String, IdentityError> {
    let realm = normalize_realm(name);
    if !realm.trim_start_matches('/').split('/').all(valid_name) {
        return Err(IdentityError::InvalidName(name.to_owned()));
    }
    Ok(realm)
}

/// Whether a user or realm name is acceptable: short, printable, no path or markup characters.
pub fn valid_name(name: &str) -> bool {
    (1..=128).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'))
}

/// A user of a realm.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct User {
    pub username: String,
    #[serde(default = "root")]
    pub realm: String,
    /// argon2id PHC string.
    pub password_hash: Secret<String>,
    /// The plain password, only for users allowed to use PasswordDigest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest_secret: Option<Secret<String>>,
    /// Attributes (`cn`, `mail`, `isMemberOf`, ...), multi-valued.
    #[serde(default)]
    pub attributes: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub disabled: bool,
    #[serde(default)]
    pub admin: bool,
}

fn root() -> String {
    "/".to_owned()
}

/// Normalises a realm name to `/` or `/a/b`.
pub fn normalize_realm(realm: &str) -> String {
    let trimmed = realm.trim_matches('/');
    if trimmed.is_empty() {
        "/".to_owned()
    } else {
        format!("/{trimmed}")
    }
}

/// Argon2id with the OWASP-recommended minimum (19 MiB, 2 passes, 1 lane).
fn argon2() -> Result<Argon2<'static>, IdentityError> {
    let params = Params::new(19 * 1024, 2, 1, None).map_err(|_| IdentityError::Hash)?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Password hashing runs on a small pool of its own threads: each argon2id computation needs
/// 19 MiB, so the pool's size bounds how many run at once, and each thread hashes in one
/// block buffer of its own, kept for the next hash ([`with_blocks`]), so that the memory held
/// is one buffer per hashing thread whatever the allocator does with freed blocks.
type HashJob = Box<dyn FnOnce() + Send>;

static HASH_THREADS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
/// The pool's queue; `Sender` is `Sync`, so request threads hand jobs over without a lock.
static HASH_POOL: std::sync::OnceLock<std::sync::mpsc::Sender<HashJob>> =
    std::sync::OnceLock::new();

/// Sets the number of hashing threads (0: one per CPU); effective before the first hash.
pub fn set_hash_concurrency(n: usize) {
    HASH_THREADS.store(n, std::sync::atomic::Ordering::Relaxed);
}

fn hash_pool() -> &'static std::sync::mpsc::Sender<HashJob> {
    HASH_POOL.get_or_init(|| {
        let n = match HASH_THREADS.load(std::sync::atomic::Ordering::Relaxed) {
            0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
            n => n,
        };
        let (tx, rx) = std::sync::mpsc::channel::<HashJob>();
        // Only idle hashing threads contend for the receiver, never request threads.
        let rx = Arc::new(std::sync::Mutex::new(rx));
        for i in 0..n {
            let rx = rx.clone();
            let _ = std::thread::Builder::new()
                .name(format!("sts-hash-{i}"))
                .spawn(move || {
                    loop {
                        let job = {
                            let guard =
                                rx.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                            guard.recv()
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                });
        }
        tx
    })
}

/// Runs `f` on the hashing pool and waits for it; `None` if the pool is gone.
fn with_hash_slot<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    let (tx, rx) = std::sync::mpsc::channel();
    let job: HashJob = Box::new(move || {
        let _ = tx.send(f());
    });
    hash_pool().send(job).ok()?;
    rx.recv().ok()
}

/// The largest block buffer a hashing thread keeps between hashes (64 MiB): a stored hash
/// with a larger memory cost is still checked, in a buffer freed afterwards.
const KEPT_BLOCKS: usize = 64 * 1024;

thread_local! {
    /// This hashing thread's argon2 memory, reused by every hash it computes.
    static BLOCKS: std::cell::RefCell<Vec<argon2::Block>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Computes `a`'s hash of `password` with `salt` into `out`, in this thread's kept buffer.
fn hash_into(a: &Argon2<'_>, password: &[u8], salt: &[u8], out: &mut [u8]) -> Option<()> {
    let n = a.params().block_count();
    if n > KEPT_BLOCKS {
        let mut blocks = vec![argon2::Block::default(); n];
        return a
            .hash_password_into_with_memory(password, salt, out, blocks.as_mut_slice())
            .ok();
    }
    BLOCKS.with(|cell| {
        let mut blocks = cell.try_borrow_mut().ok()?;
        if blocks.len() < n {
            blocks.resize(n, argon2::Block::default());
        }
        let blocks = blocks.get_mut(..n)?;
        a.hash_password_into_with_memory(password, salt, out, blocks)
            .ok()
    })
}

/// Hashes a password into an argon2id PHC string.
pub fn hash_password(password: &str) -> Result<Secret<String>, IdentityError> {
    let _timed = crate::metrics::time(crate::metrics::Stage::PasswordHash);
    let mut salt = [0u8; 16];
    openssl::rand::rand_bytes(&mut salt).map_err(|_| IdentityError::Hash)?;
    let password = password.to_owned();
    let hash = with_hash_slot(move || {
        let a = argon2().ok()?;
        let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
        hash_into(&a, password.as_bytes(), &salt, &mut out)?;
        let salt = SaltString::encode_b64(&salt).ok()?;
        let phc = PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: argon2::password_hash::ParamsString::try_from(a.params()).ok()?,
            salt: Some(salt.as_salt()),
            hash: Some(argon2::password_hash::Output::new(&out).ok()?),
        };
        Some(phc.to_string())
    })
    .flatten()
    .ok_or(IdentityError::Hash)?;
    Ok(Secret::new(hash))
}

/// Checks `password` against a PHC string of any argon2 variant, with the hash's own
/// parameters; the comparison is constant-time.
fn verify_phc(password: &[u8], phc: &str) -> Option<bool> {
    let parsed = PasswordHash::new(phc).ok()?;
    let algorithm = Algorithm::try_from(parsed.algorithm).ok()?;
    let version = match parsed.version {
        Some(v) => Version::try_from(v).ok()?,
        None => Version::default(),
    };
    let params = Params::try_from(&parsed).ok()?;
    let expected = parsed.hash?;
    let mut salt = [0u8; 64];
    let salt = parsed.salt?.decode_b64(&mut salt).ok()?;
    let mut out = [0u8; argon2::password_hash::Output::MAX_LENGTH];
    let out = out.get_mut(..expected.len())?;
    hash_into(&Argon2::new(algorithm, version, params), password, salt, out)?;
    Some(openssl::memcmp::eq(out, expected.as_bytes()))
}

/// Checks a password against a PHC string (argon2 verification is constant-time).
pub fn verify_password(password: &str, phc: &Secret<String>) -> bool {
    let _timed = crate::metrics::time(crate::metrics::Stage::PasswordHash);
    let password = password.to_owned();
    let phc = phc.expose().clone();
    with_hash_slot(move || verify_phc(password.as_bytes(), &phc).unwrap_or(false))
        .unwrap_or(false)
}

/// Where users come from. The engine knows only this trait.
pub trait UserStore: Send + Sync {
    fn find(&self, realm: &str, username: &str) -> Result<Option<User>, IdentityError>;
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct UserFile {
    /// Realms besides the top-level realm `/`, e.g. `/myRealm`.
    #[serde(default)]
    realms: Vec<String>,
    users: Vec<User>,
}

impl UserFile {
    fn has_realm(&self, realm: &str) -> bool {
        realm == "/" || self.realms.iter().any(|r| r == realm)
    }
}

/// What identifies one version of a file: modification time, size and (on Unix) inode,
/// which a write through a temporary file and a rename changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileStamp {
    modified: Option<SystemTime>,
    len: u64,
    inode: u64,
}

impl FileStamp {
    fn of(m: &std::fs::Metadata) -> FileStamp {
        #[cfg(unix)]
        let inode = std::os::unix::fs::MetadataExt::ino(m);
        #[cfg(not(unix))]
        let inode = 0;
        FileStamp {
            modified: m.modified().ok(),
            len: m.len(),
            inode,
        }
    }
}

/// Users in `users.json` of the data directory, re-read when the file changes, so that
/// `sts user add` takes effect without a restart.
pub struct FileUserStore {
    path: PathBuf,
    cache: RwLock<(Option<FileStamp>, Arc<UserFile>)>,
    /// Serialises read-modify-write cycles of this process.
    write: std::sync::Mutex<()>,
}

impl FileUserStore {
    pub fn open(path: &Path) -> Result<Self, IdentityError> {
        let store = FileUserStore {
            path: path.to_owned(),
            cache: RwLock::new((None, Arc::new(UserFile::default()))),
            write: std::sync::Mutex::new(()),
        };
        store.current()?;
        Ok(store)
    }

    fn read(&self) -> Result<UserFile, IdentityError> {
        match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|source| IdentityError::Format {
                path: self.path.clone(),
                source,
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(UserFile::default()),
            Err(source) => Err(IdentityError::Io {
                path: self.path.clone(),
                source,
            }),
        }
    }

    fn stamp(&self) -> Option<FileStamp> {
        std::fs::metadata(&self.path)
            .ok()
            .map(|m| FileStamp::of(&m))
    }

    fn current(&self) -> Result<Arc<UserFile>, IdentityError> {
        let stamp = self.stamp();
        if let Ok(guard) = self.cache.read()
            && guard.0.is_some()
            && guard.0 == stamp
        {
            return Ok(guard.1.clone());
        }
        // A reload runs under the write lock, so that it cannot store what it read over what a
        // write of this process has just put in the cache.
        let _guard = self
            .write
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let stamp = self.stamp();
        if let Ok(guard) = self.cache.read()
            && guard.0.is_some()
            && guard.0 == stamp
        {
            return Ok(guard.1.clone());
        }
        let file = Arc::new(self.read()?);
        if let Ok(mut guard) = self.cache.write() {
            *guard = (stamp, file.clone());
        }
        Ok(file)
    }

    /// Every user, for listings.
    pub fn list(&self) -> Result<Vec<User>, IdentityError> {
        Ok(self.current()?.users.clone())
    }

    /// Realms, the top-level realm first.
    pub fn realms(&self) -> Result<Vec<String>, IdentityError> {
        let mut out = vec!["/".to_owned()];
        out.extend(self.current()?.realms.iter().cloned());
        Ok(out)
    }

    fn modify<T>(
        &self,
        f: impl FnOnce(&mut UserFile) -> Result<T, IdentityError>,
    ) -> Result<T, IdentityError> {
        let _guard = self
            .write
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut file = self.read()?;
        let out = f(&mut file)?;
        let json = serde_json::to_vec_pretty(&file).map_err(|source| IdentityError::Format {
            path: self.path.clone(),
            source,
        })?;
        crate::fs::write_private(&self.path, &json).map_err(|source| IdentityError::Io {
            path: self.path.clone(),
            source,
        })?;
        // What this process wrote is current at once, whatever the file system's clock
        // granularity: two writes in one tick have the same mtime.
        if let Ok(mut guard) = self.cache.write() {
            *guard = (self.stamp(), Arc::new(file));
        }
        Ok(out)
    }

    /// Adds a realm (`name` or `/name`).
    pub fn add_realm(&self, name: &str) -> Result<String, IdentityError> {
        let realm = checked_realm(name)?;
        self.modify(|f| {
            if f.has_realm(&realm) {
                return Err(IdentityError::RealmExists(realm.clone()));
            }
            f.realms.push(realm.clone());
            Ok(realm.clone())
        })
    }

    /// Adds a user to an existing realm.
    pub fn add(&self, mut user: User) -> Result<(), IdentityError> {
        if !valid_name(&user.username) {
            return Err(IdentityError::InvalidName(user.username));
        }
        user.realm = normalize_realm(&user.realm);
        self.modify(|file| {
            if !file.has_realm(&user.realm) {
                return Err(IdentityError::NoSuchRealm(user.realm.clone()));
            }
            if file
                .users
                .iter()
                .any(|u| u.username == user.username && normalize_realm(&u.realm) == user.realm)
            {
                return Err(IdentityError::Exists(
                    user.username.clone(),
                    user.realm.clone(),
                ));
            }
            file.users.push(user);
            Ok(())
        })
    }

    /// Changes a user in place.
    pub fn update(
        &self,
        realm: &str,
        username: &str,
        f: impl FnOnce(&mut User),
    ) -> Result<User, IdentityError> {
        let realm = normalize_realm(realm);
        self.modify(|file| {
            let u = file
                .users
                .iter_mut()
                .find(|u| u.username == username && normalize_realm(&u.realm) == realm)
                .ok_or_else(|| IdentityError::NoSuchUser(username.to_owned(), realm.clone()))?;
            f(u);
            Ok(u.clone())
        })
    }

    /// Removes a user.
    pub fn delete(&self, realm: &str, username: &str) -> Result<(), IdentityError> {
        let realm = normalize_realm(realm);
        self.modify(|file| {
            let before = file.users.len();
            file.users
                .retain(|u| !(u.username == username && normalize_realm(&u.realm) == realm));
            if file.users.len() == before {
                return Err(IdentityError::NoSuchUser(
                    username.to_owned(),
                    realm.clone(),
                ));
            }
            Ok(())
        })
    }
}

impl UserStore for FileUserStore {
    fn find(&self, realm: &str, username: &str) -> Result<Option<User>, IdentityError> {
        let realm = normalize_realm(realm);
        Ok(self
            .current()?
            .users
            .iter()
            .find(|u| u.username == username && normalize_realm(&u.realm) == realm)
            .cloned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argon2id_hash_verifies_only_the_right_password() {
        let h = hash_password("s3cret").unwrap();
        assert!(h.expose().starts_with("$argon2id$"));
        assert!(verify_password("s3cret", &h));
        assert!(!verify_password("s3cret ", &h));
    }

    /// The pool's own hashing (kept buffers) and the argon2 crate's allocating one agree,
    /// both ways, for other variants and parameters too, and a buffer kept from a larger hash
    /// serves a smaller one.
    #[test]
    fn kept_buffers_agree_with_the_argon2_crate() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let ours = hash_password("pässword").unwrap();
        let parsed = PasswordHash::new(ours.expose()).unwrap();
        assert!(argon2().unwrap().verify_password("pässword".as_bytes(), &parsed).is_ok());
        assert!(argon2().unwrap().verify_password(b"password", &parsed).is_err());
        let salt = SaltString::encode_b64(b"sixteen byte slt").unwrap();
        for (alg, m, t, p, len) in [
            (Algorithm::Argon2i, 64, 3, 2, 16),
            (Algorithm::Argon2d, 19 * 1024, 1, 1, 64),
            (Algorithm::Argon2id, 8, 1, 1, 32),
        ] {
            let a = Argon2::new(alg, Version::V0x13, Params::new(m, t, p, Some(len)).unwrap());
            let theirs = Secret::new(a.hash_password(b"pw", &salt).unwrap().to_string());
            assert!(verify_password("pw", &theirs), "{}", theirs.expose());
            assert!(!verify_password("pW", &theirs), "{}", theirs.expose());
        }
        assert!(!verify_password("pw", &Secret::new("$argon2id$v=19$m=8,t=1,p=1$bm9wZQ".into())));
        assert!(!verify_password("pw", &Secret::new("not a hash".into())));
    }

    #[test]
    fn file_store_finds_users_added_later() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileUserStore::open(&dir.path().join("users.json")).unwrap();
        assert!(store.find("/", "alice").unwrap().is_none());
        store
            .add(User {
                username: "alice".into(),
                realm: "/".into(),
                password_hash: hash_password("pw").unwrap(),
                digest_secret: None,
                attributes: BTreeMap::new(),
                disabled: false,
                admin: false,
            })
            .unwrap();
        assert!(store.find("", "alice").unwrap().is_some());
        assert!(store.find("/other", "alice").unwrap().is_none());
        assert!(
            store
                .add(store.find("/", "alice").unwrap().unwrap())
                .is_err()
        );
    }
}
