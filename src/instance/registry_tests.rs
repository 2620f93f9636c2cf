//! The registry over a SQLite store, without HTTP: what the publish API and `sts instance`
//! both rely on. The clock is fixed, so stored records carry a known time.

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{Value, json};

use super::*;
use crate::instance::DefaultKeys;
use crate::store::Store;

const NOW_MS: i64 = 1_700_000_000_000;

struct Node {
    dir: tempfile::TempDir,
    store: Arc<dyn Store>,
}

impl Node {
    fn new() -> Node {
        let dir = tempfile::tempdir().unwrap();
        crate::datadir::bootstrap(
            dir.path(),
            Some("x".into()),
            Some("y".into()),
            crate::clock::Clock::now(&crate::clock::SystemClock),
        )
        .unwrap();
        let db = dir.path().join("sts.db");
        let store = crate::store::open(&format!("sqlite://{}", db.display())).unwrap();
        Node { dir, store }
    }

    /// A publisher of this node with `files` as its instance files.
    fn publisher(&self, files: Vec<(PathBuf, Kind, Value)>) -> Result<Publisher, String> {
        let instances: Arc<dyn InstanceStore> = self.store.clone();
        Publisher::new(
            instances,
            crate::datadir::load_keys(self.dir.path()).unwrap(),
            DefaultKeys {
                rsa: crate::datadir::DEFAULT_KEY.into(),
                ec: crate::datadir::DEFAULT_EC_KEY.into(),
            },
            Arc::new(Plugins::new()),
            InstanceFiles::in_data_dir(self.dir.path()),
            files,
            Box::new(|| NOW_MS),
        )
        .map_err(|(path, m)| format!("{}: {m}", path.display()))
    }
}

/// The demo SOAP instance at `element`, with a secret.
fn soap(element: &str) -> Value {
    let mut j = crate::datadir::demo_instance();
    j["deployment-config"]["deployment-url-element"] = element.into();
    j["saml2-config"]["saml2-keystore-password"] = "k1".into();
    j
}

#[test]
fn publish_read_update_delete_with_revisions_and_secrets_kept() {
    let node = Node::new();
    let p = node.publisher(Vec::new()).unwrap();
    let created = p.create(Kind::Soap, &soap("a")).unwrap();
    assert_eq!((created.id.as_str(), created.kind), ("a", Kind::Soap));
    assert!(
        created.config["saml2-config"]
            .get("saml2-keystore-password")
            .is_none()
    );
    assert!(p.instance("a").is_some());
    let rec = node.store.get_instance("a").unwrap().unwrap();
    assert_eq!(rec.updated_ms, NOW_MS);
    assert!(rec.config.contains("k1"), "the store keeps the secret");

    assert!(matches!(
        p.create(Kind::Soap, &soap("a")),
        Err(PublishError::Duplicate(id)) if id == "a"
    ));
    // A REST read of a SOAP instance finds nothing.
    let e = p.read(Kind::Rest, "a").unwrap_err();
    assert_eq!(e.to_string(), "no rest STS instance is published at `a`");

    // An update built from the redacted read keeps the secret; a stale revision is refused.
    let mut shown = p.read(Kind::Soap, "a").unwrap();
    shown.config["saml2-config"]["issuer-name"] = "idp-2".into();
    let e = p
        .update(Kind::Soap, "a", Some("not-the-rev"), &shown.config)
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "the instance `a` has changed since the revision in If-Match"
    );
    let updated = p
        .update(Kind::Soap, "a", Some(&shown.rev), &shown.config)
        .unwrap();
    assert_ne!(updated.rev, shown.rev);
    let rec = node.store.get_instance("a").unwrap().unwrap();
    assert!(rec.config.contains("k1") && rec.config.contains("idp-2"));
    // Moving an instance is a new publish, not an update.
    let e = p.update(Kind::Soap, "a", None, &soap("b")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid instance_state: deployment-config: the realm and url element name `b`, not `a`; publish a new instance to move it"
    );

    let deleted = p.delete(Kind::Soap, "a", Some("*")).unwrap();
    assert_eq!(deleted.rev, updated.rev);
    assert!(p.instance("a").is_none());
    assert!(matches!(
        p.delete(Kind::Soap, "a", None),
        Err(PublishError::NotFound { .. })
    ));
}

