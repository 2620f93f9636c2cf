//! Realms whose users come from a real OpenLDAP directory (`identity::testldap`): SOAP
//! (PasswordText UsernameTokens), the REST STS (USERNAME input) and `/json/authenticate`;
//! attributes and groups in signed assertions, refusals, injection, TLS trust, failover,
//! outages, PasswordDigest, the AD-shaped subtree, administrators during an outage, sessions,
//! and sts's own lockout on top of the directory (shared by nodes sharing a store).

use std::time::{Duration, Instant};

use sts::identity::testldap::{self, TestLdap};

use crate::common::*;

const STAFF: &str = "cn=staff,ou=groups,dc=example,dc=com";
const ENGINEERING: &str = "cn=engineering,ou=groups,dc=example,dc=com";

/// A server whose realm `/` is the shared directory's people subtree over LDAPS.
fn people_server(ldap: &TestLdap, opts: Opts) -> TestServer {
    start_with_directory(
        &people_realm("/", &[ldap.ldaps_url()], &ldap.ca_pem_path(), ldap),
        opts,
    )
}

fn admin_and_rest(s: &TestServer) -> String {
    let admin = s.login("amadmin", ADMIN_PASSWORD);
    let r = publish(s, &admin, "rest", &directory_rest_instance("rest-ldap"));
    assert_eq!(r.status, 201, "{}", r.body);
    admin
}

fn rest_assertion(
    s: &TestServer,
    r: &Reply,
) -> (String, std::collections::BTreeMap<String, Vec<String>>) {
    let saml = issued(r);
    let (ok, out) = xmlsec1_verify(&saml, &s.cert("sts-signing"));
    assert!(ok, "xmlsec1: {out}");
    saml_attributes(&saml)
}

fn one(attrs: &std::collections::BTreeMap<String, Vec<String>>, name: &str) -> String {
    match attrs.get(name).map(Vec::as_slice) {
        Some([v]) => v.clone(),
        other => panic!("{name}: {other:?} in {attrs:?}"),
    }
}

#[test]
fn directory_users_get_signed_assertions_with_their_attributes_and_groups() {
    let ldap = TestLdap::shared();
    let s = people_server(ldap, Opts::default());

    // SOAP, PasswordText.
    let r = soap_text(&s, SOAP_LDAP, "alice", testldap::USER_PASSWORD);
    let (name, attrs) = verified_soap_assertion(&s, &r);
    assert_eq!(name, "alice");
    assert_eq!(one(&attrs, "email"), "alice@example.com");
    assert_eq!(one(&attrs, "cn"), "Alice Archer");
    assert_eq!(one(&attrs, "givenName"), "Alice");
    assert_eq!(one(&attrs, "sn"), "Archer");
    let mut groups = attrs["groups"].clone();
    groups.sort();
    assert_eq!(groups, [ENGINEERING, STAFF]);

    // REST, USERNAME input.
    let admin = admin_and_rest(&s);
    let r = rest_username(&s, &admin, "rest-ldap", "bob", testldap::USER_PASSWORD);
    let (name, attrs) = rest_assertion(&s, &r);
    assert_eq!(name, "bob");
    assert_eq!(one(&attrs, "email"), "bob@example.com");
    assert_eq!(attrs["groups"], [STAFF]);

    // USERNAME -> OPENIDCONNECT: the claim map reads the directory too.
    let r = call(
        &s,
        &admin,
        "rest-ldap",
        "translate",
        &serde_json::json!({
            "input_token_state": {"token_type": "USERNAME", "username": "alice", "password": testldap::USER_PASSWORD},
            "output_token_state": oidc_out("n-ldap")
        }),
    );
    let (ok, out) = pyjwt_verify(&s, &issued(&r), "RS256", &s.cert("sts-signing"));
    assert!(ok, "PyJWT: {out}");
    let v: serde_json::Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    assert_eq!(v["claims"]["sub"], "alice");
    assert_eq!(v["claims"]["email"], "alice@example.com");

    // /json/authenticate: a session for the directory user.
    let r = json_login(&s, "alice", testldap::USER_PASSWORD);
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.json()["tokenId"].as_str().is_some_and(|t| !t.is_empty()));

    // The realm's users are the directory's: local non-administrators no longer sign in
    // there (the local alice has another password; demo is local only).
    let r = soap_text(&s, SOAP_LDAP, "alice", "s3cret");
    assert_eq!(r.fault_code(), "wst:FailedAuthentication", "{}", r.body);
    assert_eq!(json_login(&s, "demo", DEMO_PASSWORD).status, 401);
}

