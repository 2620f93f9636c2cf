//! Requested claims (`wst:Claims`): the claim types asked for select the attributes of SAML
//! 2.0 and SAML 1.1 assertions and the claims of id_tokens; a required claim the instance
//! cannot supply and an unknown dialect are faults; no Claims is today's behaviour.

use serde_json::{Value, json};

use crate::common::*;

const CLAIMS: &str = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims";
const MS_CLAIMS: &str = "http://schemas.microsoft.com/ws/2008/06/identity/claims";
const IDENTITY: &str = "http://schemas.xmlsoap.org/ws/2005/05/identity";
const AUTHCLAIMS: &str = "http://docs.oasis-open.org/wsfed/authorization/200706/authclaims";
const AUTH: &str = "http://docs.oasis-open.org/wsfed/authorization/200706";
const SAML1: &str = "urn:oasis:names:tc:SAML:1.0:assertion";
const SAML11_PROFILE: &str =
    "http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.1#SAMLV1.1";

/// An instance issuing SAML 2.0, SAML 1.1 and id_tokens, with AD FS claim URIs, a bare
/// attribute name, and id_token claims of the same user attributes; and carol, who has them.
fn server() -> TestServer {
    let mut instance = sts::datadir::demo_instance();
    instance["deployment-config"]["deployment-url-element"] = "soap-claims".into();
    instance["issued-token-types"] = json!(["SAML2", "SAML1", "OPENIDCONNECT"]);
    instance["saml2-config"]["saml2-attribute-map"] = json!({
        format!("{CLAIMS}/emailaddress"): "mail",
        format!("{CLAIMS}/name"): "cn",
        format!("{MS_CLAIMS}/role"): "role",
        "department": "dept",
    });
    instance["oidc-id-token-config"] = json!({
        "oidc-issuer": "https://sts.example.com", "oidc-audience": ["rp-1"],
        "oidc-signature-algorithm": "RS256", "oidc-token-lifetime-seconds": "300",
        "oidc-claim-map": {"email": "mail", "name": "cn", "roles": "role"}
    });
    let s = start_with(Opts {
        instances: vec![("soap-claims.json".into(), instance)],
        ..Default::default()
    });
    let users = sts::identity::FileUserStore::open(&s.dir.path().join("users.json")).unwrap();
    let attrs = [
        ("mail", vec!["carol@example.com"]),
        ("cn", vec!["Carol"]),
        ("role", vec!["admin", "user"]),
        ("dept", vec!["R&D"]),
    ];
    users
        .add(sts::identity::User {
            username: "carol".into(),
            realm: "/".into(),
            password_hash: sts::identity::hash_password("carol-pw").unwrap(),
            digest_secret: Some(sts::secret::Secret::new("carol-pw".into())),
            attributes: attrs
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.into_iter().map(String::from).collect()))
                .collect(),
            disabled: false,
            admin: false,
        })
        .unwrap();
    s
}

fn issue(s: &TestServer, rst: &str) -> Reply {
    s.post(
        "/sts/soap-claims",
        &[
            ("Content-Type", "text/xml; charset=utf-8"),
            ("SOAPAction", &format!("\"{ISSUE_ACTION}\"")),
        ],
        envelope(
            SOAP11,
            &username_digest("carol", "carol-pw"),
            &format!("{RST_ISSUE}{rst}"),
        ),
    )
}

/// `wst:Claims` of the identity dialect: (URI, optional).
fn identity_claims(claims: &[(&str, bool)]) -> String {
    let types: String = claims
        .iter()
        .map(|(uri, optional)| format!("<ic:ClaimType Uri=\"{uri}\" Optional=\"{optional}\"/>"))
        .collect();
    format!("<wst:Claims Dialect=\"{IDENTITY}\" xmlns:ic=\"{IDENTITY}\">{types}</wst:Claims>")
}

/// Attribute name -> values of a SAML 2.0 assertion.
fn saml2_attributes(a: &str) -> Vec<(String, Vec<String>)> {
    let doc = sts::xml::parse(a.as_bytes(), sts::xml::Limits::default()).unwrap();
    let Some(statement) = doc.child(&[SAML2], "AttributeStatement") else {
        return Vec::new();
    };
    statement
        .children_named(&[SAML2], "Attribute")
        .map(|at| {
            (
                at.attr(None, "Name").unwrap().to_owned(),
                at.children_named(&[SAML2], "AttributeValue")
                    .map(|v| v.text())
                    .collect(),
            )
        })
        .collect()
}

fn owned(v: &[(&str, &[&str])]) -> Vec<(String, Vec<String>)> {
    v.iter()
        .map(|(k, vs)| (k.to_string(), vs.iter().map(|s| s.to_string()).collect()))
        .collect()
}