#[test]
fn an_invalid_state_whose_url_element_is_taken_says_both() {
    let node = Node::new();
    let p = node.publisher(Vec::new()).unwrap();
    p.create(Kind::Soap, &soap("a")).unwrap();
    let mut bad = soap("a");
    bad["issued-token-types"] = json!([]);
    let e = p.create(Kind::Soap, &bad).unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid instance_state: issued-token-types must not be empty; deployment-config.deployment-url-element: an STS instance is already published at `a`"
    );
}

#[test]
fn instance_files_are_listed_first_and_changed_only_by_editing_them() {
    let node = Node::new();
    let path = node.dir.path().join("instances/soap/f.json");
    let p = node
        .publisher(vec![(path.clone(), Kind::Soap, soap("f"))])
        .unwrap();
    p.create(Kind::Soap, &soap("api")).unwrap();
    let ids: Vec<String> = p
        .list(Kind::Soap)
        .unwrap()
        .into_iter()
        .map(|x| x.id)
        .collect();
    assert!(
        ids.starts_with(&["f".to_owned()]) && ids.contains(&"api".to_owned()),
        "{ids:?}"
    );
    let e = p.delete(Kind::Soap, "f", None).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "the instance `f` is defined by the file {}; edit or remove that file",
            path.display()
        )
    );
    assert!(matches!(
        p.create(Kind::Soap, &soap("f")),
        Err(PublishError::Duplicate(_))
    ));
    // A file that does not load stops the start, naming the file and every problem.
    let mut broken = soap("g");
    broken["saml2-config"]["saml2-signature-key-alias"] = "nope".into();
    let e = node
        .publisher(vec![(PathBuf::from("g.json"), Kind::Soap, broken)])
        .err()
        .unwrap();
    assert!(
        e.starts_with("g.json: saml2-config.saml2-signature-key-alias `nope`"),
        "{e}"
    );
}

/// Nodes sharing a store see each other's publishes once they poll.
#[test]
fn another_node_picks_up_a_publish_on_refresh() {
    let node = Node::new();
    let a = node.publisher(Vec::new()).unwrap();
    let b = node.publisher(Vec::new()).unwrap();
    a.create(Kind::Soap, &soap("shared")).unwrap();
    assert!(b.instance("shared").is_none());
    assert!(b.refresh().unwrap());
    assert!(b.instance("shared").is_some());
    assert!(!b.refresh().unwrap(), "nothing changed since");
}

#[test]
fn keys_in_the_store_are_reloaded_on_notice_and_on_poll() {
    use crate::datadir::store_keys;
    let node = Node::new();
    let master = Arc::new(crate::crypto::MasterKey::generate().unwrap());
    let now = crate::clock::Clock::now(&crate::clock::SystemClock);
    let opened = store_keys::open_key_source(
        node.dir.path(),
        node.store.clone(),
        true,
        Some(master.clone()),
        now,
    )
    .unwrap();
    let instances: Arc<dyn InstanceStore> = node.store.clone();
    let p = Publisher::new(
        instances,
        opened.keys,
        DefaultKeys {
            rsa: crate::datadir::DEFAULT_KEY.into(),
            ec: crate::datadir::DEFAULT_EC_KEY.into(),
        },
        Arc::new(Plugins::new()),
        InstanceFiles::in_data_dir(node.dir.path()),
        Vec::new(),
        Box::new(|| NOW_MS),
    )
    .unwrap()
    .watch_keys(opened.source, opened.stamp);
    p.create(Kind::Soap, &soap("signer")).unwrap();
    let signing_cert = |p: &Publisher| {
        let i = p.instance("signer").unwrap();
        i.saml_signing.as_ref().unwrap().key.cert_pem().to_vec()
    };
    let first = signing_cert(&p);
    // A notice without a change reads the same keys again.
    p.reload_keys().unwrap();
    assert_eq!(signing_cert(&p), first);
    assert!(!p.refresh().unwrap(), "nothing changed");

    // A rotation on another node: a change notice reloads at once...
    let rsa = crate::datadir::DEFAULT_KEY;
    store_keys::rotate(node.store.as_ref(), &master, rsa, now).unwrap();
    assert!(p.reload_keys().unwrap());
    let second = signing_cert(&p);
    assert_ne!(second, first);
    assert_eq!(
        p.instance("signer").unwrap().saml_signing.as_ref().unwrap().key.previous().unwrap().pem(),
        &first[..]
    );
    // ...and without one, the poll notices the new revision.
    store_keys::rotate(node.store.as_ref(), &master, rsa, now).unwrap();
    assert!(p.refresh().unwrap());
    assert_ne!(signing_cert(&p), second);
    assert!(!p.refresh().unwrap());
}
