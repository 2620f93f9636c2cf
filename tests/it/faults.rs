//! Hostile and bad input: every case gets a specific fault (or HTTP error), never a panic.

use crate::common::*;

fn issue_body(soap: &str) -> String {
    envelope(soap, &username_text("demo", DEMO_PASSWORD), RST_ISSUE)
}

#[test]
fn authentication_failures() {
    let s = start();
    let wrong = s.post_soap11(&envelope(SOAP11, &username_text("demo", "nope"), RST_ISSUE));
    assert_eq!(wrong.status, 500);
    assert_eq!(wrong.fault_code(), "wst:FailedAuthentication");
    let unknown = s.post_soap11(&envelope(SOAP11, &username_text("mallory", "x"), RST_ISSUE));
    assert_eq!(unknown.fault_code(), "wst:FailedAuthentication");
    // The same reason for unknown users and wrong passwords.
    assert_eq!(
        wrong.body.split("<faultstring>").nth(1),
        unknown.body.split("<faultstring>").nth(1)
    );
    let none = s.post_soap11(&envelope(SOAP11, "", RST_ISSUE));
    assert_eq!(none.fault_code(), "wst:FailedAuthentication");
    let bad_digest = s.post_soap11(&envelope(
        SOAP11,
        &username_digest("alice", "nope"),
        RST_ISSUE,
    ));
    assert_eq!(bad_digest.fault_code(), "wst:FailedAuthentication");
    // The demo user has no digest secret: a correct digest of its password still fails.
    let no_secret = s.post_soap11(&envelope(
        SOAP11,
        &username_digest("demo", DEMO_PASSWORD),
        RST_ISSUE,
    ));
    assert_eq!(no_secret.fault_code(), "wst:FailedAuthentication");
    // SOAP 1.2: Code/Value Sender with the wst: QName as Subcode.
    let f12 = s.post_soap12(&envelope(SOAP12, &username_text("demo", "nope"), RST_ISSUE));
    assert_eq!(f12.status, 500);
    assert!(f12.content_type.starts_with("application/soap+xml"));
    assert!(
        f12.body.contains("<soap:Value>soap:Sender</soap:Value>"),
        "{}",
        f12.body
    );
    assert_eq!(f12.fault_code(), "wst:FailedAuthentication");
    // Secrets never appear in faults.
    assert!(!wrong.body.contains("nope") && !f12.body.contains("nope"));
}

#[test]
fn stale_and_future_timestamps_and_usernametokens() {
    let s = start();
    let ts = |created: &str, expires: &str| {
        format!(
            "<wsu:Timestamp><wsu:Created>{created}</wsu:Created><wsu:Expires>{expires}</wsu:Expires></wsu:Timestamp>{}",
            username_text("demo", DEMO_PASSWORD)
        )
    };
    let expired = s.post_soap11(&envelope(
        SOAP11,
        &ts("2020-01-01T00:00:00Z", "2020-01-01T00:05:00Z"),
        RST_ISSUE,
    ));
    assert_eq!(expired.fault_code(), "wst:ExpiredData");
    let future = s.post_soap11(&envelope(
        SOAP11,
        &ts("2099-01-01T00:00:00Z", "2099-01-01T00:05:00Z"),
        RST_ISSUE,
    ));
    assert_eq!(future.fault_code(), "wst:ExpiredData");
    let now = wall_clock();
    let fresh = s.post_soap11(&envelope(
        SOAP11,
        &ts(
            &now.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
            &(now + chrono::Duration::minutes(5))
                .format("%Y-%m-%dT%H:%M:%S+00:00")
                .to_string(),
        ),
        RST_ISSUE,
    ));
    assert_eq!(fresh.status, 200, "{}", fresh.body);
    let old = username_digest_with(
        "alice",
        "s3cret",
        b"0123456789abcdef",
        "2020-01-01T00:00:00Z",
    );
    assert_eq!(
        s.post_soap11(&envelope(SOAP11, &old, RST_ISSUE))
            .fault_code(),
        "wst:ExpiredData"
    );
    let no_nonce = "<wsse:UsernameToken><wsse:Username>demo</wsse:Username><wsse:Password Type=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest\">x</wsse:Password></wsse:UsernameToken>";
    assert_eq!(
        s.post_soap11(&envelope(SOAP11, no_nonce, RST_ISSUE))
            .fault_code(),
        "wst:InvalidRequest"
    );
}

