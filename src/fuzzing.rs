//! The bodies of the fuzz targets in `fuzz/` (cargo-fuzz), kept in the library so that the
//! inputs the fuzzer found are replayed by `cargo test` through exactly the same code (see the
//! tests below, which run every file of `fixtures/fuzz/<target>/`).
//!
//! Each function takes the fuzzer's bytes and returns `Err` with a description when a
//! property does not hold; a panic anywhere below is a finding too. Not part of the API.

use std::sync::{Arc, OnceLock};

use openssl::pkey::{PKey, Private};
use serde_json::{Value, json};

use crate::crypto::{KeyKind, SigningKey};
use crate::tokens::oidc::{
    JwsAlgorithm, JwsKey, JwsSigner, TrustedAlgorithm, TrustedKey, verify_trusted,
};
use crate::xml::{Element, Limits, Node};
use crate::xmldsig::{DigestAlgorithm, SignatureAlgorithm};

/// The fuzz targets, by name (the file names under `fuzz/fuzz_targets/`).
pub const TARGETS: [&str; 8] = [
    "xml", "soap", "rst", "filter", "jws", "jwk", "xmldsig", "sign",
];

/// Runs target `name` on `data`.
pub fn run(name: &str, data: &[u8]) -> Result<(), String> {
    match name {
        "xml" => xml(data),
        "soap" => soap(data),
        "rst" => rst(data),
        "filter" => filter(data),
        "jws" => jws(data),
        "jwk" => jwk(data),
        "xmldsig" => xmldsig(data),
        "sign" => crate::tokens::differential::fuzz(data),
        other => Err(format!("no fuzz target `{other}`")),
    }
}

fn check_spans(e: &Element, input: &[u8], within: &std::ops::Range<usize>) -> Result<(), String> {
    let s = &e.span;
    if s.start >= s.end || s.start < within.start || s.end > within.end {
        return Err(format!(
            "span {s:?} of <{}> is not inside {within:?}",
            e.local
        ));
    }
    let bytes = input.get(s.clone()).unwrap_or_default();
    if bytes.first() != Some(&b'<') || bytes.last() != Some(&b'>') {
        return Err(format!(
            "span {s:?} of <{}> is not a whole element",
            e.local
        ));
    }
    e.elements()
        .try_for_each(|c| check_spans(c, input, &(s.start + 1..s.end - 1)))
}

/// XML tree builder: no panic under two sets of limits; element spans lie inside their
/// parent's and cover `<` to `>`; text escaped by `escape_text`/`escape_attr` parses back.
pub fn xml(data: &[u8]) -> Result<(), String> {
    let small = Limits {
        max_depth: 4,
        max_elements: 40,
        max_attributes: 3,
    };
    for limits in [Limits::default(), small] {
        if let Ok(root) = crate::xml::parse(data, limits) {
            check_spans(&root, data, &(0..data.len()))?;
        }
    }
    let Ok(s) = std::str::from_utf8(data) else {
        return Ok(());
    };
    let doc = format!(
        "<r a=\"{}\">{}</r>",
        crate::xml::escape_attr(s),
        crate::xml::escape_text(s)
    );
    let want: String = s
        .chars()
        .map(|c| {
            let ok = matches!(c, '\t' | '\n' | '\r')
                || (c >= '\u{20}' && c != '\u{FFFE}' && c != '\u{FFFF}');
            if ok { c } else { '\u{FFFD}' }
        })
        .collect();
    let root = crate::xml::parse(doc.as_bytes(), Limits::default())
        .map_err(|e| format!("escaped text does not parse: {e}"))?;
    if root.attr(None, "a") != Some(want.as_str()) {
        return Err(format!("attribute round trip: {:?}", root.attr(None, "a")));
    }
    let text: String = root
        .children
        .iter()
        .map(|n| match n {
            Node::Text(t) => t.as_str(),
            Node::Element(_) => "<element>",
        })
        .collect();
    if text != want {
        return Err(format!("text round trip: {text:?}"));
    }
    Ok(())
}

/// SOAP envelope and WS-Security header reader, as `server::soap` calls them.
pub fn soap(data: &[u8]) -> Result<(), String> {
    let Ok(env) = crate::soap::parse_envelope(data, Limits::default()) else {
        return Ok(());
    };
    let Ok(mut h) = crate::soap::read_headers(&env) else {
        return Ok(());
    };
    h.read_spans(data);
    if let Some(a) = &h.saml_assertion
        && (a.first() != Some(&b'<') || a.last() != Some(&b'>'))
    {
        return Err("the saml2:Assertion span is not a whole element".into());
    }
    Ok(())
}

