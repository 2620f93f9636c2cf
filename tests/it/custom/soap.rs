//! Custom token types over SOAP: Issue, Validate and Cancel, and the token type URI they need.

use std::time::SystemTime;

use serde_json::json;

use super::*;

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
