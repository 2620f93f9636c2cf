//! Custom token types: validator and provider plug-ins in Rust (the plug-ins of
//! `examples/custom_token.rs`) and over HTTP (a loopback server here, and a Python one for
//! mutual TLS); the reference page's three payloads; SOAP issue, validate and cancel;
//! plug-ins that panic, hang or answer garbage.

use std::io::{BufRead, BufReader, Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};

use crate::common::*;

#[path = "../../examples/custom_token.rs"]
mod example;

const TICKET_KEY: &[u8] = b"0123456789abcdef0123456789abcdef-ticket-key";

/// The reference page's three payloads.
fn custom_to_oidc() -> Value {
    json!({
        "input_token_state": {"token_type": "CUSTOM", "extra_stuff": "very_useful_state"},
        "output_token_state": {"token_type": "OPENIDCONNECT", "nonce": "1234", "allow_access": true}
    })
}

fn username_to_custom() -> Value {
    json!({
        "input_token_state": {"token_type": "USERNAME", "username": "unt_user17458687", "password": "password"},
        "output_token_state": {"token_type": "CUSTOM", "extra_stuff_for_custom": "some_useful_information"}
    })
}

fn custom_to_custom() -> Value {
    json!({
        "input_token_state": {"token_type": "CUSTOM", "extra_stuff": "very_useful_state"},
        "output_token_state": {"token_type": "CUSTOM", "extra_stuff_for_custom": "some_useful_information"}
    })
}

fn ops(list: &[(&str, &str)]) -> Value {
    list.iter()
        .map(|(t, op)| json!({"customTokenName": t, "customOperationClassName": op}))
        .collect()
}

/// A REST instance with custom validators, providers and transforms.
fn custom_instance(
    element: &str,
    validators: &[(&str, &str)],
    providers: &[(&str, &str)],
    transforms: &[(&str, &str)],
    persist: bool,
) -> Value {
    let mut v = rest_instance(element, persist);
    v["custom-token-validators"] = ops(validators);
    v["custom-token-providers"] = ops(providers);
    v["custom-token-transforms"] = transforms
        .iter()
        .map(|(i, o)| json!({"inputTokenType": i, "outputTokenType": o, "invalidateInterimOpenAMSession": true}))
        .collect();
    v
}

const REFERENCE_TRANSFORMS: &[(&str, &str)] = &[
    ("CUSTOM", "OPENIDCONNECT"),
    ("USERNAME", "CUSTOM"),
    ("CUSTOM", "CUSTOM"),
];

fn example_plugins() -> sts::plugin::Plugins {
    let mut p = sts::plugin::Plugins::new();
    p.add_validator(
        "partner-key-validator",
        Arc::new(example::PartnerKeyValidator::parse("very_useful_state=alice").unwrap()),
        sts::plugin::Limits::default(),
    )
    .unwrap();
    p.add_provider(
        "ticket-provider",
        Arc::new(example::TicketProvider::new(TICKET_KEY.to_vec()).unwrap()),
        sts::plugin::Limits::default(),
    )
    .unwrap();
    p
}

/// Translates the reference's CUSTOM -> OPENIDCONNECT payload at `instance`; the claims of
/// the id_token, verified by PyJWT.
fn custom_id_token(s: &TestServer, admin: &str, instance: &str) -> Value {
    let jwt = issued(&call(s, admin, instance, "translate", &custom_to_oidc()));
    let (ok, out) = pyjwt_verify(s, &jwt, "RS256", &s.cert("sts-signing"));
    assert!(ok, "PyJWT: {out}");
    let v: Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    v["claims"].clone()
}

fn tokens_of(s: &TestServer, admin: &str, instance: &str) -> Vec<Value> {
    let r = s.request(
        "GET",
        &format!("/sts-tokengen?_queryFilter=%2Fsts_id+eq+%27{instance}%27"),
        &[("iPlanetDirectoryPro", admin)],
        "",
    );
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["result"].as_array().unwrap().clone()
}

