//! Authentication, sessions, the admin guard, and the OPENAM input token.

use serde_json::json;

use crate::common::*;

const UNAUTHORIZED: &str =
    r#"{"code":401,"message":"Authentication Failed","reason":"Unauthorized"}"#;

fn auth(s: &TestServer, path: &str, headers: &[(&str, &str)], body: &str) -> Reply {
    let mut h = vec![("Content-Type", "application/json")];
    h.extend_from_slice(headers);
    s.post(path, &h, body.to_owned())
}

#[test]
fn authenticate_like_am_in_every_form() {
    let s = start();
    let r = auth(
        &s,
        "/json/authenticate",
        &[
            ("X-OpenAM-Username", "demo"),
            ("X-OpenAM-Password", DEMO_PASSWORD),
        ],
        "{}",
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    let token = v["tokenId"].as_str().unwrap();
    assert!(token.len() >= 43, "{token}");
    assert_eq!(v["realm"], "/");
    assert!(v["successUrl"].is_string());
    let cookie = r.set_cookie.clone().unwrap();
    assert!(
        cookie.starts_with(&format!("iPlanetDirectoryPro={token};")) && cookie.contains("HttpOnly"),
        "{cookie}"
    );
    // JSON body forms: plain, and AM's callbacks.
    let r = auth(
        &s,
        "/json/realms/root/authenticate",
        &[],
        &json!({"username": "demo", "password": DEMO_PASSWORD}).to_string(),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let callbacks = json!({"callbacks": [
        {"type": "NameCallback", "input": [{"name": "IDToken1", "value": "demo"}]},
        {"type": "PasswordCallback", "input": [{"name": "IDToken2", "value": DEMO_PASSWORD}]}]});
    assert_eq!(
        auth(&s, "/json/authenticate", &[], &callbacks.to_string()).status,
        200
    );
    // No credentials: the callbacks to fill in.
    let r = auth(&s, "/json/authenticate", &[], "");
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["callbacks"][0]["type"], "NameCallback");
    // Failures: one status and body whatever was wrong.
    for (u, p) in [("demo", "wrong"), ("nobody", "x"), ("", "")] {
        let r = auth(
            &s,
            "/json/authenticate",
            &[("X-OpenAM-Username", u), ("X-OpenAM-Password", p)],
            "{}",
        );
        assert_eq!(r.status, 401, "{u}");
        assert_eq!(r.body, UNAUTHORIZED);
        assert!(r.set_cookie.is_none());
    }
    let users = sts::identity::FileUserStore::open(&s.dir.path().join("users.json")).unwrap();
    users.update("/", "alice", |u| u.disabled = true).unwrap();
    let r = auth(
        &s,
        "/json/authenticate",
        &[
            ("X-OpenAM-Username", "alice"),
            ("X-OpenAM-Password", "s3cret"),
        ],
        "{}",
    );
    assert_eq!((r.status, r.body.as_str()), (401, UNAUTHORIZED));
    // Realms in the path.
    s.add_user("/sub", "erin", "pw-e");
    let path = "/json/realms/root/realms/sub/authenticate";
    let r = auth(
        &s,
        path,
        &[("X-OpenAM-Username", "erin"), ("X-OpenAM-Password", "pw-e")],
        "{}",
    );
    assert_eq!(r.json()["realm"], "/sub");
    let r = auth(
        &s,
        "/json/authenticate",
        &[("X-OpenAM-Username", "erin"), ("X-OpenAM-Password", "pw-e")],
        "{}",
    );
    assert_eq!(r.status, 401, "erin is not in the top-level realm");
    assert_eq!(
        auth(&s, "/json/realms/root/realms/nope/authenticate", &[], "{}").status,
        404
    );
    assert_eq!(auth(&s, "/json/authenticate", &[], "{not json").status, 400);
}

#[test]
fn sessions_validate_logout_and_survive_a_restart() {
    let s = start();
    let token = s.login("demo", DEMO_PASSWORD);
    let validate = |s: &TestServer, headers: &[(&str, &str)], body: &str| {
        auth(s, "/json/sessions?_action=validate", headers, body).json()
    };
    let v = validate(&s, &[("iPlanetDirectoryPro", &token)], "{}");
    assert_eq!(v["valid"], true);
    assert_eq!(v["uid"], "demo");
    assert_eq!(v["realm"], "/");
    assert!(v["sessionUid"].is_string());
    let cookie = format!("iPlanetDirectoryPro={token}");
    assert_eq!(validate(&s, &[("Cookie", &cookie)], "")["valid"], true);
    assert_eq!(
        validate(&s, &[], &json!({"tokenId": token}).to_string())["valid"],
        true
    );
    assert_eq!(
        validate(&s, &[("iPlanetDirectoryPro", "forged")], "{}"),
        json!({"valid": false})
    );
    assert_eq!(validate(&s, &[], "{}"), json!({"valid": false}));
    // The store keeps a digest of the token, never the token.
    let recs = s.sessions_of("/", "demo");
    assert_eq!(recs.len(), 1);
    assert!(
        !std::fs::read(s.dir.path().join("sts.db"))
            .unwrap()
            .windows(token.len())
            .any(|w| w == token.as_bytes())
    );
    // Durable: a restarted server still knows the session.
    let s = s.restart();
    assert_eq!(
        validate(&s, &[("iPlanetDirectoryPro", &token)], "{}")["valid"],
        true
    );
    let out = auth(
        &s,
        "/json/sessions?_action=logout",
        &[("iPlanetDirectoryPro", &token)],
        "{}",
    );
    assert_eq!(out.status, 200);
    assert_eq!(out.json()["result"], "Successfully logged out");
    assert_eq!(
        validate(&s, &[("iPlanetDirectoryPro", &token)], "{}")["valid"],
        false
    );
    assert_eq!(
        auth(
            &s,
            "/json/sessions?_action=logout",
            &[("iPlanetDirectoryPro", &token)],
            "{}"
        )
        .status,
        401
    );
    // A disabled user's sessions stop working.
    let t2 = s.login("alice", "s3cret");
    sts::identity::FileUserStore::open(&s.dir.path().join("users.json"))
        .unwrap()
        .update("/", "alice", |u| u.disabled = true)
        .unwrap();
    assert_eq!(
        validate(&s, &[("iPlanetDirectoryPro", &t2)], "{}")["valid"],
        false
    );
}

#[test]
fn repeated_failures_lock_the_account_without_saying_so() {
    let s = start();
    for _ in 0..5 {
        let r = auth(
            &s,
            "/json/authenticate",
            &[
                ("X-OpenAM-Username", "alice"),
                ("X-OpenAM-Password", "guess"),
            ],
            "{}",
        );
        assert_eq!(r.status, 401);
    }
    // Now even the right password fails, with the same answer.
    let r = auth(
        &s,
        "/json/authenticate",
        &[
            ("X-OpenAM-Username", "alice"),
            ("X-OpenAM-Password", "s3cret"),
        ],
        "{}",
    );
    assert_eq!((r.status, r.body.as_str()), (401, UNAUTHORIZED));
    let soap = s.post_soap11(&envelope(
        SOAP11,
        &username_text("alice", "s3cret"),
        RST_ISSUE,
    ));
    assert_eq!(soap.fault_code(), "wst:FailedAuthentication");
    // Other accounts are unaffected.
    s.login("demo", DEMO_PASSWORD);
}

#[test]
fn every_admin_route_needs_an_admin_session() {
    let s = start();
    let admin = s.login("amadmin", ADMIN_PASSWORD);
    let user = s.login("demo", DEMO_PASSWORD);
    let create = json!({"username": "frank", "userpassword": "pw-f", "mail": "frank@example.com", "isMemberOf": ["a", "b"]}).to_string();
    let update = json!({"mail": ["f2@example.com"], "inetUserStatus": "Inactive"}).to_string();
    let routes: [(&str, &str, &str, u16); 5] = [
        ("POST", "/json/users?_action=create", create.as_str(), 201),
        ("GET", "/json/users?_queryFilter=true", "", 200),
        ("GET", "/json/users/frank", "", 200),
        ("PUT", "/json/users/frank", update.as_str(), 200),
        ("DELETE", "/json/users/frank", "", 200),
    ];
    for (method, path, body, ok) in routes {
        let none = s.request(method, path, &[("Content-Type", "application/json")], body);
        assert_eq!(none.status, 401, "{method} {path} without a session");
        assert_eq!(none.json()["code"], 401);
        let forged = s.request(method, path, &[("iPlanetDirectoryPro", "forged")], body);
        assert_eq!(forged.status, 401, "{method} {path} with a forged session");
        let plain = s.request(method, path, &[("iPlanetDirectoryPro", &user)], body);
        assert_eq!(
            plain.status, 403,
            "{method} {path} with a non-admin session"
        );
        assert_eq!(plain.json()["reason"], "Forbidden");
        let r = s.request(
            method,
            path,
            &[
                ("iPlanetDirectoryPro", &admin),
                ("Content-Type", "application/json"),
            ],
            body,
        );
        assert_eq!(r.status, ok, "{method} {path} as admin: {}", r.body);
        match (method, path) {
            ("POST", _) => assert_eq!(r.json()["isMemberOf"], json!(["a", "b"])),
            ("GET", "/json/users?_queryFilter=true") => {
                let names: Vec<_> = r.json()["result"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|u| u["username"].clone())
                    .collect();
                assert!(
                    names.contains(&json!("frank")) && names.contains(&json!("amadmin")),
                    "{names:?}"
                );
                assert!(
                    !r.body.contains("argon2"),
                    "hashes must not leave the server"
                );
            }
            ("PUT", _) => {
                assert_eq!(r.json()["inetUserStatus"], "Inactive");
                assert_eq!(r.json()["mail"], json!(["f2@example.com"]));
            }
            _ => {}
        }
    }
    // The cookie works as well as the header; the user is gone.
    let r = s.request(
        "GET",
        "/json/users/frank",
        &[("Cookie", &format!("iPlanetDirectoryPro={admin}"))],
        "",
    );
    assert_eq!(r.status, 404);
    // Created users can log in (and new admins administer).
    let r = s.request(
        "POST",
        "/json/users?_action=create",
        &[("iPlanetDirectoryPro", &admin)],
        &json!({"username": "gina", "userpassword": "pw-g", "admin": true}).to_string(),
    );
    assert_eq!(r.status, 201);
    let gina = s.login("gina", "pw-g");
    assert_eq!(
        s.request(
            "GET",
            "/json/users/demo",
            &[("iPlanetDirectoryPro", &gina)],
            ""
        )
        .status,
        200
    );
    let dup = s.request(
        "POST",
        "/json/users?_action=create",
        &[("iPlanetDirectoryPro", &admin)],
        &json!({"username": "gina", "userpassword": "x"}).to_string(),
    );
    assert_eq!(dup.status, 409);
}

fn am_instance(element: &str, invalidate: bool) -> serde_json::Value {
    let mut j = sts::datadir::demo_instance();
    j["deployment-config"]["deployment-url-element"] = element.into();
    j["security-policy-validated-token-config"] = json!([
        {"validatedTokenType": "USERNAME", "invalidateInterimOpenAMSession": invalidate},
        {"validatedTokenType": "OPENAM", "invalidateInterimOpenAMSession": false}
    ]);
    j
}

#[test]
fn openam_session_tokens_are_soap_input_tokens() {
    let s = start_with(Opts {
        instances: vec![("soap-am.json".into(), am_instance("soap-am", true))],
        ..Default::default()
    });
    let token = s.login("demo", DEMO_PASSWORD);
    let post = |security: &str, extra: &[(&str, &str)]| {
        let mut h = vec![("Content-Type", "text/xml"), ("SOAPAction", ISSUE_ACTION)];
        h.extend_from_slice(extra);
        s.post("/sts/soap-am", &h, envelope(SOAP11, security, RST_ISSUE))
    };
    let r = post(&bst(&token), &[]);
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.assertion_text().contains(">demo</saml2:NameID>"));
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(&token);
    let encoded = format!(
        "<wsse:BinarySecurityToken EncodingType=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary\" ValueType=\"http://schemas.forgerock.org/ws/securitypolicy#OpenAMSessionToken\">{b64}</wsse:BinarySecurityToken>"
    );
    assert_eq!(post(&encoded, &[]).status, 200);
    assert_eq!(post("", &[("iPlanetDirectoryPro", &token)]).status, 200);
    assert_eq!(
        post("", &[("Cookie", &format!("iPlanetDirectoryPro={token}"))]).status,
        200
    );
    assert_eq!(
        post(&bst("forged"), &[]).fault_code(),
        "wst:FailedAuthentication"
    );
    // The WSDL policy offers both inputs.
    let w = s.get("/sts/soap-am?wsdl").body;
    assert!(
        w.contains("<sp:UsernameToken") && w.contains("OpenAMSessionToken"),
        "{w}"
    );
    // The demo instance does not accept sessions.
    let r = s.post_soap11(&envelope(SOAP11, &bst(&token), RST_ISSUE));
    assert_eq!(r.fault_code(), "wst:FailedAuthentication");
    // A logged-out session is refused.
    auth(
        &s,
        "/json/sessions?_action=logout",
        &[("iPlanetDirectoryPro", &token)],
        "{}",
    );
    assert_eq!(
        post(&bst(&token), &[]).fault_code(),
        "wst:FailedAuthentication"
    );
}

