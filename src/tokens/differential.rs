//! The differential check of the canonical signer (issue 19): assertions with generated
//! content (every character class that needs escaping, non-ASCII, long values, many
//! attributes, encrypted parts, SAML 2.0 and 1.1, every signature and digest algorithm, RSA
//! and ECDSA on P-256, P-384 and P-521),
//! each checked against libxml2 and libxmlsec1. The integration test adds `xmlsec1` and
//! python `signxml` over the same documents; the `sign` fuzz target runs [`check`] on
//! fuzzer-chosen content. Test support only.

use std::sync::{Arc, OnceLock};

use chrono::{DateTime, Utc};

use crate::crypto::{Certificate, KeyKind, SigningKey};
use crate::secret::Secret;
use crate::tokens::saml2::{
    AssertionSpec, Confirmation, Delegate, Encryption, Renewing, SignWith, build_delegated,
};
use crate::tokens::xmlenc::{BlockCipher, Encrypter};
use crate::tokens::{saml1, saml2};

use crate::xmldsig::{self, DigestAlgorithm, SignatureAlgorithm};
use openssl::nid::Nid;

/// Where the choices come from: the fuzzer's bytes (zeros once they run out), or a
/// deterministic generator (splitmix64) seeded by the test.
#[derive(Debug, Clone)]
pub enum Source<'a> {
    Bytes(&'a [u8]),
    Seeded(u64),
}

impl Source<'_> {
    fn byte(&mut self) -> u8 {
        match self {
            Source::Bytes(data) => match data.split_first() {
                Some((b, rest)) => {
                    *data = rest;
                    *b
                }
                None => 0,
            },
            Source::Seeded(state) => {
                *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
                let mut z = *state;
                z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
                (z ^ (z >> 31)).to_le_bytes().first().copied().unwrap_or(0)
            }
        }
    }

    /// A number below `n` (`n` at most 256).
    fn below(&mut self, n: usize) -> usize {
        usize::from(self.byte()) % n.max(1)
    }

    fn pick<'t, T>(&mut self, items: &'t [T]) -> Option<&'t T> {
        let i = self.below(items.len());
        items.get(i)
    }

    /// Text mixing every class of character C14N treats specially, non-ASCII, the
    /// controls XML allows, and now and then a long run. (Characters XML does not allow are
    /// refused, never signed: see [`refusals`].)
    fn text(&mut self) -> String {
        const PIECES: [&str; 24] = [
            "a", "Z", "0", " ", "&", "<", ">", "\"", "'", "\t", "\n", "\r", "\r\n", "]]>",
            "\u{7f}", "\u{85}", "\u{9f}", "é", "中", "😀", "\u{2028}", "\u{FFFD}", "\u{10FFFF}",
            "&amp;",
        ];
        let len = match self.below(16) {
            0 => 200 + 20 * self.below(200),
            1 => 0,
            _ => self.below(24),
        };
        let mut s = String::new();
        for _ in 0..len {
            s.push_str(self.pick(&PIECES).copied().unwrap_or("a"));
        }
        s
    }
}

/// The signing keys of the corpus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyName {
    Rsa,
    P256,
    P384,
    P521,
}

impl KeyName {
    pub const ALL: [KeyName; 4] = [Self::Rsa, Self::P256, Self::P384, Self::P521];
    const EC: [KeyName; 3] = [Self::P256, Self::P384, Self::P521];
}

/// The keys of the corpus: RSA-2048 and EC keys on the three NIST curves XML-DSig names
/// (RFC 6931), and the relying party's RSA certificate that parts are encrypted to.
pub struct Keys {
    pub rsa: Arc<SigningKey>,
    pub rsa_cert: Vec<u8>,
    pub ec: Arc<SigningKey>,
    pub ec_cert: Vec<u8>,
    pub p384: Arc<SigningKey>,
    pub p384_cert: Vec<u8>,
    pub p521: Arc<SigningKey>,
    pub p521_cert: Vec<u8>,
    pub rp: Arc<Certificate>,
    /// The relying party's private key (PEM), which decrypts what is encrypted to it.
    pub rp_key: Vec<u8>,
}

