//! Checking own tokens: the time window at its edges, persistence, references.

use super::*;

fn saml(f: &Fixture, i: &ResolvedInstance) -> Issued {
    f.engine
        .issue(i, &f.alice(), &IssueRequest::new(TokenType::Saml2))
        .unwrap()
}

#[test]
fn own_assertions_are_live_until_not_on_or_after_without_skew() {
    let f = fixture();
    let i = f.instance(|_| {});
    let issued = saml(&f, &i);
    let target = TokenTarget::Token(issued.token.clone().into_bytes());
    let live = f.engine.check(&i, &target).unwrap().unwrap();
    assert_eq!(live.id, issued.id);
    assert_eq!(live.subject.as_deref(), Some("alice"));
    assert_eq!(live.audience, vec!["urn:sts:demo-sp".to_owned()]);
    f.clock.set(issued.expires - Duration::milliseconds(1));
    assert!(f.engine.check(&i, &target).unwrap().is_ok());
    f.clock.set(issued.expires);
    assert_eq!(f.engine.check(&i, &target).unwrap(), Err(NotLive::Expired));
    let v = f.engine.validate(&i, &target).unwrap();
    assert!(!v.valid);
    assert_eq!(v.reason, "the token has expired");
}

#[test]
fn own_assertions_start_within_the_skew() {
    let f = fixture();
    let i = f.instance(|_| {});
    let issued = saml(&f, &i);
    let target = TokenTarget::Token(issued.token.into_bytes());
    // NotBefore is t0: a verifier 300 s behind still accepts it, 301 s behind does not.
    f.clock.set(t0() - Duration::seconds(300));
    assert!(f.engine.check(&i, &target).unwrap().is_ok());
    f.clock.set(t0() - Duration::seconds(301));
    assert_eq!(
        f.engine.check(&i, &target).unwrap(),
        Err(NotLive::NotYetValid)
    );
}

#[test]
fn own_id_tokens_expire_at_exp() {
    let f = fixture();
    let i = f.oidc_instance(false);
    let issued = f
        .engine
        .issue(&i, &f.alice(), &IssueRequest::new(TokenType::OpenIdConnect))
        .unwrap();
    let target = TokenTarget::Jwt(issued.token.clone());
    let live = f.engine.check(&i, &target).unwrap().unwrap();
    assert_eq!(live.audience, vec!["rp-1".to_owned()]);
    assert_eq!(live.expires, issued.expires.timestamp());
    f.clock.set(issued.expires - Duration::milliseconds(1));
    assert!(f.engine.check(&i, &target).unwrap().is_ok());
    f.clock.set(issued.expires);
    assert_eq!(f.engine.check(&i, &target).unwrap(), Err(NotLive::Expired));
    // Another instance's key did not sign it.
    let other = f.instance(|_| {});
    assert_eq!(
        f.engine.check(&other, &target).unwrap(),
        Err(NotLive::NoOidc)
    );
}

#[test]
pub(super) fn persisting_instances_check_the_store() {
    let f = fixture();
    let plain = f.instance(|_| {});
    assert_eq!(
        f.engine
            .check(&plain, &TokenTarget::Reference("x".into()))
            .unwrap(),
        Err(NotLive::CannotResolve)
    );
    let i = f.oidc_instance(true);
    let alice = f.alice();
    let mut issued = f
        .engine
        .issue(&i, &alice, &IssueRequest::new(TokenType::OpenIdConnect))
        .unwrap();
    issued.durable.take().unwrap().wait().unwrap();
    let by_ref = TokenTarget::Reference(issued.id.clone());
    let by_value = TokenTarget::Jwt(issued.token.clone());
    assert!(f.engine.check(&i, &by_ref).unwrap().is_ok());
    assert!(f.engine.check(&i, &by_value).unwrap().is_ok());
    assert_eq!(
        f.engine
            .check(&i, &TokenTarget::Reference("nope".into()))
            .unwrap(),
        Err(NotLive::NotStored)
    );
    let id = f
        .engine
        .cancel(&i, &by_value, Canceller::Principal(&alice))
        .unwrap();
    assert_eq!(id, issued.id);
    assert_eq!(
        f.engine.check(&i, &by_value).unwrap(),
        Err(NotLive::Cancelled)
    );
    assert_eq!(
        f.engine.check(&i, &by_ref).unwrap(),
        Err(NotLive::NotStored)
    );
}

/// A persisting instance's assertion is the stored one when presented as stored (the bytes
/// compared), or re-serialised in a way the signature does not see (the verified signature
/// value compared); an instance that stored nothing under its ID, or another instance, does
/// not take it.
#[test]
fn persisting_instances_compare_assertions_with_the_stored_one() {
    let f = fixture();
    let i = f.instance(|j| j["persist-issued-tokens-in-cts"] = "true".into());
    let mut issued = saml(&f, &i);
    issued.durable.take().unwrap().wait().unwrap();
    let as_stored = TokenTarget::Token(issued.token.clone().into_bytes());
    assert_eq!(f.engine.check(&i, &as_stored).unwrap().unwrap().id, issued.id);
    // Whitespace in the start tag and the base64 of the signature value: the same token to
    // the signature (and to the stored record), other bytes.
    let respaced = issued
        .token
        .replacen("<saml2:Issuer", "<saml2:Issuer ", 1)
        .replacen("<ds:SignatureValue>", "<ds:SignatureValue>\n", 1);
    assert_ne!(respaced, issued.token);
    let respaced = TokenTarget::Token(respaced.into_bytes());
    assert_eq!(f.engine.check(&i, &respaced).unwrap().unwrap().id, issued.id);
    // Another persisting instance with the same key stored nothing for it.
    let other = f.instance(|j| {
        j["persist-issued-tokens-in-cts"] = "true".into();
        j["deployment-config"]["deployment-url-element"] = "other".into();
    });
    assert_ne!(other.config.subpath(), i.config.subpath());
    assert_eq!(
        f.engine.check(&other, &as_stored).unwrap(),
        Err(NotLive::OtherInstance)
    );
    assert_eq!(
        f.engine.check(&other, &respaced).unwrap(),
        Err(NotLive::OtherInstance)
    );
}

#[test]
pub(super) fn only_the_principal_or_an_administrator_cancels() {
    let f = fixture();
    let i = f.oidc_instance(true);
    let mut issued = f
        .engine
        .issue(&i, &f.alice(), &IssueRequest::new(TokenType::OpenIdConnect))
        .unwrap();
    issued.durable.take().unwrap().wait().unwrap();
    let target = TokenTarget::Reference(issued.id.clone());
    let (token, _) = f.engine.sessions().create("/", "root", false).unwrap();
    let root = f
        .engine
        .authenticate("/", &Credential::Session { token })
        .unwrap();
    let bob = f
        .engine
        .authenticate("/", &password("bob", PASSWORD))
        .unwrap();
    assert!(matches!(
        f.engine.cancel(&i, &target, Canceller::Principal(&bob)),
        Err(EngineError::Forbidden(_))
    ));
    assert!(
        f.engine
            .cancel(&i, &target, Canceller::Principal(&root))
            .is_ok(),
        "an administrator of the realm cancels"
    );
    let not_persisting = f.instance(|_| {});
    assert!(matches!(
        f.engine
            .cancel(&not_persisting, &target, Canceller::Principal(&root)),
        Err(EngineError::NotPersisting(_))
    ));
}
