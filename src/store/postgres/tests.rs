//! The PostgreSQL backend against a real server (`store::testpg`): the conformance suite,
//! migrations, group commit under concurrency, and recovery from a restart.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::*;
use crate::store::testpg::TestPostgres;
use crate::store::{Filter, TokenRecord, TokenStore, filter};

fn opts() -> StoreOptions {
    StoreOptions {
        wait: Duration::from_secs(5),
        ..StoreOptions::default()
    }
}

fn tok(i: usize) -> TokenRecord {
    TokenRecord {
        token_id: format!("_g{i:06}"),
        sts_id: format!("s{}", i % 3),
        realm: "/".into(),
        principal: format!("p{}", i % 7),
        token_type: "SAML2".into(),
        issued_ms: 1,
        expires_ms: i64::MAX,
        token: format!("<a ID=\"_g{i:06}\"/>"),
    }
}

#[test]
fn postgres_passes_the_conformance_suite_and_migrates_once() {
    let pg = TestPostgres::start();
    let store = PgStore::open(&pg.url(), &opts()).unwrap();
    crate::store::conformance(&store);
    crate::store::replay::conformance(&store);
    crate::store::keys::conformance(&store);
    crate::store::lockout::conformance(&store);
    crate::store::changes::conformance(&store);
    crate::store::users::conformance(&store);
    let known = u32::try_from(MIGRATIONS.len()).unwrap();
    // Migrating again is a no-op; the password may come from the options instead of the URL.
    let with_option = StoreOptions {
        password: Some(crate::secret::Secret::new(pg.password().to_owned())),
        ..opts()
    };
    assert_eq!(
        PgStore::migrate_only(&pg.url_without_password(), &with_option).unwrap(),
        Migrated {
            from: known,
            to: known
        }
    );
    // Without a password the server refuses us, and says so as unavailable (not a hang).
    assert!(PgStore::open(&pg.url_without_password(), &opts()).is_err());
    // A schema from a newer sts is refused.
    let mut c = postgres::Client::connect(&pg.url(), postgres::NoTls).unwrap();
    c.execute(
        "INSERT INTO schema_migrations VALUES ($1, 'future', 0)",
        &[&(i32::try_from(known).unwrap() + 1)],
    )
    .unwrap();
    let e = PgStore::open(&pg.url(), &opts()).err().unwrap().to_string();
    assert!(e.contains("newer than this sts knows"), "{e}");
    // A fresh database migrates from zero; the versions are recorded.
    let fresh = pg.fresh_database();
    assert_eq!(
        PgStore::migrate_only(&fresh, &opts()).unwrap(),
        Migrated { from: 0, to: known }
    );
    let mut c = postgres::Client::connect(&fresh, postgres::NoTls).unwrap();
    let n: i64 = c
        .query_one("SELECT count(*) FROM schema_migrations", &[])
        .unwrap()
        .get(0);
    assert_eq!(n, i64::from(known));
}

#[test]
fn concurrent_inserts_share_commits_and_each_job_fails_alone() {
    let pg = TestPostgres::start();
    let store = Arc::new(PgStore::open(&pg.url(), &opts()).unwrap());
    // 16 threads, 50 single-token inserts each, with one duplicate per thread.
    let threads: Vec<_> = (0..16)
        .map(|t| {
            let s = store.clone();
            std::thread::spawn(move || {
                let mut failed = 0;
                for i in 0..50 {
                    if s.insert_tokens(&[tok(t * 50 + i)]).is_err() {
                        failed += 1;
                    }
                }
                if s.insert_tokens(&[tok(t * 50)]).is_err() {
                    failed += 100;
                }
                failed
            })
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().unwrap(), 100, "only the duplicate fails");
    }
    // A multi-token job with one taken id fails as a whole and leaves nothing behind.
    let mixed = [tok(5000), tok(3)];
    assert!(store.insert_tokens(&mixed).is_err());
    assert_eq!(store.get_token("_g005000").unwrap(), None);
    // Repeats inside one job are refused too.
    assert!(store.insert_tokens(&[tok(6000), tok(6000)]).is_err());
    assert_eq!(store.get_token("_g006000").unwrap(), None);
    let all = store
        .query_tokens(&Filter::True, 10_000, None)
        .unwrap()
        .items;
    assert_eq!(all.len(), 800);
    assert_eq!(store.get_token("_g000799").unwrap(), Some(tok(799)));
    let by = |f: &str| {
        store
            .query_tokens(&filter::parse(f).unwrap(), 10_000, None)
            .unwrap()
            .items
            .len()
    };
    assert_eq!(by("/token_principal eq 'p3'"), 114);
    assert_eq!(by("/sts_id eq 's1' and /token_principal eq 'p3'"), 38);
    // Types that differ from the field's compare as in SQLite.
    assert_eq!(by("/expiration_time eq 'soon'"), 0);
    assert_eq!(by("/expiration_time lt 'soon'"), 800);
    assert_eq!(by("/token_id sw '_g00079'"), 10);
}

