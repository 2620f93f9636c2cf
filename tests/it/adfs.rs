//! AD FS compatibility: `[adfs]` maps AD FS's paths onto an instance; MSAL Python and ADAL
//! Python (the real libraries) discover the usernamemixed endpoint through WS-MetadataExchange
//! over the built-in TLS listener and get tokens they parse; MSAL's whole username/password
//! flow runs with Entra ID faked on loopback; FederationMetadata.xml verifies with xmlsec1.

use std::process::Command;

use serde_json::{Value, json};

use crate::common::*;

const SAML1: &str = "urn:oasis:names:tc:SAML:1.0:assertion";
const SAML20_PROFILE: &str =
    "http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.1#SAMLV2.0";
const AUDIENCE: &str = "urn:federation:MicrosoftOnline";
const ISSUE_2005: &str = "http://schemas.xmlsoap.org/ws/2005/02/trust/RST/Issue";
const WXF_GET: &str = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Get";
const WSX: &str = "http://schemas.xmlsoap.org/ws/2004/09/mex";
const WSDL: &str = "http://schemas.xmlsoap.org/wsdl/";

/// The instance behind `[adfs]`: SAML 1.1 only, as AD FS answers Entra ID.
fn adfs_instance() -> Value {
    let mut j = persisting_instance("soap-adfs", false);
    j["issued-token-types"] = json!(["SAML1"]);
    j
}

fn adfs_opts(instance: &'static str) -> Opts {
    Opts {
        instances: vec![
            ("soap-adfs.json".into(), adfs_instance()),
            (
                "soap-saml2.json".into(),
                persisting_instance("soap-saml2", false),
            ),
        ],
        configure: Some(Box::new(move |c: &mut sts::config::Config| {
            c.adfs = Some(sts::config::AdfsConfig {
                instance: instance.into(),
                realm: "/".into(),
            });
        })),
        ..Default::default()
    }
}

/// A server on the built-in TLS listener, with `[adfs]` mapped to `soap-adfs`; and its CA.
fn tls_server() -> (TestServer, Pki) {
    let pki = Pki::new("Test TLS CA");
    let server = pki.issue("server", "localhost", 10, (-1, 30), true);
    let s = start_with(Opts {
        tls: Some(server),
        ..adfs_opts("soap-adfs")
    });
    assert!(s.base.starts_with("https://"));
    (s, pki)
}

/// Runs the MSAL/ADAL peer; returns its JSON output, or panics with what it said.
fn peer(args: &[&str]) -> Value {
    let (ok, out) = peer_raw(args);
    assert!(ok, "msal_adfs.py {args:?}: {out}");
    let line = out
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .unwrap_or_else(|| panic!("no JSON from msal_adfs.py: {out}"));
    serde_json::from_str(line).unwrap()
}

fn peer_raw(args: &[&str]) -> (bool, String) {
    run(Command::new("python3")
        .arg(peers_dir().join("msal_adfs.py"))
        .args(args))
}

