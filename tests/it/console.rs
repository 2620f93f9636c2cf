//! The admin console in a real browser: headless Chromium, driven by selenium from
//! `tests/peers/console.py`, against a real server on a free port. The script walks every
//! page (sign in, instances, tokens, clients, keys, users, status, sign out), checks each
//! result in the browser and over the APIs, and saves a screenshot of each page under the
//! output folder printed here (under `target/`). It fails on any browser console error.

use std::process::Command;

use serde_json::json;

use crate::common::*;

/// A realm `other` with its own administrator, an OAuth client and a REST instance, and a
/// client of the top-level realm (with the demo instances): what a realm administrator must
/// not see.
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
    let mut st = rest_instance("other-rest", false);
    st["deployment-config"]["deployment-realm"] = json!("other");
    st["saml2-config"]["issuer-name"] = json!("other-idp");
    st["oidc-id-token-config"]["oidc-issuer"] = json!("https://sts.example.com/other");
    let r = publish(s, admin, "rest", &st);
    assert_eq!(r.status, 201, "{}", r.body);
}

#[test]
fn the_console_in_headless_chromium() {
    let audit = tempfile::tempdir().unwrap();
    let audit_log = audit.path().join("audit.jsonl");
    let target = audit_log.display().to_string();
    let s = start_with(Opts {
        configure: Some(Box::new(move |c| c.audit_log = Some(target))),
        ..Default::default()
    });
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
        "realm-admin-instances",
    ] {
        let shot = out.join(format!("{page}.png"));
        assert!(shot.is_file(), "no screenshot {}", shot.display());
    }
    // The console's key changes are on the audit trail with its administrator as the actor.
    let events = |action: &str| -> Vec<serde_json::Value> {
        std::fs::read_to_string(&audit_log)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .filter(|e| e["action"] == action)
            .collect()
    };
    wait_until("the console's key events on the audit trail", || {
        !events("key.rotated").is_empty() && !events("key.imported").is_empty()
    });
    for (action, alias) in [
        ("key.rotated", "sts-signing"),
        ("key.imported", "console-rp"),
    ] {
        let e = events(action);
        assert_eq!(e.len(), 1, "{e:?}");
        assert_eq!(
            (
                &e[0]["alias"],
                &e[0]["actor"],
                &e[0]["actor_realm"],
                &e[0]["via"]
            ),
            (
                &json!(alias),
                &json!("amadmin"),
                &json!("/"),
                &json!("console")
            ),
            "{}",
            e[0]
        );
    }
}

/// A console login: (the session cookie pair `sts-console=...`, its CSRF token).
fn console_login(s: &TestServer, origin: &str) -> (String, String) {
    let r = s.request(
        "POST",
        "/console/api/login",
        &[("Origin", origin), ("Content-Type", "application/json")],
        &json!({"username": "amadmin", "password": ADMIN_PASSWORD, "realm": "/"}).to_string(),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let cookie = r.set_cookie.clone().unwrap();
    let pair = cookie.split(';').next().unwrap().to_owned();
    (pair, r.json()["csrf"].as_str().unwrap().to_owned())
}

#[test]
fn console_requests_need_the_session_its_csrf_token_and_this_origin() {
    let s = start();
    let page = s.request("GET", "/console/", &[], "");
    assert_eq!(page.status, 200);
    let csp = page.header("content-security-policy").unwrap();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe"),
        "{csp}"
    );
    assert_eq!(page.header("x-frame-options"), Some("DENY"));
    assert!(!page.body.contains("<script>"), "inline script in the page");
    assert_eq!(s.request("GET", "/console/api/status", &[], "").status, 401);

    // Signing in: only from this origin, only administrators.
    let login = |origin: &str, user: &str, password: &str| {
        s.request(
            "POST",
            "/console/api/login",
            &[("Origin", origin), ("Content-Type", "application/json")],
            &json!({"username": user, "password": password}).to_string(),
        )
    };
    let r = login("https://evil.example", "amadmin", ADMIN_PASSWORD);
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.set_cookie.is_none());
    let r = login(&s.base, "demo", DEMO_PASSWORD);
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(
        r.set_cookie.is_none(),
        "a non-administrator got a console session"
    );
    assert!(
        s.sessions_of("/", "demo").is_empty(),
        "the refused session was left open"
    );
    let r = login(&s.base, "amadmin", "wrong");
    assert_eq!(r.status, 401, "{}", r.body);

    let (cookie, csrf) = console_login(&s, &s.base);
    assert!(cookie.starts_with("sts-console="), "{cookie}");
    let create = |headers: &[(&str, &str)], id: &str| {
        let mut h = vec![
            ("Cookie", cookie.as_str()),
            ("Content-Type", "application/json"),
        ];
        h.extend_from_slice(headers);
        s.request(
            "POST",
            "/console/api/sts-clients?_action=create",
            &h,
            &json!({"client_id": id}).to_string(),
        )
    };
    let base = s.base.clone();
    assert_eq!(create(&[("Origin", &base)], "no-csrf").status, 403);
    assert_eq!(
        create(&[("Origin", &base), ("X-CSRF-Token", "0")], "bad-csrf").status,
        403
    );
    assert_eq!(create(&[("X-CSRF-Token", &csrf)], "no-origin").status, 403);
    let evil = [
        ("Origin", "https://evil.example"),
        ("X-CSRF-Token", csrf.as_str()),
    ];
    assert_eq!(create(&evil, "evil-origin").status, 403);
    let ok = create(&[("Origin", &base), ("X-CSRF-Token", &csrf)], "good");
    assert_eq!(ok.status, 201, "{}", ok.body);
    let listed = s.request(
        "GET",
        "/console/api/sts-clients",
        &[("Cookie", &cookie)],
        "",
    );
    let ids: Vec<String> = listed.json()["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["client_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, ["good"], "only the request with both checks passed");

    // The console's cookie is not an SSO cookie of the APIs, and the console passes only user
    // administration of `/json` through.
    assert_eq!(
        s.request("GET", "/sts-clients", &[("Cookie", &cookie)], "")
            .status,
        401
    );
    let r = s.request(
        "POST",
        "/console/api/json/sessions?_action=validate",
        &[
            ("Cookie", &cookie),
            ("Origin", &base),
            ("X-CSRF-Token", &csrf),
        ],
        "{}",
    );
    assert_eq!(r.status, 404, "{}", r.body);

    // Signing out ends the session on the server.
    let r = s.request(
        "POST",
        "/console/api/logout",
        &[
            ("Cookie", &cookie),
            ("Origin", &base),
            ("X-CSRF-Token", &csrf),
        ],
        "",
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.set_cookie.unwrap().contains("Max-Age=0"));
    assert_eq!(
        s.request("GET", "/console/api/session", &[("Cookie", &cookie)], "")
            .status,
        401
    );
    let token = cookie.trim_start_matches("sts-console=");
    let v = s.post(
        "/json/sessions?_action=validate",
        &[("Content-Type", "application/json")],
        json!({"tokenId": token}).to_string(),
    );
    assert_eq!(v.json()["valid"], false, "the session outlived sign-out");
}

