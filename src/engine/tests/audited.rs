//! Changes and their audit events when the store answers otherwise than the engine read it:
//! a token that vanishes between the read and the delete (a concurrent cancel), a commit
//! that fails after the event was written. A store wrapper stands for the other party.

use super::*;
use crate::audit::memory::MemorySink;
use super::faulty::Faulty;

/// The fixture's engine with its tokens behind `store` and its audit trail in memory.
fn racing(f: &mut Fixture, store: impl FnOnce(Faulty) -> Faulty) -> MemorySink {
    f.engine.tokens = Arc::new(store(Faulty::over(f.engine.tokens.clone())));
    let mem = MemorySink::default();
    f.engine.audit =
        crate::audit::Audit::with_sink(Box::new(mem.clone()), false, 64, f.clock.clone());
    mem
}

fn actions(f: &Fixture, mem: &MemorySink) -> Vec<(String, Option<String>)> {
    assert!(f.engine.audit.flush(std::time::Duration::from_secs(60)));
    mem.events()
        .iter()
        .map(|v| {
            (
                v["action"].as_str().unwrap().to_owned(),
                v["outcome"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

/// Two cancels of one token that both read it before either deletes it: the one whose
/// delete finds nothing fails as for an unknown token, and its event is retracted.
#[test]
fn a_cancel_that_loses_the_race_fails_and_says_so() {
    let mut f = fixture();
    let i = f.oidc_instance(true);
    let alice = f.alice();
    let mut issued = f
        .engine
        .issue(&i, &alice, &IssueRequest::new(TokenType::OpenIdConnect))
        .unwrap();
    issued.durable.take().unwrap().wait().unwrap();
    let mem = racing(&mut f, |s| Faulty {
        vanish_after_read: true,
        ..s
    });
    let lost = f
        .engine
        .cancel(
            &i,
            &TokenTarget::Reference(issued.id.clone()),
            Canceller::Principal(&alice),
        )
        .unwrap_err();
    let unknown = f
        .engine
        .cancel(
            &i,
            &TokenTarget::Reference("no-such-token".into()),
            Canceller::Principal(&alice),
        )
        .unwrap_err();
    assert!(matches!(lost, EngineError::Invalid(_)), "{lost:?}");
    assert_eq!(lost.to_string(), unknown.to_string());
    assert_eq!(
        actions(&f, &mem),
        [
            ("token.cancelled".to_owned(), None),
            ("token.cancelled".to_owned(), Some("failed".to_owned()))
        ]
    );
}

/// A persisting Renew whose new token is never committed: the client gets a fault, the old
/// token stays retired (a cancel may have been answered meanwhile), and the trail does not
/// claim the renewal.
#[test]
fn a_renewal_whose_commit_fails_is_retracted() {
    let mut f = fixture();
    let i = f.instance(|j| j["persist-issued-tokens-in-cts"] = "true".into());
    let alice = f.alice();
    let mut issued = f
        .engine
        .issue(&i, &alice, &IssueRequest::new(TokenType::Saml2))
        .unwrap();
    issued.durable.take().unwrap().wait().unwrap();
    // Nothing but the old token can be stored, and a new one fails at its commit.
    let mem = racing(&mut f, |s| Faulty {
        storable: Some(vec![issued.id.clone()]),
        fail_at_commit: true,
        ..s
    });
    let target = TokenTarget::Token(issued.token.clone().into_bytes());
    let mut renewed = f
        .engine
        .renew(
            &i,
            &alice,
            &RenewRequest {
                target: &target,
                token_type: None,
                renewing: None,
            },
        )
        .unwrap();
    assert!(renewed.issued.durable.take().unwrap().wait().is_err());
    let got = actions(&f, &mem);
    assert_eq!(
        got,
        [
            ("token.renewed".to_owned(), None),
            ("token.renewed".to_owned(), Some("failed".to_owned()))
        ],
        "{:?}",
        mem.events()
    );
    let last = mem.events().pop().unwrap();
    assert_eq!(last["token_id"], renewed.issued.id.as_str());
    assert_eq!(last["replaced_token_id"], issued.id.as_str());
    assert!(f.engine.tokens.get_token(&issued.id).unwrap().is_none());
    assert!(f.engine.tokens.get_token(&renewed.issued.id).unwrap().is_none());
}

/// A batch Renew whose second renewal fails at its commit: the first is undone (its old token
/// back, its renewal removed), the second's old token stays retired, nothing new is stored,
/// and each renewal's event is retracted exactly once.
#[test]
fn a_batch_renewal_whose_commit_fails_is_undone_and_retracted_once() {
    let mut f = fixture();
    let i = f.instance(|j| j["persist-issued-tokens-in-cts"] = "true".into());
    let alice = f.alice();
    let old = super::batch::stored_tokens(&f, &i, 2);
    let old_ids: Vec<String> = old.iter().map(|t| t.id.clone()).collect();
    // The old tokens can be stored again; of the new ones the first is stored, the second
    // fails at its commit.
    let mem = racing(&mut f, |s| Faulty {
        storable: Some(old_ids.clone()),
        fail_at_commit: true,
        grace: 1.into(),
        ..s
    });
    let targets = super::batch::by_value(&old);
    let requests = super::batch::renewals(&targets);
    let (at, e) = f.engine.renew_all(&i, &alice, &requests).unwrap_err();
    assert_eq!(at, 1);
    assert!(matches!(e, EngineError::Internal(_)), "{e:?}");
    assert_eq!(super::batch::stored(&f), [old_ids[0].clone()]);
    assert!(f.engine.check(&i, &targets[0]).unwrap().is_ok());
    assert!(f.engine.audit.flush(std::time::Duration::from_secs(60)));
    let events = mem.events();
    for id in &old_ids {
        let about: Vec<Option<&str>> = events
            .iter()
            .filter(|v| v["replaced_token_id"] == id.as_str())
            .map(|v| v["outcome"].as_str())
            .collect();
        assert_eq!(about, [None, Some("failed")], "{events:?}");
    }
}

/// A persisting Issue whose token is never committed: the client gets a fault, and the
/// trail's `token.issued` (recorded as the token was made, before its write settled) is
/// followed by its retraction.
#[test]
fn an_issued_token_whose_commit_fails_is_retracted() {
    let mut f = fixture();
    let i = f.instance(|j| j["persist-issued-tokens-in-cts"] = "true".into());
    let alice = f.alice();
    let mem = racing(&mut f, |s| Faulty {
        storable: Some(Vec::new()),
        fail_at_commit: true,
        ..s
    });
    let mut issued = f
        .engine
        .issue(&i, &alice, &IssueRequest::new(TokenType::Saml2))
        .unwrap();
    // Recorded while the request is handled; the commit settles after its scope ended.
    let scope = crate::audit::RequestScope {
        request_id: "req-1".into(),
        client: None,
    };
    let event = crate::audit::Event::new("token.issued").with("token_id", &issued.id);
    crate::audit::in_request(scope, || {
        f.engine.audit_pending(event, &mut issued.durable).unwrap();
    });
    assert!(issued.durable.take().unwrap().wait().is_err());
    assert_eq!(
        actions(&f, &mem),
        [
            ("token.issued".to_owned(), None),
            ("token.issued".to_owned(), Some("failed".to_owned()))
        ]
    );
    assert!(mem.events().iter().all(|v| v["request_id"] == "req-1"));
    assert!(f.engine.tokens.get_token(&issued.id).unwrap().is_none());

    // A write nobody waits for (the client went away) is retracted all the same.
    let mut dropped = f
        .engine
        .issue(&i, &alice, &IssueRequest::new(TokenType::Saml2))
        .unwrap();
    let event = crate::audit::Event::new("token.issued").with("token_id", &dropped.id);
    f.engine.audit_pending(event, &mut dropped.durable).unwrap();
    drop(dropped.durable.take());
    let retracted = |v: &serde_json::Value| v["token_id"] == dropped.id.as_str() && v["outcome"] == "failed";
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while !mem.events().iter().any(retracted) {
        assert!(std::time::Instant::now() < deadline, "{:?}", mem.events());
        assert!(f.engine.audit.flush(std::time::Duration::from_secs(60)));
        std::thread::yield_now();
    }
}
