//! BatchValidate, BatchCancel and BatchRenew (WS-Trust 1.3 4.2): one RSTR per RST in order,
//! in an RSTRC with the batch's final action; a token that is not valid is a Validate status,
//! not a fault; a Cancel or Renew collection changes every token or none, and the store says
//! what the reply said; each RST is audited as its single request is; a collection mixing
//! RequestTypes is refused.

use std::path::Path;

use serde_json::json;

use crate::common::*;
use crate::renew::issue_as;

const PATH: &str = "/sts/soap-batch";
const SAMLV20: &str = "http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.1#SAMLV2.0";
const SAML1: &str = "urn:oasis:names:tc:SAML:1.0:assertion";
const VALID: &str = "http://docs.oasis-open.org/ws-sx/ws-trust/200512/status/valid";
const INVALID: &str = "http://docs.oasis-open.org/ws-sx/ws-trust/200512/status/invalid";

/// A persisting instance issuing SAML 2.0 and 1.1, with the audit trail in `audit`.
fn server(audit: &Path) -> TestServer {
    let mut j = persisting_instance("soap-batch", true);
    j["issued-token-types"] = json!(["SAML2", "SAML1"]);
    let target = audit.display().to_string();
    start_with(Opts {
        instances: vec![("soap-batch.json".into(), j)],
        configure: Some(Box::new(move |c| c.audit_log = Some(target))),
        ..Default::default()
    })
}

fn batch_uri(op: &str) -> String {
    format!("{WST}/Batch{op}")
}

/// A collection of `op` RSTs, each (Context, what its `wst:{op}Target` holds), sent as
/// `who` with the batch URI as wsa:Action.
fn collection(soap: &str, who: (&str, &str), op: &str, rsts: &[(&str, String)]) -> String {
    let uri = batch_uri(op);
    let items: String = rsts
        .iter()
        .map(|(c, target)| {
            format!(
                "<wst:RequestSecurityToken Context=\"{c}\"><wst:RequestType>{uri}</wst:RequestType><wst:{op}Target>{target}</wst:{op}Target></wst:RequestSecurityToken>"
            )
        })
        .collect();
    envelope(soap, &username_text(who.0, who.1), "")
        .replace(ISSUE_ACTION, &uri)
        .replace(
            &format!("<wst:RequestSecurityToken xmlns:wst=\"{WST}\"></wst:RequestSecurityToken>"),
            &format!(
                "<wst:RequestSecurityTokenCollection xmlns:wst=\"{WST}\">{items}</wst:RequestSecurityTokenCollection>"
            ),
        )
}

fn post(s: &TestServer, soap: &str, body: &str) -> Reply {
    let ct = if soap == SOAP11 {
        "text/xml; charset=utf-8"
    } else {
        "application/soap+xml; charset=utf-8"
    };
    s.post(PATH, &[("Content-Type", ct)], body)
}

fn demo() -> (&'static str, &'static str) {
    ("demo", DEMO_PASSWORD)
}

/// Issues a `token_type` assertion for `who`; its text (as the RSTR holds it) and ID.
fn issue(s: &TestServer, who: (&str, &str), token_type: &str) -> (String, String) {
    let r = issue_as(s, PATH, who, token_type);
    assert_eq!(r.status, 200, "{}", r.body);
    let (open, close) = if token_type == SAML1 {
        ("<saml:Assertion", "</saml:Assertion>")
    } else {
        ("<saml2:Assertion", "</saml2:Assertion>")
    };
    let a = crate::renew::part(&r.body, open, close).to_owned();
    let id = if token_type == SAML1 {
        a.split("AssertionID=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .to_owned()
    } else {
        assertion_id(&a)
    };
    (a, id)
}

fn stored(s: &TestServer) -> Vec<String> {
    let mut ids: Vec<String> = s
        .store()
        .query_tokens(&sts::store::Filter::True, 100, None)
        .unwrap()
        .items
        .into_iter()
        .map(|r| r.token_id)
        .collect();
    ids.sort();
    ids
}

fn sorted(ids: &[&String]) -> Vec<String> {
    let mut v: Vec<String> = ids.iter().map(|s| (*s).clone()).collect();
    v.sort();
    v
}

/// The RSTRs of a 200 reply's RSTRC, after checking its action.
fn rstrs(r: &Reply, op: &str) -> Vec<sts::xml::Element> {
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body
            .contains(&format!("{WST}/RSTRC/Batch{op}Final</wsa:Action>")),
        "{}",
        r.body
    );
    let env = r.doc();
    let body = env.elements().find(|e| e.local == "Body").unwrap();
    let rstrc = body.elements().next().unwrap();
    assert!(
        rstrc.is(WST, "RequestSecurityTokenResponseCollection"),
        "{}",
        r.body
    );
    assert!(
        rstrc
            .elements()
            .all(|e| e.is(WST, "RequestSecurityTokenResponse")),
        "{}",
        r.body
    );
    rstrc.elements().cloned().collect()
}