#[test]
fn msal_finds_usernamemixed_through_mex_and_gets_saml11_and_saml20_tokens() {
    let (s, pki) = tls_server();
    let ca = pki.ca_file();
    let ca = ca.to_str().unwrap();
    // AD FS's mex: MSAL picks the WS-Trust 1.3 usernamemixed endpoint.
    let found = peer(&["discover", &s.url("/adfs/services/trust/mex"), ca]);
    let address = s.url("/adfs/services/trust/13/usernamemixed");
    assert_eq!(
        found["chosen"],
        json!({"address": address, "action": ISSUE_ACTION})
    );
    // MSAL's parser also accepts the WS-Trust 2005 usernamemixed endpoint.
    let address_2005 = s.url("/adfs/services/trust/2005/usernamemixed");
    assert_eq!(
        found["all"],
        json!([
            {"address": address, "action": ISSUE_ACTION},
            {"address": address_2005, "action": ISSUE_2005}
        ])
    );

    // MSAL's own RST (single-quoted attributes, a Password without Type) gets SAML 1.1.
    let got = peer(&[
        "wstrust",
        &address,
        ISSUE_ACTION,
        ca,
        "demo",
        DEMO_PASSWORD,
        AUDIENCE,
    ]);
    assert_eq!(got["type"], SAML1, "{got}");
    let token = got["token"].as_str().unwrap().trim();
    let (ok, out) = xmlsec1_verify_saml1(token, &s.cert("sts-signing"));
    assert!(ok, "xmlsec1: {out}\n{token}");
    assert!(
        token.contains(&format!("<saml:Audience>{AUDIENCE}</saml:Audience>")),
        "{token}"
    );

    // MSAL's WS-Trust 2005 RST (its namespace, NoProofKey) over the 2005 path: a bare RSTR.
    let got = peer(&[
        "wstrust",
        &address_2005,
        ISSUE_2005,
        ca,
        "demo",
        DEMO_PASSWORD,
        AUDIENCE,
    ]);
    assert_eq!(got["type"], SAML1, "{got}");
    let token = got["token"].as_str().unwrap().trim();
    let (ok, out) = xmlsec1_verify_saml1(token, &s.cert("sts-signing"));
    assert!(ok, "xmlsec1: {out}\n{token}");

    // Every SOAP instance answers mex: the SAML 2.0 instance's own endpoint is found there.
    let found = peer(&["discover", &s.url("/sts/soap-saml2/mex"), ca]);
    assert_eq!(found["chosen"]["address"], s.url("/sts/soap-saml2"));
    let got = peer(&[
        "wstrust",
        &s.url("/sts/soap-saml2"),
        ISSUE_ACTION,
        ca,
        "demo",
        DEMO_PASSWORD,
        AUDIENCE,
    ]);
    assert!(
        got["type"] == SAML20_PROFILE || got["type"] == SAML2,
        "MSAL accepts only these SAML 2.0 token types: {got}"
    );
    let (ok, out) = xmlsec1_verify(
        got["token"].as_str().unwrap().trim(),
        &s.cert("sts-signing"),
    );
    assert!(ok, "xmlsec1: {out}");

    // A wrong password: MSAL reads the fault's Subcode.
    let (ok, out) = peer_raw(&[
        "wstrust",
        &address,
        ISSUE_ACTION,
        ca,
        "demo",
        "wrong",
        AUDIENCE,
    ]);
    assert!(!ok && out.contains("FailedAuthentication"), "{out}");
}

#[test]
fn msal_acquires_a_token_by_username_password_with_entra_faked_on_loopback() {
    let (s, pki) = tls_server();
    let out = peer(&[
        "full",
        &s.url("/adfs/services/trust/mex"),
        pki.ca_file().to_str().unwrap(),
        "demo",
        DEMO_PASSWORD,
    ]);
    assert_eq!(out["result"]["access_token"], "faked-access-token", "{out}");
    let grants = out["grants"].as_array().unwrap();
    assert_eq!(grants.len(), 1, "{out}");
    assert_eq!(
        grants[0]["grant_type"],
        "urn:ietf:params:oauth:grant-type:saml1_1-bearer"
    );
    // The assertion MSAL granted is ours, intact.
    let assertion = grants[0]["assertion"].as_str().unwrap().trim();
    let (ok, why) = xmlsec1_verify_saml1(assertion, &s.cert("sts-signing"));
    assert!(ok, "xmlsec1: {why}\n{assertion}");
    assert!(assertion.contains("Issuer=\"sts-demo-idp\""), "{assertion}");
}

#[test]
fn adal_discovers_usernamemixed_and_gets_a_token() {
    let (s, pki) = tls_server();
    let got = peer(&[
        "adal",
        &s.url("/adfs/services/trust/mex"),
        pki.ca_file().to_str().unwrap(),
        "demo",
        DEMO_PASSWORD,
        AUDIENCE,
    ]);
    assert_eq!(got["url"], s.url("/adfs/services/trust/13/usernamemixed"));
    assert_eq!(got["version"], "wstrust13");
    assert_eq!(got["type"], SAML1);
    let (ok, out) = xmlsec1_verify_saml1(got["token"].as_str().unwrap(), &s.cert("sts-signing"));
    assert!(ok, "xmlsec1: {out}");
    // ADAL's WS-Trust 2005 request, which reads only a bare t:RequestSecurityTokenResponse.
    let got = peer(&[
        "adal-wstrust",
        &s.url("/adfs/services/trust/2005/usernamemixed"),
        "2005",
        pki.ca_file().to_str().unwrap(),
        "demo",
        DEMO_PASSWORD,
        AUDIENCE,
    ]);
    assert_eq!(got["type"], SAML1);
    let (ok, out) = xmlsec1_verify_saml1(got["token"].as_str().unwrap(), &s.cert("sts-signing"));
    assert!(ok, "xmlsec1: {out}");
}

