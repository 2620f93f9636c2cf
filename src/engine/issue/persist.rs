//! Persisting issued tokens (`persist-issued-tokens-in-cts`), as deferred durable writes.

use chrono::{DateTime, Utc};

use super::super::{Engine, EngineError, Principal, ResolvedInstance};
use crate::store::TokenRecord;

impl Engine {
    /// Queues the durable write of an issued token when the instance persists tokens; the
    /// front end sends the reply only after it resolves, so that a client holding a token can
    /// rely on it being found.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn persist(
        &self,
        instance: &ResolvedInstance,
        principal: &Principal,
        id: &str,
        token_type: &str,
        now: DateTime<Utc>,
        expires: DateTime<Utc>,
        token: &str,
    ) -> Result<Option<crate::store::Durable>, EngineError> {
        if !instance.config.persist_issued_tokens() {
            return Ok(None);
        }
        self.tokens
            .insert_tokens_deferred(&[TokenRecord {
                token_id: id.to_owned(),
                sts_id: instance.config.subpath(),
                realm: principal.realm().to_owned(),
                principal: principal.name().to_owned(),
                token_type: token_type.into(),
                issued_ms: now.timestamp_millis(),
                expires_ms: expires.timestamp_millis(),
                token: token.to_owned(),
            }])
            .map(Some)
            .map_err(EngineError::store)
    }
}
