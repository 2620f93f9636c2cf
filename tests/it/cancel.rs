//! Who may cancel a token: its principal or an administrator of the instance's realm over
//! SOAP and REST, administrators over `/sts-tokengen`; everyone else is refused and the token
//! stays valid. Cancel by value after a key rotation.

use serde_json::{Value, json};

use crate::common::*;
use crate::matrix::wait_for_jwks;
use crate::rest::{call, issued, publish, rest_instance, username_to};
use crate::tokens::{assertion_id, issue, server_with, status};

const PERSIST: &str = "/sts/soap-persist";

/// A SOAP Validate or Cancel of `target`, authenticated as `who`.
fn op_as(s: &TestServer, op: &str, who: (&str, &str), target: &str) -> Reply {
    s.post(
        PERSIST,
        &[("Content-Type", "text/xml")],
        target_envelope(op, &username_text(who.0, who.1), target),
    )
}

fn still_valid(s: &TestServer, id: &str) {
    assert!(
        s.store().get_token(id).unwrap().is_some(),
        "the record of {id} is gone"
    );
    let (valid, reason) = status(&op_as(
        s,
        "Validate",
        ("demo", DEMO_PASSWORD),
        &saml_str(id),
    ));
    assert!(valid, "{reason}");
}

#[test]
fn soap_cancel_is_for_the_tokens_principal_and_administrators() {
    let s = server_with(Opts::default());
    s.add_user("/", "bob", "bob-pw-1");
    let alice = ("alice", "s3cret");
    let a = issue(&s, PERSIST, alice).assertion_text();
    let id = assertion_id(&a);

    // Another user, by reference and by value: refused, and the token stays valid.
    for target in [saml_str(&id), a.clone()] {
        let r = op_as(&s, "Cancel", ("bob", "bob-pw-1"), &target);
        assert_eq!(r.status, 500, "{}", r.body);
        assert_eq!(r.fault_code(), "wst:FailedAuthentication", "{}", r.body);
        assert!(
            r.body.contains("only by its principal or an administrator"),
            "{}",
            r.body
        );
        still_valid(&s, &id);
    }
    // SOAP 1.2: the same refusal, as a Subcode.
    let r12 = s.post(
        PERSIST,
        &[("Content-Type", "application/soap+xml; charset=utf-8")],
        target_envelope("Cancel", &username_text("bob", "bob-pw-1"), &saml_str(&id))
            .replace(SOAP11, SOAP12),
    );
    assert_eq!(r12.fault_code(), "wst:FailedAuthentication", "{}", r12.body);
    still_valid(&s, &id);

    // The principal itself.
    let r = op_as(&s, "Cancel", alice, &saml_str(&id));
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("<wst:RequestedTokenCancelled/>"));
    assert!(s.store().get_token(&id).unwrap().is_none());

    // An administrator of the instance's realm.
    let a2 = issue(&s, PERSIST, alice).assertion_text();
    let r = op_as(&s, "Cancel", ("amadmin", ADMIN_PASSWORD), &a2);
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(s.store().get_token(&assertion_id(&a2)).unwrap().is_none());
}

