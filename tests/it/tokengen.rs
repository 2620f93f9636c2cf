//! Persisted tokens: `/sts-tokengen` queries, reads and cancels, the reaper, and durability
//! (no token whose reply was received is lost).

use std::process::Command;

use serde_json::json;

use crate::common::*;

#[test]
fn sts_tokengen_queries_pages_reads_and_cancels() {
    let s = server_with(Opts::default());
    for _ in 0..3 {
        issue(&s, "/sts/soap-persist", ("demo", DEMO_PASSWORD));
    }
    for _ in 0..2 {
        issue(&s, "/sts/soap-persist", ("alice", "s3cret"));
    }
    let admin = s.login("amadmin", ADMIN_PASSWORD);
    let user = s.login("demo", DEMO_PASSWORD);
    let get = |path: &str, who: &str| s.request("GET", path, &[("iPlanetDirectoryPro", who)], "");
    let by_sts = "/sts-tokengen?_queryFilter=%2Fsts_id+eq+%27soap-persist%27";
    assert_eq!(s.request("GET", by_sts, &[], "").status, 401);
    assert_eq!(get(by_sts, &user).status, 403);
    let r = get(by_sts, &admin);
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    assert_eq!(v["resultCount"], 5);
    assert_eq!(v["pagedResultsCookie"], serde_json::Value::Null);
    assert_eq!(v["totalPagedResultsPolicy"], "NONE");
    assert_eq!(v["totalPagedResults"], -1);
    assert_eq!(v["remainingPagedResults"], -1);
    let first = &v["result"][0];
    let keys: Vec<&String> = first.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "_id",
            "_rev",
            "expiration_time",
            "principal_name",
            "sts_id",
            "token_id",
            "token_type"
        ]
    );
    assert_eq!(first["_id"], first["token_id"]);
    assert_eq!(first["_rev"], "");
    assert!(first["expiration_time"].as_i64().unwrap() > 1_700_000_000);
    let by_user = get(
        "/sts-tokengen?_queryFilter=/token_principal+eq+'alice'",
        &admin,
    )
    .json();
    assert_eq!(by_user["resultCount"], 2);
    assert!(
        by_user["result"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["principal_name"] == "alice")
    );
    // Paging.
    let p1 = get(&format!("{by_sts}&_pageSize=2"), &admin).json();
    assert_eq!(p1["resultCount"], 2);
    let cookie = p1["pagedResultsCookie"].as_str().unwrap().to_owned();
    let p2 = get(
        &format!("{by_sts}&_pageSize=2&_pagedResultsCookie={cookie}"),
        &admin,
    )
    .json();
    assert_eq!(p2["resultCount"], 2);
    assert!(p2["result"][0]["token_id"].as_str().unwrap() > cookie.as_str());
    // Filter errors say where.
    let bad = get("/sts-tokengen?_queryFilter=/sts_id+eq+'x", &admin);
    assert_eq!(bad.status, 400);
    assert!(
        bad.json()["message"]
            .as_str()
            .unwrap()
            .contains("position 11"),
        "{}",
        bad.body
    );
    let field = get("/sts-tokengen?_queryFilter=/secret+eq+'x'", &admin);
    assert_eq!(field.status, 400);
    assert!(field.body.contains("unsupported field"));
    assert_eq!(get("/sts-tokengen", &admin).status, 400);
    // Read one, cancel it as the reference page shows, then it is gone.
    let id = first["token_id"].as_str().unwrap().to_owned();
    assert_eq!(
        get(&format!("/sts-tokengen/{id}"), &admin).json()["token_id"],
        id.as_str()
    );
    assert_eq!(
        s.request(
            "DELETE",
            &format!("/sts-tokengen/{id}"),
            &[("iPlanetDirectoryPro", &user)],
            ""
        )
        .status,
        403
    );
    let d = s.request(
        "DELETE",
        &format!("/sts-tokengen/{id}"),
        &[("iPlanetDirectoryPro", &admin)],
        "",
    );
    assert_eq!(d.status, 200);
    assert_eq!(
        d.json(),
        json!({"_id": id, "_rev": id, "result": format!("token with id {id} successfully removed.")})
    );
    let gone = get(&format!("/sts-tokengen/{id}"), &admin);
    assert_eq!(gone.status, 404);
    assert_eq!(gone.json()["code"], 404);
    assert_eq!(
        s.request(
            "DELETE",
            &format!("/sts-tokengen/{id}"),
            &[("iPlanetDirectoryPro", &admin)],
            ""
        )
        .status,
        404
    );
}

