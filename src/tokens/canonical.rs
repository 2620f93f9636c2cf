//! Signing a document that was not written by a canonical writer (a renewed assertion: text
//! edits of the verified bytes, which libxml2 serialised) with the canonical signer like
//! every other assertion: the document is read once and written again by
//! `Writer::canonical`, which puts it in exclusive canonical form, and signed over those
//! bytes as written (`xmldsig::sign_canonical`). No libxml2 tree, no libxmlsec1 signing.
//!
//! The prefixes the issuer declares inclusive on the document element (`xs`, `xsi`, `del`,
//! with their own URIs) stay inclusive: attribute values name them in content
//! (`xsi:type="xs:string"`). Any other declaration there is written the exclusive way (kept
//! only where used), so a declaration a presenter added is never signed.

use std::borrow::Cow;

use quick_xml::NsReader;
use quick_xml::XmlVersion;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::{PrefixDeclaration, ResolveResult};

use crate::crypto::SigningKey;
use crate::xml::ns::DS;
use crate::xml::write::Writer;
use crate::xmldsig::{self, DigestAlgorithm, DsigError, SignatureAlgorithm};

fn refused(what: impl std::fmt::Display) -> DsigError {
    DsigError::Shape(format!("the document cannot be re-signed: {what}"))
}

/// Signs `text`, a whole document whose element has the ID attribute `id_attr` and a
/// `ds:Signature` (template or old signature) as a child where the new signature goes: the
/// document is written in exclusive canonical form without it, and signed as written.
/// Processing instructions and DTDs are refused; comments are dropped (C14N without
/// comments drops them too).
pub fn sign_rewritten(
    text: &str,
    id_attr: &str,
    signature: SignatureAlgorithm,
    digest: DigestAlgorithm,
    key: &SigningKey,
) -> Result<String, DsigError> {
    let (doc, at) = canonical_without_signature(text, id_attr)?;
    let signed = xmldsig::sign_canonical(
        doc,
        &xmldsig::Enveloped {
            at,
            signature,
            digest,
            key,
        },
    )?;
    Ok(signed.into_string())
}

/// `text` written again by a canonical writer, without the document element's
/// `ds:Signature` child; and the offset where it was.
fn canonical_without_signature(
    text: &str,
    id_attr: &str,
) -> Result<(crate::xml::write::Canonical, usize), DsigError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = NsReader::from_str(text);
    let mut w = Writer::canonical(text.len() + 256);
    let mut depth = 0usize;
    // Depth at which a skipped `ds:Signature` started, while inside it.
    let mut skipping: Option<usize> = None;
    let mut at = None;
    let mut done = false;
    loop {
        let (ns, event) = reader.read_resolved_event().map_err(refused)?;
        let is_signature = match (&ns, &event) {
            (ResolveResult::Bound(n), Event::Start(e) | Event::Empty(e)) => {
                n.0 == DS && e.local_name().into_inner() == "Signature"
            }
            _ => false,
        };
        match event {
            Event::Start(_) | Event::Empty(_) if done => {
                return Err(refused("content after the document element"));
            }
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(event, Event::Empty(_));
                if skipping.is_none() && is_signature {
                    if depth != 1 || at.is_some() {
                        return Err(refused(
                            "one ds:Signature, a child of the document element, is expected",
                        ));
                    }
                    at = Some(w.position());
                    if !empty {
                        skipping = Some(depth);
                    }
                } else if skipping.is_none() {
                    start(&mut w, e, depth == 0, id_attr)?;
                    if empty {
                        w.end();
                    }
                }
                if !empty {
                    depth += 1;
                } else if depth == 0 {
                    done = true;
                }
            }
            Event::End(_) => {
                depth = depth
                    .checked_sub(1)
                    .ok_or_else(|| refused("unmatched end tag"))?;
                match skipping {
                    Some(d) if d == depth => skipping = None,
                    Some(_) => {}
                    None => {
                        w.end();
                    }
                }
                if depth == 0 {
                    done = true;
                }
            }
            Event::Text(t) if skipping.is_none() && depth > 0 => {
                w.text(&t.xml10_content());
            }
            Event::CData(t) if skipping.is_none() && depth > 0 => {
                w.text(&t.xml10_content());
            }
            Event::GeneralRef(r) if skipping.is_none() && depth > 0 => {
                let s: Cow<'_, str> = match r.resolve_char_ref().map_err(refused)? {
                    Some(c) => Cow::Owned(c.to_string()),
                    None => Cow::Borrowed(
                        quick_xml::escape::resolve_predefined_entity(&r)
                            .ok_or_else(|| refused("an entity other than the predefined ones"))?,
                    ),
                };
                w.text(&s);
            }
            Event::Text(t) if depth == 0 => {
                if !t.xml10_content().trim().is_empty() {
                    return Err(refused("text outside the document element"));
                }
            }
            Event::Text(_) | Event::CData(_) | Event::GeneralRef(_) => {
                if depth == 0 {
                    return Err(refused("content outside the document element"));
                }
            }
            Event::PI(_) if depth > 0 => return Err(refused("a processing instruction")),
            Event::DocType(_) => return Err(refused("a DTD")),
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => break,
        }
    }
    if !done || depth != 0 {
        return Err(refused("unexpected end of input"));
    }
    let at = at.ok_or_else(|| refused("no ds:Signature to replace"))?;
    let doc = w.finish_canonical();
    if !doc.exact() {
        return Err(refused("the document cannot be written in canonical form"));
    }
    Ok((doc, at))
}

