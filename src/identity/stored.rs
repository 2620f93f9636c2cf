//! Users and realms in the store, for nodes that share it (PostgreSQL): an account added,
//! changed or disabled on one node is what every node reads at its next sign-in, because
//! each authentication reads the user from the store (one indexed row; no per-node cache to
//! invalidate). The digest secret (the recoverable password PasswordDigest needs) is stored
//! wrapped with the master key (`crypto::wrap`), bound to its realm and user name, so the
//! database alone never yields a password.
//!
//! [`Users`] is what the server and the `sts user` command hold: the file store of one node,
//! or this one.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::{
    FileUserStore, IdentityError, User, UserStore, checked_realm, normalize_realm, valid_name,
};
use crate::crypto::{MasterKey, REWRAP_ATTEMPTS, RowRewrap, Rewrapped};
use crate::secret::Secret;
use crate::store::users::{UserRecord, UserRecordStore};

/// Attempts of a read-modify-write that loses to concurrent writers before giving up.
const UPDATE_ATTEMPTS: usize = 5;

/// Users and realms in the store.
pub struct StoredUsers {
    store: Arc<dyn UserRecordStore>,
    master: Option<Arc<MasterKey>>,
}

/// What binds a wrapped digest secret to its user: moved to another row, it does not unwrap.
fn aad(realm: &str, username: &str) -> Vec<u8> {
    format!("users\0{realm}\0{username}\0digest").into_bytes()
}

impl StoredUsers {
    /// `master` wraps digest secrets; without it, users with one cannot be added and stored
    /// ones cannot use PasswordDigest.
    pub fn new(store: Arc<dyn UserRecordStore>, master: Option<Arc<MasterKey>>) -> Self {
        StoredUsers { store, master }
    }

    fn record(&self, u: &User, rev: i64) -> Result<UserRecord, IdentityError> {
        let realm = normalize_realm(&u.realm);
        let digest_secret = self.wrap_secret(&realm, u)?;
        Self::row(u, realm, digest_secret, rev)
    }

    /// `u`'s digest secret wrapped with the current master key (bound to `realm` and name).
    fn wrap_secret(&self, realm: &str, u: &User) -> Result<Option<Vec<u8>>, IdentityError> {
        let Some(secret) = &u.digest_secret else {
            return Ok(None);
        };
        let master = self.master.as_ref().ok_or(IdentityError::NoMasterKey)?;
        master
            .wrap(secret.expose().as_bytes(), &aad(realm, &u.username))
            .map(Some)
            .map_err(|e| IdentityError::MasterKey(e.to_string()))
    }

    fn row(
        u: &User,
        realm: String,
        digest_secret: Option<Vec<u8>>,
        rev: i64,
    ) -> Result<UserRecord, IdentityError> {
        Ok(UserRecord {
            attributes: serde_json::to_string(&u.attributes)
                .map_err(|e| IdentityError::Stored(e.to_string()))?,
            realm,
            username: u.username.clone(),
            password_hash: u.password_hash.expose().clone(),
            digest_secret,
            disabled: u.disabled,
            admin: u.admin,
            rev,
        })
    }

    /// Opens a stored digest secret: Err says why it cannot be (no master key, a key the
    /// master key file lacks, a damaged blob), naming the blob's key id, never its content.
    fn open_secret(&self, r: &UserRecord, blob: &[u8]) -> Result<Option<Secret<String>>, String> {
        let Some(master) = &self.master else {
            return Err(format!(
                "the user's digest secret is wrapped with master key {}, and this node has no \
                 master key (STS_MASTER_KEY_FILE)",
                crate::crypto::wrap::blob_key_id(blob).unwrap_or_else(|| "?".into())
            ));
        };
        match master.unwrap(blob, &aad(&r.realm, &r.username)) {
            Ok(plain) => Ok(String::from_utf8(plain.expose().clone())
                .ok()
                .map(Secret::new)),
            Err(e) => Err(e.to_string()),
        }
    }