#[test]
fn reference_payloads_work_with_rust_plugins() {
    let s = start_with(Opts {
        plugins: Some(example_plugins()),
        ..Opts::default()
    });
    s.add_user("/", "unt_user17458687", "password");
    let admin = s.login("amadmin", ADMIN_PASSWORD);
    let state = custom_instance(
        "custom-rust",
        &[("CUSTOM", "partner-key-validator")],
        &[("CUSTOM", "ticket-provider")],
        REFERENCE_TRANSFORMS,
        true,
    );
    let r = publish(&s, &admin, "rest", &state);
    assert_eq!(r.status, 201, "{}", r.body);

    // CUSTOM -> OPENIDCONNECT: the validator's principal in an id_token PyJWT accepts.
    let claims = custom_id_token(&s, &admin, "custom-rust");
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["nonce"], "1234");

    let tickets = example::TicketProvider::new(TICKET_KEY.to_vec()).unwrap();
    // USERNAME -> CUSTOM: the provider sees the principal and both token states.
    let t = issued(&call(
        &s,
        &admin,
        "custom-rust",
        "translate",
        &username_to_custom(),
    ));
    let claims = tickets
        .verify(&t, SystemTime::from(wall_clock()))
        .expect("a ticket the provider's key verifies");
    assert_eq!(claims["sub"], "unt_user17458687");
    assert_eq!(claims["input_token_type"], "USERNAME");
    assert_eq!(claims["extra_stuff_for_custom"], "some_useful_information");
    assert_eq!(claims["extra_state"], Value::Null);

    // CUSTOM -> CUSTOM: the validator's extra state reaches the provider.
    let t2 = issued(&call(
        &s,
        &admin,
        "custom-rust",
        "translate",
        &custom_to_custom(),
    ));
    let claims = tickets.verify(&t2, SystemTime::from(wall_clock())).unwrap();
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["input_token_type"], "CUSTOM");
    assert_eq!(claims["extra_state"], json!({"partner": "alice"}));

    // All three persisted, the custom ones under their type's name.
    let mut types: Vec<String> = tokens_of(&s, &admin, "custom-rust")
        .iter()
        .map(|t| t["token_type"].as_str().unwrap().to_owned())
        .collect();
    types.sort();
    assert_eq!(types, ["CUSTOM", "CUSTOM", "OPENIDCONNECT"]);

    // A wrong partner key is the validator's refusal: 401 with its message.
    let mut bad = custom_to_oidc();
    bad["input_token_state"]["extra_stuff"] = json!("guessed");
    expect_error(
        &call(&s, &admin, "custom-rust", "translate", &bad),
        401,
        "unknown partner key",
    );
    // A transform the instance does not list.
    let mut other = custom_to_oidc();
    other["output_token_state"] = json!({"token_type": "SAML2", "subject_confirmation": "BEARER"});
    expect_error(
        &call(&s, &admin, "custom-rust", "translate", &other),
        400,
        "from CUSTOM to SAML2, is not a supported token translation",
    );
    // The password of a USERNAME input never reaches a provider (checked on the HTTP
    // plug-in below, where the request is visible).
}

/// Plug-ins get the server's time in their requests: under a pinned clock, the example
/// provider's ticket expires its lifetime after the pinned instant, not after the system's.
#[test]
fn plugins_are_told_the_servers_time() {
    let pinned = chrono::DateTime::parse_from_rfc3339("2030-01-02T03:04:05Z")
        .unwrap()
        .to_utc();
    let s = start_with(Opts {
        clock: Some(sts::clock::FixedClock::new(pinned)),
        plugins: Some(example_plugins()),
        ..Opts::default()
    });
    let admin = s.login("amadmin", ADMIN_PASSWORD);
    let state = custom_instance(
        "custom-clock",
        &[("CUSTOM", "partner-key-validator")],
        &[("CUSTOM", "ticket-provider")],
        REFERENCE_TRANSFORMS,
        false,
    );
    assert_eq!(publish(&s, &admin, "rest", &state).status, 201);
    let t = issued(&call(
        &s,
        &admin,
        "custom-clock",
        "translate",
        &custom_to_custom(),
    ));
    let claims = example::TicketProvider::new(TICKET_KEY.to_vec())
        .unwrap()
        .verify(&t, SystemTime::from(pinned))
        .unwrap();
    assert_eq!(claims["exp"], pinned.timestamp() + 300);
}