#[test]
fn requested_claims_select_saml2_attributes() {
    let s = server();
    let cert = s.cert("sts-signing");
    // No Claims: every mapped attribute (today's behaviour).
    let r = issue(&s, "");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(saml2_attributes(&r.assertion_text()).len(), 4);

    // The identity dialect: what is asked for, and only that.
    let email = format!("{CLAIMS}/emailaddress");
    let role = format!("{MS_CLAIMS}/role");
    let upn = format!("{CLAIMS}/upn");
    let r = issue(
        &s,
        &identity_claims(&[(&email, false), (&role, true), (&upn, true)]),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let a = r.assertion_text();
    assert_eq!(
        saml2_attributes(&a),
        owned(&[
            (&role, &["admin", "user"]),
            (&email, &["carol@example.com"])
        ]),
        "{a}"
    );
    let (ok, out) = xmlsec1_verify(&a, &cert);
    assert!(ok, "xmlsec1: {out}");

    // WS-Federation authorization claims: auth:Value asks for one value.
    let r = issue(
        &s,
        &format!(
            "<wst:Claims Dialect=\"{AUTHCLAIMS}\" xmlns:auth=\"{AUTH}\"><auth:ClaimType Uri=\"{role}\"><auth:Value>admin</auth:Value></auth:ClaimType></wst:Claims>"
        ),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        saml2_attributes(&r.assertion_text()),
        owned(&[(&role, &["admin"])])
    );

    // WCF's place for the relying party's claims: wst:SecondaryParameters.
    let r = issue(
        &s,
        &format!(
            "<wst:SecondaryParameters>{}</wst:SecondaryParameters>",
            identity_claims(&[("department", false)])
        ),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        saml2_attributes(&r.assertion_text()),
        owned(&[("department", &["R&D"])])
    );
}

#[test]
fn requested_claims_select_saml1_attributes_and_id_token_claims() {
    let s = server();
    // SAML 1.1: a claim URI is AttributeNamespace/AttributeName; a bare map key answers to
    // the AD FS claims namespace.
    let r = issue(
        &s,
        &format!(
            "<wst:TokenType>{SAML11_PROFILE}</wst:TokenType>{}",
            identity_claims(&[
                (&format!("{CLAIMS}/department"), false),
                (&format!("{CLAIMS}/name"), false)
            ])
        ),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let start = r.body.find("<saml:Assertion").unwrap();
    let end = r.body.find("</saml:Assertion>").unwrap() + "</saml:Assertion>".len();
    let a = &r.body[start..end];
    let doc = sts::xml::parse(a.as_bytes(), sts::xml::Limits::default()).unwrap();
    let got: Vec<(String, String, String)> = doc
        .child(&[SAML1], "AttributeStatement")
        .unwrap()
        .children_named(&[SAML1], "Attribute")
        .map(|at| {
            (
                at.attr(None, "AttributeNamespace").unwrap().to_owned(),
                at.attr(None, "AttributeName").unwrap().to_owned(),
                at.child(&[SAML1], "AttributeValue").unwrap().text(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (CLAIMS.to_owned(), "department".to_owned(), "R&D".to_owned()),
            (CLAIMS.to_owned(), "name".to_owned(), "Carol".to_owned()),
        ],
        "{a}"
    );
    let (ok, out) = xmlsec1_verify_saml1(a, &s.cert("sts-signing"));
    assert!(ok, "xmlsec1: {out}");

    // id_token: a claim name, or the SAML attribute URI of the same user attribute.
    let r = issue(
        &s,
        &format!(
            "<wst:TokenType>urn:ietf:params:oauth:token-type:jwt</wst:TokenType>{}",
            identity_claims(&[(&format!("{CLAIMS}/emailaddress"), false), ("roles", false)])
        ),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let payload = id_token_payload(&r);
    assert_eq!(payload["email"], "carol@example.com", "{payload}");
    assert_eq!(payload["roles"], json!(["admin", "user"]), "{payload}");
    assert!(payload.get("name").is_none(), "{payload}");
    assert_eq!(payload["sub"], "carol");
}

#[test]
fn required_claims_the_instance_cannot_supply_and_unknown_dialects_are_refused() {
    let s = server();
    let upn = format!("{CLAIMS}/upn");
    let role = format!("{MS_CLAIMS}/role");
    for (rst, code, needle) in [
        (
            identity_claims(&[(&upn, false)]),
            "wst:BadRequest",
            format!("required claim `{upn}`"),
        ),
        (
            format!(
                "<wst:Claims Dialect=\"{AUTHCLAIMS}\" xmlns:auth=\"{AUTH}\"><auth:ClaimType Uri=\"{role}\"><auth:Value>root</auth:Value></auth:ClaimType></wst:Claims>"
            ),
            "wst:BadRequest",
            "with the value `root`".to_owned(),
        ),
        (
            format!(
                "<wst:TokenType>urn:ietf:params:oauth:token-type:jwt</wst:TokenType>{}",
                identity_claims(&[(&upn, false)])
            ),
            "wst:BadRequest",
            format!("required claim `{upn}`"),
        ),
        (
            "<wst:Claims Dialect=\"urn:example:dialect\"><x:Any xmlns:x=\"urn:x\"/></wst:Claims>"
                .to_owned(),
            "wst:BadRequest",
            "dialect `urn:example:dialect` is not understood".to_owned(),
        ),
        (
            format!(
                "<wst:Claims xmlns:ic=\"{IDENTITY}\"><ic:ClaimType Uri=\"{upn}\"/></wst:Claims>"
            ),
            "wst:InvalidRequest",
            "must name its Dialect".to_owned(),
        ),
        (
            format!(
                "<wst:Claims Dialect=\"{IDENTITY}\" xmlns:ic=\"{IDENTITY}\"><ic:ClaimType Uri=\"{upn}\" Optional=\"maybe\"/></wst:Claims>"
            ),
            "wst:InvalidRequest",
            "not a boolean".to_owned(),
        ),
    ] {
        let r = issue(&s, &rst);
        assert_eq!(r.fault_code(), code, "{needle}: {}", r.body);
        assert!(r.body.contains(&needle), "`{needle}` not in {}", r.body);
    }
    // The same claim, optional: the token goes without it.
    let r = issue(&s, &identity_claims(&[(&upn, true)]));
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(saml2_attributes(&r.assertion_text()).is_empty());
}

fn id_token_payload(r: &Reply) -> Value {
    use base64::Engine as _;
    let start = r.body.find("BinarySecurityToken").unwrap();
    let text = &r.body[start..];
    let open = text.find('>').unwrap() + 1;
    let close = text.find("</").unwrap();
    let jwt = String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(text[open..close].trim())
            .unwrap(),
    )
    .unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(jwt.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap()
}
