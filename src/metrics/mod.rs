//! Prometheus metrics (`GET /metrics`): one process-wide registry, written by every layer
//! through a few free functions, read by the `/metrics` route and by [`snapshot`].
//!
//! A leaf module (layer 0) so that signing, the store, password hashing and the front ends can
//! all record into it without naming each other. Every label value is bounded: front ends,
//! operations, token types and outcomes are `&'static str` from closed sets, and an instance
//! label is admitted only from the published set ([`set_instances`]); anything else is
//! [`UNKNOWN`]. No principal, token id or free text ever becomes a label.

mod request;
mod stage;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, RwLock};
use std::time::{Duration, Instant};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;

pub use request::{
    Frontend, RequestScope, note_instance, note_operation, note_outcome, note_tokens, shed,
};
pub use stage::{Stage, time};

/// The label value of an instance that is not (or no longer) published, or of none.
pub const UNKNOWN: &str = "unknown";

/// The `Content-Type` of the exposition (Prometheus text format 0.0.4).
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// Whether anything is recorded (`metrics = false` turns recording and `/metrics` off).
static ENABLED: AtomicBool = AtomicBool::new(true);

/// Turns recording on or off for the whole process.
pub fn set_enabled(on: bool) {
    ENABLED.store(on, Ordering::Relaxed);
}

/// Whether metrics are recorded and served.
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    frontend: &'static str,
    instance: Arc<str>,
    operation: &'static str,
    token_in: &'static str,
    token_out: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabels {
    frontend: &'static str,
    operation: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ShedLabels {
    frontend: &'static str,
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StageLabels {
    stage: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KeyLabels {
    alias: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MasterKeyLabels {
    /// A master key id: 16 hex characters, not secret.
    id: String,
    role: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: &'static str,
}

fn latency() -> Histogram {
    // 0.25 ms .. ~16 s: a signed assertion takes about a millisecond, a slow store seconds.
    Histogram::new(exponential_buckets(0.000_25, 2.0, 17))
}

/// Every metric of the process.
struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    durations: Family<OperationLabels, Histogram, fn() -> Histogram>,
    stages: Vec<Histogram>,
    in_flight: Gauge,
    shed: Family<ShedLabels, Counter>,
    key_expiry: Family<KeyLabels, Gauge>,
    master_key: Family<MasterKeyLabels, Gauge>,
    tokens_stored: Gauge,
    sessions_stored: Gauge,
    replay_entries: Gauge,
    /// When the three gauges above were last sampled (`None`: never); held while sampling.
    state_sampled: Mutex<Option<Instant>>,
    /// The published instances: the only instance label values besides [`UNKNOWN`].
    instances: RwLock<HashSet<Arc<str>>>,
    /// Requests by front end, success and not, for [`snapshot`] (no label lookups).
    totals: [[AtomicU64; 2]; Frontend::ALL.len()],
}

static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

impl Metrics {
    fn new() -> Metrics {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "sts_requests",
            "Requests answered, by front end, instance, operation, input and output token type and outcome (success or fault code)",
            requests.clone(),
        );
        let durations: Family<OperationLabels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(latency);
        registry.register(
            "sts_request_duration_seconds",
            "Time from admission to the reply, by front end and operation",
            durations.clone(),
        );
        let stage_family: Family<StageLabels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(latency);
        let stages = Stage::ALL
            .iter()
            .map(|s| stage_family.get_or_create_owned(&StageLabels { stage: s.label() }))
            .collect();
        registry.register(
            "sts_stage_duration_seconds",
            "Time spent signing, verifying, hashing passwords, waiting for store commits, in plug-ins and in directory calls",
            stage_family,
        );
        let in_flight = Gauge::default();
        registry.register(
            "sts_requests_in_flight",
            "Requests admitted and not yet answered",
            in_flight.clone(),
        );
        let shed = Family::<ShedLabels, Counter>::default();
        registry.register(
            "sts_requests_shed",
            "Requests refused before their front end saw them (busy = 503, too_large, timed_out, broken)",
            shed.clone(),
        );
        let key_expiry = Family::<KeyLabels, Gauge>::default();
        registry.register(
            "sts_signing_certificate_expiry_seconds",
            "Seconds until each signing certificate expires (negative: expired), by key alias",
            key_expiry.clone(),
        );
        let master_key = Family::<MasterKeyLabels, Gauge>::default();
        registry.register(
            "sts_master_key_info",
            "The master keys this node holds (1 each), by key id and role (current: wraps what the node writes; previous: only unwraps)",
            master_key.clone(),
        );
        let tokens_stored = Gauge::default();
        registry.register(
            "sts_tokens_stored",
            "Issued tokens in the store (expired ones not yet reaped included; an estimate above 100000)",
            tokens_stored.clone(),
        );
        let sessions_stored = Gauge::default();
        registry.register(
            "sts_sessions_stored",
            "Sessions in the store (expired ones not yet reaped included; an estimate above 100000)",
            sessions_stored.clone(),
        );
        let replay_entries = Gauge::default();
        registry.register(
            "sts_replay_cache_entries",
            "Values in the replay cache (this node's memory, or the cluster's store)",
            replay_entries.clone(),
        );
        registry.register(
            "sts_build",
            "The running build",
            Info::new(BuildLabels {
                version: env!("CARGO_PKG_VERSION"),
            }),
        );
        Metrics {
            registry,
            requests,
            durations,
            stages,
            in_flight,
            shed,
            key_expiry,
            master_key,
            tokens_stored,
            sessions_stored,
            replay_entries,
            state_sampled: Mutex::new(None),
            instances: RwLock::new(HashSet::new()),
            totals: Default::default(),
        }
    }
}

/// Replaces the instance names a label may carry (realm-qualified subpaths); called whenever
/// the published set is (re)loaded. Series of removed instances stay until restart.
pub fn set_instances<'a>(names: impl IntoIterator<Item = &'a str>) {
    let set = names.into_iter().map(Arc::from).collect();
    if let Ok(mut w) = METRICS.instances.write() {
        *w = set;
    }
}

/// The label for instance `name`: itself if published, else [`UNKNOWN`].
fn instance_label(name: Option<&str>) -> Arc<str> {
    let known = name.and_then(|n| {
        METRICS
            .instances
            .read()
            .ok()
            .and_then(|set| set.get(n).cloned())
    });
    known.unwrap_or_else(|| Arc::from(UNKNOWN))
}

/// Sets the seconds until the certificate of signing key `alias` expires.
pub fn set_key_expiry(alias: &str, seconds: i64) {
    METRICS
        .key_expiry
        .get_or_create(&KeyLabels {
            alias: alias.to_owned(),
        })
        .set(seconds);
}

/// Forgets every key-expiry series (before setting those of the current keys).
pub fn clear_key_expiry() {
    METRICS.key_expiry.clear();
}

/// Shows the master key ids this node holds (`current`, then `previous`) in place of those
/// shown before. Ids only: they are not secret, and a node holds a few.
pub fn set_master_key_ids(current: &str, previous: &[String]) {
    let family = &METRICS.master_key;
    family.clear();
    let set = |id: &str, role: &'static str| {
        family
            .get_or_create(&MasterKeyLabels {
                id: id.to_owned(),
                role,
            })
            .set(1);
    };
    set(current, "current");
    for id in previous {
        set(id, "previous");
    }
}