#[test]
fn publish_names_only_registered_plugins() {
    let s = start_with(Opts {
        plugins: Some(example_plugins()),
        ..Opts::default()
    });
    let admin = s.login("amadmin", ADMIN_PASSWORD);
    let cases: Vec<(Value, &str)> = vec![
        (
            custom_instance(
                "c1",
                &[("CUSTOM", "com.example.NotThere")],
                &[],
                &[("CUSTOM", "OPENIDCONNECT")],
                false,
            ),
            "`com.example.NotThere` is not a registered validator (registered: partner-key-validator)",
        ),
        (
            custom_instance(
                "c2",
                &[],
                &[("CUSTOM", "partner-key-validator")],
                &[("USERNAME", "CUSTOM")],
                false,
            ),
            "is not a registered provider (registered: ticket-provider)",
        ),
        (
            custom_instance("c3", &[], &[], &[("CUSTOM", "OPENIDCONNECT")], false),
            "inputTokenType `CUSTOM` has no custom-token-validators entry",
        ),
        (
            custom_instance("c4", &[("SAML2", "partner-key-validator")], &[], &[], false),
            "`SAML2` is a built-in token type",
        ),
        (
            custom_instance("c5", &[], &[], &[("USERNAME", "OPENIDCONNECT")], false),
            "involves no custom type",
        ),
    ];
    for (state, needle) in cases {
        expect_error(&publish(&s, &admin, "rest", &state), 400, needle);
    }
}

/// Misbehaving plug-ins: what they do is read from the token state's `mode`.
struct Misbehaving {
    /// Holds a `hang` call until the test opens it.
    gate: Arc<Gate>,
}

/// A one-way gate: `hang` calls report that they entered, then block until it opens.
#[derive(Default)]
struct Gate {
    state: Mutex<(usize, bool)>,
    changed: std::sync::Condvar,
}

impl Gate {
    /// Called by a plug-in: counts itself in, then waits for `open`.
    fn pass(&self) {
        let mut s = self.state.lock().unwrap();
        s.0 += 1;
        self.changed.notify_all();
        while !s.1 {
            s = self.changed.wait(s).unwrap();
        }
    }

    /// Waits until `n` calls have entered.
    fn wait_entered(&self, n: usize) {
        let mut s = self.state.lock().unwrap();
        while s.0 < n {
            s = self.changed.wait(s).unwrap();
        }
    }

    fn open(&self) {
        self.state.lock().unwrap().1 = true;
        self.changed.notify_all();
    }
}

fn mode(v: &Value) -> &str {
    v["mode"].as_str().unwrap_or("")
}

impl sts::plugin::TokenValidator for Misbehaving {
    fn validate(
        &self,
        r: &sts::plugin::ValidateRequest,
    ) -> Result<sts::plugin::Validated, sts::plugin::PluginError> {
        match mode(&r.input_token_state) {
            "panic" => panic!("a validator that panics"),
            "hang" => {
                self.gate.pass();
                Ok(sts::plugin::Validated::new("alice"))
            }
            "empty" => Ok(sts::plugin::Validated::new("")),
            "control" => Ok(sts::plugin::Validated::new("ali\nce")),
            "huge-state" => Ok(sts::plugin::Validated::new("alice")
                .with_extra_state(json!("x".repeat(100 * 1024)))),
            "admin" => Ok(sts::plugin::Validated::new("amadmin")),
            _ => Ok(sts::plugin::Validated::new("alice")),
        }
    }
}

impl sts::plugin::TokenProvider for Misbehaving {
    fn create_token(
        &self,
        r: &sts::plugin::ProvideRequest,
    ) -> Result<sts::plugin::Provided, sts::plugin::PluginError> {
        match mode(&r.output_token_state) {
            "panic" => panic!("a provider that panics"),
            "empty" => Ok(String::new().into()),
            "huge" => Ok("x".repeat(65 * 1024).into()),
            "refuse" => Err(sts::plugin::PluginError::Invalid(
                "no tokens for you".into(),
            )),
            "fail" => Err(sts::plugin::PluginError::Failed("backend down".into())),
            _ => Ok(format!("token-for-{}", r.principal).into()),
        }
    }
}

