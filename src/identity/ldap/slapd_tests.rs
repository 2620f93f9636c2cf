//! The client against a real OpenLDAP (`identity::testldap`): search-then-bind, account
//! state, groups, AD-shaped entries, StartTLS, an untrusted certificate, failover and a
//! directory that stops or hangs.

use std::time::{Duration, Instant};

use super::*;
use crate::config::{BinaryForm, GroupName};
use crate::identity::testldap::{self, TestLdap};

fn cfg(ldap: &TestLdap, urls: Vec<String>) -> LdapConfig {
    LdapConfig {
        urls,
        ca_file: Some(ldap.ca_pem_path()),
        bind_dn: ldap.bind_dn().into(),
        bind_password: Some(Secret::new(ldap.bind_password().into())),
        user_base: testldap::PEOPLE_DN.into(),
        attributes: vec!["cn".into(), "mail".into()],
        connect_timeout_millis: 2000,
        operation_timeout_millis: 2000,
        ..LdapConfig::default()
    }
}

fn pw(p: &str) -> Secret<String> {
    Secret::new(p.to_owned())
}

fn one(attrs: &BTreeMap<String, Vec<String>>, name: &str) -> String {
    attrs
        .get(name)
        .and_then(|v| v.first())
        .cloned()
        .unwrap_or_default()
}

#[test]
fn search_then_bind_with_attributes_groups_and_account_state() {
    let ldap = TestLdap::shared();
    let mut c = cfg(ldap, vec![ldap.ldaps_url()]);
    c.group_base = Some(testldap::GROUPS_DN.into());
    c.group_name = GroupName::Cn;
    let d = Directory::new("/", &c).unwrap();
    let alice = d
        .authenticate("alice", &pw(testldap::USER_PASSWORD))
        .unwrap();
    assert_eq!(one(&alice.attributes, "mail"), "alice@example.com");
    assert_eq!(one(&alice.attributes, "cn"), "Alice Archer");
    assert_eq!(
        alice.attributes.get("memberOf").unwrap(),
        &vec!["engineering".to_owned(), "staff".to_owned()]
    );
    assert_eq!(alice.dn, "uid=alice,ou=people,dc=example,dc=com");
    let refused = |user: &str, password: &str| d.authenticate(user, &pw(password)).unwrap_err();
    assert!(matches!(refused("alice", "wrong"), DirectoryError::BadPassword));
    assert!(matches!(refused("nobody", testldap::USER_PASSWORD), DirectoryError::NoEntry));
    assert!(matches!(refused("alice", ""), DirectoryError::EmptyPassword));
    assert!(matches!(
        refused("dave", testldap::USER_PASSWORD),
        DirectoryError::Disabled("nsAccountLock")
    ));
    assert!(matches!(
        refused("carol", testldap::USER_PASSWORD),
        DirectoryError::Locked("pwdAccountLockedTime")
    ));
    // The probe's name is searched for literally: it is its own entry, not a wildcard.
    let probe = d
        .authenticate(testldap::PROBE_UID, &pw(testldap::PROBE_PASSWORD))
        .unwrap();
    assert_eq!(one(&probe.attributes, "mail"), "probe@example.com");
    assert!(matches!(
        refused(testldap::PROBE_UID, testldap::USER_PASSWORD),
        DirectoryError::BadPassword
    ));
    assert!(matches!(refused("a*", testldap::USER_PASSWORD), DirectoryError::NoEntry));
    assert!(matches!(refused("*", testldap::USER_PASSWORD), DirectoryError::NoEntry));
    // A filter matching several entries is refused, whatever the password.
    let mut broad = c.clone();
    broad.user_filter = "(|(uid={username})(objectClass=person))".into();
    let broad = Directory::new("/", &broad).unwrap();
    assert!(matches!(
        broad.authenticate("alice", &pw(testldap::USER_PASSWORD)),
        Err(DirectoryError::Ambiguous)
    ));
    // A look-up reads the same without a bind, and reports the state instead of refusing.
    let dave = d.lookup("dave").unwrap().unwrap();
    assert_eq!(dave.state, AccountState::Disabled("nsAccountLock"));
    assert_eq!(one(&dave.attributes, "mail"), "dave@example.com");
    assert!(d.lookup("nobody").unwrap().is_none());
}

