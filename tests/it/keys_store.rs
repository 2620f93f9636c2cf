//! Signing keys kept in the store, wrapped with the master key: `sts keys rotate` (the CLI, as
//! an operator runs it on any node) reaches the running server through the store, tokens signed
//! before still validate, and a node without the master key refuses to start.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use serde_json::{Value, json};

use crate::common::*;
use crate::rotation::wait_for_jwks;

fn sts_cmd(dir: &Path, store_url: &str, master: Option<&Path>) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_sts"));
    for (k, _) in std::env::vars() {
        if k.starts_with("STS_") {
            c.env_remove(k);
        }
    }
    c.arg("--data-dir").arg(dir).env("STS_STORE_URL", store_url);
    if let Some(m) = master {
        c.env("STS_MASTER_KEY_FILE", m);
    }
    c
}

/// A master key file made with `sts keys master-key generate`, as an operator makes it.
fn generate_master_key(dir: &Path) -> PathBuf {
    let file = dir.join("master.key");
    let (ok, out) = run(sts_cmd(dir, "sqlite://unused.db", None)
        .args(["keys", "master-key", "generate"])
        .arg(&file));
    assert!(ok, "{out}");
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(&file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let (ok, again) = run(sts_cmd(dir, "sqlite://unused.db", None)
        .args(["keys", "master-key", "generate"])
        .arg(&file));
    assert!(!ok, "an existing master key is never replaced: {again}");
    let (ok, id) = run(sts_cmd(dir, "sqlite://unused.db", None)
        .args(["keys", "master-key", "id"])
        .arg(&file));
    // One key: its id alone, as `generate` named it.
    let id = id.trim();
    assert!(ok && out.contains(id), "{out} / {id}");
    assert!(
        id.len() == 16 && id.chars().all(|c| c.is_ascii_hexdigit()),
        "a bare id: {id}"
    );
    file
}

/// One node on `store_url` (a shared PostgreSQL store, or SQLite whose `keys` table was
/// seeded): rotation from the CLI, old tokens still valid, no start without the master key.
fn rotate_through_the_store(store_url: Option<String>) {
    let master: Arc<std::sync::Mutex<Option<(PathBuf, String)>>> = Default::default();
    let seen = master.clone();
    let s = start_with(Opts {
        configure: Some(Box::new(move |cfg: &mut sts::config::Config| {
            let file = generate_master_key(&cfg.data_dir);
            cfg.master_key_file = Some(file.clone());
            let url = match store_url {
                Some(u) => u,
                None => {
                    // SQLite: keys go to the store only when its table holds some; seed it
                    // as a migration would.
                    let url = cfg.store_url();
                    let store = sts::store::open(&url).unwrap();
                    let key = sts::crypto::MasterKey::load(&file).unwrap();
                    let n = sts::datadir::store_keys::import_dir(
                        &cfg.data_dir,
                        store.as_ref(),
                        &key,
                        wall_clock(),
                    )
                    .unwrap();
                    assert_eq!(n, 2);
                    url
                }
            };
            cfg.store_url = Some(url.clone());
            *seen.lock().unwrap() = Some((file, url));
        })),
        ..Opts::default()
    });
    let (master_file, url) = master.lock().unwrap().clone().unwrap();
    let dir = s.dir.path();
    let store = sts::store::open(&url).unwrap();
    let stored_cert = || {
        store
            .get_key("sts-signing")
            .unwrap()
            .expect("the signing key is in the store")
            .cert_pem
    };
    let first_cert = stored_cert();
    // The store holds what keys/ held (copied on the first start of a shared store).
    assert_eq!(
        first_cert,
        std::fs::read(dir.join("keys/sts-signing.crt.pem")).unwrap()
    );
    // From here on keys/ is not read: remove it, private keys included.
    std::fs::remove_dir_all(dir.join("keys")).unwrap();

    let admin = s.login("amadmin", ADMIN_PASSWORD);
    let r = publish(&s, &admin, "rest", &rest_instance("stored-keys", false));
    assert_eq!(r.status, 201, "{}", r.body);
    let translate = |out: Value| {
        issued(&call(
            &s,
            &admin,
            "stored-keys",
            "translate",
            &username_to(out),
        ))
    };
    let validate = |state: Value| {
        let r = call(
            &s,
            &admin,
            "stored-keys",
            "validate",
            &json!({ "validated_token_state": state }),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        r.json()["token_valid"].as_bool().unwrap()
    };
    let saml_out = json!({"token_type": "SAML2", "subject_confirmation": "BEARER"});
    let saml_state = |t: &str| json!({"token_type": "SAML2", "saml2_token": t});
    let jwt_state = |t: &str| json!({"token_type": "OPENIDCONNECT", "oidc_id_token": t});
    let old_saml = translate(saml_out.clone());
    let old_jwt = translate(oidc_out("1"));
    let cert_file = dir.join("signing.crt.pem");
    std::fs::write(&cert_file, &first_cert).unwrap();
    let (ok, out) = xmlsec1_verify(&old_saml, &cert_file);
    assert!(ok, "signed with the stored key: {out}");
    let old_kid = wait_for_jwks(&s, 1)[0]["kid"].clone();

    // Without the master key the CLI cannot rotate, and says why.
    let (ok, out) = run(sts_cmd(dir, &url, None).args(["keys", "rotate", "sts-signing"]));
    assert!(!ok && out.contains("STS_MASTER_KEY_FILE"), "{out}");
    assert_eq!(stored_cert(), first_cert);

    let (ok, out) =
        run(sts_cmd(dir, &url, Some(&master_file)).args(["keys", "rotate", "sts-signing"]));
    assert!(ok && out.contains("in the store"), "{out}");
    let new_cert = stored_cert();
    assert_ne!(new_cert, first_cert);
    let (ok, out) = run(sts_cmd(dir, &url, None).args(["keys", "list"]));
    assert!(ok && out.contains("key pair (rotated)"), "{out}");

    // The running node uses the new key within its poll; the JWK set holds both.
    let keys = wait_for_jwks(&s, 2);
    assert!(keys.iter().any(|k| k["kid"] == old_kid), "{keys:?}");
    let new_saml = translate(saml_out);
    std::fs::write(&cert_file, &new_cert).unwrap();
    let (ok, out) = xmlsec1_verify(&new_saml, &cert_file);
    assert!(ok, "signed with the rotated key: {out}");
    assert!(validate(saml_state(&old_saml)), "the old assertion");
    assert!(validate(saml_state(&new_saml)));
    assert!(validate(jwt_state(&old_jwt)), "the old id_token");
    assert!(validate(jwt_state(&translate(oidc_out("2")))));

    // A node without the master key refuses to start on this store, and says why.
    let cfg = sts::config::Config {
        data_dir: dir.to_owned(),
        store_url: Some(url.clone()),
        ..Default::default()
    };
    let err = sts::build_state(&cfg, Arc::new(sts::clock::SystemClock))
        .err()
        .expect("started without the master key")
        .to_string();
    assert!(err.contains("STS_MASTER_KEY_FILE"), "{err}");
}

#[test]
fn keys_seeded_into_a_sqlite_store_rotate_from_the_cli() {
    rotate_through_the_store(None);
}

#[test]
fn keys_in_a_postgres_store_rotate_from_the_cli() {
    let pg = sts::store::testpg::TestPostgres::start();
    rotate_through_the_store(Some(pg.url()));
}