#[test]
fn the_reaper_removes_expired_tokens_with_an_injected_clock() {
    let at = wall_clock();
    let clock = sts::clock::FixedClock::new(at);
    let s = server_with(Opts {
        clock: Some(clock.clone()),
        reap_every: Some(std::time::Duration::from_millis(200)),
        ..Default::default()
    });
    for _ in 0..3 {
        assert_eq!(
            issue(&s, "/sts/soap-persist", ("demo", DEMO_PASSWORD)).status,
            200
        );
    }
    let all = || {
        s.store()
            .query_tokens(&sts::store::filter::parse("true").unwrap(), 100, None)
            .unwrap()
            .items
            .len()
    };
    std::thread::sleep(std::time::Duration::from_millis(600));
    assert_eq!(all(), 3, "live tokens reaped");
    clock.set(at + chrono::Duration::seconds(601));
    wait_until("the reaper removes the expired tokens", || all() == 0);
    // Issuing goes on while the reaper runs.
    assert_eq!(
        issue(&s, "/sts/soap-persist", ("demo", DEMO_PASSWORD)).status,
        200
    );
}

#[test]
fn query_filters_with_multibyte_characters_are_400_not_500() {
    let s = server_with(Opts::default());
    issue(&s, "/sts/soap-persist", ("demo", DEMO_PASSWORD));
    let admin = s.login("amadmin", ADMIN_PASSWORD);
    let get = |filter: &str| {
        s.request(
            "GET",
            &format!("/sts-tokengen?_queryFilter={filter}"),
            &[("iPlanetDirectoryPro", &admin)],
            "",
        )
    };
    // Percent-encoded UTF-8; positions count characters.
    for (filter, pos) in [
        ("aaa%C3%A9", 0),                        // aaaé
        ("tru%E2%82%AC", 0),                     // tru€
        ("%2Fsts_id+%C3%A9q+'a'", 8),            // /sts_id éq 'a'
        ("%2Fsts_id+eq+'a'+an%F0%9F%98%80", 15), // /sts_id eq 'a' an😀
        ("%2Fsts%C3%A9+eq+'a'", 0),              // /stsé eq 'a'
    ] {
        let r = get(filter);
        assert_eq!(r.status, 400, "{filter}: {}", r.body);
        let message = r.json()["message"].as_str().unwrap().to_owned();
        assert!(
            message.starts_with(&format!("invalid _queryFilter at position {pos}:")),
            "{filter}: {message}"
        );
    }
    // Non-ASCII values are values: no match here, and no error.
    let r = get("%2Ftoken_principal+eq+'Jos%C3%A9'+or+%2Fsts_id+sw+'%E6%97%A5'");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["resultCount"], 0);
    // The server is still there.
    assert_eq!(get("%2Fsts_id+eq+'soap-persist'").json()["resultCount"], 1);
}

#[test]
fn kill_9_loses_no_token_whose_reply_was_received() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (ok, out) = run(Command::new(env!("CARGO_BIN_EXE_sts"))
        .arg("--data-dir")
        .arg(&data)
        .arg("init")
        .env("STS_DEMO_PASSWORD", DEMO_PASSWORD)
        .env("STS_ADMIN_PASSWORD", ADMIN_PASSWORD));
    assert!(ok, "{out}");
    std::fs::write(
        data.join("instances/soap/soap-persist.json"),
        persisting_instance("soap-persist", true).to_string(),
    )
    .unwrap();
    // A digest user: no argon2 per request, so many requests are in flight at the kill.
    let (ok, out) = run(Command::new(env!("CARGO_BIN_EXE_sts"))
        .arg("--data-dir")
        .arg(&data)
        .args(["user", "add", "kim", "--digest"])
        .env("STS_USER_PASSWORD", "pw-kim"));
    assert!(ok, "{out}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_sts"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .arg("--data-dir")
        .arg(&data)
        .env("STS_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut base = String::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if let Some(rest) = line.split("listening on ").nth(1) {
            base = rest.trim().to_owned();
            break;
        }
    }
    let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let (base, received, stop) = (base.clone(), received.clone(), stop.clone());
            std::thread::spawn(move || {
                let client = reqwest::blocking::Client::new();
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let body = envelope(SOAP11, &username_digest("kim", "pw-kim"), RST_ISSUE);
                    let Ok(r) = client
                        .post(format!("{base}/sts/soap-persist"))
                        .header("Content-Type", "text/xml")
                        .body(body)
                        .send()
                    else {
                        break;
                    };
                    let Ok(text) = r.text() else { break };
                    if let Some(a) = text.split("<saml2:Assertion").nth(1) {
                        received.lock().unwrap().push(assertion_id(a));
                    }
                }
            })
        })
        .collect();
    // Kill it mid-load, once replies are flowing.
    wait_until("more than 10 replies", || {
        received.lock().unwrap().len() > 10
    });
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for w in workers {
        w.join().unwrap();
    }
    let ids = received.lock().unwrap().clone();
    assert!(
        ids.len() > 10,
        "too few replies before the kill: {}",
        ids.len()
    );
    let store = sts::store::open(&format!("sqlite://{}", data.join("sts.db").display())).unwrap();
    let missing: Vec<_> = ids
        .iter()
        .filter(|id| store.get_token(id).unwrap().is_none())
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {} received tokens lost: {missing:?}",
        missing.len(),
        ids.len()
    );
}
