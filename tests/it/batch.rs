//! Batch Issue (`wst:RequestSecurityTokenCollection`, WS-Trust 1.3 4.3): one RSTR per RST in
//! order; any failure faults the whole batch and leaves no token stored; the credential is
//! checked once; the size is bounded.

use serde_json::json;

use crate::common::*;

const PATH: &str = "/sts/soap-batch";
const BATCH_ISSUE: &str = "http://docs.oasis-open.org/ws-sx/ws-trust/200512/BatchIssue";
const SAML1: &str = "urn:oasis:names:tc:SAML:1.0:assertion";

fn server() -> TestServer {
    let mut j = persisting_instance("soap-batch", true);
    j["issued-token-types"] = json!(["SAML2", "SAML1"]);
    start_with(Opts {
        instances: vec![("soap-batch.json".into(), j)],
        ..Default::default()
    })
}

/// One RST of a batch: Context `ctx`, `token_type`, for relying party `rp`.
fn rst(ctx: &str, token_type: &str, rp: &str) -> String {
    format!(
        "<wst:RequestSecurityToken Context=\"{ctx}\"><wst:RequestType>{BATCH_ISSUE}</wst:RequestType><wst:TokenType>{token_type}</wst:TokenType>{}</wst:RequestSecurityToken>",
        applies_to(rp)
    )
}

fn collection(soap: &str, security: &str, rsts: &[String]) -> String {
    envelope(soap, security, "")
        .replace(ISSUE_ACTION, BATCH_ISSUE)
        .replace(
            &format!("<wst:RequestSecurityToken xmlns:wst=\"{WST}\"></wst:RequestSecurityToken>"),
            &format!(
                "<wst:RequestSecurityTokenCollection xmlns:wst=\"{WST}\">{}</wst:RequestSecurityTokenCollection>",
                rsts.concat()
            ),
        )
}

fn post(s: &TestServer, soap: &str, body: &str) -> Reply {
    if soap == SOAP11 {
        s.post(
            PATH,
            &[
                ("Content-Type", "text/xml; charset=utf-8"),
                ("SOAPAction", BATCH_ISSUE),
            ],
            body,
        )
    } else {
        s.post(
            PATH,
            &[("Content-Type", "application/soap+xml; charset=utf-8")],
            body,
        )
    }
}

fn stored(s: &TestServer) -> usize {
    s.store()
        .query_tokens(&sts::store::Filter::True, 100, None)
        .unwrap()
        .items
        .len()
}

/// The RSTRs of an RSTRC: (Context, TokenType, audience), in document order.
fn rstrs(body: &str) -> Vec<(String, String, String)> {
    let env = sts::xml::parse(body.as_bytes(), sts::xml::Limits::default()).unwrap();
    let rstrc = env.elements().last().unwrap().elements().next().unwrap();
    assert!(
        rstrc.is(WST, "RequestSecurityTokenResponseCollection"),
        "{body}"
    );
    rstrc
        .elements()
        .map(|r| {
            assert!(r.is(WST, "RequestSecurityTokenResponse"));
            let text = |l: &str| r.child(&[WST], l).unwrap().text();
            let audience = r
                .elements()
                .find(|e| e.local == "AppliesTo")
                .map(|a| {
                    a.elements()
                        .next()
                        .unwrap()
                        .elements()
                        .next()
                        .unwrap()
                        .text()
                })
                .unwrap_or_default();
            (
                r.attr(None, "Context").unwrap_or_default().to_owned(),
                text("TokenType"),
                audience,
            )
        })
        .collect()
}

