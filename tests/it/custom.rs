//! Custom token types: validator and provider plug-ins in Rust (the plug-ins of
//! `examples/custom_token.rs`, here and in the example program itself) with the reference
//! page's three payloads, and the shared helpers of the submodules: plug-ins over HTTP
//! (`http`: a loopback server, and a Python one for mutual TLS), SOAP issue, validate and cancel
//! (`soap`), plug-ins that panic, hang or answer garbage (`misbehaving`).

use std::io::{BufRead, BufReader};
use std::sync::Arc;
use std::time::SystemTime;

use serde_json::{Value, json};

use crate::common::*;

#[path = "../../examples/custom_token.rs"]
mod example;
mod http;
mod misbehaving;
mod soap;

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