#[test]
fn plugins_that_panic_hang_or_answer_garbage_do_not_take_the_server_down() {
    // Generous, so that no well-behaved call comes near it on a loaded machine: the test
    // waits on the gate's events, never on this clock.
    let limits = sts::plugin::Limits {
        timeout: Duration::from_secs(5),
        max_concurrent: 1,
    };
    let gate = Arc::new(Gate::default());
    let plugin = Arc::new(Misbehaving { gate: gate.clone() });
    let mut plugins = sts::plugin::Plugins::new();
    plugins
        .add_validator("bad-v", plugin.clone(), limits)
        .unwrap();
    plugins.add_provider("bad-p", plugin, limits).unwrap();
    let s = Arc::new(start_with(Opts {
        plugins: Some(plugins),
        ..Opts::default()
    }));
    let admin = s.login("amadmin", ADMIN_PASSWORD);
    let state = custom_instance(
        "misbehaving",
        &[("BAD", "bad-v")],
        &[("BAD", "bad-p")],
        &[("BAD", "OPENIDCONNECT"), ("USERNAME", "BAD")],
        false,
    );
    assert_eq!(publish(&s, &admin, "rest", &state).status, 201);
    let validate = |m: &str| {
        call(
            &s,
            &admin,
            "misbehaving",
            "translate",
            &json!({
                "input_token_state": {"token_type": "BAD", "mode": m},
                "output_token_state": {"token_type": "OPENIDCONNECT", "nonce": "n", "allow_access": true}
            }),
        )
    };
    let provide = |m: &str| {
        call(
            &s,
            &admin,
            "misbehaving",
            "translate",
            &json!({
                "input_token_state": {"token_type": "USERNAME", "username": "alice", "password": "s3cret"},
                "output_token_state": {"token_type": "BAD", "mode": m}
            }),
        )
    };
    let healthy = || {
        let r = call(
            &s,
            &admin,
            "misbehaving",
            "translate",
            &username_to(oidc_out("n")),
        );
        assert_eq!(r.status, 200, "{}", r.body);
    };

    expect_error(
        &validate("panic"),
        502,
        "the custom token validator `bad-v` failed: it panicked",
    );
    healthy();
    expect_error(
        &provide("panic"),
        502,
        "the custom token provider `bad-p` failed: it panicked",
    );
    expect_error(
        &validate("empty"),
        502,
        "its answer is malformed: the principal must be",
    );
    expect_error(&validate("control"), 502, "without control characters");
    expect_error(&validate("huge-state"), 502, "the extra state exceeds");
    expect_error(&validate("admin"), 401, "the principal is an administrator");
    expect_error(&provide("empty"), 502, "the token must be 1 to 65536 bytes");
    expect_error(&provide("huge"), 502, "the token must be 1 to 65536 bytes");
    expect_error(
        &provide("refuse"),
        400,
        "provider `bad-p`: no tokens for you",
    );
    expect_error(&provide("fail"), 502, "backend down");
    assert_eq!(provide("ok").json()["issued_token"], "token-for-alice");

    // A hanging validator (held by the gate until the test opens it): its caller gets an
    // error once the timeout passes, while other requests are answered meanwhile.
    let hang = {
        let s = s.clone();
        let admin = admin.clone();
        std::thread::spawn(move || {
            call(
                &s,
                &admin,
                "misbehaving",
                "translate",
                &json!({
                    "input_token_state": {"token_type": "BAD", "mode": "hang"},
                    "output_token_state": {"token_type": "OPENIDCONNECT", "nonce": "n", "allow_access": true}
                }),
            )
        })
    };
    gate.wait_entered(1);
    // The plug-in is still held, and the server answers others.
    healthy();
    // Its only slot is taken by the held call: the next call waits for it within its own
    // timeout, then gets 503.
    expect_error(
        &validate("ok"),
        503,
        "the custom token validator `bad-v` is busy",
    );
    // The held call's caller was answered at the deadline, not by the plug-in (still held).
    expect_error(&hang.join().unwrap(), 502, "did not answer within 5s");
    healthy();
    // Once the abandoned call ends on its own, its slot is free again: a call waiting for
    // a slot gets it (a 503 means the thread had not finished yet; ask again).
    gate.open();
    let mut r = validate("ok");
    while r.status == 503 {
        r = validate("ok");
    }
    assert_eq!(r.status, 200, "{}", r.body);
}

/// A loopback web service playing validator and provider; it records what it receives.
struct PluginServer {
    base: String,
    seen: Arc<Seen>,
}

fn plugin_server() -> PluginServer {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let log = log.clone();
            std::thread::spawn(move || serve_plugin(stream, &log));
        }
    });
    PluginServer { base, seen }
}

/// Requests received: path, headers (lower-case names), JSON body.
type Seen = Mutex<Vec<(String, Vec<(String, String)>, Value)>>;

