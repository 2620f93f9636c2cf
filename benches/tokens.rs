//! `cargo bench --bench tokens`: the token store with one million tokens, on SQLite and on a
//! throwaway PostgreSQL (`STS_BENCH_BACKENDS=sqlite,postgres`): `_queryFilter` by principal
//! and by STS id (p50/p99), durable inserts alone and shared by concurrent writers (group
//! commit), and the replay cache's one insert per accepted value (p50/p99).
//! `STS_BENCH_TOKENS` overrides the count.
//!
//! On PostgreSQL each measured call also reads how long the bench's thread and the database
//! process serving it waited for a CPU (runnable, not running: `/proc/PID/schedstat`), so that
//! the slowest 1% can be split into database work and waiting for a core on a shared machine;
//! and the plans of the statements measured are printed (`EXPLAIN (ANALYZE, BUFFERS)`).
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

/// Nanoseconds `schedstat` (a `/proc/.../schedstat` file) spent runnable but waiting for a CPU.
fn run_queue_ns(schedstat: &str) -> u64 {
    std::fs::read_to_string(schedstat)
        .ok()
        .and_then(|s| s.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

/// One measured call: how long it took, and how long the bench's thread and the database
/// process serving it waited for a CPU meanwhile.
#[derive(Clone, Copy)]
struct Sample {
    took: Duration,
    client_wait: Duration,
    server_wait: Duration,
}

/// Times calls, with the run-queue waits of this thread and of `server` (a schedstat path).
#[derive(Default)]
struct Watch {
    server: Option<String>,
}

impl Watch {
    /// The PostgreSQL process serving the store's pooled connection, found by the last
    /// statement it ran (`like`), after a warm-up call made it run one.
    fn postgres(url: &str, like: &str) -> Watch {
        let pid: Option<i32> = postgres::Client::connect(url, postgres::NoTls)
            .and_then(|mut c| {
                c.query_opt(
                    "SELECT pid FROM pg_stat_activity WHERE application_name = 'sts' \
                     AND query LIKE $1 ORDER BY state_change DESC LIMIT 1",
                    &[&like],
                )
            })
            .expect("pg_stat_activity")
            .map(|r| r.get(0));
        Watch {
            server: pid.map(|p| format!("/proc/{p}/schedstat")),
        }
    }

    fn time<T>(&self, f: impl FnOnce() -> T) -> (T, Sample) {
        let me = "/proc/thread-self/schedstat";
        let server = || self.server.as_deref().map_or(0, run_queue_ns);
        let (c0, s0) = (run_queue_ns(me), server());
        let t = Instant::now();
        let v = f();
        let took = t.elapsed();
        let (c1, s1) = (run_queue_ns(me), server());
        let sample = Sample {
            took,
            client_wait: Duration::from_nanos(c1.saturating_sub(c0)),
            server_wait: Duration::from_nanos(s1.saturating_sub(s0)),
        };
        (v, sample)
    }
}

/// p50 and p99, and what the slowest 1% spent waiting for a CPU.
fn report(name: &str, mut samples: Vec<Sample>) {
    samples.sort_by_key(|s| s.took);
    let took: Vec<Duration> = samples.iter().map(|s| s.took).collect();
    let tail: Vec<Sample> = samples
        .iter()
        .skip(samples.len() * 99 / 100)
        .copied()
        .collect();
    let n = tail.len().max(1) as f64;
    let mean = |f: fn(&Sample) -> Duration| tail.iter().map(|s| ms(f(s))).sum::<f64>() / n;
    println!(
        "{name:<38} p50 {:>7.3} ms  p99 {:>7.3} ms | slowest 1%: {:.3} ms, waiting for a CPU: \
         bench {:.3} ms, database {:.3} ms",
        ms(percentile(&took, 0.5)),
        ms(percentile(&took, 0.99)),
        mean(|s| s.took),
        mean(|s| s.client_wait),
        mean(|s| s.server_wait),
    );
}

/// The page query by sts_id and by principal on one connection, statement by statement
/// alternating between the text sent each time (a parse-and-describe round trip, then the
/// execution: what the store did before it kept generated statements prepared) and a prepared
/// statement (one round trip; PostgreSQL may reuse the plan): the same run, the same rows.
fn prepared_or_not(url: &str, queries: usize, principals: usize) {
    let mut c = postgres::Client::connect(url, postgres::NoTls).expect("connect");
    let pid: i32 = c
        .query_one("SELECT pg_backend_pid()", &[])
        .expect("pid")
        .get(0);
    let watch = Watch {
        server: Some(format!("/proc/{pid}/schedstat")),
    };
    let limit = 1001_i64;
    for (name, cond) in [("by sts_id", "sts_id"), ("by principal", "principal")] {
        let sql = format!(
            "SELECT token_id, sts_id, realm, principal, token_type, issued_ms, expires_ms \
             FROM tokens WHERE ({cond} = $1) ORDER BY token_id LIMIT $2"
        );
        let st = c.prepare(&sql).expect("prepare");
        let value = |i: usize| match cond {
            "sts_id" => format!("sts-{}", i % 10),
            _ => format!("user{}", (i * 7919) % principals),
        };
        let read = |rows: Vec<postgres::Row>| {
            for r in &rows {
                let text: [String; 5] = [0, 1, 2, 3, 4].map(|i| r.get(i));
                black_box((text, r.get::<_, i64>(5), r.get::<_, i64>(6)));
            }
        };
        let (mut sent, mut prepared) = (Vec::new(), Vec::new());
        for i in 0..queries * 2 {
            let v = value(i / 2);
            if i % 2 == 0 {
                let (rows, t) = watch.time(|| c.query(sql.as_str(), &[&v, &limit]).expect("query"));
                read(rows);
                sent.push(t);
            } else {
                let (rows, t) = watch.time(|| c.query(&st, &[&v, &limit]).expect("query"));
                read(rows);
                prepared.push(t);
            }
        }
        report(&format!("raw {name}, text each time"), sent);
        report(&format!("raw {name}, prepared"), prepared);
    }
}

/// `EXPLAIN (ANALYZE, BUFFERS, WAL)` of `sql` with `params`, indented.
fn explain(url: &str, sql: &str, params: &[&(dyn postgres::types::ToSql + Sync)]) {
    let plan: Vec<String> = postgres::Client::connect(url, postgres::NoTls)
        .and_then(|mut c| c.query(&format!("EXPLAIN (ANALYZE, BUFFERS, WAL) {sql}"), params))
        .expect("explain")
        .iter()
        .map(|r| format!("    {}", r.get::<_, String>(0)))
        .collect();
    println!("  {sql}\n{}", plan.join("\n"));
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
        let query = |i: usize| {
            let f = filter::parse(&make(i)).expect("filter");
            black_box(store.query_tokens(&f, 1000, None).expect("query"));
        };
        query(0);
        let watch = if backend == "postgres" {
            Watch::postgres(url, "SELECT token_id%")
        } else {
            Watch::default()
        };
        let samples = (0..queries).map(|i| watch.time(|| query(i)).1).collect();
        report(&format!("query {name}"), samples);
    }
    if backend == "postgres" {
        prepared_or_not(url, queries, principals);
        println!("plans (the statements the store runs):");
        let sel = "SELECT token_id, sts_id, realm, principal, token_type, issued_ms, \
                   expires_ms FROM tokens WHERE ";
        let limit = 1001_i64;
        for (cond, value) in [("(sts_id = $1)", "sts-3"), ("(principal = $1)", "user77")] {
            let sql = format!("{sel}{cond} ORDER BY token_id LIMIT $2");
            explain(url, &sql, &[&value, &limit]);
        }
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
    let warm = openssl::sha::sha256(b"warm-up");
    store
        .insert_once(&warm, i64::MAX, 0)
        .expect("replay insert");
    let watch = if backend == "postgres" {
        Watch::postgres(url, "INSERT INTO replay%")
    } else {
        Watch::default()
    };
    for i in 0..n {
        let key = openssl::sha::sha256(format!("nonce-{i}").as_bytes());
        let (first, t) =
            watch.time(|| store.insert_once(&key, i64::MAX, 0).expect("replay insert"));
        fresh.push(t);
        let (second, t) =
            watch.time(|| store.insert_once(&key, i64::MAX, 0).expect("replay insert"));
        replay.push(t);
        assert_eq!(
            (first, second),
            (
                sts::store::replay::Once::Fresh,
                sts::store::replay::Once::Replay
            )
        );
    }
    report("replay insert (fresh)", fresh);
    report("replay insert (refused)", replay);
    if backend == "postgres" {
        // The statement of src/store/postgres/replay.rs, fresh then refused.
        let sql = "INSERT INTO replay (key, until_ms) SELECT $1::bytea, $2::bigint \
                   FROM (SELECT set_config('synchronous_commit', 'off', true)) AS async_commit \
                   ON CONFLICT (key) DO UPDATE SET until_ms = excluded.until_ms \
                   WHERE replay.until_ms < $3::bigint";
        let key = openssl::sha::sha256(b"explained").to_vec();
        for _ in 0..2 {
            explain(url, sql, &[&key, &i64::MAX, &0_i64]);
        }
    }
}
