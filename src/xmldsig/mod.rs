//! XML-DSig enveloped signatures over documents this STS builds (the `sign` module: over the
//! canonical bytes as written, no tree), and verification of signed documents it receives,
//! done by libxmlsec1 (see the `ffi` module), which also signs what is not canonical as
//! written (markup added unchecked; a renewed assertion is written again in canonical form
//! by `tokens::canonical` and signed as written instead).
//!
//! A [`Verified`] value can only be built by the verifiers ([`verify_enveloped_with`],
//! [`verify_enveloped_tree_with`], [`verify_message`]): code that needs a verified document
//! takes a `Verified<_>`, so skipping verification does not compile.

mod ffi;
mod sign;

use std::cell::RefCell;
use std::collections::HashMap;

pub use ffi::FfiError;
pub use sign::{Enveloped, sign_canonical};

use crate::crypto::{KeyKind, SigningKey};

use crate::xml::ns::{EXC_C14N, WSSE, WSU};
use crate::xml::write::Writer;

use crate::xml::ns::DS;

/// Errors of signing and verification.
#[derive(Debug, thiserror::Error)]
pub enum DsigError {
    #[error(transparent)]
    Native(#[from] FfiError),
    #[error("signature algorithm {sig:?} needs an {needs} key, but key `{alias}` is {has}")]
    KeyMismatch {
        sig: SignatureAlgorithm,
        needs: &'static str,
        has: &'static str,
        alias: String,
    },
    #[error("the signature does not cover exactly the document element (references: {0:?})")]
    WrongReference(Vec<String>),
    #[error("the signed document is not acceptable: {0}")]
    Shape(String),
    #[error(transparent)]
    Char(#[from] crate::xml::write::InvalidChar),
    #[error("OpenSSL failed to sign: {0}")]
    Crypto(#[from] openssl::error::ErrorStack),
}

/// Signature methods offered per instance (`saml2-signature-algorithm`). SHA-1 is not one:
/// nothing here can sign with it (and [`verify_enveloped_with`] refuses it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureAlgorithm {
    RsaSha256,
    RsaSha384,
    RsaSha512,
    EcdsaSha256,
    EcdsaSha384,
    EcdsaSha512,
}

impl SignatureAlgorithm {
    pub const ALL: [SignatureAlgorithm; 6] = [
        Self::RsaSha256,
        Self::RsaSha384,
        Self::RsaSha512,
        Self::EcdsaSha256,
        Self::EcdsaSha384,
        Self::EcdsaSha512,
    ];

    pub fn uri(self) -> &'static str {
        match self {
            Self::RsaSha256 => "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
            Self::RsaSha384 => "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384",
            Self::RsaSha512 => "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
            Self::EcdsaSha256 => "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
            Self::EcdsaSha384 => "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384",
            Self::EcdsaSha512 => "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512",
        }
    }

    pub fn from_uri(uri: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.uri() == uri)
    }

    pub fn key_kind(self) -> KeyKind {
        match self {
            Self::RsaSha256 | Self::RsaSha384 | Self::RsaSha512 => KeyKind::Rsa,
            _ => KeyKind::Ec,
        }
    }
}

/// Digest methods offered per instance (`saml2-digest-algorithm`); SHA-1 is not one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigestAlgorithm {
    Sha256,
    Sha384,
    Sha512,
}

impl DigestAlgorithm {
    pub const ALL: [DigestAlgorithm; 3] = [Self::Sha256, Self::Sha384, Self::Sha512];

    pub fn uri(self) -> &'static str {
        match self {
            Self::Sha256 => "http://www.w3.org/2001/04/xmlenc#sha256",
            Self::Sha384 => "http://www.w3.org/2001/04/xmldsig-more#sha384",
            Self::Sha512 => "http://www.w3.org/2001/04/xmlenc#sha512",
        }
    }

    pub fn from_uri(uri: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.uri() == uri)
    }
}

