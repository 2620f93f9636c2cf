use std::sync::Arc;

use super::*;
use crate::store::Store;

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000, 0).unwrap()
}

fn sqlite(dir: &Path) -> Arc<dyn Store> {
    crate::store::open(&format!("sqlite://{}", dir.join("sts.db").display())).unwrap()
}

fn master() -> Option<Arc<MasterKey>> {
    Some(Arc::new(MasterKey::generate().unwrap()))
}

#[test]
fn a_single_sqlite_node_keeps_its_keys_in_files() {
    let dir = tempfile::tempdir().unwrap();
    crate::keyring::create_pair(dir.path(), DEFAULT_KEY, KeyKind::Rsa, now()).unwrap();
    let store = sqlite(dir.path());
    let opened = open_key_source(dir.path(), store.clone(), false, None, now()).unwrap();
    assert!(opened.keys.signing.contains_key(DEFAULT_KEY));
    assert!(store.list_keys().unwrap().is_empty(), "nothing copied");
    assert!(!keys_in_store(store.as_ref(), false).unwrap());
    assert!(keys_in_store(store.as_ref(), true).unwrap());
}

#[test]
fn a_shared_store_is_seeded_once_from_the_first_node_and_needs_the_master_key() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    crate::keyring::create_pair(a.path(), DEFAULT_KEY, KeyKind::Rsa, now()).unwrap();
    crate::keyring::create_pair(b.path(), DEFAULT_KEY, KeyKind::Rsa, now()).unwrap();
    let store = sqlite(a.path());

    let err = open_key_source(a.path(), store.clone(), true, None, now())
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("STS_MASTER_KEY_FILE"), "{err}");
    assert!(store.list_keys().unwrap().is_empty());

    let m = master();
    let on_a = open_key_source(a.path(), store.clone(), true, m.clone(), now()).unwrap();
    let files_a = Keyring::load(a.path()).unwrap();
    assert_eq!(
        on_a.keys.signing[DEFAULT_KEY].cert_pem(),
        files_a.signing[DEFAULT_KEY].cert_pem()
    );
    // Stored wrapped: the PEM of the private key is nowhere in the row.
    let row = store.get_key(DEFAULT_KEY).unwrap().unwrap();
    let blob = row.wrapped_key.unwrap();
    let pem = files_a.signing[DEFAULT_KEY].key_pem().expose();
    assert!(!blob.windows(32).any(|w| pem.windows(32).any(|p| p == w)));
    assert_eq!(row.kind, "RSA");

    // Node B finds keys in the store: it uses them, not its own keys/.
    let on_b = open_key_source(b.path(), store.clone(), true, m.clone(), now()).unwrap();
    assert_eq!(
        on_b.keys.signing[DEFAULT_KEY].cert_pem(),
        files_a.signing[DEFAULT_KEY].cert_pem()
    );

    // A node without the master key refuses to start on a store holding wrapped keys, SQLite
    // or not; one with another master key fails with both key ids named.
    for shared in [true, false] {
        let err = open_key_source(b.path(), store.clone(), shared, None, now())
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("STS_MASTER_KEY_FILE"), "{err}");
    }
    let other = master();
    let err = open_key_source(b.path(), store.clone(), true, other.clone(), now())
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains(&m.unwrap().id_hex()) && err.contains(&other.unwrap().id_hex()),
        "{err}"
    );
}

#[test]
fn an_empty_shared_store_without_keys_dir_gets_new_default_keys() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite(dir.path());
    let opened = open_key_source(dir.path(), store.clone(), true, master(), now()).unwrap();
    assert_eq!(opened.keys.signing[DEFAULT_KEY].kind(), KeyKind::Rsa);
    assert_eq!(opened.keys.signing[DEFAULT_EC_KEY].kind(), KeyKind::Ec);
    assert!(!dir.path().join("keys").exists(), "no private key on disk");
}