#[test]
fn interim_sessions_follow_invalidate_interim_openam_session() {
    let s = start_with(Opts {
        instances: vec![
            ("soap-keep.json".into(), am_instance("soap-keep", false)),
            ("soap-drop.json".into(), am_instance("soap-drop", true)),
        ],
        ..Default::default()
    });
    let post = |path: &str| {
        s.post(
            path,
            &[("Content-Type", "text/xml"), ("SOAPAction", ISSUE_ACTION)],
            envelope(SOAP11, &username_text("alice", "s3cret"), RST_ISSUE),
        )
    };
    let r = post("/sts/soap-drop");
    assert_eq!(r.status, 200);
    assert!(
        s.sessions_of("/", "alice").is_empty(),
        "interim session not invalidated"
    );
    assert!(!r.assertion_text().contains("SessionIndex"));
    let r = post("/sts/soap-keep");
    assert_eq!(r.status, 200);
    let kept = s.sessions_of("/", "alice");
    assert_eq!(kept.len(), 1);
    assert!(kept[0].interim);
    assert!(
        r.assertion_text()
            .contains(&format!("SessionIndex=\"{}\"", kept[0].uid))
    );
    // A failed authentication leaves no session behind.
    let bad = s.post(
        "/sts/soap-keep",
        &[("Content-Type", "text/xml")],
        envelope(SOAP11, &username_text("alice", "nope"), RST_ISSUE),
    );
    assert_eq!(bad.fault_code(), "wst:FailedAuthentication");
    assert_eq!(s.sessions_of("/", "alice").len(), 1);
}