    fn user(&self, r: UserRecord) -> Result<User, IdentityError> {
        let attributes: BTreeMap<String, Vec<String>> = serde_json::from_str(&r.attributes)
            .map_err(|e| IdentityError::Stored(format!("user `{}`: {e}", r.username)))?;
        // A secret this node cannot open leaves the user without PasswordDigest (fails
        // closed), and says why. `update` keeps the stored blob as it is.
        let digest_secret = r.digest_secret.as_ref().and_then(|blob| {
            self.open_secret(&r, blob).unwrap_or_else(|why| {
                tracing::warn!(realm = %r.realm, user = ?r.username, error = %why, "the user's digest secret cannot be unwrapped");
                None
            })
        });
        Ok(User {
            username: r.username,
            realm: r.realm,
            password_hash: Secret::new(r.password_hash),
            digest_secret,
            attributes,
            disabled: r.disabled,
            admin: r.admin,
        })
    }

    /// Every user, for listings.
    pub fn list(&self) -> Result<Vec<User>, IdentityError> {
        self.store
            .list_users()?
            .into_iter()
            .map(|r| self.user(r))
            .collect()
    }

    /// Realms, the top-level realm first.
    pub fn realms(&self) -> Result<Vec<String>, IdentityError> {
        let mut out = vec!["/".to_owned()];
        out.extend(self.store.list_realms()?);
        Ok(out)
    }

    fn has_realm(&self, realm: &str) -> Result<bool, IdentityError> {
        Ok(realm == "/" || self.store.list_realms()?.iter().any(|r| r == realm))
    }

    /// Adds a realm (`name` or `/name`).
    pub fn add_realm(&self, name: &str) -> Result<String, IdentityError> {
        let realm = checked_realm(name)?;
        if realm == "/" || !self.store.insert_realm(&realm)? {
            return Err(IdentityError::RealmExists(realm));
        }
        Ok(realm)
    }

    /// Adds a user to an existing realm.
    pub fn add(&self, user: User) -> Result<(), IdentityError> {
        if !valid_name(&user.username) {
            return Err(IdentityError::InvalidName(user.username));
        }
        let rec = self.record(&user, 1)?;
        if !self.has_realm(&rec.realm)? {
            return Err(IdentityError::NoSuchRealm(rec.realm));
        }
        if !self.store.insert_user(&rec)? {
            return Err(IdentityError::Exists(rec.username, rec.realm));
        }
        Ok(())
    }

    /// Changes a user: read, change, write if nobody wrote meanwhile (else read again).
    pub fn update(
        &self,
        realm: &str,
        username: &str,
        f: impl Fn(&mut User),
    ) -> Result<User, IdentityError> {
        let realm = normalize_realm(realm);
        for _ in 0..UPDATE_ATTEMPTS {
            let Some(current) = self.store.get_user(&realm, username)? else {
                return Err(IdentityError::NoSuchUser(username.to_owned(), realm));
            };
            let rev = current.rev;
            let old_blob = current.digest_secret.clone();
            // The secret as this node reads it: Err when the stored blob does not open here.
            let opened = match &old_blob {
                None => Ok(None),
                Some(blob) => self.open_secret(&current, blob),
            };
            let mut user = self.user(current)?;
            let old_hash = user.password_hash.expose().clone();
            f(&mut user);
            // The key of the row cannot change.
            user.realm.clone_from(&realm);
            user.username = username.to_owned();
            let unchanged = match (&opened, &user.digest_secret) {
                (Ok(Some(before)), Some(after)) => before.expose() == after.expose(),
                (Ok(None), None) => true,
                // Not opened here: left alone unless `f` set a new one.
                (Err(_), None) => true,
                _ => false,
            };
            let digest_secret = if unchanged {
                if let (Err(why), true) = (&opened, *user.password_hash.expose() != old_hash) {
                    // The new password would have to become the digest secret too: refused
                    // rather than leaving the user without PasswordDigest on every node.
                    return Err(IdentityError::DigestSecretLocked(format!(
                        "user `{username}` in realm `{realm}` uses PasswordDigest, and its \
                         digest secret does not open on this node, so its password cannot \
                         change here (nothing changed): {why}"
                    )));
                }
                // The stored bytes, as they are: a node lacking the key a blob names must
                // not drop or alter it.
                old_blob
            } else {
                self.wrap_secret(&realm, &user)?
            };
            let rec = Self::row(&user, realm.clone(), digest_secret, rev.saturating_add(1))?;
            if self.store.update_user(rev, &rec)? {
                return Ok(user);
            }
        }
        Err(IdentityError::Stored(format!(
            "user `{username}` in realm `{realm}` kept changing; try again"
        )))
    }