thread_local! {
    /// Native keys per thread: OpenSSL 3 makes duplicating a key with its certificate cost
    /// ~135 us, far more than keeping one per worker thread.
    static NATIVE_KEYS: RefCell<HashMap<u64, ffi::Key>> = RefCell::new(HashMap::new());
    /// Verification keys per thread, by the certificate PEM they were read from: a trusted
    /// certificate is parsed once per thread and key generation, not per request. Keyed by
    /// the bytes themselves (compared whole), so a rotated or different certificate is
    /// never answered with another's key.
    static VERIFY_KEYS: RefCell<Vec<(Vec<u8>, std::rc::Rc<ffi::Key>)>> =
        const { RefCell::new(Vec::new()) };
}

/// Certificates whose keys a thread keeps (the instances' signing certificates, current and
/// previous, and the message-signing certificates of recent clients); the oldest goes first.
const VERIFY_KEYS_PER_THREAD: usize = 32;

/// Empties this thread's verification keys, so that the next verification reads its
/// certificate again (benchmarks compare that with the kept key).
#[cfg(any(test, feature = "test-util"))]
pub fn forget_verify_keys() {
    VERIFY_KEYS.with(|cell| cell.borrow_mut().clear());
}

/// The public key of `cert_pem`, parsed once per thread (see `VERIFY_KEYS`).
fn verify_key(cert_pem: &[u8]) -> Result<std::rc::Rc<ffi::Key>, DsigError> {
    VERIFY_KEYS.with(|cell| {
        let mut keys = cell.borrow_mut();
        if let Some(pos) = keys.iter().position(|(pem, _)| pem.as_slice() == cert_pem) {
            // Most recently used last, so that eviction takes the least recently used.
            let entry = keys.remove(pos);
            let key = entry.1.clone();
            keys.push(entry);
            return Ok(key);
        }
        let key = std::rc::Rc::new(ffi::Key::public_from_cert(cert_pem)?);
        if keys.len() >= VERIFY_KEYS_PER_THREAD {
            keys.remove(0);
        }
        keys.push((cert_pem.to_vec(), key.clone()));
        Ok(key)
    })
}

/// The `ds:Signature` template for an enveloped signature over the element whose ID is
/// `reference_id`: exclusive C14N (with `xs` as inclusive prefix, because SAML attribute
/// values name `xs:` types in attribute content), the chosen algorithms, and an empty
/// `X509Certificate` that libxmlsec1 fills with the signing certificate.
pub fn signature_template(
    reference_id: &str,
    sig: SignatureAlgorithm,
    digest: DigestAlgorithm,
) -> String {
    signature_template_with(reference_id, sig, digest, "xs")
}

/// [`signature_template`] with the given inclusive prefixes (none: no
/// `ec:InclusiveNamespaces`).
pub fn signature_template_with(
    reference_id: &str,
    sig: SignatureAlgorithm,
    digest: DigestAlgorithm,
    prefixes: &str,
) -> String {
    let mut w = Writer::with_capacity(1024);
    w.start("ds:Signature").ns("ds", DS);
    w.start("ds:SignedInfo");
    w.start("ds:CanonicalizationMethod")
        .attr("Algorithm", EXC_C14N)
        .end();
    w.start("ds:SignatureMethod")
        .attr("Algorithm", sig.uri())
        .end();
    sign::reference_head(&mut w, reference_id, prefixes, digest);
    // Empty elements that libxmlsec1 fills in, written open and closed as it expects.
    w.element("ds:DigestValue", "");
    w.end().end();
    w.element("ds:SignatureValue", "");
    w.start("ds:KeyInfo");
    w.start("ds:X509Data");
    w.element("ds:X509Certificate", "");
    w.finish()
}

