//! The fixture's token store with faults and races injected: what a store that answers
//! otherwise than the engine read it does to changes, their undo and their audit events.

use std::sync::Arc;

use crate::store::{Durable, Filter, Page, StoreError, TokenRecord, TokenStore};

/// A token store in front of `inner`; with the defaults it is `inner`.
pub(super) struct Faulty {
    pub inner: Arc<dyn TokenStore>,
    /// Deleting this token fails as an unreachable database does.
    pub fail_delete: Option<String>,
    /// When set, only these tokens can be stored; any other fails at once as an unreachable
    /// database does, or, with `fail_at_commit`, is accepted and then fails at its commit.
    pub storable: Option<Vec<String>>,
    pub fail_at_commit: bool,
    /// How many inserts of tokens outside `storable` still succeed before the rule applies.
    pub grace: std::sync::atomic::AtomicUsize,
    /// A read is followed at once by another request's delete of the same token.
    pub vanish_after_read: bool,
}

impl Faulty {
    pub fn over(inner: Arc<dyn TokenStore>) -> Faulty {
        Faulty {
            inner,
            fail_delete: None,
            storable: None,
            fail_at_commit: false,
            grace: std::sync::atomic::AtomicUsize::new(0),
            vanish_after_read: false,
        }
    }
}

impl TokenStore for Faulty {
    fn insert_tokens_deferred(&self, tokens: &[TokenRecord]) -> Result<Durable, StoreError> {
        use std::sync::atomic::Ordering::SeqCst;
        if let Some(ok) = &self.storable
            && tokens.iter().any(|t| !ok.contains(&t.token_id))
            && self
                .grace
                .fetch_update(SeqCst, SeqCst, |n| n.checked_sub(1))
                .is_err()
        {
            if self.fail_at_commit {
                return Ok(Durable::settled(Err(StoreError::Db("disk full".into()))));
            }
            return Err(StoreError::Unavailable("refused by the test".into()));
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
        if self.fail_delete.as_deref() == Some(token_id) {
            return Err(StoreError::Unavailable("refused by the test".into()));
        }
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