    /// Removes a user.
    pub fn delete(&self, realm: &str, username: &str) -> Result<(), IdentityError> {
        let realm = normalize_realm(realm);
        if !self.store.delete_user(&realm, username)? {
            return Err(IdentityError::NoSuchUser(username.to_owned(), realm));
        }
        Ok(())
    }

    /// Copies the realms and users of `file` into the store if it holds none yet (the first
    /// node of a cluster brings its `users.json`); returns how many users were copied.
    /// Nodes starting together may both copy: each row goes in once.
    pub fn import_if_empty(&self, file: &FileUserStore) -> Result<usize, IdentityError> {
        if !self.store.list_realms()?.is_empty() || !self.store.list_users()?.is_empty() {
            return Ok(0);
        }
        for realm in file.realms()?.iter().filter(|r| *r != "/") {
            self.store.insert_realm(realm)?;
        }
        let mut n = 0;
        for user in file.list()? {
            if self.store.insert_user(&self.record(&user, 1)?)? {
                n += 1;
            }
        }
        Ok(n)
    }
}

impl UserStore for StoredUsers {
    fn find(&self, realm: &str, username: &str) -> Result<Option<User>, IdentityError> {
        self.store
            .get_user(&normalize_realm(realm), username)?
            .map(|r| self.user(r))
            .transpose()
    }
}

/// Wraps every user's digest secret that is not wrapped with `master`'s current key again
/// under it (`sts keys master-key rewrap`). Only the secret column is written, and only if it
/// still holds the blob read (else read again, up to [`REWRAP_ATTEMPTS`] times); a secret no
/// key of `master` opens is left as it is and reported. Counts into `out` as it goes: on an
/// error, `out` holds what was done.
pub fn rewrap_digest_secrets(
    store: &dyn UserRecordStore,
    master: &MasterKey,
    out: &mut Rewrapped,
) -> Result<(), IdentityError> {
    for r in store.list_users()? {
        if r.digest_secret.is_some() {
            out.count(rewrap_user(store, master, &r.realm, &r.username)?);
        }
    }
    Ok(())
}

fn rewrap_user(
    store: &dyn UserRecordStore,
    master: &MasterKey,
    realm: &str,
    username: &str,
) -> Result<RowRewrap, IdentityError> {
    let wrap_error = |e: crate::crypto::WrapError| IdentityError::MasterKey(e.to_string());
    for _ in 0..REWRAP_ATTEMPTS {
        let Some(old) = store.get_user(realm, username)? else {
            return Ok(RowRewrap::Gone);
        };
        let Some(blob) = &old.digest_secret else {
            return Ok(RowRewrap::Gone);
        };
        let plain = match master.unwrap(blob, &aad(realm, username)) {
            Ok(p) => p,
            Err(e) => {
                return Ok(RowRewrap::Failed(format!(
                    "user `{username}` in realm `{realm}`: {e}"
                )));
            }
        };
        if master.is_current(blob) {
            return Ok(RowRewrap::Current);
        }
        let new = master
            .wrap(plain.expose(), &aad(realm, username))
            .map_err(wrap_error)?;
        // Only the secret changes, and only if it is still the blob read: a user changed,
        // or deleted and added again, meanwhile keeps what it has now.
        if store.set_digest_secret(realm, username, blob, &new)? {
            return Ok(RowRewrap::Rewrapped);
        }
    }
    Ok(RowRewrap::Failed(format!(
        "user `{username}` in realm `{realm}` kept changing while it was being rewrapped \
         ({REWRAP_ATTEMPTS} tries); run it again"
    )))
}

/// The users of a node: with a shared store, the store's (seeded from `users_json` if it
/// holds none yet); otherwise the file `users_json`.
pub fn open_users(
    users_json: &std::path::Path,
    store: Arc<dyn UserRecordStore>,
    shared: bool,
    master: Option<Arc<MasterKey>>,
) -> Result<Users, IdentityError> {
    let file = FileUserStore::open(users_json)?;
    if !shared {
        return Ok(Users::File(file));
    }
    let stored = StoredUsers::new(store, master);
    let n = stored.import_if_empty(&file)?;
    if n > 0 {
        tracing::info!(users = n, file = %users_json.display(), "users copied into the empty store");
    }
    Ok(Users::Stored(stored))
}

/// The users a node serves: `users.json` of its data directory (one node), or the store
/// (nodes sharing a store).
pub enum Users {
    File(FileUserStore),
    Stored(StoredUsers),
}