/// Signs a document that contains a template from [`signature_template`]; `id_attr` names the
/// root element's ID attribute. Returns the signed root element, serialised.
pub fn sign_enveloped(
    xml: &[u8],
    id_attr: &str,
    sig: SignatureAlgorithm,
    key: &SigningKey,
) -> Result<Vec<u8>, DsigError> {
    let _timed = crate::metrics::time(crate::metrics::Stage::Sign);
    if sig.key_kind() != key.kind() {
        return Err(DsigError::KeyMismatch {
            sig,
            needs: sig.key_kind().name(),
            has: key.kind().name(),
            alias: key.alias().to_owned(),
        });
    }
    let mut doc = ffi::Doc::parse(xml)?;
    doc.register_root_id(id_attr)?;
    NATIVE_KEYS.with(|cell| -> Result<(), DsigError> {
        let mut keys = cell.borrow_mut();
        let native = match keys.entry(key.id()) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(v) => v.insert(ffi::Key::private_with_cert(
                key.key_pem().expose(),
                key.cert_pem(),
            )?),
        };
        ffi::sign(&mut doc, native)?;
        Ok(())
    })?;
    Ok(doc.root_to_bytes()?)
}

/// Proof that libxmlsec1 verified a signature. Only this module can create it.
#[derive(Debug, Clone, Copy)]
pub struct Proof(());

/// A value whose signature was verified; the field is private and the only constructor is
/// [`verify_enveloped`].
#[derive(Debug, Clone)]
pub struct Verified<T> {
    value: T,
    _proof: Proof,
}

impl<T> Verified<T> {
    pub fn get(&self) -> &T {
        &self.value
    }

    /// The verified value itself (the proof stays behind: what is taken out is no longer
    /// marked as verified).
    pub fn into_inner(self) -> T {
        self.value
    }
}

/// The signed element without its signature, re-serialised from the verified tree: exactly
/// the bytes the signature covers. Callers act on these only, never on the document they
/// received, which defeats signature wrapping.
#[derive(Debug, Clone)]
pub struct SignedElement {
    pub id: String,
    pub xml: Vec<u8>,
    /// `xml` parsed (once, here, with the default limits), so that callers read the verified
    /// content without parsing it again; the parse error if it could not be read.
    pub root: Result<crate::xml::Element, crate::xml::XmlError>,
    /// The text of the verified `ds:SignatureValue`, without whitespace.
    pub signature_value: String,
}

/// [`SignedElement`] for callers that read the content only: the element is read from the
/// very tree libxmlsec1 verified, after the signature was removed from it (what the enveloped
/// signature covers), without serialising and parsing it again. Its spans are empty.
#[derive(Debug, Clone)]
pub struct SignedTree {
    pub id: String,
    /// The verified element, read within the default limits; the error if it could not be.
    pub root: Result<crate::xml::Element, crate::xml::XmlError>,
    /// The text of the verified `ds:SignatureValue`, without whitespace.
    pub signature_value: String,
}

/// Structural rules, checked on libxml2's tree of the document before libxmlsec1 verifies
/// it: one `ds:Signature` in the whole tree, a direct child of the document element, with
/// one `ds:Reference` and no `ds:Object` (whose content an enveloped signature would not
/// cover).
fn check_shape(doc: &ffi::Doc) -> Result<(), DsigError> {
    let shape = doc.enveloped_shape(DS)?;
    if shape.signatures != 1 {
        return Err(DsigError::Shape(
            "exactly one ds:Signature is required".into(),
        ));
    }
    if !shape.child_of_root {
        return Err(DsigError::Shape(
            "ds:Signature must be a child of the document element".into(),
        ));
    }
    if shape.objects != 0 || shape.references != 1 {
        return Err(DsigError::Shape(
            "ds:Signature must hold one ds:Reference and no ds:Object".into(),
        ));
    }
    Ok(())
}