/// RST parser on the Body of an envelope (or on the document element), and the tokens of
/// an `OnBehalfOf` or `ActAs`, as `server::soap` reads them.
pub fn rst(data: &[u8]) -> Result<(), String> {
    let body = match crate::soap::parse_envelope(data, Limits::default()) {
        Ok(env) => env.body,
        Err(_) => match crate::xml::parse(data, Limits::default()) {
            Ok(root) => root,
            Err(_) => return Ok(()),
        },
    };
    let Ok(rst) = crate::wstrust::parse_rst(&body, data) else {
        return Ok(());
    };
    for t in [&rst.validate_target, &rst.cancel_target]
        .into_iter()
        .flatten()
    {
        if let crate::wstrust::Target::Token(b) = t
            && (b.first() != Some(&b'<') || b.last() != Some(&b'>'))
        {
            return Err("a target token is not a whole element".into());
        }
    }
    for el in [&rst.on_behalf_of, &rst.act_as].into_iter().flatten() {
        let mut h = crate::soap::RequestHeaders::default();
        if crate::soap::read_security(el, &mut h).is_ok() {
            h.read_spans(data);
        }
    }
    Ok(())
}

/// CREST `_queryFilter` parser: no panic; an error's position lies inside the input.
pub fn filter(data: &[u8]) -> Result<(), String> {
    let s = String::from_utf8_lossy(data);
    match crate::store::filter::parse(&s) {
        Err(e) if e.pos > s.len() => Err(format!("error position {} past the end", e.pos)),
        _ => Ok(()),
    }
}

/// Keys and one token per algorithm, made once per process.
struct JwsState {
    signers: Vec<JwsSigner>,
    trusted: Vec<TrustedKey>,
    /// (algorithm, token) signed by the signers above, and one EdDSA token.
    tokens: Vec<(TrustedAlgorithm, String)>,
}

fn signing_key(kind: KeyKind) -> Result<Arc<SigningKey>, String> {
    let (key, cert) = crate::crypto::new_key_pair(
        "fuzz",
        kind,
        crate::clock::Clock::now(&crate::clock::SystemClock),
    )
    .map_err(|e| e.to_string())?;
    SigningKey::new("fuzz", kind, crate::secret::Secret::new(key), cert, None)
        .map_err(|e| e.to_string())
}

fn public(k: &PKey<Private>) -> Result<PKey<openssl::pkey::Public>, String> {
    let pem = k.public_key_to_pem().map_err(|e| e.to_string())?;
    PKey::public_key_from_pem(&pem).map_err(|e| e.to_string())
}

fn jws_state() -> Result<JwsState, String> {
    let err = |e: crate::tokens::oidc::JwtError| e.to_string();
    let rsa = signing_key(KeyKind::Rsa)?;
    let ec = signing_key(KeyKind::Ec)?;
    let secret = b"0123456789abcdef0123456789abcdef".to_vec();
    let hmac = || JwsKey::Hmac(crate::secret::Secret::new(secret.clone()));
    let signers = vec![
        JwsSigner::new(JwsAlgorithm::Hs256, hmac(), false).map_err(err)?,
        JwsSigner::new(JwsAlgorithm::Rs256, JwsKey::Private(rsa.clone()), false).map_err(err)?,
        JwsSigner::new(JwsAlgorithm::Ps256, JwsKey::Private(rsa.clone()), true).map_err(err)?,
        JwsSigner::new(JwsAlgorithm::Es256, JwsKey::Private(ec.clone()), false).map_err(err)?,
    ];
    let ed = PKey::generate_ed25519().map_err(|e| e.to_string())?;
    let trusted = vec![
        TrustedKey::Hmac(crate::secret::Secret::new(secret.clone())),
        TrustedKey::Public {
            kid: signers.get(1).and_then(JwsSigner::kid).map(str::to_owned),
            key: public(rsa.openssl_key())?,
            kind: KeyKind::Rsa,
            curve: None,
        },
        TrustedKey::Public {
            kid: None,
            key: public(ec.openssl_key())?,
            kind: KeyKind::Ec,
            curve: Some(openssl::nid::Nid::X9_62_PRIME256V1),
        },
        TrustedKey::Ed25519 {
            kid: Some("ed".into()),
            key: public(&ed)?,
        },
    ];
    let claims =
        json!({"iss": "https://sts.example", "sub": "alice", "aud": "rp", "exp": 4_000_000_000u64});
    let mut tokens = Vec::new();
    for s in &signers {
        tokens.push((
            TrustedAlgorithm::Jws(s.algorithm()),
            s.sign(&claims).map_err(err)?,
        ));
    }
    use base64::Engine as _;
    let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    let input = format!(
        "{}.{}",
        b64(br#"{"alg":"EdDSA","kid":"ed"}"#),
        b64(claims.to_string().as_bytes())
    );
    let sig = openssl::sign::Signer::new_without_digest(&ed)
        .and_then(|mut s| s.sign_oneshot_to_vec(input.as_bytes()))
        .map_err(|e| e.to_string())?;
    tokens.push((TrustedAlgorithm::EdDsa, format!("{input}.{}", b64(&sig))));
    Ok(JwsState {
        signers,
        trusted,
        tokens,
    })
}

fn state<T>(
    cell: &'static OnceLock<Result<T, String>>,
    init: fn() -> Result<T, String>,
) -> Result<&'static T, String> {
    cell.get_or_init(init)
        .as_ref()
        .map_err(|e| format!("fuzz set-up failed: {e}"))
}