impl Users {
    pub fn list(&self) -> Result<Vec<User>, IdentityError> {
        match self {
            Users::File(f) => f.list(),
            Users::Stored(s) => s.list(),
        }
    }

    /// Realms, the top-level realm first.
    pub fn realms(&self) -> Result<Vec<String>, IdentityError> {
        match self {
            Users::File(f) => f.realms(),
            Users::Stored(s) => s.realms(),
        }
    }

    pub fn add_realm(&self, name: &str) -> Result<String, IdentityError> {
        match self {
            Users::File(f) => f.add_realm(name),
            Users::Stored(s) => s.add_realm(name),
        }
    }

    pub fn add(&self, user: User) -> Result<(), IdentityError> {
        match self {
            Users::File(f) => f.add(user),
            Users::Stored(s) => s.add(user),
        }
    }

    /// Changes a user in place (`f` may run again if another node wrote meanwhile).
    pub fn update(
        &self,
        realm: &str,
        username: &str,
        f: impl Fn(&mut User),
    ) -> Result<User, IdentityError> {
        match self {
            Users::File(file) => file.update(realm, username, f),
            Users::Stored(s) => s.update(realm, username, f),
        }
    }

    pub fn delete(&self, realm: &str, username: &str) -> Result<(), IdentityError> {
        match self {
            Users::File(f) => f.delete(realm, username),
            Users::Stored(s) => s.delete(realm, username),
        }
    }
}

