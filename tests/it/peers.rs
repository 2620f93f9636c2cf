//! Real, independently written clients generate their stubs from the served WSDL and call Issue;
//! third-party verifiers check what they received.

use std::process::Command;

use crate::common::*;

fn verify_all(dir: &std::path::Path, s: &TestServer, expect: usize) {
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let (ok, out) = xmlsec1_verify(&text, &s.cert("sts-signing"));
        assert!(ok, "{}: xmlsec1: {out}", path.display());
        n += 1;
    }
    assert_eq!(n, expect);
}

#[test]
fn python_zeep_calls_issue_through_the_wsdl() {
    let s = start();
    let out = tempfile::tempdir().unwrap();
    let (ok, log) = run(Command::new("python3")
        .arg(peers_dir().join("zeep_issue.py"))
        .arg(format!("{}?wsdl", s.instance_url()))
        .arg("demo")
        .arg(DEMO_PASSWORD)
        .arg(out.path()));
    assert!(ok, "zeep: {log}");
    verify_all(out.path(), &s, 2);
}

#[test]
fn npm_soap_calls_issue_through_the_wsdl() {
    let s = start();
    let out = tempfile::tempdir().unwrap();
    let (ok, log) = run(Command::new("node")
        .current_dir(peers_dir())
        .arg("node_soap_issue.js")
        .arg(format!("{}?wsdl", s.instance_url()))
        .arg("demo")
        .arg(DEMO_PASSWORD)
        .arg(out.path()));
    assert!(ok, "node soap (run `make deps` to install it): {log}");
    verify_all(out.path(), &s, 2);
}