/// Verifies the message signature of a SOAP envelope: the `ds:Signature` in its
/// `soap:Header/wsse:Security` (exactly one of each on the path), with the key of
/// `cert_pem` only. Every `wsu:Id` of the message is declared an ID first, and a value used
/// twice is refused, so each reference names exactly one element. Returns the IDs the
/// signature covers (each reference must be a same-document `#id`); the caller checks that
/// they are the elements it acts on.
pub fn verify_message(
    envelope: &[u8],
    soap_ns: &str,
    cert_pem: &[u8],
) -> Result<Verified<Vec<String>>, DsigError> {
    let _timed = crate::metrics::time(crate::metrics::Stage::Verify);
    let mut doc = ffi::Doc::parse(envelope)?;
    doc.register_ids(WSU, "Id")?;
    let key = verify_key(cert_pem)?;
    let uris = ffi::verify_at(
        &doc,
        &[(soap_ns, "Header"), (WSSE, "Security"), (DS, "Signature")],
        &key,
    )?;
    let ids = uris
        .iter()
        .map(|u| {
            u.strip_prefix('#')
                .filter(|id| !id.is_empty())
                .map(str::to_owned)
        })
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| DsigError::WrongReference(uris.clone()))?;
    Ok(Verified {
        value: ids,
        _proof: Proof(()),
    })
}

/// Verifies an enveloped signature over the document element with the key of `trusted_cert_pem`
/// (never with a key named in the document). The signature must have exactly one reference,
/// and it must point at the document element's `id_attr` value. (The engine uses
/// [`verify_enveloped_tree`] or [`verify_enveloped_with`]; this one is for tests and
/// benchmarks.)
#[cfg(any(test, feature = "test-util"))]
pub fn verify_enveloped(
    xml: &[u8],
    id_attr: &str,
    trusted_cert_pem: &[u8],
) -> Result<Verified<SignedElement>, DsigError> {
    verify_enveloped_with(xml, |_, _| id_attr, &[trusted_cert_pem])
}

/// [`verify_enveloped`] with the ID attribute chosen by the document element's namespace
/// URI and local name (`id_attr`), and the certificates tried in order until one verifies
/// (a rotated key's previous certificate after the current one). The document is parsed
/// and its shape checked once, whatever the number of certificates; the error is the last
/// certificate's.
pub fn verify_enveloped_with<'a>(
    xml: &[u8],
    id_attr: impl Fn(Option<&str>, &str) -> &'a str,
    trusted_certs: &[&[u8]],
) -> Result<Verified<SignedElement>, DsigError> {
    let _timed = crate::metrics::time(crate::metrics::Stage::Verify);
    let (doc, id, signature_value) = verified_doc(xml, id_attr, trusted_certs)?;
    let xml = doc.root_to_bytes()?;
    let root = crate::xml::parse(&xml, crate::xml::Limits::default());
    Ok(Verified {
        value: SignedElement {
            id,
            xml,
            root,
            signature_value,
        },
        _proof: Proof(()),
    })
}

/// [`verify_enveloped`] returning the verified element as read from libxmlsec1's tree
/// ([`SignedTree`]): no serialisation and second parse.
pub fn verify_enveloped_tree(
    xml: &[u8],
    id_attr: &str,
    trusted_cert_pem: &[u8],
) -> Result<Verified<SignedTree>, DsigError> {
    verify_enveloped_tree_with(xml, |_, _| id_attr, &[trusted_cert_pem])
}

/// [`verify_enveloped_with`] returning a [`SignedTree`].
pub fn verify_enveloped_tree_with<'a>(
    xml: &[u8],
    id_attr: impl Fn(Option<&str>, &str) -> &'a str,
    trusted_certs: &[&[u8]],
) -> Result<Verified<SignedTree>, DsigError> {
    let _timed = crate::metrics::time(crate::metrics::Stage::Verify);
    let (doc, id, signature_value) = verified_doc(xml, id_attr, trusted_certs)?;
    let root = doc.root_element(crate::xml::Limits::default());
    Ok(Verified {
        value: SignedTree {
            id,
            root,
            signature_value,
        },
        _proof: Proof(()),
    })
}

