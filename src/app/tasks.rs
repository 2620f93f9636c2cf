//! Background tasks: expiry of sessions and tokens, and the watcher that reloads what this
//! node caches when another node (or an `sts` command) changes it in the store.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinError;

use super::AppState;
use crate::store::changes::{self, ChangeListener};

/// Expired sessions and tokens are refused when used anyway; this task removes them every
/// `interval`, tokens in bounded batches (each its own short transaction), on the blocking pool.
pub fn spawn_reaper(state: Arc<AppState>, interval: Duration) {
    every(
        state,
        interval,
        |st| {
            (
                st.engine.sessions().reap(),
                st.engine.reap_tokens(REAP_BATCH),
            )
        },
        |done| match done {
            Ok((Ok(s), Ok(t))) if s + t > 0 => {
                tracing::debug!(sessions = s, tokens = t, "expired entries reaped")
            }
            Ok((s, t)) => {
                if let Err(e) = s {
                    tracing::warn!(error = %e, "reaping sessions failed");
                }
                if let Err(e) = t {
                    tracing::warn!(error = %e, "reaping tokens failed");
                }
            }
            Err(_) => tracing::warn!("the reaper task failed"),
        },
    );
}

/// Follows the store's change feed and reloads each changed topic. Where the store pushes
/// (PostgreSQL `LISTEN` on a connection of its own) a change is seen at once; the feed is
/// also read every `interval`, which is all there is on SQLite and what keeps a node current
/// while its subscription is lost (it subscribes again on every round until it succeeds).
/// Instances are refreshed every round as well: their refresh is one small query when
/// nothing changed, and it also picks up key files rotated on this node's disk.
pub fn spawn_watcher(state: Arc<AppState>, interval: Duration) {
    tokio::spawn(async move {
        let mut listener: Option<Box<dyn ChangeListener>> = None;
        let mut subscribe = true;
        let mut seen: Option<Vec<(String, i64)>> = None;
        loop {
            let st = state.clone();
            let round = tokio::task::spawn_blocking(move || {
                watch_round(&st, interval, listener, subscribe, seen)
            })
            .await;
            match round {
                Ok(r) => {
                    listener = r.listener;
                    subscribe = r.push_capable && listener.is_none();
                    seen = r.seen;
                }
                Err(_) => {
                    tracing::warn!("the change watcher round failed");
                    listener = None;
                    seen = None;
                    tokio::time::sleep(interval).await;
                }
            }
        }
    });
}

/// What one round of the watcher hands to the next.
struct Round {
    listener: Option<Box<dyn ChangeListener>>,
    /// Whether the store offers a subscription (false: only poll).
    push_capable: bool,
    seen: Option<Vec<(String, i64)>>,
}

/// One round: (re)subscribe if needed, wait for a notification or `interval`, then reload
/// the topics whose generation moved.
fn watch_round(
    st: &AppState,
    interval: Duration,
    mut listener: Option<Box<dyn ChangeListener>>,
    subscribe: bool,
    seen: Option<Vec<(String, i64)>>,
) -> Round {
    let mut push_capable = subscribe || listener.is_some();
    if subscribe {
        match st.changes.change_listener() {
            Ok(Some(l)) => {
                tracing::info!("subscribed to store changes");
                listener = Some(l);
            }
            Ok(None) => push_capable = false,
            Err(e) => tracing::warn!(error = %e, "subscribing to store changes failed; polling"),
        }
    }
    match listener.as_mut() {
        Some(l) => {
            if let Err(e) = l.wait(interval) {
                tracing::warn!(error = %e, "the store change subscription was lost; polling");
                listener = None;
                // A failed wait can return at once: keep the round's pace.
                std::thread::sleep(interval);
            }
        }
        None => std::thread::sleep(interval),
    }
    let now = match st.changes.change_generations() {
        Ok(g) => Some(g),
        Err(e) => {
            tracing::warn!(error = %e, "reading the store change feed failed");
            None
        }
    };
    if let Some(now) = &now {
        for (topic, generation) in now {
            let before = seen.as_ref().map(|s| changes::generation_of(s, topic));
            if before.is_some_and(|b| b != *generation) {
                reload(st, topic);
            }
        }
    }
    // Instances: every round (see spawn_watcher).
    match st.publisher.refresh() {
        Ok(true) => tracing::info!("published instances reloaded"),
        Ok(false) => {}
        Err(e) => tracing::warn!(error = %e, "reloading published instances failed"),
    }
    Round {
        listener,
        push_capable,
        seen: now.or(seen),
    }
}

/// Reloads what this node caches of `topic`.
fn reload(st: &AppState, topic: &str) {
    match topic {
        changes::KEYS => match st.publisher.reload_keys() {
            Ok(_) => tracing::info!("signing and encryption keys reloaded"),
            Err(e) => tracing::warn!(error = %e, "reloading keys failed"),
        },
        // Refreshed every round (see spawn_watcher).
        changes::INSTANCES => {}
        // Not cached: every authentication reads the store, so a deleted client is refused
        // by every node at once.
        changes::CLIENTS => {}
        other => tracing::debug!(topic = other, "change of a topic this node does not cache"),
    }
}

/// Runs `job` on the blocking pool every `interval` (a late tick waits instead of bursting)
/// and hands its result, or the task's failure, to `report`.
fn every<T: Send + 'static>(
    state: Arc<AppState>,
    interval: Duration,
    job: fn(&AppState) -> T,
    report: fn(Result<T, JoinError>),
) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let st = state.clone();
            report(tokio::task::spawn_blocking(move || job(&st)).await);
        }
    });
}

/// Tokens removed per reaper transaction.
pub const REAP_BATCH: usize = 1000;
