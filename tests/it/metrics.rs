//! Prometheus metrics and health endpoints, on real `sts serve` processes (the registry is
//! per process, so no other test's traffic can move these counters): `/metrics` scraped and
//! parsed by the official Python client's parser before and after a known mix of requests;
//! `/health/ready` following a throwaway PostgreSQL going down and coming back.

use std::collections::BTreeMap;
use std::process::Command;

use serde_json::{Value, json};

use crate::common::*;

/// One scrape: every sample by (name, labels), and the Content-Type it came with.
struct Scrape {
    content_type: String,
    samples: BTreeMap<(String, BTreeMap<String, String>), f64>,
}

fn scrape(url: &str) -> Scrape {
    let (ok, out) = run(Command::new("python3")
        .arg(peers_dir().join("prom_scrape.py"))
        .arg(url));
    assert!(ok, "scraping {url}: {out}");
    let mut lines = out
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap());
    let head = lines.next().unwrap();
    let mut samples = BTreeMap::new();
    for v in lines {
        let labels: BTreeMap<String, String> = serde_json::from_value(v["labels"].clone()).unwrap();
        let key = (v["name"].as_str().unwrap().to_owned(), labels);
        samples.insert(key, v["value"].as_f64().unwrap());
    }
    Scrape {
        content_type: head["content_type"].as_str().unwrap().to_owned(),
        samples,
    }
}