fn serve_plugin(stream: std::net::TcpStream, log: &Seen) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let path = line.split(' ').nth(1).unwrap_or("").to_owned();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).unwrap();
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':').unwrap();
        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
    }
    let len: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .map_or(0, |(_, v)| v.parse().unwrap());
    let mut body = vec![0; len];
    reader.read_exact(&mut body).unwrap();
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    log.lock()
        .unwrap()
        .push((path.clone(), headers, body.clone()));
    let (status, answer, extra) = match path.as_str() {
        "/validate" => {
            if body["input_token_state"]["extra_stuff"] == "very_useful_state" {
                (
                    200,
                    json!({"principal": "alice", "attributes": {"partner": ["acme"]}, "extra_state": {"partner": "acme"}}).to_string(),
                    "",
                )
            } else {
                (401, json!({"message": "unknown partner"}).to_string(), "")
            }
        }
        "/provide" => (
            200,
            json!({
                "token": format!(
                    "http-token:{}:{}:{}",
                    body["principal"].as_str().unwrap_or("-"),
                    body["output_token_state"]["extra_stuff_for_custom"].as_str().unwrap_or("-"),
                    body["extra_state"]["partner"].as_str().unwrap_or("-"),
                ),
                "expires_in": 120
            })
            .to_string(),
            "",
        ),
        "/slow" => {
            std::thread::sleep(Duration::from_secs(3));
            (200, json!({"principal": "alice"}).to_string(), "")
        }
        "/e500" => (500, "oops".into(), ""),
        "/garbage" => (200, "<html>not json</html>".into(), ""),
        "/no-principal" => (200, json!({"principal": 5}).to_string(), ""),
        "/huge" => (
            200,
            json!({"principal": "alice", "pad": "x".repeat(300 * 1024)}).to_string(),
            "",
        ),
        "/redirect" => (302, String::new(), "Location: /validate\r\n"),
        _ => (404, String::new(), ""),
    };
    let mut stream = stream;
    let _ = write!(
        stream,
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{answer}",
        answer.len()
    );
}

fn http_plugin(url: &str, timeout_millis: u64) -> sts::plugin::http::HttpPluginConfig {
    sts::plugin::http::HttpPluginConfig {
        url: url.into(),
        timeout_millis,
        max_concurrent: 8,
        secret_header: Some("X-STS-Secret".into()),
        secret: Some(sts::secret::Secret::new("plugin-shared-secret".into())),
        secret_file: None,
        tls_client_cert_file: None,
        tls_client_key_file: None,
        tls_ca_file: None,
    }
}