impl Keys {
    /// The key and its PEM certificate.
    pub fn get(&self, name: KeyName) -> (&Arc<SigningKey>, &[u8]) {
        match name {
            KeyName::Rsa => (&self.rsa, &self.rsa_cert),
            KeyName::P256 => (&self.ec, &self.ec_cert),
            KeyName::P384 => (&self.p384, &self.p384_cert),
            KeyName::P521 => (&self.p521, &self.p521_cert),
        }
    }
}

/// An EC key on `curve` with a self-signed certificate (the STS generates P-256 keys only;
/// operators bring others).
fn ec_pair(alias: &str, curve: Nid, now: DateTime<Utc>) -> Result<(Vec<u8>, Vec<u8>), String> {
    let e = |e: openssl::error::ErrorStack| e.to_string();
    let group = openssl::ec::EcGroup::from_curve_name(curve).map_err(e)?;
    let key = openssl::pkey::PKey::from_ec_key(openssl::ec::EcKey::generate(&group).map_err(e)?)
        .map_err(e)?;
    let cert = crate::crypto::keygen::self_signed(&key, alias, now).map_err(e)?;
    Ok((
        key.private_key_to_pem_pkcs8().map_err(e)?,
        cert.to_pem().map_err(e)?,
    ))
}

/// The corpus keys, made once per process.
pub fn keys() -> Result<&'static Keys, String> {
    static KEYS: OnceLock<Result<Keys, String>> = OnceLock::new();
    KEYS.get_or_init(|| {
        let now = DateTime::from_timestamp(1_767_323_045, 0).ok_or("time")?;
        let e = |e: &dyn std::fmt::Display| e.to_string();
        let pair = |alias: &str, kind| -> Result<(Arc<SigningKey>, Vec<u8>), String> {
            let (pem, cert) = crate::crypto::new_key_pair(alias, kind, now).map_err(|x| e(&x))?;
            let key = SigningKey::new(alias, kind, Secret::new(pem), cert.clone(), None)
                .map_err(|x| e(&x))?;
            Ok((key, cert))
        };
        let (rsa, rsa_cert) = pair("rsa", KeyKind::Rsa)?;
        let (ec, ec_cert) = pair("ec", KeyKind::Ec)?;
        let curve = |alias: &str, nid| -> Result<(Arc<SigningKey>, Vec<u8>), String> {
            let (pem, cert) = ec_pair(alias, nid, now)?;
            let key = SigningKey::new(alias, KeyKind::Ec, Secret::new(pem), cert.clone(), None)
                .map_err(|x| e(&x))?;
            Ok((key, cert))
        };
        let (p384, p384_cert) = curve("p384", Nid::SECP384R1)?;
        let (p521, p521_cert) = curve("p521", Nid::SECP521R1)?;
        let (rp_key, rp) =
            crate::crypto::new_key_pair("rp", KeyKind::Rsa, now).map_err(|x| e(&x))?;
        let rp = Arc::new(Certificate::from_pem("rp", &rp).map_err(|x| e(&x))?);
        Ok(Keys {
            rsa,
            rsa_cert,
            ec,
            ec_cert,
            p384,
            p384_cert,
            p521,
            p521_cert,
            rp,
            rp_key,
        })
    })
    .as_ref()
    .map_err(Clone::clone)
}