#[test]
fn active_directory_shaped_entries() {
    let ldap = TestLdap::shared();
    let mut c = cfg(ldap, vec![ldap.ldaps_url()]);
    c.user_base = testldap::AD_USERS_DN.into();
    c.user_filter = "(sAMAccountName={username})".into();
    c.binary_attributes = [
        ("objectGUID".to_owned(), BinaryForm::Guid),
        ("objectSid".to_owned(), BinaryForm::Sid),
    ]
    .into();
    c.group_name = GroupName::Cn;
    let d = Directory::new("/ad", &c).unwrap();
    let erin = d
        .authenticate("erin", &pw(testldap::USER_PASSWORD))
        .unwrap();
    assert_eq!(one(&erin.attributes, "objectGUID"), testldap::ERIN_GUID);
    assert_eq!(one(&erin.attributes, "objectSid"), testldap::ERIN_SID);
    assert_eq!(
        erin.attributes.get("memberOf").unwrap(),
        &vec!["Domain Users".to_owned(), "Sales".to_owned()]
    );
    let refused = |user: &str| d.authenticate(user, &pw(testldap::USER_PASSWORD)).unwrap_err();
    assert!(matches!(refused("frank"), DirectoryError::Disabled("userAccountControl")));
    assert!(matches!(refused("grace"), DirectoryError::Locked("lockoutTime")));
    // userPrincipalName names, and the raw bytes in base64.
    c.user_filter = "(userPrincipalName={username})".into();
    c.binary_attributes = [
        ("objectGUID".to_owned(), BinaryForm::Base64),
        ("objectSid".to_owned(), BinaryForm::Base64),
    ]
    .into();
    let d = Directory::new("/ad", &c).unwrap();
    let erin = d
        .authenticate("erin@ad.example.com", &pw(testldap::USER_PASSWORD))
        .unwrap();
    assert_eq!(one(&erin.attributes, "objectGUID"), testldap::ERIN_GUID_BASE64);
    assert_eq!(one(&erin.attributes, "objectSid"), testldap::ERIN_SID_BASE64);
}

#[test]
fn starttls_on_ldap_urls_and_plaintext_only_when_asked() {
    let ldap = TestLdap::shared();
    let d = Directory::new("/", &cfg(ldap, vec![ldap.ldap_url()])).unwrap();
    assert!(d.authenticate("bob", &pw(testldap::USER_PASSWORD)).is_ok());
    let mut plain = cfg(ldap, vec![ldap.ldap_url()]);
    plain.starttls = false;
    plain.insecure_plaintext = true;
    let d = Directory::new("/", &plain).unwrap();
    assert!(d.authenticate("bob", &pw(testldap::USER_PASSWORD)).is_ok());
}

#[test]
fn a_certificate_from_an_untrusted_ca_is_refused_as_unavailable() {
    let ldap = TestLdap::start_untrusted();
    for url in [ldap.ldaps_url(), ldap.ldap_url()] {
        let d = Directory::new("/", &cfg(&ldap, vec![url.clone()])).unwrap();
        let err = d
            .authenticate("alice", &pw(testldap::USER_PASSWORD))
            .unwrap_err();
        let DirectoryError::Unavailable(detail) = &err else {
            panic!("{url}: {err:?}");
        };
        assert!(detail.contains("certificate") || detail.contains("TLS"), "{detail}");
    }
    // The CA that did sign it is accepted: the refusal was the trust, not the server.
    let mut c = cfg(&ldap, vec![ldap.ldaps_url()]);
    c.ca_file = Some(ldap.issuer_ca_pem_path());
    let d = Directory::new("/", &c).unwrap();
    assert!(d.authenticate("alice", &pw(testldap::USER_PASSWORD)).is_ok());
}

#[test]
fn failover_to_the_second_url_and_back_after_an_outage() {
    let mut first = TestLdap::start();
    let second = first.start_peer();
    let d = Directory::new(
        "/",
        &cfg(&first, vec![first.ldaps_url(), second.ldaps_url()]),
    )
    .unwrap();
    assert!(d.authenticate("alice", &pw(testldap::USER_PASSWORD)).is_ok());
    // The pooled connections to the first server die with it; the second one serves.
    first.stop();
    let alice = d
        .authenticate("alice", &pw(testldap::USER_PASSWORD))
        .unwrap();
    assert_eq!(one(&alice.attributes, "mail"), "alice@example.com");
    assert!(matches!(
        d.authenticate("alice", &pw("wrong")),
        Err(DirectoryError::BadPassword)
    ));
    first.start_again();
    assert!(d.authenticate("bob", &pw(testldap::USER_PASSWORD)).is_ok());
}

