//! Per-node state kept in a shared PostgreSQL store, shown with two in-process nodes (each its
//! own data directory, one store, one master key): a PasswordDigest nonce accepted by one is a
//! replay on the other; failed passwords spread over both lock the account on both; a user
//! disabled through one is refused by the other at its next sign-in; the users came from the
//! first node's users.json, their digest secret wrapped at rest.

use std::path::{Path, PathBuf};

use crate::common::*;

/// A master key file as `sts keys master-key generate` writes it.
fn master_key(dir: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt as _;
    let file = dir.join("master.key");
    let key = sts::crypto::MasterKey::generate().unwrap();
    std::fs::write(&file, key.to_file_content().expose()).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    file
}

fn pg_node(url: &str, master: &Path) -> TestServer {
    let (url, master) = (url.to_owned(), master.to_owned());
    start_with(Opts {
        configure: Some(Box::new(move |cfg: &mut sts::config::Config| {
            cfg.store_url = Some(url);
            cfg.master_key_file = Some(master);
        })),
        ..Opts::default()
    })
}

fn soap_from(s: &TestServer, from: &str, security: &str) -> Reply {
    s.post_from(
        from,
        &format!("/sts/{INSTANCE}"),
        &[("Content-Type", "text/xml"), ("SOAPAction", ISSUE_ACTION)],
        envelope(SOAP11, security, RST_ISSUE),
    )
}

#[test]
fn two_nodes_on_postgres_share_nonces_lockouts_and_users() {
    let url = sts::store::testpg::TestPostgres::shared().fresh_schema();
    let keys = tempfile::tempdir().unwrap();
    let master = master_key(keys.path());
    let a = pg_node(&url, &master);
    let b = pg_node(&url, &master);

    // A nonce accepted on A is a replay on B.
    let digest = username_digest("alice", "s3cret");
    let first = soap_from(&a, "127.0.0.1", &digest);
    assert_eq!(first.status, 200, "{}", first.body);
    let again = soap_from(&b, "127.0.0.1", &digest);
    assert_eq!(
        again.fault_code(),
        "wst:FailedAuthentication",
        "{}",
        again.body
    );
    assert!(
        again.body.contains("nonce was already used"),
        "{}",
        again.body
    );
    // alice came from A's users.json; her digest secret is in the store, wrapped.
    let store = sts::store::open(&url).unwrap();
    let row = store.get_user("/", "alice").unwrap().unwrap();
    let blob = row.digest_secret.unwrap();
    assert!(!blob.windows(6).any(|w| w == b"s3cret"), "stored in clear");

    // Wrong passwords from one address, spread over both nodes: five (the default threshold)
    // lock demo from there on both; elsewhere demo still signs in.
    for i in 0..5 {
        let node = if i % 2 == 0 { &a } else { &b };
        let r = soap_from(node, "127.0.0.2", &username_text("demo", "guess"));
        assert_eq!(r.fault_code(), "wst:FailedAuthentication", "{}", r.body);
    }
    for node in [&a, &b] {
        let locked = soap_from(node, "127.0.0.2", &username_text("demo", DEMO_PASSWORD));
        assert_eq!(
            locked.fault_code(),
            "wst:FailedAuthentication",
            "{}",
            locked.body
        );
        let elsewhere = soap_from(node, "127.0.0.1", &username_text("demo", DEMO_PASSWORD));
        assert_eq!(elsewhere.status, 200, "{}", elsewhere.body);
    }

    // alice disabled through A's user admin: B refuses her next sign-in, no reload needed.
    let admin = a.login("amadmin", ADMIN_PASSWORD);
    let r = a.request(
        "PUT",
        "/json/users/alice",
        &[
            ("iPlanetDirectoryPro", &admin),
            ("Content-Type", "application/json"),
        ],
        r#"{"inetUserStatus": "Inactive"}"#,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let refused = soap_from(&b, "127.0.0.1", &username_digest("alice", "s3cret"));
    assert_eq!(
        refused.fault_code(),
        "wst:FailedAuthentication",
        "{}",
        refused.body
    );
    // B lists the same users (from the store, not its own users.json).
    let admin_b = b.login("amadmin", ADMIN_PASSWORD);
    let listed = b.request(
        "GET",
        "/json/users?_queryFilter=true",
        &[("iPlanetDirectoryPro", &admin_b)],
        "",
    );
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert!(listed.body.contains("\"Inactive\""), "{}", listed.body);
}
