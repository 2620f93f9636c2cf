//! Issuing policy: which output and key types go together, lifetimes, audiences, the
//! interim session.

use super::*;

fn sessions_of_alice(f: &Fixture) -> usize {
    f.engine.sessions().of_user("/", "alice").unwrap().len()
}

#[test]
fn only_configured_output_types_are_issued() {
    let f = fixture();
    let i = f.instance(|_| {});
    match f
        .engine
        .issue(&i, &f.alice(), &IssueRequest::new(TokenType::OpenIdConnect))
    {
        Err(EngineError::Unsupported(m)) => {
            assert_eq!(m, "this instance does not issue OPENIDCONNECT tokens")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn id_tokens_are_bearer_only_whoever_asks() {
    let f = fixture();
    let i = f.oidc_instance(false);
    let alice = f.alice();
    let der = f.keys.certificates[crate::datadir::DEFAULT_KEY]
        .der()
        .to_vec();
    let cert = ProofCertificate::from_der(der, t0()).unwrap();
    for key_type in [
        KeyType::PublicKey(cert),
        KeyType::SenderVouches,
        KeyType::Symmetric(proof::SymmetricRequest {
            requestor_entropy: None,
            bits: 256,
        }),
    ] {
        let mut req = IssueRequest::new(TokenType::OpenIdConnect);
        req.key_type = key_type.clone();
        match f.engine.issue(&i, &alice, &req) {
            Err(EngineError::Unsupported(m)) => assert!(m.contains("bearer"), "{m}"),
            other => panic!("{key_type:?}: {other:?}"),
        }
    }
    let bearer = f
        .engine
        .issue(&i, &alice, &IssueRequest::new(TokenType::OpenIdConnect))
        .unwrap();
    assert_eq!(bearer.expires - bearer.created, Duration::seconds(300));
}

#[test]
fn lifetimes_are_capped_and_never_postdated_or_past() {
    let f = fixture();
    let i = f.instance(|_| {});
    let alice = f.alice();
    let with = |created: Option<i64>, expires: Option<i64>| {
        let mut req = IssueRequest::new(TokenType::Saml2);
        req.lifetime_created = created.map(|s| t0() + Duration::seconds(s));
        req.lifetime_expires = expires.map(|s| t0() + Duration::seconds(s));
        f.engine.issue(&i, &alice, &req)
    };
    let default = with(None, None).unwrap();
    assert_eq!(
        (default.created, default.expires),
        (t0(), t0() + Duration::seconds(600))
    );
    assert_eq!(
        with(None, Some(60)).unwrap().expires,
        t0() + Duration::seconds(60)
    );
    assert_eq!(
        with(None, Some(6000)).unwrap().expires,
        t0() + Duration::seconds(600)
    );
    assert!(with(Some(300), None).is_ok(), "within the skew");
    assert!(matches!(
        with(Some(301), None),
        Err(EngineError::Lifetime(_))
    ));
    assert!(matches!(with(None, Some(0)), Err(EngineError::Lifetime(_))));
    assert!(matches!(
        with(None, Some(-1)),
        Err(EngineError::Lifetime(_))
    ));
}

#[test]
fn audiences_are_the_configured_ones() {
    let f = fixture();
    let alice = f.alice();
    let to = |i: &ResolvedInstance, target: Option<&str>| {
        let mut req = IssueRequest::new(TokenType::Saml2);
        req.applies_to = target.map(str::to_owned);
        f.engine.issue(i, &alice, &req)
    };
    let open = f.instance(|_| {});
    assert_eq!(
        to(&open, None).unwrap().audience.as_deref(),
        Some("urn:sts:demo-sp")
    );
    // No list: any AppliesTo, as OpenAM does.
    assert_eq!(
        to(&open, Some("urn:any")).unwrap().audience.as_deref(),
        Some("urn:any")
    );
    let listed = f.instance(|j| {
        j["saml2-config"]["saml2-allowed-audiences"] = serde_json::json!(["urn:rp"]);
    });
    assert!(to(&listed, Some("urn:rp")).is_ok());
    assert!(
        to(&listed, Some("urn:sts:demo-sp")).is_ok(),
        "the SP itself"
    );
    assert!(matches!(
        to(&listed, Some("urn:any")),
        Err(EngineError::Audience(_))
    ));
}

#[test]
pub(super) fn interim_sessions_are_kept_only_when_issuing_succeeds_and_the_instance_says_so() {
    let f = fixture();
    let i = f.instance(|_| {});
    let cred = password("alice", PASSWORD);
    let ok = || Ok(IssueRequest::new(TokenType::Saml2));
    // Invalidated: never stored.
    f.engine
        .authenticate_and_issue(&i, &cred, true, ok)
        .unwrap();
    assert_eq!(sessions_of_alice(&f), 0);
    // Kept: stored and named in the assertion.
    let (_, issued) = f
        .engine
        .authenticate_and_issue(&i, &cred, false, ok)
        .unwrap();
    assert_eq!(sessions_of_alice(&f), 1);
    assert!(issued.token.contains("SessionIndex="), "{}", issued.token);
    // Issuing failed: the session is gone again.
    let failing = || {
        let mut req = IssueRequest::new(TokenType::Saml2);
        req.lifetime_expires = Some(t0() - Duration::seconds(1));
        Ok(req)
    };
    assert!(
        f.engine
            .authenticate_and_issue(&i, &cred, false, failing)
            .is_err()
    );
    assert_eq!(sessions_of_alice(&f), 1);
}

#[test]
pub(super) fn the_interim_guard_logs_out_unless_committed() {
    let f = fixture();
    let alice = f.alice();
    let dropped = super::super::issue::InterimSession::create(f.engine.sessions(), &alice).unwrap();
    let token = dropped.token().unwrap().clone();
    assert!(
        f.engine
            .sessions()
            .validate(token.expose())
            .unwrap()
            .is_some()
    );
    drop(dropped);
    assert!(
        f.engine
            .sessions()
            .validate(token.expose())
            .unwrap()
            .is_none()
    );
    let kept = super::super::issue::InterimSession::create(f.engine.sessions(), &alice).unwrap();
    let token = kept.token().unwrap().clone();
    kept.commit();
    assert!(
        f.engine
            .sessions()
            .validate(token.expose())
            .unwrap()
            .is_some()
    );
}

#[test]
fn on_behalf_of_gets_sender_vouches_assertions_only() {
    let f = fixture();
    let i = f.oidc_instance(false);
    let bob = f
        .engine
        .authenticate("/", &password("bob", PASSWORD))
        .unwrap();
    let vouched = |token_type, key_type: KeyType| {
        let mut req = IssueRequest::new(token_type);
        req.key_type = key_type;
        req.vouched_by = Some(bob.clone());
        f.engine.issue(&i, &f.alice(), &req)
    };
    let sv = vouched(TokenType::Saml2, KeyType::Bearer).unwrap();
    assert!(sv.token.contains("cm:sender-vouches"), "{}", sv.token);
    assert!(sv.token.contains(">alice</saml2:NameID>"), "{}", sv.token);
    for (t, k) in [
        (TokenType::OpenIdConnect, KeyType::Bearer),
        (TokenType::Saml2, KeyType::SenderVouches),
    ] {
        match vouched(t, k) {
            Err(EngineError::Unsupported(m)) => assert!(m.contains("sender-vouches"), "{m}"),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn symmetric_keys_only_over_tls_a_deployment_fact() {
    let sym = || {
        let mut req = IssueRequest::new(TokenType::Saml2);
        req.key_type = KeyType::Symmetric(proof::SymmetricRequest {
            requestor_entropy: None,
            bits: 256,
        });
        req
    };
    let f = fixture();
    let i = f.instance(|j| {
        j["saml2-config"]["saml2-encryption-key-alias"] = crate::datadir::DEFAULT_KEY.into();
    });
    match f.engine.issue(&i, &f.alice(), &sym()) {
        Err(EngineError::Unsupported(m)) => assert!(m.contains("only issued over TLS"), "{m}"),
        other => panic!("{other:?}"),
    }
    let f = fixture_with(true);
    let i = f.instance(|j| {
        j["saml2-config"]["saml2-encryption-key-alias"] = crate::datadir::DEFAULT_KEY.into();
    });
    let issued = f.engine.issue(&i, &f.alice(), &sym()).unwrap();
    assert!(issued.proof.is_some());
}

#[test]
fn a_use_key_is_accepted_only_when_this_request_proved_its_key() {
    let f = fixture();
    let der = |alias: &str| f.keys.certificates[alias].der().to_vec();
    let rsa = der(crate::datadir::DEFAULT_KEY);
    let ec = der(crate::datadir::DEFAULT_EC_KEY);
    let cert = ProofCertificate::from_der(rsa.clone(), t0()).unwrap();
    let signed = ProvenChain::from_message_signature(rsa.clone());
    assert_eq!(signed.proof(), PossessionProof::MessageSignature);
    assert!(require_possession(&cert, [&signed]).is_ok());
    let tls = ProvenChain::from_tls_handshake(vec![rsa.clone(), ec.clone()]);
    assert!(require_possession(&cert, [&tls]).is_ok());
    // Only the leaf's key was proven.
    let below = ProvenChain::from_tls_handshake(vec![ec.clone(), rsa]);
    assert!(matches!(
        require_possession(&cert, [&below]),
        Err(EngineError::AuthFailed(AuthFailure::Refused(_)))
    ));
    assert!(require_possession(&cert, []).is_err());
}

/// A value XML cannot carry is refused with a typed error naming where it was, never issued
/// with the character replaced (SAML 2.0 and 1.1).
#[test]
fn attribute_values_xml_cannot_carry_are_refused() {
    let f = fixture();
    let ctl = f
        .engine
        .authenticate("/", &password("ctl", PASSWORD))
        .unwrap();
    for token_type in [TokenType::Saml2, TokenType::Saml1] {
        // The demo instance maps `email` to the user's `mail`.
        let i = f.instance(|c| {
            c["issued-token-types"] = serde_json::json!(["SAML2", "SAML1"]);
        });
        match f.engine.issue(&i, &ctl, &IssueRequest::new(token_type)) {
            Err(EngineError::Internal(m)) => assert!(
                m.contains("U+0001") && m.contains("saml") && !m.contains("ctl"),
                "{m}"
            ),
            other => panic!("{token_type:?}: {other:?}"),
        }
        assert!(
            f.engine
                .issue(&i, &f.alice(), &IssueRequest::new(token_type))
                .is_ok()
        );
    }
}