#[test]
fn the_console_cookie_is_secure_behind_an_https_public_url() {
    let s = start_with(Opts {
        public_base_url: Some("https://sts.example.com".into()),
        ..Default::default()
    });
    let r = s.request(
        "POST",
        "/console/api/login",
        &[
            ("Origin", "https://sts.example.com"),
            ("Content-Type", "application/json"),
        ],
        &json!({"username": "amadmin", "password": ADMIN_PASSWORD}).to_string(),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let cookie = r.set_cookie.unwrap();
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/console/", "Secure"] {
        assert!(cookie.contains(flag), "{flag} missing: {cookie}");
    }
}

/// `sts serve` with `env`, on a bootstrapped data directory; its console session and CSRF.
fn serve_process(env: &[(&str, &str)]) -> (LoggedServer, TestServer, tempfile::TempDir) {
    let dir = bootstrapped_dir();
    let data = dir.path().to_str().unwrap().to_owned();
    let proc = LoggedServer::start(dir.path(), &["--data-dir", &data], env);
    let http = TestServer::remote(&proc.base);
    (proc, http, dir)
}

#[test]
fn the_status_page_counts_requests_by_front_end_unless_metrics_are_off() {
    // Separate processes: the totals are per process, so these move by exactly what is sent.
    let (_proc, s, _dir) = serve_process(&[("STS_LOG", "info")]);
    let (cookie, _) = console_login(&s, &s.base);
    let status = || {
        let r = s.request("GET", "/console/api/status", &[("Cookie", &cookie)], "");
        assert_eq!(r.status, 200, "{}", r.body);
        r.json()["rates"].clone()
    };
    let rest = |rates: &serde_json::Value| {
        rates["frontends"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["frontend"] == "rest")
            .cloned()
            .unwrap()
    };
    let before = status();
    assert_eq!(before["enabled"], true, "{before}");
    let b = rest(&before);
    for _ in 0..2 {
        let r = s.request(
            "POST",
            "/rest-sts/no-such-instance?_action=translate",
            &[("Content-Type", "application/json")],
            "{}",
        );
        assert!(r.status >= 400, "{} {}", r.status, r.body);
    }
    // A request is counted once its reply is made, which may be just after the client has it.
    let mut after = status();
    wait_until("the two REST requests counted", || {
        after = status();
        rest(&after)["failure"].as_u64() >= b["failure"].as_u64().map(|n| n + 2)
    });
    let a = rest(&after);
    assert_eq!(
        a["failure"].as_u64().unwrap(),
        b["failure"].as_u64().unwrap() + 2,
        "{after}"
    );
    assert_eq!(a["success"], b["success"], "{after}");
    assert!(a["recent"].as_u64().unwrap() >= 2, "{after}");
    assert!(after["recent_window_seconds"].as_i64().is_some(), "{after}");

    let (_proc, off, _dir) = serve_process(&[("STS_METRICS", "false"), ("STS_LOG", "info")]);
    let (cookie, _) = console_login(&off, &off.base);
    let r = off.request("GET", "/console/api/status", &[("Cookie", &cookie)], "");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["rates"], json!({"enabled": false}), "{}", r.body);
}