#[test]
fn a_restarted_server_is_unavailable_fast_then_used_again_without_reopening() {
    let mut pg = TestPostgres::start();
    let store = PgStore::open(
        &pg.url(),
        &StoreOptions {
            pool_size: 4,
            wait: Duration::from_millis(500),
            ..StoreOptions::default()
        },
    )
    .unwrap();
    store.insert_tokens(&[tok(1)]).unwrap();
    assert!(store.get_token("_g000001").unwrap().is_some());
    pg.stop();
    let t0 = Instant::now();
    match store.get_token("_g000001") {
        Err(StoreError::Unavailable(_)) => {}
        other => panic!("expected Unavailable, got {other:?}"),
    }
    match store.insert_tokens(&[tok(2)]) {
        Err(StoreError::Unavailable(_)) => {}
        other => panic!("expected Unavailable, got {other:?}"),
    }
    // Refused connections fail at once; the bound is the wait, with a margin for a slow CI.
    assert!(t0.elapsed() < Duration::from_secs(10), "{:?}", t0.elapsed());
    pg.restart();
    // Stale pooled connections are replaced on first use; no reopen needed.
    assert!(store.get_token("_g000001").unwrap().is_some());
    store.insert_tokens(&[tok(3)]).unwrap();
    assert!(store.get_token("_g000003").unwrap().is_some());
    // The same after a crash.
    pg.kill();
    assert!(matches!(
        store.get_token("_g000003"),
        Err(StoreError::Unavailable(_))
    ));
    pg.restart();
    store.insert_tokens(&[tok(4)]).unwrap();
    assert_eq!(
        store
            .query_tokens(&Filter::True, 10, None)
            .unwrap()
            .items
            .len(),
        3
    );
}

#[test]
fn an_exhausted_pool_fails_within_the_wait() {
    let pg = TestPostgres::start();
    let store = Arc::new(
        PgStore::open(
            &pg.url(),
            &StoreOptions {
                pool_size: 1,
                wait: Duration::from_millis(200),
                ..StoreOptions::default()
            },
        )
        .unwrap(),
    );
    // Hold the only connection inside a query until we let it go.
    let (held_tx, held_rx) = std::sync::mpsc::channel();
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let s = store.clone();
    let holder = std::thread::spawn(move || {
        s.pool
            .run(move |_c| {
                held_tx.send(()).unwrap();
                go_rx.recv().unwrap();
                Ok(())
            })
            .unwrap();
    });
    held_rx.recv().unwrap();
    let t0 = Instant::now();
    assert!(matches!(
        store.get_session(&[1; 32]),
        Err(StoreError::Unavailable(_))
    ));
    let waited = t0.elapsed();
    assert!(waited >= Duration::from_millis(200), "{waited:?}");
    go_tx.send(()).unwrap();
    holder.join().unwrap();
    assert_eq!(store.get_session(&[1; 32]).unwrap(), None);
}

/// Statements deallocated under the pool (`DISCARD ALL`, a transaction-mode pooler) fail the
/// call that finds them gone, and only that one: the connection is not used again.
#[test]
fn a_connection_whose_prepared_statements_went_stale_is_not_used_again() {
    let pg = TestPostgres::start();
    let store = PgStore::open(
        &pg.url(),
        &StoreOptions {
            pool_size: 1,
            ..opts()
        },
    )
    .unwrap();
    assert_eq!(store.get_session(&[1; 32]).unwrap(), None);
    store
        .pool
        .run(|c| c.client.batch_execute("DEALLOCATE ALL"))
        .unwrap();
    assert!(matches!(
        store.get_session(&[1; 32]),
        Err(StoreError::Db(m)) if m.contains("26000")
    ));
    assert_eq!(store.get_session(&[1; 32]).unwrap(), None);
    assert_eq!(store.get_session(&[1; 32]).unwrap(), None);
}

/// The sync client runs a runtime of its own: opening, using and dropping the store from
/// async code (either runtime flavour) must not panic with "runtime within a runtime".
#[test]
fn the_store_works_from_async_code_on_either_runtime() {
    let pg = TestPostgres::shared();
    let session = |n: u8| crate::store::SessionRecord {
        handle: [n; 32],
        uid: format!("u{n}"),
        realm: "/".into(),
        username: "a".into(),
        interim: false,
        created_ms: 1,
        accessed_ms: 1,
        max_until_ms: i64::MAX,
    };
    let multi = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let url = pg.fresh_schema();
    multi.block_on(async {
        let store = PgStore::open(&url, &opts()).unwrap();
        store.insert_session(&session(1)).unwrap();
        assert!(store.get_session(&[1; 32]).unwrap().is_some());
        let mut l = crate::store::changes::ChangeStore::change_listener(&store)
            .unwrap()
            .unwrap();
        assert!(l.wait(Duration::from_millis(10)).unwrap().is_empty());
        drop(l);
        drop(store);
    });
    let single = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    single.block_on(async {
        let store = PgStore::open(&url, &opts()).unwrap();
        assert!(store.get_session(&[1; 32]).unwrap().is_some());
        // Token inserts are awaited, not waited on, in async code.
        store.insert_tokens_deferred(&[tok(1)]).unwrap().done().await.unwrap();
        assert!(store.get_token("_g000001").unwrap().is_some());
        drop(store);
    });
}

