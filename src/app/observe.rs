//! What operators poll: `GET /metrics` (Prometheus text format), `/health/live` (the process
//! answers) and `/health/ready` (store reachable, keys loaded, instances loaded). Served on
//! the main listener and, with `metrics_listen`, on a listener of their own (where `/metrics`
//! then moves).

use std::sync::Arc;

use warp::Filter;

use crate::http::HttpReply;

use super::AppState;

const JSON: &str = "application/json";

/// `/health/live`, `/health/ready` and, when `with_metrics`, `/metrics`.
pub fn routes(
    state: Arc<AppState>,
    with_metrics: bool,
) -> impl Filter<Extract = (HttpReply,), Error = warp::Rejection> + Clone {
    let live = warp::path!("health" / "live")
        .and(warp::get())
        .map(|| HttpReply::text(200, JSON, "{\"status\":\"alive\"}".into()));
    let ready_state = state.clone();
    let ready = warp::path!("health" / "ready")
        .and(warp::get())
        .then(move || {
            let st = ready_state.clone();
            async move {
                tokio::task::spawn_blocking(move || readiness(&st))
                    .await
                    .unwrap_or_else(|_| not_ready(&["the readiness check failed"]))
            }
        });
    let metrics = warp::path("metrics")
        .and(warp::path::end())
        .and(warp::get())
        .and_then(move || {
            let st = state.clone();
            async move {
                if !with_metrics || !crate::metrics::enabled() {
                    return Err(warp::reject::not_found());
                }
                Ok(tokio::task::spawn_blocking(move || scrape(&st))
                    .await
                    .unwrap_or_else(|_| HttpReply::text(500, JSON, "{}".into())))
            }
        });
    live.or(ready).unify().or(metrics).unify()
}

/// The routes of the `metrics_listen` listener: the above, `/health` too, 404 otherwise.
pub fn listener_routes(
    state: Arc<AppState>,
) -> impl Filter<Extract = (HttpReply,), Error = std::convert::Infallible> + Clone {
    let health = warp::path("health")
        .and(warp::get())
        .and(warp::path::end())
        .map(|| HttpReply::text(200, JSON, "{\"status\":\"ok\"}".into()));
    routes(state, true)
        .or(health)
        .unify()
        .recover(|_| async {
            Ok::<_, std::convert::Infallible>(HttpReply::text(
                404,
                "text/plain; charset=utf-8",
                "not found\n".into(),
            ))
        })
        .unify()
}

/// The exposition, after refreshing what is read rather than counted (key expiry, and at
/// most every few seconds the state gauges: tokens, sessions, replay cache).
fn scrape(st: &AppState) -> HttpReply {
    crate::metrics::sample_state(crate::metrics::STATE_SAMPLE_INTERVAL, || {
        let counts = st
            .counts
            .counts()
            .map_err(|e| tracing::debug!(error = %e, "metrics: the store's counts are unavailable"))
            .ok()?;
        Some(crate::metrics::StateCounts {
            tokens: counts.tokens.rows,
            sessions: counts.sessions.rows,
            replay: st.engine.replay_entries().unwrap_or(counts.replay.rows),
        })
    });
    let now = st.engine.now().timestamp();
    let keys = st.publisher.keys();
    crate::metrics::clear_key_expiry();
    for (alias, key) in &keys.signing {
        if let Some(secs) = seconds_until_expiry(key.cert_pem(), now) {
            crate::metrics::set_key_expiry(alias, secs);
        }
    }
    HttpReply::text(200, crate::metrics::CONTENT_TYPE, crate::metrics::render())
}

/// Seconds from `now` (Unix seconds) until the certificate's notAfter; negative once expired.
fn seconds_until_expiry(cert_pem: &[u8], now: i64) -> Option<i64> {
    let cert = openssl::x509::X509::from_pem(cert_pem).ok()?;
    let now = openssl::asn1::Asn1Time::from_unix(now).ok()?;
    let diff = now.diff(cert.not_after()).ok()?;
    Some(i64::from(diff.days) * 86_400 + i64::from(diff.secs))
}

/// 200 when this node can serve: its store answers, it has a signing key, its instances are
/// loaded; else 503 with the reasons (never an error's detail: it may name the store's URL).
fn readiness(st: &AppState) -> HttpReply {
    let mut reasons = Vec::new();
    if let Err(e) = st.changes.change_generations() {
        tracing::debug!(error = %e, "readiness: the store is unreachable");
        reasons.push("the store is unreachable");
    }
    if st.publisher.keys().signing.is_empty() {
        reasons.push("no signing key is loaded");
    }
    let instances = st.publisher.instances().len();
    if reasons.is_empty() {
        let body = serde_json::json!({
            "status": "ready",
            "store": "ok",
            "keys": "ok",
            "instances": instances,
        });
        HttpReply::json(200, &body)
    } else {
        not_ready(&reasons)
    }
}

fn not_ready(reasons: &[&str]) -> HttpReply {
    HttpReply::json(
        503,
        &serde_json::json!({ "status": "not ready", "reasons": reasons }),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn expiry_is_counted_from_now() {
        let key = openssl::rsa::Rsa::generate(2048).unwrap();
        let key = openssl::pkey::PKey::from_rsa(key).unwrap();
        let mut b = openssl::x509::X509::builder().unwrap();
        b.set_pubkey(&key).unwrap();
        let from = openssl::asn1::Asn1Time::from_unix(1_000_000_000).unwrap();
        let to = openssl::asn1::Asn1Time::from_unix(1_000_000_000 + 90_061).unwrap();
        b.set_not_before(&from).unwrap();
        b.set_not_after(&to).unwrap();
        b.sign(&key, openssl::hash::MessageDigest::sha256()).unwrap();
        let pem = b.build().to_pem().unwrap();
        assert_eq!(super::seconds_until_expiry(&pem, 1_000_000_000), Some(90_061));
        assert_eq!(
            super::seconds_until_expiry(&pem, 1_000_000_000 + 90_071),
            Some(-10)
        );
    }
}
