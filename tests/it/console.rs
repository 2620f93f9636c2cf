//! The admin console in a real browser: headless Chromium, driven by selenium from
//! `tests/peers/console.py`, against a real server on a free port. The script walks every
//! page (sign in, instances, tokens, clients, keys, users, status, sign out), checks each
//! result in the browser and over the APIs, and saves a screenshot of each page under the
//! output folder printed here (under `target/`). It fails on any browser console error.

use std::process::Command;

use serde_json::json;

use crate::common::*;

/// A realm `other` with its own administrator, an OAuth client and a REST instance, and a
/// client of the top-level realm: what a realm administrator must not see.
fn other_realm(s: &TestServer, admin: &str) {
    let users = sts::identity::FileUserStore::open(&s.dir.path().join("users.json")).unwrap();
    users.add_realm("other").unwrap();
    users
        .add(sts::identity::User {
            username: "realmadmin".into(),
            realm: "other".into(),
            password_hash: sts::identity::hash_password("realm-pw-1").unwrap(),
            digest_secret: None,
            attributes: Default::default(),
            disabled: false,
            admin: true,
        })
        .unwrap();
    for (path, id) in [
        ("/sts-clients?_action=create", "top-level-client"),
        (
            "/sts-clients/realms/root/realms/other?_action=create",
            "other-realm-client",
        ),
    ] {
        let r = s.request(
            "POST",
            path,
            &[
                ("iPlanetDirectoryPro", admin),
                ("Content-Type", "application/json"),
            ],
            &json!({"client_id": id}).to_string(),
        );
        assert_eq!(r.status, 201, "{}", r.body);
    }
}

#[test]
fn the_console_in_headless_chromium() {
    let s = start();
    let admin = s.login("amadmin", ADMIN_PASSWORD);
    other_realm(&s, &admin);
    // Screenshots stay after the run, under target/ (printed for whoever reads the log).
    let target = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target");
    std::fs::create_dir_all(&target).unwrap();
    let out = tempfile::Builder::new()
        .prefix("console-screenshots-")
        .tempdir_in(&target)
        .unwrap()
        .keep();
    println!("console screenshots: {}", out.display());
    let (ok, log) = run(Command::new("python3")
        .arg(peers_dir().join("console.py"))
        .arg(&s.base)
        .arg(ADMIN_PASSWORD)
        .arg(DEMO_PASSWORD)
        .arg(&out));
    println!("{log}");
    assert!(
        ok,
        "console.py (needs chromium, chromium-driver and selenium: scripts/deps.sh test): {log}"
    );
    for page in [
        "login",
        "instances",
        "instance-form",
        "instance",
        "stale-edit",
        "tokens",
        "clients",
        "keys",
        "users",
        "status",
        "realm-admin",
    ] {
        let shot = out.join(format!("{page}.png"));
        assert!(shot.is_file(), "no screenshot {}", shot.display());
    }
}