fn context(r: &sts::xml::Element) -> &str {
    r.attr(None, "Context").unwrap()
}

/// The audit events of `action` written so far (waiting until there are `n`).
fn events(audit: &Path, action: &str, n: usize) -> Vec<serde_json::Value> {
    let read = || -> Vec<serde_json::Value> {
        std::fs::read_to_string(audit)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .filter(|v| v["action"] == action)
            .collect()
    };
    wait_until(&format!("{n} {action} events"), || read().len() >= n);
    read()
}

#[test]
fn batch_validate_answers_a_status_per_token_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.log");
    let s = server(&audit);
    let (a, _) = issue(&s, demo(), SAMLV20);
    let (_, b_id) = issue(&s, demo(), SAML1);
    let altered = a.replacen("urn:test:rp", "urn:test:rq", 1);
    assert_ne!(altered, a);
    let asked = [
        ("one", a.clone()),
        ("two", saml_str("_no-such-token")),
        ("three", saml_str(&b_id)),
        ("four", altered),
    ];
    for soap in [SOAP11, SOAP12] {
        let r = post(&s, soap, &collection(soap, demo(), "Validate", &asked));
        let got: Vec<(String, String)> = rstrs(&r, "Validate")
            .iter()
            .map(|rstr| {
                let code = rstr
                    .child(&[WST], "Status")
                    .unwrap()
                    .child(&[WST], "Code")
                    .unwrap()
                    .text();
                (context(rstr).to_owned(), code)
            })
            .collect();
        let want: Vec<(String, String)> = [
            ("one", VALID),
            ("two", INVALID),
            ("three", VALID),
            ("four", INVALID),
        ]
        .iter()
        .map(|(c, v)| ((*c).to_owned(), (*v).to_owned()))
        .collect();
        assert_eq!(got, want, "{}", r.body);
    }
    // Each RST is audited as a Validate is: 4 per batch.
    let validated = events(&audit, "token.validated", 8);
    assert_eq!(validated.len(), 8);
    assert_eq!(
        validated.iter().filter(|v| v["valid"] == "true").count(),
        4,
        "{validated:#?}"
    );
    // A Validate to a new token is not batched; a request without a target is malformed.
    let to_token = collection(SOAP11, demo(), "Validate", &asked[..2]).replacen(
        "</wst:ValidateTarget></wst:RequestSecurityToken><wst:RequestSecurityToken Context=\"two\">",
        &format!("</wst:ValidateTarget></wst:RequestSecurityToken><wst:RequestSecurityToken Context=\"two\"><wst:TokenType>{SAMLV20}</wst:TokenType>"),
        1,
    );
    let r = post(&s, SOAP11, &to_token);
    assert_eq!(r.fault_code(), "wst:BadRequest", "{}", r.body);
    assert!(
        r.body
            .contains("request 2: a batch Validate answers a status"),
        "{}",
        r.body
    );
    let untargeted = collection(SOAP11, demo(), "Validate", &asked[..2]).replace(
        &format!(
            "<wst:ValidateTarget>{}</wst:ValidateTarget>",
            saml_str("_no-such-token")
        ),
        "",
    );
    let r = post(&s, SOAP11, &untargeted);
    assert_eq!(r.fault_code(), "wst:InvalidRequest", "{}", r.body);
    assert!(r.body.contains("request 2"), "{}", r.body);
    // Nothing was validated by the refused batches: the next batch's four events follow
    // the first eight (the trail is written in order).
    let r = post(&s, SOAP11, &collection(SOAP11, demo(), "Validate", &asked));
    assert_eq!(rstrs(&r, "Validate").len(), 4);
    assert_eq!(events(&audit, "token.validated", 12).len(), 12);
}