#[test]
fn wrong_unknown_disabled_locked_and_empty_are_refused_over_soap_rest_and_json() {
    let ldap = TestLdap::shared();
    let s = people_server(ldap, Opts::default());
    let admin = admin_and_rest(&s);
    let pw = testldap::USER_PASSWORD;
    let cases = [
        ("wrong password", "alice", "not-her-password"),
        ("unknown user", "nobody", pw),
        ("disabled (nsAccountLock)", "dave", pw),
        ("locked (pwdAccountLockedTime)", "carol", pw),
        ("empty password", "bob", ""),
    ];
    for (what, user, password) in cases {
        let r = soap_text(&s, SOAP_LDAP, user, password);
        assert_eq!(
            r.fault_code(),
            "wst:FailedAuthentication",
            "{what}: {}",
            r.body
        );
        let r = rest_username(&s, &admin, "rest-ldap", user, password);
        // The REST STS refuses an empty password as a bad request, before any bind.
        let status = if password.is_empty() { 400 } else { 401 };
        assert_eq!(r.status, status, "{what}: {}", r.body);
        let r = json_login(&s, user, password);
        assert_eq!(r.status, 401, "{what}: {}", r.body);
    }
    // Nothing above was an outage: the directory still signs alice and bob in.
    let r = soap_text(&s, SOAP_LDAP, "alice", pw);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(json_login(&s, "bob", pw).status, 200);
}

#[test]
fn a_filter_injection_name_matches_only_its_own_entry() {
    let ldap = TestLdap::shared();
    let s = people_server(ldap, Opts::default());
    let admin = admin_and_rest(&s);
    let (probe, alice_pw) = (testldap::PROBE_UID, testldap::USER_PASSWORD);
    // Unescaped, `(uid=a*)(uid=*)` finds alice; with her password that would be a sign-in.
    for name in [probe, "*", "a*", "alice)(|(uid=*", "alic*"] {
        let r = soap_text(&s, SOAP_LDAP, name, alice_pw);
        assert_eq!(
            r.fault_code(),
            "wst:FailedAuthentication",
            "{name}: {}",
            r.body
        );
        let r = rest_username(&s, &admin, "rest-ldap", name, alice_pw);
        assert_eq!(r.status, 401, "{name}: {}", r.body);
    }
    // The probe with its own password is itself, never alice.
    let r = soap_text(&s, SOAP_LDAP, probe, testldap::PROBE_PASSWORD);
    let (name, attrs) = verified_soap_assertion(&s, &r);
    assert_eq!(name, probe);
    assert_eq!(one(&attrs, "email"), "probe@example.com");
    let r = rest_username(&s, &admin, "rest-ldap", probe, testldap::PROBE_PASSWORD);
    let (_, attrs) = rest_assertion(&s, &r);
    assert_eq!(one(&attrs, "email"), "probe@example.com");
}

#[test]
fn password_digest_is_refused_with_a_message_that_says_why() {
    let ldap = TestLdap::shared();
    let s = people_server(ldap, Opts::default());
    let r = s.post(
        &format!("/sts/{SOAP_LDAP}"),
        &[("Content-Type", "text/xml"), ("SOAPAction", ISSUE_ACTION)],
        envelope(
            SOAP11,
            &username_digest("alice", testldap::USER_PASSWORD),
            RST_ISSUE,
        ),
    );
    assert_eq!(r.fault_code(), "wst:FailedAuthentication", "{}", r.body);
    let text = r.body.to_lowercase();
    assert!(
        text.contains("digest") && text.contains("directory"),
        "the fault should say a directory cannot check digests: {}",
        r.body
    );
    // The digest of the local realm still works for its own users (another server).
    let local = start();
    let r = local.post_soap11(&envelope(
        SOAP11,
        &username_digest("alice", "s3cret"),
        RST_ISSUE,
    ));
    assert_eq!(r.status, 200, "{}", r.body);
}

