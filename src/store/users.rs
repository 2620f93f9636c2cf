//! Users and realms of the local identity store, for nodes that share a store (one node keeps
//! them in `users.json`). The identity layer (`identity::stored`) converts its `User` to and
//! from these rows: attributes are JSON text, the digest secret is a master-key blob
//! (`crypto::wrap`), never the plain password. Every change bumps the user's `rev`, so that an
//! edit of one node never silently overwrites another's made meanwhile.

use super::StoreError;

/// A user as stored. `Debug` leaves the hash and the wrapped secret out.
#[derive(Clone, PartialEq, Eq)]
pub struct UserRecord {
    /// Normalised: `/` or `/a/b`.
    pub realm: String,
    pub username: String,
    /// argon2id PHC string.
    pub password_hash: String,
    /// The digest secret wrapped with the master key, for users allowed PasswordDigest.
    pub digest_secret: Option<Vec<u8>>,
    /// A JSON object of string arrays.
    pub attributes: String,
    pub disabled: bool,
    pub admin: bool,
    /// The revision this record is (see [`UserRecordStore::update_user`]).
    pub rev: i64,
}

impl std::fmt::Debug for UserRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRecord")
            .field("realm", &self.realm)
            .field("username", &self.username)
            .field("password_hash", &"[redacted]")
            .field(
                "digest_secret",
                &self.digest_secret.as_ref().map(|_| "[wrapped]"),
            )
            .field("disabled", &self.disabled)
            .field("admin", &self.admin)
            .field("rev", &self.rev)
            .finish()
    }
}

/// Persistence of users and realms.
pub trait UserRecordStore: Send + Sync {
    /// Adds a realm (other than `/`, which always exists); false if it exists.
    fn insert_realm(&self, realm: &str) -> Result<bool, StoreError>;
    /// The realms added, sorted (without `/`).
    fn list_realms(&self) -> Result<Vec<String>, StoreError>;
    /// Adds a user; false (and nothing written) when the realm has one of that name.
    fn insert_user(&self, u: &UserRecord) -> Result<bool, StoreError>;
    fn get_user(&self, realm: &str, username: &str) -> Result<Option<UserRecord>, StoreError>;
    /// Every user, by realm then name.
    fn list_users(&self) -> Result<Vec<UserRecord>, StoreError>;
    /// Replaces the user if its stored `rev` is `expected_rev` (`u.rev` is the new one);
    /// false otherwise (changed meanwhile, or gone).
    fn update_user(&self, expected_rev: i64, u: &UserRecord) -> Result<bool, StoreError>;
    /// Sets the user's digest secret to `new` (and bumps `rev`) if it is `old` byte for byte;
    /// false otherwise (changed meanwhile, or gone). Nothing else of the row changes.
    fn set_digest_secret(
        &self,
        realm: &str,
        username: &str,
        old: &[u8],
        new: &[u8],
    ) -> Result<bool, StoreError>;
    fn delete_user(&self, realm: &str, username: &str) -> Result<bool, StoreError>;
}

/// The behaviour every backend must show.
#[cfg(test)]
pub fn conformance(store: &dyn UserRecordStore) {
    let rec = |realm: &str, name: &str| UserRecord {
        realm: realm.into(),
        username: name.into(),
        password_hash: "$argon2id$x".into(),
        digest_secret: Some(vec![1, 2, 3]),
        attributes: r#"{"mail":["a@example.com"]}"#.into(),
        disabled: false,
        admin: false,
        rev: 1,
    };
    assert!(store.list_realms().unwrap().is_empty());
    assert!(store.insert_realm("/sub").unwrap());
    assert!(!store.insert_realm("/sub").unwrap());
    assert!(store.insert_realm("/a").unwrap());
    assert_eq!(store.list_realms().unwrap(), ["/a", "/sub"]);
    assert!(store.insert_user(&rec("/", "bob")).unwrap());
    assert!(store.insert_user(&rec("/", "alice")).unwrap());
    assert!(!store.insert_user(&rec("/", "alice")).unwrap(), "duplicate");
    assert!(store.insert_user(&rec("/sub", "alice")).unwrap());
    assert_eq!(
        store.get_user("/", "alice").unwrap(),
        Some(rec("/", "alice"))
    );
    assert_eq!(store.get_user("/a", "alice").unwrap(), None);
    let names: Vec<(String, String)> = store
        .list_users()
        .unwrap()
        .into_iter()
        .map(|u| (u.realm, u.username))
        .collect();
    assert_eq!(
        names,
        [
            ("/".to_owned(), "alice".to_owned()),
            ("/".into(), "bob".into()),
            ("/sub".into(), "alice".into())
        ]
    );
    let mut changed = rec("/", "alice");
    changed.disabled = true;
    changed.digest_secret = None;
    changed.rev = 2;
    assert!(!store.update_user(7, &changed).unwrap(), "stale rev");
    assert!(store.update_user(1, &changed).unwrap());
    assert!(!store.update_user(1, &changed).unwrap(), "applied once");
    assert_eq!(store.get_user("/", "alice").unwrap(), Some(changed));
    assert_eq!(
        store.get_user("/sub", "alice").unwrap(),
        Some(rec("/sub", "alice"))
    );
    // The secret alone, guarded by the blob it replaces.
    let bob = rec("/", "bob");
    assert!(!store.set_digest_secret("/", "bob", &[9, 9], &[4, 5]).unwrap(), "other blob");
    assert!(!store.set_digest_secret("/", "nobody", &[1, 2, 3], &[4, 5]).unwrap());
    assert!(!store.set_digest_secret("/a", "bob", &[1, 2, 3], &[4, 5]).unwrap());
    assert!(store.set_digest_secret("/", "bob", &[1, 2, 3], &[4, 5]).unwrap());
    assert!(!store.set_digest_secret("/", "bob", &[1, 2, 3], &[6]).unwrap(), "applied once");
    assert_eq!(
        store.get_user("/", "bob").unwrap(),
        Some(UserRecord {
            digest_secret: Some(vec![4, 5]),
            rev: 2,
            ..bob
        })
    );
    // A user without a secret has none to replace.
    assert!(!store.set_digest_secret("/", "alice", &[1, 2, 3], &[4]).unwrap());
    assert!(store.delete_user("/", "alice").unwrap());
    assert!(!store.delete_user("/", "alice").unwrap());
    assert_eq!(store.get_user("/", "alice").unwrap(), None);
    assert_eq!(store.list_users().unwrap().len(), 2);
}