#[test]
fn unsupported_token_and_key_types_are_bad_requests() {
    let s = start();
    let r = s.post_soap11(&envelope(
        SOAP11,
        &username_text("demo", DEMO_PASSWORD),
        &format!("{RST_ISSUE}<wst:TokenType>http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.1#SAMLV1.1</wst:TokenType>"),
    ));
    // SAML 1.1 is a known type, but this instance is not configured to issue it.
    assert_eq!(r.fault_code(), "wst:BadRequest");
    assert!(r.body.contains("does not issue SAML1 tokens"), "{}", r.body);
    // A type nobody issues is named back to the client.
    let r = s.post_soap11(&envelope(
        SOAP11,
        &username_text("demo", DEMO_PASSWORD),
        &format!("{RST_ISSUE}<wst:TokenType>urn:example:token-type:none</wst:TokenType>"),
    ));
    assert_eq!(r.fault_code(), "wst:BadRequest");
    assert!(r.body.contains("urn:example:token-type:none"), "{}", r.body);
    let r = s.post_soap11(&envelope(
        SOAP11,
        &username_text("demo", DEMO_PASSWORD),
        &format!("{RST_ISSUE}<wst:KeyType>http://docs.oasis-open.org/ws-sx/ws-trust/200512/SymmetricKey</wst:KeyType>"),
    ));
    assert_eq!(r.fault_code(), "wst:BadRequest");
    // A Renew must name its token.
    let v = s.post(
        &format!("/sts/{INSTANCE}"),
        &[("Content-Type", "text/xml"), ("SOAPAction", "http://docs.oasis-open.org/ws-sx/ws-trust/200512/RST/Renew")],
        envelope(SOAP11, &username_text("demo", DEMO_PASSWORD), "<wst:RequestType>http://docs.oasis-open.org/ws-sx/ws-trust/200512/Renew</wst:RequestType>")
            .replace("/RST/Issue<", "/RST/Renew<"),
    );
    assert_eq!(v.fault_code(), "wst:InvalidRequest", "{}", v.body);
    assert!(v.body.contains("wst:RenewTarget"), "{}", v.body);
}

#[test]
fn malformed_requests_are_invalid_requests() {
    let s = start();
    for (what, body) in [
        ("not XML", "this is not xml".to_string()),
        ("truncated", issue_body(SOAP11)[..200].to_string()),
        (
            "no RST in body",
            issue_body(SOAP11).replace("RequestSecurityToken", "Other"),
        ),
        (
            "unknown wst element",
            envelope(SOAP11, &username_text("demo", DEMO_PASSWORD), "<wst:x/>"),
        ),
        (
            "contradicting RequestType",
            envelope(
                SOAP11,
                &username_text("demo", DEMO_PASSWORD),
                "<wst:RequestType>http://docs.oasis-open.org/ws-sx/ws-trust/200512/Cancel</wst:RequestType>",
            ),
        ),
        (
            "two UsernameTokens",
            envelope(
                SOAP11,
                &format!("{0}{0}", username_text("demo", DEMO_PASSWORD)),
                RST_ISSUE,
            ),
        ),
        (
            "bad nonce",
            envelope(
                SOAP11,
                &username_digest("alice", "s3cret").replace("==</wsse:Nonce>", "=!</wsse:Nonce>"),
                RST_ISSUE,
            ),
        ),
        (
            "empty body",
            format!("<s:Envelope xmlns:s=\"{SOAP11}\"><s:Body/></s:Envelope>"),
        ),
        ("no body", format!("<s:Envelope xmlns:s=\"{SOAP11}\"/>")),
        ("undeclared prefix", "<s:Envelope/>".to_string()),
    ] {
        let r = s.post_soap11(&body);
        assert_eq!(r.status, 500, "{what}: {}", r.body);
        assert_eq!(r.fault_code(), "wst:InvalidRequest", "{what}: {}", r.body);
    }
    let latin1 = issue_body(SOAP11)
        .replace(">demo<", ">d\u{e9}mo<")
        .replace('\u{e9}', "\u{1}");
    let bytes: Vec<u8> = latin1
        .bytes()
        .map(|b| if b == 1 { 0xe9 } else { b })
        .collect();
    let r = s.post(
        &format!("/sts/{INSTANCE}"),
        &[("Content-Type", "text/xml")],
        bytes,
    );
    assert_eq!(r.fault_code(), "wst:InvalidRequest");
    assert!(r.body.contains("UTF-8"), "{}", r.body);
    // The capture where node-soap sends an RST holding only <x/> in the wst namespace.
    let body = std::fs::read(captures_dir().join("node-soap-soap12port-noforce.xml")).unwrap();
    let r = s.post(
        &format!("/sts/{INSTANCE}"),
        &[
            ("Content-Type", "text/xml; charset=utf-8"),
            ("SOAPAction", ISSUE_ACTION),
        ],
        body,
    );
    assert_eq!(r.fault_code(), "wst:InvalidRequest");
}

