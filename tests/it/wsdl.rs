//! The WSDL each instance serves, and the schemas it imports.

use crate::common::*;

#[test]
fn wsdl_names_the_instance_address_policy_and_resolvable_schemas() {
    let s = start();
    let r = s.get(&format!("/sts/{INSTANCE}?wsdl"));
    assert_eq!(r.status, 200);
    assert!(r.content_type.starts_with("text/xml"));
    let doc = r.doc();
    assert!(doc.is("http://schemas.xmlsoap.org/wsdl/", "definitions"));
    let endpoint = s.instance_url();
    assert!(
        r.body
            .contains(&format!("<soap:address location=\"{endpoint}\"/>")),
        "{}",
        r.body
    );
    assert!(
        r.body
            .contains(&format!("<soap12:address location=\"{endpoint}\"/>"))
    );
    for op in ["Issue", "Validate", "Cancel"] {
        assert!(
            r.body.contains(&format!("<wsdl:operation name=\"{op}\">")),
            "{op}"
        );
        assert!(r.body.contains(&format!(
            "http://docs.oasis-open.org/ws-sx/ws-trust/200512/RST/{op}"
        )));
    }
    assert!(r.body.contains("wsu:Id=\"STS_Security_Policy\""));
    assert!(
        r.body.contains("<sp:UsernameToken"),
        "the policy states the UsernameToken"
    );
    assert!(!r.body.contains("{{"), "placeholder left in WSDL");
    // Every schemaLocation, and every schema's own imports, resolve on this server.
    let mut pending: Vec<String> = locations(&r.body);
    assert!(pending.len() >= 5, "{pending:?}");
    let mut seen = std::collections::HashSet::new();
    while let Some(loc) = pending.pop() {
        if !seen.insert(loc.clone()) {
            continue;
        }
        assert!(loc.starts_with(&s.base), "{loc} is not served here");
        let x = s.get(&loc[s.base.len()..]);
        assert_eq!(x.status, 200, "{loc}");
        x.doc();
        let base = &loc[..loc.rfind('/').unwrap() + 1];
        pending.extend(locations(&x.body).into_iter().map(|l| {
            if l.starts_with("http") {
                l
            } else {
                format!("{base}{l}")
            }
        }));
    }
    assert_eq!(s.get("/xsd/nope.xsd").status, 404);
    assert_eq!(s.get("/sts/nope?wsdl").status, 404);
}

fn locations(xml: &str) -> Vec<String> {
    xml.split("schemaLocation=\"")
        .skip(1)
        .map(|rest| rest[..rest.find('"').unwrap()].to_owned())
        .collect()
}

#[test]
fn public_base_url_goes_into_the_wsdl() {
    let dir = tempfile::tempdir().unwrap();
    sts::datadir::bootstrap(dir.path(), Some("x".into()), Some("y".into()), wall_clock()).unwrap();
    let cfg = sts::config::Config {
        data_dir: dir.path().to_owned(),
        public_base_url: Some("https://sts.example.com/".into()),
        ..Default::default()
    };
    let state = sts::build_state(&cfg, std::sync::Arc::new(sts::clock::SystemClock)).unwrap();
    let inst = state.soap_instance(INSTANCE).unwrap();
    let w = sts::frontends::soap_sts::wsdl::wsdl(
        &inst,
        &format!("{}/sts/{INSTANCE}", state.base_url),
        &state.base_url,
    );
    assert!(w.contains("location=\"https://sts.example.com/sts/soap-username-transformer\""));
    assert!(w.contains("schemaLocation=\"https://sts.example.com/xsd/ws-trust-1.3.xsd\""));
    assert!(
        w.contains("<sp:HttpsToken>"),
        "https endpoints state a transport binding"
    );
}

const WSP: &str = "http://www.w3.org/ns/ws-policy";
const SP: &str = "http://docs.oasis-open.org/ws-sx/ws-securitypolicy/200702";
const OPENAM_SP: &str = "http://schemas.forgerock.org/ws/securitypolicy";
const WSDL: &str = "http://schemas.xmlsoap.org/wsdl/";

fn descendants<'a>(e: &'a sts::xml::Element, out: &mut Vec<&'a sts::xml::Element>) {
    for c in e.elements() {
        out.push(c);
        descendants(c, out);
    }
}