#[test]
fn token_pages_by_sts_id_or_principal_are_read_from_the_index_alone() {
    let pg = TestPostgres::shared();
    let url = pg.fresh_schema();
    let store = PgStore::open(&url, &opts()).unwrap();
    let recs: Vec<TokenRecord> = (0..3000).map(tok).collect();
    store.insert_tokens(&recs).unwrap();
    let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    // What autovacuum does for an insert-mostly table: the visibility map and statistics.
    c.batch_execute("VACUUM (ANALYZE) tokens").unwrap();
    for (filter, index) in [
        ("/sts_id eq 's1'", "tokens_sts_cover"),
        ("/token_principal eq 'p3'", "tokens_principal_cover"),
    ] {
        let f = filter::parse(filter).unwrap();
        let (sql, args) = crate::store::sql::page_query(
            crate::store::sql::Dialect::Postgres,
            &f,
            1000,
            None,
        );
        let params: Vec<&(dyn postgres::types::ToSql + Sync)> = args
            .iter()
            .map(|a| match a {
                crate::store::sql::SqlArg::Text(s) => s as &(dyn postgres::types::ToSql + Sync),
                crate::store::sql::SqlArg::Int(n) => n as &(dyn postgres::types::ToSql + Sync),
            })
            .collect();
        let plan: Vec<String> = c
            .query(&format!("EXPLAIN (ANALYZE, COSTS OFF) {sql}"), &params)
            .unwrap()
            .iter()
            .map(|r| r.get::<_, String>(0))
            .collect();
        let plan = plan.join("\n");
        assert!(
            plan.contains(&format!("Index Only Scan using {index}")),
            "{filter}:\n{plan}"
        );
        assert!(plan.contains("Heap Fetches: 0"), "{filter}:\n{plan}");
        // And the store's own query returns what the plan read.
        let page = store.query_tokens(&f, 1000, None).unwrap();
        assert!(!page.items.is_empty());
    }
}

#[test]
fn tokens_stored_before_migration_011_are_read_and_deleted_from_token_bodies() {
    let pg = TestPostgres::shared();
    let url = pg.fresh_schema();
    let store = PgStore::open(&url, &opts()).unwrap();
    let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    // As a node of the previous version writes a token: text in token_bodies.
    let mut old = |i: usize, expires: i64| {
        let t = tok(i);
        c.execute(
            "INSERT INTO tokens (token_id, sts_id, realm, principal, token_type, issued_ms, \
             expires_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[&t.token_id, &t.sts_id, &t.realm, &t.principal, &t.token_type, &t.issued_ms, &expires],
        )
        .unwrap();
        c.execute(
            "INSERT INTO token_bodies (token_id, token) VALUES ($1, $2)",
            &[&t.token_id, &t.token],
        )
        .unwrap();
        TokenRecord {
            expires_ms: expires,
            ..t
        }
    };
    let a = old(1, i64::MAX);
    old(2, 5);
    store.insert_tokens(&[tok(3)]).unwrap();
    assert_eq!(store.get_token(&a.token_id).unwrap(), Some(a.clone()));
    assert_eq!(store.get_token("_g000003").unwrap(), Some(tok(3)));
    // This version writes one row, text included; nothing in token_bodies.
    let bodies = |c: &mut postgres::Client| -> i64 {
        c.query_one("SELECT count(*) FROM token_bodies", &[]).unwrap().get(0)
    };
    let text: Option<String> = c
        .query_one("SELECT token FROM tokens WHERE token_id = '_g000003'", &[])
        .unwrap()
        .get(0);
    assert_eq!(text, Some(tok(3).token));
    assert_eq!(bodies(&mut c), 2);
    assert_eq!(store.delete_expired_tokens(10, 100).unwrap(), 1);
    assert_eq!(bodies(&mut c), 1);
    assert!(store.delete_token(&a.token_id).unwrap());
    assert_eq!(bodies(&mut c), 0);
    assert_eq!(store.get_token(&a.token_id).unwrap(), None);
    // A row without a text anywhere (a hand-edited database) is no token.
    c.execute("UPDATE tokens SET token = NULL WHERE token_id = '_g000003'", &[])
        .unwrap();
    assert_eq!(store.get_token("_g000003").unwrap(), None);
}
