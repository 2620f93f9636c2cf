//! Background tasks: expiry of sessions and tokens, and reloading instances published elsewhere.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinError;

use super::AppState;

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

/// Reloads instances published on other nodes (or by `sts instance`) every `interval`: one
/// small query when nothing changed.
pub fn spawn_instance_poller(state: Arc<AppState>, interval: Duration) {
    every(
        state,
        interval,
        |st| st.publisher.refresh(),
        |done| match done {
            Ok(Ok(true)) => tracing::info!("published instances reloaded"),
            Ok(Ok(false)) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "reloading published instances failed"),
            Err(_) => tracing::warn!("the instance poller task failed"),
        },
    );
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