#[test]
fn reference_payloads_work_with_http_plugins_and_their_failures_are_clear() {
    let ps = plugin_server();
    let base = ps.base.clone();
    // A port nobody listens on.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let s = start_with(Opts {
        configure: Some(Box::new(move |cfg| {
            cfg.http_validators.insert(
                "http-v".into(),
                http_plugin(&format!("{base}/validate"), 5000),
            );
            cfg.http_providers.insert(
                "http-p".into(),
                http_plugin(&format!("{base}/provide"), 5000),
            );
            for p in [
                "slow",
                "e500",
                "garbage",
                "no-principal",
                "huge",
                "redirect",
            ] {
                // Only `slow` is meant to time out (it answers after 3 s); the others get
                // a timeout no loaded machine comes near.
                let timeout = if p == "slow" { 1000 } else { 30_000 };
                cfg.http_validators.insert(
                    format!("v-{p}"),
                    http_plugin(&format!("{base}/{p}"), timeout),
                );
            }
            cfg.http_validators.insert(
                "v-closed".into(),
                http_plugin(&format!("http://{closed}/"), 30_000),
            );
        })),
        ..Opts::default()
    });
    s.add_user("/", "unt_user17458687", "password");
    let admin = s.login("amadmin", ADMIN_PASSWORD);
    let mut validators = vec![("CUSTOM", "http-v")];
    let names = [
        "slow",
        "e500",
        "garbage",
        "no-principal",
        "huge",
        "redirect",
        "closed",
    ];
    let types: Vec<String> = names
        .iter()
        .map(|n| n.to_uppercase().replace('-', "_"))
        .collect();
    let plugin_names: Vec<String> = names.iter().map(|n| format!("v-{n}")).collect();
    for (t, p) in types.iter().zip(&plugin_names) {
        validators.push((t, p));
    }
    let mut transforms = REFERENCE_TRANSFORMS.to_vec();
    for t in &types {
        transforms.push((t, "OPENIDCONNECT"));
    }
    let state = custom_instance(
        "custom-http",
        &validators,
        &[("CUSTOM", "http-p")],
        &transforms,
        true,
    );
    let r = publish(&s, &admin, "rest", &state);
    assert_eq!(r.status, 201, "{}", r.body);

    assert_eq!(custom_id_token(&s, &admin, "custom-http")["sub"], "alice");
    assert_eq!(
        issued(&call(
            &s,
            &admin,
            "custom-http",
            "translate",
            &username_to_custom()
        )),
        "http-token:unt_user17458687:some_useful_information:-"
    );
    assert_eq!(
        issued(&call(
            &s,
            &admin,
            "custom-http",
            "translate",
            &custom_to_custom()
        )),
        "http-token:alice:some_useful_information:acme"
    );

    // What the plug-ins received: the reference's JSON, the shared secret, no password and
    // no session.
    let seen = ps.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 4, "{seen:?}");
    for (_, headers, _) in &seen {
        assert!(headers.contains(&("x-sts-secret".into(), "plugin-shared-secret".into())));
        assert!(headers.contains(&("content-type".into(), "application/json".into())));
    }
    assert_eq!(seen[0].0, "/validate");
    assert_eq!(
        seen[0].2,
        json!({"realm": "/", "instance": "custom-http", "token_type": "CUSTOM",
               "input_token_state": {"token_type": "CUSTOM", "extra_stuff": "very_useful_state"}})
    );
    let provided = &seen[1].2;
    assert_eq!(seen[1].0, "/provide");
    assert_eq!(provided["principal"], "unt_user17458687");
    assert_eq!(provided["input_token_type"], "USERNAME");
    assert_eq!(
        provided["input_token_state"],
        json!({"token_type": "USERNAME", "username": "unt_user17458687"})
    );
    assert_eq!(
        provided["output_token_state"],
        json!({"token_type": "CUSTOM", "extra_stuff_for_custom": "some_useful_information"})
    );
    assert_eq!(provided["extra_state"], Value::Null);
    assert_eq!(provided["output_token_type"], "CUSTOM");
    assert!(!provided.to_string().contains("\"password\""));
    assert!(provided.get("session").is_none());
    assert_eq!(seen[3].2["extra_state"], json!({"partner": "acme"}));
    assert_eq!(seen[3].2["attributes"]["partner"], json!(["acme"]));

    // Refusal, and each way an HTTP plug-in can fail.
    let mut refused = custom_to_oidc();
    refused["input_token_state"]["extra_stuff"] = json!("guessed");
    expect_error(
        &call(&s, &admin, "custom-http", "translate", &refused),
        401,
        "validator `http-v`: unknown partner",
    );
    for (t, needle) in types.iter().zip([
        "it did not answer within 1s",
        "it answered HTTP 500",
        "its answer is not a JSON object",
        "its answer is malformed: no string `principal`",
        "its answer exceeds 262144 bytes",
        "it answered HTTP 302",
        "it refused the connection",
    ]) {
        let mut body = custom_to_oidc();
        body["input_token_state"]["token_type"] = json!(t);
        expect_error(
            &call(&s, &admin, "custom-http", "translate", &body),
            502,
            needle,
        );
    }
}

#[test]
fn http_plugins_speak_mutual_tls() {
    let pki = Pki::new("Plugin CA");
    let (server_crt, server_key) = pki.issue("plugin-server", "127.0.0.1", 2, (-1, 30), true);
    let (client_crt, client_key) = pki.issue("sts-client", "sts", 3, (-1, 30), false);
    let mut child = std::process::Command::new("python3")
        .arg(peers_dir().join("plugin_server.py"))
        .arg(&server_crt)
        .arg(&server_key)
        .arg(pki.ca_file())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut port = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut port)
        .unwrap();
    let url = format!("https://127.0.0.1:{}/validate", port.trim());
    let tls = |with_client: bool| {
        let mut c = http_plugin(&url, 5000);
        c.tls_ca_file = Some(pki.ca_file());
        if with_client {
            c.tls_client_cert_file = Some(client_crt.clone());
            c.tls_client_key_file = Some(client_key.clone());
        }
        c
    };
    let (with, without) = (tls(true), tls(false));
    let s = start_with(Opts {
        configure: Some(Box::new(move |cfg| {
            cfg.http_validators.insert("mtls".into(), with);
            cfg.http_validators.insert("no-client-cert".into(), without);
        })),
        ..Opts::default()
    });
    let admin = s.login("amadmin", ADMIN_PASSWORD);
    let state = custom_instance(
        "custom-mtls",
        &[("CUSTOM", "mtls"), ("NOCERT", "no-client-cert")],
        &[],
        &[("CUSTOM", "OPENIDCONNECT"), ("NOCERT", "OPENIDCONNECT")],
        false,
    );
    assert_eq!(publish(&s, &admin, "rest", &state).status, 201);
    // The plug-in saw the client certificate's subject and the shared secret.
    assert_eq!(custom_id_token(&s, &admin, "custom-mtls")["sub"], "sts@tls");
    let mut body = custom_to_oidc();
    body["input_token_state"]["token_type"] = json!("NOCERT");
    expect_error(
        &call(&s, &admin, "custom-mtls", "translate", &body),
        502,
        "the custom token validator `no-client-cert` failed",
    );
    let _ = child.kill();
    let _ = child.wait();
}