/// One signed document of the corpus.
#[derive(Debug, Clone)]
pub struct Case {
    pub saml1: bool,
    pub signature: SignatureAlgorithm,
    pub digest: DigestAlgorithm,
    pub key: KeyName,
    pub encrypted: bool,
    /// Holder-of-key with a symmetric proof key (an `xenc:EncryptedKey` in its confirmation).
    pub symmetric: bool,
    /// Renewed: the verified assertion (as libxml2 serialises it, without its signature),
    /// given a new ID and a signature template as the renewal edits it, and signed again by
    /// `tokens::canonical::sign_rewritten`.
    pub renewed: bool,
    /// The signed assertion.
    pub xml: String,
    /// What goes on the wire: the signed assertion, or its `saml2:EncryptedAssertion`.
    pub wire: String,
}

impl Case {
    /// The ID attribute of the assertion.
    pub fn id_attr(&self) -> &'static str {
        if self.saml1 { saml1::ID_ATTR } else { "ID" }
    }

    /// The PEM certificate that verifies it.
    pub fn cert<'k>(&self, keys: &'k Keys) -> &'k [u8] {
        keys.get(self.key).1
    }
}

/// Builds and signs one assertion with content chosen by `src`.
pub fn generate(src: &mut Source<'_>) -> Result<Case, String> {
    let keys = keys()?;
    let saml1 = src.below(3) == 0;
    let signature = *src.pick(&SignatureAlgorithm::ALL).ok_or("alg")?;
    let digest = *src.pick(&DigestAlgorithm::ALL).ok_or("digest")?;
    let key_name = match signature.key_kind() {
        KeyKind::Rsa => KeyName::Rsa,
        KeyKind::Ec => *src.pick(&KeyName::EC).ok_or("curve")?,
    };
    let key = keys.get(key_name).0;
    let at = |s: i64| DateTime::<Utc>::from_timestamp(1_767_323_045 + s, 0).unwrap_or_default();
    let texts: Vec<String> = (0..8).map(|_| src.text()).collect();
    let t = |i: usize| texts.get(i).map_or("", String::as_str);
    let opt = |src: &mut Source<'_>, i: usize| (src.below(2) == 0).then(|| t(i));
    let many = src.below(8) == 0;
    let attributes: Vec<(String, Vec<String>)> = (0..if many { 40 } else { src.below(5) })
        .map(|_| {
            let values = (0..src.below(4)).map(|_| src.text()).collect();
            (src.text(), values)
        })
        .collect();
    let cert_der: Vec<u8> = (0..src.below(64)).map(|_| src.byte()).collect();
    let proof_key: Vec<u8> = (0..16 + src.below(17)).map(|_| src.byte()).collect();
    let encrypted_key = Encrypter::new(BlockCipher::Aes256Gcm, keys.rp.clone())?
        .encrypted_key(&proof_key)
        .map_err(|e| e.to_string())?;
    let confirmation = match src.below(4) {
        0 => Confirmation::Bearer,
        1 => Confirmation::SenderVouches,
        2 => Confirmation::HolderOfKey {
            cert_der: &cert_der,
        },
        _ => Confirmation::HolderOfSymmetricKey {
            encrypted_key: &encrypted_key,
        },
    };
    let symmetric = matches!(confirmation, Confirmation::HolderOfSymmetricKey { .. });
    let renew = src.below(3) == 0;
    let id = saml2::new_assertion_id();
    // The renew semantics of the request, recorded in an Advice.
    let advice = (src.below(3) == 0).then(|| Renewing {
        allow: src.below(2) == 0,
        ok: src.below(2) == 0,
    });
    let with = SignWith {
        key,
        signature,
        digest,
    };
    if saml1 {
        let spec = saml1::AssertionSpec {
            id: &id,
            issuer: t(0),
            issue_instant: at(0),
            name_id: t(1),
            name_id_format: t(2),
            not_before: at(0),
            not_on_or_after: at(600),
            audience: opt(src, 3),
            authn_instant: at(-5),
            authn_method: t(4),
            attributes: &attributes,
            confirmation,
        };
        let xml = saml1::build_advised(&spec, advice, Some(with)).map_err(|e| e.to_string())?;
        let case = Case {
            saml1,
            signature,
            digest,
            key: key_name,
            encrypted: false,
            symmetric,
            renewed: false,
            wire: xml.clone(),
            xml,
        };
        return if renew { renewed(case, keys) } else { Ok(case) };
    }
    let delegates: Vec<(String, String)> = (0..src.below(3))
        .map(|_| (src.text(), src.text()))
        .collect();
    let delegates: Vec<Delegate<'_>> = delegates
        .iter()
        .map(|(name, format)| Delegate {
            name_id: name,
            name_id_format: format,
            instant: at(-1),
        })
        .collect();
    let spec = AssertionSpec {
        id: &id,
        issuer: t(0),
        issue_instant: at(0),
        name_id: t(1),
        name_id_format: t(2),
        not_before: at(0),
        not_on_or_after: at(600),
        recipient: opt(src, 3),
        audience: opt(src, 4),
        authn_instant: at(-5),
        session_index: opt(src, 5),
        authn_context: t(6),
        attributes: &attributes,
        confirmation,
    };
    let encryption = match src.below(4) {
        0 => {
            let cipher = *src
                .pick(&[128u64, 192, 256])
                .ok_or("strength")?;
            let gcm = "http://www.w3.org/2009/xmlenc11#aes128-gcm";
            let cipher = BlockCipher::from_config((src.below(2) == 0).then_some(gcm), cipher)?;
            let whole = src.below(4) == 0;
            Some(Encryption {
                encrypter: Encrypter::new(cipher, keys.rp.clone())?,
                assertion: whole,
                attributes: !whole && src.below(2) == 0,
                name_id: !whole && src.below(2) == 0,
            })
        }
        _ => None,
    };
    let built = build_delegated(&spec, &delegates, advice, Some(with), encryption.as_ref())
        .map_err(|e| e.to_string())?;
    let case = Case {
        saml1,
        signature,
        digest,
        key: key_name,
        encrypted: encryption.is_some(),
        symmetric,
        renewed: false,
        xml: built.assertion,
        wire: built.wire,
    };
    // A renewal is of the assertion itself (what goes on the wire encrypted as a whole is
    // checked as issued).
    if renew && case.wire == case.xml {
        renewed(case, keys)
    } else {
        Ok(case)
    }
}