/// Every way the STS verifies a JWS, on one token: the signers' own `verify`, and
/// `verify_trusted` with `allowed`. Returns whether any of them accepted it.
fn jws_accepts(st: &JwsState, token: &str, allowed: &[TrustedAlgorithm]) -> Vec<String> {
    let mut by = Vec::new();
    for s in &st.signers {
        if s.verify(token).is_ok() {
            by.push(format!("JwsSigner({})", s.algorithm().name()));
        }
    }
    if verify_trusted(token, allowed, &st.trusted).is_ok() {
        by.push("verify_trusted".to_owned());
    }
    let _ = crate::tokens::oidc::unverified_claim(token, "iss");
    by
}

/// JWS compact parser and verifiers. First byte even: the rest is a token, which no
/// verifier may accept (the fuzzer holds no key). Odd: the rest are edits (see [`mutate`])
/// of a token signed at start-up, chosen by the second byte; a verifier may accept the
/// result only if its signed part (`header.payload`) is the original's.
pub fn jws(data: &[u8]) -> Result<(), String> {
    static STATE: OnceLock<Result<JwsState, String>> = OnceLock::new();
    let st = state(&STATE, jws_state)?;
    let all = [
        JwsAlgorithm::Hs256,
        JwsAlgorithm::Hs384,
        JwsAlgorithm::Hs512,
        JwsAlgorithm::Rs256,
        JwsAlgorithm::Rs384,
        JwsAlgorithm::Rs512,
        JwsAlgorithm::Ps256,
        JwsAlgorithm::Es256,
        JwsAlgorithm::Es384,
        JwsAlgorithm::Es512,
    ]
    .map(TrustedAlgorithm::Jws);
    let mut allowed = all.to_vec();
    allowed.push(TrustedAlgorithm::EdDsa);
    match data {
        [] => Ok(()),
        [mode, rest @ ..] if mode % 2 == 0 => {
            let token = String::from_utf8_lossy(rest);
            let by = jws_accepts(st, &token, &allowed);
            if by.is_empty() {
                Ok(())
            } else {
                Err(format!("a token nobody signed was accepted by {by:?}"))
            }
        }
        [_, which, ops @ ..] => {
            let Some((alg, original)) = pick(&st.tokens, *which) else {
                return Ok(());
            };
            let dict: [&[u8]; 8] = [
                b".",
                b"=",
                b" ",
                b"-",
                b"_",
                b"eyJhbGciOiJub25lIn0",
                b"AAAA",
                b"\n",
            ];
            let bytes = mutate(original.as_bytes(), ops, &dict);
            let token = String::from_utf8_lossy(&bytes);
            let by = jws_accepts(st, &token, &[*alg]);
            let signed = |t: &str| t.trim().rsplit_once('.').map(|(s, _)| s.to_owned());
            if !by.is_empty() && signed(&token) != signed(original) {
                return Err(format!("a changed token was accepted by {by:?}: {token:?}"));
            }
            Ok(())
        }
        [_] => Ok(()),
    }
}

/// JWK reader for keys of other issuers: no panic on any JSON.
pub fn jwk(data: &[u8]) -> Result<(), String> {
    if let Ok(v) = serde_json::from_slice::<Value>(data)
        && let Ok(k) = TrustedKey::from_jwk(&v)
    {
        for a in [
            "HS256", "RS256", "PS256", "ES256", "ES384", "ES512", "EdDSA",
        ] {
            if let Some(a) = TrustedAlgorithm::from_name(a) {
                let _ = k.fits(a);
            }
        }
    }
    Ok(())
}

/// The element of `items` that the fuzzer's byte `which` chooses (modulo the length).
fn pick<T>(items: &[T], which: u8) -> Option<&T> {
    usize::from(which)
        .checked_rem(items.len())
        .and_then(|i| items.get(i))
}

