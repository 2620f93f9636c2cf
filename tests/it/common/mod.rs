//! Shared test helpers. Topic files import them all with `use crate::common::*;`:
//! - `server`: a real server on a free port, in process (so the clock can be pinned), with its
//!   own data directory; the `sts` binary as an operator runs it; replies.
//! - `soap`: SOAP requests (envelopes, UsernameTokens, WS-Security signed messages) and reading
//!   their answers.
//! - `rest`: the REST STS and the publish API.
//! - `cluster`: `sts serve` processes sharing one throwaway PostgreSQL.
//! - `ldap`: servers whose realms' users come from a real directory (`identity::testldap`).
//! - `peers`: third-party verifiers (xmlsec1, signxml, PyJWT) and the peer programs.
//! - `pki`: test keys, certificates, a CA, and the identity providers tests trust.

use std::process::Command;

mod cluster;
mod ldap;
mod peers;
mod pki;
mod rest;
mod server;
mod soap;

pub use cluster::*;
pub use ldap::*;
pub use peers::*;
pub use pki::*;
pub use rest::*;
pub use server::*;
pub use soap::*;

pub const DEMO_PASSWORD: &str = "changeit";
pub const ADMIN_PASSWORD: &str = "admin-pw-1";
pub const INSTANCE: &str = "soap-username-transformer";
pub const WST: &str = "http://docs.oasis-open.org/ws-sx/ws-trust/200512";
pub const SAML2: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
pub const SOAP11: &str = "http://schemas.xmlsoap.org/soap/envelope/";
pub const SOAP12: &str = "http://www.w3.org/2003/05/soap-envelope";
pub const ISSUE_ACTION: &str = "http://docs.oasis-open.org/ws-sx/ws-trust/200512/RST/Issue";

/// The system's time, read through `sts::clock` as the crate reads it: the servers under test
/// run on it unless a test pins their clock.
pub fn wall_clock() -> chrono::DateTime<chrono::Utc> {
    use sts::clock::Clock as _;
    sts::clock::SystemClock.now()
}

/// Runs a command; returns (success, stdout+stderr).
pub fn run(cmd: &mut Command) -> (bool, String) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e} (is it installed? see README)"));
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

/// Polls `done` until it holds: for changes that reach the server on a poll (instances,
/// keys). The bound only keeps a broken build from hanging; no correct run comes near it.
pub fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let guard = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while !done() {
        assert!(std::time::Instant::now() < guard, "never happened: {what}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
