//! Changes and their audit events when the store answers otherwise than the engine read it:
//! a token that vanishes between the read and the delete (a concurrent cancel), a commit
//! that fails after the event was written. A store wrapper stands for the other party.

use super::*;
use crate::audit::memory::MemorySink;
use crate::store::{Durable, Filter, Page, StoreError, TokenRecord, TokenStore};

/// The fixture's token store, with a concurrent request simulated.
struct Racing {
    inner: Arc<dyn TokenStore>,
    /// A read is followed at once by another request's delete of the same token.
    vanish_after_read: bool,
    /// Every deferred insert fails at its commit.
    fail_commits: bool,
}

impl TokenStore for Racing {
    fn insert_tokens_deferred(&self, tokens: &[TokenRecord]) -> Result<Durable, StoreError> {
        if self.fail_commits {
            return Ok(Durable::settled(Err(StoreError::Db("disk full".into()))));
        }
        self.inner.insert_tokens_deferred(tokens)
    }
    fn get_token(&self, token_id: &str) -> Result<Option<TokenRecord>, StoreError> {
        let rec = self.inner.get_token(token_id)?;
        if self.vanish_after_read {
            self.inner.delete_token(token_id)?;
        }
        Ok(rec)
    }
    fn delete_token(&self, token_id: &str) -> Result<bool, StoreError> {
        self.inner.delete_token(token_id)
    }
    fn query_tokens(
        &self,
        filter: &Filter,
        page_size: usize,
        after: Option<&str>,
    ) -> Result<Page, StoreError> {
        self.inner.query_tokens(filter, page_size, after)
    }
    fn delete_expired_tokens(&self, now_ms: i64, batch: usize) -> Result<usize, StoreError> {
        self.inner.delete_expired_tokens(now_ms, batch)
    }
}

/// The fixture's engine with its tokens behind `Racing` and its audit trail in memory.
fn racing(f: &mut Fixture, vanish_after_read: bool, fail_commits: bool) -> MemorySink {
    f.engine.tokens = Arc::new(Racing {
        inner: f.engine.tokens.clone(),
        vanish_after_read,
        fail_commits,
    });
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
    let mem = racing(&mut f, true, false);
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

/// A persisting Renew whose new token is never committed: the old one is gone, the client
/// gets a fault, and the trail does not claim the renewal.
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
    let mem = racing(&mut f, false, true);
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
}
