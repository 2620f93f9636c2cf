//! The client against sockets that fail in known ways (no server, a server that never
//! answers); the tests against a real slapd are in `slapd_tests.rs`.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use super::*;

fn cfg(urls: Vec<String>) -> LdapConfig {
    LdapConfig {
        urls,
        bind_dn: "cn=sts,dc=example,dc=com".into(),
        bind_password: Some(Secret::new("pw".into())),
        user_base: "dc=example,dc=com".into(),
        connect_timeout_millis: 300,
        operation_timeout_millis: 300,
        ..LdapConfig::default()
    }
}

/// A loopback port nothing listens on.
fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[test]
fn no_server_is_unavailable_at_once_naming_every_url() {
    let (a, b) = (closed_port(), closed_port());
    let urls = vec![
        format!("ldaps://127.0.0.1:{a}"),
        format!("ldap://127.0.0.1:{b}"),
    ];
    let d = Directory::new("/", &cfg(urls)).unwrap();
    let err = d
        .authenticate("alice", &Secret::new("pw".into()))
        .unwrap_err();
    let DirectoryError::Unavailable(detail) = &err else {
        panic!("{err:?}");
    };
    assert!(
        detail.contains(&a.to_string()) && detail.contains(&b.to_string()),
        "{detail}"
    );
    assert!(matches!(d.lookup("alice"), Err(DirectoryError::Unavailable(_))));
    assert_eq!(d.client.pool.idle_count(), 0);
}

#[test]
fn a_server_that_never_answers_times_out_as_unavailable() {
    // Accepts TCP connections (the kernel does, from the backlog) and never speaks TLS.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ldaps://{}", silent.local_addr().unwrap());
    let d = Directory::new("/", &cfg(vec![url])).unwrap();
    let started = Instant::now();
    let err = d
        .authenticate("alice", &Secret::new("pw".into()))
        .unwrap_err();
    assert!(matches!(err, DirectoryError::Unavailable(_)), "{err:?}");
    // Bounded by the timeouts, far below the budget's backstop (generous for slow machines).
    assert!(started.elapsed() < Duration::from_secs(20), "{:?}", started.elapsed());
    assert!(d.client.pool.budget() < Duration::from_secs(20));
}

#[test]
fn an_empty_password_never_reaches_the_directory() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("ldaps://{}", listener.local_addr().unwrap());
    let d = Directory::new("/", &cfg(vec![url])).unwrap();
    assert!(matches!(
        d.authenticate("alice", &Secret::new(String::new())),
        Err(DirectoryError::EmptyPassword)
    ));
    assert!(matches!(
        d.authenticate("", &Secret::new("pw".into())),
        Err(DirectoryError::NoEntry)
    ));
    let long = "x".repeat(MAX_NAME_CHARS + 1);
    assert!(matches!(d.lookup(&long), Ok(None)));
    assert_eq!(
        listener.accept().map_err(|e| e.kind()).err(),
        Some(std::io::ErrorKind::WouldBlock),
        "no connection was made"
    );
}

#[test]
fn a_ca_file_without_certificates_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, "not a certificate\n").unwrap();
    let mut c = cfg(vec!["ldaps://127.0.0.1:1".into()]);
    c.ca_file = Some(ca);
    let err = Directory::new("/", &c).unwrap_err();
    assert!(err.contains("ca_file"), "{err}");
    let mut realms = BTreeMap::new();
    realms.insert("/sub".to_owned(), RealmConfig { ldap: Some(c) });
    let err = Directories::from_config(&realms).unwrap_err();
    assert!(err.contains("[realms.\"/sub\".ldap]"), "{err}");
}