/// `case` renewed as `engine::renew` does it: verified (libxmlsec1; what remains is libxml2's
/// serialisation of the assertion without its signature), given a new ID and a signature
/// template where the schema puts the signature, and signed by the canonical signer.
fn renewed(case: Case, keys: &Keys) -> Result<Case, String> {
    let (key, cert) = keys.get(case.key);
    let verified = xmldsig::verify_enveloped(case.xml.as_bytes(), case.id_attr(), cert)
        .map_err(|e| format!("verifying before the renewal: {e}"))?;
    let old_id = verified.get().id.clone();
    let text = String::from_utf8(verified.get().xml.clone()).map_err(|e| e.to_string())?;
    let new_id = saml2::new_assertion_id();
    let text = text.replacen(
        &format!(" {}=\"{old_id}\"", case.id_attr()),
        &format!(" {}=\"{new_id}\"", case.id_attr()),
        1,
    );
    let template = xmldsig::signature_template(&new_id, case.signature, case.digest);
    // After the Issuer (SAML 2.0; libxml2 writes an empty one as `<saml2:Issuer/>`), last
    // (SAML 1.1).
    let root = verified.get().root.as_ref().map_err(|e| e.to_string())?;
    let at = if case.saml1 {
        text.rfind("</saml:Assertion>")
    } else {
        root.elements().next().map(|issuer| issuer.span.end)
    }
    .ok_or("no place for the signature")?;
    let mut edited = text;
    edited.insert_str(at, &template);
    let xml = crate::tokens::canonical::sign_rewritten(
        &edited,
        case.id_attr(),
        case.signature,
        case.digest,
        key,
    )
    .map_err(|e| format!("re-signing: {e}: {edited}"))?;
    Ok(Case {
        renewed: true,
        wire: xml.clone(),
        xml,
        ..case
    })
}

