//! `cargo bench --bench plugin`: what the guard around every custom token plug-in call costs
//! (a thread per call, a timeout, a bound on live calls): latency of a call to a validator
//! that returns at once, alone and from 8 threads at a time (p50/p99).
#![allow(clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use sts::plugin::{Limits, PluginError, Plugins, TokenValidator, ValidateRequest, Validated};

struct Immediate;

impl TokenValidator for Immediate {
    fn validate(&self, r: &ValidateRequest) -> Result<Validated, PluginError> {
        Ok(Validated::new(r.token_type.clone()))
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or_default()
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let calls = if bench { 20_000 } else { 200 };
    let mut plugins = Plugins::new();
    plugins
        .add_validator(
            "instant",
            Arc::new(Immediate),
            Limits {
                timeout: Duration::from_secs(5),
                max_concurrent: 64,
            },
        )
        .expect("register");
    let guarded = plugins.validator("instant").expect("registered");
    let request = ValidateRequest::new(
        "/",
        "bench",
        "CUSTOM",
        serde_json::json!({"token_type": "CUSTOM", "extra_stuff": "x"}),
        std::time::SystemTime::UNIX_EPOCH,
    );
    for threads in [1usize, 8] {
        let start = Instant::now();
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let g = guarded.clone();
                let r = request.clone();
                std::thread::spawn(move || {
                    (0..calls / threads)
                        .map(|_| {
                            let r = r.clone();
                            let t = Instant::now();
                            g.call(move |v| v.validate(&r)).expect("call");
                            t.elapsed()
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut all: Vec<Duration> = handles
            .into_iter()
            .flat_map(|h| h.join().expect("join"))
            .collect();
        let wall = start.elapsed();
        all.sort();
        println!(
            "guarded call, {threads} thread(s): {:.0} calls/s, p50 {:?}, p99 {:?}",
            all.len() as f64 / wall.as_secs_f64(),
            percentile(&all, 0.5),
            percentile(&all, 0.99)
        );
    }
}