/// WS-SecurityPolicy 1.2 token assertions have exactly one nested `wsp:Policy` (empty when
/// the token has no further properties); CXF-based clients (OpenAM's among them) refuse the
/// policy otherwise. Token assertions in supporting tokens also say when they are included.
#[test]
fn policy_token_assertions_have_nested_policies() {
    let mut am = sts::datadir::demo_instance();
    am["deployment-config"]["deployment-url-element"] = "soap-am".into();
    am["security-policy-validated-token-config"] = serde_json::json!([
        {"validatedTokenType": "USERNAME", "invalidateInterimOpenAMSession": true},
        {"validatedTokenType": "OPENAM", "invalidateInterimOpenAMSession": false},
        {"validatedTokenType": "SAML2", "invalidateInterimOpenAMSession": true}
    ]);
    am["saml2-trusted-issuers"] = serde_json::json!([{
        "issuer": "https://idp.example.com/saml", "certificate": "sts-signing", "audience": ["urn:sts"]
    }]);
    let s = start_with(Opts {
        instances: vec![("soap-am.json".into(), am)],
        public_base_url: Some("https://sts.example.com".into()),
        ..Default::default()
    });
    let r = s.get("/sts/soap-am?wsdl");
    assert_eq!(r.status, 200);
    let doc = r.doc();
    let mut all = Vec::new();
    descendants(&doc, &mut all);
    let nested = |e: &sts::xml::Element| {
        let kids: Vec<_> = e.elements().collect();
        assert_eq!(
            kids.len(),
            1,
            "{} has {} children: {}",
            e.local,
            kids.len(),
            r.body
        );
        assert!(kids[0].is(WSP, "Policy"), "{}: {}", e.local, r.body);
    };
    let https: Vec<_> = all.iter().filter(|e| e.is(SP, "HttpsToken")).collect();
    let openam: Vec<_> = all
        .iter()
        .filter(|e| e.is(OPENAM_SP, "OpenAMSessionToken"))
        .collect();
    let username: Vec<_> = all.iter().filter(|e| e.is(SP, "UsernameToken")).collect();
    // SAML 2.0 assertions are read from the Security header: a SamlToken supporting token.
    let saml: Vec<_> = all.iter().filter(|e| e.is(SP, "SamlToken")).collect();
    assert_eq!(saml.len(), 1, "{}", r.body);
    assert!(
        saml[0]
            .elements()
            .next()
            .unwrap()
            .child(&[SP], "WssSamlV20Token11")
            .is_some()
    );
    assert_eq!(https.len(), 3, "one transport binding per alternative");
    assert_eq!(openam.len(), 1, "{}", r.body);
    assert_eq!(username.len(), 1, "{}", r.body);
    for e in https.iter().chain(&openam).chain(&username).chain(&saml) {
        nested(e);
    }
    for e in openam.iter().chain(&username).chain(&saml) {
        assert_eq!(
            e.attr(Some(SP), "IncludeToken"),
            Some(
                "http://docs.oasis-open.org/ws-sx/ws-securitypolicy/200702/IncludeToken/AlwaysToRecipient"
            ),
            "{}",
            e.local
        );
    }
    // Every assertion with a nested policy in WS-SP 1.2 that the policy uses has one.
    for e in &all {
        if e.ns.as_deref() == Some(SP)
            && [
                "TransportBinding",
                "TransportToken",
                "AlgorithmSuite",
                "Layout",
                "SupportingTokens",
                "Wss11",
                "Trust13",
            ]
            .contains(&e.local.as_str())
        {
            nested(e);
        }
    }
}

/// A code generator that maps every schema to one package (wsdl2java -p, xjc with one
/// package) aborts on two global types or groups of the same name.
#[test]
fn served_schemas_share_no_type_names() {
    let s = start();
    let mut seen: std::collections::HashMap<String, String> = Default::default();
    let mut files = 0;
    for (name, _) in sts::frontends::soap_sts::wsdl::XSD_FILES {
        let r = s.get(&format!("/xsd/{name}"));
        assert_eq!(r.status, 200, "{name}");
        files += 1;
        let doc = r.doc();
        assert!(
            doc.is("http://www.w3.org/2001/XMLSchema", "schema"),
            "{name}"
        );
        for e in doc.elements() {
            if !["complexType", "simpleType", "group", "attributeGroup"].contains(&e.local.as_str())
            {
                continue;
            }
            let t = e.attr(None, "name").unwrap().to_owned();
            if let Some(other) = seen.insert(t.clone(), name.to_string()) {
                panic!("type {t} is defined in both {other} and {name}");
            }
        }
    }
    assert_eq!(files, 6);
}