#[test]
fn rotate_create_and_import_in_the_store_change_the_stamp() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite(dir.path());
    let m = master();
    let opened = open_key_source(dir.path(), store.clone(), true, m.clone(), now()).unwrap();
    let before = opened.keys.signing[DEFAULT_KEY].clone();
    let source = opened.source;
    assert_eq!(source.stamp(), opened.stamp);

    let m = m.unwrap();
    assert_eq!(
        rotate(store.as_ref(), &m, DEFAULT_KEY, now()).unwrap(),
        KeyKind::Rsa
    );
    let stamp = source.stamp();
    assert_ne!(stamp, opened.stamp);
    let ring = source.load().unwrap();
    let after = ring.signing[DEFAULT_KEY].clone();
    assert_ne!(after.cert_pem(), before.cert_pem());
    assert_eq!(after.previous().unwrap().pem(), before.cert_pem());
    assert_eq!(ring.signing[DEFAULT_EC_KEY].previous().map(|_| ()), None);

    assert!(create_pair(store.as_ref(), &m, "extra", KeyKind::Ec, now()).unwrap());
    assert!(!create_pair(store.as_ref(), &m, "extra", KeyKind::Ec, now()).unwrap());
    assert!(create_pair(store.as_ref(), &m, "../bad", KeyKind::Ec, now()).is_err());
    import_certificate(store.as_ref(), "rp", before.cert_pem(), now()).unwrap();
    assert!(import_certificate(store.as_ref(), "rp", before.cert_pem(), now()).is_err());
    assert!(import_certificate(store.as_ref(), "rp2", b"not pem", now()).is_err());
    let err = rotate(store.as_ref(), &m, "rp", now()).unwrap_err().to_string();
    assert!(err.contains("not a key pair"), "{err}");
    assert!(rotate(store.as_ref(), &m, "nobody", now()).is_err());
    assert_ne!(source.stamp(), stamp);
    let ring = source.load().unwrap();
    assert!(ring.signing.contains_key("extra"));
    assert!(ring.certificates.contains_key("rp") && !ring.signing.contains_key("rp"));
}

#[test]
fn a_wrapped_key_moved_to_another_alias_does_not_load() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite(dir.path());
    let m = master();
    let opened = open_key_source(dir.path(), store.clone(), true, m, now()).unwrap();
    let rsa = store.get_key(DEFAULT_KEY).unwrap().unwrap();
    let mut ec = store.get_key(DEFAULT_EC_KEY).unwrap().unwrap();
    let rev = ec.rev.clone();
    ec.wrapped_key = rsa.wrapped_key;
    ec.cert_pem = rsa.cert_pem;
    ec.rev = "moved".into();
    assert!(store.replace_key(&rev, &ec).unwrap());
    let err = opened.source.load().unwrap_err().to_string();
    assert!(err.contains("does not authenticate"), "{err}");
}