/// The first element named `local` at or below `e`, depth first.
fn find<'a>(e: &'a sts::xml::Element, local: &str) -> Option<&'a sts::xml::Element> {
    if e.local == local {
        return Some(e);
    }
    e.elements().find_map(|c| find(c, local))
}

const CUSTOM_URI: &str = "urn:example:token-type:ticket";

#[test]
fn soap_issues_validates_and_cancels_custom_tokens() {
    let mut soap = persisting_instance("soap-custom", true);
    soap["custom-token-providers"] = json!([{
        "customTokenName": "CUSTOM",
        "customOperationClassName": "ticket-provider",
        "tokenTypeUri": CUSTOM_URI
    }]);
    let s = start_with(Opts {
        plugins: Some(example_plugins()),
        instances: vec![("soap-custom.json".into(), soap)],
        ..Opts::default()
    });
    let ut = username_text("alice", "s3cret");
    let rst = format!(
        "<wst:RequestType>http://docs.oasis-open.org/ws-sx/ws-trust/200512/Issue</wst:RequestType><wst:TokenType>{CUSTOM_URI}</wst:TokenType>{}",
        applies_to("urn:partner")
    );
    let r = s.post(
        "/sts/soap-custom",
        &[("Content-Type", "text/xml"), ("SOAPAction", ISSUE_ACTION)],
        envelope(SOAP11, &ut, &rst),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let doc = r.doc();
    let rstr = find(&doc, "RequestSecurityTokenResponse").unwrap();
    assert_eq!(rstr.child(&[WST], "TokenType").unwrap().text(), CUSTOM_URI);
    let bst = rstr
        .child(&[WST], "RequestedSecurityToken")
        .and_then(|t| t.elements().next())
        .unwrap();
    assert_eq!(bst.local, "BinarySecurityToken");
    assert_eq!(bst.attr(None, "ValueType"), Some(CUSTOM_URI));
    let id = bst
        .attr(Some("http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"), "Id")
        .unwrap()
        .to_owned();
    use base64::Engine as _;
    let ticket = String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(bst.text().trim())
            .unwrap(),
    )
    .unwrap();
    let claims = example::TicketProvider::new(TICKET_KEY.to_vec())
        .unwrap()
        .verify(&ticket, SystemTime::from(wall_clock()))
        .unwrap();
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["input_token_type"], "USERNAME");
    // The reference names the token by a KeyIdentifier of its type.
    let key_id = find(rstr, "KeyIdentifier").unwrap();
    assert_eq!(key_id.attr(None, "ValueType"), Some(CUSTOM_URI));
    assert_eq!(key_id.text(), id);

    let by_value = format!(
        "<wsse:BinarySecurityToken xmlns:wsse=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd\" xmlns:wsu=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd\" wsu:Id=\"{id}\" ValueType=\"{CUSTOM_URI}\">{}</wsse:BinarySecurityToken>",
        bst.text().trim()
    );
    let by_ref = format!(
        "<wsse:SecurityTokenReference xmlns:wsse=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd\"><wsse:KeyIdentifier ValueType=\"{CUSTOM_URI}\">{id}</wsse:KeyIdentifier></wsse:SecurityTokenReference>"
    );
    let forged = by_value.replace(
        bst.text().trim(),
        &base64::engine::general_purpose::STANDARD.encode(format!("{ticket}x")),
    );
    let status = |op: &str, target: &str| {
        let r = s.post(
            "/sts/soap-custom",
            &[
                ("Content-Type", "text/xml"),
                (
                    "SOAPAction",
                    &format!("http://docs.oasis-open.org/ws-sx/ws-trust/200512/RST/{op}"),
                ),
            ],
            target_envelope(op, &ut, target),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        r.body
    };
    let valid = "/status/valid";
    assert!(status("Validate", &by_value).contains(valid));
    assert!(status("Validate", &by_ref).contains(valid));
    let forged_answer = status("Validate", &forged);
    assert!(forged_answer.contains("/status/invalid"), "{forged_answer}");
    assert!(status("Cancel", &by_value).contains("RequestedTokenCancelled"));
    let after = status("Validate", &by_value);
    assert!(after.contains("/status/invalid"), "{after}");
    assert!(status("Validate", &by_ref).contains("/status/invalid"));

    // Custom tokens are bearer tokens.
    let hok = format!(
        "{rst}<wst:KeyType>http://docs.oasis-open.org/ws-sx/ws-trust/200512/PublicKey</wst:KeyType>"
    );
    let r = s.post(
        "/sts/soap-custom",
        &[("Content-Type", "text/xml"), ("SOAPAction", ISSUE_ACTION)],
        envelope(SOAP11, &ut, &hok),
    );
    assert_eq!(r.status, 500);
    assert!(r.body.contains("bearer tokens"), "{}", r.body);
}

