//! Issue 19 item 2: the canonical signer's differential test. A seeded corpus of assertions
//! (SAML 2.0 and 1.1, RSA and ECDSA, every signature and digest algorithm, encrypted parts
//! and not, attribute values with every character class C14N escapes, non-ASCII, long
//! values, many attributes; see `sts::tokens::differential`) is signed as written; each
//! document is checked in-process (the digested bytes equal libxml2's exclusive C14N of the
//! parsed output, the project's libxmlsec1 verifier accepts it), then the whole corpus is
//! verified by the `xmlsec1` CLI and python `signxml`, one process per group of files. RSA
//! and ECDSA on P-256, P-384 and P-521. Assertions encrypted as a whole are decrypted as
//! they go on the wire by `xmlsec1 --decrypt` with the relying party's key, and the
//! assertion inside verified by `xmlsec1`. Holder-of-key assertions with a symmetric key
//! and renewed assertions (re-signed by `tokens::canonical::sign_rewritten` from the
//! verified bytes, as a renewal edits them) are in the corpus and checked the same way.

use std::path::{Path, PathBuf};
use std::process::Command;

use sts::tokens::differential::{self, Case, KeyName, Source};
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
    for k in KeyName::ALL {
        assert!(
            cases.iter().any(|c| c.key == k),
            "no case signed with {k:?}"
        );
    }
    assert!(cases.iter().any(|c| c.encrypted));
    // Renewed assertions (re-signed from libxml2's serialisation by the canonical signer)
    // of both versions, and holder-of-key assertions with a symmetric key, renewed and not.
    for saml1 in [false, true] {
        assert!(cases.iter().any(|c| c.renewed && c.saml1 == saml1));
        assert!(cases.iter().any(|c| c.symmetric && c.saml1 == saml1));
    }
    assert!(cases.iter().any(|c| c.symmetric && c.renewed));
    assert!(cases.iter().any(|c| c.renewed && c.encrypted));
    assert!(
        cases
            .iter()
            .any(|c| c.saml1 && c.xml.contains("<saml:Advice>"))
    );
    assert!(
        cases
            .iter()
            .any(|c| !c.saml1 && c.xml.contains("<saml2:Advice>"))
    );
    assert!(cases.iter().any(|c| c.xml.contains("&#xD;")));
    assert!(cases.iter().any(|c| c.xml.contains("😀")));
    assert!(cases.iter().any(|c| c.xml.len() > 20_000));

    // Groups by (version, key): one certificate and ID attribute per xmlsec1/signxml run.
    let certs: Vec<(KeyName, PathBuf)> = KeyName::ALL
        .into_iter()
        .map(|k| (k, write(dir.path(), &format!("{k:?}.pem"), keys.get(k).1)))
        .collect();
    for saml1 in [false, true] {
        for (kind, cert) in &certs {
            let files: Vec<PathBuf> = cases
                .iter()
                .enumerate()
                .filter(|(_, c)| c.saml1 == saml1 && c.key == *kind)
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
    // Encrypted as a whole: what goes on the wire decrypts, with the relying party's key, to
    // an assertion that verifies.
    let rp_key = write(dir.path(), "rp-key.pem", &keys.rp_key);
    let whole: Vec<&Case> = cases
        .iter()
        .filter(|c| c.wire.starts_with("<saml2:EncryptedAssertion"))
        .collect();
    assert!(whole.len() >= 3, "{} encrypted assertions", whole.len());
    for (i, case) in whole.iter().enumerate() {
        assert!(!case.wire.contains("<saml2:Assertion"), "{}", case.wire);
        let file = write(dir.path(), &format!("enc{i}.xml"), case.wire.as_bytes());
        // The document on stdout; stderr carries xmlsec1's notes.
        let out = Command::new("xmlsec1")
            .arg("--decrypt")
            .arg("--privkey-pem")
            .arg(&rp_key)
            .arg(&file)
            .output()
            .unwrap();
        let plain = String::from_utf8(out.stdout).unwrap();
        assert!(
            out.status.success(),
            "xmlsec1 --decrypt: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            case.wire
        );
        let id = case
            .xml
            .split_once(" ID=\"")
            .and_then(|(_, r)| r.split_once('"'))
            .map(|(id, _)| id)
            .unwrap();
        assert!(plain.contains(&format!(" ID=\"{id}\"")), "{plain}");
        let decrypted = write(dir.path(), &format!("dec{i}.xml"), plain.as_bytes());
        let cert = &certs.iter().find(|(k, _)| *k == case.key).unwrap().1;
        let (ok, out) = run(Command::new("xmlsec1")
            .arg("--verify")
            .arg("--trusted-pem")
            .arg(cert)
            .arg("--id-attr:ID")
            .arg("urn:oasis:names:tc:SAML:2.0:assertion:Assertion")
            .arg(&decrypted));
        assert!(
            ok,
            "xmlsec1 --verify of the decrypted assertion: {out}\n{plain}"
        );
    }

    // And the checks can fail: one changed character, and the verifiers refuse.
    let case = cases.iter().find(|c| !c.saml1).unwrap();
    let tampered = case.xml.replacen("<saml2:Issuer>", "<saml2:Issuer>x", 1);
    assert!(sts::xmldsig::verify_enveloped(tampered.as_bytes(), "ID", case.cert(keys)).is_err());
    let bad = write(dir.path(), "tampered.xml", tampered.as_bytes());
    let (ok, _) = run(Command::new("python3")
        .arg(peers_dir().join("signxml_verify_many.py"))
        .arg(&certs.iter().find(|(k, _)| *k == case.key).unwrap().1)
        .arg("ID")
        .arg(&bad));
    assert!(!ok, "signxml accepted a changed assertion");
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}
