//! Renew checks the token's subject anew (issue 18, after review): a subject this STS
//! authenticated with a password (its own user, or a directory user) that is now disabled,
//! locked or gone gets no renewal, on persisting and non-persisting instances, for SAML 2.0
//! and SAML 1.1 alike, also when the token names an actor (ActAs); a subject another party
//! vouched for renews while the realm does not know it; an encrypted NameID is read from the
//! stored record; and SAML 1.1 renewals end at `saml2-renew-max-age-seconds`.

use serde_json::json;
use sts::identity::testldap::{self, TestLdap};

use crate::common::*;
use crate::delegation::{BOB_UT, act_as, act_as_server, post_issue};
use crate::renew::{SAML1, instance, issue_as, max_age_server, part, renew, renew_by, validate};

const SAML2_TYPE: &str = "http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.1#SAMLV2.0";

/// The users of a test server's `users.json`, changed underneath it as an administrator would.
fn users(s: &TestServer) -> sts::identity::FileUserStore {
    sts::identity::FileUserStore::open(&s.dir.path().join("users.json")).unwrap()
}

/// The SAML 1.1 assertion of an RSTR.
fn saml1_of(r: &Reply) -> String {
    assert_eq!(r.status, 200, "{}", r.body);
    part(&r.body, "<saml:Assertion", "</saml:Assertion>").to_owned()
}

/// A refusal of the subject: `wst:FailedAuthentication` saying `why`.
fn assert_refused(r: &Reply, why: &str) {
    assert_eq!(r.fault_code(), "wst:FailedAuthentication", "{}", r.body);
    assert!(r.body.contains(why), "not `{why}`: {}", r.body);
}