/// What is checked of every signed document: it was signed as written (not by the
/// libxmlsec1 fallback); the bytes without the signature are the ones its `DigestValue`
/// names; libxml2's exclusive C14N of the parsed document without the signature equals
/// them, and of the whole document equals the document; the project's libxmlsec1 verifier
/// accepts it with the right certificate.
pub fn check(case: &Case, keys: &Keys) -> Result<(), String> {
    let xml = case.xml.as_str();
    let fail = |what: &str| Err(format!("{what}: {xml}"));
    let (Some(start), Some(end)) = (
        xml.find("<ds:Signature xmlns:ds="),
        xml.find("</ds:Signature>"),
    ) else {
        return fail("no signature");
    };
    let end = end + "</ds:Signature>".len();
    let (Some(head), Some(signature), Some(tail)) =
        (xml.get(..start), xml.get(start..end), xml.get(end..))
    else {
        return fail("signature bounds");
    };
    if signature.contains('\n') || signature.contains("/>") {
        return fail("not signed as written (libxmlsec1 formatting)");
    }
    let digested = format!("{head}{tail}");
    let value = signature
        .split_once("<ds:DigestValue>")
        .and_then(|(_, r)| r.split_once('<'))
        .map(|(v, _)| v)
        .unwrap_or("");
    let computed = match case.digest {
        DigestAlgorithm::Sha256 => openssl::sha::sha256(digested.as_bytes()).to_vec(),
        DigestAlgorithm::Sha384 => openssl::sha::sha384(digested.as_bytes()).to_vec(),
        DigestAlgorithm::Sha512 => openssl::sha::sha512(digested.as_bytes()).to_vec(),
    };
    if crate::crypto::encoding::base64_encode(&computed) != value {
        return fail("DigestValue is not the digest of the document without its signature");
    }
    let prefixes = signature
        .split_once("PrefixList=\"")
        .and_then(|(_, r)| r.split_once('"'))
        .map_or("", |(p, _)| p);
    let c14n = xmldsig::exclusive_c14n_enveloped(xml.as_bytes(), prefixes, true)
        .map_err(|e| format!("libxml2: {e}: {xml}"))?;
    if c14n != digested.as_bytes() {
        return Err(format!(
            "libxml2's exclusive C14N differs from the digested bytes:\n{}\n{digested}",
            String::from_utf8_lossy(&c14n)
        ));
    }
    let whole = xmldsig::exclusive_c14n_enveloped(xml.as_bytes(), prefixes, false)
        .map_err(|e| format!("libxml2: {e}: {xml}"))?;
    if whole != xml.as_bytes() {
        return Err(format!(
            "the signed document is not canonical as written:\n{}\n{xml}",
            String::from_utf8_lossy(&whole)
        ));
    }
    xmldsig::verify_enveloped(xml.as_bytes(), case.id_attr(), case.cert(keys))
        .map_err(|e| format!("libxmlsec1 verifier: {e}: {xml}"))?;
    Ok(())
}

/// Characters XML 1.0 does not allow (Rust strings hold no lone surrogates).
pub const NOT_XML: [char; 8] = [
    '\u{0}', '\u{1}', '\u{8}', '\u{b}', '\u{c}', '\u{1f}', '\u{FFFE}', '\u{FFFF}',
];