/// What the state gauges show: sizes read from the store and the replay cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateCounts {
    pub tokens: u64,
    pub sessions: u64,
    pub replay: u64,
}

/// The shortest time between two samples of the state gauges: scrapes in between (several
/// Prometheus servers, a tight interval) show the last sample and cost nothing.
pub const STATE_SAMPLE_INTERVAL: Duration = Duration::from_secs(5);

/// Refreshes the state gauges with `sample` unless they were sampled less than `every` ago
/// or another scrape is sampling now; a failed sample (`None`: the store is down) keeps the
/// last values, and is not retried before `every` either.
pub fn sample_state(every: Duration, sample: impl FnOnce() -> Option<StateCounts>) {
    let m = &*METRICS;
    let Ok(mut last) = m.state_sampled.try_lock() else {
        return;
    };
    if last.is_some_and(|t| t.elapsed() < every) {
        return;
    }
    if let Some(c) = sample() {
        let set = |g: &Gauge, n: u64| g.set(i64::try_from(n).unwrap_or(i64::MAX));
        set(&m.tokens_stored, c.tokens);
        set(&m.sessions_stored, c.sessions);
        set(&m.replay_entries, c.replay);
    }
    *last = Some(Instant::now());
}

/// The exposition of every metric, Prometheus text format.
pub fn render() -> String {
    let mut out = String::new();
    if prometheus_client::encoding::prometheus_text::encode(&mut out, &METRICS.registry).is_err() {
        out.clear();
    }
    out
}

/// Request counts for the admin console: its status page derives rates from two snapshots.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct FrontendCount {
    /// `soap`, `rest`, `json_admin`, `oauth2`, `metadata`.
    pub frontend: &'static str,
    pub success: u64,
    pub failure: u64,
}

/// A cheap, lock-free read of the request totals (no exposition, no label lookups).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Snapshot {
    pub requests: Vec<FrontendCount>,
    pub in_flight: i64,
    pub shed: u64,
}

/// The request totals so far, by front end.
pub fn snapshot() -> Snapshot {
    let m = &*METRICS;
    let requests = Frontend::ALL
        .iter()
        .zip(m.totals.iter())
        .map(|(f, [ok, failed])| FrontendCount {
            frontend: f.label(),
            success: ok.load(Ordering::Relaxed),
            failure: failed.load(Ordering::Relaxed),
        })
        .collect();
    Snapshot {
        requests,
        in_flight: m.in_flight.get(),
        shed: request::shed_total(),
    }
}

#[cfg(test)]
mod tests;