/// Only the operations the STS serves are advertised: Renew for an instance that issues
/// signed assertions (the demo's), none for one that cannot renew, whose Renew faults; the
/// batch operation `RequestCollection` (OASIS ws-trust-1.4.wsdl's) for every instance, since
/// every one serves BatchIssue, BatchValidate and BatchCancel.
#[test]
fn wsdl_advertises_only_served_operations() {
    let mut unsigned = persisting_instance("soap-unsigned", false);
    unsigned["saml2-config"]["saml2-sign-assertion"] = "false".into();
    let s = start_with(Opts {
        instances: vec![("soap-unsigned.json".into(), unsigned)],
        ..Default::default()
    });
    let ops_of = |path: &str| {
        let r = s.get(&format!("{path}?wsdl"));
        assert_eq!(r.status, 200);
        let doc = r.doc();
        let mut ops = Vec::new();
        for section in doc.elements() {
            if section.is(WSDL, "portType") || section.is(WSDL, "binding") {
                let names: Vec<String> = section
                    .children_named(&[WSDL], "operation")
                    .map(|o| o.attr(None, "name").unwrap().to_owned())
                    .collect();
                ops.push((section.local.clone(), names));
            }
        }
        assert_eq!(ops.len(), 3, "one portType, two bindings");
        (ops, r.body)
    };
    let (ops, body) = ops_of(&format!("/sts/{INSTANCE}"));
    for (section, names) in &ops {
        assert_eq!(
            names,
            &["Issue", "Validate", "Cancel", "RequestCollection", "Renew"],
            "{section}"
        );
    }
    // As OASIS declares it: the collection messages, no action of its own (one operation for
    // the four batch RequestTypes), an empty soapAction in both bindings.
    for part in [
        "<wsdl:message name=\"RequestSecurityTokenCollectionMsg\">\n    <wsdl:part name=\"requestCollection\" element=\"wst:RequestSecurityTokenCollection\"/>",
        "<wsdl:operation name=\"RequestCollection\">\n      <wsdl:input message=\"tns:RequestSecurityTokenCollectionMsg\"/>\n      <wsdl:output message=\"tns:RequestSecurityTokenResponseCollectionMsg\"/>",
        "<wsdl:operation name=\"RequestCollection\">\n      <soap:operation soapAction=\"\" style=\"document\"/>",
        "<wsdl:operation name=\"RequestCollection\">\n      <soap12:operation soapAction=\"\" soapActionRequired=\"false\" style=\"document\"/>",
    ] {
        assert!(body.contains(part), "{part}: {body}");
    }
    for action in [
        "wsam:Action=\"http://docs.oasis-open.org/ws-sx/ws-trust/200512/RST/Renew\"",
        "wsam:Action=\"http://docs.oasis-open.org/ws-sx/ws-trust/200512/RSTR/RenewFinal\"",
        "<soap:operation soapAction=\"http://docs.oasis-open.org/ws-sx/ws-trust/200512/RST/Renew\"",
        "<soap12:operation soapAction=\"http://docs.oasis-open.org/ws-sx/ws-trust/200512/RST/Renew\"",
    ] {
        assert!(body.contains(action), "{action}: {body}");
    }
    let (ops, body) = ops_of("/sts/soap-unsigned");
    for (section, names) in &ops {
        assert_eq!(
            names,
            &["Issue", "Validate", "Cancel", "RequestCollection"],
            "{section}"
        );
    }
    assert!(!body.contains("Renew"), "{body}");
    let issued = issue(&s, "/sts/soap-unsigned", ("demo", DEMO_PASSWORD)).assertion_text();
    let renew = s.post(
        "/sts/soap-unsigned",
        &[
            ("Content-Type", "text/xml"),
            (
                "SOAPAction",
                "http://docs.oasis-open.org/ws-sx/ws-trust/200512/RST/Renew",
            ),
        ],
        target_envelope("Renew", &username_text("demo", DEMO_PASSWORD), &issued),
    );
    assert_eq!(renew.status, 500);
    assert_eq!(renew.fault_code(), "wst:BadRequest", "{}", renew.body);
    assert!(renew.body.contains("unsigned"), "{}", renew.body);
}

