//! Batches of Cancel and Renew (a `wst:RequestSecurityTokenCollection`, WS-Trust 1.3 4.2:
//! the service "can either succeed on all the RST requests or MUST NOT perform any partial
//! operation").
//!
//! Every request is checked before any change is made: each token resolves, is this
//! instance's (stored, live, signed by it), the requester may act on it, and no token is
//! named twice. The changes are then made in order. One can still fail after the checks (the
//! store goes away, a concurrent request or the reaper took a token first, an audit event
//! cannot be written with `audit_required`): the changes already made are then undone
//! (cancelled records stored again; renewed ones restored and their replacements removed),
//! and each undone change's audit event is recorded again with `outcome = failed` (queued
//! without waiting, as every retraction is: `Audit::note`), so the trail never claims it. Nothing a failed batch made was sent to anyone. An undo that fails
//! too (the store is down) is logged as an error and leaves the token cancelled or retired:
//! the client was answered with a fault, and may issue anew.

use super::renew::{PreparedRenewal, renewed_event};
use super::{
    Authenticated, Canceller, Engine, EngineError, Principal, RenewRequest, ResolvedInstance,
    TokenTarget, renew::Renewed,
};
use crate::store::TokenRecord;

/// The request of a batch that failed (0-based) and why.
pub type BatchFailure = (usize, EngineError);

fn twice(i: usize, j: usize) -> BatchFailure {
    (
        i,
        EngineError::Invalid(format!(
            "it names the same token as request {}: a batch names each token once",
            j + 1
        )),
    )
}

impl Engine {
    /// Cancels every token of `targets` for `by`, or none (see the module documentation);
    /// returns their ids, in order.
    pub fn cancel_all(
        &self,
        instance: &ResolvedInstance,
        targets: &[TokenTarget],
        by: &Authenticated<Principal>,
    ) -> Result<Vec<String>, BatchFailure> {
        let mut checked: Vec<TokenRecord> = Vec::with_capacity(targets.len());
        for (i, t) in targets.iter().enumerate() {
            let (id, rec) = self
                .cancellable(instance, t, Canceller::Principal(by))
                .map_err(|e| (i, e))?;
            if let Some(j) = checked.iter().position(|r| r.token_id == id) {
                return Err(twice(i, j));
            }
            checked.push(rec);
        }
        let mut done = Vec::with_capacity(checked.len());
        for (i, rec) in checked.iter().enumerate() {
            // The single cancel, checks included: what changed since is refused here.
            let target = TokenTarget::Reference(rec.token_id.clone());
            match self.cancel(instance, &target, Canceller::Principal(by)) {
                Ok(id) => done.push(id),
                Err(e) => {
                    self.undo_cancels(instance, by, checked.get(..i).unwrap_or_default());
                    return Err((i, e));
                }
            }
        }
        Ok(done)
    }

    /// Stores the cancelled `records` again.
    fn undo_cancels(
        &self,
        instance: &ResolvedInstance,
        by: &Authenticated<Principal>,
        records: &[TokenRecord],
    ) {
        if records.is_empty() {
            return;
        }
        if let Err(e) = self.tokens.insert_tokens(records) {
            tracing::error!(instance = %instance.config.subpath(), error = %e, tokens = records.len(), "the cancels of a failed batch could not be undone: those tokens stay cancelled");
            return;
        }
        for rec in records {
            let event = crate::audit::Event::new("token.cancelled")
                .with("instance", instance.config.subpath())
                .with("realm", instance.config.realm())
                .with("token_id", &rec.token_id)
                .with("token_type", &rec.token_type)
                .with("principal", &rec.principal)
                .actor(by.realm(), by.name())
                .with("outcome", "failed");
            self.audit.note(event);
        }
    }

    /// Renews every token of `requests` for `by`, or none (see the module documentation); the
    /// renewed tokens, in order, stored (their writes settled) where the instance persists.
    pub fn renew_all(
        &self,
        instance: &ResolvedInstance,
        by: &Authenticated<Principal>,
        requests: &[RenewRequest<'_>],
    ) -> Result<Vec<Renewed>, BatchFailure> {
        let mut prepared: Vec<PreparedRenewal> = Vec::with_capacity(requests.len());
        for (i, r) in requests.iter().enumerate() {
            let p = self.prepare_renewal(instance, by, r).map_err(|e| (i, e))?;
            if let Some(j) = prepared.iter().position(|q| q.old_id == p.old_id) {
                return Err(twice(i, j));
            }
            prepared.push(p);
        }
        let mut done: Vec<(Renewed, Option<TokenRecord>)> = Vec::with_capacity(prepared.len());
        let mut failed = None;
        for (i, p) in prepared.into_iter().enumerate() {
            let old = p.record.clone();
            match self.commit_renewal(instance, by, p) {
                Ok(r) => done.push((r, old)),
                Err(e) => {
                    failed = Some((i, e));
                    break;
                }
            }
        }
        // Every write settles before the reply, so that a failed one fails the batch. A
        // renewal whose commit failed retracted its event as it settled, and its old token
        // stays retired (see `renew`): the undo below only removes its new record, in case
        // the commit happened after all (a connection lost before the acknowledgement).
        let mut undone_already = Vec::new();
        for (i, (r, _)) in done.iter_mut().enumerate() {
            if let Some(w) = r.issued.durable.take()
                && let Err(e) = w.wait()
            {
                failed.get_or_insert((i, EngineError::store(e)));
                if let Err(e) = self.tokens.delete_token(&r.issued.id) {
                    tracing::warn!(instance = %instance.config.subpath(), new = %r.issued.id, error = %e, "a renewal whose commit failed could not be checked for a late commit");
                }
                undone_already.push(i);
            }
        }
        let done: Vec<_> = done
            .into_iter()
            .enumerate()
            .filter(|(i, _)| !undone_already.contains(i))
            .map(|(_, d)| d)
            .collect();
        if let Some(f) = failed {
            self.undo_renewals(instance, by, &done);
            return Err(f);
        }
        Ok(done.into_iter().map(|(r, _)| r).collect())
    }

    /// Removes the renewed tokens of `done` (their writes settled) and stores the ones they
    /// replaced again.
    fn undo_renewals(
        &self,
        instance: &ResolvedInstance,
        by: &Authenticated<Principal>,
        done: &[(Renewed, Option<TokenRecord>)],
    ) {
        for (r, old) in done {
            // The old token comes back only if its replacement was still there to remove:
            // one cancelled meanwhile by someone else (who was told so) stays cancelled.
            let undone = match old {
                None => Ok(true),
                Some(rec) => match self.tokens.delete_token(&r.issued.id) {
                    Ok(true) => self
                        .tokens
                        .insert_tokens(std::slice::from_ref(rec))
                        .map(|()| true),
                    other => other,
                },
            };
            if let Ok(false) = undone {
                tracing::warn!(instance = %instance.config.subpath(), old = %r.replaced, new = %r.issued.id, "a renewal of a failed batch was cancelled meanwhile: the old token stays retired");
                continue;
            }
            if let Err(e) = undone {
                tracing::error!(instance = %instance.config.subpath(), error = %e, old = %r.replaced, new = %r.issued.id, "a renewal of a failed batch could not be undone: the old token stays retired");
                continue;
            }
            let event = renewed_event(instance, by, r.token_type, &r.issued.id, &r.replaced);
            self.audit.note(event.with("outcome", "failed"));
        }
    }
}