/// Failures that are the directory's, not the user's: SOAP RequestFailed, REST and JSON 503.
fn assert_unavailable(s: &TestServer, admin: &str, what: &str) {
    let pw = testldap::USER_PASSWORD;
    let r = soap_text(s, SOAP_LDAP, "alice", pw);
    assert_eq!(r.fault_code(), "wst:RequestFailed", "{what}: {}", r.body);
    let r = rest_username(s, admin, "rest-ldap", "alice", pw);
    assert_eq!(r.status, 503, "{what}: {}", r.body);
    let r = json_login(s, "alice", pw);
    assert_eq!(r.status, 503, "{what}: {}", r.body);
}

#[test]
fn an_untrusted_directory_certificate_is_refused_and_not_as_a_wrong_password() {
    let ldap = TestLdap::start_untrusted();
    // Over LDAPS and over StartTLS (ldap:// upgrades by default).
    for url in [ldap.ldaps_url(), ldap.ldap_url()] {
        let s = start_with_directory(
            &people_realm("/", std::slice::from_ref(&url), &ldap.ca_pem_path(), &ldap),
            Opts::default(),
        );
        let admin = admin_and_rest(&s);
        assert_unavailable(&s, &admin, &url);
    }
    // The same directory, trusted: works (so only the trust made the difference).
    let s = start_with_directory(
        &people_realm("/", &[ldap.ldaps_url()], &ldap.issuer_ca_pem_path(), &ldap),
        Opts::default(),
    );
    let r = soap_text(&s, SOAP_LDAP, "alice", testldap::USER_PASSWORD);
    assert_eq!(r.status, 200, "{}", r.body);
}

#[test]
fn the_second_url_serves_when_the_first_is_stopped() {
    let mut first = TestLdap::start();
    let mut second = first.start_peer();
    // Which directory answered shows in the mail attribute.
    second.modify(&format!(
        "dn: uid=alice,{}\nchangetype: modify\nreplace: mail\nmail: alice@second.example.com\n",
        testldap::PEOPLE_DN
    ));
    let urls = [first.ldaps_url(), second.ldap_url()];
    let s = start_with_directory(
        &people_realm("/", &urls, &first.ca_pem_path(), &first),
        Opts::default(),
    );
    let admin = admin_and_rest(&s);
    let pw = testldap::USER_PASSWORD;
    let mail = |r: &Reply| one(&verified_soap_assertion(&s, r).1, "email");
    assert_eq!(
        mail(&soap_text(&s, SOAP_LDAP, "alice", pw)),
        "alice@example.com"
    );

    // The first goes away with pooled connections open: the next requests use the second
    // (over StartTLS).
    first.stop();
    assert_eq!(
        mail(&soap_text(&s, SOAP_LDAP, "alice", pw)),
        "alice@second.example.com"
    );
    let r = rest_username(&s, &admin, "rest-ldap", "alice", pw);
    assert_eq!(
        one(&rest_assertion(&s, &r).1, "email"),
        "alice@second.example.com"
    );
    assert_eq!(json_login(&s, "alice", pw).status, 200);
    // A wrong password through the second is still a wrong password.
    let r = soap_text(&s, SOAP_LDAP, "alice", "wrong");
    assert_eq!(r.fault_code(), "wst:FailedAuthentication", "{}", r.body);

    // The first comes back, the second goes: the first serves again.
    first.start_again();
    second.stop();
    assert_eq!(
        mail(&soap_text(&s, SOAP_LDAP, "alice", pw)),
        "alice@example.com"
    );
}