/// The subject's account is checked at each renewal (review of issue 18): a user this STS
/// authenticated who is now disabled or deleted gets no renewal (and, persisted, keeps the
/// token it has: nothing is retired); a subject another party vouched for renews while the
/// realm does not know it, and not once the realm has it disabled.
#[test]
fn a_disabled_or_deleted_subject_is_not_renewed() {
    let (idp, idp_cert) = saml_idp();
    let mut federated = instance("soap-fed", false, json!({}));
    federated["security-policy-validated-token-config"] = json!([
        {"validatedTokenType": "USERNAME", "invalidateInterimOpenAMSession": true},
        {"validatedTokenType": "SAML2", "invalidateInterimOpenAMSession": true}
    ]);
    federated["saml2-trusted-issuers"] = json!([{
        "issuer": "https://idp.example.com/saml", "certificate": "idp-saml", "audience": "urn:sts"
    }]);
    let s = start_with(Opts {
        files: vec![("keys/idp-saml.crt.pem".into(), idp_cert)],
        instances: vec![
            (
                "soap-persist.json".into(),
                instance("soap-persist", true, json!({})),
            ),
            ("soap-fed.json".into(), federated),
        ],
        ..Default::default()
    });
    let path = "/sts/soap-persist";
    let alices = issue(&s, path, ("alice", "s3cret")).assertion_text();
    assert!(alices.contains(">alice</saml2:NameID>"), "{alices}");
    // Renewed by its bearer (here demo) while alice is enabled...
    let r = renew(&s, path, &alices, "");
    assert_eq!(r.status, 200, "{}", r.body);
    let alices = r.assertion_text();
    // ...not once she is disabled; the token is not retired by the refusal.
    users(&s)
        .update("/", "alice", |u| u.disabled = true)
        .unwrap();
    let r = renew(&s, path, &alices, "");
    assert_eq!(r.fault_code(), "wst:FailedAuthentication", "{}", r.body);
    assert!(r.body.contains("subject is disabled"), "{}", r.body);
    users(&s)
        .update("/", "alice", |u| u.disabled = false)
        .unwrap();
    let r = renew(&s, path, &alices, "");
    assert_eq!(r.status, 200, "{}", r.body);
    let alices = r.assertion_text();
    users(&s).delete("/", "alice").unwrap();
    let r = renew(&s, path, &alices, "");
    assert_eq!(r.fault_code(), "wst:FailedAuthentication", "{}", r.body);
    assert!(r.body.contains("no longer a user"), "{}", r.body);

    // Vouched for by a trusted IdP: a name the realm does not know renews (as it was issued);
    // a known user renews until disabled.
    let fed = "/sts/soap-fed";
    let from_idp = |subject: &str| {
        let r = s.post(
            fed,
            &[("Content-Type", "text/xml"), ("SOAPAction", ISSUE_ACTION)],
            envelope(
                SOAP11,
                &idp_assertion(&idp, subject, "urn:sts", (-60, 300)),
                RST_ISSUE,
            ),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        r.assertion_text()
    };
    let partner = from_idp("partner-user");
    assert!(partner.contains("ac:classes:unspecified"), "{partner}");
    let r = renew(&s, fed, &partner, "");
    assert_eq!(r.status, 200, "{}", r.body);
    let demo = from_idp("demo");
    assert_eq!(renew(&s, fed, &demo, "").status, 200);
    users(&s)
        .update("/", "demo", |u| u.disabled = true)
        .unwrap();
    // Asked by another user (the requester must be enabled too, to authenticate).
    s.add_user("/", "bob", "hunter2");
    let r = renew_by(&s, fed, ("bob", "hunter2"), &demo, "");
    assert_eq!(r.fault_code(), "wst:FailedAuthentication", "{}", r.body);
    assert!(r.body.contains("disabled"), "{}", r.body);
}

/// A non-persisting instance reads the subject from the assertion itself (SAML 2.0 `NameID`,
/// SAML 1.1 `NameIdentifier`) and checks that account as a persisting one checks the stored
/// principal: disabled or deleted, no renewal of either token type.
#[test]
fn a_non_persisting_instance_checks_the_subject_named_in_the_assertion() {
    let s = start_with(Opts {
        instances: vec![("soap-np.json".into(), instance("soap-np", false, json!({})))],
        ..Default::default()
    });
    let path = "/sts/soap-np";
    let alice = ("alice", "s3cret");
    let saml2 = issue_as(&s, path, alice, SAML2_TYPE).assertion_text();
    assert!(saml2.contains(">alice</saml2:NameID>"), "{saml2}");
    let saml1 = saml1_of(&issue_as(&s, path, alice, SAML1));
    assert!(saml1.contains(">alice</saml:NameIdentifier>"), "{saml1}");
    assert!(
        s.store()
            .get_token(&assertion_id(&saml2))
            .unwrap()
            .is_none()
    );
    // Renewed by their bearer (demo) while alice is enabled.
    let saml2 = renew(&s, path, &saml2, "").assertion_text();
    let saml1 = saml1_of(&renew(&s, path, &saml1, ""));
    users(&s)
        .update("/", "alice", |u| u.disabled = true)
        .unwrap();
    for token in [&saml2, &saml1] {
        assert_refused(&renew(&s, path, token, ""), "subject is disabled");
    }
    users(&s)
        .update("/", "alice", |u| u.disabled = false)
        .unwrap();
    let saml2 = renew(&s, path, &saml2, "").assertion_text();
    let saml1 = saml1_of(&renew(&s, path, &saml1, ""));
    users(&s).delete("/", "alice").unwrap();
    for token in [&saml2, &saml1] {
        assert_refused(&renew(&s, path, token, ""), "no longer a user");
    }
}

/// A persisting instance checks a SAML 1.1 token's stored principal as it does a SAML 2.0's.
#[test]
fn a_disabled_subject_of_a_saml11_token_is_not_renewed() {
    let s = start_with(Opts {
        instances: vec![("soap-p1.json".into(), instance("soap-p1", true, json!({})))],
        ..Default::default()
    });
    let path = "/sts/soap-p1";
    let token = saml1_of(&issue_as(&s, path, ("alice", "s3cret"), SAML1));
    let token = saml1_of(&renew(&s, path, &token, ""));
    users(&s)
        .update("/", "alice", |u| u.disabled = true)
        .unwrap();
    let r = renew(&s, path, &token, "");
    assert_refused(&r, "subject is disabled");
    // Refused without retiring the token.
    let id = token
        .split("AssertionID=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    assert!(s.store().get_token(id).unwrap().is_some());
}

/// ActAs (review of issue 18): the subject of an ActAs token is the identity the ActAs token
/// named. When this STS checked its password, it is this STS's user, whose account is checked
/// at renewal whatever the actor: deleted, its tokens stop renewing, SAML 2.0 (with its
/// `del:Delegate`) and SAML 1.1 (with its `actor` claim) alike. A subject vouched for by a
/// trusted identity provider that the realm does not know renews, as at issue.
#[test]
fn an_act_as_subject_is_checked_as_the_user_this_sts_authenticated() {
    let (s, idp) = act_as_server();
    let path = "/sts/soap-act";
    let alice = ("alice", "s3cret");
    let acting = |extra: &str, token: &str| {
        let r = post_issue(
            &s,
            &username_digest(alice.0, alice.1),
            &format!("{RST_ISSUE}{extra}{}", act_as(token)),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        r
    };
    let saml2 = acting("", BOB_UT).assertion_text();
    assert!(
        saml2.contains(">bob</saml2:NameID>") && saml2.contains("<del:Delegate"),
        "{saml2}"
    );
    let saml1 = saml1_of(&acting(
        &format!("<wst:TokenType>{SAML1}</wst:TokenType>"),
        BOB_UT,
    ));
    assert!(saml1.contains(">bob</saml:NameIdentifier>"), "{saml1}");
    let carol = acting("", &idp_assertion(&idp, "carol", "urn:sts", (-5, 300))).assertion_text();
    assert!(carol.contains(">carol</saml2:NameID>"), "{carol}");
    // Renewed by the actor while bob is a user, the delegation kept.
    let r = renew_by(&s, path, alice, &saml2, "");
    assert_eq!(r.status, 200, "{}", r.body);
    let saml2 = r.assertion_text();
    assert!(saml2.contains("<del:Delegate"), "{saml2}");
    let saml1 = saml1_of(&renew_by(&s, path, alice, &saml1, ""));
    assert!(saml1.contains("AttributeName=\"actor\""), "{saml1}");
    // bob disabled, then deleted: neither version renews.
    users(&s).update("/", "bob", |u| u.disabled = true).unwrap();
    for token in [&saml2, &saml1] {
        assert_refused(&renew_by(&s, path, alice, token, ""), "subject is disabled");
    }
    users(&s).delete("/", "bob").unwrap();
    for token in [&saml2, &saml1] {
        assert_refused(&renew_by(&s, path, alice, token, ""), "no longer a user");
    }
    // carol, vouched for by the identity provider and unknown here, still renews.
    let r = renew_by(&s, path, alice, &carol, "");
    assert_eq!(r.status, 200, "{}", r.body);
}

/// A directory realm's subject is checked in the directory at each renewal: disabled there
/// (`nsAccountLock`), or removed, its token is not renewed; another user's still is.
#[test]
fn a_directory_subject_is_checked_in_the_directory() {
    let ldap = TestLdap::start();
    let s = start_with_directory(
        &people_realm("/", &[ldap.ldaps_url()], &ldap.ca_pem_path(), &ldap),
        Opts::default(),
    );
    let path = format!("/sts/{SOAP_LDAP}");
    let pw = testldap::USER_PASSWORD;
    let alice = ("alice", pw);
    let bobs = soap_text(&s, SOAP_LDAP, "bob", pw).assertion_text();
    let alices = soap_text(&s, SOAP_LDAP, "alice", pw).assertion_text();
    assert!(bobs.contains(">bob</saml2:NameID>"), "{bobs}");
    let r = renew_by(&s, &path, alice, &bobs, "");
    assert_eq!(r.status, 200, "{}", r.body);
    let bobs = r.assertion_text();
    let bob_dn = format!("uid=bob,{}", testldap::PEOPLE_DN);
    ldap.modify(&format!(
        "dn: {bob_dn}\nchangetype: modify\nadd: objectClass\nobjectClass: stsTestAccountLock\n-\nadd: nsAccountLock\nnsAccountLock: TRUE\n"
    ));
    assert_refused(
        &renew_by(&s, &path, alice, &bobs, ""),
        "disabled in the directory",
    );
    ldap.modify(&format!("dn: {bob_dn}\nchangetype: delete\n"));
    assert_refused(
        &renew_by(&s, &path, alice, &bobs, ""),
        "no longer in the directory",
    );
    let r = renew_by(&s, &path, alice, &alices, "");
    assert_eq!(r.status, 200, "{}", r.body);
}

/// An assertion whose NameID is encrypted for the relying party: a persisting instance renews
/// it, checking the principal of its stored record (here, refusing once that user is
/// disabled); one that does not persist cannot read the subject and refuses, saying why.
#[test]
fn an_encrypted_name_id_is_renewed_by_its_record_only() {
    let sp = tempfile::tempdir().unwrap();
    let (_, sp_cert) = relying_party(sp.path());
    let encrypting = |element: &str, persist: bool| {
        instance(
            element,
            persist,
            json!({"saml2-encrypt-nameid": "true", "saml2-encryption-key-alias": "sp-enc"}),
        )
    };
    let s = start_with(Opts {
        files: vec![("keys/sp-enc.crt.pem".into(), sp_cert)],
        instances: vec![
            ("soap-encp.json".into(), encrypting("soap-encp", true)),
            ("soap-encn.json".into(), encrypting("soap-encn", false)),
        ],
        ..Default::default()
    });
    let alice = ("alice", "s3cret");
    let (persisting, not) = ("/sts/soap-encp", "/sts/soap-encn");
    let stored = issue_as(&s, persisting, alice, SAML2_TYPE).assertion_text();
    assert!(
        stored.contains("<saml2:EncryptedID>") && !stored.contains(">alice<"),
        "{stored}"
    );
    let r = renew(&s, persisting, &stored, "");
    assert_eq!(r.status, 200, "{}", r.body);
    let renewed = r.assertion_text();
    assert!(renewed.contains("<saml2:EncryptedID>"), "{renewed}");
    let (ok, out) = xmlsec1_verify(&renewed, &s.cert("sts-signing"));
    assert!(ok, "xmlsec1: {out}");
    let rec = s
        .store()
        .get_token(&assertion_id(&renewed))
        .unwrap()
        .unwrap();
    assert_eq!(rec.principal, "alice");
    assert!(validate(&s, persisting, &renewed).0);

    let unstored = issue_as(&s, not, alice, SAML2_TYPE).assertion_text();
    assert!(unstored.contains("<saml2:EncryptedID>"), "{unstored}");
    let r = renew(&s, not, &unstored, "");
    assert_eq!(r.fault_code(), "wst:UnableToRenew", "{}", r.body);
    assert!(
        r.body
            .contains("the token's subject cannot be read (encrypted)")
            && r.body.contains("a persisting instance renews such a token"),
        "{}",
        r.body
    );

    users(&s)
        .update("/", "alice", |u| u.disabled = true)
        .unwrap();
    assert_refused(&renew(&s, persisting, &renewed, ""), "subject is disabled");
}

/// SAML 1.1 renewals end at `saml2-renew-max-age-seconds` from the first
/// `AuthenticationInstant`, as SAML 2.0's do: cut short before it, refused from it on.
#[test]
fn saml11_renewals_end_at_the_maximum_age() {
    let (s, clock, t0, at) = max_age_server("soap-age1", false);
    let path = "/sts/soap-age1";
    let first = saml1_of(&issue_as(&s, path, ("demo", DEMO_PASSWORD), SAML1));
    let instant = format!("AuthenticationInstant=\"{}\"", at(0));
    assert!(first.contains(&instant), "{first}");
    clock.set(t0 + chrono::Duration::seconds(300));
    let second = saml1_of(&renew(&s, path, &first, ""));
    assert!(
        second.contains(&format!("NotOnOrAfter=\"{}\"", at(900))),
        "{second}"
    );
    assert!(
        second.contains(&instant),
        "the first instant is kept: {second}"
    );
    clock.set(t0 + chrono::Duration::seconds(800));
    let third = saml1_of(&renew(&s, path, &second, ""));
    assert!(
        third.contains(&format!("NotOnOrAfter=\"{}\"", at(1000))),
        "{third}"
    );
    let cert = s.cert("sts-signing");
    let (ok, out) = xmlsec1_verify_saml1(&third, &cert);
    assert!(ok, "xmlsec1: {out}");
    clock.set(t0 + chrono::Duration::seconds(1000));
    let r = renew(&s, path, &third, "");
    assert_eq!(r.fault_code(), "wst:UnableToRenew", "{}", r.body);
    assert!(r.body.contains("saml2-renew-max-age-seconds"), "{}", r.body);
}

/// Validate to a new token checks the subject as a renewal does, and a subject this STS
/// authenticated with a password stays one in the new token (review: re-issued as another
/// party's subject, a deleted user's token renewed through a transform).
#[test]
fn validate_to_a_new_token_checks_the_subject_and_keeps_it_this_sts_s_own() {
    let mut j = instance("soap-tx", false, json!({}));
    j["supported-token-transforms"] = json!([
        {"inputTokenType": "SAML2", "outputTokenType": "SAML1", "invalidateInterimOpenAMSession": true}
    ]);
    let s = start_with(Opts {
        instances: vec![("soap-tx.json".into(), j)],
        ..Default::default()
    });
    let path = "/sts/soap-tx";
    let validate_to_saml1 = |target: &str| {
        let body = target_envelope("Validate", &username_text("demo", DEMO_PASSWORD), target)
            .replace(
                "</wst:RequestType>",
                &format!("</wst:RequestType><wst:TokenType>{SAML1}</wst:TokenType>"),
            );
        s.post(path, &[("Content-Type", "text/xml")], body)
    };
    let alices = issue(&s, path, ("alice", "s3cret")).assertion_text();
    let saml1 = saml1_of(&validate_to_saml1(&alices));
    assert!(
        saml1.contains("AuthenticationMethod=\"urn:oasis:names:tc:SAML:1.0:am:password\""),
        "the new token says how this STS authenticated alice: {saml1}"
    );
    users(&s).delete("/", "alice").unwrap();
    // Neither re-issued nor renewed: the new token is alice's, not another party's.
    let r = validate_to_saml1(&alices);
    assert!(!r.body.contains("<saml:Assertion"), "{}", r.body);
    assert!(r.body.contains("no longer a user"), "{}", r.body);
    assert_refused(&renew(&s, path, &saml1, ""), "no longer a user");
}
