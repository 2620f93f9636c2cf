//! The server's log and signals: JSON lines carrying the request id each response returns
//! (`log_format = "json"`), no secret in any line at `trace`, SIGHUP re-reading the `log`
//! filter (and reopening the audit file), SIGTERM finishing a request in flight.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;

use serde_json::{Value, json};

use crate::common::*;

fn soap(s: &TestServer, extra: &[(&str, &str)], body: &str) -> Reply {
    let mut headers = vec![("Content-Type", "text/xml; charset=utf-8")];
    headers.extend_from_slice(extra);
    s.request("POST", &format!("/sts/{INSTANCE}"), &headers, body)
}

fn request_id(r: &Reply) -> String {
    r.header("x-request-id")
        .unwrap_or_else(|| panic!("no X-Request-Id: {:?}", r.headers))
        .to_owned()
}

/// The envelope's `wsa:MessageID` (see `common::envelope`).
const MESSAGE_ID: &str = "urn:uuid:5e1f2a3b-0000-4000-8000-000000000001";

#[test]
fn json_lines_carry_the_request_id_each_response_returns() {
    let dir = tempfile::tempdir().unwrap();
    let server = LoggedServer::start(
        dir.path(),
        &["--data-dir", "data"],
        &[
            ("STS_DEMO_PASSWORD", DEMO_PASSWORD),
            ("STS_ADMIN_PASSWORD", ADMIN_PASSWORD),
            ("STS_LOG_FORMAT", "json"),
            ("STS_LOG", "info,sts=debug"),
        ],
    );
    let s = TestServer::remote(&server.base);
    let issue = envelope(SOAP11, &username_text("demo", DEMO_PASSWORD), RST_ISSUE);
    // The client's id wins over the MessageID.
    let chosen = soap(&s, &[("X-Request-Id", "client-chosen-42")], &issue);
    assert_eq!(chosen.status, 200, "{}", chosen.body);
    assert_eq!(request_id(&chosen), "client-chosen-42");
    // Without one, the SOAP MessageID.
    let bad = envelope(
        SOAP11,
        &username_text("demo", "not-the-password"),
        RST_ISSUE,
    );
    let fault = soap(&s, &[], &bad);
    assert_eq!(fault.status, 500, "{}", fault.body);
    assert_eq!(request_id(&fault), MESSAGE_ID);
    // An unusable id is replaced by a generated one; every route answers with one.
    let login = s.request(
        "POST",
        "/json/authenticate",
        &[
            ("X-OpenAM-Username", "amadmin"),
            ("X-OpenAM-Password", ADMIN_PASSWORD),
            ("X-Request-Id", "two words"),
        ],
        "{}",
    );
    assert_eq!(login.status, 200, "{}", login.body);
    let generated = request_id(&login);
    assert_ne!(generated, "two words");
    assert_eq!(generated.len(), 36, "{generated}");
    let long = "x".repeat(129);
    let health = s.request("GET", "/health", &[("X-Request-Id", &long)], "");
    let missing = s.request("GET", "/nowhere", &[], "");
    assert_eq!(missing.status, 404);
    let (h, m) = (request_id(&health), request_id(&missing));
    assert!(
        h != long && h.len() == 36 && m.len() == 36 && h != m,
        "{h} {m}"
    );
    assert_ne!(h, generated);

    let log = server.stop();
    let lines: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(lines.len() > 5, "{log}");
    let of = |id: &str| -> Vec<&Value> {
        lines
            .iter()
            .filter(|v| v["span"]["request_id"] == id)
            .collect()
    };
    let issued = of("client-chosen-42");
    assert!(
        issued.iter().any(|v| v["level"] == "INFO"
            && v["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("issued"))
            && v["principal"] == "demo"),
        "the issue line carries the client's id: {log}"
    );
    assert!(
        issued
            .iter()
            .any(|v| v["message"] == "answered" && v["status"] == 200),
        "{log}"
    );
    assert!(
        of(MESSAGE_ID)
            .iter()
            .any(|v| v["message"] == "fault" || v["message"] == "answered"),
        "the fault's lines carry the MessageID: {log}"
    );
    assert!(
        of(&generated)
            .iter()
            .any(|v| v["message"] == "session started"),
        "{log}"
    );
    for v in &lines {
        assert!(v["timestamp"].is_string() && v["level"].is_string(), "{v}");
    }
}

/// A user whose password, sessions, tokens and client secret are all used, at `trace`.
#[test]
fn no_secret_reaches_the_log_at_trace() {
    let dir = tempfile::tempdir().unwrap();
    let master = dir.path().join("master.key");
    let (ok, out) = run(Command::new(env!("CARGO_BIN_EXE_sts"))
        .args(["keys", "master-key", "generate"])
        .arg(&master));
    assert!(ok, "{out}");
    let master_b64 = std::fs::read_to_string(&master).unwrap().trim().to_owned();
    assert!(master_b64.len() >= 40, "{master_b64}");
    let server = LoggedServer::start(
        dir.path(),
        &["--data-dir", "data"],
        &[
            ("STS_DEMO_PASSWORD", DEMO_PASSWORD),
            ("STS_ADMIN_PASSWORD", ADMIN_PASSWORD),
            ("STS_MASTER_KEY_FILE", master.to_str().unwrap()),
            ("STS_LOG", "trace"),
        ],
    );
    let s = TestServer::remote(&server.base);
    let admin = s.login("amadmin", ADMIN_PASSWORD);
    let carol_pw = "Carol-pw-5XqT8vLm";
    let wrong_pw = "Wrong-pw-9RkZ2wPq";
    let created = s.request(
        "POST",
        "/json/users?_action=create",
        &[
            ("iPlanetDirectoryPro", &admin),
            ("Content-Type", "application/json"),
        ],
        &json!({"username": "carol", "userpassword": carol_pw, "digest": true}).to_string(),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    // SOAP Issue: PasswordText, PasswordDigest, a wrong password.
    let text = soap(
        &s,
        &[],
        &envelope(SOAP11, &username_text("carol", carol_pw), RST_ISSUE),
    );
    assert_eq!(text.status, 200, "{}", text.body);
    let assertion_sig = text_of(&text.body, "SignatureValue>");
    assert!(assertion_sig.len() > 40, "{}", text.body);
    let digest_token = username_digest("carol", carol_pw);
    let digest = soap(&s, &[], &envelope(SOAP11, &digest_token, RST_ISSUE));
    assert_eq!(digest.status, 200, "{}", digest.body);
    let digest_value = text_of(&digest_token, "PasswordDigest\">");
    let refused = soap(
        &s,
        &[],
        &envelope(SOAP11, &username_text("carol", wrong_pw), RST_ISSUE),
    );
    assert_eq!(refused.status, 500);
    let failed = s.request(
        "POST",
        "/json/authenticate",
        &[
            ("X-OpenAM-Username", "carol"),
            ("X-OpenAM-Password", wrong_pw),
        ],
        "{}",
    );
    assert_eq!(failed.status, 401, "{}", failed.body);
    // REST translate with a password and with a session; the session validated, logged out.
    let r = publish(&s, &admin, "rest", &rest_instance("rest-logs", true));
    assert_eq!(r.status, 201, "{}", r.body);
    let jwt = issued(&call(
        &s,
        &admin,
        "rest-logs",
        "translate",
        &json!({
            "input_token_state": {"token_type": "USERNAME", "username": "carol", "password": carol_pw},
            "output_token_state": oidc_out("n-1"),
        }),
    ));
    let session = s.login("carol", carol_pw);
    let from_session = issued(&call(
        &s,
        &admin,
        "rest-logs",
        "translate",
        &json!({
            "input_token_state": {"token_type": "OPENAM", "session_id": session},
            "output_token_state": oidc_out("n-2"),
        }),
    ));
    let validated = s.request(
        "POST",
        "/json/sessions?_action=validate",
        &[("Content-Type", "application/json")],
        &json!({"tokenId": session}).to_string(),
    );
    assert_eq!(validated.json()["valid"], true, "{}", validated.body);
    // OAuth2 introspection with a client secret (and a wrong one).
    let client = s.request(
        "POST",
        "/sts-clients?_action=create",
        &[
            ("iPlanetDirectoryPro", &admin),
            ("Content-Type", "application/json"),
        ],
        &json!({"client_id": "rs-logs", "token_endpoint_auth_method": "client_secret_post"})
            .to_string(),
    );
    assert_eq!(client.status, 201, "{}", client.body);
    let client_secret = client.json()["client_secret"].as_str().unwrap().to_owned();
    for secret in [client_secret.as_str(), "Not-the-secret-4Hq"] {
        let r = s.request(
            "POST",
            "/oauth2/introspect",
            &[("Content-Type", "application/x-www-form-urlencoded")],
            &format!("token={jwt}&client_id=rs-logs&client_secret={secret}"),
        );
        assert!(r.status == 200 || r.status == 401, "{}", r.body);
    }
    let out = s.request(
        "POST",
        "/json/sessions?_action=logout",
        &[("iPlanetDirectoryPro", &session)],
        "{}",
    );
    assert_eq!(out.status, 200, "{}", out.body);
    let list = s.request(
        "GET",
        "/sts-tokengen?_queryFilter=true",
        &[("iPlanetDirectoryPro", &admin)],
        "",
    );
    assert_eq!(list.status, 200, "{}", list.body);

    let log = server.stop();
    assert!(log.contains("DEBUG"), "the trace filter applied: {log}");
    let jwt_sig = jwt.rsplit('.').next().unwrap().to_owned();
    for (what, secret) in [
        ("demo password", DEMO_PASSWORD),
        ("admin password", ADMIN_PASSWORD),
        ("user password", carol_pw),
        ("wrong password", wrong_pw),
        ("password digest", digest_value.as_str()),
        ("admin session", admin.as_str()),
        ("user session", session.as_str()),
        ("assertion signature", assertion_sig.as_str()),
        ("id_token", jwt.as_str()),
        ("id_token signature", jwt_sig.as_str()),
        ("id_token from a session", from_session.as_str()),
        ("client secret", client_secret.as_str()),
        ("wrong client secret", "Not-the-secret-4Hq"),
        ("master key", master_b64.as_str()),
    ] {
        assert!(!secret.is_empty(), "{what}");
        if let Some(line) = log.lines().find(|l| l.contains(secret)) {
            panic!("the {what} reached the log: {line}");
        }
    }
}

/// A `sts.toml` with `log` set to `filter` and the audit trail in `audit`.
fn config(path: &std::path::Path, filter: &str, audit: &std::path::Path) {
    std::fs::write(
        path,
        format!("log = \"{filter}\"\naudit_log = \"{}\"\n", audit.display()),
    )
    .unwrap();
}

#[test]
fn sighup_applies_the_log_filter_and_reopens_the_audit_file() {
    let dir = tempfile::tempdir().unwrap();
    let toml = dir.path().join("sts.toml");
    let audit = dir.path().join("audit.log");
    config(&toml, "info", &audit);
    let server = LoggedServer::start(
        dir.path(),
        &["--data-dir", "data", "--config", "sts.toml"],
        &[
            ("STS_DEMO_PASSWORD", DEMO_PASSWORD),
            ("STS_ADMIN_PASSWORD", ADMIN_PASSWORD),
        ],
    );
    let s = TestServer::remote(&server.base);
    let before = s.login("amadmin", ADMIN_PASSWORD);
    assert!(!before.is_empty());
    wait_until("the first audit event is written", || {
        std::fs::read_to_string(&audit).is_ok_and(|t| t.contains("login.success"))
    });
    // logrotate: the file is moved, then the server told.
    std::fs::rename(&audit, dir.path().join("audit.log.1")).unwrap();
    config(&toml, "info,sts=debug", &audit);
    let pid = server.pid().to_string();
    assert!(
        Command::new("kill")
            .args(["-HUP", &pid])
            .status()
            .unwrap()
            .success()
    );
    // The filter is applied before the file is reopened.
    wait_until("the audit file is reopened", || audit.exists());
    let after = s.request(
        "POST",
        "/json/authenticate",
        &[
            ("X-OpenAM-Username", "amadmin"),
            ("X-OpenAM-Password", ADMIN_PASSWORD),
            ("X-Request-Id", "after-hup"),
        ],
        "{}",
    );
    assert_eq!(after.status, 200, "{}", after.body);
    let log = server.stop();
    let lines: Vec<&str> = log.lines().collect();
    let applied = lines
        .iter()
        .position(|l| l.contains("SIGHUP: log filter applied"))
        .unwrap_or_else(|| panic!("{log}"));
    assert!(
        !lines[..applied].iter().any(|l| l.contains("DEBUG")),
        "no debug line before SIGHUP: {log}"
    );
    assert!(
        lines[applied..]
            .iter()
            .any(|l| l.contains("DEBUG") && l.contains("after-hup")),
        "debug lines after SIGHUP: {log}"
    );
    let rotated = std::fs::read_to_string(dir.path().join("audit.log.1")).unwrap();
    let fresh = std::fs::read_to_string(&audit).unwrap();
    // The bootstrap's events (users and keys created at the first start), then the sign-in.
    let requests = rotated
        .lines()
        .filter(|l| !l.contains("\"via\":\"bootstrap\""))
        .count();
    assert_eq!(requests, 1, "{rotated}");
    assert!(
        fresh.lines().count() == 1 && fresh.contains("after-hup"),
        "{fresh}"
    );
}

#[test]
fn sigterm_lets_a_request_in_flight_finish() {
    let dir = tempfile::tempdir().unwrap();
    let server = LoggedServer::start(
        dir.path(),
        &["--data-dir", "data"],
        &[("STS_DEMO_PASSWORD", DEMO_PASSWORD)],
    );
    let addr = server.addr().to_owned();
    let body = envelope(SOAP11, &username_text("demo", DEMO_PASSWORD), RST_ISSUE);
    let mut c = TcpStream::connect(&addr).unwrap();
    c.set_read_timeout(Some(std::time::Duration::from_secs(120)))
        .unwrap();
    write!(
        c,
        "POST /sts/{INSTANCE} HTTP/1.1\r\nHost: sts\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nExpect: 100-continue\r\n\r\n",
        body.len()
    )
    .unwrap();
    // 100 Continue: the server admitted the request and is reading its body.
    let mut seen = Vec::new();
    let mut byte = [0u8; 1];
    while !seen.ends_with(b"\r\n\r\n") {
        assert_eq!(c.read(&mut byte).unwrap(), 1, "{seen:?}");
        seen.push(byte[0]);
    }
    assert!(
        String::from_utf8_lossy(&seen).starts_with("HTTP/1.1 100"),
        "{seen:?}"
    );
    let (half, rest) = body.split_at(body.len() / 2);
    c.write_all(half.as_bytes()).unwrap();
    let pid = server.pid().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    // The listener closes once the shutdown began; the request in flight goes on.
    wait_until("the listener is closed", || {
        TcpStream::connect(&addr).is_err()
    });
    c.write_all(rest.as_bytes()).unwrap();
    let mut answer = String::new();
    c.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("Assertion"), "{answer}");
    let log = server.stop_after_signal();
    assert!(log.contains("shutdown requested"), "{log}");
}

/// At `log = "warn"` the request span is still there: a warning of a request carries its id.
#[test]
fn warnings_carry_the_request_id_at_warn_level() {
    let dir = tempfile::tempdir().unwrap();
    let server = LoggedServer::start(
        dir.path(),
        &["--data-dir", "data"],
        &[
            ("STS_DEMO_PASSWORD", DEMO_PASSWORD),
            ("STS_ADMIN_PASSWORD", ADMIN_PASSWORD),
            ("STS_LOG_FORMAT", "json"),
            ("STS_LOG", "warn"),
            ("STS_LOCKOUT_THRESHOLD", "1"),
        ],
    );
    let s = TestServer::remote(&server.base);
    // One failure locks the account (threshold 1): the lockout is a WARN line.
    let r = s.request(
        "POST",
        "/json/authenticate",
        &[
            ("X-OpenAM-Username", "demo"),
            ("X-OpenAM-Password", "not-the-password"),
            ("X-Request-Id", "warned-request-1"),
        ],
        "{}",
    );
    assert_eq!(r.status, 401, "{}", r.body);
    let log = server.stop();
    let warned: Vec<Value> = log
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| {
            v["level"] == "WARN" && v["message"].as_str().is_some_and(|m| m.contains("locked"))
        })
        .collect();
    assert!(!warned.is_empty(), "no lockout warning: {log}");
    for v in &warned {
        assert_eq!(v["span"]["request_id"], "warned-request-1", "{v}");
    }
    // Nothing below WARN: the span's level did not open the filter.
    assert!(!log.contains("\"level\":\"INFO\""), "{log}");
}

