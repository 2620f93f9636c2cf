//! Enveloped signatures over text that is canonical as written (`Writer::canonical`): the
//! digest is taken over the bytes of the document without its `ds:Signature` (what the
//! enveloped-signature and exclusive C14N transforms yield for it), the canonical
//! `ds:SignedInfo` is written the same way and signed with the OpenSSL key parsed when the
//! key was loaded. No tree is built. A document that is not known to be canonical (markup
//! added unchecked) is signed by libxmlsec1 instead, which canonicalises it itself.

use openssl::ecdsa::EcdsaSig;
use openssl::hash::MessageDigest;
use openssl::sign::Signer;

use super::{DigestAlgorithm, DsigError, SignatureAlgorithm};
use crate::crypto::encoding::base64_encode;
use crate::crypto::{KeyKind, SigningKey};
use crate::xml::ns::{DS, ENVELOPED, EXC_C14N};
use crate::xml::write::{Canonical, Writer};

/// The start of the canonical `SignedInfo`: inside the document, `ds` is declared on
/// `ds:Signature` instead.
const SIGNED_INFO_APEX: &str = "<ds:SignedInfo xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"";

/// A signed document: only [`sign_canonical`] builds one.
#[derive(Debug, Clone)]
pub struct Signed {
    xml: String,
}

impl Signed {
    pub fn into_string(self) -> String {
        self.xml
    }
}

/// Where and how to sign: the offset of `doc` where the `ds:Signature` goes (inside the
/// document element, between two of its children), algorithms and key. What is referenced
/// is the ID the writer wrote on the document element (`StartTag::id`), so the signature
/// cannot name another element.
#[derive(Debug, Clone, Copy)]
pub struct Enveloped<'a> {
    pub at: usize,
    pub signature: SignatureAlgorithm,
    pub digest: DigestAlgorithm,
    pub key: &'a SigningKey,
}

fn message_digest(sig: SignatureAlgorithm) -> MessageDigest {
    match sig {
        SignatureAlgorithm::RsaSha256 | SignatureAlgorithm::EcdsaSha256 => MessageDigest::sha256(),
        SignatureAlgorithm::RsaSha384 | SignatureAlgorithm::EcdsaSha384 => MessageDigest::sha384(),
        SignatureAlgorithm::RsaSha512 | SignatureAlgorithm::EcdsaSha512 => MessageDigest::sha512(),
    }
}

fn digest_value(alg: DigestAlgorithm, bytes: &[u8]) -> String {
    match alg {
        DigestAlgorithm::Sha256 => base64_encode(&openssl::sha::sha256(bytes)),
        DigestAlgorithm::Sha384 => base64_encode(&openssl::sha::sha384(bytes)),
        DigestAlgorithm::Sha512 => base64_encode(&openssl::sha::sha512(bytes)),
    }
}

/// The `ds:Reference` of an enveloped signature over the element whose ID is `id`, up to its
/// `ds:DigestMethod`, left open for the `ds:DigestValue`: exclusive C14N with the given
/// inclusive `prefixes` (none: no `ec:InclusiveNamespaces`). One writer for the libxmlsec1
/// template and the canonical `SignedInfo`, so the two cannot drift apart.
pub(super) fn reference_head(w: &mut Writer, id: &str, prefixes: &str, digest: DigestAlgorithm) {
    let mut uri = String::with_capacity(id.len() + 1);
    uri.push('#');
    uri.push_str(id);
    w.start("ds:Reference").attr("URI", &uri);
    w.start("ds:Transforms");
    w.start("ds:Transform").attr("Algorithm", ENVELOPED).end();
    let t = w.start("ds:Transform").attr("Algorithm", EXC_C14N);
    if prefixes.is_empty() {
        t.end();
    } else {
        w.start("ec:InclusiveNamespaces")
            .ns("ec", EXC_C14N)
            .attr("PrefixList", prefixes)
            .end();
        w.end();
    }
    w.end();
    w.start("ds:DigestMethod")
        .attr("Algorithm", digest.uri())
        .end();
}

/// The canonical `ds:SignedInfo` (its own apex, as a verifier canonicalises it).
fn signed_info(e: &Enveloped<'_>, id: &str, prefixes: &str, digest_b64: &str) -> Canonical {
    let mut w = Writer::canonical(1024);
    w.start("ds:SignedInfo").ns("ds", DS);
    w.start("ds:CanonicalizationMethod")
        .attr("Algorithm", EXC_C14N)
        .end();
    w.start("ds:SignatureMethod")
        .attr("Algorithm", e.signature.uri())
        .end();
    reference_head(&mut w, id, prefixes, e.digest);
    w.element("ds:DigestValue", digest_b64);
    w.finish_canonical()
}

