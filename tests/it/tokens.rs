//! Token persistence, SOAP Validate and Cancel, /sts-tokengen, the reaper, the tokens CLI.

use std::process::Command;

use serde_json::json;

use crate::common::*;

fn server() -> TestServer {
    server_with(Opts::default())
}

/// A server with the persisting instance `soap-persist`, and `opts` for the rest.
pub fn server_with(opts: Opts) -> TestServer {
    start_with(Opts {
        instances: vec![(
            "soap-persist.json".into(),
            persisting_instance("soap-persist", true),
        )],
        ..opts
    })
}

pub fn issue(s: &TestServer, path: &str, who: (&str, &str)) -> Reply {
    s.post(
        path,
        &[("Content-Type", "text/xml"), ("SOAPAction", ISSUE_ACTION)],
        envelope(SOAP11, &username_text(who.0, who.1), RST_ISSUE),
    )
}

fn op(s: &TestServer, path: &str, op: &str, target: &str) -> Reply {
    s.post(
        path,
        &[("Content-Type", "text/xml")],
        target_envelope(op, &username_text("demo", DEMO_PASSWORD), target),
    )
}

pub fn status(r: &Reply) -> (bool, String) {
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body
            .contains("http://docs.oasis-open.org/ws-sx/ws-trust/200512/RSTR/ValidateFinal"),
        "{}",
        r.body
    );
    let valid = r.body.contains(
        "<wst:Code>http://docs.oasis-open.org/ws-sx/ws-trust/200512/status/valid</wst:Code>",
    );
    let invalid = r.body.contains(
        "<wst:Code>http://docs.oasis-open.org/ws-sx/ws-trust/200512/status/invalid</wst:Code>",
    );
    assert!(valid ^ invalid, "{}", r.body);
    let reason = r
        .body
        .split("<wst:Reason>")
        .nth(1)
        .unwrap()
        .split("</wst:Reason>")
        .next()
        .unwrap()
        .to_owned();
    (valid, reason)
}