#[test]
fn batch_cancel_cancels_every_token_or_none() {
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.log");
    let s = server(&audit);
    let (a, a_id) = issue(&s, demo(), SAMLV20);
    let (_, b_id) = issue(&s, demo(), SAML1);
    let (_, c_id) = issue(&s, demo(), SAMLV20);
    let (_, d_id) = issue(&s, ("alice", "s3cret"), SAMLV20);
    let all = sorted(&[&a_id, &b_id, &c_id, &d_id]);
    assert_eq!(stored(&s), all);
    // An unknown token, a token named twice, another user's token: each fails the batch
    // before anything is cancelled.
    for (rsts, code, needle) in [
        (
            vec![("1", saml_str(&a_id)), ("2", saml_str("_unknown"))],
            "wst:InvalidRequest",
            "request 2: no token with this id",
        ),
        (
            vec![("1", saml_str(&a_id)), ("2", a.clone())],
            "wst:InvalidRequest",
            "request 2: it names the same token as request 1",
        ),
        (
            vec![("1", saml_str(&c_id)), ("2", saml_str(&d_id))],
            "wst:FailedAuthentication",
            "request 2: a token may be cancelled only by its principal",
        ),
    ] {
        let r = post(&s, SOAP12, &collection(SOAP12, demo(), "Cancel", &rsts));
        assert_eq!(r.status, 500, "{}", r.body);
        assert_eq!(r.fault_code(), code, "{}", r.body);
        assert!(r.body.contains(needle), "{}", r.body);
        assert!(
            !r.body.contains("RequestSecurityTokenResponse"),
            "{}",
            r.body
        );
        assert_eq!(stored(&s), all, "{}", r.body);
    }
    // By reference and by value: both cancelled, one RSTR each, in order.
    let r = post(
        &s,
        SOAP11,
        &collection(
            SOAP11,
            demo(),
            "Cancel",
            &[("x", saml_str(&b_id)), ("y", a)],
        ),
    );
    let got: Vec<(String, bool)> = rstrs(&r, "Cancel")
        .iter()
        .map(|rstr| {
            (
                context(rstr).to_owned(),
                rstr.child(&[WST], "RequestedTokenCancelled").is_some(),
            )
        })
        .collect();
    assert_eq!(got, [("x".to_owned(), true), ("y".to_owned(), true)]);
    assert_eq!(stored(&s), sorted(&[&c_id, &d_id]));
    // The tokens are gone for /sts-tokengen too.
    let admin = s.login("amadmin", ADMIN_PASSWORD);
    for (id, status) in [(&a_id, 404), (&b_id, 404), (&c_id, 200)] {
        let r = s.request(
            "GET",
            &format!("/sts-tokengen/{id}"),
            &[("iPlanetDirectoryPro", &admin)],
            "",
        );
        assert_eq!(r.status, status, "{id}: {}", r.body);
    }
    // Each cancel is audited as a Cancel is, and only the two that happened.
    let cancelled = events(&audit, "token.cancelled", 2);
    let ids: Vec<&str> = cancelled
        .iter()
        .map(|e| e["token_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [b_id.as_str(), a_id.as_str()], "{cancelled:#?}");
    assert!(
        cancelled
            .iter()
            .all(|e| e["actor"] == "demo" && e.get("outcome").is_none()),
        "{cancelled:#?}"
    );
}

#[test]
fn batch_renew_renews_every_token_or_none() {
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.log");
    let s = server(&audit);
    let (a, a_id) = issue(&s, demo(), SAMLV20);
    let (b, b_id) = issue(&s, demo(), SAML1);
    // The second request names a token this instance never issued: nothing is renewed.
    let r = post(
        &s,
        SOAP11,
        &collection(
            SOAP11,
            demo(),
            "Renew",
            &[("1", a.clone()), ("2", saml_str("_unknown"))],
        ),
    );
    assert_eq!(r.fault_code(), "wst:InvalidSecurityToken", "{}", r.body);
    assert!(
        r.body.contains("request 2: no token with this ID"),
        "{}",
        r.body
    );
    assert_eq!(stored(&s), sorted(&[&a_id, &b_id]));
    // Both renewed: new IDs, verified, stored in place of the old ones.
    let r = post(
        &s,
        SOAP12,
        &collection(SOAP12, demo(), "Renew", &[("b", b), ("a", a)]),
    );
    let cert = s.cert("sts-signing");
    let mut new_ids = Vec::new();
    for (rstr, (ctx, old)) in rstrs(&r, "Renew").iter().zip([("b", &b_id), ("a", &a_id)]) {
        assert_eq!(context(rstr), ctx);
        let token = rstr
            .child(&[WST], "RequestedSecurityToken")
            .unwrap()
            .elements()
            .next()
            .unwrap();
        let id = token
            .attr(None, "ID")
            .or_else(|| token.attr(None, "AssertionID"))
            .unwrap()
            .to_owned();
        assert_ne!(&id, old);
        new_ids.push(id);
    }
    let body = &r.body;
    let saml2 = crate::renew::part(body, "<saml2:Assertion", "</saml2:Assertion>");
    let (ok, out) = xmlsec1_verify(saml2, &cert);
    assert!(ok, "{out}\n{saml2}");
    let saml1 = crate::renew::part(body, "<saml:Assertion", "</saml:Assertion>");
    let (ok, out) = xmlsec1_verify_saml1(saml1, &cert);
    assert!(ok, "{out}\n{saml1}");
    assert_eq!(stored(&s), sorted(&[&new_ids[0], &new_ids[1]]));
    let renewed = events(&audit, "token.renewed", 2);
    let pairs: Vec<(&str, &str)> = renewed
        .iter()
        .map(|e| {
            (
                e["replaced_token_id"].as_str().unwrap(),
                e["token_id"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        pairs,
        [
            (b_id.as_str(), new_ids[0].as_str()),
            (a_id.as_str(), new_ids[1].as_str())
        ]
    );
}

#[test]
fn a_collection_mixing_request_types_or_actions_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.log");
    let s = server(&audit);
    let (_, a_id) = issue(&s, demo(), SAMLV20);
    let (_, b_id) = issue(&s, demo(), SAMLV20);
    // A Validate and a Cancel in one collection: one batch RequestType per collection.
    let mixed = collection(
        SOAP11,
        demo(),
        "Validate",
        &[("1", saml_str(&a_id)), ("2", saml_str(&b_id))],
    )
    .replacen(
        &format!(
            "<wst:RequestType>{}</wst:RequestType><wst:ValidateTarget>{}",
            batch_uri("Validate"),
            saml_str(&b_id)
        ),
        &format!(
            "<wst:RequestType>{}</wst:RequestType><wst:CancelTarget>{}",
            batch_uri("Cancel"),
            saml_str(&b_id)
        ),
        1,
    )
    .replacen(
        "</wst:ValidateTarget></wst:RequestSecurityToken></wst:RequestSecurityTokenCollection>",
        "</wst:CancelTarget></wst:RequestSecurityToken></wst:RequestSecurityTokenCollection>",
        1,
    );
    assert!(mixed.contains("BatchCancel") && mixed.contains("BatchValidate"));
    let r = post(&s, SOAP11, &mixed);
    assert_eq!(r.fault_code(), "wst:InvalidRequest", "{}", r.body);
    assert!(
        r.body
            .contains("request 1 is BatchValidate, request 2 BatchCancel"),
        "{}",
        r.body
    );
    // An action other than the collection's batch URI.
    let cancel = collection(
        SOAP11,
        demo(),
        "Cancel",
        &[("1", saml_str(&a_id)), ("2", saml_str(&b_id))],
    );
    let r = post(
        &s,
        SOAP11,
        &cancel.replace(
            &format!(">{}</wsa:Action>", batch_uri("Cancel")),
            &format!(">{}</wsa:Action>", batch_uri("Validate")),
        ),
    );
    assert_eq!(r.fault_code(), "wst:InvalidRequest", "{}", r.body);
    assert!(
        r.body
            .contains("is not the collection's batch RequestType (BatchCancel)"),
        "{}",
        r.body
    );
    assert_eq!(stored(&s), sorted(&[&a_id, &b_id]));
    // No action at all (an empty SOAPAction, as the WSDL's RequestCollection declares): the
    // RequestType decides.
    let bare = cancel.replace(
        &format!(
            "<wsa:Action xmlns:wsa=\"http://www.w3.org/2005/08/addressing\">{}</wsa:Action>",
            batch_uri("Cancel")
        ),
        "",
    );
    assert!(!bare.contains("wsa:Action"));
    let r = s.post(
        PATH,
        &[("Content-Type", "text/xml"), ("SOAPAction", "\"\"")],
        bare,
    );
    assert_eq!(rstrs(&r, "Cancel").len(), 2);
    assert_eq!(stored(&s), Vec::<String>::new());
}