#[test]
fn dtds_entities_depth_and_size_are_refused() {
    let s = start_with(Opts {
        max_body_bytes: Some(64 * 1024),
        ..Default::default()
    });
    let xxe = format!(
        "<?xml version=\"1.0\"?><!DOCTYPE s:Envelope [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>{}",
        issue_body(SOAP11).replace(">demo<", ">&xxe;<")
    );
    let r = s.post_soap11(&xxe);
    assert_eq!(r.fault_code(), "wst:InvalidRequest");
    assert!(r.body.contains("DTD"), "{}", r.body);
    assert!(!r.body.contains("root:"));
    let billion = format!(
        "<!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;&lol;&lol;\">]>{}",
        issue_body(SOAP11).replace(">demo<", ">&lol2;<")
    );
    assert_eq!(s.post_soap11(&billion).fault_code(), "wst:InvalidRequest");
    let undefined_entity = issue_body(SOAP11).replace(">demo<", ">&ent;<");
    assert_eq!(
        s.post_soap11(&undefined_entity).fault_code(),
        "wst:InvalidRequest"
    );
    let deep = envelope(
        SOAP11,
        &username_text("demo", DEMO_PASSWORD),
        &format!(
            "{RST_ISSUE}<x:a xmlns:x=\"urn:x\">{}{}</x:a>",
            "<x:a>".repeat(200),
            "</x:a>".repeat(200)
        ),
    );
    let r = s.post_soap11(&deep);
    assert_eq!(r.fault_code(), "wst:InvalidRequest");
    assert!(r.body.contains("deeper than"), "{}", r.body);
    let padding = "<!-- pad -->".repeat(8 * 1024);
    let big = issue_body(SOAP11).replace("<s:Body>", &format!("<s:Body>{padding}"));
    let r = s.post_soap11(&big);
    assert_eq!(r.status, 413);
    assert_eq!(r.fault_code(), "wst:InvalidRequest");
    assert!(r.body.contains("exceeds 65536 bytes"));
    // Chunked bodies (no Content-Length) are bounded the same way.
    use std::io::{Read, Write};
    let addr = s.base.trim_start_matches("http://").to_owned();
    let mut tcp = std::net::TcpStream::connect(&addr).unwrap();
    tcp.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let mut req = format!(
        "POST /sts/{INSTANCE} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: text/xml\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    .into_bytes();
    for c in big.as_bytes().chunks(4096) {
        req.extend_from_slice(format!("{:x}\r\n", c.len()).as_bytes());
        req.extend_from_slice(c);
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(b"0\r\n\r\n");
    let _ = tcp.write_all(&req);
    let mut head = [0u8; 12];
    tcp.read_exact(&mut head).unwrap();
    assert_eq!(&head, b"HTTP/1.1 413");
    // After all that, the server still works.
    assert_eq!(s.post_soap11(&issue_body(SOAP11)).status, 200);
}

#[test]
fn transport_level_errors() {
    let s = start();
    let r = s.post(
        &format!("/sts/{INSTANCE}"),
        &[("Content-Type", "application/json")],
        issue_body(SOAP11),
    );
    assert_eq!(r.status, 415);
    assert_eq!(r.fault_code(), "wst:InvalidRequest");
    let r = s.post(
        "/sts/no-such-instance",
        &[("Content-Type", "text/xml")],
        issue_body(SOAP11),
    );
    assert_eq!(r.status, 404);
    assert_eq!(r.fault_code(), "wst:InvalidRequest");
    let r = s.post(
        &format!("/sts/{INSTANCE}"),
        &[("Content-Type", "application/soap+xml")],
        issue_body(SOAP11),
    );
    assert_eq!(r.status, 500);
    assert!(r.body.contains("soap:VersionMismatch"), "{}", r.body);
    let other = issue_body(SOAP11).replace(SOAP11, "urn:not-soap");
    let r = s.post_soap11(&other);
    assert!(
        r.body
            .contains("<faultcode>soap:VersionMismatch</faultcode>"),
        "{}",
        r.body
    );
    let mu = issue_body(SOAP12).replace(
        "<s:Header>",
        "<s:Header><z:Routing xmlns:z=\"urn:z\" s:mustUnderstand=\"true\"/>",
    );
    let r = s.post_soap12(&mu);
    assert!(
        r.body
            .contains("<soap:Value>soap:MustUnderstand</soap:Value>"),
        "{}",
        r.body
    );
    // SOAP 1.2 MustUnderstand faults name the header.
    assert!(
        r.body
            .contains("<soap:NotUnderstood xmlns:h=\"urn:z\" qname=\"h:Routing\"/>"),
        "{}",
        r.body
    );
    // mustUnderstand on the headers we do understand is fine, in every spelling.
    let ok =
        issue_body(SOAP11).replace("<wsse:Security ", "<wsse:Security s:mustUnderstand=\"1\" ");
    assert_eq!(s.post_soap11(&ok).status, 200);
    let unknown_action = s.post(
        &format!("/sts/{INSTANCE}"),
        &[("Content-Type", "text/xml"), ("SOAPAction", "urn:nope")],
        issue_body(SOAP11).replace(ISSUE_ACTION, "urn:nope"),
    );
    assert_eq!(unknown_action.fault_code(), "wst:InvalidRequest");
    assert_eq!(s.get(&format!("/sts/{INSTANCE}")).status, 405);
    assert_eq!(s.get("/nothing-here").status, 404);
}

#[test]
fn hostile_header_values_and_envelope_structure() {
    let s = start();
    // Characters XML forbids never reach a reply, even before authentication.
    let ctl = issue_body(SOAP11).replace(
        "urn:uuid:5e1f2a3b-0000-4000-8000-000000000001",
        "urn:a&#1;b",
    );
    let r = s.post_soap11(&ctl);
    assert_eq!(r.fault_code(), "wst:InvalidRequest");
    assert!(!r.body.contains('\u{1}'));
    // Context is echoed exactly, whitespace characters included.
    let ctx = envelope(SOAP11, &username_text("demo", DEMO_PASSWORD), RST_ISSUE).replace(
        "<wst:RequestSecurityToken ",
        "<wst:RequestSecurityToken Context=\"a&#9;b&#10;c&lt;\" ",
    );
    let r = s.post_soap11(&ctx);
    assert_eq!(r.status, 200, "{}", r.body);
    let doc = r.doc();
    let rstr = doc
        .elements()
        .nth(1)
        .unwrap()
        .elements()
        .next()
        .unwrap()
        .elements()
        .next()
        .unwrap();
    assert_eq!(rstr.attr(None, "Context"), Some("a\tb\nc<"));
    // Two Bodies: refused, not "the last one wins".
    let two = issue_body(SOAP11).replace("</s:Body>", "</s:Body><s:Body><x/></s:Body>");
    assert_eq!(s.post_soap11(&two).fault_code(), "wst:InvalidRequest");
    // Replies only go back on the HTTP response.
    let reply_to = issue_body(SOAP11).replace(
        "<s:Header>",
        "<s:Header><wsa:ReplyTo xmlns:wsa=\"http://www.w3.org/2005/08/addressing\"><wsa:Address>http://evil.example/</wsa:Address></wsa:ReplyTo>",
    );
    assert_eq!(
        s.post_soap11(&reply_to).fault_code(),
        "wsa:OnlyAnonymousAddressSupported"
    );
    // Delegation the instance does not allow is refused rather than silently ignored; an
    // ActAs without a token is malformed.
    let act_as = |inner: &str| {
        envelope(
            SOAP11,
            &username_text("demo", DEMO_PASSWORD),
            &format!(
                "{RST_ISSUE}<wst14:ActAs xmlns:wst14=\"http://docs.oasis-open.org/ws-sx/ws-trust/200802\" xmlns:wsse=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd\">{inner}</wst14:ActAs>"
            ),
        )
    };
    let r = s.post_soap11(&act_as(&username_text("demo", DEMO_PASSWORD)));
    assert_eq!(r.fault_code(), "wst:BadRequest");
    assert!(r.body.contains("act-as-supported"), "{}", r.body);
    assert_eq!(
        s.post_soap11(&act_as("")).fault_code(),
        "wst:InvalidRequest"
    );
    // Oversized nonces are refused before they are remembered.
    let big_nonce =
        username_digest_with("alice", "s3cret", &[7u8; 4096], &wall_clock().to_rfc3339());
    assert_eq!(
        s.post_soap11(&envelope(SOAP11, &big_nonce, RST_ISSUE))
            .fault_code(),
        "wst:InvalidRequest"
    );
    // An envelope that is not SOAP at all is the sender's fault, not a version mismatch.
    assert_eq!(s.post_soap11("<foo/>").fault_code(), "wst:InvalidRequest");
    // A SOAP 1.2 envelope sent as text/xml: VersionMismatch, answered in SOAP 1.1.
    let r = s.post_soap11(&issue_body(SOAP12));
    assert!(
        r.body
            .contains("<faultcode>soap:VersionMismatch</faultcode>"),
        "{}",
        r.body
    );
    assert!(r.body.contains(SOAP11));
}

#[test]
fn audience_allow_list_limits_applies_to() {
    let mut inst = sts::datadir::demo_instance();
    inst["deployment-config"]["deployment-url-element"] = "soap-restricted".into();
    inst["saml2-config"]["saml2-allowed-audiences"] = serde_json::json!(["urn:good:rp"]);
    let s = start_with(Opts {
        instances: vec![("soap-restricted.json".into(), inst)],
        ..Default::default()
    });
    let post = |rp: &str| {
        s.post(
            "/sts/soap-restricted",
            &[("Content-Type", "text/xml"), ("SOAPAction", ISSUE_ACTION)],
            envelope(
                SOAP11,
                &username_text("demo", DEMO_PASSWORD),
                &format!("{RST_ISSUE}{}", applies_to(rp)),
            ),
        )
    };
    assert_eq!(post("urn:good:rp").status, 200);
    assert_eq!(
        post("urn:sts:demo-sp").status,
        200,
        "saml2-sp-entity-id is always allowed"
    );
    assert_eq!(post("urn:evil:rp").fault_code(), "wst:InvalidScope");
}

/// Faults raised while the WS-Addressing headers are read carry the reply addressing of
/// every other fault: wsa:Action and wsa:RelatesTo naming the request's MessageID.
#[test]
fn addressing_faults_relate_to_the_request() {
    let s = start();
    const WSA: &str = "http://www.w3.org/2005/08/addressing";
    let check = |r: &Reply, code: &str, action: &str| {
        assert_eq!(r.fault_code(), code, "{}", r.body);
        let doc = r.doc();
        let header = doc
            .elements()
            .find(|e| e.local == "Header")
            .unwrap_or_else(|| panic!("no Header: {}", r.body));
        assert_eq!(
            header.child(&[WSA], "Action").map(|a| a.text()).as_deref(),
            Some(action),
            "{}",
            r.body
        );
        assert_eq!(
            header
                .child(&[WSA], "RelatesTo")
                .map(|a| a.text())
                .as_deref(),
            Some("urn:uuid:5e1f2a3b-0000-4000-8000-000000000001"),
            "{}",
            r.body
        );
    };
    for (soap, post) in [
        (
            SOAP11,
            TestServer::post_soap11 as fn(&TestServer, &str) -> Reply,
        ),
        (SOAP12, TestServer::post_soap12),
    ] {
        for header in ["ReplyTo", "FaultTo"] {
            let body = issue_body(soap).replace(
                "<s:Header>",
                &format!("<s:Header><wsa:{header} xmlns:wsa=\"{WSA}\"><wsa:Address>http://evil.example/</wsa:Address></wsa:{header}>"),
            );
            check(
                &post(&s, &body),
                "wsa:OnlyAnonymousAddressSupported",
                "http://www.w3.org/2005/08/addressing/fault",
            );
        }
        // Other header faults too, and the MessageID may come after the bad header.
        let conflicting = issue_body(soap).replace(
            "<s:Header>",
            &format!("<s:Header><wsa:Action xmlns:wsa=\"{WSA}\">urn:other</wsa:Action>"),
        );
        check(
            &post(&s, &conflicting),
            "wst:InvalidRequest",
            "http://www.w3.org/2005/08/addressing/soap/fault",
        );
    }
}
