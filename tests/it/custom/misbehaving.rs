//! Custom plug-ins that panic, hang or answer garbage: the server stays up, the caller gets a
//! clear error, and a hung plug-in holds only its own bounded slots.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use super::*;

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
