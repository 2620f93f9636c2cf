//! Master-key rotation in a cluster, as README "Keys in a cluster" tells an operator to do it:
//! the new key second in every node's file, then first (a running node takes each on SIGHUP,
//! and shows the ids it holds as `sts_master_key_info`), `sts keys master-key rewrap`, then
//! the old key dropped from the files.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::*;

const NO_POLL: Duration = Duration::from_secs(600);

/// The key ids `sts keys master-key id FILE` prints: the current one alone on the first
/// line, then `<id> (previous)` lines.
fn ids(c: &Cluster, file: &Path) -> Vec<String> {
    let (ok, out) = run(c.sts().args(["keys", "master-key", "id"]).arg(file));
    assert!(ok, "{out}");
    out.lines()
        .enumerate()
        .map(|(i, line)| {
            let id = if i == 0 {
                line
            } else {
                line.strip_suffix(" (previous)")
                    .unwrap_or_else(|| panic!("{out}"))
            };
            assert!(
                id.len() == 16 && id.chars().all(|c| c.is_ascii_hexdigit()),
                "{out}"
            );
            id.to_owned()
        })
        .collect()
}

/// The master key ids a node shows on `/metrics` (`sts_master_key_info`): (id, role).
fn shown_ids(s: &TestServer) -> Vec<(String, String)> {
    let r = s.get("/metrics");
    assert_eq!(r.status, 200, "{}", r.body);
    let mut out: Vec<(String, String)> = r
        .body
        .lines()
        .filter_map(|l| l.strip_prefix("sts_master_key_info{id=\""))
        .map(|l| {
            let (id, rest) = l.split_once('"').unwrap();
            let role = rest.split('"').nth(1).unwrap();
            assert!(rest.ends_with("} 1"), "{l}");
            (id.to_owned(), role.to_owned())
        })
        .collect();
    out.sort_by(|a, b| a.1.cmp(&b.1));
    out
}

/// Sends SIGHUP to node `i`.
fn hangup(c: &Cluster, i: usize) {
    let pid = c.nodes[i].proc.as_ref().unwrap().pid().to_string();
    let (ok, out) = run(Command::new("kill").args(["-HUP", &pid]));
    assert!(ok, "{out}");
}

/// A master key file holding `keys` (the files `generate` wrote), in that order, mode 0600.
fn key_file(dir: &Path, name: &str, keys: &[&Path]) -> PathBuf {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let path = dir.join(name);
    let _ = std::fs::remove_file(&path);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .unwrap();
    for k in keys {
        f.write_all(&std::fs::read(k).unwrap()).unwrap();
        f.write_all(b"\n").unwrap();
    }
    path
}

/// The key id a wrapped blob names: its bytes 1..9, in hex.
fn blob_id(blob: &[u8]) -> String {
    blob[1..9].iter().map(|b| format!("{b:02x}")).collect()
}

/// The numbers of a `rewrap` output line: `<what>: N rewrapped, M already current`.
fn counts(out: &str, what: &str) -> (usize, usize) {
    let line = out
        .lines()
        .find(|l| l.starts_with(what))
        .unwrap_or_else(|| panic!("no `{what}` line: {out}"));
    let n: Vec<usize> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|s| s.parse().ok())
        .collect();
    (n[0], n[1])
}

fn issue_digest(s: &TestServer) -> Reply {
    s.post(
        &format!("/sts/{PERSIST}"),
        &[("Content-Type", "text/xml"), ("SOAPAction", ISSUE_ACTION)],
        envelope(SOAP11, &username_digest("alice", "s3cret"), RST_ISSUE),
    )
}

/// `sts serve` on the cluster's store with `master_key`, expected to refuse to start: its
/// output.
fn refused_start(c: &Cluster, master_key: &Path) -> String {
    let dir = bootstrapped_dir();
    let mut child = Command::new(env!("CARGO_BIN_EXE_sts"));
    for (k, _) in std::env::vars() {
        if k.starts_with("STS_") {
            child.env_remove(k);
        }
    }
    let mut child = child
        .current_dir(dir.path())
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .env("STS_STORE_URL", &c.url)
        .env("STS_MASTER_KEY_FILE", master_key)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if t0.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            panic!("a node with only the old master key started");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success());
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// In a new folder: `a.key`, a copy of the cluster's master key file (A), and `b.key`, a new
/// master key (B) made by `sts keys master-key generate`.
fn old_and_new_keys(c: &Cluster) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let secrets = tempfile::tempdir().unwrap();
    let key_a = secrets.path().join("a.key");
    std::fs::copy(c.master_key_file(), &key_a).unwrap();
    let key_b = secrets.path().join("b.key");
    let (ok, out) = run(c.sts().args(["keys", "master-key", "generate"]).arg(&key_b));
    assert!(ok, "{out}");
    (secrets, key_a, key_b)
}