/// Applies edits to `doc`. Each edit is 6 bytes `[kind, p, p, q, q, n]`, `p` and `q`
/// big-endian positions (modulo the length + 1):
/// 0 set byte p to n; 1 insert byte n at p; 2 delete n % 16 + 1 bytes at p; 3 insert
/// `dict[n]` at p; 4 copy the n * 4 + 1 bytes at p to q; 5 move them there; 6 flip bit
/// n % 8 of byte p. At most 16 edits are read.
pub fn mutate(doc: &[u8], ops: &[u8], dict: &[&[u8]]) -> Vec<u8> {
    let mut out = doc.to_vec();
    for op in ops.chunks_exact(6).take(16) {
        let &[kind, p_hi, p_lo, q_hi, q_lo, n] = op else {
            continue;
        };
        let at = |hi: u8, lo: u8, len: usize| usize::from(u16::from_be_bytes([hi, lo])) % (len + 1);
        let p = at(p_hi, p_lo, out.len());
        let span = p..(p + usize::from(n) * 4 + 1).min(out.len());
        match kind % 7 {
            0 => {
                if let Some(b) = out.get_mut(p) {
                    *b = n;
                }
            }
            1 => out.insert(p, n),
            2 => {
                let end = (p + usize::from(n % 16) + 1).min(out.len());
                out.drain(p..end);
            }
            3 => {
                if let Some(piece) = pick(dict, n) {
                    out.splice(p..p, piece.iter().copied());
                }
            }
            4 => {
                let piece = out.get(span).map(<[u8]>::to_vec).unwrap_or_default();
                let q = at(q_hi, q_lo, out.len());
                out.splice(q..q, piece);
            }
            5 => {
                let piece: Vec<u8> = out.drain(span).collect();
                let q = at(q_hi, q_lo, out.len());
                out.splice(q..q, piece);
            }
            6 => {
                if let Some(b) = out.get_mut(p) {
                    *b ^= 1 << (n % 8);
                }
            }
            _ => {}
        }
    }
    out
}

/// One signed assertion per key kind, its certificate, and what verification of the
/// unchanged document yields (the tree of the signed content, spans cleared).
struct DsigState {
    docs: Vec<(Vec<u8>, Vec<u8>, String, Element)>,
}

fn without_spans(mut e: Element) -> Element {
    e.span = 0..0;
    e.children = e
        .children
        .into_iter()
        .map(|n| match n {
            Node::Element(c) => Node::Element(without_spans(c)),
            t => t,
        })
        .collect();
    e
}

/// The verified content as a namespace-resolved tree: element and attribute names with
/// their namespace URIs, attribute values, text, order. Namespace declarations and
/// prefixes, attribute order and quoting, and markup inside tags are not content.
fn content(xml: &[u8]) -> Result<Element, String> {
    crate::xml::parse(xml, Limits::default())
        .map(without_spans)
        .map_err(|e| format!("the verified content does not parse: {e}"))
}

fn dsig_state() -> Result<DsigState, String> {
    let now = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
    let attributes = vec![
        (
            "role".to_owned(),
            vec!["user".to_owned(), "a<b&c".to_owned()],
        ),
        ("mail".to_owned(), vec!["alice@example.com".to_owned()]),
    ];
    let spec = crate::tokens::saml2::AssertionSpec {
        id: "_0123456789abcdef0123456789abcdef",
        issuer: "https://sts.example/sts",
        issue_instant: now,
        name_id: "alice",
        name_id_format: crate::xml::ns::NAMEID_UNSPECIFIED,
        not_before: now,
        not_on_or_after: now + chrono::Duration::minutes(10),
        recipient: Some("https://rp.example/acs"),
        audience: Some("https://rp.example"),
        authn_instant: now,
        session_index: Some("s1"),
        authn_context: crate::xml::ns::AC_PASSWORD,
        attributes: &attributes,
        confirmation: crate::tokens::saml2::Confirmation::Bearer,
    };
    let mut docs = Vec::new();
    for (kind, sig, digest) in [
        (
            KeyKind::Rsa,
            SignatureAlgorithm::RsaSha256,
            DigestAlgorithm::Sha256,
        ),
        (
            KeyKind::Ec,
            SignatureAlgorithm::EcdsaSha384,
            DigestAlgorithm::Sha512,
        ),
    ] {
        let key = signing_key(kind)?;
        let sign = crate::tokens::saml2::SignWith {
            key: &key,
            signature: sig,
            digest,
        };
        let built =
            crate::tokens::saml2::build(&spec, Some(sign), None).map_err(|e| e.to_string())?;
        let doc = built.assertion.into_bytes();
        let v = crate::xmldsig::verify_enveloped(&doc, "ID", key.cert_pem())
            .map_err(|e| format!("the unchanged assertion does not verify: {e}"))?;
        let tree = content(&v.get().xml)?;
        docs.push((doc, key.cert_pem().to_vec(), v.get().id.clone(), tree));
    }
    Ok(DsigState { docs })
}

