//! The audit trail (`audit_log`): each security-relevant action writes its event once, with
//! the fields that say who did what to which token, instance, key, client or user, and no
//! secret; `audit_required` refuses what cannot be audited.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

use crate::common::*;

/// The audit file, read as it grows.
struct Trail {
    path: PathBuf,
    seen: usize,
}

impl Trail {
    fn lines(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.path)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
            .collect()
    }

    /// The events written since the last call: exactly `actions`, in order.
    fn expect(&mut self, actions: &[&str]) -> Vec<Value> {
        let want = self.seen + actions.len();
        wait_until(&format!("audit events {actions:?}"), || {
            self.lines().len() >= want
        });
        let all = self.lines();
        let new: Vec<Value> = all[self.seen..want].to_vec();
        let got: Vec<&str> = new.iter().map(|v| v["action"].as_str().unwrap()).collect();
        assert_eq!(got, actions, "{new:#?}");
        self.seen = want;
        for v in &new {
            assert!(v["time"].as_str().is_some_and(|t| t.ends_with('Z')), "{v}");
        }
        new
    }
}

fn with_audit(path: &Path, required: bool) -> Opts {
    let target = path.display().to_string();
    Opts {
        instances: vec![(
            "soap-persist.json".into(),
            persisting_instance("soap-persist", true),
        )],
        configure: Some(Box::new(move |c| {
            c.audit_log = Some(target);
            c.audit_required = required;
            c.lockout_threshold = 2;
        })),
        ..Default::default()
    }
}

fn admin_json(s: &TestServer, admin: &str, method: &str, path: &str, body: &Value) -> Reply {
    s.request(
        method,
        path,
        &[
            ("iPlanetDirectoryPro", admin),
            ("Content-Type", "application/json"),
            ("X-Request-Id", "admin-call"),
        ],
        &body.to_string(),
    )
}

fn sts_cli(data: &Path, audit: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_sts"));
    for (k, _) in std::env::vars() {
        if k.starts_with("STS_") {
            c.env_remove(k);
        }
    }
    c.env("STS_DATA_DIR", data).env("STS_AUDIT_LOG", audit);
    c
}