/// Every value of an assertion that holds a character XML does not allow is refused with
/// the typed error (`BuildError::Char`, naming the code point), signed or not, in SAML 2.0
/// (also when encrypted: the NameID, an attribute, the whole assertion) and SAML 1.1: never
/// written with the character replaced.
pub fn refusals(keys: &Keys) -> Result<(), String> {
    let at = |s: i64| DateTime::<Utc>::from_timestamp(1_767_323_045 + s, 0).unwrap_or_default();
    let rp = Encrypter::new(BlockCipher::Aes128Cbc, keys.rp.clone())?;
    let with = SignWith {
        key: &keys.rsa,
        signature: SignatureAlgorithm::RsaSha256,
        digest: DigestAlgorithm::Sha256,
    };
    for (n, c) in NOT_XML.into_iter().enumerate() {
        let bad = format!("a{c}b");
        let sign = (n % 2 == 0).then_some(with);
        let expect = |what: &str, r: Result<String, saml2::BuildError>| match r {
            Err(saml2::BuildError::Char(e)) if e.code == u32::from(c) => Ok(()),
            Err(e) => Err(format!("{what} U+{:04X}: wrong error {e}", u32::from(c))),
            Ok(xml) => Err(format!("{what} U+{:04X}: written: {xml}", u32::from(c))),
        };
        for field in 0..11 {
            let f = |i: usize| if field == i { bad.as_str() } else { "v" };
            let attributes = vec![(f(7).to_owned(), vec![f(8).to_owned()])];
            let delegate = Delegate {
                name_id: f(9),
                name_id_format: f(10),
                instant: at(0),
            };
            let spec = AssertionSpec {
                id: "_x",
                issuer: f(0),
                issue_instant: at(0),
                name_id: f(1),
                name_id_format: f(2),
                not_before: at(0),
                not_on_or_after: at(600),
                recipient: Some(f(3)),
                audience: Some(f(4)),
                authn_instant: at(0),
                session_index: Some(f(5)),
                authn_context: f(6),
                attributes: &attributes,
                confirmation: Confirmation::Bearer,
            };
            let built = |enc: Option<&Encryption>| {
                build_delegated(&spec, &[delegate], None, sign, enc).map(|b| b.wire)
            };
            expect(&format!("saml2 field {field}"), built(None))?;
            let parts = [(true, false, false), (false, true, false), (false, false, true)];
            for (assertion, attributes, name_id) in parts {
                let enc = Encryption {
                    encrypter: rp.clone(),
                    assertion,
                    attributes,
                    name_id,
                };
                expect(&format!("saml2 encrypted field {field}"), built(Some(&enc)))?;
            }
            let spec1 = saml1::AssertionSpec {
                id: "_x",
                issuer: f(0),
                issue_instant: at(0),
                name_id: f(1),
                name_id_format: f(2),
                not_before: at(0),
                not_on_or_after: at(600),
                audience: Some(f(4)),
                authn_instant: at(0),
                authn_method: f(6),
                attributes: &attributes,
                confirmation: Confirmation::Bearer,
            };
            // SAML 1.1 has no recipient, session index or delegates, and writes a name
            // format other than its own as `unspecified`.
            if ![2, 3, 5, 9, 10].contains(&field) {
                expect(&format!("saml1 field {field}"), saml1::build(&spec1, sign))?;
            }
        }
    }
    Ok(())
}

/// The fuzz target `sign`: one assertion with fuzzer-chosen content, checked.
pub fn fuzz(data: &[u8]) -> Result<(), String> {
    let keys = keys()?;
    let case = generate(&mut Source::Bytes(data))?;
    check(&case, keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small corpus in-process (the integration test `canonical_sign` runs a larger one and
    /// adds xmlsec1 and signxml).
    #[test]
    fn generated_assertions_are_canonical_and_verify() {
        let keys = keys().unwrap();
        let mut src = Source::Seeded(19);
        for _ in 0..24 {
            let case = generate(&mut src).unwrap();
            check(&case, keys).unwrap();
        }
        // The fuzz entry point on no bytes at all: the smallest case.
        fuzz(&[]).unwrap();
    }

    #[test]
    fn characters_xml_does_not_allow_are_refused_everywhere() {
        refusals(keys().unwrap()).unwrap();
    }
}
