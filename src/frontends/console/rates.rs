//! The status page's request rates, from the totals of [`crate::metrics::snapshot`]: per
//! front end, the totals since this process started with their average rate, and the requests
//! of the last minute or so, the difference between the current totals and a sample at least
//! a minute old (or, earlier, the one taken at start). Samples are taken when the page is read,
//! so no background task is needed and memory stays bounded (one sample per [`MIN_GAP`]).

use std::collections::VecDeque;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use crate::metrics::{FrontendCount, snapshot};

/// The span the recent rate is measured over, when samples that old exist.
const WINDOW: Duration = Duration::seconds(60);
/// Readings closer together than this share one sample.
const MIN_GAP: Duration = Duration::seconds(5);

struct Sample {
    at: DateTime<Utc>,
    requests: Vec<FrontendCount>,
}

/// The samples of the request totals the recent rates are measured from.
pub struct Rates {
    samples: Mutex<VecDeque<Sample>>,
}

impl Rates {
    /// Starts with the totals at `started` (this node's start).
    pub fn new(started: DateTime<Utc>) -> Rates {
        let first = Sample {
            at: started,
            requests: snapshot().requests,
        };
        Rates {
            samples: Mutex::new(VecDeque::from([first])),
        }
    }

    /// `{"enabled": false}` when metrics are off; else the totals and rates per front end.
    pub fn report(&self, now: DateTime<Utc>, started: DateTime<Utc>) -> Value {
        if !crate::metrics::enabled() {
            return json!({"enabled": false});
        }
        let snap = snapshot();
        let base = self.baseline(now, &snap.requests);
        let window = base.as_ref().map(|(at, _)| (now - *at).num_milliseconds());
        let uptime_ms = (now - started).num_milliseconds();
        let frontends: Vec<Value> = snap
            .requests
            .iter()
            .map(|c| {
                let total = c.success.saturating_add(c.failure);
                let before = base
                    .as_ref()
                    .and_then(|(_, old)| old.iter().find(|o| o.frontend == c.frontend))
                    .map_or(0, |o| o.success.saturating_add(o.failure));
                let recent = total.saturating_sub(before);
                json!({
                    "frontend": c.frontend,
                    "success": c.success,
                    "failure": c.failure,
                    "total": total,
                    "per_second_since_start": per(total, uptime_ms, 1_000.0),
                    "recent": recent,
                    "recent_per_minute": window.and_then(|w| per(recent, w, 60_000.0)),
                })
            })
            .collect();
        json!({
            "enabled": true,
            "frontends": frontends,
            "recent_window_seconds": window.map(|w| w / 1000),
            "in_flight": snap.in_flight,
            "shed": snap.shed,
        })
    }

    /// The sample the recent counts are measured from (the newest one at least [`WINDOW`]
    /// old, else the oldest), after recording `now` and dropping samples no longer needed.
    fn baseline(
        &self,
        now: DateTime<Utc>,
        current: &[FrontendCount],
    ) -> Option<(DateTime<Utc>, Vec<FrontendCount>)> {
        let mut samples = self.samples.lock().ok()?;
        while samples.len() > 1 && samples.get(1).is_some_and(|s| s.at <= now - WINDOW) {
            samples.pop_front();
        }
        let base = samples.front().map(|s| (s.at, s.requests.clone()));
        if samples.back().is_none_or(|s| s.at <= now - MIN_GAP) {
            samples.push_back(Sample {
                at: now,
                requests: current.to_vec(),
            });
        }
        base
    }
}

/// `count` per `unit_ms` over `span_ms` (none over an empty span).
fn per(count: u64, span_ms: i64, unit_ms: f64) -> Option<f64> {
    // Counts and spans stay far below 2^52: the conversions are exact.
    let rate = (span_ms > 0).then(|| count as f64 * unit_ms / span_ms as f64);
    rate.map(|r| (r * 100.0).round() / 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(n: u64) -> Vec<FrontendCount> {
        vec![FrontendCount {
            frontend: "rest",
            success: n,
            failure: 0,
        }]
    }

    #[test]
    fn the_baseline_is_the_newest_sample_a_window_old() {
        let t0 = DateTime::from_timestamp(1_000_000, 0).unwrap();
        let rates = Rates {
            samples: Mutex::new(VecDeque::from([Sample {
                at: t0,
                requests: counts(0),
            }])),
        };
        let s = Duration::seconds;
        // Early on, the start is the baseline; readings 5 s apart are kept.
        assert_eq!(rates.baseline(t0 + s(10), &counts(3)).unwrap().0, t0);
        assert_eq!(rates.baseline(t0 + s(12), &counts(4)).unwrap().0, t0);
        assert_eq!(rates.samples.lock().unwrap().len(), 2, "12 s is within 5 s of 10 s");
        assert_eq!(rates.baseline(t0 + s(40), &counts(9)).unwrap().0, t0);
        // Past a minute the newest sample at least a minute old is used, older ones dropped.
        let (at, old) = rates.baseline(t0 + s(75), &counts(20)).unwrap();
        assert_eq!(at, t0 + s(10));
        assert_eq!(old, counts(3));
        assert_eq!(rates.samples.lock().unwrap().front().unwrap().at, t0 + s(10));
        assert_eq!(rates.baseline(t0 + s(200), &counts(30)).unwrap().0, t0 + s(75));
    }

    #[test]
    fn rates_are_rounded_and_absent_over_no_time() {
        assert_eq!(per(30, 60_000, 60_000.0), Some(30.0));
        assert_eq!(per(1, 3_000, 1_000.0), Some(0.33));
        assert_eq!(per(5, 0, 1_000.0), None);
    }
}