#[test]
fn a_stopped_directory_fails_fast_with_503_and_administrators_still_sign_in() {
    let mut ldap = TestLdap::start();
    let mut peer = ldap.start_peer();
    let s = start_with_directory(
        &people_realm(
            "/",
            &[ldap.ldaps_url(), peer.ldaps_url()],
            &ldap.ca_pem_path(),
            &ldap,
        ),
        Opts::default(),
    );
    let admin = admin_and_rest(&s);
    let pw = testldap::USER_PASSWORD;
    assert_eq!(soap_text(&s, SOAP_LDAP, "alice", pw).status, 200);
    ldap.stop();
    peer.stop();

    let started = Instant::now();
    let r = soap_text(&s, SOAP_LDAP, "alice", pw);
    let took = started.elapsed();
    assert_eq!(r.fault_code(), "wst:RequestFailed", "{}", r.body);
    eprintln!("ldap: both directories stopped: SOAP RequestFailed in {took:?}");
    // Refused connections fail at once; the bound only catches a hang or a retry loop.
    assert!(took < Duration::from_secs(10), "{took:?}");
    assert_unavailable(&s, &admin, "both stopped");
    // Repeated outages are not wrong passwords: they lock nobody out.
    for _ in 0..6 {
        assert_eq!(json_login(&s, "alice", pw).status, 503);
    }

    // The administrators are local: they sign in during the outage.
    let r = json_login(&s, "amadmin", ADMIN_PASSWORD);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(json_login(&s, "amadmin", "wrong").status, 401);

    ldap.start_again();
    assert_eq!(soap_text(&s, SOAP_LDAP, "alice", pw).status, 200);
    assert_eq!(json_login(&s, "alice", pw).status, 200);
}

#[test]
fn a_hung_directory_times_out_with_503_instead_of_hanging() {
    let ldap = TestLdap::start();
    let s = people_server(&ldap, Opts::default());
    let admin = admin_and_rest(&s);
    let pw = testldap::USER_PASSWORD;
    assert_eq!(soap_text(&s, SOAP_LDAP, "alice", pw).status, 200);
    // Frozen: connections are accepted, nothing answers (pooled or new ones).
    ldap.pause();
    let started = Instant::now();
    let r = soap_text(&s, SOAP_LDAP, "alice", pw);
    let took = started.elapsed();
    assert_eq!(r.fault_code(), "wst:RequestFailed", "{}", r.body);
    eprintln!("ldap: hung directory (timeouts 1000/1500 ms): SOAP RequestFailed in {took:?}");
    // The timeouts are 1 s and 1.5 s; the bound is many times that, yet far from a hang.
    assert!(took < Duration::from_secs(20), "{took:?}");
    let r = rest_username(&s, &admin, "rest-ldap", "alice", pw);
    assert_eq!(r.status, 503, "{}", r.body);
    ldap.resume();
    wait_until("the directory serves again", || {
        soap_text(&s, SOAP_LDAP, "alice", pw).status == 200
    });
}

