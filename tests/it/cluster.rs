//! Three `sts serve` processes on one PostgreSQL: changes reach every node by notification,
//! tokens issued on one node are validated, cancelled and introspected on the others, replay
//! caches and lockout counters are shared, and the cluster survives a node killed with -9 and
//! a database restart under load.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::common::*;

/// Longer than any test waits: a change seen by another node came by notification.
const NO_POLL: Duration = Duration::from_secs(600);

fn wsdl_status(s: &TestServer, id: &str) -> u16 {
    s.get(&format!("/sts/{id}?wsdl")).status
}

#[test]
fn publish_on_one_node_is_served_by_all_and_delete_anywhere_removes_it() {
    let c = Cluster::start(3, NO_POLL);
    let (a, b, cc) = (c.node(0), c.node(1), c.node(2));
    let admin = a.login("amadmin", ADMIN_PASSWORD);
    let r = publish(a, &admin, "soap", &persisting_instance("pub-x", false));
    assert_eq!(r.status, 201, "{}", r.body);
    let t0 = Instant::now();
    wait_until("pub-x served on B and C", || {
        wsdl_status(b, "pub-x") == 200 && wsdl_status(cc, "pub-x") == 200
    });
    println!("publish on A -> WSDL on B and C: {:?}", t0.elapsed());
    let issued = issue_at(b, "pub-x", Duration::from_secs(60)).unwrap();
    assert_eq!(issued.status, 200, "{}", issued.body);
    // The session made on A is good on C: sessions live in the store.
    let r = cc.request(
        "DELETE",
        "/sts-publish/soap/pub-x",
        &[("iPlanetDirectoryPro", &admin)],
        "",
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let t0 = Instant::now();
    wait_until("pub-x gone on A", || wsdl_status(a, "pub-x") == 404);
    println!("delete on C -> gone on A: {:?}", t0.elapsed());
    assert_eq!(wsdl_status(b, "pub-x"), 404);
}

#[test]
fn a_token_issued_on_a_is_valid_on_b_cancelled_on_c_and_inactive_everywhere() {
    let c = Cluster::start(3, NO_POLL);
    let (a, b, cc) = (c.node(0), c.node(1), c.node(2));
    let admin = a.login("amadmin", ADMIN_PASSWORD);
    let r = a.request(
        "POST",
        "/sts-clients?_action=create",
        &[
            ("iPlanetDirectoryPro", &admin),
            ("Content-Type", "application/json"),
        ],
        &json!({"client_id": "rs-1", "token_endpoint_auth_method": "none"}).to_string(),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let issued = issue_at(a, PERSIST, Duration::from_secs(60)).unwrap();
    assert_eq!(issued.status, 200, "{}", issued.body);
    let token = issued.assertion_text();
    let id = assertion_id(&token);
    let validate = |s: &TestServer| {
        status(&s.post(
            &format!("/sts/{PERSIST}"),
            &[
                ("Content-Type", "text/xml"),
                (
                    "SOAPAction",
                    "http://docs.oasis-open.org/ws-sx/ws-trust/200512/RST/Validate",
                ),
            ],
            target_envelope("Validate", &username_text("alice", "s3cret"), &token),
        ))
    };
    assert!(validate(b).0, "not valid on B");
    let introspect = |s: &TestServer| {
        let form: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("token", &token)
            .append_pair("client_id", "rs-1")
            .finish();
        let r = s.request(
            "POST",
            "/oauth2/introspect",
            &[("Content-Type", "application/x-www-form-urlencoded")],
            &form,
        );
        assert_eq!(r.status, 200, "{}", r.body);
        r.json()["active"].as_bool().unwrap()
    };
    assert!(introspect(b), "not active on B");

    // Cancelled on C through the REST token API.
    let r = cc.request(
        "DELETE",
        &format!("/sts-tokengen/{id}"),
        &[("iPlanetDirectoryPro", &admin)],
        "",
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let listed = a.request(
        "GET",
        &format!("/sts-tokengen?_queryFilter=/token_id eq '{id}'"),
        &[("iPlanetDirectoryPro", &admin)],
        "",
    );
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert_eq!(listed.json()["resultCount"], 0, "{}", listed.body);
    assert!(!introspect(b), "still active on B");
    assert!(!validate(a).0, "still valid on A");
}

#[test]
fn a_key_rotated_from_the_cli_signs_on_every_node_and_old_tokens_still_validate() {
    let c = Cluster::start(3, NO_POLL);
    let (a, b, cc) = (c.node(0), c.node(1), c.node(2));
    let assertion = |s: &TestServer| {
        let r = issue_at(s, PERSIST, Duration::from_secs(60)).unwrap();
        assert_eq!(r.status, 200, "{}", r.body);
        r.assertion_text()
    };
    let signer = |a: &str| text_of(a, "X509Certificate");
    let old = assertion(a);
    assert_eq!(
        signer(&assertion(b)),
        signer(&old),
        "one key for the cluster"
    );
    let (ok, out) = run(c.sts().args(["keys", "rotate", "sts-signing"]));
    assert!(ok, "{out}");
    let t0 = Instant::now();
    wait_until("B signs with the new key", || {
        signer(&assertion(b)) != signer(&old)
    });
    println!(
        "keys rotate -> B signs with the new key: {:?}",
        t0.elapsed()
    );
    assert_ne!(signer(&assertion(cc)), signer(&old));
    let validate = status(&cc.post(
        &format!("/sts/{PERSIST}"),
        &[
            ("Content-Type", "text/xml"),
            (
                "SOAPAction",
                "http://docs.oasis-open.org/ws-sx/ws-trust/200512/RST/Validate",
            ),
        ],
        target_envelope("Validate", &username_text("alice", "s3cret"), &old),
    ));
    assert!(validate.0, "the old assertion on C: {}", validate.1);
}

#[test]
fn replays_and_password_guesses_are_counted_across_nodes() {
    let c = Cluster::start(3, NO_POLL);
    let (a, b, cc) = (c.node(0), c.node(1), c.node(2));
    // The same PasswordDigest UsernameToken (nonce, created) on A, then on B.
    let digest = username_digest("alice", "s3cret");
    let body = envelope(SOAP11, &digest, RST_ISSUE);
    let headers = [("Content-Type", "text/xml"), ("SOAPAction", ISSUE_ACTION)];
    let first = a.post(&format!("/sts/{INSTANCE}"), &headers, body.clone());
    assert_eq!(first.status, 200, "{}", first.body);
    let again = b.post(&format!("/sts/{INSTANCE}"), &headers, body);
    assert_eq!(
        again.fault_code(),
        "wst:FailedAuthentication",
        "{}",
        again.body
    );

    // Five wrong passwords (the default threshold) spread over the nodes lock alice on all.
    let login = |s: &TestServer, pw: &str| {
        s.post(
            "/json/authenticate",
            &[
                ("X-OpenAM-Username", "alice"),
                ("X-OpenAM-Password", pw),
                ("Content-Type", "application/json"),
            ],
            "{}",
        )
        .status
    };
    for s in [a, b, cc, a, b] {
        assert_eq!(login(s, "guess"), 401);
    }
    for s in [a, b, cc] {
        assert_eq!(login(s, "s3cret"), 401, "not locked on {}", s.base);
    }
}

#[test]
fn foreign_assertion_ids_and_id_token_jtis_are_accepted_once_across_nodes() {
    let c = Cluster::start(2, NO_POLL);
    let (a, b) = (c.node(0), c.node(1));
    let work = tempfile::tempdir().unwrap();
    // The SAML IdP's certificate goes into the shared store, as an operator imports it.
    let (idp, idp_cert) = saml_idp();
    let cert_file = work.path().join("idp.crt.pem");
    std::fs::write(&cert_file, &idp_cert).unwrap();
    let (ok, out) = run(c.sts().args(["keys", "import", "idp-saml"]).arg(&cert_file));
    assert!(ok, "{out}");
    let (op_pem, jwk) = openid_provider(work.path());
    let mut instance = persisting_instance("fed-once", false);
    instance["security-policy-validated-token-config"] = json!([
        {"validatedTokenType": "OPENIDCONNECT", "invalidateInterimOpenAMSession": true},
        {"validatedTokenType": "SAML2", "invalidateInterimOpenAMSession": true}
    ]);
    instance["oidc-trusted-issuers"] = json!([{
        "issuer": "https://op.example.com", "audience": ["sts"], "algorithms": ["RS256"],
        "jwks": {"keys": [jwk]}
    }]);
    instance["saml2-trusted-issuers"] = json!([{
        "issuer": "https://idp.example.com/saml", "certificate": "idp-saml", "audience": "urn:sts"
    }]);
    let admin = a.login("amadmin", ADMIN_PASSWORD);
    let r = publish(a, &admin, "soap", &instance);
    assert_eq!(r.status, 201, "{}", r.body);
    wait_until("fed-once served on B", || wsdl_status(b, "fed-once") == 200);
    let soap = |s: &TestServer, security: &str| {
        s.post(
            "/sts/fed-once",
            &[("Content-Type", "text/xml"), ("SOAPAction", ISSUE_ACTION)],
            envelope(SOAP11, security, RST_ISSUE),
        )
    };
    // An IdP's assertion accepted on A is a replay on B (by its ID).
    let assertion = idp_assertion(&idp, "alice", "urn:sts", (-60, 300));
    let r = soap(a, &assertion);
    assert_eq!(r.status, 200, "{}", r.body);
    let r = soap(b, &assertion);
    assert_eq!(r.fault_code(), "wst:FailedAuthentication", "{}", r.body);
    assert!(r.body.contains("already used"), "{}", r.body);
    // An id_token with a jti accepted on B is a replay on A.
    let now = wall_clock().timestamp();
    let id_token = pyjwt_sign(
        "RS256",
        &op_pem,
        &json!({"iss": "https://op.example.com", "aud": "sts", "sub": "alice", "iat": now,
                "exp": now + 300, "jti": "cluster-jti-1"}),
        "op-1",
    );
    let bst = bst_of(&id_token);
    let r = soap(b, &bst);
    assert_eq!(r.status, 200, "{}", r.body);
    let r = soap(a, &bst);
    assert_eq!(r.fault_code(), "wst:FailedAuthentication", "{}", r.body);
    assert!(r.body.contains("already used"), "{}", r.body);
    // One without jti, by its signed content: accepted on A, a replay on B.
    let bst = bst_of(&pyjwt_sign(
        "RS256",
        &op_pem,
        &json!({"iss": "https://op.example.com", "aud": "sts", "sub": "alice", "iat": now,
                "exp": now + 300}),
        "op-1",
    ));
    let r = soap(a, &bst);
    assert_eq!(r.status, 200, "{}", r.body);
    let r = soap(b, &bst);
    assert_eq!(r.fault_code(), "wst:FailedAuthentication", "{}", r.body);
    assert!(r.body.contains("already used"), "{}", r.body);
}

/// An id_token as a SOAP BinarySecurityToken.
fn bst_of(id_token: &str) -> String {
    use base64::Engine as _;
    format!(
        "<wsse:BinarySecurityToken xmlns:wsse=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd\" ValueType=\"urn:ietf:params:oauth:token-type:jwt\" EncodingType=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary\">{}</wsse:BinarySecurityToken>",
        base64::engine::general_purpose::STANDARD.encode(id_token)
    )
}

/// Issues on every node from a thread per node until `stop`; returns, per node, the ids of
/// the tokens whose reply arrived, and every other outcome with how long it took.
struct Load {
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<NodeLoad>>,
}

#[derive(Default)]
struct NodeLoad {
    issued: Vec<String>,
    /// (HTTP status or 0 for a transport error, how long the request took).
    failed: Vec<(u16, Duration)>,
    /// Successes after the moment the test marks (node killed, database back).
    issued_after_mark: usize,
    /// The longest any request took, answered or not.
    slowest: Duration,
}

impl Load {
    fn start(c: &Cluster, mark: &Arc<AtomicBool>) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let threads = c
            .nodes
            .iter()
            .map(|n| {
                let s = TestServer::remote(&n.http.base);
                let (stop, mark) = (stop.clone(), mark.clone());
                std::thread::spawn(move || {
                    let mut out = NodeLoad::default();
                    while !stop.load(Ordering::SeqCst) {
                        let t0 = Instant::now();
                        let r = issue_at(&s, PERSIST, Duration::from_secs(60));
                        out.slowest = out.slowest.max(t0.elapsed());
                        match r {
                            Ok(r) if r.status == 200 => {
                                out.issued.push(assertion_id(&r.assertion_text()));
                                if mark.load(Ordering::SeqCst) {
                                    out.issued_after_mark += 1;
                                }
                            }
                            Ok(r) => out.failed.push((r.status, t0.elapsed())),
                            Err(_) => {
                                out.failed.push((0, t0.elapsed()));
                                // A dead node refuses at once: do not spin.
                                std::thread::sleep(Duration::from_millis(20));
                            }
                        }
                    }
                    out
                })
            })
            .collect();
        Load { stop, threads }
    }

    fn finish(self) -> Vec<NodeLoad> {
        self.stop.store(true, Ordering::SeqCst);
        self.threads
            .into_iter()
            .map(|t| t.join().unwrap())
            .collect()
    }
}

fn count(store: &dyn sts::store::Store) -> usize {
    let all = sts::store::filter::parse("true").unwrap();
    let mut n = 0;
    let mut cookie: Option<String> = None;
    loop {
        let page = store.query_tokens(&all, 1000, cookie.as_deref()).unwrap();
        n += page.items.len();
        match page.next {
            Some(c) => cookie = Some(c),
            None => return n,
        }
    }
}

#[test]
fn a_node_killed_under_load_loses_nothing_acknowledged_and_the_others_serve_on() {
    let mut c = Cluster::start(3, Duration::from_millis(200));
    let killed = Arc::new(AtomicBool::new(false));
    let load = Load::start(&c, &killed);
    let store = c.store();
    wait_until("tokens from every node", || count(&*store) >= 30);
    c.kill(1);
    killed.store(true, Ordering::SeqCst);
    // A and C go on: each answers more after the kill.
    let seen = count(&*store);
    wait_until("A and C serve on", || count(&*store) >= seen + 40);
    let out = load.finish();
    for (i, n) in out.iter().enumerate() {
        println!(
            "node {i}: {} issued ({} after the kill), {} failed",
            n.issued.len(),
            n.issued_after_mark,
            n.failed.len()
        );
    }
    for i in [0, 2] {
        assert!(out[i].issued_after_mark > 0, "node {i} stopped answering");
        assert!(
            out[i].failed.is_empty(),
            "node {i} failed: {:?}",
            out[i].failed
        );
    }
    // Every token whose reply was received, from any node, is in the store.
    for n in &out {
        for id in &n.issued {
            assert!(store.get_token(id).unwrap().is_some(), "{id} lost");
        }
    }
}

#[test]
fn a_database_restart_under_load_gets_quick_503s_and_the_nodes_recover_by_themselves() {
    let mut c = Cluster::start(3, Duration::from_millis(200));
    let back = Arc::new(AtomicBool::new(false));
    let load = Load::start(&c, &back);
    let store = c.store();
    wait_until("tokens from every node", || count(&*store) >= 30);
    drop(store);
    c.pg.stop();
    let outage = Instant::now();
    // While it is down, every node answers, with 503: probe each until it has, five times
    // (so that the load meets the outage too).
    for (i, n) in c.nodes.iter().enumerate() {
        let mut seen = 0;
        wait_until("503s during the outage", || {
            let t0 = Instant::now();
            let r = issue_at(&n.http, PERSIST, Duration::from_secs(60)).unwrap();
            if r.status == 503 {
                assert_eq!(r.fault_code(), "wst:RequestFailed", "node {i}: {}", r.body);
                println!("node {i}: 503 in {:?}", t0.elapsed());
                seen += 1;
            }
            seen >= 5
        });
        let rest = n.http.request(
            "GET",
            "/sts-tokengen?_queryFilter=true",
            &[("iPlanetDirectoryPro", "whatever")],
            "",
        );
        assert_eq!(rest.status, 503, "node {i}: {}", rest.body);
        assert_eq!(rest.json()["code"], 503);
    }
    println!("outage before the restart: {:?}", outage.elapsed());
    c.pg.restart();
    back.store(true, Ordering::SeqCst);
    let out = load.finish();
    let store = c.store();
    let mut worst = Duration::ZERO;
    for (i, n) in out.iter().enumerate() {
        let slowest = n.failed.iter().map(|f| f.1).max().unwrap_or_default();
        worst = worst.max(slowest);
        println!(
            "node {i}: {} issued, {} failed during the outage (statuses {:?}), slowest failure {:?}, slowest request {:?}",
            n.issued.len(),
            n.failed.len(),
            n.failed
                .iter()
                .map(|f| f.0)
                .collect::<std::collections::BTreeSet<_>>(),
            slowest,
            n.slowest
        );
        // No request waited out the outage: each was answered within the bounded waits.
        assert!(
            n.slowest < Duration::from_secs(30),
            "node {i}: a request took {:?}",
            n.slowest
        );
        assert!(
            n.failed.iter().all(|f| f.0 == 503),
            "node {i}: {:?}",
            n.failed
        );
        for id in &n.issued {
            assert!(store.get_token(id).unwrap().is_some(), "{id} lost");
        }
    }
    println!("slowest 503 during the outage: {worst:?}");
    // Bounded by the pool's wait (store_wait_millis, 2 s by default), not by the outage.
    assert!(worst < Duration::from_secs(30), "a request hung {worst:?}");
    // Every node recovers without a restart.
    for n in &c.nodes {
        wait_until("issue after the restart", || {
            issue_at(&n.http, PERSIST, Duration::from_secs(60)).is_ok_and(|r| r.status == 200)
        });
    }
}
