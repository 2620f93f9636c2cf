//! `sts keys rotate` run once against a three-node cluster's store: every node signs with the
//! new key at once (by notification: the fallback poll is longer than the test), and tokens
//! signed with the old key still validate on another node.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::*;

const NO_POLL: Duration = Duration::from_secs(600);

#[test]
fn a_rotation_is_used_by_every_node_and_old_tokens_still_validate() {
    let c = Cluster::start(3, NO_POLL);
    let (a, b, cc) = (c.node(0), c.node(1), c.node(2));
    let store = c.store();
    let stored_cert = || store.get_key("sts-signing").unwrap().unwrap().cert_pem;
    let files = tempfile::tempdir().unwrap();
    let write = |name: &str, pem: &[u8]| {
        let p = files.path().join(name);
        std::fs::write(&p, pem).unwrap();
        p
    };
    let old_cert = write("old.crt.pem", &stored_cert());
    let issue = |s: &TestServer| {
        let r = issue_at(s, PERSIST, Duration::from_secs(60)).unwrap();
        assert_eq!(r.status, 200, "{}", r.body);
        r.assertion_text()
    };
    let old_token = issue(b);
    assert!(
        xmlsec1_verify(&old_token, &old_cert).0,
        "signed with the stored key"
    );

    // As an operator runs it, from any machine with the store URL and the master key.
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sts"));
    for (k, _) in std::env::vars() {
        if k.starts_with("STS_") {
            cmd.env_remove(k);
        }
    }
    let (ok, out) = run(cmd
        .arg("--data-dir")
        .arg(files.path())
        .args(["keys", "rotate", "sts-signing"])
        .env("STS_STORE_URL", &c.url)
        .env("STS_MASTER_KEY_FILE", c.master_key()));
    assert!(ok, "{out}");
    let t0 = Instant::now();
    let new_cert = write("new.crt.pem", &stored_cert());
    let mut attempts = 0;
    for (name, node) in [("A", a), ("B", b), ("C", cc)] {
        wait_until(&format!("{name} signs with the new key"), || {
            attempts += 1;
            xmlsec1_verify(&issue(node), &new_cert).0
        });
    }
    // Each attempt is a whole Issue (an argon2id sign-in) and an xmlsec1 run.
    println!(
        "rotate -> all three nodes sign with the new key: {:?} ({attempts} Issue attempts)",
        t0.elapsed()
    );
    let validate = |s: &TestServer, token: &str| {
        status(&s.post(
            &format!("/sts/{PERSIST}"),
            &[
                ("Content-Type", "text/xml"),
                (
                    "SOAPAction",
                    "http://docs.oasis-open.org/ws-sx/ws-trust/200512/RST/Validate",
                ),
            ],
            target_envelope("Validate", &username_text("alice", "s3cret"), token),
        ))
        .0
    };
    assert!(validate(cc, &old_token), "the old token on C");
    assert!(validate(cc, &issue(a)), "a new token on C");
    assert!(!xmlsec1_verify(&issue(b), &old_cert).0);
}