/// The policy names every input token type the instance accepts: id_tokens as an
/// `sp:IssuedToken` of the JWT type, X.509 as an endorsing `sp:X509Token` and, over https, a
/// transport binding requiring a client certificate.
#[test]
fn policy_lists_every_input_token_type() {
    let work = tempfile::tempdir().unwrap();
    let (_op_pem, jwk) = openid_provider(work.path());
    let pki = Pki::new("Test Client CA");
    let mut all = sts::datadir::demo_instance();
    all["deployment-config"]["deployment-url-element"] = "soap-all".into();
    all["security-policy-validated-token-config"] = serde_json::json!([
        {"validatedTokenType": "USERNAME", "invalidateInterimOpenAMSession": true},
        {"validatedTokenType": "OPENAM", "invalidateInterimOpenAMSession": false},
        {"validatedTokenType": "OPENIDCONNECT", "invalidateInterimOpenAMSession": true},
        {"validatedTokenType": "X509", "invalidateInterimOpenAMSession": true}
    ]);
    all["oidc-trusted-issuers"] = serde_json::json!([{
        "issuer": "https://op.example.com", "audience": ["sts"], "algorithms": ["RS256"],
        "jwks": {"keys": [jwk]}
    }]);
    all["x509-trust-anchors"] = serde_json::json!(["client-ca"]);
    let mut x509 = all.clone();
    x509["deployment-config"]["deployment-url-element"] = "soap-x509only".into();
    x509["security-policy-validated-token-config"] = serde_json::json!([
        {"validatedTokenType": "X509", "invalidateInterimOpenAMSession": true}
    ]);
    for https in [false, true] {
        let s = start_with(Opts {
            files: vec![("keys/client-ca.crt.pem".into(), pki.ca_pem())],
            instances: vec![
                ("soap-all.json".into(), all.clone()),
                ("soap-x509only.json".into(), x509.clone()),
            ],
            public_base_url: https.then(|| "https://sts.example.com".to_owned()),
            ..Default::default()
        });
        let r = s.get("/sts/soap-all?wsdl");
        assert_eq!(r.status, 200);
        let doc = r.doc();
        let mut els = Vec::new();
        descendants(&doc, &mut els);
        let count = |ns: &str, local: &str| els.iter().filter(|e| e.is(ns, local)).count();
        let alternatives = count(WSP, "All");
        // USERNAME, OPENAM, OPENIDCONNECT, X509 (and X509 over TLS when https).
        assert_eq!(alternatives, if https { 5 } else { 4 }, "{}", r.body);
        assert_eq!(count(SP, "UsernameToken"), 1);
        assert_eq!(count(OPENAM_SP, "OpenAMSessionToken"), 1);
        let issued: Vec<_> = els.iter().filter(|e| e.is(SP, "IssuedToken")).collect();
        assert_eq!(issued.len(), 1, "{}", r.body);
        let template = issued[0]
            .child(&[SP], "RequestSecurityTokenTemplate")
            .unwrap();
        assert_eq!(
            template.child(&[WST], "TokenType").unwrap().text(),
            "urn:ietf:params:oauth:token-type:jwt"
        );
        assert!(issued[0].child(&[WSP], "Policy").is_some());
        let endorsing: Vec<_> = els
            .iter()
            .filter(|e| e.is(SP, "EndorsingSupportingTokens"))
            .collect();
        assert_eq!(endorsing.len(), 1, "{}", r.body);
        let x = endorsing[0]
            .child(&[WSP], "Policy")
            .and_then(|p| p.child(&[SP], "X509Token"))
            .unwrap();
        assert!(
            x.child(&[WSP], "Policy")
                .and_then(|p| p.child(&[SP], "WssX509V3Token10"))
                .is_some()
        );
        assert_eq!(
            count(SP, "RequireClientCertificate"),
            usize::from(https),
            "{}",
            r.body
        );
        assert_eq!(count(SP, "SamlToken"), 0, "SAML2 is not accepted here");
        // Only X.509: no UsernameToken alternative left over.
        let r = s.get("/sts/soap-x509only?wsdl");
        let body = r.body.clone();
        assert!(
            !body.contains("UsernameToken") && body.contains("sp:X509Token"),
            "{body}"
        );
    }
}