#[test]
fn two_and_three_requests_get_one_rstr_each_in_order_all_stored() {
    let s = server();
    let pw = username_text("demo", DEMO_PASSWORD);
    let two = collection(
        SOAP11,
        &pw,
        &[rst("a", SAML2, "urn:rp:a"), rst("b", SAML1, "urn:rp:b")],
    );
    let r = post(&s, SOAP11, &two);
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body
            .contains(&format!("<wsa:Action xmlns:wsa=\"http://www.w3.org/2005/08/addressing\">{WST}/RSTRC/BatchIssueFinal</wsa:Action>")),
        "{}",
        r.body
    );
    assert_eq!(
        rstrs(&r.body),
        [
            ("a".into(), SAML2.into(), "urn:rp:a".into()),
            ("b".into(), SAML1.into(), "urn:rp:b".into())
        ]
    );
    assert_eq!(stored(&s), 2);

    // SOAP 1.2 and a PasswordDigest (alice has a digest secret): one nonce, checked once for
    // the three requests.
    let digest = username_digest("alice", "s3cret");
    let three = collection(
        SOAP12,
        &digest,
        &[
            rst("z", SAML1, "urn:rp:z"),
            rst("y", SAML2, "urn:rp:y"),
            rst("x", SAML2, "urn:rp:x"),
        ],
    );
    let r = post(&s, SOAP12, &three);
    assert_eq!(r.status, 200, "{}", r.body);
    let got: Vec<String> = rstrs(&r.body).into_iter().map(|(c, _, _)| c).collect();
    assert_eq!(got, ["z", "y", "x"]);
    assert_eq!(stored(&s), 5);
    // The same message again is a replay of its nonce.
    let again = post(&s, SOAP12, &three);
    assert_eq!(again.status, 500);
    assert!(
        again.body.contains("wst:FailedAuthentication"),
        "{}",
        again.body
    );
    assert_eq!(stored(&s), 5);

    // A client of the WSDL's `RequestCollection` operation sends that operation's default
    // action (WS-Addressing Metadata 4.4.4) and checks the reply against its default output
    // action: it gets that one, not WS-Trust's RSTRC/BatchIssueFinal.
    let by_wsdl = collection(
        SOAP12,
        &pw,
        &[rst("p", SAML2, "urn:rp:p"), rst("q", SAML1, "urn:rp:q")],
    )
    .replace(
        &format!("<wsa:Action xmlns:wsa=\"http://www.w3.org/2005/08/addressing\">{BATCH_ISSUE}</wsa:Action>"),
        "<wsa:Action xmlns:wsa=\"http://www.w3.org/2005/08/addressing\">http://docs.oasis-open.org/ws-sx/ws-trust/200512/STS/RequestCollectionRequest</wsa:Action>",
    );
    assert!(
        by_wsdl.contains("STS/RequestCollectionRequest"),
        "{by_wsdl}"
    );
    let r = post(&s, SOAP12, &by_wsdl);
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body.contains("<wsa:Action xmlns:wsa=\"http://www.w3.org/2005/08/addressing\">http://docs.oasis-open.org/ws-sx/ws-trust/200512/STS/RequestCollectionResponse</wsa:Action>"),
        "{}",
        r.body
    );
    let got: Vec<String> = rstrs(&r.body).into_iter().map(|(c, _, _)| c).collect();
    assert_eq!(got, ["p", "q"]);
    assert_eq!(stored(&s), 7);
}

#[test]
fn one_failing_request_faults_the_whole_batch_and_leaves_nothing_stored() {
    let s = server();
    let pw = username_text("demo", DEMO_PASSWORD);
    // The third request asks for a token type this instance does not issue: the first two
    // were issued (and stored) before it failed, and are withdrawn.
    let body = collection(
        SOAP12,
        &pw,
        &[
            rst("a", SAML2, "urn:rp:a"),
            rst("b", SAML1, "urn:rp:b"),
            rst("c", "urn:ietf:params:oauth:token-type:jwt", "urn:rp:c"),
        ],
    );
    let r = post(&s, SOAP12, &body);
    assert_eq!(r.status, 500, "{}", r.body);
    assert!(
        r.body
            .contains("<soap:Subcode><soap:Value>wst:BadRequest</soap:Value>"),
        "{}",
        r.body
    );
    assert!(
        !r.body.contains("RequestSecurityTokenResponse"),
        "{}",
        r.body
    );
    assert_eq!(stored(&s), 0);

    // A malformed request anywhere is an InvalidRequest before anything is issued.
    let bad = rst("b", SAML2, "urn:rp:b").replace("<wst:TokenType>", "<wst:Bogus/><wst:TokenType>");
    let r = post(
        &s,
        SOAP11,
        &collection(SOAP11, &pw, &[rst("a", SAML2, "urn:rp:a"), bad]),
    );
    assert_eq!(r.status, 500);
    assert!(
        r.body.contains("<faultcode>wst:InvalidRequest</faultcode>"),
        "{}",
        r.body
    );
    assert!(r.body.contains("request 2"), "{}", r.body);

    // Every request carries the batch RequestType; a plain Issue among them is refused.
    let plain = rst("b", SAML2, "urn:rp:b").replace(BATCH_ISSUE, &format!("{WST}/Issue"));
    let r = post(
        &s,
        SOAP11,
        &collection(SOAP11, &pw, &[rst("a", SAML2, "urn:rp:a"), plain]),
    );
    assert!(r.body.contains("wst:InvalidRequest"), "{}", r.body);
    // ...and a batch RequestType outside a collection too.
    let lone = envelope(
        SOAP11,
        &pw,
        &format!("<wst:RequestType>{BATCH_ISSUE}</wst:RequestType>"),
    );
    let r = post(&s, SOAP11, &lone.replace(ISSUE_ACTION, BATCH_ISSUE));
    assert!(r.body.contains("wst:InvalidRequest"), "{}", r.body);
    // A wrong password fails the batch as a whole.
    let wrong = username_text("demo", "not-the-password");
    let r = post(
        &s,
        SOAP11,
        &collection(
            SOAP11,
            &wrong,
            &[rst("a", SAML2, "u:a"), rst("b", SAML2, "u:b")],
        ),
    );
    assert!(r.body.contains("wst:FailedAuthentication"), "{}", r.body);
    assert_eq!(stored(&s), 0);
}