#[test]
fn a_stopped_or_hung_directory_is_unavailable_within_the_timeouts() {
    let mut ldap = TestLdap::start();
    let mut c = cfg(&ldap, vec![ldap.ldaps_url()]);
    c.connect_timeout_millis = 500;
    c.operation_timeout_millis = 500;
    let d = Directory::new("/", &c).unwrap();
    assert!(d.authenticate("alice", &pw(testldap::USER_PASSWORD)).is_ok());
    // Hung: connections are accepted (pooled ones stay open), nothing answers.
    ldap.pause();
    // SIGSTOP takes effect once every thread of slapd has been stopped, which on a loaded
    // machine may be after `kill` returned: the first calls may still be answered.
    let mut answered = 0;
    let err = loop {
        let started = Instant::now();
        match d.authenticate("alice", &pw(testldap::USER_PASSWORD)) {
            Ok(_) if answered < 50 => answered += 1,
            Ok(_) => panic!("a paused directory kept answering"),
            Err(e) => {
                assert!(started.elapsed() <= d.client.pool.budget(), "{:?}", started.elapsed());
                break e;
            }
        }
    };
    assert!(matches!(err, DirectoryError::Unavailable(_)), "{err:?}");
    assert!(d.client.pool.budget() < Duration::from_secs(10));
    ldap.resume();
    assert!(d.authenticate("alice", &pw(testldap::USER_PASSWORD)).is_ok());
    // Stopped: the port refuses, at once.
    ldap.stop();
    for _ in 0..2 {
        let err = d.lookup("alice").unwrap_err();
        assert!(matches!(err, DirectoryError::Unavailable(_)), "{err:?}");
    }
    ldap.start_again();
    assert!(d.lookup("alice").unwrap().is_some());
}

/// A hung directory holds at most a probe and the calls already waiting; the rest fail at
/// once instead of taking every request thread of the server.
#[test]
fn while_the_directory_hangs_further_calls_fail_at_once() {
    let ldap = TestLdap::start();
    let mut c = cfg(&ldap, vec![ldap.ldaps_url()]);
    c.connect_timeout_millis = 1000;
    c.operation_timeout_millis = 1000;
    let d = std::sync::Arc::new(Directory::new("/", &c).unwrap());
    assert!(d.authenticate("alice", &pw(testldap::USER_PASSWORD)).is_ok());
    ldap.pause();
    // Two callers keep trying, as clients would; each of their calls hangs or fails.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let callers: Vec<_> = (0..2)
        .map(|_| {
            let (d, stop) = (d.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let _ = d.authenticate("bob", &pw(testldap::USER_PASSWORD));
                }
            })
        })
        .collect();
    // Sooner or later a call finds one of theirs stuck (or the breaker open) and is refused
    // without waiting for the directory.
    let mut calls = 0;
    let refused = loop {
        calls += 1;
        assert!(calls < 30, "every call waited for the hung directory");
        match d.authenticate("alice", &pw(testldap::USER_PASSWORD)) {
            Err(DirectoryError::Unavailable(m))
                if m.contains("no answer for over") || m.contains("did not answer recently") =>
            {
                break m;
            }
            Err(DirectoryError::Unavailable(_)) => {}
            other => panic!("a hung directory answered: {other:?}"),
        }
    };
    assert!(!refused.is_empty());
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    ldap.resume();
    for t in callers {
        t.join().unwrap();
    }
    // Back: the first answer closes the breaker.
    let mut tries = 0;
    while d.authenticate("alice", &pw(testldap::USER_PASSWORD)).is_err() {
        tries += 1;
        assert!(tries < 100, "the directory stayed refused after it came back");
    }
}

#[test]
fn the_pool_is_bounded_and_reused_under_concurrency() {
    let ldap = TestLdap::shared();
    let mut c = cfg(ldap, vec![ldap.ldaps_url()]);
    c.pool_size = 2;
    let d = Arc::new(Directory::new("/", &c).unwrap());
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let d = d.clone();
            std::thread::spawn(move || {
                let (user, password) = if i % 2 == 0 {
                    ("alice", testldap::USER_PASSWORD)
                } else {
                    ("bob", "wrong")
                };
                (0..5)
                    .map(|_| d.authenticate(user, &pw(password)).is_ok())
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    for (i, t) in threads.into_iter().enumerate() {
        let results = t.join().unwrap();
        assert!(results.iter().all(|ok| *ok == (i % 2 == 0)), "{i}: {results:?}");
    }
    let open = d.client.pool.idle_count();
    assert!((1..=2).contains(&open), "{open} connections for a pool of 2");
}

#[test]
fn the_check_at_start_names_a_wrong_bind_password_or_base() {
    let ldap = TestLdap::shared();
    let check = |c: &LdapConfig| {
        let d = Directory::new("/", c).unwrap();
        d.call(|c| async move { c.check().await })
    };
    let good = cfg(ldap, vec![ldap.ldaps_url()]);
    check(&good).unwrap();
    let mut wrong = good.clone();
    wrong.bind_password = Some(Secret::new("not-it".into()));
    let err = check(&wrong).unwrap_err().to_string();
    assert!(err.contains("service account") && err.contains("bind_dn"), "{err}");
    assert!(!err.contains("not-it"), "{err}");
    let mut base = good.clone();
    base.user_base = "ou=nowhere,dc=example,dc=com".into();
    let err = check(&base).unwrap_err().to_string();
    assert!(err.contains("does not exist"), "{err}");
}
