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
        let digest_secret = match &u.digest_secret {
            None => None,
            Some(secret) => {
                let master = self.master.as_ref().ok_or(IdentityError::NoMasterKey)?;
                Some(
                    master
                        .wrap(secret.expose().as_bytes(), &aad(&realm, &u.username))
                        .map_err(|e| IdentityError::MasterKey(e.to_string()))?,
                )
            }
        };
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

    fn user(&self, r: UserRecord) -> Result<User, IdentityError> {
        let attributes: BTreeMap<String, Vec<String>> = serde_json::from_str(&r.attributes)
            .map_err(|e| IdentityError::Stored(format!("user `{}`: {e}", r.username)))?;
        // A secret this node cannot open leaves the user without PasswordDigest (fails
        // closed), and says why.
        let digest_secret = r.digest_secret.as_ref().and_then(|blob| {
            let Some(master) = &self.master else {
                tracing::warn!(realm = %r.realm, user = ?r.username, "the user's digest secret is wrapped, and this node has no master key (STS_MASTER_KEY_FILE)");
                return None;
            };
            match master.unwrap(blob, &aad(&r.realm, &r.username)) {
                Ok(plain) => String::from_utf8(plain.expose().clone())
                    .ok()
                    .map(Secret::new),
                Err(e) => {
                    tracing::warn!(realm = %r.realm, user = ?r.username, error = %e, "the user's digest secret cannot be unwrapped");
                    None
                }
            }
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
            let mut user = self.user(current)?;
            f(&mut user);
            // The key of the row cannot change.
            user.realm.clone_from(&realm);
            user.username = username.to_owned();
            let rec = self.record(&user, rev.saturating_add(1))?;
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
/// under it (`sts keys master-key rewrap`). Each row is written only if nobody changed it
/// meanwhile (else read again, up to [`REWRAP_ATTEMPTS`] times); a secret no key of `master`
/// opens is left as it is and reported.
pub fn rewrap_digest_secrets(
    store: &dyn UserRecordStore,
    master: &MasterKey,
) -> Result<Rewrapped, IdentityError> {
    let mut out = Rewrapped::default();
    for r in store.list_users()? {
        if r.digest_secret.is_some() {
            out.count(rewrap_user(store, master, &r.realm, &r.username)?);
        }
    }
    Ok(out)
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
        let rec = UserRecord {
            digest_secret: Some(
                master
                    .wrap(plain.expose(), &aad(realm, username))
                    .map_err(wrap_error)?,
            ),
            rev: old.rev.saturating_add(1),
            ..old.clone()
        };
        if store.update_user(old.rev, &rec)? {
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
        let master = Arc::new(MasterKey::from_bytes([7; 32]));
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
        let master = Some(Arc::new(MasterKey::from_bytes([1; 32])));
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

    /// A store whose first `update_user` loses to a change made meanwhile on another node
    /// (the user disabled, by a node with the old master key).
    struct ChangedMeanwhile {
        inner: Arc<dyn crate::store::Store>,
        other_node: std::sync::Mutex<Option<StoredUsers>>,
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
            let other = self.other_node.lock().unwrap().take();
            if let Some(other) = other {
                other
                    .update(&u.realm, &u.username, |u| u.disabled = true)
                    .unwrap();
            }
            self.inner.update_user(expected_rev, u)
        }
        fn delete_user(&self, realm: &str, username: &str) -> Result<bool, crate::store::StoreError> {
            self.inner.delete_user(realm, username)
        }
    }

    #[test]
    fn rewrap_moves_digest_secrets_to_the_current_master_key() {
        let dir = tempfile::tempdir().unwrap();
        let store = sqlite(&dir);
        let old = Arc::new(MasterKey::from_bytes([1; 32]));
        let on_old = StoredUsers::new(store.clone(), Some(old.clone()));
        on_old.add(user("alice", Some("alice-pw"))).unwrap();
        on_old.add(user("bob", None)).unwrap();
        on_old.add(user("carol", Some("carol-pw"))).unwrap();
        let both = MasterKey::from_bytes([2; 32]).with_previous(&old);
        let new_id = both.id_hex();

        let racing = ChangedMeanwhile {
            inner: store.clone(),
            other_node: std::sync::Mutex::new(Some(StoredUsers::new(
                store.clone(),
                Some(old.clone()),
            ))),
        };
        let done = rewrap_digest_secrets(&racing, &both).unwrap();
        assert_eq!(done, Rewrapped { rewrapped: 2, current: 0, failed: vec![] });
        assert!(racing.other_node.lock().unwrap().is_none(), "the race happened");
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
        let on_new = StoredUsers::new(store.clone(), Some(Arc::new(MasterKey::from_bytes([2; 32]))));
        let alice = on_new.find("/", "alice").unwrap().unwrap();
        assert!(alice.disabled);
        assert_eq!(alice.digest_secret.unwrap().expose(), "alice-pw");
        let carol = on_new.find("/", "carol").unwrap().unwrap();
        assert_eq!(carol.digest_secret.unwrap().expose(), "carol-pw");
        assert!(on_old.find("/", "carol").unwrap().unwrap().digest_secret.is_none());

        let again = rewrap_digest_secrets(store.as_ref(), &both).unwrap();
        assert_eq!(again, Rewrapped { rewrapped: 0, current: 2, failed: vec![] });

        // A secret no key of the file opens is reported by name and left as it was.
        let stranger = StoredUsers::new(store.clone(), Some(Arc::new(MasterKey::from_bytes([3; 32]))));
        stranger.add(user("dave", Some("dave-pw"))).unwrap();
        let dave = store.get_user("/", "dave").unwrap().unwrap();
        let done = rewrap_digest_secrets(store.as_ref(), &both).unwrap();
        assert_eq!((done.rewrapped, done.current), (0, 2));
        let [why] = done.failed.as_slice() else {
            panic!("{:?}", done.failed)
        };
        assert!(why.contains("`dave`") && why.contains("realm `/`"), "{why}");
        assert!(why.contains(&MasterKey::from_bytes([3; 32]).id_hex()), "{why}");
        assert_eq!(store.get_user("/", "dave").unwrap().unwrap(), dave);
    }
}