/// The document `xml`, parsed once, its shape checked and its signature verified with one
/// of `trusted_certs`, then removed; with the ID the signature covers and its value. Each
/// call has its own document and signature context: nothing is shared between calls but
/// the per-thread public keys (keyed by the certificate bytes, see `VERIFY_KEYS`).
fn verified_doc<'a>(
    xml: &[u8],
    id_attr: impl Fn(Option<&str>, &str) -> &'a str,
    trusted_certs: &[&[u8]],
) -> Result<(ffi::Doc, String, String), DsigError> {
    let mut doc = ffi::Doc::parse(xml)?;
    check_shape(&doc)?;
    let (ns, local) = doc.root_name()?;
    let id = doc.register_root_id(id_attr(ns.as_deref(), &local))?;
    let mut outcome = Err(DsigError::Native(FfiError::KeyLoad));
    for cert in trusted_certs {
        outcome = verify_root_with(&doc, &id, cert);
        if outcome.is_ok() {
            break;
        }
    }
    outcome?;
    let signature_value = doc.signature_value(DS)?;
    doc.remove_signature()?;
    Ok((doc, id, signature_value))
}

/// One certificate's verdict on `doc`, whose document element has the ID `id`: the
/// signature verifies with its key and has one reference, to `#id`.
fn verify_root_with(doc: &ffi::Doc, id: &str, cert_pem: &[u8]) -> Result<(), DsigError> {
    let key = verify_key(cert_pem)?;
    let uris = ffi::verify(doc, &key)?;
    match uris.as_slice() {
        [uri] if uri.strip_prefix('#') == Some(id) => Ok(()),
        _ => Err(DsigError::WrongReference(uris)),
    }
}