#[test]
fn master_key_rotation_rewraps_the_store_and_nodes_with_only_the_new_key_serve() {
    let mut c = Cluster::start(1, NO_POLL);
    // The store holds the keys and alice's digest secret, wrapped with A.
    let (secrets, key_a, key_b) = old_and_new_keys(&c);
    let dir = secrets.path();
    let [a_id]: [String; 1] = ids(&c, &key_a).try_into().unwrap();
    let [b_id]: [String; 1] = ids(&c, &key_b).try_into().unwrap();
    assert_ne!(a_id, b_id);
    let store = c.store();
    let alice_blob = || {
        store
            .get_user("/", "alice")
            .unwrap()
            .unwrap()
            .digest_secret
            .expect("alice has a digest secret")
    };
    assert_eq!(blob_id(&alice_blob()), a_id);
    let wrapped_ids = || -> Vec<(String, String)> {
        store
            .list_keys()
            .unwrap()
            .into_iter()
            .filter_map(|r| r.wrapped_key.map(|b| (r.alias, blob_id(&b))))
            .collect()
    };
    assert!(wrapped_ids().len() >= 2);
    assert!(
        wrapped_ids().iter().all(|(_, id)| *id == a_id),
        "{:?}",
        wrapped_ids()
    );
    let signer = |s: &TestServer| {
        let r = issue_at(s, PERSIST, Duration::from_secs(60)).unwrap();
        assert_eq!(r.status, 200, "{}", r.body);
        text_of(&r.assertion_text(), "X509Certificate")
    };
    let first_signer = signer(c.node(0));

    let current = |id: &str| (id.to_owned(), "current".to_owned());
    let previous = |id: &str| (id.to_owned(), "previous".to_owned());
    assert_eq!(shown_ids(c.node(0)), [current(&a_id)]);

    // (a) A first, B second, in every file (here: the one file node 0 reads); the running
    // node takes it on SIGHUP, no restart, and shows both ids. It still wraps with A.
    let a_then_b = key_file(dir, "a-then-b.key", &[&key_a, &key_b]);
    std::fs::copy(&a_then_b, c.master_key_file()).unwrap();
    hangup(&c, 0);
    wait_until("node 0 shows B as a previous key", || {
        shown_ids(c.node(0)) == [current(&a_id), previous(&b_id)]
    });
    // (b) B first on a node that got there before node 0 (here: the CLI): what it wraps,
    // node 0 opens, since B is in its file already.
    let both = key_file(dir, "both.key", &[&key_b, &key_a]);
    assert_eq!(ids(&c, &both), [b_id.clone(), a_id.clone()]);
    let (ok, out) =
        run(c
            .sts()
            .env("STS_MASTER_KEY_FILE", &both)
            .args(["keys", "rotate", "sts-signing"]));
    assert!(ok, "{out}");
    let rotated: Vec<(String, String)> = wrapped_ids();
    assert!(
        rotated.contains(&("sts-signing".to_owned(), b_id.clone())),
        "{rotated:?}"
    );
    wait_until("node 0 signs with the key wrapped with B", || {
        signer(c.node(0)) != first_signer
    });
    assert_eq!(
        issue_digest(c.node(0)).status,
        200,
        "alice's A-wrapped digest secret"
    );
    // (b) then B first everywhere: node 0 takes it on SIGHUP, and shows it.
    std::fs::copy(&both, c.master_key_file()).unwrap();
    hangup(&c, 0);
    wait_until("node 0 shows B as its current key", || {
        shown_ids(c.node(0)) == [current(&b_id), previous(&a_id)]
    });

    // (c) rewrap, audited with counts only.
    let audit = dir.join("audit.log");
    let (ok, out) =
        run(c
            .sts()
            .env("STS_AUDIT_LOG", &audit)
            .args(["keys", "master-key", "rewrap"]));
    assert!(ok, "{out}");
    assert!(
        out.lines().next().is_some_and(|l| l
            .starts_with(&format!("wrapping with master key {b_id} "))
            && l.ends_with(&format!("previous keys: {a_id}"))),
        "says first which key it wraps with: {out}"
    );
    let wrapped = wrapped_ids().len();
    let (keys_done, keys_current) = counts(&out, "private keys");
    assert_eq!(
        (keys_done + keys_current, keys_current),
        (wrapped, 1),
        "{out}"
    );
    let (users_done, users_current) = counts(&out, "user digest secrets");
    assert!(users_done >= 1, "{out}");
    assert!(
        wrapped_ids().iter().all(|(_, id)| *id == b_id),
        "{:?}",
        wrapped_ids()
    );
    assert_eq!(blob_id(&alice_blob()), b_id);
    for u in store.list_users().unwrap() {
        if let Some(blob) = u.digest_secret {
            assert_eq!(blob_id(&blob), b_id, "{}", u.username);
        }
    }
    let trail = std::fs::read_to_string(&audit).unwrap();
    let event: serde_json::Value = trail
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|e| e["action"] == "master_key.rewrapped")
        .unwrap_or_else(|| panic!("{trail}"));
    assert_eq!(event["keys_rewrapped"], keys_done.to_string(), "{event}");
    assert_eq!(event["users_rewrapped"], users_done.to_string(), "{event}");
    assert_eq!(event["master_key_id"], b_id.as_str(), "{event}");
    for key in [&key_a, &key_b] {
        let secret = std::fs::read_to_string(key).unwrap();
        assert!(!trail.contains(secret.trim()) && !out.contains(secret.trim()));
    }

    // Idempotent: nothing left to do.
    let (ok, again) = run(c.sts().args(["keys", "master-key", "rewrap"]));
    assert!(ok, "{again}");
    assert_eq!(counts(&again, "private keys"), (0, wrapped), "{again}");
    assert_eq!(
        counts(&again, "user digest secrets"),
        (0, users_done + users_current),
        "{again}"
    );

    // (d) A node with only B signs and accepts alice's PasswordDigest.
    let only_b = key_file(dir, "only-b.key", &[&key_b]);
    let n = c.add_node(NO_POLL, &only_b);
    let r = issue_digest(c.node(n));
    assert_eq!(r.status, 200, "{}", r.body);
    let cert = dir.join("signing.crt.pem");
    std::fs::write(
        &cert,
        store.get_key("sts-signing").unwrap().unwrap().cert_pem,
    )
    .unwrap();
    let (ok, out) = xmlsec1_verify(&r.assertion_text(), &cert);
    assert!(ok, "signed on the node with only B: {out}");
    let validate = status(&c.node(n).post(
        &format!("/sts/{PERSIST}"),
        &[
            ("Content-Type", "text/xml"),
            (
                "SOAPAction",
                "http://docs.oasis-open.org/ws-sx/ws-trust/200512/RST/Validate",
            ),
        ],
        target_envelope(
            "Validate",
            &username_text("alice", "s3cret"),
            &r.assertion_text(),
        ),
    ));
    assert!(validate.0, "{}", validate.1);

    assert_eq!(shown_ids(c.node(n)), [current(&b_id)]);

    // A node with only A refuses to start, and names both keys.
    let err = refused_start(&c, &key_a);
    assert!(err.contains(&b_id) && err.contains(&a_id), "{err}");
    assert!(err.contains("STS_MASTER_KEY_FILE"), "{err}");

    // Node 0 logged its ids at start and on each SIGHUP, and never a key.
    let log = c.nodes[0].proc.take().unwrap().stop();
    let line = |what: &str| {
        log.lines()
            .find(|l| l.contains(what))
            .unwrap_or_else(|| panic!("no `{what}` line: {log}"))
            .to_owned()
    };
    assert!(line("master key ids at start").contains(&a_id), "{log}");
    let taken: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("SIGHUP: master key file read again, new keys taken"))
        .collect();
    assert_eq!(taken.len(), 2, "{log}");
    assert!(
        taken.iter().all(|l| l.contains(&a_id) && l.contains(&b_id)),
        "{log}"
    );
    for key in [&key_a, &key_b] {
        let secret = std::fs::read_to_string(key).unwrap();
        assert!(!log.contains(secret.trim()), "{log}");
    }
}