/// The signature value over `data`: PKCS#1 v1.5 for RSA; for ECDSA the fixed-width `r || s`
/// that XML-DSig wants (RFC 4050, RFC 6931), not OpenSSL's DER.
fn signature_value(e: &Enveloped<'_>, data: &[u8]) -> Result<Vec<u8>, DsigError> {
    let pkey = e.key.openssl_key();
    let mut signer = Signer::new(message_digest(e.signature), pkey)?;
    signer.update(data)?;
    let der = signer.sign_to_vec()?;
    match e.key.kind() {
        KeyKind::Rsa => Ok(der),
        KeyKind::Ec => {
            let sig = EcdsaSig::from_der(&der)?;
            let width = i32::try_from(pkey.bits().div_ceil(8)).unwrap_or(i32::MAX);
            let mut out = sig.r().to_vec_padded(width)?;
            out.extend(sig.s().to_vec_padded(width)?);
            Ok(out)
        }
    }
}

/// Signs `doc` (the whole document, signature not yet in it): the `ds:Signature` goes at
/// byte `e.at`, references the ID written on the document element, and carries the signing
/// certificate. A document that held a character XML does not allow is refused (it was
/// written with U+FFFD in its place), as is one without an ID on its document element or a
/// position that is not between two children of the document element.
pub fn sign_canonical(doc: Canonical, e: &Enveloped<'_>) -> Result<Signed, DsigError> {
    let _timed = crate::metrics::time(crate::metrics::Stage::Sign);
    if e.signature.key_kind() != e.key.kind() {
        return Err(DsigError::KeyMismatch {
            sig: e.signature,
            needs: e.signature.key_kind().name(),
            has: e.key.kind().name(),
            alias: e.key.alias().to_owned(),
        });
    }
    if let Some(bad) = doc.invalid() {
        return Err(DsigError::Char(bad.clone()));
    }
    let (id_attr, id) = doc
        .id()
        .map(|(a, v)| (a.to_owned(), v.to_owned()))
        .ok_or_else(|| DsigError::Shape("the document element was written without an ID".into()))?;
    let prefixes = doc.inclusive_prefixes().to_owned();
    let exact = doc.exact();
    let slot = doc.is_slot(e.at);
    let xml = doc.into_string();
    let shape = || {
        DsigError::Shape(
            "the signature position is not between two children of the document element".into(),
        )
    };
    // Only where the writer said the document element's next child goes: never in a
    // tag, in text or in a descendant.
    if !slot {
        return Err(shape());
    }
    let (head, tail) = (xml.get(..e.at).ok_or_else(shape)?, xml.get(e.at..).ok_or_else(shape)?);
    if !exact {
        let mut text = String::with_capacity(xml.len() + 2048);
        text.push_str(head);
        text.push_str(&super::signature_template_with(
            &id,
            e.signature,
            e.digest,
            &prefixes,
        ));
        text.push_str(tail);
        let signed = super::sign_enveloped(text.as_bytes(), &id_attr, e.signature, e.key)?;
        let xml = String::from_utf8(signed)
            .map_err(|_| DsigError::Native(super::FfiError::Serialize))?;
        return Ok(Signed { xml });
    }
    let digest = digest_value(e.digest, xml.as_bytes());
    let info = signed_info(e, &id, &prefixes, &digest);
    let value = base64_encode(&signature_value(e, info.as_str().as_bytes())?);
    let info_rest = info
        .as_str()
        .strip_prefix(SIGNED_INFO_APEX)
        .ok_or_else(|| DsigError::Shape("unexpected SignedInfo".into()))?;
    let cert = e.key.cert_base64();
    let mut out = String::with_capacity(xml.len() + info_rest.len() + cert.len() + 512);
    out.push_str(head);
    out.push_str("<ds:Signature xmlns:ds=\"");
    out.push_str(DS);
    out.push_str("\"><ds:SignedInfo");
    out.push_str(info_rest);
    out.push_str("<ds:SignatureValue>");
    out.push_str(&value);
    out.push_str("</ds:SignatureValue><ds:KeyInfo><ds:X509Data><ds:X509Certificate>");
    out.push_str(cert);
    out.push_str("</ds:X509Certificate></ds:X509Data></ds:KeyInfo></ds:Signature>");
    out.push_str(tail);
    Ok(Signed { xml: out })
}