/// XML-DSig verification of a signed assertion changed by edits (see [`mutate`]; the first
/// byte picks the RSA or the EC assertion). Verification must fail unless the verified
/// content (see `content`) and ID are the original's.
pub fn xmldsig(data: &[u8]) -> Result<(), String> {
    static STATE: OnceLock<Result<DsigState, String>> = OnceLock::new();
    let st = state(&STATE, dsig_state)?;
    let Some((which, ops)) = data.split_first() else {
        return Ok(());
    };
    let Some((doc, cert, id, tree)) = pick(&st.docs, *which) else {
        return Ok(());
    };
    let dict: [&[u8]; 12] = [
        b" ",
        b"\n",
        b"<!---->",
        b"&#x41;",
        b" xmlns:x=\"urn:x\"",
        b" ID=\"_x\"",
        b"<saml2:Assertion xmlns:saml2=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"_e\">",
        b"</saml2:Assertion>",
        b"<ds:Object>",
        b"</ds:Object>",
        b"<![CDATA[x]]>",
        b"<?pi x?>",
    ];
    let changed = mutate(doc, ops, &dict);
    let bytes = crate::xmldsig::verify_enveloped(&changed, "ID", cert);
    // The same verification read from libxmlsec1's tree (what Validate reads) agrees with
    // the serialised reading: same verdict, same ID, signature value and content.
    let read = crate::xmldsig::verify_enveloped_tree(&changed, "ID", cert);
    match (&bytes, &read) {
        (Ok(b), Ok(r)) => {
            let b = b.get();
            let r = r.get();
            if b.id != r.id
                || b.signature_value != r.signature_value
                || b.root.clone().map(without_spans).ok() != r.root.clone().ok()
            {
                return Err(format!(
                    "the tree and the bytes of a verified assertion differ: {}",
                    String::from_utf8_lossy(&changed)
                ));
            }
        }
        (Err(_), Err(_)) => {}
        _ => {
            return Err(format!(
                "verification differs between the tree and the bytes reading: {}",
                String::from_utf8_lossy(&changed)
            ));
        }
    }
    if let Ok(v) = bytes {
        let got = content(&v.get().xml)?;
        if got != *tree || v.get().id != *id {
            return Err(format!(
                "a changed assertion verified with other content: {}",
                String::from_utf8_lossy(&changed)
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Replays every file of `fixtures/fuzz/<target>/`: inputs the fuzzer found crashing
    /// (or breaking a property), kept so the fix stays.
    fn replay(target: &str) {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/fuzz")
            .join(target);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return;
        };
        for e in entries {
            let path = e.unwrap().path();
            let data = std::fs::read(&path).unwrap();
            match std::panic::catch_unwind(|| run(target, &data)) {
                Ok(Ok(())) => {}
                Ok(Err(msg)) => panic!("{}: {msg}", path.display()),
                Err(_) => panic!("{}: the target panicked (see above)", path.display()),
            }
        }
    }

    #[test]
    fn fuzz_regressions_xml() {
        replay("xml");
    }

    #[test]
    fn fuzz_regressions_soap() {
        replay("soap");
    }

    #[test]
    fn fuzz_regressions_rst() {
        replay("rst");
    }

    #[test]
    fn fuzz_regressions_filter() {
        replay("filter");
    }

    #[test]
    fn fuzz_regressions_jws() {
        replay("jws");
    }

    #[test]
    fn fuzz_regressions_jwk() {
        replay("jwk");
    }

    #[test]
    fn fuzz_regressions_xmldsig() {
        replay("xmldsig");
    }

    #[test]
    fn unchanged_documents_pass_and_edits_apply() {
        // No edits: the original token and assertion are accepted, and that is no finding.
        assert_eq!(jws(&[1, 0]), Ok(()));
        assert_eq!(xmldsig(&[0]), Ok(()));
        assert_eq!(xmldsig(&[1]), Ok(()));
        assert_eq!(mutate(b"abc", &[1, 0, 1, 0, 0, b'x'], &[]), b"axbc");
        assert_eq!(mutate(b"abcd", &[4, 0, 0, 0, 4, 0], &[]), b"abcda");
    }
}