/// A configuration that no longer parses on SIGHUP is reported by line and key, never with
/// the text there (a secret, here); the server keeps running on the old one.
#[test]
fn a_bad_configuration_on_sighup_is_reported_without_its_values() {
    let dir = tempfile::tempdir().unwrap();
    let toml = dir.path().join("sts.toml");
    std::fs::write(&toml, "log = \"info\"\n").unwrap();
    let server = LoggedServer::start(
        dir.path(),
        &["--data-dir", "data", "--config", "sts.toml"],
        &[("STS_DEMO_PASSWORD", DEMO_PASSWORD)],
    );
    let secret = "Db-secret-9fQ2xZ";
    // A secret where a number belongs, and an unterminated one on the next line.
    std::fs::write(
        &toml,
        format!("log = \"info\"\nstore_pool_size = \"{secret}\"\n"),
    )
    .unwrap();
    let pid = server.pid().to_string();
    let hup = || {
        assert!(
            Command::new("kill")
                .args(["-HUP", &pid])
                .status()
                .unwrap()
                .success()
        )
    };
    hup();
    let s = TestServer::remote(&server.base);
    wait_until("the server answers after the SIGHUP", || {
        s.get("/health/live").status == 200
    });
    std::fs::write(
        &toml,
        format!("log = \"info\"\nstore_password = \"{secret}\n"),
    )
    .unwrap();
    hup();
    wait_until("still answering", || s.get("/health/live").status == 200);
    let log = server.stop();
    let refused: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("SIGHUP: the configuration cannot be read"))
        .collect();
    assert_eq!(refused.len(), 2, "{log}");
    assert!(
        refused[0].contains("line 2") && refused[0].contains("store_pool_size"),
        "{log}"
    );
    assert!(refused[1].contains("line 2"), "{log}");
    assert!(!log.contains(secret), "the secret reached the log: {log}");
}

