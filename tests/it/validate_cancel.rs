//! SOAP Validate and Cancel of persisted tokens, and who may cancel a token: its principal or
//! an administrator of the instance's realm over SOAP and REST, administrators over
//! `/sts-tokengen`; everyone else is refused and the token stays valid.

use serde_json::json;

use crate::common::*;

const PERSIST: &str = "/sts/soap-persist";

/// A SOAP Validate or Cancel (`op`) of `target` at `path`, authenticated as `who`.
fn op_by(s: &TestServer, path: &str, op: &str, who: (&str, &str), target: &str) -> Reply {
    s.post(
        path,
        &[("Content-Type", "text/xml")],
        target_envelope(op, &username_text(who.0, who.1), target),
    )
}

/// [`op_by`] as the demo user.
fn op(s: &TestServer, path: &str, op: &str, target: &str) -> Reply {
    op_by(s, path, op, ("demo", DEMO_PASSWORD), target)
}

/// [`op_by`] at the persisting instance.
fn op_as(s: &TestServer, op: &str, who: (&str, &str), target: &str) -> Reply {
    op_by(s, PERSIST, op, who, target)
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
fn persisted_tokens_validate_cancel_and_stay_cancelled() {
    let s = server_with(Opts::default());
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
    let at = wall_clock();
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
    let other = server_with(Opts::default());
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
    let now = wall_clock();
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
            authn_context: sts::xml::ns::AC_PASSWORD_PROTECTED_TRANSPORT,
            attributes: &[],
            confirmation: saml2::Confirmation::Bearer,
        };
        let unsigned = saml2::build(&spec, None, None).unwrap().wire;
        let stamp = sts::xml::datetime::saml_datetime(now);
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
