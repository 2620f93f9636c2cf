//! Authentication: who is minted, how failures differ in kind but not on the wire, nonce
//! freshness and replay, message timestamps.

use super::*;

fn text_with_nonce(nonce: &[u8], created: DateTime<Utc>) -> Credential {
    Credential::PasswordText {
        username: "alice".into(),
        password: Secret::new(PASSWORD.into()),
        nonce: Some(nonce.to_vec()),
        created: Some(created.format("%Y-%m-%dT%H:%M:%SZ").to_string()),
        source: None,
    }
}

#[test]
pub(super) fn a_password_mints_an_authenticated_principal() {
    let f = fixture();
    let p = f.alice();
    assert_eq!(p.name(), "alice");
    assert_eq!(p.realm(), "/");
    assert_eq!(p.source(), PrincipalSource::Password);
    assert_eq!(p.authenticated(), Some((t0(), "pwd")));
    assert_eq!(p.attributes()["mail"], vec!["alice@example.com".to_owned()]);
    // Through an instance, the same.
    let i = f.instance(|_| {});
    let q = f
        .engine
        .authenticate_for(&i, &password("alice", PASSWORD))
        .unwrap();
    assert_eq!(q.get().name(), "alice");
}

#[test]
fn wrong_unknown_and_disabled_fail_alike() {
    let f = fixture();
    for (name, pw) in [("alice", "nope"), ("nobody", PASSWORD), ("gone", PASSWORD)] {
        match f.engine.authenticate("/", &password(name, pw)) {
            Err(e @ EngineError::AuthFailed(AuthFailure::Credentials)) => {
                assert_eq!(e.to_string(), "authentication failed")
            }
            other => panic!("{name}: {other:?}"),
        }
    }
    // Tokens and certificates need an instance's trust.
    let token = Credential::OidcIdToken {
        token: Secret::new("x".into()),
    };
    assert!(matches!(
        f.engine.authenticate("/", &token),
        Err(EngineError::AuthFailed(AuthFailure::Credentials))
    ));
}

#[test]
pub(super) fn lockout_is_its_own_kind_with_the_same_answer() {
    let f = fixture();
    for _ in 0..THRESHOLD {
        assert!(
            f.engine
                .authenticate("/", &password("alice", "bad"))
                .is_err()
        );
    }
    let locked = f
        .engine
        .authenticate("/", &password("alice", PASSWORD))
        .unwrap_err();
    assert!(matches!(locked, EngineError::Locked), "{locked:?}");
    assert_eq!(locked.to_string(), "authentication failed");
    assert!(locked.is_auth_failure());
    // The lock ends.
    f.advance(Duration::minutes(11));
    assert!(
        f.engine
            .authenticate("/", &password("alice", PASSWORD))
            .is_ok()
    );
}

#[test]
pub(super) fn nonces_are_fresh_once_inside_the_window() {
    let f = fixture();
    let nonce = b"0123456789abcdef";
    assert!(
        f.engine
            .authenticate("/", &text_with_nonce(nonce, t0()))
            .is_ok()
    );
    match f.engine.authenticate("/", &text_with_nonce(nonce, t0())) {
        Err(EngineError::Replay(m)) => assert!(m.contains("already used"), "{m}"),
        other => panic!("{other:?}"),
    }
    // Created: up to the skew (300 s) ahead; back to window (300 s) plus skew.
    let ahead = |s| {
        text_with_nonce(
            format!("ahead-{s:04}").as_bytes(),
            t0() + Duration::seconds(s),
        )
    };
    assert!(f.engine.authenticate("/", &ahead(300)).is_ok());
    assert!(matches!(
        f.engine.authenticate("/", &ahead(301)),
        Err(EngineError::NotYetValid(_))
    ));
    assert!(f.engine.authenticate("/", &ahead(-600)).is_ok());
    assert!(matches!(
        f.engine.authenticate("/", &ahead(-601)),
        Err(EngineError::Expired(_))
    ));
    assert!(matches!(
        f.engine.authenticate("/", &text_with_nonce(b"short", t0())),
        Err(EngineError::Invalid(_))
    ));
    // A wrong password does not burn the nonce.
    let mut wrong = text_with_nonce(b"kept-for-later-1", t0());
    if let Credential::PasswordText { password, .. } = &mut wrong {
        *password = Secret::new("bad".into());
    }
    assert!(f.engine.authenticate("/", &wrong).is_err());
    assert!(
        f.engine
            .authenticate("/", &text_with_nonce(b"kept-for-later-1", t0()))
            .is_ok()
    );
}