/// A SIGHUP while the server starts (before it listens) does not end it: the handler is
/// installed first, and the signal acted on once the server is up.
#[test]
fn a_sighup_during_start_up_does_not_end_the_server() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_sts"))
        .current_dir(dir.path())
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir", "data"])
        .env("STS_DEMO_PASSWORD", DEMO_PASSWORD)
        .env("STS_LOG", "info")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id().to_string();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    // The first line is printed after the keys were created, before the listener serves.
    let first = lines.next().unwrap().unwrap();
    assert!(first.contains("created signing keys"), "{first}");
    assert!(
        Command::new("kill")
            .args(["-HUP", &pid])
            .status()
            .unwrap()
            .success()
    );
    let listening = lines.map_while(Result::ok).find_map(|l| {
        l.split_once(" listening on ")
            .map(|(_, u)| u.trim().to_owned())
    });
    let alive = child.try_wait().unwrap().is_none();
    let _ = Command::new("kill").args(["-TERM", &pid]).status();
    let status = child.wait().unwrap();
    assert!(
        listening.is_some() && alive,
        "ended by the SIGHUP: {status}"
    );
}

/// `audit_log = "stdout"`: the trail's stream never carries the generated passwords; they go
/// to the operator on stderr.
#[test]
fn generated_passwords_stay_out_of_an_audit_trail_on_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let server = LoggedServer::start(
        dir.path(),
        &["--data-dir", "data"],
        &[("STS_AUDIT_LOG", "stdout"), ("STS_LOG", "info")],
    );
    let printed = server.printed.join("\n");
    let log = server.stop();
    let said = |text: &str, what: &str| {
        text.lines().find_map(|l| {
            l.split_once(&format!("{what} with password: "))
                .map(|(_, p)| p.trim().to_owned())
        })
    };
    let admin = said(&log, "created administrator `amadmin`").unwrap_or_else(|| panic!("{log}"));
    let demo = said(&log, "created user `demo`").unwrap_or_else(|| panic!("{log}"));
    assert!(admin.len() >= 16 && demo.len() >= 16, "{admin} {demo}");
    assert!(!printed.contains("password"), "{printed}");
    assert!(
        !printed.contains(&admin) && !printed.contains(&demo),
        "{printed}"
    );
    // The bootstrap is on the trail: the two users and the two keys, by the local operator.
    let events: Vec<Value> = printed
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .collect();
    let created: Vec<(&str, &str)> = events
        .iter()
        .map(|e| (e["action"].as_str().unwrap(), e["via"].as_str().unwrap()))
        .collect();
    assert_eq!(
        created,
        [
            ("user.created", "bootstrap"),
            ("user.created", "bootstrap"),
            ("key.created", "bootstrap"),
            ("key.created", "bootstrap"),
        ],
        "{printed}"
    );
    assert!(
        events
            .iter()
            .all(|e| e["actor"].as_str().is_some_and(|a| a.starts_with("cli:")))
    );
}