/// The samples named `name` that differ between two scrapes, with their increase.
fn moved(before: &Scrape, after: &Scrape, name: &str) -> BTreeMap<BTreeMap<String, String>, f64> {
    after
        .samples
        .iter()
        .filter(|((n, _), _)| n == name)
        .filter_map(|((_, labels), v)| {
            let was = before
                .samples
                .get(&(name.to_owned(), labels.clone()))
                .copied()
                .unwrap_or(0.0);
            (*v != was).then(|| (labels.clone(), v - was))
        })
        .collect()
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn request_labels(
    frontend: &str,
    instance: &str,
    operation: &str,
    token_in: &str,
    token_out: &str,
    outcome: &str,
) -> BTreeMap<String, String> {
    labels(&[
        ("frontend", frontend),
        ("instance", instance),
        ("operation", operation),
        ("token_in", token_in),
        ("token_out", token_out),
        ("outcome", outcome),
    ])
}

/// A data directory with alice, served by `sts serve` with `env`.
fn serve(env: &[(&str, &str)]) -> (LoggedServer, TestServer, tempfile::TempDir) {
    let dir = bootstrapped_dir();
    let users = sts::identity::FileUserStore::open(&dir.path().join("users.json")).unwrap();
    users
        .add(sts::identity::User {
            username: "alice".into(),
            realm: "/".into(),
            password_hash: sts::identity::hash_password("s3cret").unwrap(),
            digest_secret: None,
            attributes: Default::default(),
            disabled: false,
            admin: false,
        })
        .unwrap();
    let data = dir.path().to_str().unwrap().to_owned();
    let proc = LoggedServer::start(dir.path(), &["--data-dir", &data], env);
    let http = TestServer::remote(&proc.base);
    (proc, http, dir)
}

fn soap_issue(s: &TestServer, instance: &str, password: &str) -> Reply {
    s.request(
        "POST",
        &format!("/sts/{instance}"),
        &[("Content-Type", "text/xml"), ("SOAPAction", ISSUE_ACTION)],
        &envelope(SOAP11, &username_text("alice", password), RST_ISSUE),
    )
}

#[test]
fn counters_move_by_exactly_the_requests_made() {
    let (proc, s, _dir) = serve(&[("STS_METRICS_LISTEN", "127.0.0.1:0"), ("STS_LOG", "info")]);
    let metrics = proc
        .printed
        .iter()
        .find_map(|l| {
            l.split_once("metrics and health on ")
                .map(|(_, u)| u.trim())
        })
        .unwrap_or_else(|| panic!("no metrics address in {:?}", proc.printed))
        .to_owned();
    // With a listener of its own, /metrics is not on the main one; health is on both.
    assert_eq!(s.get("/metrics").status, 404);
    assert_eq!(s.get("/health/live").status, 200);
    let live = reqwest::blocking::get(format!("{metrics}/health/live")).unwrap();
    assert_eq!(live.status(), 200);

    // Setup, before the first scrape: an admin session, a REST instance, an OAuth client, a
    // token to introspect.
    let admin = s.login("amadmin", ADMIN_PASSWORD);
    let r = publish(&s, &admin, "rest", &rest_instance("mx", false));
    assert_eq!(r.status, 201, "{}", r.body);
    let r = s.request(
        "POST",
        "/sts-clients?_action=create",
        &[
            ("iPlanetDirectoryPro", admin.as_str()),
            ("Content-Type", "application/json"),
        ],
        &json!({"client_id": "rs", "token_endpoint_auth_method": "client_secret_post"}).to_string(),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let secret = r.json()["client_secret"].as_str().unwrap().to_owned();
    let jwt = issued(&call(
        &s,
        &admin,
        "mx",
        "translate",
        &username_to(oidc_out("n")),
    ));
    // The published instance reaches the label set with the registry (polled).
    wait_until("the REST instance is served", || {
        call(&s, &admin, "mx", "translate", &username_to(oidc_out("n"))).status == 200
    });

    let before = scrape(&format!("{metrics}/metrics"));
    assert!(
        before.content_type.starts_with("text/plain; version=0.0.4"),
        "{}",
        before.content_type
    );

    // The mix.
    let ok = soap_issue(&s, INSTANCE, "s3cret");
    assert_eq!(ok.status, 200, "{}", ok.body);
    let fault = soap_issue(&s, INSTANCE, "wrong");
    assert_eq!(fault.status, 500, "{}", fault.body);
    let unknown = soap_issue(&s, "no-such-instance-7f3a", "s3cret");
    assert_eq!(unknown.status, 404, "{}", unknown.body);
    let translated = call(&s, &admin, "mx", "translate", &username_to(oidc_out("n")));
    assert_eq!(translated.status, 200, "{}", translated.body);
    let user = s.request(
        "GET",
        "/json/users/alice",
        &[("iPlanetDirectoryPro", admin.as_str())],
        "",
    );
    assert_eq!(user.status, 200, "{}", user.body);
    let introspected = s.request(
        "POST",
        "/oauth2/introspect",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        &format!("token={jwt}&client_id=rs&client_secret={secret}"),
    );
    assert_eq!(introspected.status, 200, "{}", introspected.body);

    let after = scrape(&format!("{metrics}/metrics"));
    let expected: BTreeMap<_, f64> = [
        request_labels("soap", INSTANCE, "issue", "USERNAME", "SAML2", "success"),
        request_labels(
            "soap",
            INSTANCE,
            "issue",
            "USERNAME",
            "none",
            "FailedAuthentication",
        ),
        request_labels("soap", "unknown", "other", "none", "none", "InvalidRequest"),
        request_labels(
            "rest",
            "mx",
            "translate",
            "USERNAME",
            "OPENIDCONNECT",
            "success",
        ),
        request_labels("json_admin", "unknown", "users", "none", "none", "success"),
        request_labels("oauth2", "unknown", "introspect", "none", "none", "success"),
    ]
    .into_iter()
    .map(|l| (l, 1.0))
    .collect();
    assert_eq!(moved(&before, &after, "sts_requests_total"), expected);
    let durations: BTreeMap<_, f64> = [
        (labels(&[("frontend", "soap"), ("operation", "issue")]), 2.0),
        (labels(&[("frontend", "soap"), ("operation", "other")]), 1.0),
        (
            labels(&[("frontend", "rest"), ("operation", "translate")]),
            1.0,
        ),
        (
            labels(&[("frontend", "json_admin"), ("operation", "users")]),
            1.0,
        ),
        (
            labels(&[("frontend", "oauth2"), ("operation", "introspect")]),
            1.0,
        ),
    ]
    .into_iter()
    .collect();
    assert_eq!(
        moved(&before, &after, "sts_request_duration_seconds_count"),
        durations
    );
    // One assertion signed, at least one password hashed; no request is left in flight.
    let stages = moved(&before, &after, "sts_stage_duration_seconds_count");
    assert!(
        stages
            .get(&labels(&[("stage", "sign")]))
            .is_some_and(|n| *n >= 1.0),
        "{stages:?}"
    );
    assert!(
        stages
            .get(&labels(&[("stage", "password_hash")]))
            .is_some_and(|n| *n >= 2.0),
        "{stages:?}"
    );
    let in_flight = ("sts_requests_in_flight".to_owned(), BTreeMap::new());
    assert_eq!(after.samples.get(&in_flight), Some(&0.0));
    // The signing key's certificate expires in the future; the build is named.
    let expiry = after
        .samples
        .iter()
        .find(|((n, _), _)| n == "sts_signing_certificate_expiry_seconds")
        .map(|(_, v)| *v);
    assert!(expiry.is_some_and(|v| v > 0.0), "{expiry:?}");
    assert!(
        after
            .samples
            .keys()
            .any(|(n, l)| n == "sts_build_info" && l.contains_key("version"))
    );
    // A name from a URL never becomes a label; nor does a principal.
    for (name, l) in after.samples.keys() {
        for v in l.values() {
            assert!(
                !v.contains("no-such-instance") && v != "alice" && v != "amadmin",
                "{name} {l:?}"
            );
        }
    }
}

#[test]
fn metrics_on_the_main_listener_unless_turned_off() {
    let (_proc, s, _dir) = serve(&[("STS_LOG", "info")]);
    let r = s.get("/metrics");
    assert_eq!(r.status, 200);
    // Families appear with their first series; these have one from the start.
    assert!(
        r.body.contains("# TYPE sts_requests_in_flight gauge"),
        "{}",
        r.body
    );
    assert!(r.body.contains("sts_build_info{version=\""), "{}", r.body);
    assert_eq!(s.get("/health").status, 200);
    let (_proc, off, _dir) = serve(&[("STS_METRICS", "false"), ("STS_LOG", "info")]);
    assert_eq!(off.get("/metrics").status, 404);
    assert_eq!(off.get("/health/live").status, 200);
}

#[test]
fn readiness_follows_the_store() {
    let mut c = Cluster::start(1, std::time::Duration::from_millis(200));
    let ready = |c: &Cluster| c.node(0).get("/health/ready");
    let r = ready(&c);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["status"], "ready");
    c.pg.stop();
    wait_until("readiness reports the store down", || {
        ready(&c).status == 503
    });
    let r = ready(&c);
    let v = r.json();
    assert_eq!(v["status"], "not ready", "{v}");
    assert_eq!(v["reasons"], json!(["the store is unreachable"]), "{v}");
    assert!(!r.body.contains("postgres://"), "{}", r.body);
    // Liveness does not depend on the store.
    assert_eq!(c.node(0).get("/health/live").status, 200);
    c.pg.restart();
    wait_until("readiness recovers with the store", || {
        ready(&c).status == 200
    });
}

/// The value of the unlabelled gauge `name` in a fresh scrape.
fn gauge(url: &str, name: &str) -> f64 {
    let s = scrape(url);
    *s.samples
        .get(&(name.to_owned(), BTreeMap::new()))
        .unwrap_or_else(|| panic!("no {name} in the scrape"))
}

#[test]
fn state_gauges_follow_tokens_sessions_and_nonces() {
    let (proc, s, _dir) = serve(&[("STS_LOG", "info")]);
    let url = format!("{}/metrics", proc.base);
    let admin = s.login("amadmin", ADMIN_PASSWORD);
    let r = publish(&s, &admin, "rest", &rest_instance("kept", true));
    assert_eq!(r.status, 201, "{}", r.body);
    wait_until("the REST instance is served", || {
        call(&s, &admin, "kept", "translate", &username_to(oidc_out("n"))).status == 200
    });
    // The gauges are sampled at most every few seconds, on a scrape: this is the first
    // scrape, so its sample is taken now, after the setup settled (the interim sessions of
    // the calls above were invalidated within them).
    let read = || {
        (
            gauge(&url, "sts_tokens_stored"),
            gauge(&url, "sts_sessions_stored"),
            gauge(&url, "sts_replay_cache_entries"),
        )
    };
    let before = read();
    assert!(before.0 >= 1.0 && before.1 >= 1.0, "{before:?}");

    // One token stored, one session more, one nonce remembered.
    issued(&call(
        &s,
        &admin,
        "kept",
        "translate",
        &username_to(oidc_out("n")),
    ));
    let _second_admin = s.login("amadmin", ADMIN_PASSWORD);
    let created = wall_clock().format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
    let token = format!(
        "<wsse:UsernameToken><wsse:Username>alice</wsse:Username><wsse:Password Type=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText\">s3cret</wsse:Password><wsse:Nonce EncodingType=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary\">bm9uY2UtZ2F1Z2UtdGVzdA==</wsse:Nonce><wsu:Created>{created}</wsu:Created></wsse:UsernameToken>"
    );
    let r = s.request(
        "POST",
        &format!("/sts/{INSTANCE}"),
        &[("Content-Type", "text/xml"), ("SOAPAction", ISSUE_ACTION)],
        &envelope(SOAP11, &token, RST_ISSUE),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    wait_until(
        "the gauges show the token, the session and the nonce",
        || {
            let now = read();
            now.0 == before.0 + 1.0 && now.1 == before.1 + 1.0 && now.2 == before.2 + 1.0
        },
    );
}