/// Writes the start tag `e`: its namespace declarations (inclusive on the document element,
/// see the module), the document element's ID with `StartTag::id`, its attributes.
fn start(w: &mut Writer, e: &BytesStart<'_>, apex: bool, id_attr: &str) -> Result<(), DsigError> {
    let name = e.name().into_inner();
    let own_prefix = name.split_once(':').map(|(p, _)| p);
    let mut decls: Vec<(Option<&str>, String)> = Vec::new();
    let mut attrs: Vec<(&str, String)> = Vec::new();
    for a in e.attributes().with_checks(true) {
        let a = a.map_err(refused)?;
        let value = a
            .normalized_value(XmlVersion::Implicit1_0)
            .map_err(refused)?
            .into_owned();
        match a.key.as_namespace_binding() {
            Some(PrefixDeclaration::Default) => decls.push((None, value)),
            Some(PrefixDeclaration::Named(p)) => decls.push((Some(p), value)),
            None => attrs.push((a.key.into_inner(), value)),
        }
    }
    let mut tag = w.start(name);
    for (prefix, uri) in &decls {
        tag = match *prefix {
            None => tag.ns("", uri),
            Some(p) if apex && own_prefix != Some(p) && ours_inclusive(p, uri) => {
                tag.ns_inclusive(p, uri)
            }
            Some(p) => tag.ns(p, uri),
        };
    }
    for (n, v) in &attrs {
        tag = if apex && *n == id_attr {
            tag.id(n, v)
        } else {
            tag.attr(n, v)
        };
    }
    Ok(())
}

/// The prefixes the issuer declares inclusive (they name types in `xsi:type` values), with
/// their own URIs: only these stay inclusive in a rewrite. Any other declaration on the
/// document element (one a presenter added, say) is written the exclusive way, so it is
/// dropped where unused and never signed by us.
fn ours_inclusive(prefix: &str, uri: &str) -> bool {
    use crate::xml::ns::{SAML2_DELEGATION, XS, XSI};
    matches!((prefix, uri), ("xs", XS) | ("xsi", XSI) | ("del", SAML2_DELEGATION))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// libxml2's serialisation (empty-element tags, its escaping, attributes as they came)
    /// is written again in canonical form, without the signature, whose place is kept.
    #[test]
    fn rewrites_in_canonical_form_and_keeps_the_signature_slot() {
        let text = concat!(
            "<?xml version=\"1.0\"?>\n<!-- c -->",
            "<s:A xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xmlns:s=\"urn:s\" xmlns:zz=\"urn:added\" xmlns:del=\"urn:evil\" xmlns:xs=\"http://www.w3.org/2001/XMLSchema\" Z=\"1\" ID=\"_i\" a=\"x&#10;&#9;&gt;&quot;\">",
            "<s:I>iss</s:I><ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"><ds:SignedInfo/></ds:Signature>",
            "<s:B xsi:type=\"xs:string\"/><s:C>a&amp;b&#13;&gt;<![CDATA[<x>]]></s:C><!-- d --></s:A>"
        );
        let (doc, at) = canonical_without_signature(text, "ID").unwrap();
        assert_eq!(doc.id(), Some(("ID", "_i")));
        assert_eq!(doc.inclusive_prefixes(), "xsi xs");
        assert_eq!(
            doc.as_str(),
            "<s:A xmlns:s=\"urn:s\" xmlns:xs=\"http://www.w3.org/2001/XMLSchema\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" ID=\"_i\" Z=\"1\" a=\"x&#xA;&#x9;>&quot;\"><s:I>iss</s:I><s:B xsi:type=\"xs:string\"></s:B><s:C>a&amp;b&#xD;&gt;&lt;x&gt;</s:C></s:A>"
        );
        assert_eq!(&doc.as_str()[at - "</s:I>".len()..at], "</s:I>");
        assert!(doc.is_slot(at));
    }

    #[test]
    fn refuses_what_it_cannot_sign_as_written() {
        let sig = "<ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"/>";
        for bad in [
            format!("<a ID=\"x\"><b>{sig}</b></a>"),
            format!("<a ID=\"x\">{sig}{sig}</a>"),
            "<a ID=\"x\"><b/></a>".to_owned(),
            format!("<a ID=\"x\">{sig}<?pi x?></a>"),
            format!("<!DOCTYPE a><a ID=\"x\">{sig}</a>"),
            format!("<a ID=\"x\">{sig}</a><b/>"),
            format!("<a ID=\"x\">{sig}&e;</a>"),
            format!("<a ID=\"x\">{sig}"),
        ] {
            assert!(
                matches!(
                    canonical_without_signature(&bad, "ID"),
                    Err(DsigError::Shape(_))
                ),
                "{bad}"
            );
        }
        let ok = format!("<a ID=\"x\">{sig}</a>");
        assert!(canonical_without_signature(&ok, "ID").is_ok());
    }
}