impl UserStore for Users {
    fn find(&self, realm: &str, username: &str) -> Result<Option<User>, IdentityError> {
        match self {
            Users::File(f) => f.find(realm, username),
            Users::Stored(s) => s.find(realm, username),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn user(name: &str, digest: Option<&str>) -> User {
        User {
            username: name.into(),
            realm: "/".into(),
            password_hash: Secret::new("$argon2id$v=19$stub".into()),
            digest_secret: digest.map(|d| Secret::new(d.into())),
            attributes: BTreeMap::from([("mail".to_owned(), vec![format!("{name}@example.com")])]),
            disabled: false,
            admin: false,
        }
    }

    /// Two nodes on one store: what one adds, changes or disables, the other reads at once;
    /// digest secrets are stored wrapped and bound to their user.
    pub(crate) fn shared_by_nodes(store: Arc<dyn UserRecordStore>) {
        let master = Arc::new(MasterKey::from_bytes(&[7; 32]));
        let a = StoredUsers::new(store.clone(), Some(master.clone()));
        let b = StoredUsers::new(store.clone(), Some(master));
        a.add(user("alice", Some("digest-pw"))).unwrap();
        let seen = b.find("/", "alice").unwrap().unwrap();
        assert_eq!(seen.digest_secret.unwrap().expose(), "digest-pw");
        assert_eq!(seen.attributes["mail"], ["alice@example.com"]);
        let raw = store.get_user("/", "alice").unwrap().unwrap();
        let blob = raw.digest_secret.clone().unwrap();
        assert!(
            !blob.windows(9).any(|w| w == b"digest-pw"),
            "stored in clear"
        );
        assert!(matches!(
            a.add(user("alice", None)),
            Err(IdentityError::Exists(..))
        ));
        // Disabled on one node: the other's next sign-in reads it.
        a.update("/", "alice", |u| u.disabled = true).unwrap();
        assert!(b.find("", "alice").unwrap().unwrap().disabled);
        // A digest blob copied to another user does not open.
        b.add(user("mallory", None)).unwrap();
        let mut stolen = store.get_user("/", "mallory").unwrap().unwrap();
        let rev = stolen.rev;
        stolen.digest_secret = Some(blob);
        stolen.rev = rev + 1;
        assert!(store.update_user(rev, &stolen).unwrap());
        assert!(
            a.find("/", "mallory")
                .unwrap()
                .unwrap()
                .digest_secret
                .is_none()
        );
        // Without the master key: no digest users are added, stored ones lose digest only.
        let keyless = StoredUsers::new(store.clone(), None);
        assert!(matches!(
            keyless.add(user("carol", Some("x"))),
            Err(IdentityError::NoMasterKey)
        ));
        let alice = keyless.find("/", "alice").unwrap().unwrap();
        assert!(alice.digest_secret.is_none() && alice.disabled);
        // Realms.
        assert!(matches!(
            a.add(User {
                realm: "/sub".into(),
                ..user("dave", None)
            }),
            Err(IdentityError::NoSuchRealm(_))
        ));
        assert_eq!(b.add_realm("sub").unwrap(), "/sub");
        assert!(matches!(
            a.add_realm("/sub"),
            Err(IdentityError::RealmExists(_))
        ));
        a.add(User {
            realm: "/sub".into(),
            ..user("dave", None)
        })
        .unwrap();
        assert_eq!(b.realms().unwrap(), ["/", "/sub"]);
        assert_eq!(b.list().unwrap().len(), 3);
        a.delete("/", "mallory").unwrap();
        assert!(matches!(
            b.delete("/", "mallory"),
            Err(IdentityError::NoSuchUser(..))
        ));
        assert!(b.find("/", "mallory").unwrap().is_none());
    }

    fn sqlite(dir: &tempfile::TempDir) -> Arc<dyn crate::store::Store> {
        crate::store::open(&format!("sqlite://{}", dir.path().join("u.db").display())).unwrap()
    }

    #[test]
    fn users_are_shared_by_nodes_on_sqlite() {
        let dir = tempfile::tempdir().unwrap();
        shared_by_nodes(sqlite(&dir));
    }

    #[test]
    fn users_json_seeds_an_empty_store_once() {
        let dir = tempfile::tempdir().unwrap();
        let json = dir.path().join("users.json");
        let file = FileUserStore::open(&json).unwrap();
        file.add_realm("/r").unwrap();
        file.add(user("alice", Some("pw"))).unwrap();
        file.add(User {
            realm: "/r".into(),
            ..user("bob", None)
        })
        .unwrap();
        let store = sqlite(&dir);
        let master = Some(Arc::new(MasterKey::from_bytes(&[1; 32])));
        let Users::Stored(users) = open_users(&json, store.clone(), true, master.clone()).unwrap()
        else {
            panic!("not the store")
        };
        assert_eq!(users.list().unwrap().len(), 2);
        assert_eq!(users.realms().unwrap(), ["/", "/r"]);
        let alice = users.find("/", "alice").unwrap().unwrap();
        assert_eq!(alice.digest_secret.unwrap().expose(), "pw");
        // The store is no longer empty: a later start (or another node's file) adds nothing.
        file.add(user("carol", None)).unwrap();
        assert_eq!(users.import_if_empty(&file).unwrap(), 0);
        assert!(users.find("/", "carol").unwrap().is_none());
        // Not shared: the file.
        assert!(matches!(
            open_users(&json, store, false, master).unwrap(),
            Users::File(_)
        ));
    }

    fn rewrapped(store: &dyn UserRecordStore, master: &MasterKey) -> Rewrapped {
        let mut out = Rewrapped::default();
        rewrap_digest_secrets(store, master, &mut out).unwrap();
        out
    }

    /// A store on which `meanwhile` runs before the first write of a user row (`update_user`
    /// or `set_digest_secret`): another node's change made between a read and its write.
    struct ChangedMeanwhile {
        inner: Arc<dyn crate::store::Store>,
        meanwhile: std::sync::Mutex<Option<Box<dyn FnOnce() + Send>>>,
    }

    impl ChangedMeanwhile {
        fn new(inner: Arc<dyn crate::store::Store>, f: impl FnOnce() + Send + 'static) -> Self {
            ChangedMeanwhile {
                inner,
                meanwhile: std::sync::Mutex::new(Some(Box::new(f))),
            }
        }
        fn before_write(&self) {
            let f = self.meanwhile.lock().unwrap().take();
            if let Some(f) = f {
                f();
            }
        }
        fn happened(&self) -> bool {
            self.meanwhile.lock().unwrap().is_none()
        }
    }

    impl UserRecordStore for ChangedMeanwhile {
        fn insert_realm(&self, realm: &str) -> Result<bool, crate::store::StoreError> {
            self.inner.insert_realm(realm)
        }
        fn list_realms(&self) -> Result<Vec<String>, crate::store::StoreError> {
            self.inner.list_realms()
        }
        fn insert_user(&self, u: &UserRecord) -> Result<bool, crate::store::StoreError> {
            self.inner.insert_user(u)
        }
        fn get_user(
            &self,
            realm: &str,
            username: &str,
        ) -> Result<Option<UserRecord>, crate::store::StoreError> {
            self.inner.get_user(realm, username)
        }
        fn list_users(&self) -> Result<Vec<UserRecord>, crate::store::StoreError> {
            self.inner.list_users()
        }
        fn update_user(
            &self,
            expected_rev: i64,
            u: &UserRecord,
        ) -> Result<bool, crate::store::StoreError> {
            self.before_write();
            self.inner.update_user(expected_rev, u)
        }
        fn set_digest_secret(
            &self,
            realm: &str,
            username: &str,
            old: &[u8],
            new: &[u8],
        ) -> Result<bool, crate::store::StoreError> {
            self.before_write();
            self.inner.set_digest_secret(realm, username, old, new)
        }
        fn delete_user(
            &self,
            realm: &str,
            username: &str,
        ) -> Result<bool, crate::store::StoreError> {
            self.inner.delete_user(realm, username)
        }
    }

    /// A node whose master key file lacks the key a user's digest secret names (mid-rotation,
    /// or a refused SIGHUP) changes that user without touching the secret, and refuses to
    /// change its password rather than drop PasswordDigest for every node.
    #[test]
    fn a_node_lacking_the_key_keeps_the_secret_and_refuses_a_password_change() {
        let dir = tempfile::tempdir().unwrap();
        let store = sqlite(&dir);
        let new = Arc::new(MasterKey::from_bytes(&[2; 32]));
        let on_new = StoredUsers::new(store.clone(), Some(new.clone()));
        on_new.add(user("alice", Some("alice-pw"))).unwrap();
        let blob = |s: &Arc<dyn crate::store::Store>| {
            s.get_user("/", "alice").unwrap().unwrap().digest_secret.unwrap()
        };
        let before = blob(&store);
        let on_old = StoredUsers::new(store.clone(), Some(Arc::new(MasterKey::from_bytes(&[1; 32]))));
        let keyless = StoredUsers::new(store.clone(), None);
        for node in [&on_old, &keyless] {
            node.update("/", "alice", |u| u.disabled = !u.disabled).unwrap();
            node.update("/", "alice", |u| {
                u.attributes.insert("cn".into(), vec!["Alice".into()]);
            })
            .unwrap();
            assert_eq!(blob(&store), before, "the stored secret is kept byte for byte");
        }
        // A password change (as `sts user passwd` and the admin API make it) is refused.
        let passwd = |u: &mut User| {
            u.password_hash = Secret::new("$argon2id$v=19$new".into());
            if u.digest_secret.is_some() {
                u.digest_secret = Some(Secret::new("new-pw".into()));
            }
        };
        let err = on_old.update("/", "alice", passwd).unwrap_err();
        assert!(matches!(err, IdentityError::DigestSecretLocked(_)), "{err}");
        let err = err.to_string();
        assert!(err.contains(&new.id_hex()) && err.contains("`alice`"), "{err}");
        assert!(keyless.update("/", "alice", passwd).is_err());
        let alice = on_new.find("/", "alice").unwrap().unwrap();
        assert_eq!(alice.digest_secret.unwrap().expose(), "alice-pw");
        assert_eq!(alice.password_hash.expose(), "$argon2id$v=19$stub");
        assert!(!alice.disabled && alice.attributes.contains_key("cn"));
        assert_eq!(blob(&store), before);
        // A node that opens it changes it; one that opens it and changes nothing else of it
        // keeps the bytes too.
        on_new.update("/", "alice", |u| u.admin = true).unwrap();
        assert_eq!(blob(&store), before);
        on_new.update("/", "alice", passwd).unwrap();
        let alice = on_old.find("/", "alice").unwrap().unwrap();
        assert!(alice.admin && alice.digest_secret.is_none());
        let alice = on_new.find("/", "alice").unwrap().unwrap();
        assert_eq!(alice.digest_secret.unwrap().expose(), "new-pw");
        // Taking PasswordDigest away, or giving a new secret, needs no old key either.
        on_old
            .update("/", "alice", |u| u.digest_secret = Some(Secret::new("set".into())))
            .unwrap();
        let alice = on_old.find("/", "alice").unwrap().unwrap();
        assert_eq!(alice.digest_secret.unwrap().expose(), "set");
    }

    /// A user deleted and added again between rewrap's read and its write keeps the new row:
    /// the old one (its password hash, its flags) is never written back.
    #[test]
    fn rewrap_never_writes_back_a_user_deleted_and_added_again() {
        let dir = tempfile::tempdir().unwrap();
        let store = sqlite(&dir);
        let old = Arc::new(MasterKey::from_bytes(&[1; 32]));
        let on_old = StoredUsers::new(store.clone(), Some(old.clone()));
        on_old.add(user("alice", Some("alice-pw"))).unwrap();
        let both = MasterKey::from_bytes(&[2; 32]).with_previous(&old);
        let other = StoredUsers::new(store.clone(), Some(old.clone()));
        let racing = ChangedMeanwhile::new(store.clone(), move || {
            other.delete("/", "alice").unwrap();
            other
                .add(User {
                    password_hash: Secret::new("$argon2id$v=19$again".into()),
                    admin: true,
                    ..user("alice", Some("again-pw"))
                })
                .unwrap();
        });
        let done = rewrapped(&racing, &both);
        assert!(racing.happened());
        assert_eq!(done.rewrapped, 1, "{done:?}");
        let row = store.get_user("/", "alice").unwrap().unwrap();
        assert_eq!(row.password_hash, "$argon2id$v=19$again");
        assert!(row.admin);
        assert_eq!(
            crate::crypto::wrap::blob_key_id(row.digest_secret.as_ref().unwrap()),
            Some(both.id_hex())
        );
        let alice = StoredUsers::new(store.clone(), Some(Arc::new(both)))
            .find("/", "alice")
            .unwrap()
            .unwrap();
        assert_eq!(alice.digest_secret.unwrap().expose(), "again-pw");
    }

    #[test]
    fn rewrap_moves_digest_secrets_to_the_current_master_key() {
        let dir = tempfile::tempdir().unwrap();
        let store = sqlite(&dir);
        let old = Arc::new(MasterKey::from_bytes(&[1; 32]));
        let on_old = StoredUsers::new(store.clone(), Some(old.clone()));
        on_old.add(user("alice", Some("alice-pw"))).unwrap();
        on_old.add(user("bob", None)).unwrap();
        on_old.add(user("carol", Some("carol-pw"))).unwrap();
        let both = MasterKey::from_bytes(&[2; 32]).with_previous(&old);
        let new_id = both.id_hex();

        // Another node, on the old key alone, disables alice meanwhile.
        let other = StoredUsers::new(store.clone(), Some(old.clone()));
        let racing = ChangedMeanwhile::new(store.clone(), move || {
            other.update("/", "alice", |u| u.disabled = true).unwrap();
        });
        let done = rewrapped(&racing, &both);
        assert_eq!(done, Rewrapped { rewrapped: 2, current: 0, failed: vec![] });
        assert!(racing.happened(), "the race happened");
        for r in store.list_users().unwrap() {
            match (r.username.as_str(), &r.digest_secret) {
                ("bob", None) => {}
                (_, Some(blob)) => {
                    assert_eq!(crate::crypto::wrap::blob_key_id(blob), Some(new_id.clone()))
                }
                other => panic!("{other:?}"),
            }
        }
        // The change made meanwhile is kept; the new key alone opens the secrets.
        let on_new = StoredUsers::new(store.clone(), Some(Arc::new(MasterKey::from_bytes(&[2; 32]))));
        let alice = on_new.find("/", "alice").unwrap().unwrap();
        assert!(alice.disabled);
        assert_eq!(alice.digest_secret.unwrap().expose(), "alice-pw");
        let carol = on_new.find("/", "carol").unwrap().unwrap();
        assert_eq!(carol.digest_secret.unwrap().expose(), "carol-pw");
        assert!(on_old.find("/", "carol").unwrap().unwrap().digest_secret.is_none());

        let again = rewrapped(store.as_ref(), &both);
        assert_eq!(again, Rewrapped { rewrapped: 0, current: 2, failed: vec![] });

        // A secret no key of the file opens is reported by name and left as it was.
        let stranger = StoredUsers::new(store.clone(), Some(Arc::new(MasterKey::from_bytes(&[3; 32]))));
        stranger.add(user("dave", Some("dave-pw"))).unwrap();
        let dave = store.get_user("/", "dave").unwrap().unwrap();
        let done = rewrapped(store.as_ref(), &both);
        assert_eq!((done.rewrapped, done.current), (0, 2));
        let [why] = done.failed.as_slice() else {
            panic!("{:?}", done.failed)
        };
        assert!(why.contains("`dave`") && why.contains("realm `/`"), "{why}");
        assert!(why.contains(&MasterKey::from_bytes(&[3; 32]).id_hex()), "{why}");
        assert_eq!(store.get_user("/", "dave").unwrap().unwrap(), dave);
    }
}