#[test]
fn every_action_writes_its_event_once_without_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let s = start_with(with_audit(&path, false));
    let mut trail = Trail {
        path: path.clone(),
        seen: 0,
    };
    let me = "127.0.0.1";

    // Sign-ins: success, failure, lockout (threshold 2).
    let admin = s.login("amadmin", ADMIN_PASSWORD);
    let e = trail.expect(&["login.success"]);
    assert_eq!(
        (
            &e[0]["principal"],
            &e[0]["realm"],
            &e[0]["method"],
            &e[0]["client"]
        ),
        (
            &json!("amadmin"),
            &json!("/"),
            &json!("password_text"),
            &json!(me)
        ),
    );
    assert_eq!(e[0]["request_id"].as_str().unwrap().len(), 36, "{}", e[0]);
    let wrong = "Wrong-pw-7Hd2kQ";
    for round in 0..2 {
        let r = s.request(
            "POST",
            "/json/authenticate",
            &[("X-OpenAM-Username", "dave"), ("X-OpenAM-Password", wrong)],
            "{}",
        );
        assert_eq!(r.status, 401, "{}", r.body);
        let e = if round == 0 {
            trail.expect(&["login.failure"])
        } else {
            let e = trail.expect(&["lockout", "login.failure"]);
            assert_eq!(
                (&e[0]["scope"], &e[0]["principal"], &e[0]["source"]),
                (&json!("account"), &json!("dave"), &json!(me))
            );
            e
        };
        let f = e.last().unwrap();
        assert_eq!(
            (&f["principal"], &f["reason"]),
            (&json!("dave"), &json!("credentials"))
        );
    }

    // Users, by an administrator.
    let carol_pw = "Carol-pw-3JxV8p";
    let r = admin_json(
        &s,
        &admin,
        "POST",
        "/json/users?_action=create",
        &json!({"username": "carol", "userpassword": carol_pw, "digest": true}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let e = trail.expect(&["user.created"]);
    assert_eq!(
        (
            &e[0]["user"],
            &e[0]["actor"],
            &e[0]["actor_realm"],
            &e[0]["request_id"]
        ),
        (
            &json!("carol"),
            &json!("amadmin"),
            &json!("/"),
            &json!("admin-call")
        )
    );
    let r = admin_json(
        &s,
        &admin,
        "PUT",
        "/json/users/carol",
        &json!({"mail": ["c@example.com"]}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let e = trail.expect(&["user.changed"]);
    assert_eq!(
        (&e[0]["user"], &e[0]["changed"]),
        (&json!("carol"), &json!("attributes"))
    );

    // SOAP Issue, Validate and Renew on a persisting instance.
    let path_soap = "/sts/soap-persist";
    let issue = s.post(
        path_soap,
        &[("Content-Type", "text/xml"), ("X-Request-Id", "issue-1")],
        envelope(SOAP11, &username_text("carol", carol_pw), RST_ISSUE),
    );
    assert_eq!(issue.status, 200, "{}", issue.body);
    let assertion = issue.assertion_text();
    let id = assertion_id(&assertion);
    let e = trail.expect(&["login.success", "token.issued"]);
    let t = &e[1];
    assert_eq!(t["token_id"], id.as_str(), "{t}");
    assert_eq!(t["instance"], "soap-persist");
    assert_eq!(t["realm"], "/");
    assert_eq!(t["principal"], "carol");
    assert_eq!(t["input_token_type"], "USERNAME_PASSWORD_TEXT");
    assert!(t["token_type"].as_str().unwrap().contains("SAML"), "{t}");
    assert_eq!(
        (&t["request_id"], &t["client"]),
        (&json!("issue-1"), &json!(me))
    );
    let v = s.post(
        path_soap,
        &[("Content-Type", "text/xml")],
        target_envelope("Validate", &username_text("carol", carol_pw), &assertion),
    );
    assert!(status(&v).0, "{}", v.body);
    let e = trail.expect(&["login.success", "token.validated"]);
    assert_eq!(
        (&e[1]["token_id"], &e[1]["valid"]),
        (&json!(id), &json!("true"))
    );
    let renewed = s.post(
        path_soap,
        &[("Content-Type", "text/xml")],
        target_envelope("Renew", &username_text("carol", carol_pw), &assertion),
    );
    assert_eq!(renewed.status, 200, "{}", renewed.body);
    let new_id = assertion_id(&renewed.assertion_text());
    let e = trail.expect(&["login.success", "token.renewed"]);
    assert_eq!(
        (
            &e[1]["token_id"],
            &e[1]["replaced_token_id"],
            &e[1]["actor"]
        ),
        (&json!(new_id), &json!(id), &json!("carol"))
    );

    // Instances, the REST STS, cancel.
    let inst = rest_instance("rest-audit", true);
    let r = publish(&s, &admin, "rest", &inst);
    assert_eq!(r.status, 201, "{}", r.body);
    let e = trail.expect(&["instance.published"]);
    assert_eq!(
        (&e[0]["instance"], &e[0]["kind"], &e[0]["actor"]),
        (&json!("rest-audit"), &json!("rest"), &json!("amadmin"))
    );
    let r = admin_json(
        &s,
        &admin,
        "PUT",
        "/sts-publish/rest/rest-audit",
        &json!({"invocation_context": "invocation_context_client_sdk", "instance_state": inst}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    trail.expect(&["instance.updated"]);
    let jwt = issued(&call(
        &s,
        &admin,
        "rest-audit",
        "translate",
        &json!({
            "input_token_state": {"token_type": "USERNAME", "username": "carol", "password": carol_pw},
            "output_token_state": oidc_out("n-1"),
        }),
    ));
    let e = trail.expect(&["login.success", "token.issued"]);
    assert_eq!(e[1]["instance"], "rest-audit");
    assert_eq!(e[1]["token_type"], "OPENIDCONNECT");
    assert_eq!(e[1]["input_token_type"], "USERNAME");
    let jti = e[1]["token_id"].as_str().unwrap().to_owned();
    let r = call(
        &s,
        &admin,
        "rest-audit",
        "validate",
        &json!({"validated_token_state": {"token_type": "OPENIDCONNECT", "oidc_id_token": jwt}}),
    );
    assert_eq!(r.json()["token_valid"], true, "{}", r.body);
    let e = trail.expect(&["token.validated"]);
    assert_eq!(
        (&e[0]["token_id"], &e[0]["principal"]),
        (&json!(jti), &json!("carol"))
    );
    let r = call(
        &s,
        &admin,
        "rest-audit",
        "cancel",
        &json!({"cancelled_token_state": {"token_type": "OPENIDCONNECT", "oidc_id_token": jwt}}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let e = trail.expect(&["token.cancelled"]);
    assert_eq!(
        (&e[0]["token_id"], &e[0]["principal"]),
        (&json!(jti), &json!("carol"))
    );
    // The administrator whose session asked, not a placeholder.
    assert_eq!(
        (&e[0]["actor"], &e[0]["actor_realm"]),
        (&json!("amadmin"), &json!("/"))
    );
    let r = admin_json(
        &s,
        &admin,
        "DELETE",
        "/sts-publish/rest/rest-audit",
        &json!({}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    trail.expect(&["instance.deleted"]);

    // Sessions.
    let session = s.login("carol", carol_pw);
    trail.expect(&["login.success"]);
    let r = s.request(
        "POST",
        "/json/sessions?_action=logout",
        &[("iPlanetDirectoryPro", &session)],
        "{}",
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let e = trail.expect(&["session.logout"]);
    assert_eq!(e[0]["principal"], "carol");
    assert!(e[0]["session_uid"].is_string(), "{}", e[0]);

    // OAuth clients.
    let r = admin_json(
        &s,
        &admin,
        "POST",
        "/sts-clients?_action=create",
        &json!({"client_id": "rs-audit", "token_endpoint_auth_method": "client_secret_basic"}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let client_secret = r.json()["client_secret"].as_str().unwrap().to_owned();
    let e = trail.expect(&["oauth_client.created"]);
    assert_eq!(
        (&e[0]["client_id"], &e[0]["actor"]),
        (&json!("rs-audit"), &json!("amadmin"))
    );
    // Introspection by that client is a validation: which token, what it learnt.
    use base64::Engine as _;
    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("rs-audit:{client_secret}"));
    let r = s.request(
        "POST",
        "/oauth2/introspect",
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Authorization", &format!("Basic {basic}")),
        ],
        &format!("token={jwt}"),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let active = r.json()["active"].as_bool().unwrap();
    let e = trail.expect(&["token.validated"]);
    assert_eq!(
        (&e[0]["via"], &e[0]["client_id"], &e[0]["valid"]),
        (
            &json!("introspection"),
            &json!("rs-audit"),
            &json!(active.to_string())
        ),
        "{}",
        e[0]
    );
    let r = admin_json(&s, &admin, "DELETE", "/sts-clients/rs-audit", &json!({}));
    assert_eq!(r.status, 200, "{}", r.body);
    trail.expect(&["oauth_client.deleted"]);

    // Disabling and deleting a user.
    let r = admin_json(
        &s,
        &admin,
        "PUT",
        "/json/users/carol",
        &json!({"inetUserStatus": "Inactive"}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    trail.expect(&["user.disabled"]);
    let r = admin_json(&s, &admin, "DELETE", "/json/users/carol", &json!({}));
    assert_eq!(r.status, 200, "{}", r.body);
    trail.expect(&["user.deleted"]);

    // Keys, rotated and imported by an operator on the command line.
    let data = s.dir.path();
    let (ok, out) = run(sts_cli(data, &path).args(["keys", "rotate", "sts-signing"]));
    assert!(ok, "{out}");
    let e = trail.expect(&["key.rotated"]);
    assert_eq!(
        (&e[0]["alias"], &e[0]["actor_realm"], &e[0]["via"]),
        (&json!("sts-signing"), &json!("local"), &json!("cli"))
    );
    // The local operator, by the environment's word: `cli:<user>`.
    assert!(
        e[0]["actor"]
            .as_str()
            .is_some_and(|a| a.starts_with("cli:") && a.len() > 4),
        "{}",
        e[0]
    );
    let (ok, out) = run(sts_cli(data, &path)
        .env("USER", "operator-7")
        .env_remove("SUDO_USER")
        .args(["keys", "create", "extra-key"]));
    assert!(ok, "{out}");
    let e = trail.expect(&["key.created"]);
    assert_eq!(
        (&e[0]["alias"], &e[0]["actor"]),
        (&json!("extra-key"), &json!("cli:operator-7"))
    );
    let cert = data.join("keys/sts-signing.crt.pem");
    let (ok, out) = run(sts_cli(data, &path)
        .args(["keys", "import", "partner"])
        .arg(&cert));
    assert!(ok, "{out}");
    let e = trail.expect(&["key.imported"]);
    assert_eq!(e[0]["alias"], "partner");

    // Nothing more, and no secret anywhere.
    std::thread::sleep(std::time::Duration::from_millis(0));
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(trail.lines().len(), trail.seen, "{text}");
    let sig = text_of(&assertion, "SignatureValue>");
    for secret in [
        ADMIN_PASSWORD,
        carol_pw,
        wrong,
        admin.as_str(),
        session.as_str(),
        jwt.as_str(),
        sig.as_str(),
        client_secret.as_str(),
    ] {
        assert!(
            !text.contains(secret),
            "a secret in the audit trail: {secret}\n{text}"
        );
    }
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o077, 0, "the audit file is readable by others");
}

#[test]
fn audit_required_refuses_what_cannot_be_audited() {
    let dir = tempfile::tempdir().unwrap();
    // A file's child: not writable, even by root.
    let blocker = dir.path().join("not-a-directory");
    std::fs::write(&blocker, "").unwrap();
    let s = start_with(with_audit(&blocker.join("audit.log"), true));
    let soap = s.post(
        "/sts/soap-persist",
        &[("Content-Type", "text/xml")],
        envelope(SOAP11, &username_text("demo", DEMO_PASSWORD), RST_ISSUE),
    );
    assert_eq!(soap.status, 503, "{}", soap.body);
    assert!(soap.body.contains("RequestFailed"), "{}", soap.body);
    assert!(!soap.body.contains("Assertion"), "{}", soap.body);
    let login = s.request(
        "POST",
        "/json/authenticate",
        &[
            ("X-OpenAM-Username", "amadmin"),
            ("X-OpenAM-Password", ADMIN_PASSWORD),
        ],
        "{}",
    );
    assert_eq!(login.status, 503, "{}", login.body);
    assert!(!login.body.contains("tokenId"), "{}", login.body);
    // What needs no audit is served.
    assert_eq!(s.request("GET", "/health", &[], "").status, 200);

    // Not required: served, the events lost (and counted, see the unit tests).
    let lenient = start_with(with_audit(&blocker.join("audit.log"), false));
    let r = lenient.post(
        "/sts/soap-persist",
        &[("Content-Type", "text/xml")],
        envelope(SOAP11, &username_text("demo", DEMO_PASSWORD), RST_ISSUE),
    );
    assert_eq!(r.status, 200, "{}", r.body);
}

/// `audit_required`: a change whose event cannot be written is not made (nor half made), and
/// the client is told 503; once the trail is writable again, changes are made and recorded.
#[test]
fn audit_required_makes_no_change_it_cannot_record() {
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.log");
    let server = LoggedServer::start(
        dir.path(),
        &["--data-dir", "data"],
        &[
            ("STS_DEMO_PASSWORD", DEMO_PASSWORD),
            ("STS_ADMIN_PASSWORD", ADMIN_PASSWORD),
            ("STS_AUDIT_LOG", audit.to_str().unwrap()),
            ("STS_AUDIT_REQUIRED", "true"),
            ("STS_LOG", "info"),
        ],
    );
    let s = TestServer::remote(&server.base);
    let admin = s.login("amadmin", ADMIN_PASSWORD);
    let r = admin_json(
        &s,
        &admin,
        "POST",
        "/sts-clients?_action=create",
        &json!({"client_id": "rs-kept"}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let r = admin_json(
        &s,
        &admin,
        "POST",
        "/json/users?_action=create",
        &json!({"username": "erin", "userpassword": "Erin-pw-5kQ"}),
    );
    assert_eq!(r.status, 201, "{}", r.body);

    // The trail breaks: its file becomes a directory, reopened on SIGHUP (logrotate's way).
    std::fs::remove_file(&audit).unwrap();
    std::fs::create_dir(&audit).unwrap();
    let hup = |pid: u32| {
        assert!(
            std::process::Command::new("kill")
                .args(["-HUP", &pid.to_string()])
                .status()
                .unwrap()
                .success()
        )
    };
    hup(server.pid());
    wait_until("sign-ins are refused for want of an audit trail", || {
        s.request(
            "POST",
            "/json/authenticate",
            &[
                ("X-OpenAM-Username", "amadmin"),
                ("X-OpenAM-Password", ADMIN_PASSWORD),
            ],
            "{}",
        )
        .status
            == 503
    });
    let get = |path: &str| admin_json(&s, &admin, "GET", path, &json!({})).status;
    // Each change: refused with 503, and not made.
    let r = admin_json(
        &s,
        &admin,
        "POST",
        "/sts-clients?_action=create",
        &json!({"client_id": "rs-new"}),
    );
    assert_eq!(r.status, 503, "{}", r.body);
    assert!(!r.body.contains("client_secret"), "{}", r.body);
    assert_eq!(get("/sts-clients/rs-new"), 404);
    let r = admin_json(&s, &admin, "DELETE", "/sts-clients/rs-kept", &json!({}));
    assert_eq!(r.status, 503, "{}", r.body);
    assert_eq!(get("/sts-clients/rs-kept"), 200);
    let r = admin_json(&s, &admin, "DELETE", "/json/users/erin", &json!({}));
    assert_eq!(r.status, 503, "{}", r.body);
    assert_eq!(get("/json/users/erin"), 200);
    let r = admin_json(
        &s,
        &admin,
        "PUT",
        "/json/users/erin",
        &json!({"inetUserStatus": "Inactive"}),
    );
    assert_eq!(r.status, 503, "{}", r.body);
    let erin = admin_json(&s, &admin, "GET", "/json/users/erin", &json!({}));
    assert!(!erin.body.contains("Inactive"), "{}", erin.body);
    let r = publish(&s, &admin, "rest", &rest_instance("never-published", false));
    assert_eq!(r.status, 503, "{}", r.body);
    assert_eq!(get("/sts-publish/rest/never-published"), 404);
    let r = s.request(
        "POST",
        "/json/sessions?_action=logout",
        &[("iPlanetDirectoryPro", &admin)],
        "{}",
    );
    assert_eq!(r.status, 503, "{}", r.body);
    // Still signed in: the logout was not made either.
    assert_eq!(get("/json/users/erin"), 200);

    // Writable again: the change is made, and recorded.
    std::fs::remove_dir(&audit).unwrap();
    hup(server.pid());
    wait_until("the trail is writable again", || {
        admin_json(&s, &admin, "DELETE", "/sts-clients/rs-kept", &json!({})).status == 200
    });
    assert_eq!(get("/sts-clients/rs-kept"), 404);
    let text = std::fs::read_to_string(&audit).unwrap();
    assert!(
        text.lines()
            .any(|l| l.contains("oauth_client.deleted") && l.contains("rs-kept")),
        "{text}"
    );
    for never in ["rs-new", "never-published", "session.logout", "erin"] {
        assert!(!text.contains(never), "{never} in {text}");
    }
}

/// What the trail says when the state moved under a request: a second cancel of one token
/// (over SOAP and REST) is refused as for an unknown token and recorded nowhere; a session
/// whose user was deleted meanwhile is still logged out, and that logout recorded, with an
/// unknown actor and never the session's token.
#[test]
fn a_second_cancel_and_an_orphaned_logout_are_audited_truthfully() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let s = start_with(with_audit(&path, false));
    let mut trail = Trail {
        path: path.clone(),
        seen: 0,
    };
    let admin = s.login("amadmin", ADMIN_PASSWORD);
    trail.expect(&["login.success"]);
    let unknown = "no token with this id is stored for this instance";

    // SOAP: the second cancel of an id gets the fault an unknown id gets.
    let soap_cancel = |target: &str| {
        s.post(
            "/sts/soap-persist",
            &[("Content-Type", "text/xml")],
            target_envelope(
                "Cancel",
                &username_text("demo", DEMO_PASSWORD),
                &saml_str(target),
            ),
        )
    };
    let issue = s.post(
        "/sts/soap-persist",
        &[("Content-Type", "text/xml")],
        envelope(SOAP11, &username_text("demo", DEMO_PASSWORD), RST_ISSUE),
    );
    assert_eq!(issue.status, 200, "{}", issue.body);
    let id = assertion_id(&issue.assertion_text());
    trail.expect(&["login.success", "token.issued"]);
    assert_eq!(soap_cancel(&id).status, 200);
    let e = trail.expect(&["login.success", "token.cancelled"]);
    assert!(e[1].get("outcome").is_none(), "{}", e[1]);
    let again = soap_cancel(&id);
    let never = soap_cancel("_never-issued");
    assert_eq!(again.fault_code(), never.fault_code(), "{}", again.body);
    assert!(again.body.contains(unknown), "{}", again.body);
    trail.expect(&["login.success", "login.success"]);

    // REST: the same for an id_token of a persisting REST instance.
    assert_eq!(
        publish(&s, &admin, "rest", &rest_instance("rest-twice", true)).status,
        201
    );
    trail.expect(&["instance.published"]);
    let jwt = issued(&call(
        &s,
        &admin,
        "rest-twice",
        "translate",
        &json!({
            "input_token_state": {"token_type": "USERNAME", "username": "demo", "password": DEMO_PASSWORD},
            "output_token_state": oidc_out("n-2"),
        }),
    ));
    trail.expect(&["login.success", "token.issued"]);
    let rest_cancel = || {
        call(
            &s,
            &admin,
            "rest-twice",
            "cancel",
            &json!({"cancelled_token_state": {"token_type": "OPENIDCONNECT", "oidc_id_token": jwt}}),
        )
    };
    assert_eq!(rest_cancel().status, 200);
    trail.expect(&["token.cancelled"]);
    expect_error(&rest_cancel(), 400, unknown);

    // A session outliving its user: logged out, and recorded.
    let frank_pw = "Frank-pw-9Tz4rW";
    let r = admin_json(
        &s,
        &admin,
        "POST",
        "/json/users?_action=create",
        &json!({"username": "frank", "userpassword": frank_pw}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    trail.expect(&["user.created"]);
    let session = s.login("frank", frank_pw);
    trail.expect(&["login.success"]);
    let r = admin_json(&s, &admin, "DELETE", "/json/users/frank", &json!({}));
    assert_eq!(r.status, 200, "{}", r.body);
    trail.expect(&["user.deleted"]);
    let logout = || {
        s.request(
            "POST",
            "/json/sessions?_action=logout",
            &[("iPlanetDirectoryPro", &session)],
            "{}",
        )
    };
    let r = logout();
    assert_eq!(r.status, 200, "{}", r.body);
    let e = trail.expect(&["session.logout"]);
    assert_eq!(
        (&e[0]["principal"], &e[0]["realm"], &e[0]["actor"]),
        (&json!("frank"), &json!("/"), &json!("unknown")),
        "{}",
        e[0]
    );
    assert!(e[0]["session_uid"].is_string(), "{}", e[0]);
    // Gone now: a second logout changes nothing and records nothing.
    assert_eq!(logout().status, 401);

    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(trail.lines().len(), trail.seen, "{text}");
    for secret in [session.as_str(), jwt.as_str(), frank_pw, admin.as_str()] {
        assert!(
            !text.contains(secret),
            "a secret in the trail: {secret}\n{text}"
        );
    }
}