#[test]
fn nodes_starting_together_on_an_empty_postgres_store_agree_on_one_key_per_alias() {
    let pg = crate::store::testpg::TestPostgres::start();
    let url = pg.fresh_database();
    let m = master();
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    // One node brings keys/ files, the others none: whoever wins an alias, all agree.
    crate::keyring::create_pair(dirs[0].path(), DEFAULT_KEY, KeyKind::Rsa, now()).unwrap();
    let rings: Vec<Keyring> = std::thread::scope(|s| {
        let handles: Vec<_> = dirs
            .iter()
            .map(|d| {
                let (url, m) = (url.clone(), m.clone());
                s.spawn(move || {
                    let store = crate::store::open(&url).unwrap();
                    open_key_source(d.path(), store, true, m, now()).unwrap().keys
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for alias in [DEFAULT_KEY, DEFAULT_EC_KEY] {
        let first = rings[0].signing[alias].cert_pem();
        assert!(rings.iter().all(|r| r.signing[alias].cert_pem() == first), "{alias}");
    }
    let store = crate::store::open(&url).unwrap();
    assert_eq!(store.list_keys().unwrap().len(), 2);
    // The rotation one node makes is what every node's source reads next.
    let source = StoreKeys::new(store.clone(), m.clone());
    let before = source.stamp();
    rotate(store.as_ref(), m.as_deref().unwrap(), DEFAULT_EC_KEY, now()).unwrap();
    assert_ne!(source.stamp(), before);
    let ring = source.load().unwrap();
    assert_eq!(
        ring.signing[DEFAULT_EC_KEY].previous().unwrap().pem(),
        rings[0].signing[DEFAULT_EC_KEY].cert_pem()
    );
}

/// A store whose first `replace_key` loses to a rotation made by a node that still has only
/// the old master key (`rotate_with`).
struct RotatedMeanwhile {
    inner: Arc<dyn Store>,
    rotate_with: std::sync::Mutex<Option<Arc<MasterKey>>>,
}

impl KeyStore for RotatedMeanwhile {
    fn insert_key(&self, r: &KeyRecord) -> Result<bool, crate::store::StoreError> {
        self.inner.insert_key(r)
    }
    fn get_key(&self, alias: &str) -> Result<Option<KeyRecord>, crate::store::StoreError> {
        self.inner.get_key(alias)
    }
    fn list_keys(&self) -> Result<Vec<KeyRecord>, crate::store::StoreError> {
        self.inner.list_keys()
    }
    fn replace_key(&self, expected_rev: &str, r: &KeyRecord) -> Result<bool, crate::store::StoreError> {
        let other_node = self.rotate_with.lock().unwrap().take();
        if let Some(m) = other_node {
            rotate(self.inner.as_ref(), &m, &r.alias, now()).unwrap();
        }
        self.inner.replace_key(expected_rev, r)
    }
    fn delete_key(&self, alias: &str) -> Result<bool, crate::store::StoreError> {
        self.inner.delete_key(alias)
    }
    fn key_revisions(&self) -> Result<Vec<(String, String)>, crate::store::StoreError> {
        self.inner.key_revisions()
    }
}

fn rewrapped(store: &dyn KeyStore, master: &MasterKey) -> Rewrapped {
    let mut out = Rewrapped::default();
    rewrap_keys(store, master, now(), &mut out).unwrap();
    out
}

#[test]
fn rewrap_moves_every_private_key_to_the_current_master_key_and_retries_a_lost_race() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite(dir.path());
    let old = Arc::new(MasterKey::generate().unwrap());
    open_key_source(dir.path(), store.clone(), true, Some(old.clone()), now()).unwrap();
    let first_rsa = store.get_key(DEFAULT_KEY).unwrap().unwrap();
    import_certificate(store.as_ref(), "rp", &first_rsa.cert_pem, now()).unwrap();
    let new_bytes = [0x5b; 32];
    let new = Arc::new(MasterKey::from_bytes(&new_bytes).with_previous(&old));

    // The first write loses to a rotation on a node that still has only the old key: the
    // rotated row (wrapped with the old key) is read again and rewrapped.
    let racing = RotatedMeanwhile {
        inner: store.clone(),
        rotate_with: std::sync::Mutex::new(Some(old.clone())),
    };
    let done = rewrapped(&racing, &new);
    assert_eq!(done, Rewrapped { rewrapped: 2, current: 0, failed: vec![] });
    assert!(racing.rotate_with.lock().unwrap().is_none(), "the race happened");
    for r in store.list_keys().unwrap() {
        match &r.wrapped_key {
            Some(blob) => assert_eq!(
                crate::crypto::wrap::blob_key_id(blob),
                Some(new.id_hex()),
                "{}",
                r.alias
            ),
            None => assert_eq!(r.alias, "rp"),
        }
    }
    // The rotation made meanwhile is kept (its previous certificate too), and the new key
    // alone opens everything; the old one alone no longer does, and says which key it lacks.
    let rotated = store.get_key(first_rsa.alias.as_str()).unwrap().unwrap();
    assert_ne!(rotated.cert_pem, first_rsa.cert_pem);
    assert_eq!(rotated.previous_cert_pem.as_ref(), Some(&first_rsa.cert_pem));
    let new_only = Arc::new(MasterKey::from_bytes(&new_bytes));
    let ring = StoreKeys::new(store.clone(), Some(new_only.clone())).load().unwrap();
    assert_eq!(ring.signing[DEFAULT_KEY].cert_pem(), rotated.cert_pem.as_slice());
    check_opens(store.as_ref(), &new_only).unwrap();
    let err = check_opens(store.as_ref(), &old).unwrap_err().to_string();
    assert!(err.contains(&new.id_hex()) && err.contains(&old.id_hex()), "{err}");

    // Idempotent.
    let again = rewrapped(store.as_ref(), &new);
    assert_eq!(again, Rewrapped { rewrapped: 0, current: 2, failed: vec![] });

    // A key no key of the file opens is reported by alias and left as it was.
    let stranger = MasterKey::generate().unwrap();
    assert!(create_pair(store.as_ref(), &stranger, "lost", KeyKind::Ec, now()).unwrap());
    let lost = store.get_key("lost").unwrap().unwrap();
    let done = rewrapped(store.as_ref(), &new);
    assert_eq!((done.rewrapped, done.current), (0, 2));
    let [why] = done.failed.as_slice() else {
        panic!("{:?}", done.failed)
    };
    assert!(why.contains("`lost`") && why.contains(&stranger.id_hex()), "{why}");
    assert_eq!(store.get_key("lost").unwrap().unwrap(), lost);
}

#[test]
fn a_master_key_file_read_again_is_taken_only_if_it_opens_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite(dir.path());
    let old = Arc::new(MasterKey::from_bytes(&[0xa0; 32]));
    open_key_source(dir.path(), store.clone(), true, Some(old.clone()), now()).unwrap();
    let holder = StoreKeys::new(store.clone(), Some(old.clone()));
    let file = dir.path().join("master.key");
    let write = |m: &MasterKey| {
        crate::fs::write_private(&file, m.to_file_content().expose().as_bytes()).unwrap()
    };
    let old_ids = old.ids_hex();

    // Only the new key: it does not open the stored keys; nothing changes.
    write(&MasterKey::from_bytes(&[0xb0; 32]));
    let err = reload_master_key(&old, &file, store.as_ref())
        .unwrap_err()
        .to_string();
    assert!(err.contains(&old_ids[0]), "{err}");
    assert_eq!(old.ids_hex(), old_ids);
    // A file that does not load: nothing changes.
    std::fs::write(&file, "not a key\n").unwrap();
    assert!(reload_master_key(&old, &file, store.as_ref()).is_err());
    assert!(reload_master_key(&old, &dir.path().join("gone"), store.as_ref()).is_err());
    assert_eq!(old.ids_hex(), old_ids);

    // New first, old second: taken, by every holder; a second read changes nothing.
    write(&MasterKey::from_bytes(&[0xb0; 32]).with_previous(&MasterKey::from_bytes(&[0xa0; 32])));
    assert!(reload_master_key(&old, &file, store.as_ref()).unwrap());
    let new_id = MasterKey::from_bytes(&[0xb0; 32]).id_hex();
    assert_eq!(old.ids_hex(), [new_id.clone(), old_ids[0].clone()]);
    assert!(!reload_master_key(&old, &file, store.as_ref()).unwrap());
    // What this node writes now is wrapped with the new key, and its source still loads.
    assert!(create_pair(store.as_ref(), &old, "after", KeyKind::Ec, now()).unwrap());
    let blob = store.get_key("after").unwrap().unwrap().wrapped_key.unwrap();
    assert_eq!(crate::crypto::wrap::blob_key_id(&blob), Some(new_id));
    assert!(holder.load().unwrap().signing.contains_key("after"));
}

/// A master key file that opens every private key but lacks the key users' digest secrets
/// name is refused, on SIGHUP (the keys in use stay) as at a start, naming those users.
#[test]
fn a_master_key_file_that_cannot_open_digest_secrets_is_refused() {
    use crate::identity::stored::StoredUsers;
    use crate::identity::{User, UserStore};
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite(dir.path());
    let old = Arc::new(MasterKey::from_bytes(&[0xa1; 32]));
    open_key_source(dir.path(), store.clone(), true, Some(old.clone()), now()).unwrap();
    let users = StoredUsers::new(store.clone(), Some(old.clone()));
    for n in 0..7 {
        users
            .add(User {
                username: format!("user{n}"),
                realm: "/".into(),
                password_hash: Secret::new("$argon2id$v=19$stub".into()),
                digest_secret: (n != 3).then(|| Secret::new(format!("pw{n}"))),
                attributes: Default::default(),
                disabled: false,
                admin: false,
            })
            .unwrap();
    }
    check_opens(store.as_ref(), &old).unwrap();
    // The private keys move to the new key; the users' secrets stay wrapped with the old.
    let new = MasterKey::from_bytes(&[0xb1; 32]);
    let new_id = new.id_hex();
    let both = MasterKey::from_bytes(&[0xb1; 32]).with_previous(&old);
    rewrapped(store.as_ref(), &both);
    let only_new = MasterKey::from_bytes(&[0xb1; 32]);
    assert!(StoreKeys::new(store.clone(), Some(Arc::new(only_new))).load().is_ok());

    let err = check_opens(store.as_ref(), &new).unwrap_err().to_string();
    assert!(err.contains("6 user digest secret(s) are wrapped"), "{err}");
    assert!(err.contains("`user0` in realm `/`") && err.contains(&old.id_hex()), "{err}");
    assert!(!err.contains("`user3`") && err.contains("and 1 more"), "{err}");
    assert!(err.contains(&new_id), "names the ids the file holds: {err}");

    let file = dir.path().join("master.key");
    crate::fs::write_private(&file, new.to_file_content().expose().as_bytes()).unwrap();
    let old_ids = old.ids_hex();
    let err = reload_master_key(&old, &file, store.as_ref())
        .unwrap_err()
        .to_string();
    assert!(err.contains("`user0`"), "{err}");
    assert_eq!(old.ids_hex(), old_ids, "the keys in use stay");
    assert_eq!(
        users.find("/", "user0").unwrap().unwrap().digest_secret.unwrap().expose(),
        "pw0"
    );
    // With the old key second, it is taken.
    crate::fs::write_private(&file, both.to_file_content().expose().as_bytes()).unwrap();
    assert!(reload_master_key(&old, &file, store.as_ref()).unwrap());
    assert_eq!(old.ids_hex(), [new_id, old_ids[0].clone()]);
}
