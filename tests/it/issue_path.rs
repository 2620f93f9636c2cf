//! The issue path end to end: a successful request logs no error and a token that cannot
//! be stored is withheld.

use std::io::Read;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use crate::common::*;
use crate::rest::rest_instance;

const OP: &str = "https://op.example.com";
const OP_SECRET: &str = "an-op-shared-secret-of-32-bytes-or-more";

fn trusted_op() -> Value {
    json!([{"issuer": OP, "audience": ["sts"], "algorithms": ["HS256"], "client-secret": OP_SECRET}])
}

/// A persisting REST instance taking id_tokens of the test issuer.
fn federated_rest(element: &str) -> Value {
    let mut r = rest_instance(element, true);
    r["oidc-trusted-issuers"] = trusted_op();
    r["supported-token-transforms"] = json!([
        {"inputTokenType": "OPENIDCONNECT", "outputTokenType": "SAML2", "invalidateInterimOpenAMSession": true},
        {"inputTokenType": "USERNAME", "outputTokenType": "SAML2", "invalidateInterimOpenAMSession": true}
    ]);
    r
}

fn soap_issue(base: &str, element: &str, security: &str) -> reqwest::blocking::Response {
    reqwest::blocking::Client::new()
        .post(format!("{base}/sts/{element}"))
        .header("Content-Type", "text/xml; charset=utf-8")
        .header("SOAPAction", format!("\"{ISSUE_ACTION}\""))
        .body(envelope(SOAP11, security, RST_ISSUE))
        .send()
        .unwrap()
}

fn rest_translate(base: &str, element: &str, input: Value) -> reqwest::blocking::Response {
    reqwest::blocking::Client::new()
        .post(format!("{base}/rest-sts/{element}?_action=translate"))
        .header("Content-Type", "application/json")
        .body(
            json!({"input_token_state": input,
                   "output_token_state": {"token_type": "SAML2", "subject_confirmation": "BEARER"}})
            .to_string(),
        )
        .send()
        .unwrap()
}

fn stored_tokens(s: &TestServer) -> Vec<sts::store::TokenInfo> {
    s.store()
        .query_tokens(&sts::store::Filter::True, 100, None)
        .unwrap()
        .items
}

/// `sts serve` on a prepared data directory, its stderr (the log) collected.
struct LoggedServer {
    child: std::process::Child,
    base: String,
    stderr: std::thread::JoinHandle<String>,
    _dir: tempfile::TempDir,
}

impl LoggedServer {
    fn start(dir: tempfile::TempDir, env: &[(&str, &str)]) -> LoggedServer {
        use std::io::BufRead;
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_sts"));
        for (k, _) in std::env::vars() {
            if k.starts_with("STS_") {
                cmd.env_remove(k);
            }
        }
        let mut child = cmd
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir.path())
            .env("STS_LOG", "info")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut err = child.stderr.take().unwrap();
        let stderr = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = err.read_to_string(&mut s);
            s
        });
        let mut base = None;
        for line in std::io::BufReader::new(child.stdout.take().unwrap()).lines() {
            let line = line.unwrap();
            if let Some((_, url)) = line.split_once(" listening on ") {
                base = Some(url.trim().to_owned());
                break;
            }
        }
        LoggedServer {
            child,
            base: base.expect("the server printed its address"),
            stderr,
            _dir: dir,
        }
    }

    /// Stops the server (SIGTERM) and returns everything it logged.
    fn stop(mut self) -> String {
        let pid = self.child.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
                .success()
        );
        assert!(self.child.wait().unwrap().success());
        self.stderr.join().unwrap()
    }
}

fn prepared_dir(files: &[(&str, Vec<u8>)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    sts::datadir::bootstrap(
        dir.path(),
        Some(DEMO_PASSWORD.into()),
        Some(ADMIN_PASSWORD.into()),
    )
    .unwrap();
    for (name, bytes) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
    dir
}

#[test]
fn successful_persisting_requests_log_no_error() {
    let dir = prepared_dir(&[
        (
            "instances/soap/soap-p.json",
            serde_json::to_vec(&persisting_instance("soap-p", true)).unwrap(),
        ),
        (
            "instances/rest/rest-p.json",
            serde_json::to_vec(&federated_rest("rest-p")).unwrap(),
        ),
    ]);
    let s = LoggedServer::start(dir, &[("STS_REST_STS_CALLER", "anyone")]);
    let r = soap_issue(&s.base, "soap-p", &username_text("demo", DEMO_PASSWORD));
    assert_eq!(r.status().as_u16(), 200);
    let r = rest_translate(
        &s.base,
        "rest-p",
        json!({"token_type": "USERNAME", "username": "demo", "password": DEMO_PASSWORD}),
    );
    assert_eq!(r.status().as_u16(), 200);
    let log = s.stop();
    assert!(log.contains("issued"), "{log}");
    assert!(log.contains("translated USERNAME to SAML2"), "{log}");
    assert!(
        !log.lines().any(|l| l.contains("ERROR")),
        "a successful request logged an error:\n{log}"
    );
}

#[test]
fn a_token_that_cannot_be_stored_is_withheld() {
    let s = start_with(Opts {
        instances: vec![("soap-p.json".into(), persisting_instance("soap-p", true))],
        files: vec![(
            "instances/rest/rest-p.json".into(),
            serde_json::to_vec(&federated_rest("rest-p")).unwrap(),
        )],
        rest_sts_caller: Some(sts::config::RestCaller::Anyone),
        ..Default::default()
    });
    let ok = Reply::from(soap_issue(
        &s.base,
        "soap-p",
        &username_text("demo", DEMO_PASSWORD),
    ));
    assert_eq!(ok.status, 200, "{}", ok.body);
    // From now on every token insert fails, as on a full or broken disk.
    let db = rusqlite::Connection::open(s.dir.path().join("sts.db")).unwrap();
    db.busy_timeout(std::time::Duration::from_secs(30)).unwrap();
    db.execute_batch(
        "CREATE TRIGGER refuse_tokens BEFORE INSERT ON tokens BEGIN SELECT RAISE(ABORT, 'disk on fire'); END;",
    )
    .unwrap();
    let r = Reply::from(soap_issue(
        &s.base,
        "soap-p",
        &username_text("demo", DEMO_PASSWORD),
    ));
    assert_eq!(r.fault_code(), "wst:RequestFailed", "{}", r.body);
    assert!(!r.body.contains("Assertion"), "{}", r.body);
    assert!(!r.body.contains("disk on fire"), "{}", r.body);
    let r = Reply::from(rest_translate(
        &s.base,
        "rest-p",
        json!({"token_type": "USERNAME", "username": "demo", "password": DEMO_PASSWORD}),
    ));
    assert_eq!(r.status, 500, "{}", r.body);
    assert!(r.json().get("issued_token").is_none(), "{}", r.body);
    assert_eq!(stored_tokens(&s).len(), 1);
}