#[test]
fn message_timestamps_allow_the_skew_and_no_more() {
    let f = fixture();
    let ts = |c: Option<i64>, e: Option<i64>| MessageTimestamp {
        created: c.map(|s| t0() + Duration::seconds(s)),
        expires: e.map(|s| t0() + Duration::seconds(s)),
    };
    assert!(f.engine.check_timestamp(&ts(Some(300), Some(600))).is_ok());
    assert!(matches!(
        f.engine.check_timestamp(&ts(Some(301), None)),
        Err(EngineError::NotYetValid(_))
    ));
    assert!(f.engine.check_timestamp(&ts(None, Some(-300))).is_ok());
    assert!(matches!(
        f.engine.check_timestamp(&ts(None, Some(-301))),
        Err(EngineError::Expired(_))
    ));
    assert!(matches!(
        f.engine.check_timestamp(&ts(Some(10), Some(5))),
        Err(EngineError::Invalid(_))
    ));
}

#[test]
pub(super) fn signed_messages_are_accepted_once_until_they_expire() {
    let f = fixture();
    let until = t0() + Duration::seconds(60);
    assert!(f.engine.accept_once(b"sig", b"v", until).is_ok());
    assert!(matches!(
        f.engine.accept_once(b"sig", b"v", until),
        Err(EngineError::Replay(_))
    ));
    // Kinds are kept apart.
    assert!(f.engine.accept_once(b"other", b"v", until).is_ok());
    // Remembered until `until` plus skew.
    f.advance(Duration::seconds(360));
    assert!(f.engine.accept_once(b"sig", b"v", until).is_err());
    f.advance(Duration::seconds(1));
    assert!(f.engine.accept_once(b"sig", b"v", until).is_ok());
}

#[test]
pub(super) fn sessions_carry_the_role_and_authenticate_their_user() {
    let f = fixture();
    let (token, _) = f.engine.sessions().create("/", "root", false).unwrap();
    let s = f
        .engine
        .session_principal(token.expose(), None)
        .unwrap()
        .unwrap();
    assert_eq!(s.role(), Role::Admin);
    assert_eq!(s.principal().name(), "root");
    let (token, _) = f.engine.sessions().create("/", "alice", false).unwrap();
    let cred = Credential::Session {
        token: token.clone(),
    };
    let p = f.engine.authenticate("/", &cred).unwrap();
    assert_eq!((p.name(), p.authenticated()), ("alice", None));
    let s = f.engine.session_principal(token.expose(), None).unwrap();
    assert_eq!(s.map(|s| s.role()), Some(Role::User));
    // Another realm's session is not one here.
    assert!(f.engine.authenticate("/sub", &cred).is_err());
    f.engine.sessions().logout(token.expose()).unwrap();
    assert!(matches!(
        f.engine.authenticate("/", &cred),
        Err(EngineError::AuthFailed(AuthFailure::Credentials))
    ));
}

#[test]
fn certificates_need_the_instances_trust() {
    let f = fixture();
    let i = f.instance(|_| {});
    let chain = ProvenChain::from_tls_handshake(vec![b"not a certificate".to_vec()]);
    assert_eq!(chain.proof(), PossessionProof::TlsHandshake);
    match f.engine.authenticate_for(&i, &Credential::X509(chain)) {
        Err(EngineError::AuthFailed(AuthFailure::Refused(m))) => {
            assert_eq!(m, "X.509: this instance trusts no certificate authority")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn untrusted_token_issuers_are_their_own_kind() {
    let f = fixture();
    let i = f.instance(|_| {});
    let b64 = |s: &str| {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
    };
    let jwt = format!(
        "{}.{}.{}",
        b64(r#"{"alg":"RS256"}"#),
        b64(r#"{"iss":"https://elsewhere"}"#),
        b64("sig")
    );
    let cred = Credential::OidcIdToken {
        token: Secret::new(jwt),
    };
    match f.engine.authenticate_for(&i, &cred) {
        Err(e @ EngineError::UnknownIssuer(_)) => {
            assert_eq!(
                e.to_string(),
                "id_token: the issuer is not trusted by this instance"
            );
            assert!(e.is_auth_failure());
        }
        other => panic!("{other:?}"),
    }
}