#[test]
fn batches_are_bounded() {
    let s = server();
    let pw = username_text("demo", DEMO_PASSWORD);
    let many: Vec<String> = (0..17)
        .map(|i| rst(&i.to_string(), SAML2, "urn:rp"))
        .collect();
    let r = post(&s, SOAP11, &collection(SOAP11, &pw, &many));
    assert_eq!(r.status, 500);
    assert!(r.body.contains("wst:InvalidRequest"), "{}", r.body);
    assert!(r.body.contains("at most 16"), "{}", r.body);
    assert_eq!(stored(&s), 0);
    let r = post(&s, SOAP11, &collection(SOAP11, &pw, &many[..16]));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(rstrs(&r.body).len(), 16);
    // One request is not a collection.
    let r = post(&s, SOAP11, &collection(SOAP11, &pw, &many[..1]));
    assert!(r.body.contains("wst:InvalidRequest"), "{}", r.body);
    // BatchValidate is served (see batch_tokens.rs): unknown tokens are invalid, not a fault.
    let validate = format!("{WST}/BatchValidate");
    let v = |c: &str| {
        format!(
            "<wst:RequestSecurityToken Context=\"{c}\"><wst:RequestType>{validate}</wst:RequestType><wst:ValidateTarget>{}</wst:ValidateTarget></wst:RequestSecurityToken>",
            saml_str("_x")
        )
    };
    let body = collection(SOAP11, &pw, &[v("1"), v("2")]).replace(BATCH_ISSUE, &validate);
    let r = s.post(
        PATH,
        &[("Content-Type", "text/xml"), ("SOAPAction", &validate)],
        body,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body.matches("/status/invalid</wst:Code>").count(),
        2,
        "{}",
        r.body
    );
}

/// python zeep: batches through the instance WSDL's `RequestCollection` operation on both
/// ports (see `tests/peers/zeep_batch.py`): Issue with one RSTR per RST in order, the tokens
/// verified by xmlsec1 (and signxml for SAML 1.1); Validate, Renew and Cancel of them; a
/// batch with a failing RST and one mixing RequestTypes answered by one fault each.
#[test]
fn python_zeep_sends_a_batch() {
    let s = server();
    let out = tempfile::tempdir().unwrap();
    let (ok, log) = run(std::process::Command::new("python3")
        .arg(peers_dir().join("zeep_batch.py"))
        .arg(format!("{}?wsdl", s.url(PATH)))
        .args(["demo", DEMO_PASSWORD])
        .arg(out.path()));
    assert!(ok, "zeep: {log}");
    let cert = s.cert("sts-signing");
    let mut names: Vec<String> = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "STS_Port-0-saml2.xml",
            "STS_Port-1-saml1.xml",
            "STS_Port-2-saml2.xml",
            "STS_Port-renewed-0-saml2.xml",
            "STS_Port-renewed-1-saml1.xml",
            "STS_Port_Soap12-0-saml2.xml",
            "STS_Port_Soap12-1-saml1.xml",
            "STS_Port_Soap12-2-saml2.xml",
            "STS_Port_Soap12-renewed-0-saml2.xml",
            "STS_Port_Soap12-renewed-1-saml1.xml"
        ],
        "{log}"
    );
    for name in &names {
        let text = std::fs::read_to_string(out.path().join(name)).unwrap();
        let (ok, out) = if name.ends_with("saml1.xml") {
            let (ok, out) = signxml_verify_saml1(&text, &cert);
            assert!(ok, "signxml {name}: {out}");
            xmlsec1_verify_saml1(&text, &cert)
        } else {
            xmlsec1_verify(&text, &cert)
        };
        assert!(ok, "xmlsec1 {name}: {out}\n{text}");
    }
    // Of each port's batch: the three issued were renewed (two) or cancelled (the third),
    // and the first renewal cancelled; the second renewal stays. Nothing of the refused
    // batches was stored.
    let renewed: Vec<String> = names
        .iter()
        .filter(|n| n.ends_with("-renewed-1-saml1.xml"))
        .map(|n| {
            let text = std::fs::read_to_string(out.path().join(n)).unwrap();
            text.split("AssertionID=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap()
                .to_owned()
        })
        .collect();
    let mut kept: Vec<String> = s
        .store()
        .query_tokens(&sts::store::Filter::True, 100, None)
        .unwrap()
        .items
        .into_iter()
        .map(|r| r.token_id)
        .collect();
    kept.sort();
    let mut want = renewed;
    want.sort();
    assert_eq!(kept, want, "{log}");
}
