//! Batches of Cancel and Renew: all or nothing, also when a change fails after every check
//! passed (here: the store refuses to delete one token), and no token named twice.

use super::*;
use super::faulty::Faulty;
use crate::store::Filter;

/// `n` of alice's SAML 2.0 assertions from `i`, stored.
pub(super) fn stored_tokens(f: &Fixture, i: &ResolvedInstance, n: usize) -> Vec<Issued> {
    let alice = f.alice();
    (0..n)
        .map(|_| {
            let mut t = f
                .engine
                .issue(i, &alice, &IssueRequest::new(TokenType::Saml2))
                .unwrap();
            t.durable.take().unwrap().wait().unwrap();
            t
        })
        .collect()
}

/// A persisting SAML 2.0 instance and three of alice's assertions, stored.
fn three_tokens(f: &Fixture) -> (ResolvedInstance, Vec<Issued>) {
    let i = f.instance(|j| j["persist-issued-tokens-in-cts"] = "true".into());
    let tokens = stored_tokens(f, &i, 3);
    (i, tokens)
}

/// The tokens, each named by its value.
pub(super) fn by_value<'a>(tokens: impl IntoIterator<Item = &'a Issued>) -> Vec<TokenTarget> {
    tokens
        .into_iter()
        .map(|t| TokenTarget::Token(t.token.clone().into_bytes()))
        .collect()
}

/// A plain renewal of each target.
pub(super) fn renewals(targets: &[TokenTarget]) -> Vec<RenewRequest<'_>> {
    targets
        .iter()
        .map(|target| RenewRequest {
            target,
            token_type: None,
            renewing: None,
        })
        .collect()
}

/// The ids of the stored tokens, sorted.
pub(super) fn stored(f: &Fixture) -> Vec<String> {
    let mut ids: Vec<String> = f
        .engine
        .tokens
        .query_tokens(&Filter::True, 100, None)
        .unwrap()
        .items
        .into_iter()
        .map(|r| r.token_id)
        .collect();
    ids.sort();
    ids
}

fn sorted<S: AsRef<str>>(ids: &[S]) -> Vec<String> {
    let mut v: Vec<String> = ids.iter().map(|s| s.as_ref().to_owned()).collect();
    v.sort();
    v
}

#[test]
fn a_cancel_that_fails_after_the_checks_undoes_the_earlier_ones() {
    let mut f = fixture();
    let (i, t) = three_tokens(&f);
    let (a, b, c) = (&t[0].id, &t[1].id, &t[2].id);
    f.engine.tokens = Arc::new(Faulty {
        fail_delete: Some(b.clone()),
        ..Faulty::over(f.engine.tokens.clone())
    });
    let alice = f.alice();
    let refs = |ids: &[&String]| -> Vec<TokenTarget> {
        ids.iter()
            .map(|id| TokenTarget::Reference((*id).clone()))
            .collect()
    };
    // a is cancelled, then b's delete fails: a is stored again, and nothing is cancelled.
    let (at, e) = f
        .engine
        .cancel_all(&i, &refs(&[a, b, c]), &alice)
        .unwrap_err();
    assert_eq!(at, 1);
    assert!(matches!(e, EngineError::Unavailable(_)), "{e:?}");
    assert_eq!(stored(&f), sorted(&[a, b, c]));
    assert!(f.engine.check(&i, &refs(&[a])[0]).unwrap().is_ok());
    // A token named twice is refused before anything changes.
    let (at, e) = f
        .engine
        .cancel_all(&i, &refs(&[a, c, a]), &alice)
        .unwrap_err();
    assert_eq!(at, 2);
    assert!(matches!(e, EngineError::Invalid(_)), "{e:?}");
    assert_eq!(stored(&f), sorted(&[a, b, c]));
    // Without the failing one, all go.
    assert_eq!(
        f.engine.cancel_all(&i, &refs(&[c, a]), &alice).unwrap(),
        [c.clone(), a.clone()]
    );
    assert_eq!(stored(&f), sorted(&[b]));
}

#[test]
fn a_renewal_that_fails_after_the_checks_undoes_the_earlier_ones() {
    let mut f = fixture();
    let (i, t) = three_tokens(&f);
    let (a, b, c) = (&t[0], &t[1], &t[2]);
    f.engine.tokens = Arc::new(Faulty {
        fail_delete: Some(b.id.clone()),
        ..Faulty::over(f.engine.tokens.clone())
    });
    let alice = f.alice();
    let targets = by_value([a, b, c]);
    let requests = renewals(&targets);
    // a is renewed (a retired, its renewal stored), then b's retirement fails: a is back,
    // its renewal gone.
    let (at, e) = f.engine.renew_all(&i, &alice, &requests).unwrap_err();
    assert_eq!(at, 1);
    assert!(matches!(e, EngineError::Unavailable(_)), "{e:?}");
    assert_eq!(stored(&f), sorted(&[&a.id, &b.id, &c.id]));
    assert!(f.engine.check(&i, &targets[0]).unwrap().is_ok());
    // A token named twice (once by value, once by reference) is refused up front.
    let by_ref = TokenTarget::Reference(c.id.clone());
    let twice = [
        RenewRequest {
            target: &targets[2],
            token_type: None,
            renewing: None,
        },
        RenewRequest {
            target: &by_ref,
            token_type: None,
            renewing: None,
        },
    ];
    let (at, e) = f.engine.renew_all(&i, &alice, &twice).unwrap_err();
    assert_eq!(at, 1);
    assert!(matches!(e, EngineError::Invalid(_)), "{e:?}");
    assert_eq!(stored(&f), sorted(&[&a.id, &b.id, &c.id]));
    // Without the failing one, both are renewed, in order, and only the renewals stay.
    let done = f
        .engine
        .renew_all(&i, &alice, &[requests[2].clone(), requests[0].clone()])
        .unwrap();
    assert_eq!(
        done.iter().map(|r| r.replaced.as_str()).collect::<Vec<_>>(),
        [c.id.as_str(), a.id.as_str()]
    );
    assert!(done.iter().all(|r| r.issued.durable.is_none()));
    let new: Vec<&str> = done.iter().map(|r| r.issued.id.as_str()).collect();
    assert_eq!(stored(&f), sorted(&[&b.id, new[0], new[1]]));
}

#[test]
fn a_renewal_whose_new_token_cannot_be_stored_puts_the_old_one_back() {
    let mut f = fixture();
    let (i, t) = three_tokens(&f);
    let ids: Vec<String> = t.iter().map(|t| t.id.clone()).collect();
    f.engine.tokens = Arc::new(Faulty {
        storable: Some(ids.clone()),
        ..Faulty::over(f.engine.tokens.clone())
    });
    let alice = f.alice();
    let target = TokenTarget::Token(t[0].token.clone().into_bytes());
    let request = RenewRequest {
        target: &target,
        token_type: None,
        renewing: None,
    };
    let (at, e) = f.engine.renew_all(&i, &alice, &[request]).unwrap_err();
    assert_eq!(at, 0);
    assert!(matches!(e, EngineError::Unavailable(_)), "{e:?}");
    assert_eq!(stored(&f), sorted(&ids));
    assert!(f.engine.check(&i, &target).unwrap().is_ok());
}
