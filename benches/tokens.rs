//! `cargo bench --bench tokens`: the token store with one million tokens, on SQLite and on a
//! throwaway PostgreSQL (`STS_BENCH_BACKENDS=sqlite,postgres`): `_queryFilter` by principal
//! and by STS id (p50/p99), durable inserts alone and shared by concurrent writers (group
//! commit), and the replay cache's one insert per accepted value (p50/p99).
//! `STS_BENCH_TOKENS` overrides the count.
#![allow(clippy::expect_used)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sts::store::{TokenRecord, filter};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or_default()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let backends = std::env::var("STS_BENCH_BACKENDS").unwrap_or_else(|_| "sqlite,postgres".into());
    for backend in backends.split(',') {
        let dir = tempfile::tempdir().expect("tempdir");
        match backend {
            "sqlite" => {
                let url = format!("sqlite://{}", dir.path().join("t.db").display());
                run(bench, "sqlite", &url);
            }
            "postgres" => {
                let pg = sts::store::testpg::TestPostgres::start();
                run(bench, "postgres", &pg.url());
            }
            other => eprintln!("unknown backend `{other}` (use sqlite, postgres)"),
        }
    }
}

fn run(bench: bool, backend: &str, url: &str) {
    println!("== {backend}");
    let total: usize = if bench {
        std::env::var("STS_BENCH_TOKENS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1_000_000)
    } else {
        2_000 // `cargo test --all-targets`: a smoke run.
    };
    let principals = (total / 100).max(1);
    let store = sts::store::open(url).expect("open");
    // A signed assertion is ~3.4 KB; the stored text is a same-sized stand-in.
    let payload = "x".repeat(3400);
    let start = Instant::now();
    let batch = 10_000;
    for b in 0..total.div_ceil(batch) {
        let recs: Vec<TokenRecord> = (b * batch..((b + 1) * batch).min(total))
            .map(|i| TokenRecord {
                token_id: format!(
                    "_{:032x}",
                    (i as u128).wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835)
                ),
                sts_id: format!("sts-{}", i % 10),
                realm: "/".into(),
                principal: format!("user{}", i % principals),
                token_type: "SAML2".into(),
                issued_ms: 0,
                expires_ms: i64::MAX,
                token: payload.clone(),
            })
            .collect();
        store.insert_tokens(&recs).expect("insert");
    }
    println!(
        "filled {total} tokens in {:.1} s",
        start.elapsed().as_secs_f64()
    );

    if backend == "postgres" {
        // What autovacuum does on its own for this insert-mostly table (visibility map and
        // statistics), which index-only scans rely on; done at once so the figures are stable.
        let start = Instant::now();
        postgres::Client::connect(url, postgres::NoTls)
            .and_then(|mut c| c.batch_execute("VACUUM (ANALYZE) tokens"))
            .expect("vacuum");
        println!(
            "VACUUM (ANALYZE) tokens in {:.1} s",
            start.elapsed().as_secs_f64()
        );
    }
    let queries = if bench { 2000 } else { 20 };
    for (name, make) in [
        (
            "by principal (100 matches)",
            Box::new(|i: usize| format!("/token_principal eq 'user{}'", (i * 7919) % principals))
                as Box<dyn Fn(usize) -> String>,
        ),
        (
            "by sts_id (first page of 1000)",
            Box::new(|i: usize| format!("/sts_id eq 'sts-{}'", i % 10)),
        ),
    ] {
        let mut times = Vec::with_capacity(queries);
        for i in 0..queries {
            let f = filter::parse(&make(i)).expect("filter");
            let t = Instant::now();
            let page = store.query_tokens(&f, 1000, None).expect("query");
            times.push(t.elapsed());
            black_box(page);
        }
        times.sort();
        println!(
            "query {name:<32} p50 {:>7.2} ms  p99 {:>7.2} ms",
            ms(percentile(&times, 0.5)),
            ms(percentile(&times, 0.99))
        );
    }

    // Durable inserts: one writer alone, then 64 concurrent writers sharing commits.
    fn one(n: usize, tag: &str) -> Vec<TokenRecord> {
        (0..n)
            .map(|i| TokenRecord {
                token_id: format!("_w{tag}{i}"),
                sts_id: "w".into(),
                realm: "/".into(),
                principal: "w".into(),
                token_type: "SAML2".into(),
                issued_ms: 0,
                expires_ms: i64::MAX,
                token: "x".repeat(3400),
            })
            .collect()
    }
    let n = if bench { 2000 } else { 20 };
    let t = Instant::now();
    for r in one(n, "a") {
        store.insert_tokens(&[r]).expect("insert");
    }
    println!(
        "durable insert, 1 writer:   {:>8.0} tokens/s",
        n as f64 / t.elapsed().as_secs_f64()
    );
    let store: Arc<dyn sts::store::Store> = store;
    let t = Instant::now();
    let threads: Vec<_> = (0..64)
        .map(|w| {
            let store = store.clone();
            std::thread::spawn(move || {
                for r in one(n / 8, &format!("b{w}-")) {
                    store.insert_tokens(&[r]).expect("insert");
                }
            })
        })
        .collect();
    for th in threads {
        th.join().expect("join");
    }
    println!(
        "durable insert, 64 writers: {:>8.0} tokens/s (group commit)",
        (64 * (n / 8)) as f64 / t.elapsed().as_secs_f64()
    );

    // The replay cache: one insert per accepted nonce, then the same value refused.
    let n = if bench { 5000 } else { 20 };
    let mut fresh = Vec::with_capacity(n);
    let mut replay = Vec::with_capacity(n);
    for i in 0..n {
        let key = openssl::sha::sha256(format!("nonce-{i}").as_bytes());
        let t = Instant::now();
        let first = store.insert_once(&key, i64::MAX, 0).expect("replay insert");
        fresh.push(t.elapsed());
        let t = Instant::now();
        let second = store.insert_once(&key, i64::MAX, 0).expect("replay insert");
        replay.push(t.elapsed());
        assert_eq!(
            (first, second),
            (
                sts::store::replay::Once::Fresh,
                sts::store::replay::Once::Replay
            )
        );
    }
    fresh.sort();
    replay.sort();
    println!(
        "replay insert (fresh)       p50 {:>7.3} ms  p99 {:>7.3} ms",
        ms(percentile(&fresh, 0.5)),
        ms(percentile(&fresh, 0.99))
    );
    println!(
        "replay insert (refused)     p50 {:>7.3} ms  p99 {:>7.3} ms",
        ms(percentile(&replay, 0.5)),
        ms(percentile(&replay, 0.99))
    );
}
