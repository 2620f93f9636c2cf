//! Issue 19 item 2: the canonical signer's differential test. A seeded corpus of assertions
//! (SAML 2.0 and 1.1, RSA and ECDSA, every signature and digest algorithm, encrypted parts
//! and not, attribute values with every character class C14N escapes, non-ASCII, long
//! values, many attributes; see `sts::tokens::differential`) is signed as written; each
//! document is checked in-process (the digested bytes equal libxml2's exclusive C14N of the
//! parsed output, the project's libxmlsec1 verifier accepts it), then the whole corpus is
//! verified by the `xmlsec1` CLI and python `signxml`, one process per group of files.

use std::path::{Path, PathBuf};
use std::process::Command;

use sts::crypto::KeyKind;
use sts::tokens::differential::{self, Case, Source};
use sts::xmldsig::{DigestAlgorithm, SignatureAlgorithm};

use crate::common::{peers_dir, run};

/// Documents in the corpus: enough that every (SAML version, signature, digest) triple
/// comes up several times.
const CASES: usize = 360;

#[test]
fn signed_corpus_is_canonical_and_verifies_everywhere() {
    let keys = differential::keys().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut src = Source::Seeded(0x5157_2019);
    let mut cases: Vec<Case> = Vec::with_capacity(CASES);
    for i in 0..CASES {
        let case = differential::generate(&mut src).unwrap();
        if let Err(e) = differential::check(&case, keys) {
            panic!("case {i}: {e}");
        }
        cases.push(case);
    }
    // Every algorithm pair in both versions, and encrypted parts, are in the corpus.
    for saml1 in [false, true] {
        for s in SignatureAlgorithm::ALL {
            for d in DigestAlgorithm::ALL {
                assert!(
                    cases
                        .iter()
                        .any(|c| c.saml1 == saml1 && c.signature == s && c.digest == d),
                    "no case for saml1={saml1} {s:?} {d:?}"
                );
            }
        }
    }
    assert!(cases.iter().any(|c| c.encrypted));
    assert!(cases.iter().any(|c| c.xml.contains("&#xD;")));
    assert!(cases.iter().any(|c| c.xml.contains("😀")));
    assert!(cases.iter().any(|c| c.xml.len() > 20_000));

    // Groups by (version, key): one certificate and ID attribute per xmlsec1/signxml run.
    let certs = [
        (KeyKind::Rsa, write(dir.path(), "rsa.pem", &keys.rsa_cert)),
        (KeyKind::Ec, write(dir.path(), "ec.pem", &keys.ec_cert)),
    ];
    for saml1 in [false, true] {
        for (kind, cert) in &certs {
            let files: Vec<PathBuf> = cases
                .iter()
                .enumerate()
                .filter(|(_, c)| c.saml1 == saml1 && c.signature.key_kind() == *kind)
                .map(|(i, c)| write(dir.path(), &format!("case{i}.xml"), c.xml.as_bytes()))
                .collect();
            assert!(!files.is_empty());
            let (id_attr, element) = if saml1 {
                (
                    "AssertionID",
                    "urn:oasis:names:tc:SAML:1.0:assertion:Assertion",
                )
            } else {
                ("ID", "urn:oasis:names:tc:SAML:2.0:assertion:Assertion")
            };
            // xmlsec1 verifies each file named, printing OK or FAIL for each.
            let (ok, out) = run(Command::new("xmlsec1")
                .arg("--verify")
                .arg("--trusted-pem")
                .arg(cert)
                .arg(format!("--id-attr:{id_attr}"))
                .arg(element)
                .args(&files));
            let oks = out.lines().filter(|l| *l == "OK").count();
            assert!(
                ok && oks == files.len(),
                "xmlsec1 (saml1={saml1}, {kind:?}): {oks} of {} OK:\n{out}",
                files.len()
            );
            let (ok, out) = run(Command::new("python3")
                .arg(peers_dir().join("signxml_verify_many.py"))
                .arg(cert)
                .arg(id_attr)
                .args(&files));
            let oks = out.lines().filter(|l| l.starts_with("ok ")).count();
            assert!(
                ok && oks == files.len(),
                "signxml (saml1={saml1}, {kind:?}): {oks} of {} ok:\n{out}",
                files.len()
            );
        }
    }
    // And the checks can fail: one changed character, and the verifiers refuse.
    let case = cases.iter().find(|c| !c.saml1).unwrap();
    let tampered = case.xml.replacen("<saml2:Issuer>", "<saml2:Issuer>x", 1);
    assert!(sts::xmldsig::verify_enveloped(tampered.as_bytes(), "ID", case.cert(keys)).is_err());
    let bad = write(dir.path(), "tampered.xml", tampered.as_bytes());
    let (ok, _) = run(Command::new("python3")
        .arg(peers_dir().join("signxml_verify_many.py"))
        .arg(
            &certs[if case.signature.key_kind() == KeyKind::Rsa {
                0
            } else {
                1
            }]
            .1,
        )
        .arg("ID")
        .arg(&bad));
    assert!(!ok, "signxml accepted a changed assertion");
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}
