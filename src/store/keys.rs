//! Signing key pairs and certificates kept in the store, so that every node of a cluster signs
//! with the same keys and a rotation on one node reaches all. Private keys are stored only
//! wrapped with the master key (`crypto::wrap`, done above this layer); the store never sees
//! them in clear.

use super::StoreError;

/// A key pair (with `wrapped_key`) or a lone certificate (a relying party's) under an alias.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyRecord {
    pub alias: String,
    /// `RSA` or `EC`: the certificate's key type, for listings.
    pub kind: String,
    /// The certificate, PEM.
    pub cert_pem: Vec<u8>,
    /// The private key (PKCS#8 PEM) wrapped with the master key; None for a certificate.
    pub wrapped_key: Option<Vec<u8>>,
    /// The certificate the alias had before its last rotation (still trusted to verify).
    pub previous_cert_pem: Option<Vec<u8>>,
    /// Changes on every write: the compare-and-swap token of [`KeyStore::replace_key`], and
    /// what nodes compare to notice a change.
    pub rev: String,
    pub updated_ms: i64,
}

impl std::fmt::Debug for KeyRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRecord")
            .field("alias", &self.alias)
            .field("kind", &self.kind)
            .field("pair", &self.wrapped_key.is_some())
            .field("rotated", &self.previous_cert_pem.is_some())
            .field("rev", &self.rev)
            .finish()
    }
}

/// Persistence of keys.
pub trait KeyStore: Send + Sync {
    /// Inserts a new alias; false (and nothing written) when the alias is taken, so that
    /// nodes starting at once on an empty store keep one key per alias.
    fn insert_key(&self, r: &KeyRecord) -> Result<bool, StoreError>;
    fn get_key(&self, alias: &str) -> Result<Option<KeyRecord>, StoreError>;
    /// Every key and certificate, by alias.
    fn list_keys(&self) -> Result<Vec<KeyRecord>, StoreError>;
    /// Replaces the alias if its stored revision is `expected_rev`; false otherwise (two
    /// rotations at once: one wins, the other is told).
    fn replace_key(&self, expected_rev: &str, r: &KeyRecord) -> Result<bool, StoreError>;
    /// (Only tests remove an alias: a rotated pair keeps its row.)
    #[cfg(any(test, feature = "test-util"))]
    fn delete_key(&self, alias: &str) -> Result<bool, StoreError>;
    /// `(alias, rev)` of every row, by alias: a cheap poll for changes.
    fn key_revisions(&self) -> Result<Vec<(String, String)>, StoreError>;
}

/// The behaviour every backend must show.
#[cfg(test)]
pub fn conformance(store: &dyn KeyStore) {
    let rec = |alias: &str, rev: &str, pair: bool| KeyRecord {
        alias: alias.into(),
        kind: "RSA".into(),
        cert_pem: format!("cert of {alias} at {rev}").into_bytes(),
        wrapped_key: pair.then(|| vec![1, 0, 255, 7]),
        previous_cert_pem: None,
        rev: rev.into(),
        updated_ms: 10,
    };
    assert!(store.list_keys().unwrap().is_empty());
    assert!(store.key_revisions().unwrap().is_empty());
    assert!(store.insert_key(&rec("main", "r1", true)).unwrap());
    assert!(
        !store.insert_key(&rec("main", "r9", true)).unwrap(),
        "duplicate alias"
    );
    assert!(store.insert_key(&rec("rp", "r1", false)).unwrap());
    assert_eq!(
        store.get_key("main").unwrap(),
        Some(rec("main", "r1", true))
    );
    assert_eq!(store.get_key("rp").unwrap(), Some(rec("rp", "r1", false)));
    assert_eq!(store.get_key("nobody").unwrap(), None);

    let mut rotated = rec("main", "r2", true);
    rotated.previous_cert_pem = Some(rec("main", "r1", true).cert_pem);
    rotated.wrapped_key = Some(vec![9; 300]);
    rotated.updated_ms = 20;
    assert!(!store.replace_key("stale", &rotated).unwrap());
    assert!(store.replace_key("r1", &rotated).unwrap());
    assert!(
        !store.replace_key("r1", &rotated).unwrap(),
        "second rotation from the same revision"
    );
    assert_eq!(store.get_key("main").unwrap(), Some(rotated.clone()));
    assert!(!store.replace_key("r1", &rec("missing", "r2", true)).unwrap());
    assert_eq!(
        store.key_revisions().unwrap(),
        vec![("main".into(), "r2".into()), ("rp".into(), "r1".into())]
    );
    let aliases: Vec<String> = store
        .list_keys()
        .unwrap()
        .into_iter()
        .map(|r| r.alias)
        .collect();
    assert_eq!(aliases, ["main", "rp"]);
    assert!(store.delete_key("rp").unwrap());
    assert!(!store.delete_key("rp").unwrap());
    assert_eq!(store.list_keys().unwrap(), vec![rotated]);
    assert!(store.delete_key("main").unwrap());
}