#[test]
fn an_ad_shaped_directory_by_sam_account_name_and_by_user_principal_name() {
    let ldap = TestLdap::shared();
    // /ad: sAMAccountName, groups from memberOf as DNs, GUID and SID in AD's string forms.
    let by_sam = ad_realm("/ad", ldap, "(sAMAccountName={username})", "guid", "")
        .replace("objectSid = \"guid\"", "objectSid = \"sid\"");
    // /: userPrincipalName, groups by a group search as short names, binary as base64.
    let by_upn = ad_realm(
        "/",
        ldap,
        "(userPrincipalName={username})",
        "base64",
        &format!(
            "groups_attribute = \"\"\ngroup_base = \"{}\"\ngroup_filter = \"(member={{dn}})\"\ngroup_name = \"cn\"\n",
            testldap::AD_GROUPS_DN
        ),
    );
    let s = start_with_directory(&format!("{by_sam}\n{by_upn}"), Opts::default());
    let pw = testldap::USER_PASSWORD;

    let r = soap_text(&s, SOAP_AD, "erin", pw);
    let (name, attrs) = verified_soap_assertion(&s, &r);
    assert_eq!(name, "erin");
    assert_eq!(one(&attrs, "email"), "erin@ad.example.com");
    assert_eq!(one(&attrs, "upn"), "erin@ad.example.com");
    assert_eq!(one(&attrs, "guid"), testldap::ERIN_GUID);
    assert_eq!(one(&attrs, "sid"), testldap::ERIN_SID);
    let mut groups = attrs["groups"].clone();
    groups.sort();
    assert_eq!(
        groups,
        [
            "cn=Domain Users,ou=groups,ou=ad,dc=example,dc=com",
            "cn=Sales,ou=groups,ou=ad,dc=example,dc=com"
        ]
    );
    // Disabled (userAccountControl 514) and locked out (lockoutTime > 0).
    for user in ["frank", "grace"] {
        let r = soap_text(&s, SOAP_AD, user, pw);
        assert_eq!(
            r.fault_code(),
            "wst:FailedAuthentication",
            "{user}: {}",
            r.body
        );
    }
    // The people subtree is not this realm's: alice is unknown here.
    let r = soap_text(&s, SOAP_AD, "alice", pw);
    assert_eq!(r.fault_code(), "wst:FailedAuthentication", "{}", r.body);

    let r = soap_text(&s, SOAP_LDAP, "erin@ad.example.com", pw);
    let (name, attrs) = verified_soap_assertion(&s, &r);
    assert_eq!(name, "erin@ad.example.com");
    assert_eq!(one(&attrs, "guid"), testldap::ERIN_GUID_BASE64);
    assert_eq!(one(&attrs, "sid"), testldap::ERIN_SID_BASE64);
    let mut groups = attrs["groups"].clone();
    groups.sort();
    assert_eq!(groups, ["Domain Users", "Sales"]);
    for user in ["frank@ad.example.com", "grace@ad.example.com"] {
        let r = json_login(&s, user, pw);
        assert_eq!(r.status, 401, "{user}: {}", r.body);
    }
    assert_eq!(json_login(&s, "erin@ad.example.com", pw).status, 200);
}

#[test]
fn sts_lockout_counts_directory_failures_too() {
    let ldap = TestLdap::shared();
    let s = people_server(
        ldap,
        Opts {
            configure: Some(Box::new(|c: &mut sts::config::Config| {
                c.lockout_threshold = 3
            })),
            ..Default::default()
        },
    );
    let pw = testldap::USER_PASSWORD;
    for _ in 0..3 {
        assert_eq!(json_login(&s, "bob", "guess").status, 401);
    }
    // The directory would accept bob (ppolicy never locks on failures here); sts does not.
    let r = soap_text(&s, SOAP_LDAP, "bob", pw);
    assert_eq!(r.fault_code(), "wst:FailedAuthentication", "{}", r.body);
    assert_eq!(json_login(&s, "bob", pw).status, 401);
    // Only bob, from here.
    assert_eq!(json_login(&s, "alice", pw).status, 200);
}

#[test]
fn the_sts_binary_with_a_directory_realm_never_logs_the_passwords() {
    let mut ldap = TestLdap::start();
    let dir = bootstrapped_dir();
    // The bind password from the environment instead of a file (one directory realm).
    let toml = people_realm("/", &[ldap.ldaps_url()], &ldap.ca_pem_path(), &ldap)
        .lines()
        .filter(|l| !l.starts_with("bind_password_file"))
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(dir.path().join("sts.toml"), toml).unwrap();
    std::fs::write(
        dir.path().join(format!("instances/soap/{SOAP_LDAP}.json")),
        serde_json::to_vec(&directory_instance(SOAP_LDAP, "/")).unwrap(),
    )
    .unwrap();
    let proc = LoggedServer::start(
        dir.path(),
        &["--data-dir", ".", "--config", "sts.toml"],
        &[
            ("STS_LDAP_BIND_PASSWORD", testldap::BIND_PASSWORD),
            ("STS_LOG", "sts=debug,info"),
        ],
    );
    let s = TestServer::remote(&proc.base);
    let pw = testldap::USER_PASSWORD;
    let r = soap_text(&s, SOAP_LDAP, "alice", pw);
    assert_eq!(r.status, 200, "{}", r.body);
    let r = soap_text(&s, SOAP_LDAP, "bob", "a-wrong-guess");
    assert_eq!(r.fault_code(), "wst:FailedAuthentication", "{}", r.body);
    assert_eq!(json_login(&s, "bob", pw).status, 200);
    ldap.stop();
    let r = soap_text(&s, SOAP_LDAP, "alice", pw);
    assert_eq!(r.fault_code(), "wst:RequestFailed", "{}", r.body);
    let log = proc.stop();
    for secret in [testldap::BIND_PASSWORD, pw, "a-wrong-guess"] {
        assert!(!log.contains(secret), "`{secret}` in the log:\n{log}");
    }
    assert!(
        log.to_lowercase().contains("ldap") || log.contains(&ldap.ldaps_url()),
        "the outage should be in the log:\n{log}"
    );
}

