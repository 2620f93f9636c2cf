//! Third-party verifiers and signers (xmlsec1, python signxml, PyJWT) run as separate
//! programs from `tests/peers`.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use super::*;

/// Verifies an assertion with `xmlsec1`, trusting only `cert`.
pub fn xmlsec1_verify(assertion: &str, cert: &Path) -> (bool, String) {
    let f = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(f.path(), assertion).unwrap();
    run(Command::new("xmlsec1")
        .arg("--verify")
        .arg("--trusted-pem")
        .arg(cert)
        .arg("--id-attr:ID")
        .arg("urn:oasis:names:tc:SAML:2.0:assertion:Assertion")
        .arg(f.path()))
}

/// Verifies a SAML 1.1 assertion with `xmlsec1`, trusting only `cert`: its ID attribute is
/// `AssertionID`.
pub fn xmlsec1_verify_saml1(assertion: &str, cert: &Path) -> (bool, String) {
    let f = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(f.path(), assertion).unwrap();
    run(Command::new("xmlsec1")
        .arg("--verify")
        .arg("--trusted-pem")
        .arg(cert)
        .arg("--id-attr:AssertionID")
        .arg("urn:oasis:names:tc:SAML:1.0:assertion:Assertion")
        .arg(f.path()))
}

/// Verifies a SAML 1.1 assertion with python `signxml` (ID attribute `AssertionID`).
pub fn signxml_verify_saml1(assertion: &str, cert: &Path) -> (bool, String) {
    let f = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(f.path(), assertion).unwrap();
    run(Command::new("python3")
        .arg(peers_dir().join("signxml_verify.py"))
        .arg(f.path())
        .arg(cert)
        .arg("AssertionID"))
}

/// Verifies a SAML 1.1 assertion with pysaml2's XMLSecurity backend, trusting only `cert`
/// (see `tests/peers/pysaml2_verify_saml1.py` for why that backend); the script also checks
/// that an altered copy fails.
pub fn pysaml2_verify_saml1(assertion: &str, cert: &Path) -> (bool, String) {
    let f = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(f.path(), assertion).unwrap();
    run(Command::new("python3")
        .arg(peers_dir().join("pysaml2_verify_saml1.py"))
        .arg(f.path())
        .arg(cert))
}

/// Verifies an assertion with python `signxml`, trusting only `cert`.
pub fn signxml_verify(assertion: &str, cert: &Path) -> (bool, String) {
    let f = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(f.path(), assertion).unwrap();
    run(Command::new("python3")
        .arg(peers_dir().join("signxml_verify.py"))
        .arg(f.path())
        .arg(cert))
}

pub fn peers_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers")
}

/// Verifies a JWT with PyJWT against `cert`, returning its header and claims.
pub fn pyjwt_verify(
    s: &TestServer,
    token: &str,
    alg: &str,
    key: &std::path::Path,
) -> (bool, String) {
    let _ = s;
    run(std::process::Command::new("python3")
        .arg(peers_dir().join("verify_jwt.py"))
        .args([token, alg])
        .arg(key)
        .args(["rp-1", OIDC_ISSUER]))
}

/// Signs `claims` with PyJWT.
pub fn pyjwt_sign(alg: &str, key: &std::path::Path, claims: &Value, kid: &str) -> String {
    let (ok, out) = run(std::process::Command::new("python3")
        .arg(peers_dir().join("sign_jwt.py"))
        .arg(alg)
        .arg(key)
        .arg(claims.to_string())
        .arg(kid));
    assert!(ok, "PyJWT sign: {out}");
    out.trim().to_owned()
}
