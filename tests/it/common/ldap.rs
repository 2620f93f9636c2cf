//! Test servers whose realms' users come from a real directory (`identity::testldap`): the
//! `[realms."..".ldap]` tables of `sts.toml`, loaded as an operator's file is, the SOAP
//! instances that map directory attributes into assertions, and reading those attributes.

use std::collections::BTreeMap;
use std::path::Path;

use sts::identity::testldap::{self, TestLdap};

use super::*;

/// The SOAP instance of the `/` directory realm.
pub const SOAP_LDAP: &str = "soap-ldap";
/// The SOAP instance `soap-ad` of the `/ad` (AD-shaped) directory realm, by its path.
pub const SOAP_AD: &str = "ad/soap-ad";

/// Timeouts short enough that a hung directory fails a request in seconds.
const TIMEOUTS: &str =
    "connect_timeout_millis = 1000\noperation_timeout_millis = 1500\npool_size = 4\n";

fn quoted(urls: &[String]) -> String {
    urls.iter()
        .map(|u| format!("\"{u}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `[realms."REALM".ldap]` for the people subtree: `(uid={username})`, groups from memberOf.
pub fn people_realm(realm: &str, urls: &[String], ca: &Path, ldap: &TestLdap) -> String {
    format!(
        "[realms.\"{realm}\".ldap]\nurls = [{}]\nca_file = \"{}\"\nbind_dn = \"{}\"\n\
         bind_password_file = \"{}\"\nuser_base = \"{}\"\nuser_scope = \"one\"\n\
         user_filter = \"(uid={{username}})\"\n\
         attributes = [\"cn\", \"mail\", \"givenName\", \"sn\", \"memberOf\"]\n{TIMEOUTS}",
        quoted(urls),
        ca.display(),
        ldap.bind_dn(),
        ldap.bind_password_path().display(),
        testldap::PEOPLE_DN,
    )
}

/// `[realms."REALM".ldap]` for the AD-shaped subtree, users found by `filter`
/// (`sAMAccountName` or `userPrincipalName`), binary attributes as `binary` says, and
/// `extra` lines (a group search, say).
pub fn ad_realm(realm: &str, ldap: &TestLdap, filter: &str, binary: &str, extra: &str) -> String {
    format!(
        "[realms.\"{realm}\".ldap]\nurls = [\"{}\"]\nca_file = \"{}\"\nbind_dn = \"{}\"\n\
         bind_password_file = \"{}\"\nuser_base = \"{}\"\nuser_filter = \"{filter}\"\n\
         attributes = [\"cn\", \"mail\", \"sAMAccountName\", \"userPrincipalName\", \"memberOf\", \"objectGUID\", \"objectSid\"]\n\
         binary_attributes = {{ objectGUID = \"{binary}\", objectSid = \"{binary}\" }}\n{extra}{TIMEOUTS}",
        ldap.ldaps_url(),
        ldap.ca_pem_path().display(),
        ldap.bind_dn(),
        ldap.bind_password_path().display(),
        testldap::AD_USERS_DN,
    )
}

/// The demo SOAP instance at `element` in `realm`, mapping directory attributes.
pub fn directory_instance(element: &str, realm: &str) -> serde_json::Value {
    let mut j = sts::datadir::demo_instance();
    j["deployment-config"]["deployment-url-element"] = element.into();
    j["deployment-config"]["deployment-realm"] = realm.into();
    j["saml2-config"]["saml2-attribute-map"] = serde_json::json!({
        "email": "mail", "cn": "cn", "givenName": "givenName", "sn": "sn", "groups": "memberOf",
        "upn": "userPrincipalName", "guid": "objectGUID", "sid": "objectSid"
    });
    j
}

/// A test server whose configuration holds `toml` (realm tables, loaded by
/// `Config::load` as `sts.toml` is), serving `soap-ldap` (realm `/`) and `soap-ad` (`/ad`).
pub fn start_with_directory(toml: &str, opts: Opts) -> TestServer {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), toml).unwrap();
    let loaded = sts::config::Config::load(Some(file.path()), &|_| None)
        .unwrap_or_else(|e| panic!("sts.toml refused: {e}\n{toml}"));
    let outer = opts.configure;
    let mut instances = opts.instances;
    instances.push((
        format!("{SOAP_LDAP}.json"),
        directory_instance(SOAP_LDAP, "/"),
    ));
    instances.push(("soap-ad.json".into(), directory_instance("soap-ad", "/ad")));
    start_with(Opts {
        instances,
        configure: Some(Box::new(move |c: &mut sts::config::Config| {
            c.realms = loaded.realms;
            if let Some(f) = outer {
                f(c);
            }
        })),
        ..opts
    })
}

/// SOAP 1.1 Issue with a PasswordText UsernameToken to the instance `element`.
pub fn soap_text(s: &TestServer, element: &str, user: &str, password: &str) -> Reply {
    issue(s, &format!("/sts/{element}"), (user, password))
}

/// The attributes of a SAML 2.0 assertion (any prefix): name -> values; and its NameID.
pub fn saml_attributes(assertion: &str) -> (String, BTreeMap<String, Vec<String>>) {
    let doc = sts::xml::parse(assertion.as_bytes(), sts::xml::Limits::default())
        .unwrap_or_else(|e| panic!("not XML ({e}): {assertion}"));
    let mut found = BTreeMap::new();
    let mut name_id = String::new();
    let mut stack = vec![&doc];
    while let Some(e) = stack.pop() {
        if e.is(SAML2, "NameID") {
            name_id = e.text();
        }
        if e.is(SAML2, "Attribute") {
            let values = e
                .elements()
                .filter(|v| v.is(SAML2, "AttributeValue"))
                .map(|v| v.text())
                .collect();
            found.insert(e.attr(None, "Name").unwrap_or_default().to_owned(), values);
        }
        stack.extend(e.elements());
    }
    (name_id, found)
}

/// The issued assertion of a SOAP reply, verified with xmlsec1 against the server's key:
/// (NameID, attributes).
pub fn verified_soap_assertion(
    s: &TestServer,
    r: &Reply,
) -> (String, BTreeMap<String, Vec<String>>) {
    assert_eq!(r.status, 200, "{}", r.body);
    let a = r.assertion_text();
    let (ok, out) = xmlsec1_verify(&a, &s.cert("sts-signing"));
    assert!(ok, "xmlsec1: {out}");
    saml_attributes(&a)
}

/// A REST instance in realm `/` offering USERNAME -> SAML2 with the directory attribute map.
pub fn directory_rest_instance(element: &str) -> serde_json::Value {
    let mut j = rest_instance(element, false);
    j["saml2-config"]["saml2-attribute-map"] =
        directory_instance("x", "/")["saml2-config"]["saml2-attribute-map"].clone();
    j
}

/// USERNAME -> SAML2 bearer through the REST instance `element`.
pub fn rest_username(
    s: &TestServer,
    admin: &str,
    element: &str,
    user: &str,
    password: &str,
) -> Reply {
    call(
        s,
        admin,
        element,
        "translate",
        &serde_json::json!({
            "input_token_state": {"token_type": "USERNAME", "username": user, "password": password},
            "output_token_state": saml_bearer()
        }),
    )
}

/// `/json/authenticate` with the user's name and password headers; the status.
pub fn json_login(s: &TestServer, user: &str, password: &str) -> Reply {
    s.post(
        "/json/authenticate",
        &[
            ("X-OpenAM-Username", user),
            ("X-OpenAM-Password", password),
            ("Content-Type", "application/json"),
        ],
        "{}",
    )
}