/// libxml2's exclusive C14N of `xml`, without its `ds:Signature` when `enveloped` (the
/// enveloped-signature transform: what a verifier digests), with the inclusive `prefixes`
/// (space-separated); for checking that what the signer digested is canonical.
#[cfg(any(test, feature = "test-util"))]
pub fn exclusive_c14n_enveloped(
    xml: &[u8],
    prefixes: &str,
    enveloped: bool,
) -> Result<Vec<u8>, DsigError> {
    let mut doc = ffi::Doc::parse(xml)?;
    if enveloped {
        doc.remove_signature()?;
    }
    let list: Vec<&str> = prefixes.split(' ').filter(|p| !p.is_empty()).collect();
    Ok(doc.exclusive_c14n(&list)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;
    use crate::xml::ns::ENVELOPED;

    const ASSERTION: &str = r#"<saml2:Assertion xmlns:saml2="urn:oasis:names:tc:SAML:2.0:assertion" ID="_abc" Version="2.0"><saml2:Issuer>me</saml2:Issuer>SIG<saml2:Subject><saml2:NameID>alice</saml2:NameID></saml2:Subject></saml2:Assertion>"#;

    fn key(kind: KeyKind) -> (std::sync::Arc<SigningKey>, Vec<u8>) {
        let now = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let (pem, cert) = crate::crypto::new_key_pair("k", kind, now).unwrap();
        (
            SigningKey::new("k", kind, Secret::new(pem), cert.clone(), None).unwrap(),
            cert,
        )
    }

    fn signed(alg: SignatureAlgorithm, digest: DigestAlgorithm, k: &SigningKey) -> String {
        let xml = ASSERTION.replace("SIG", &signature_template("_abc", alg, digest));
        String::from_utf8(sign_enveloped(xml.as_bytes(), "ID", alg, k).unwrap()).unwrap()
    }

    /// The template is signed as it is written: byte for byte.
    #[test]
    fn template_is_written_byte_for_byte() {
        let t = signature_template(
            "_a\"b",
            SignatureAlgorithm::EcdsaSha384,
            DigestAlgorithm::Sha512,
        );
        assert_eq!(
            t,
            format!(
                "<ds:Signature xmlns:ds=\"{DS}\"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm=\"{EXC_C14N}\"/><ds:SignatureMethod Algorithm=\"{}\"/><ds:Reference URI=\"#_a&quot;b\"><ds:Transforms><ds:Transform Algorithm=\"{ENVELOPED}\"/><ds:Transform Algorithm=\"{EXC_C14N}\"><ec:InclusiveNamespaces xmlns:ec=\"{EXC_C14N}\" PrefixList=\"xs\"/></ds:Transform></ds:Transforms><ds:DigestMethod Algorithm=\"{}\"/><ds:DigestValue></ds:DigestValue></ds:Reference></ds:SignedInfo><ds:SignatureValue></ds:SignatureValue><ds:KeyInfo><ds:X509Data><ds:X509Certificate></ds:X509Certificate></ds:X509Data></ds:KeyInfo></ds:Signature>",
                SignatureAlgorithm::EcdsaSha384.uri(),
                DigestAlgorithm::Sha512.uri()
            )
        );
    }

    #[test]
    fn verifies_and_returns_only_signed_content() {
        let (k, cert) = key(KeyKind::Rsa);
        let s = signed(SignatureAlgorithm::RsaSha256, DigestAlgorithm::Sha256, &k);
        let v = verify_enveloped(s.as_bytes(), "ID", &cert).unwrap();
        let out = String::from_utf8(v.get().xml.clone()).unwrap();
        assert!(out.contains("<saml2:NameID>alice</saml2:NameID>") && !out.contains("Signature"));
        let (_, other) = key(KeyKind::Rsa);
        assert!(
            verify_enveloped(s.as_bytes(), "ID", &other).is_err(),
            "wrong key accepted"
        );
        assert!(verify_enveloped(s.replace(">alice<", ">admin<").as_bytes(), "ID", &cert).is_err());
    }

    fn without_spans(mut e: crate::xml::Element) -> crate::xml::Element {
        e.span = 0..0;
        for n in &mut e.children {
            if let crate::xml::Node::Element(c) = n {
                *c = without_spans(std::mem::replace(c, crate::xml::Element {
                    ns: None,
                    local: String::new(),
                    attrs: Vec::new(),
                    children: Vec::new(),
                    span: 0..0,
                }));
            }
        }
        e
    }

    /// `doc` (with `SIG` where the signature goes, over `ID="_abc"`) signed with `k`.
    fn sign_doc(doc: &str, k: &SigningKey) -> String {
        let alg = SignatureAlgorithm::RsaSha256;
        let xml = doc.replace("SIG", &signature_template("_abc", alg, DigestAlgorithm::Sha256));
        String::from_utf8(sign_enveloped(xml.as_bytes(), "ID", alg, k).unwrap()).unwrap()
    }

    /// What Validate reads from libxmlsec1's tree is what the serialised verified bytes
    /// parse to (spans aside), for markup that serialising changes: comments, CDATA,
    /// character and entity references, namespaced and normalised attributes, a default
    /// namespace, processing instructions and whitespace.
    #[test]
    fn tree_reading_matches_the_verified_bytes() {
        let (k, cert) = key(KeyKind::Rsa);
        let doc = "<saml2:Assertion xmlns:saml2=\"urn:oasis:names:tc:SAML:2.0:assertion\" xmlns:x=\"urn:x\" ID=\"_abc\" Version=\"2.0\"><saml2:Issuer>me</saml2:Issuer>SIG<!-- c -->\n <saml2:Subject a=\"1&#10;2\" b=\"t\tu\nv\" x:c=\"&lt;&amp;&quot;\"><saml2:NameID>al<!--x-->ice &#x41;<![CDATA[<z>&]]>&amp;&gt;</saml2:NameID><?pi x?>\n  text  </saml2:Subject><x:Ext xmlns=\"urn:default\"><inner x:k=\"v\"/>tail&#xE9;\u{e9}</x:Ext></saml2:Assertion>";
        let s = sign_doc(doc, &k);
        let bytes = verify_enveloped(s.as_bytes(), "ID", &cert).unwrap();
        let tree = verify_enveloped_tree(s.as_bytes(), "ID", &cert).unwrap();
        let (b, t) = (bytes.get(), tree.get());
        assert_eq!(t.id, "_abc");
        assert_eq!(b.id, t.id);
        assert_eq!(b.signature_value, t.signature_value);
        assert_eq!(
            without_spans(b.root.clone().unwrap()),
            t.root.clone().unwrap()
        );
        // And the signature value is the one the engine compares with a stored token's.
        let parsed = crate::xml::parse(s.as_bytes(), crate::xml::Limits::default()).unwrap();
        let value: String = parsed
            .child(&[DS], "Signature")
            .and_then(|sig| sig.child(&[DS], "SignatureValue"))
            .map(crate::xml::Element::text)
            .unwrap()
            .split_whitespace()
            .collect();
        assert_eq!(t.signature_value, value);
        assert!(!value.is_empty());
        let root = t.root.as_ref().unwrap();
        assert!(root.child(&[DS], "Signature").is_none());
        let name_id = root
            .child(&[crate::xml::ns::SAML2], "Subject")
            .and_then(|s| s.child(&[crate::xml::ns::SAML2], "NameID"))
            .unwrap();
        assert_eq!(name_id.text(), "alice A<z>&&>");
    }

    /// The tree is read within the same limits as `crate::xml::parse`, with the same errors.
    #[test]
    fn tree_reading_keeps_the_limits() {
        let deep = format!("<a{}>{}</a>", " x=\"1\"", "<b>".repeat(5) + &"</b>".repeat(5));
        let doc = ffi::Doc::parse(deep.as_bytes()).unwrap();
        for limits in [
            crate::xml::Limits { max_depth: 5, max_elements: 100, max_attributes: 8 },
            crate::xml::Limits { max_depth: 48, max_elements: 5, max_attributes: 8 },
            crate::xml::Limits { max_depth: 48, max_elements: 100, max_attributes: 0 },
            crate::xml::Limits { max_depth: 6, max_elements: 6, max_attributes: 1 },
        ] {
            let parsed = crate::xml::parse(deep.as_bytes(), limits).map(without_spans);
            assert_eq!(doc.root_element(limits), parsed, "{limits:?}");
        }
        assert!(doc.root_element(crate::xml::Limits { max_depth: 5, max_elements: 100, max_attributes: 8 }).is_err());
        // A prefix without a declaration: libxml2 keeps the name as written (a namespace
        // error, not a fatal one); both readings refuse it alike.
        for text in ["<a><p:b/></a>", "<a p:x=\"1\"/>", "<p:a/>"] {
            let limits = crate::xml::Limits::default();
            let doc = ffi::Doc::parse(text.as_bytes()).unwrap();
            assert_eq!(
                doc.root_element(limits),
                Err(crate::xml::XmlError::UnknownPrefix("p".into())),
                "{text}"
            );
            assert_eq!(
                crate::xml::parse(text.as_bytes(), limits).map(without_spans),
                Err(crate::xml::XmlError::UnknownPrefix("p".into())),
                "{text}"
            );
        }
    }

    /// Verifications on one thread do not share anything but the trusted key: after a good
    /// assertion, one signed by another key fails, an altered copy of the good one fails,
    /// and another good assertion yields its own content and signature value.
    #[test]
    fn verifications_on_one_thread_stay_apart() {
        let (k1, cert1) = key(KeyKind::Rsa);
        let (k2, _) = key(KeyKind::Rsa);
        let a = sign_doc(ASSERTION, &k1);
        let b = sign_doc(&ASSERTION.replace("alice", "bob"), &k1);
        let other = sign_doc(&ASSERTION.replace("alice", "mallory"), &k2);
        let name = |v: &Verified<SignedTree>| {
            v.get()
                .root
                .as_ref()
                .unwrap()
                .child(&[crate::xml::ns::SAML2], "Subject")
                .and_then(|s| s.child(&[crate::xml::ns::SAML2], "NameID"))
                .map(crate::xml::Element::text)
                .unwrap()
        };
        for _ in 0..2 {
            let va = verify_enveloped_tree(a.as_bytes(), "ID", &cert1).unwrap();
            assert_eq!(name(&va), "alice");
            assert!(verify_enveloped_tree(other.as_bytes(), "ID", &cert1).is_err());
            assert!(verify_enveloped(other.as_bytes(), "ID", &cert1).is_err());
            let altered = a.replace(">alice<", ">admin<");
            assert!(verify_enveloped_tree(altered.as_bytes(), "ID", &cert1).is_err());
            assert!(verify_enveloped(altered.as_bytes(), "ID", &cert1).is_err());
            let vb = verify_enveloped_tree(b.as_bytes(), "ID", &cert1).unwrap();
            assert_eq!(name(&vb), "bob");
            assert_ne!(va.get().signature_value, vb.get().signature_value);
            // The signature value of an altered (unverifiable) copy is never reported.
            let resigned = a.replace(&va.get().signature_value[..20], &vb.get().signature_value[..20]);
            assert!(verify_enveloped_tree(resigned.as_bytes(), "ID", &cert1).is_err());
        }
    }

    #[test]
    fn refuses_wrapping_shapes_and_weak_algorithms() {
        let (k, cert) = key(KeyKind::Rsa);
        let s = signed(SignatureAlgorithm::RsaSha256, DigestAlgorithm::Sha256, &k);
        // Content smuggled into ds:Object is not covered by the enveloped signature.
        let object = s.replace(
            "</ds:KeyInfo>",
            "</ds:KeyInfo><ds:Object><saml2:Subject><saml2:NameID>admin</saml2:NameID></saml2:Subject></ds:Object>",
        );
        assert!(matches!(
            verify_enveloped(object.as_bytes(), "ID", &cert),
            Err(DsigError::Shape(_))
        ));
        // A signed assertion wrapped inside an unsigned one.
        let wrapped = format!(
            r#"<saml2:Assertion xmlns:saml2="urn:oasis:names:tc:SAML:2.0:assertion" ID="_evil"><saml2:Advice>{s}</saml2:Advice></saml2:Assertion>"#
        );
        assert!(verify_enveloped(wrapped.as_bytes(), "ID", &cert).is_err());
        // SHA-1 is not accepted on input (nor offered for signing: the template is edited).
        let template = signature_template(
            "_abc",
            SignatureAlgorithm::RsaSha256,
            DigestAlgorithm::Sha256,
        )
        .replace(
            SignatureAlgorithm::RsaSha256.uri(),
            "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
        )
        .replace(
            DigestAlgorithm::Sha256.uri(),
            "http://www.w3.org/2000/09/xmldsig#sha1",
        );
        let weak = sign_enveloped(
            ASSERTION.replace("SIG", &template).as_bytes(),
            "ID",
            SignatureAlgorithm::RsaSha256,
            &k,
        )
        .unwrap();
        let weak = String::from_utf8(weak).unwrap();
        assert!(weak.contains("xmldsig#rsa-sha1"), "{weak}");
        assert!(verify_enveloped(weak.as_bytes(), "ID", &cert).is_err());
        let (ek, ecert) = key(KeyKind::Ec);
        let ec = signed(
            SignatureAlgorithm::EcdsaSha384,
            DigestAlgorithm::Sha512,
            &ek,
        );
        assert!(verify_enveloped(ec.as_bytes(), "ID", &ecert).is_ok());
    }
}
