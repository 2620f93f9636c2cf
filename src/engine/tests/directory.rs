//! A realm whose users come from a directory (a real slapd, `identity::testldap`): the
//! directory decides passwords, local administrators stay local, digests are refused with
//! their reason, an outage is "unavailable" and never counts as a failed sign-in.

use super::*;
use crate::config::{GroupName, LdapConfig, RealmConfig};
use crate::identity::ldap::Directories;
use crate::identity::testldap::{self, TestLdap};

fn directory(urls: Vec<String>) -> Directories {
    let ldap = TestLdap::shared();
    let cfg = LdapConfig {
        urls,
        ca_file: Some(ldap.ca_pem_path()),
        bind_dn: ldap.bind_dn().into(),
        bind_password: Some(Secret::new(ldap.bind_password().into())),
        user_base: testldap::PEOPLE_DN.into(),
        attributes: vec!["cn".into(), "mail".into()],
        group_name: GroupName::Cn,
        connect_timeout_millis: 1000,
        operation_timeout_millis: 2000,
        ..LdapConfig::default()
    };
    let realms = BTreeMap::from([("/".to_owned(), RealmConfig { ldap: Some(cfg) })]);
    Directories::from_config(&realms).unwrap()
}

/// The usual fixture, its realm `/` served by `directories`.
fn with(directories: Directories) -> Fixture {
    let Fixture {
        engine,
        clock,
        dir,
        keys,
    } = fixture();
    Fixture {
        engine: engine.with_directories(directories),
        clock,
        dir,
        keys,
    }
}

#[test]
fn the_directory_decides_passwords_and_fills_the_principal() {
    let f = with(directory(vec![TestLdap::shared().ldaps_url()]));
    assert!(f.engine.has_directory("/") && !f.engine.has_directory("/other"));
    let alice = f
        .engine
        .authenticate("/", &password("alice", testldap::USER_PASSWORD))
        .unwrap();
    let p = alice.get();
    assert_eq!((p.name(), p.realm()), ("alice", "/"));
    assert_eq!(p.authenticated(), Some((t0(), "pwd")));
    assert_eq!(p.attributes()["mail"], vec!["alice@example.com".to_owned()]);
    assert_eq!(
        p.attributes()["memberOf"],
        vec!["engineering".to_owned(), "staff".to_owned()]
    );
    // The local alice's password no longer works: her realm's users are the directory's.
    for (name, pw) in [
        ("alice", PASSWORD),
        ("nobody", testldap::USER_PASSWORD),
        ("dave", testldap::USER_PASSWORD),
        ("carol", testldap::USER_PASSWORD),
        ("alice", ""),
    ] {
        match f.engine.authenticate("/", &password(name, pw)) {
            Err(e @ EngineError::AuthFailed(AuthFailure::Credentials)) => {
                assert_eq!(e.to_string(), "authentication failed")
            }
            other => panic!("{name}: {other:?}"),
        }
    }
    // A local administrator signs in against the local store.
    let root = f.engine.authenticate("/", &password("root", PASSWORD)).unwrap();
    assert_eq!(root.get().attributes()["mail"], vec!["root@example.com".to_owned()]);
}

#[test]
fn a_digest_is_refused_with_its_reason_except_for_local_administrators() {
    let f = with(directory(vec![TestLdap::shared().ldaps_url()]));
    let digest = |name: &str| Credential::PasswordDigest {
        username: name.into(),
        digest: Secret::new("AAAA".into()),
        nonce: b"0123456789abcdef".to_vec(),
        created: "2027-01-15T08:00:00Z".into(),
        source: None,
    };
    match f.engine.authenticate("/", &digest("alice")) {
        Err(EngineError::AuthFailed(AuthFailure::Refused(reason))) => {
            assert!(reason.contains("cannot check a PasswordDigest"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    // root's digest goes to the local check (and fails there on a wrong digest).
    assert!(matches!(
        f.engine.authenticate("/", &digest("root")),
        Err(EngineError::AuthFailed(AuthFailure::Credentials))
    ));
}

#[test]
fn failures_lock_out_and_an_outage_does_not_count() {
    let f = with(directory(vec![TestLdap::shared().ldaps_url()]));
    // The directory ignores case in names, and so do the counters.
    for name in ["bob", "Bob", "BOB"].iter().take(usize::try_from(THRESHOLD).unwrap()) {
        assert!(f.engine.authenticate("/", &password(name, "wrong")).is_err());
    }
    // Locked by sts, whatever the directory would say.
    assert!(matches!(
        f.engine
            .authenticate("/", &password("bob", testldap::USER_PASSWORD)),
        Err(EngineError::Locked)
    ));
    // A directory nobody answers at: unavailable, as often as asked, never a lockout.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let down = with(directory(vec![format!("ldaps://127.0.0.1:{port}")]));
    for _ in 0..=THRESHOLD {
        match down
            .engine
            .authenticate("/", &password("bob", testldap::USER_PASSWORD))
        {
            Err(EngineError::Unavailable(detail)) => {
                assert!(detail.contains(&port.to_string()), "{detail}")
            }
            other => panic!("{other:?}"),
        }
    }
    // The operators still sign in.
    assert!(down.engine.authenticate("/", &password("root", PASSWORD)).is_ok());
}

#[test]
fn sessions_and_vouched_for_subjects_read_the_directory() {
    let f = with(directory(vec![TestLdap::shared().ldaps_url()]));
    let (token, _) = f.engine.sessions().create("/", "alice", false).unwrap();
    let s = f
        .engine
        .session_principal(token.expose(), Some("/"))
        .unwrap()
        .unwrap();
    assert_eq!(s.role(), Role::User);
    assert_eq!(
        s.principal().get().attributes()["mail"],
        vec!["alice@example.com".to_owned()]
    );
    let (dave, _) = f.engine.sessions().create("/", "dave", false).unwrap();
    assert!(f.engine.session_principal(dave.expose(), None).unwrap().is_none());

    let i = f.instance(|_| {});
    let fail = |m: &str| EngineError::refused(m);
    let vouched = |name: &str| f.engine.vouched_by_plugin(&i, name, BTreeMap::new(), fail);
    let bob = vouched("bob").unwrap();
    assert_eq!(bob.get().attributes()["memberOf"], vec!["staff".to_owned()]);
    assert!(vouched("nobody").unwrap().get().attributes().is_empty());
    // A local user (disabled here) of a directory realm is not used: the directory decides.
    assert!(vouched("gone").unwrap().get().attributes().is_empty());
    for (name, reason) in [
        ("dave", "disabled"),
        ("carol", "locked"),
        ("root", "administrator"),
    ] {
        match vouched(name) {
            Err(EngineError::AuthFailed(AuthFailure::Refused(r))) => {
                assert!(r.contains(reason), "{name}: {r}")
            }
            other => panic!("{name}: {other:?}"),
        }
    }
}