#[test]
fn a_directory_users_session_follows_the_directory() {
    let mut ldap = TestLdap::start();
    let s = people_server(&ldap, Opts::default());
    let admin = admin_and_rest(&s);
    let pw = testldap::USER_PASSWORD;
    let session = |user: &str| {
        let r = json_login(&s, user, pw);
        assert_eq!(r.status, 200, "{user}: {}", r.body);
        r.json()["tokenId"].as_str().unwrap().to_owned()
    };
    let (bob, alice) = (session("bob"), session("alice"));
    let with_session = |token: &str| {
        call(
            &s,
            &admin,
            "rest-ldap",
            "translate",
            &serde_json::json!({
                "input_token_state": {"token_type": "OPENAM", "session_id": token},
                "output_token_state": oidc_out("n-session")
            }),
        )
    };
    let r = with_session(&bob);
    let (ok, out) = pyjwt_verify(&s, &issued(&r), "RS256", &s.cert("sts-signing"));
    assert!(ok && out.contains("bob@example.com"), "{out}");

    // Disabled in the directory: bob's session no longer issues, nor does his password.
    ldap.modify(&format!(
        "dn: uid=bob,{}\nchangetype: modify\nadd: objectClass\nobjectClass: stsTestAccountLock\n-\nadd: nsAccountLock\nnsAccountLock: TRUE\n",
        testldap::PEOPLE_DN
    ));
    let r = with_session(&bob);
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(json_login(&s, "bob", pw).status, 401);
    assert_eq!(with_session(&alice).status, 200);

    // The directory down: a session cannot be checked against it, which is not a refusal.
    ldap.stop();
    let r = with_session(&alice);
    assert_eq!(r.status, 503, "{}", r.body);
    ldap.start_again();
    assert_eq!(with_session(&alice).status, 200);
}

#[test]
fn directory_failures_on_two_nodes_sharing_a_store_lock_the_account_on_both() {
    let ldap = TestLdap::shared();
    let url = sts::store::testpg::TestPostgres::shared().fresh_schema();
    let keys = tempfile::tempdir().unwrap();
    let master = keys.path().join("master.key");
    let (ok, out) = run(std::process::Command::new(env!("CARGO_BIN_EXE_sts"))
        .args(["keys", "master-key", "generate"])
        .arg(&master));
    assert!(ok, "{out}");
    let node = || {
        let (url, master) = (url.clone(), master.clone());
        people_server(
            ldap,
            Opts {
                configure: Some(Box::new(move |c: &mut sts::config::Config| {
                    c.store_url = Some(url);
                    c.master_key_file = Some(master);
                })),
                ..Default::default()
            },
        )
    };
    let (a, b) = (node(), node());
    let pw = testldap::USER_PASSWORD;
    // Five wrong passwords (the default threshold), spread over both nodes.
    for s in [&a, &b, &a, &b, &a] {
        let r = soap_text(s, SOAP_LDAP, "bob", "guess");
        assert_eq!(r.fault_code(), "wst:FailedAuthentication", "{}", r.body);
    }
    for s in [&a, &b] {
        let r = soap_text(s, SOAP_LDAP, "bob", pw);
        assert_eq!(r.fault_code(), "wst:FailedAuthentication", "{}", r.body);
        assert_eq!(json_login(s, "bob", pw).status, 401);
        assert_eq!(soap_text(s, SOAP_LDAP, "alice", pw).status, 200);
    }
}