pub fn assertion_id(a: &str) -> String {
    a.split("ID=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned()
}

#[test]
fn persisted_tokens_validate_cancel_and_stay_cancelled() {
    let s = server();
    let r = issue(&s, "/sts/soap-persist", ("demo", DEMO_PASSWORD));
    assert_eq!(r.status, 200, "{}", r.body);
    let a = r.assertion_text();
    let id = assertion_id(&a);
    let rec = s
        .store()
        .get_token(&id)
        .unwrap()
        .expect("stored before the reply");
    assert_eq!(
        (
            rec.sts_id.as_str(),
            rec.principal.as_str(),
            rec.token_type.as_str(),
            rec.realm.as_str()
        ),
        ("soap-persist", "demo", "SAML2", "/")
    );
    assert!(rec.expires_ms > rec.issued_ms);
    assert_eq!(rec.token, a);
    // Validate the whole assertion, and by reference.
    assert_eq!(
        status(&op(&s, "/sts/soap-persist", "Validate", &a)),
        (true, "the token is valid".into())
    );
    assert!(status(&op(&s, "/sts/soap-persist", "Validate", &saml_str(&id))).0);
    // Cancel by reference.
    let c = op(&s, "/sts/soap-persist", "Cancel", &saml_str(&id));
    assert_eq!(c.status, 200, "{}", c.body);
    assert!(c.body.contains("<wst:RequestedTokenCancelled/>"));
    assert!(
        c.body
            .contains("http://docs.oasis-open.org/ws-sx/ws-trust/200512/RSTR/CancelFinal")
    );
    assert!(s.store().get_token(&id).unwrap().is_none());
    let (valid, reason) = status(&op(&s, "/sts/soap-persist", "Validate", &a));
    assert!(!valid && reason.contains("cancelled"), "{reason}");
    assert_eq!(
        op(&s, "/sts/soap-persist", "Cancel", &saml_str(&id)).fault_code(),
        "wst:InvalidRequest"
    );
    // Cancel with the token itself.
    let a2 = issue(&s, "/sts/soap-persist", ("demo", DEMO_PASSWORD)).assertion_text();
    assert_eq!(op(&s, "/sts/soap-persist", "Cancel", &a2).status, 200);
    assert!(s.store().get_token(&assertion_id(&a2)).unwrap().is_none());
    // The non-persisting demo instance validates by signature and time, and cannot cancel.
    let d = issue(&s, &format!("/sts/{INSTANCE}"), ("demo", DEMO_PASSWORD)).assertion_text();
    assert!(
        s.store().get_token(&assertion_id(&d)).unwrap().is_none(),
        "stored without persistence"
    );
    assert!(status(&op(&s, &format!("/sts/{INSTANCE}"), "Validate", &d)).0);
    assert_eq!(
        op(
            &s,
            &format!("/sts/{INSTANCE}"),
            "Cancel",
            &saml_str(&assertion_id(&d))
        )
        .fault_code(),
        "wst:BadRequest"
    );
    // Validate and Cancel authenticate like Issue.
    let anon = s.post(
        "/sts/soap-persist",
        &[("Content-Type", "text/xml")],
        target_envelope("Validate", "", &a),
    );
    assert_eq!(anon.fault_code(), "wst:FailedAuthentication");
}

#[test]
fn validate_refuses_forged_wrapped_expired_and_garbage_tokens() {
    let at = chrono::Utc::now();
    let clock = sts::clock::FixedClock::new(at);
    let s = server_with(Opts {
        clock: Some(clock.clone()),
        ..Default::default()
    });
    let a = issue(&s, "/sts/soap-persist", ("demo", DEMO_PASSWORD)).assertion_text();
    let invalid = |target: &str| {
        let (valid, reason) = status(&op(&s, "/sts/soap-persist", "Validate", target));
        assert!(!valid, "accepted: {target}");
        reason
    };
    assert!(invalid("<foo xmlns=\"urn:x\"/>").contains("not signed"));
    assert!(invalid(&a.replacen(">demo<", ">amadmin<", 1)).contains("not signed"));
    // Wrapped: the signed assertion inside an unsigned one.
    let wrapped = format!(
        "<saml2:Assertion xmlns:saml2=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"_evil\" Version=\"2.0\"><saml2:Issuer>sts-demo-idp</saml2:Issuer><saml2:Advice>{a}</saml2:Advice></saml2:Assertion>"
    );
    assert!(invalid(&wrapped).contains("not signed"));
    // Signed by another key (the EC key of this very STS is not the instance's key).
    let other = server();
    let foreign = issue(&other, "/sts/soap-persist", ("demo", DEMO_PASSWORD)).assertion_text();
    assert!(invalid(&foreign).contains("not signed"));
    // A client's capture of another STS's assertion.
    let capture = std::fs::read(captures_dir().join("zeep-validate-soap11.xml")).unwrap();
    let r = s.post(
        "/sts/soap-persist",
        &[("Content-Type", "text/xml")],
        capture,
    );
    assert!(!status(&r).0);
    assert!(invalid(&saml_str("_nope")).contains("no token"));
    // Expired.
    clock.set(at + chrono::Duration::seconds(601));
    assert!(invalid(&a).contains("expired"));
    // Validate returns statuses only.
    let env = target_envelope("Validate", &username_text("demo", DEMO_PASSWORD), &a).replace(
        "<wst:RequestType>",
        "<wst:TokenType>urn:oasis:names:tc:SAML:2.0:assertion</wst:TokenType><wst:RequestType>",
    );
    assert_eq!(
        s.post("/sts/soap-persist", &[("Content-Type", "text/xml")], env)
            .fault_code(),
        "wst:BadRequest"
    );
    let no_target = envelope(SOAP11, &username_text("demo", DEMO_PASSWORD), "<wst:RequestType>http://docs.oasis-open.org/ws-sx/ws-trust/200512/Validate</wst:RequestType>")
        .replace(ISSUE_ACTION, "http://docs.oasis-open.org/ws-sx/ws-trust/200512/RST/Validate");
    assert_eq!(
        s.post(
            "/sts/soap-persist",
            &[("Content-Type", "text/xml")],
            no_target
        )
        .fault_code(),
        "wst:InvalidRequest"
    );
}

#[test]
fn sts_tokengen_queries_pages_reads_and_cancels() {
    let s = server();
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
    let at = chrono::Utc::now();
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
    let s = server();
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
fn tokens_cli_lists_shows_and_cancels() {
    let s = server();
    let a = issue(&s, "/sts/soap-persist", ("demo", DEMO_PASSWORD)).assertion_text();
    issue(&s, "/sts/soap-persist", ("alice", "s3cret"));
    let id = assertion_id(&a);
    let sts = || {
        let mut c = Command::new(env!("CARGO_BIN_EXE_sts"));
        c.arg("--data-dir")
            .arg(s.dir.path())
            .env_remove("STS_STORE_URL");
        c
    };
    let (ok, out) = run(sts().args(["tokens", "list", "--principal", "demo"]));
    assert!(
        ok && out.lines().count() == 1
            && out.starts_with(&format!("{id}\tsoap-persist\tdemo\tSAML2\t")),
        "{out}"
    );
    let (ok, out) = run(sts().args(["tokens", "list", "--sts-id", "soap-persist"]));
    assert!(ok && out.lines().count() == 2, "{out}");
    let (ok, out) = run(sts().args(["tokens", "list", "--filter", "/token_principal eq 'nobody'"]));
    assert!(ok && out.is_empty(), "{out}");
    let (ok, out) = run(sts().args(["tokens", "show", &id]));
    assert!(ok && out.trim() == a, "{out}");
    let (ok, out) = run(sts().args(["tokens", "cancel", &id]));
    assert!(ok && out.contains("successfully removed"), "{out}");
    let (ok, _) = run(sts().args(["tokens", "show", &id]));
    assert!(!ok);
    let (ok, out) = run(sts().args(["tokens", "list", "--filter", "/bad"]));
    assert!(!ok && out.contains("position"), "{out}");
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

/// An assertion signed with the instance's own key whose `NotBefore` is not a time: Validate
/// fails closed (it used to read an unreadable `NotBefore` as absent).
#[test]
fn validate_fails_closed_on_an_unreadable_not_before() {
    use sts::tokens::saml2;
    let s = start();
    let keys = s.dir.path().join("keys");
    let key = sts::crypto::SigningKey::new(
        "sts-signing",
        sts::crypto::KeyKind::Rsa,
        sts::secret::Secret::new(std::fs::read(keys.join("sts-signing.key.pem")).unwrap()),
        std::fs::read(keys.join("sts-signing.crt.pem")).unwrap(),
        None,
    )
    .unwrap();
    let now = chrono::Utc::now();
    let id = saml2::new_assertion_id();
    let signed = |not_before: Option<&str>| {
        let spec = saml2::AssertionSpec {
            id: &id,
            issuer: "sts-demo-idp",
            issue_instant: now,
            name_id: "demo",
            name_id_format: "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
            not_before: now,
            not_on_or_after: now + chrono::Duration::seconds(300),
            recipient: None,
            audience: Some("urn:sts:demo-sp"),
            authn_instant: now,
            session_index: None,
            authn_context: saml2::AC_PASSWORD_PROTECTED_TRANSPORT,
            attributes: &[],
            confirmation: saml2::Confirmation::Bearer,
        };
        let unsigned = saml2::build(&spec, None, None).unwrap().wire;
        let stamp = saml2::saml_datetime(now);
        let conditions = format!("<saml2:Conditions NotBefore=\"{stamp}\"");
        assert!(unsigned.contains(&conditions), "{unsigned}");
        let changed = match not_before {
            Some(v) => unsigned.replacen(
                &conditions,
                &format!("<saml2:Conditions NotBefore=\"{v}\""),
                1,
            ),
            None => unsigned,
        };
        let template = sts::xmldsig::signature_template(
            &id,
            sts::xmldsig::SignatureAlgorithm::RsaSha256,
            sts::xmldsig::DigestAlgorithm::Sha256,
        );
        let with_template =
            changed.replacen("</saml2:Issuer>", &format!("</saml2:Issuer>{template}"), 1);
        let signed = sts::xmldsig::sign_enveloped(
            with_template.as_bytes(),
            "ID",
            sts::xmldsig::SignatureAlgorithm::RsaSha256,
            &key,
        )
        .unwrap();
        String::from_utf8(signed).unwrap()
    };
    let validate =
        |assertion: &str| status(&op(&s, &format!("/sts/{INSTANCE}"), "Validate", assertion));
    // The same assertion with a readable NotBefore is valid: only the time differs.
    assert!(validate(&signed(None)).0);
    let (valid, reason) = validate(&signed(Some("tomorrow")));
    assert!(!valid, "an unreadable NotBefore was taken as absent");
    assert!(reason.contains("NotBefore"), "{reason}");
}
