//! SOAP requests: envelopes, UsernameTokens, references, WS-Security signed messages; and
//! reading the answers (RSTR status, assertion IDs, element text).

use std::path::{Path, PathBuf};
use std::process::Command;

use super::*;

/// A SOAP envelope with the given security header content and RST children.
pub fn envelope(soap_ns: &str, security: &str, rst_children: &str) -> String {
    format!(
        concat!(
            "<s:Envelope xmlns:s=\"{soap}\"><s:Header>",
            "<wsa:Action xmlns:wsa=\"http://www.w3.org/2005/08/addressing\">{action}</wsa:Action>",
            "<wsa:MessageID xmlns:wsa=\"http://www.w3.org/2005/08/addressing\">urn:uuid:5e1f2a3b-0000-4000-8000-000000000001</wsa:MessageID>",
            "<wsse:Security xmlns:wsse=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd\" ",
            "xmlns:wsu=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd\">{security}</wsse:Security>",
            "</s:Header><s:Body><wst:RequestSecurityToken xmlns:wst=\"{wst}\">{rst}</wst:RequestSecurityToken></s:Body></s:Envelope>"
        ),
        soap = soap_ns,
        action = ISSUE_ACTION,
        security = security,
        wst = WST,
        rst = rst_children,
    )
}

pub fn username_text(user: &str, password: &str) -> String {
    format!(
        "<wsse:UsernameToken><wsse:Username>{user}</wsse:Username><wsse:Password Type=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText\">{password}</wsse:Password></wsse:UsernameToken>"
    )
}

/// A PasswordDigest UsernameToken with a fresh random nonce, created now.
pub fn username_digest(user: &str, password: &str) -> String {
    let mut nonce = [0u8; 16];
    openssl::rand::rand_bytes(&mut nonce).unwrap();
    let created = wall_clock().format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
    username_digest_with(user, password, &nonce, &created)
}

pub fn username_digest_with(user: &str, password: &str, nonce: &[u8], created: &str) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut h = openssl::sha::Sha1::new();
    h.update(nonce);
    h.update(created.as_bytes());
    h.update(password.as_bytes());
    let digest = b64.encode(h.finish());
    format!(
        "<wsse:UsernameToken><wsse:Username>{user}</wsse:Username><wsse:Password Type=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest\">{digest}</wsse:Password><wsse:Nonce EncodingType=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary\">{}</wsse:Nonce><wsu:Created>{created}</wsu:Created></wsse:UsernameToken>",
        b64.encode(nonce)
    )
}

pub const RST_ISSUE: &str =
    "<wst:RequestType>http://docs.oasis-open.org/ws-sx/ws-trust/200512/Issue</wst:RequestType>";

pub fn applies_to(address: &str) -> String {
    format!(
        "<wsp:AppliesTo xmlns:wsp=\"http://schemas.xmlsoap.org/ws/2004/09/policy\"><wsa:EndpointReference xmlns:wsa=\"http://www.w3.org/2005/08/addressing\"><wsa:Address>{address}</wsa:Address></wsa:EndpointReference></wsp:AppliesTo>"
    )
}

/// The demo instance at `element`, persisting issued tokens or not.
pub fn persisting_instance(element: &str, persist: bool) -> serde_json::Value {
    let mut j = sts::datadir::demo_instance();
    j["deployment-config"]["deployment-url-element"] = element.into();
    j["persist-issued-tokens-in-cts"] = if persist { "true" } else { "false" }.into();
    j
}

/// A Validate or Cancel envelope (`op` is `Validate` or `Cancel`) holding `target`.
pub fn target_envelope(op: &str, security: &str, target: &str) -> String {
    envelope(SOAP11, security, &format!(
        "<wst:RequestType>http://docs.oasis-open.org/ws-sx/ws-trust/200512/{op}</wst:RequestType><wst:{op}Target>{target}</wst:{op}Target>"
    ))
    .replace(ISSUE_ACTION, &format!("http://docs.oasis-open.org/ws-sx/ws-trust/200512/RST/{op}"))
}

/// A SecurityTokenReference to a SAML assertion by ID.
pub fn saml_str(id: &str) -> String {
    format!(
        "<wsse:SecurityTokenReference xmlns:wsse=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd\"><wsse:KeyIdentifier ValueType=\"http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.1#SAMLID\">{id}</wsse:KeyIdentifier></wsse:SecurityTokenReference>"
    )
}

pub fn captures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/soap/captures")
}

pub fn jwt_bst(jwt: &str) -> String {
    format!(
        "<wsse:BinarySecurityToken ValueType=\"urn:ietf:params:oauth:token-type:jwt\">{jwt}</wsse:BinarySecurityToken>"
    )
}

/// The text of the first element named `open` (a start tag prefix) in `xml`.
pub fn text_of(xml: &str, open: &str) -> String {
    let start = xml
        .find(open)
        .unwrap_or_else(|| panic!("no {open} in {xml}"));
    let start = start + xml[start..].find('>').unwrap() + 1;
    let end = start + xml[start..].find('<').unwrap();
    xml[start..end].to_owned()
}