/// Verifies FederationMetadata.xml with xmlsec1, trusting only `cert`.
fn xmlsec1_verify_metadata(doc: &str, cert: &std::path::Path) -> (bool, String) {
    let f = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(f.path(), doc).unwrap();
    run(Command::new("xmlsec1")
        .arg("--verify")
        .arg("--trusted-pem")
        .arg(cert)
        .arg("--id-attr:ID")
        .arg("urn:oasis:names:tc:SAML:2.0:metadata:EntityDescriptor")
        .arg(f.path()))
}

#[test]
fn federation_metadata_is_signed_and_names_the_public_addresses() {
    let public = "https://sts.example.test";
    let s = start_with(Opts {
        public_base_url: Some(public.into()),
        ..adfs_opts("soap-adfs")
    });
    let r = s.get("/FederationMetadata/2007-06/FederationMetadata.xml");
    assert_eq!(r.status, 200, "{}", r.body);
    let (ok, out) = xmlsec1_verify_metadata(&r.body, &s.cert("sts-signing"));
    assert!(ok, "xmlsec1: {out}\n{}", r.body);
    // Tampering breaks it: the signature covers the document.
    let tampered = r.body.replace("sts.example.test", "evil.example.test");
    assert!(!xmlsec1_verify_metadata(&tampered, &s.cert("sts-signing")).0);

    let doc = r.doc();
    assert_eq!(doc.attr(None, "entityID"), Some("sts-demo-idp"));
    let role = doc
        .elements()
        .find(|e| e.local == "RoleDescriptor")
        .unwrap();
    assert!(
        role.attrs
            .iter()
            .any(|a| a.value == "fed:SecurityTokenServiceType"),
        "{}",
        r.body
    );
    let pem = std::fs::read_to_string(s.cert("sts-signing")).unwrap();
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    assert!(
        r.body
            .contains(&format!("<md:KeyDescriptor use=\"signing\"><ds:KeyInfo xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"><ds:X509Data><ds:X509Certificate>{b64}<")),
        "{}",
        r.body
    );
    assert!(r.body.contains(&format!(
        "<wsa:Address>{public}/adfs/services/trust/13/usernamemixed</wsa:Address>"
    )));
    assert!(r.body.contains(&format!(
        "<wsa:Address>{public}/adfs/services/trust/mex</wsa:Address>"
    )));
    assert!(
        r.body
            .contains(&format!("<fed:TokenType Uri=\"{SAML1}\"></fed:TokenType>"))
    );
    assert!(r.body.contains(&format!(
        "<wsa:Address>{public}/adfs/services/trust/2005/usernamemixed</wsa:Address>"
    )));
    // Only endpoints that exist: no passive endpoint, no certificatemixed (no X509 input).
    assert!(!r.body.contains("PassiveRequestorEndpoint"));
    assert!(!r.body.contains("certificatemixed"));
    assert_eq!(
        s.request("POST", "/adfs/services/trust/13/certificatemixed", &[], "")
            .status,
        404
    );

    // The mex documents name the public addresses too.
    let mex = s.get("/adfs/services/trust/mex");
    assert_eq!(mex.status, 200);
    assert!(mex.body.contains(&format!(
        "<wsa10:Address>{public}/adfs/services/trust/13/usernamemixed</wsa10:Address>"
    )));
    assert!(mex.body.contains("<sp:TransportBinding"));
    let mex = s.get("/sts/soap-saml2/mex");
    assert!(mex.body.contains(&format!(
        "<wsa10:Address>{public}/sts/soap-saml2</wsa10:Address>"
    )));
}

fn mex_request(action: &str, body: &str) -> String {
    format!(
        "<s:Envelope xmlns:s=\"{SOAP12}\" xmlns:a=\"http://www.w3.org/2005/08/addressing\"><s:Header><a:Action s:mustUnderstand=\"1\">{action}</a:Action><a:MessageID>urn:uuid:mex-1</a:MessageID><a:To s:mustUnderstand=\"1\">x</a:To></s:Header><s:Body>{body}</s:Body></s:Envelope>"
    )
}

#[test]
fn mex_answers_soap_get_and_getmetadata_and_refuses_other_actions() {
    let s = start_with(adfs_opts("soap-adfs"));
    let ct = [("Content-Type", "application/soap+xml; charset=utf-8")];
    for path in ["/adfs/services/trust/mex", "/sts/soap-saml2/mex"] {
        let r = s.post(path, &ct, mex_request(WXF_GET, ""));
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        assert!(
            r.body.contains("transfer/GetResponse</wsa:Action>"),
            "{}",
            r.body
        );
        assert!(
            r.body.contains(">urn:uuid:mex-1</wsa:RelatesTo>"),
            "{}",
            r.body
        );
        let doc = r.doc();
        let body = doc.elements().find(|e| e.local == "Body").unwrap();
        let section = body
            .child(&[WSX], "Metadata")
            .and_then(|m| m.child(&[WSX], "MetadataSection"))
            .unwrap_or_else(|| panic!("no MetadataSection: {}", r.body));
        assert_eq!(section.attr(None, "Dialect"), Some(WSDL));
        assert!(section.child(&[WSDL], "definitions").is_some());
    }
    let get_metadata = "<wsx:GetMetadata xmlns:wsx=\"http://schemas.xmlsoap.org/ws/2004/09/mex\"/>";
    let r = s.post(
        "/adfs/services/trust/mex",
        &ct,
        mex_request(
            "http://schemas.xmlsoap.org/ws/2004/09/mex/GetMetadata/Request",
            get_metadata,
        ),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("GetMetadata/Response</wsa:Action>"));
    assert!(r.body.contains("<wsdl:definitions"));
    // Anything else is a fault in the request's SOAP version.
    let r = s.post(
        "/adfs/services/trust/mex",
        &ct,
        mex_request(ISSUE_ACTION, ""),
    );
    assert_eq!(r.status, 500, "{}", r.body);
    assert_eq!(r.fault_code(), "wst:InvalidRequest");

    // usernamemixed takes a UsernameToken: a session token alone is refused there...
    let token = s.login("demo", DEMO_PASSWORD);
    let rst = envelope(SOAP12, &bst(&token), RST_ISSUE);
    let soap12 = [("Content-Type", "application/soap+xml; charset=utf-8")];
    let r = s.post(
        "/adfs/services/trust/13/usernamemixed",
        &soap12,
        rst.clone(),
    );
    assert_eq!(r.status, 500, "{}", r.body);
    assert!(
        r.body
            .contains("usernamemixed endpoint takes a wsse:UsernameToken"),
        "{}",
        r.body
    );
    assert_eq!(r.fault_code(), "wst:FailedAuthentication");
    // ...and a UsernameToken gets the mapped instance's token (SAML 1.1, its only type).
    let rst = envelope(SOAP12, &username_text("demo", DEMO_PASSWORD), RST_ISSUE);
    let r = s.post("/adfs/services/trust/13/usernamemixed", &soap12, rst);
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("<saml:Assertion"), "{}", r.body);
    assert_eq!(s.get("/adfs/services/trust/13/usernamemixed").status, 405);
    // Each path speaks its WS-Trust version: a 1.3 RST to /2005/ is refused, in 1.3's terms.
    let rst13 = envelope(SOAP12, &username_text("demo", DEMO_PASSWORD), RST_ISSUE);
    let r = s.post("/adfs/services/trust/2005/usernamemixed", &soap12, rst13);
    assert_eq!(r.status, 500, "{}", r.body);
    assert_eq!(r.fault_code(), "wst:InvalidRequest");
    assert!(
        r.body.contains("takes WS-Trust 2005 requests"),
        "{}",
        r.body
    );
}

#[test]
fn adfs_paths_are_absent_without_the_section_and_503_for_a_missing_instance() {
    let s = start();
    for path in [
        "/adfs/services/trust/mex",
        "/FederationMetadata/2007-06/FederationMetadata.xml",
    ] {
        assert_eq!(s.get(path).status, 404, "{path}");
    }
    let r = s.post(
        "/adfs/services/trust/13/usernamemixed",
        &[("Content-Type", "application/soap+xml")],
        envelope(SOAP12, &username_text("demo", DEMO_PASSWORD), RST_ISSUE),
    );
    assert_eq!(r.status, 404);
    // The instances' own mex is there regardless.
    assert_eq!(s.get(&format!("/sts/{INSTANCE}/mex")).status, 200);
    assert_eq!(s.get("/sts/nope/mex").status, 404);

    let s = start_with(adfs_opts("not-published"));
    let r = s.get("/adfs/services/trust/mex");
    assert_eq!(r.status, 503);
    assert!(r.body.contains("`not-published`"), "{}", r.body);
    assert_eq!(
        s.get("/FederationMetadata/2007-06/FederationMetadata.xml")
            .status,
        503
    );
}

#[test]
fn certificatemixed_takes_a_message_signed_with_the_client_certificate() {
    let pki = Pki::new("Test Client CA");
    let alice = pki.issue("alice", "alice", 41, (-1, 30), false);
    let mut instance = adfs_instance();
    instance["security-policy-validated-token-config"] = json!([
        {"validatedTokenType": "USERNAME", "invalidateInterimOpenAMSession": true},
        {"validatedTokenType": "X509", "invalidateInterimOpenAMSession": true}
    ]);
    instance["x509-trust-anchors"] = json!(["client-ca"]);
    let s = start_with(Opts {
        files: vec![("keys/client-ca.crt.pem".into(), pki.ca_pem())],
        instances: vec![("soap-adfs.json".into(), instance)],
        public_base_url: Some("https://sts.example.test".into()),
        ..adfs_opts("soap-adfs")
    });
    // Published in the mex (X.509 endorsing its signature) and in the metadata.
    let mex = s.get("/adfs/services/trust/mex");
    assert!(mex.body.contains(
        "<wsa10:Address>https://sts.example.test/adfs/services/trust/13/certificatemixed</wsa10:Address>"
    ));
    assert!(mex.body.contains("<sp:EndorsingSupportingTokens"));
    assert!(mex.body.contains("<sp:WssX509V3Token10/>"));
    let md = s.get("/FederationMetadata/2007-06/FederationMetadata.xml");
    assert!(
        md.body
            .contains("/adfs/services/trust/13/certificatemixed</wsa:Address>")
    );

    let post = |path: &str, body: String| {
        s.post(
            path,
            &[
                ("Content-Type", "text/xml; charset=utf-8"),
                ("SOAPAction", &format!("\"{ISSUE_ACTION}\"")),
            ],
            body,
        )
    };
    let signed = wss_signed(&alice.0, &alice.1, &["Body-1", "TS-1"], "");
    let r = post("/adfs/services/trust/13/certificatemixed", signed);
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body.contains(">alice</saml:NameIdentifier>"),
        "{}",
        r.body
    );
    // A UsernameToken is not what certificatemixed takes, though the instance takes it.
    let r = post(
        "/adfs/services/trust/13/certificatemixed",
        envelope(SOAP11, &username_text("demo", DEMO_PASSWORD), RST_ISSUE),
    );
    assert_eq!(r.status, 500, "{}", r.body);
    assert_eq!(r.fault_code(), "wst:FailedAuthentication");
    assert!(
        r.body.contains("certificatemixed endpoint takes an X.509"),
        "{}",
        r.body
    );
    // ...and usernamemixed does not take the signed certificate alone.
    let signed = wss_signed(&alice.0, &alice.1, &["Body-1", "TS-1"], "");
    let r = post("/adfs/services/trust/13/usernamemixed", signed);
    assert_eq!(r.fault_code(), "wst:FailedAuthentication", "{}", r.body);
}