#[test]
fn rest_cancel_is_for_the_tokens_principal_and_administrators() {
    // With `rest_sts_caller = anyone` the body is the only credential of a translate; a cancel
    // names its caller with an SSO session.
    let s = start_with(Opts {
        rest_sts_caller: Some(sts::config::RestCaller::Anyone),
        ..Default::default()
    });
    s.add_user("/", "bob", "bob-pw-1");
    let admin = s.login("amadmin", ADMIN_PASSWORD);
    assert_eq!(
        publish(&s, &admin, "rest", &rest_instance("persisting", true)).status,
        201
    );
    let saml_out = json!({"token_type": "SAML2", "subject_confirmation": "BEARER"});
    let translate = || {
        issued(&s.request(
            "POST",
            "/rest-sts/persisting?_action=translate",
            &[("Content-Type", "application/json")],
            &username_to(saml_out.clone()).to_string(),
        ))
    };
    let cancel_body =
        |t: &str| json!({"cancelled_token_state": {"token_type": "SAML2", "saml2_token": t}});
    let valid = |t: &str| {
        let r = call(
            &s,
            "",
            "persisting",
            "validate",
            &json!({"validated_token_state": {"token_type": "SAML2", "saml2_token": t}}),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        r.json()["token_valid"].as_bool().unwrap()
    };
    let token = translate();
    let id = assertion_id(&token);

    // No session: 401. Bob's session: 403. The token is still there and valid.
    let anon = s.request(
        "POST",
        "/rest-sts/persisting?_action=cancel",
        &[("Content-Type", "application/json")],
        &cancel_body(&token).to_string(),
    );
    assert_eq!(anon.status, 401, "{}", anon.body);
    let bob = s.login("bob", "bob-pw-1");
    let r = call(&s, &bob, "persisting", "cancel", &cancel_body(&token));
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(r.json()["reason"], "Forbidden");
    assert!(s.store().get_token(&id).unwrap().is_some());
    assert!(valid(&token));

    // Alice herself; then an administrator for another of her tokens.
    let alice = s.login("alice", "s3cret");
    let r = call(&s, &alice, "persisting", "cancel", &cancel_body(&token));
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(!valid(&token));
    let token2 = translate();
    let r = call(&s, &admin, "persisting", "cancel", &cancel_body(&token2));
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        s.store()
            .get_token(&assertion_id(&token2))
            .unwrap()
            .is_none()
    );
}

#[test]
fn sts_tokengen_cancel_is_for_administrators() {
    let s = server_with(Opts::default());
    s.add_user("/", "bob", "bob-pw-1");
    let id = assertion_id(&issue(&s, PERSIST, ("alice", "s3cret")).assertion_text());
    let path = format!("/sts-tokengen/{id}");
    // As AM documents, /sts-tokengen is the administrators' endpoint: neither another user
    // nor the token's principal cancels there.
    for (user, pw) in [("bob", "bob-pw-1"), ("alice", "s3cret")] {
        let session = s.login(user, pw);
        let r = s.request("DELETE", &path, &[("iPlanetDirectoryPro", &session)], "");
        assert_eq!(r.status, 403, "{user}: {}", r.body);
        still_valid(&s, &id);
    }
    let admin = s.login("amadmin", ADMIN_PASSWORD);
    let r = s.request("DELETE", &path, &[("iPlanetDirectoryPro", &admin)], "");
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(s.store().get_token(&id).unwrap().is_none());
}

#[test]
fn saml_cancel_by_value_accepts_the_previous_key_after_a_rotation() {
    let s = start();
    let admin = s.login("amadmin", ADMIN_PASSWORD);
    assert_eq!(
        publish(&s, &admin, "rest", &rest_instance("rotating", true)).status,
        201
    );
    let saml_out = json!({"token_type": "SAML2", "subject_confirmation": "BEARER"});
    let state = |t: &str| json!({"token_type": "SAML2", "saml2_token": t});
    let old = issued(&call(
        &s,
        &admin,
        "rotating",
        "translate",
        &username_to(saml_out),
    ));
    wait_for_jwks(&s, 1);
    sts::keyring::rotate(s.dir.path(), "sts-signing", chrono::Utc::now()).unwrap();
    // The server has picked up the new key once the JWK set holds both.
    wait_for_jwks(&s, 2);
    let validate = |t: &str| -> Value {
        let r = call(
            &s,
            &admin,
            "rotating",
            "validate",
            &json!({"validated_token_state": state(t)}),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        r.json()["token_valid"].clone()
    };
    assert_eq!(validate(&old), true);
    let r = call(
        &s,
        &admin,
        "rotating",
        "cancel",
        &json!({"cancelled_token_state": state(&old)}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["result"], "SAML2 token cancelled successfully.");
    assert_eq!(validate(&old), false);
    assert!(s.store().get_token(&assertion_id(&old)).unwrap().is_none());
}