#[test]
fn master_key_rewrap_reports_every_row_it_cannot_open_and_leaves_them() {
    let c = Cluster::start(1, NO_POLL);
    let (secrets, key_a, key_b) = old_and_new_keys(&c);
    let dir = secrets.path();
    let store = c.store();
    let before = store.list_keys().unwrap();
    let alice = store.get_user("/", "alice").unwrap().unwrap();

    // The operator forgot A: every row is wrapped with it.
    let only_b = key_file(dir, "only-b.key", &[&key_b]);
    let (ok, out) =
        run(c
            .sts()
            .env("STS_MASTER_KEY_FILE", &only_b)
            .args(["keys", "master-key", "rewrap"]));
    assert!(!ok, "{out}");
    let a_id = ids(&c, &key_a).remove(0);
    for r in before.iter().filter(|r| r.wrapped_key.is_some()) {
        assert!(
            out.lines()
                .any(|l| l.contains(&format!("key `{}`", r.alias)) && l.contains(&a_id)),
            "{}: {out}",
            r.alias
        );
    }
    assert!(out.contains("user `alice` in realm `/`"), "{out}");
    assert_eq!(counts(&out, "private keys"), (0, 0), "{out}");
    assert_eq!(store.list_keys().unwrap(), before, "nothing changed");
    assert_eq!(store.get_user("/", "alice").unwrap().unwrap(), alice);
}
