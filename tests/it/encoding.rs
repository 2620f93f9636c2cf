//! Character and content encodings of request bodies: UTF-16 SOAP (XML 1.0 requires every
//! processor to read it) is transcoded; a `Content-Encoding` other than identity is refused
//! with 415 on every route rather than parsed as if it were plain.

use serde_json::json;

use crate::common::*;

fn utf16(text: &str, big_endian: bool, bom: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let units = std::iter::once(0xFEFF)
        .filter(|_| bom)
        .chain(text.encode_utf16());
    for u in units {
        out.extend_from_slice(&if big_endian {
            u.to_be_bytes()
        } else {
            u.to_le_bytes()
        });
    }
    out
}

fn issue_doc(soap_ns: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-16\"?>\n{}",
        envelope(soap_ns, &username_text("demo", DEMO_PASSWORD), RST_ISSUE)
    )
}

#[test]
fn utf16_soap_requests_get_tokens() {
    let s = start();
    let path = format!("/sts/{INSTANCE}");
    let soap11 = |ct: &str, body: Vec<u8>| {
        s.post(
            &path,
            &[("Content-Type", ct), ("SOAPAction", ISSUE_ACTION)],
            body,
        )
    };
    let cases: [(&str, &str, Vec<u8>); 5] = [
        // A byte order mark says it all, whatever the Content-Type says.
        (
            "LE with BOM",
            "text/xml; charset=utf-16",
            utf16(&issue_doc(SOAP11), false, true),
        ),
        (
            "BE with BOM",
            "text/xml",
            utf16(&issue_doc(SOAP11), true, true),
        ),
        (
            "BE with BOM, charset utf-8",
            "text/xml; charset=utf-8",
            utf16(&issue_doc(SOAP11), true, true),
        ),
        // Without a BOM, the charset names the byte order...
        (
            "LE charset",
            "text/xml; charset=\"UTF-16LE\"",
            utf16(&issue_doc(SOAP11), false, false),
        ),
        // ...or `utf-16` and the first character (`<`) shows it.
        (
            "utf-16 charset, no BOM",
            "text/xml; charset=utf-16",
            utf16(&issue_doc(SOAP11), false, false),
        ),
    ];
    for (what, ct, body) in cases {
        let r = soap11(ct, body);
        assert_eq!(r.status, 200, "{what}: {}", r.body);
        assert!(r.content_type.contains("utf-8"), "{what}");
        assert!(r.assertion_text().contains("demo"), "{what}");
    }
    // SOAP 1.2, big-endian with BOM; a signed assertion comes back and verifies.
    let r = s.post(
        &path,
        &[(
            "Content-Type",
            &format!("application/soap+xml; charset=utf-16; action=\"{ISSUE_ACTION}\""),
        )],
        utf16(&issue_doc(SOAP12), true, true),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let (ok, out) = xmlsec1_verify(&r.assertion_text(), &s.cert("sts-signing"));
    assert!(ok, "xmlsec1: {out}");
    // Broken UTF-16 is refused as such.
    let mut odd = utf16(&issue_doc(SOAP11), false, true);
    odd.pop();
    let r = soap11("text/xml", odd);
    assert_eq!(r.fault_code(), "wst:InvalidRequest");
    assert!(r.body.contains("UTF-16"), "{}", r.body);
    let mut lone = utf16(&issue_doc(SOAP11), false, true);
    let at = lone.len() - 40;
    lone[at..at + 2].copy_from_slice(&0xD800u16.to_le_bytes());
    let r = soap11("text/xml", lone);
    assert_eq!(r.fault_code(), "wst:InvalidRequest");
    assert!(r.body.contains("UTF-16"), "{}", r.body);
}

#[test]
fn decoded_utf16_is_bounded_by_max_body_bytes() {
    let max = 64 * 1024;
    let s = start_with(Opts {
        max_body_bytes: Some(max),
        ..Default::default()
    });
    // U+4E00 is 2 bytes in UTF-16 and 3 in UTF-8: 60 KiB on the wire, about 90 KiB decoded.
    let pad = format!("<!-- {} -->", "\u{4e00}".repeat(30 * 1024 - 16));
    let doc = issue_doc(SOAP11).replace("<s:Body>", &format!("<s:Body>{pad}"));
    let body = utf16(&doc, false, true);
    assert!(body.len() <= max && doc.len() > max, "{}", body.len());
    let r = s.post(
        &format!("/sts/{INSTANCE}"),
        &[("Content-Type", "text/xml"), ("SOAPAction", ISSUE_ACTION)],
        body,
    );
    assert_eq!(r.status, 413, "{}", r.body);
    assert_eq!(r.fault_code(), "wst:InvalidRequest");
    assert!(r.body.contains("65536 bytes"), "{}", r.body);
}

#[test]
fn content_encodings_are_refused_with_415() {
    let s = start();
    // SOAP: a body labelled gzip is not read as XML, even when it happens to be plain XML.
    let body = envelope(SOAP11, &username_text("demo", DEMO_PASSWORD), RST_ISSUE);
    let soap = |encoding: &str| {
        s.post(
            &format!("/sts/{INSTANCE}"),
            &[
                ("Content-Type", "text/xml; charset=utf-8"),
                ("SOAPAction", ISSUE_ACTION),
                ("Content-Encoding", encoding),
            ],
            body.clone(),
        )
    };
    for enc in ["gzip", "deflate", "br", "identity, gzip"] {
        let r = soap(enc);
        assert_eq!(r.status, 415, "{enc}: {}", r.body);
        assert_eq!(r.fault_code(), "wst:InvalidRequest");
        assert!(r.body.contains("Content-Encoding"), "{}", r.body);
        assert_eq!(r.header("accept-encoding"), Some("identity"));
    }
    assert_eq!(soap("identity").status, 200);
    // SOAP 1.2: the fault is in SOAP 1.2.
    let r = s.post(
        &format!("/sts/{INSTANCE}"),
        &[
            ("Content-Type", "application/soap+xml"),
            ("Content-Encoding", "gzip"),
        ],
        envelope(SOAP12, &username_text("demo", DEMO_PASSWORD), RST_ISSUE),
    );
    assert_eq!(r.status, 415);
    assert!(r.content_type.starts_with("application/soap+xml"));
    assert_eq!(r.fault_code(), "wst:InvalidRequest");

    // JSON: the same for every JSON route, before anything else is looked at.
    let login = |encoding: Option<&str>| {
        let mut h = vec![
            ("X-OpenAM-Username", "demo"),
            ("X-OpenAM-Password", DEMO_PASSWORD),
            ("Content-Type", "application/json"),
        ];
        if let Some(e) = encoding {
            h.push(("Content-Encoding", e));
        }
        s.post("/json/authenticate", &h, "{}")
    };
    let r = login(Some("gzip"));
    assert_eq!(r.status, 415, "{}", r.body);
    assert_eq!(r.json()["code"], 415);
    assert!(r.json()["message"].as_str().unwrap().contains("gzip"));
    assert_eq!(login(Some("identity")).status, 200);
    let admin = s.login("amadmin", ADMIN_PASSWORD);
    assert_eq!(
        publish(&s, &admin, "rest", &rest_instance("rest-enc", false)).status,
        201
    );
    let translate = username_to(json!({"token_type": "SAML2", "subject_confirmation": "BEARER"}));
    for (path, body) in [
        (
            "/rest-sts/rest-enc?_action=translate",
            translate.to_string(),
        ),
        ("/sts-publish/rest?_action=create", "{}".to_owned()),
        ("/sts-tokengen/?_action=issue", "{}".to_owned()),
        ("/sts-clients/", "{}".to_owned()),
        ("/oauth2/introspect", "token=x".to_owned()),
        ("/json/sessions?_action=validate", "{}".to_owned()),
    ] {
        let r = s.post(
            path,
            &[
                ("iPlanetDirectoryPro", &admin),
                ("Content-Type", "application/json"),
                ("Content-Encoding", "gzip"),
            ],
            body,
        );
        assert_eq!(r.status, 415, "{path}: {}", r.body);
        assert_eq!(r.json()["code"], 415, "{path}");
        assert_eq!(r.header("accept-encoding"), Some("identity"), "{path}");
    }
    // The translation itself works when sent plain.
    let r = s.post(
        "/rest-sts/rest-enc?_action=translate",
        &[
            ("iPlanetDirectoryPro", &admin),
            ("Content-Type", "application/json"),
        ],
        translate.to_string(),
    );
    assert_eq!(r.status, 200, "{}", r.body);
}