#[test]
fn soap_custom_types_need_a_token_type_uri() {
    let mut soap = persisting_instance("soap-nouri", true);
    soap["custom-token-providers"] = json!([{
        "customTokenName": "CUSTOM",
        "customOperationClassName": "ticket-provider"
    }]);
    let s = start_with(Opts {
        plugins: Some(example_plugins()),
        ..Opts::default()
    });
    let admin = s.login("amadmin", ADMIN_PASSWORD);
    expect_error(
        &publish(&s, &admin, "soap", &soap),
        400,
        "custom-token-providers[0].tokenTypeUri is required",
    );
    soap["custom-token-providers"][0]["tokenTypeUri"] =
        json!("urn:oasis:names:tc:SAML:2.0:assertion");
    expect_error(
        &publish(&s, &admin, "soap", &soap),
        400,
        "is the URI of a built-in token type",
    );
}

/// The example program itself: built by `cargo test` (examples are built with the tests),
/// started like `sts serve`, answering the reference's CUSTOM -> CUSTOM.
#[test]
fn the_example_program_serves_custom_tokens() {
    let exe = std::env::current_exe().unwrap();
    let bin = exe
        .parent()
        .and_then(|deps| deps.parent())
        .unwrap()
        .join("examples/custom_token");
    assert!(
        bin.exists(),
        "{} is missing: run `cargo test` (which builds examples), or `cargo build --example custom_token`",
        bin.display()
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("instances/rest")).unwrap();
    std::fs::write(
        dir.path().join("instances/rest/example.json"),
        custom_instance(
            "example",
            &[("CUSTOM", "partner-key-validator")],
            &[("CUSTOM", "ticket-provider")],
            REFERENCE_TRANSFORMS,
            false,
        )
        .to_string(),
    )
    .unwrap();
    let mut child = std::process::Command::new(&bin)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("STS_DATA_DIR", dir.path())
        .env("STS_LISTEN", "127.0.0.1:0")
        .env("STS_REST_STS_CALLER", "anyone")
        .env("STS_DEMO_PASSWORD", "demo-pw")
        .env("STS_ADMIN_PASSWORD", "admin-pw")
        .env("STS_EXAMPLE_PARTNERS", "very_useful_state=demo")
        .env(
            "STS_EXAMPLE_TICKET_KEY",
            std::str::from_utf8(TICKET_KEY).unwrap(),
        )
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_owned();
    let r = reqwest::blocking::Client::new()
        .post(format!("{base}/rest-sts/example?_action=translate"))
        .header("Content-Type", "application/json")
        .body(custom_to_custom().to_string())
        .send()
        .unwrap();
    let status = r.status().as_u16();
    let body: Value = serde_json::from_str(&r.text().unwrap()).unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(status, 200, "{body}");
    let claims = example::TicketProvider::new(TICKET_KEY.to_vec())
        .unwrap()
        .verify(
            body["issued_token"].as_str().unwrap(),
            SystemTime::from(wall_clock()),
        )
        .unwrap();
    assert_eq!(claims["sub"], "demo");
    assert_eq!(claims["extra_state"], json!({"partner": "demo"}));
}