pub const WSU_NS: &str =
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd";
pub const X509V3: &str =
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3";

/// A SOAP 1.1 Issue request signed the WS-Security way by `xmlsec1 --sign` (a third-party
/// signer): an X.509 BinarySecurityToken holding `cert`, a Timestamp, and a ds:Signature
/// (ECDSA-SHA256) made with `key` over the references `refs` (e.g. `["Body-1", "TS-1"]`).
pub fn wss_signed(cert: &Path, key: &Path, refs: &[&str], extra_header: &str) -> String {
    wss_signed_rst(cert, key, refs, extra_header, "")
}

/// [`wss_signed`] with `rst_extra` after the RequestType in the signed RST.
pub fn wss_signed_rst(
    cert: &Path,
    key: &Path,
    refs: &[&str],
    extra_header: &str,
    rst_extra: &str,
) -> String {
    use base64::Engine as _;
    let pem = std::fs::read_to_string(cert).unwrap();
    let der = openssl::x509::X509::from_pem(pem.as_bytes())
        .unwrap()
        .to_der()
        .unwrap();
    let now = wall_clock();
    let fmt = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let references: String = refs
        .iter()
        .map(|r| format!("<ds:Reference URI=\"#{r}\"><ds:Transforms><ds:Transform Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/></ds:Transforms><ds:DigestMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\"/><ds:DigestValue/></ds:Reference>"))
        .collect();
    let template = format!(
        "<s:Envelope xmlns:s=\"{SOAP11}\" xmlns:wsu=\"{WSU_NS}\"><s:Header>{extra_header}<wsse:Security xmlns:wsse=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd\"><wsu:Timestamp wsu:Id=\"TS-1\"><wsu:Created>{}</wsu:Created><wsu:Expires>{}</wsu:Expires></wsu:Timestamp><wsse:BinarySecurityToken wsu:Id=\"X509-1\" ValueType=\"{X509V3}\" EncodingType=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary\">{}</wsse:BinarySecurityToken><ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/><ds:SignatureMethod Algorithm=\"http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256\"/>{references}</ds:SignedInfo><ds:SignatureValue/><ds:KeyInfo><wsse:SecurityTokenReference><wsse:Reference URI=\"#X509-1\" ValueType=\"{X509V3}\"/></wsse:SecurityTokenReference></ds:KeyInfo></ds:Signature></wsse:Security></s:Header><s:Body wsu:Id=\"Body-1\"><wst:RequestSecurityToken xmlns:wst=\"{WST}\">{RST_ISSUE}{rst_extra}</wst:RequestSecurityToken></s:Body></s:Envelope>",
        fmt(now - chrono::Duration::seconds(5)),
        fmt(now + chrono::Duration::seconds(300)),
        base64::engine::general_purpose::STANDARD.encode(der),
    );
    let dir = tempfile::tempdir().unwrap();
    let (input, output) = (dir.path().join("t.xml"), dir.path().join("o.xml"));
    std::fs::write(&input, template).unwrap();
    let out = Command::new("xmlsec1")
        .arg("--sign")
        .arg("--privkey-pem")
        .arg(key)
        .args(["--id-attr:Id", &format!("{SOAP11}:Body")])
        .args(["--id-attr:Id", &format!("{WSU_NS}:Timestamp")])
        .arg("--output")
        .arg(&output)
        .arg(&input)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "xmlsec1 --sign: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read_to_string(output).unwrap()
}

pub fn bst(token: &str) -> String {
    format!(
        "<wsse:BinarySecurityToken ValueType=\"http://schemas.forgerock.org/ws/securitypolicy#OpenAMSessionToken\">{token}</wsse:BinarySecurityToken>"
    )
}

pub fn issue(s: &TestServer, path: &str, who: (&str, &str)) -> Reply {
    s.post(
        path,
        &[("Content-Type", "text/xml"), ("SOAPAction", ISSUE_ACTION)],
        envelope(SOAP11, &username_text(who.0, who.1), RST_ISSUE),
    )
}

pub fn status(r: &Reply) -> (bool, String) {
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body
            .contains("http://docs.oasis-open.org/ws-sx/ws-trust/200512/RSTR/ValidateFinal"),
        "{}",
        r.body
    );
    let valid = r.body.contains(
        "<wst:Code>http://docs.oasis-open.org/ws-sx/ws-trust/200512/status/valid</wst:Code>",
    );
    let invalid = r.body.contains(
        "<wst:Code>http://docs.oasis-open.org/ws-sx/ws-trust/200512/status/invalid</wst:Code>",
    );
    assert!(valid ^ invalid, "{}", r.body);
    let reason = r
        .body
        .split("<wst:Reason>")
        .nth(1)
        .unwrap()
        .split("</wst:Reason>")
        .next()
        .unwrap()
        .to_owned();
    (valid, reason)
}

pub fn assertion_id(a: &str) -> String {
    a.split("ID=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned()
}
