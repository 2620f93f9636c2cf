//! Lockout and throttling of failed sign-ins: per account and source address, and per
//! source address. Clients use other loopback addresses (127.0.0.2, ...) as strangers.

use serde_json::json;

use crate::common::*;

fn login_from(s: &TestServer, from: &str, user: &str, password: &str) -> u16 {
    s.post_from(
        from,
        "/json/authenticate",
        &[
            ("X-OpenAM-Username", user),
            ("X-OpenAM-Password", password),
            ("Content-Type", "application/json"),
        ],
        "{}",
    )
    .status
}

fn soap_issue_from(s: &TestServer, from: &str, user: &str, password: &str) -> Reply {
    s.post_from(
        from,
        &format!("/sts/{INSTANCE}"),
        &[("Content-Type", "text/xml"), ("SOAPAction", ISSUE_ACTION)],
        envelope(SOAP11, &username_text(user, password), RST_ISSUE),
    )
}

#[test]
fn a_strangers_guesses_do_not_lock_the_administrator_out_elsewhere() {
    let s = start();
    // Five wrong passwords for amadmin from a stranger's address (the default threshold).
    for _ in 0..5 {
        assert_eq!(login_from(&s, "127.0.0.2", "amadmin", "guess"), 401);
    }
    // From there, even the right password now fails, like a wrong one...
    assert_eq!(login_from(&s, "127.0.0.2", "amadmin", ADMIN_PASSWORD), 401);
    // ...while the operators, elsewhere, sign in.
    assert_eq!(login_from(&s, "127.0.0.1", "amadmin", ADMIN_PASSWORD), 200);

    // The same over SOAP UsernameTokens.
    for _ in 0..5 {
        let r = soap_issue_from(&s, "127.0.0.3", "demo", "guess");
        assert_eq!(r.fault_code(), "wst:FailedAuthentication");
    }
    let locked = soap_issue_from(&s, "127.0.0.3", "demo", DEMO_PASSWORD);
    assert_eq!(locked.fault_code(), "wst:FailedAuthentication");
    let elsewhere = soap_issue_from(&s, "127.0.0.1", "demo", DEMO_PASSWORD);
    assert_eq!(elsewhere.status, 200, "{}", elsewhere.body);

    // And over the REST STS's USERNAME input.
    let admin = s.login("amadmin", ADMIN_PASSWORD);
    assert_eq!(
        publish(&s, &admin, "rest", &rest_instance("rest-x", false)).status,
        201
    );
    let translate_from = |from: &str, password: &str| {
        s.post_from(
            from,
            "/rest-sts/rest-x?_action=translate",
            &[
                ("iPlanetDirectoryPro", admin.as_str()),
                ("Content-Type", "application/json"),
            ],
            json!({
                "input_token_state": {"token_type": "USERNAME", "username": "alice", "password": password},
                "output_token_state": {"token_type": "SAML2", "subject_confirmation": "BEARER"}
            })
            .to_string(),
        )
        .status
    };
    for _ in 0..5 {
        assert_eq!(translate_from("127.0.0.4", "guess"), 401);
    }
    assert_eq!(translate_from("127.0.0.4", "s3cret"), 401);
    assert_eq!(translate_from("127.0.0.1", "s3cret"), 200);
}

#[test]
fn one_address_is_throttled_across_accounts() {
    let s = start_with(Opts {
        configure: Some(Box::new(|c| c.lockout_source_threshold = 4)),
        ..Default::default()
    });
    // One failure each for four accounts: no account is locked, but the address is.
    for user in ["amadmin", "alice", "nobody", "demo"] {
        assert_eq!(login_from(&s, "127.0.0.5", user, "guess"), 401);
    }
    assert_eq!(login_from(&s, "127.0.0.5", "demo", DEMO_PASSWORD), 401);
    let r = soap_issue_from(&s, "127.0.0.5", "alice", "s3cret");
    assert_eq!(r.fault_code(), "wst:FailedAuthentication");
    // Other addresses are not affected.
    assert_eq!(login_from(&s, "127.0.0.6", "demo", DEMO_PASSWORD), 200);
    assert_eq!(login_from(&s, "127.0.0.1", "alice", "s3cret"), 200);
}

/// Behind a reverse proxy every client shares the proxy's address: with the proxy in
/// `trusted_proxies`, the client it names in `X-Forwarded-For` is counted instead, so one
/// guesser cannot lock out everyone behind the proxy; anyone else's header is ignored.
#[test]
fn clients_behind_a_trusted_proxy_are_counted_by_the_address_it_names() {
    let s = start_with(Opts {
        configure: Some(Box::new(|cfg| {
            cfg.trusted_proxies = "127.0.0.2".parse().unwrap();
        })),
        ..Opts::default()
    });
    let login_via = |from: &str, client: &str, password: &str| {
        s.post_from(
            from,
            "/json/authenticate",
            &[
                ("X-OpenAM-Username", "amadmin"),
                ("X-OpenAM-Password", password),
                ("Content-Type", "application/json"),
                // What a client wrote, then what the proxy appended.
                ("X-Forwarded-For", &format!("127.0.0.1, {client}")),
            ],
            "{}",
        )
        .status
    };
    // A guesser behind the proxy locks only itself out.
    for _ in 0..5 {
        assert_eq!(login_via("127.0.0.2", "203.0.113.66", "guess"), 401);
    }
    assert_eq!(login_via("127.0.0.2", "203.0.113.66", ADMIN_PASSWORD), 401);
    // The operator behind the same proxy signs in.
    assert_eq!(login_via("127.0.0.2", "198.51.100.7", ADMIN_PASSWORD), 200);
    // A client that is not a trusted proxy cannot borrow another address with the header:
    // it is counted as itself (127.0.0.3), which is not locked...
    assert_eq!(login_via("127.0.0.3", "203.0.113.66", ADMIN_PASSWORD), 200);
    // ...and its own guesses lock 127.0.0.3, whatever address it names.
    for i in 0..5 {
        assert_eq!(
            login_via("127.0.0.3", &format!("192.0.2.{i}"), "guess"),
            401
        );
    }
    assert_eq!(login_via("127.0.0.3", "192.0.2.99", ADMIN_PASSWORD), 401);
}
