//! A small, namespace-resolved element tree for hostile input, and escaping for output; with
//! [`mod@write`], a writer that escapes by construction, [`ns`], the one home of every namespace
//! URI, and [`datetime`], `xs:dateTime`. A leaf.
//!
//! Parsing refuses DTDs (and therefore any entity other than the five predefined ones and
//! character references), non-UTF-8 input, and input beyond the [`Limits`]. Every element keeps
//! the byte span it had in the input, so that a signed fragment can be handed to a verifier as
//! it arrived. UTF-16 documents are first transcoded by [`to_utf8`]; the spans are then those
//! of the transcoded bytes.

pub mod datetime;
pub mod ns;
pub mod write;

use std::borrow::Cow;
use std::ops::Range;
use std::sync::Arc;

use quick_xml::NsReader;
use quick_xml::XmlVersion;
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;

/// Why a document was refused.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum XmlError {
    #[error(
        "the body is neither UTF-8 nor UTF-16 (with a byte order mark or a charset) encoded XML"
    )]
    NotUtf8,
    #[error("the body is not valid UTF-16 (odd length or unpaired surrogate)")]
    NotUtf16,
    #[error("the request body exceeds {0} bytes once decoded to UTF-8")]
    TooLarge(usize),
    #[error("the XML is not well-formed: {0}")]
    Malformed(String),
    #[error("DTDs are not allowed")]
    Dtd,
    /// The entity name is kept for tests but not shown: it may be part of a password.
    #[error("entity references other than the predefined XML entities are not allowed")]
    Entity(String),
    #[error("the XML contains a character that XML 1.0 does not allow (U+{0:04X})")]
    Char(u32),
    #[error("elements nest deeper than {0} levels")]
    TooDeep(usize),
    #[error("more than {0} elements")]
    TooManyElements(usize),
    #[error("an element has more than {0} attributes")]
    TooManyAttributes(usize),
    #[error("namespace prefix `{0}` is not declared")]
    UnknownPrefix(String),
    #[error("the document has no root element")]
    Empty,
}

/// Bounds applied while parsing.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_depth: usize,
    pub max_elements: usize,
    pub max_attributes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 48,
            max_elements: 20_000,
            max_attributes: 64,
        }
    }
}

/// A namespace-qualified attribute. Namespace declarations are not attributes here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attr {
    pub ns: Option<Arc<str>>,
    pub local: String,
    pub value: String,
}

/// A child of an element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Element(Element),
    Text(String),
}

/// An element with its resolved name, attributes, children and input span.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    /// Shared by every element and attribute of the document in the same namespace.
    pub ns: Option<Arc<str>>,
    pub local: String,
    pub attrs: Vec<Attr>,
    pub children: Vec<Node>,
    /// Byte range of the whole element (start tag to end tag) in the parsed input.
    pub span: Range<usize>,
}

impl Element {
    /// Whether the element has namespace `ns` and local name `local`.
    pub fn is(&self, ns: &str, local: &str) -> bool {
        self.local == local && self.ns.as_deref() == Some(ns)
    }

    /// Child elements, in order.
    pub fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|n| match n {
            Node::Element(e) => Some(e),
            Node::Text(_) => None,
        })
    }

    /// Child elements named `local` in any of the namespaces `nss`.
    pub fn children_named<'a>(
        &'a self,
        nss: &'a [&'a str],
        local: &'a str,
    ) -> impl Iterator<Item = &'a Element> + 'a {
        self.elements()
            .filter(move |e| e.local == local && e.ns.as_deref().is_some_and(|n| nss.contains(&n)))
    }

    /// The first child element named `local` in any of the namespaces `nss`.
    pub fn child<'a>(&'a self, nss: &'a [&'a str], local: &'a str) -> Option<&'a Element> {
        self.children_named(nss, local).next()
    }

    /// The value of an attribute; `ns` None means an unqualified attribute.
    pub fn attr(&self, ns: Option<&str>, local: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|a| a.local == local && a.ns.as_deref() == ns)
            .map(|a| a.value.as_str())
    }

    /// The concatenated text of the direct text children, trimmed.
    pub fn text(&self) -> String {
        let mut s = String::new();
        for n in &self.children {
            if let Node::Text(t) = n {
                s.push_str(t);
            }
        }
        let trimmed = s.trim();
        if trimmed.len() == s.len() {
            s
        } else {
            trimmed.to_owned()
        }
    }
}

/// The namespaces of one document, each allocated once however many names are in it.
#[derive(Default)]
struct Namespaces(Vec<Arc<str>>);

impl Namespaces {
    fn resolved(&mut self, r: ResolveResult<'_>) -> Result<Option<Arc<str>>, XmlError> {
        let uri = match r {
            ResolveResult::Bound(ns) => ns.into_inner(),
            ResolveResult::Unbound => return Ok(None),
            ResolveResult::Unknown(p) => return Err(XmlError::UnknownPrefix(p)),
        };
        if let Some(known) = self.0.iter().find(|n| n.as_bytes() == uri.as_bytes()) {
            return Ok(Some(known.clone()));
        }
        let new: Arc<str> = Arc::from(uri);
        self.0.push(new.clone());
        Ok(Some(new))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ByteOrder {
    Little,
    Big,
}

/// A document as UTF-8, for [`parse`]. XML 1.0 (4.3.3) requires every processor to read UTF-16
/// as well as UTF-8. UTF-16 is recognised by its byte order mark (which wins over anything else),
/// else by `charset` (the media type's: `utf-16le`, `utf-16be`, or `utf-16` with the byte order
/// of the first `<`), else by a first `<?` in UTF-16 (XML 1.0 Appendix F). It is transcoded,
/// without its byte order mark and with its XML declaration replaced by one naming UTF-8, so that
/// a verifier reading the bytes again reads them right. Anything else is returned as it is (and
/// [`parse`] checks that it is UTF-8). A transcoded document longer than `max` bytes is refused.
pub fn to_utf8<'a>(
    input: &'a [u8],
    charset: Option<&str>,
    max: usize,
) -> Result<Cow<'a, [u8]>, XmlError> {
    use ByteOrder::{Big, Little};
    let charset = charset.map(|c| c.trim().trim_matches('"').to_ascii_lowercase());
    let (order, skip) = match input {
        [0xEF, 0xBB, 0xBF, ..] => return Ok(Cow::Borrowed(input)),
        [0xFE, 0xFF, ..] => (Big, 2),
        [0xFF, 0xFE, ..] => (Little, 2),
        _ => match (charset.as_deref(), input) {
            (Some("utf-16be"), _) | (Some("utf-16"), [0, b'<', ..]) => (Big, 0),
            (Some("utf-16le"), _) | (Some("utf-16"), [b'<', 0, ..]) => (Little, 0),
            // RFC 2781: UTF-16 without a byte order mark is big-endian.
            (Some("utf-16"), _) => (Big, 0),
            (_, [0, b'<', 0, b'?', ..]) => (Big, 0),
            (_, [b'<', 0, b'?', 0, ..]) => (Little, 0),
            _ => return Ok(Cow::Borrowed(input)),
        },
    };
    let bytes = input.get(skip..).unwrap_or_default();
    if bytes.len() % 2 != 0 {
        return Err(XmlError::NotUtf16);
    }
    let units = bytes.chunks_exact(2).map(|c| {
        // Always two bytes: chunks_exact.
        let pair: [u8; 2] = c.try_into().unwrap_or_default();
        match order {
            Little => u16::from_le_bytes(pair),
            Big => u16::from_be_bytes(pair),
        }
    });
    let mut out = String::with_capacity(bytes.len().min(max));
    for c in char::decode_utf16(units) {
        let c = c.map_err(|_| XmlError::NotUtf16)?;
        if out.len() + c.len_utf8() > max {
            return Err(XmlError::TooLarge(max));
        }
        out.push(c);
    }
    if out.starts_with("<?xml")
        && out[5..].starts_with(|c: char| c.is_ascii_whitespace())
        && let Some(end) = out.find("?>")
    {
        out.replace_range(..end + 2, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
    }
    Ok(Cow::Owned(out.into_bytes()))
}

/// Parses a whole document into its root element.
pub fn parse(input: &[u8], limits: Limits) -> Result<Element, XmlError> {
    let text = std::str::from_utf8(input).map_err(|_| XmlError::NotUtf8)?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let offset = input.len() - text.len();
    let mut reader = NsReader::from_str(text);
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut count = 0usize;
    let mut names = Namespaces::default();
    loop {
        let before = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
        let (ns, event) = reader
            .read_resolved_event()
            .map_err(|e| XmlError::Malformed(e.to_string()))?;
        let ns = match &event {
            Event::Start(_) | Event::Empty(_) => Some(names.resolved(ns)?),
            _ => None,
        };
        let after = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                if root.is_some() {
                    return Err(XmlError::Malformed("content after the root element".into()));
                }
                count += 1;
                if count > limits.max_elements {
                    return Err(XmlError::TooManyElements(limits.max_elements));
                }
                if stack.len() >= limits.max_depth {
                    return Err(XmlError::TooDeep(limits.max_depth));
                }
                let mut attrs = Vec::new();
                for a in e.attributes().with_checks(true) {
                    let a = a.map_err(|e| XmlError::Malformed(e.to_string()))?;
                    if a.key.as_namespace_binding().is_some() {
                        continue;
                    }
                    if attrs.len() >= limits.max_attributes {
                        return Err(XmlError::TooManyAttributes(limits.max_attributes));
                    }
                    let (ans, local) = reader.resolver().resolve_attribute(a.key);
                    let value =
                        a.normalized_value(XmlVersion::Implicit1_0)
                            .map_err(|e| match e {
                                quick_xml::Error::Escape(
                                    quick_xml::escape::EscapeError::UnrecognizedEntity(_, name),
                                ) => XmlError::Entity(name),
                                other => XmlError::Malformed(other.to_string()),
                            })?;
                    check_chars(&value)?;
                    attrs.push(Attr {
                        ns: names.resolved(ans)?,
                        local: local.into_inner().to_owned(),
                        value: value.into_owned(),
                    });
                }
                check_chars(e.name().into_inner())?;
                let el = Element {
                    ns: ns.flatten(),
                    local: e.local_name().into_inner().to_owned(),
                    attrs,
                    children: Vec::new(),
                    span: offset + before..offset + after,
                };
                if matches!(event, Event::Empty(_)) {
                    attach(&mut stack, &mut root, el);
                } else {
                    stack.push(el);
                }
            }
            Event::End(_) => {
                let mut el = stack
                    .pop()
                    .ok_or_else(|| XmlError::Malformed("unmatched end tag".into()))?;
                el.span.end = offset + after;
                attach(&mut stack, &mut root, el);
            }
            Event::Text(t) => push_text(&mut stack, checked(t.xml10_content())?)?,
            Event::CData(t) => push_text(&mut stack, checked(t.xml10_content())?)?,
            Event::GeneralRef(r) => {
                let ch = r
                    .resolve_char_ref()
                    .map_err(|e| XmlError::Malformed(e.to_string()))?;
                let s = match ch {
                    Some(c) => checked(Cow::Owned(c.to_string()))?.into_owned(),
                    None => quick_xml::escape::resolve_predefined_entity(&r)
                        .ok_or_else(|| XmlError::Entity(r.to_string()))?
                        .to_owned(),
                };
                push_text(&mut stack, Cow::Owned(s))?;
            }
            Event::DocType(_) => return Err(XmlError::Dtd),
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(XmlError::Malformed("unexpected end of input".into()));
    }
    root.ok_or(XmlError::Empty)
}

/// XML 1.0 `Char`: tab, newline, carriage return, and U+0020 and up except U+FFFE/U+FFFF
/// (Rust `char` already excludes surrogates).
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r') || (c >= '\u{20}' && c != '\u{FFFE}' && c != '\u{FFFF}')
}

fn check_chars(s: &str) -> Result<(), XmlError> {
    match s.chars().find(|c| !is_xml_char(*c)) {
        Some(c) => Err(XmlError::Char(u32::from(c))),
        None => Ok(()),
    }
}

fn checked(s: Cow<'_, str>) -> Result<Cow<'_, str>, XmlError> {
    check_chars(&s)?;
    Ok(s)
}

fn attach(stack: &mut [Element], root: &mut Option<Element>, el: Element) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(Node::Element(el)),
        None => *root = Some(el),
    }
}

fn push_text(stack: &mut [Element], text: Cow<'_, str>) -> Result<(), XmlError> {
    match stack.last_mut() {
        Some(parent) => {
            if let Some(Node::Text(prev)) = parent.children.last_mut() {
                prev.push_str(&text);
            } else {
                parent.children.push(Node::Text(text.into_owned()));
            }
            Ok(())
        }
        None if text.trim().is_empty() => Ok(()),
        None => Err(XmlError::Malformed("text outside the root element".into())),
    }
}

/// Escapes text content. Characters XML cannot carry (which only configuration could
/// supply, since parsed input is checked) become U+FFFD; `\r` is escaped so it survives.
pub fn escape_text(s: &str) -> Cow<'_, str> {
    escape(s, false)
}

/// Escapes an attribute value (double-quoted). Tab, newline and carriage return are written as
/// character references, so that the value survives attribute-value normalisation unchanged.
pub fn escape_attr(s: &str) -> Cow<'_, str> {
    escape(s, true)
}

fn escape(s: &str, attr: bool) -> Cow<'_, str> {
    let needs = |c: char| {
        matches!(c, '&' | '<' | '>' | '\r')
            || (attr && matches!(c, '"' | '\t' | '\n'))
            || !is_xml_char(c)
    };
    if !s.chars().any(needs) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#13;"),
            '"' if attr => out.push_str("&quot;"),
            '\t' if attr => out.push_str("&#9;"),
            '\n' if attr => out.push_str("&#10;"),
            c if !is_xml_char(c) => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Element, XmlError> {
        parse(s.as_bytes(), Limits::default())
    }

    #[test]
    fn resolves_namespaces_redeclared_per_element() {
        let e = p(r#"<a:x xmlns:a="urn:a"><a:y xmlns:a="urn:b" a:at="1">t &amp; &#x41;</a:y><z xmlns="urn:c"/></a:x>"#)
            .unwrap();
        assert!(e.is("urn:a", "x"));
        let y = e.child(&["urn:b"], "y").unwrap();
        assert_eq!(y.attr(Some("urn:b"), "at"), Some("1"));
        assert_eq!(y.text(), "t & A");
        assert!(e.child(&["urn:c"], "z").is_some());
    }

    #[test]
    fn escaping_round_trips_through_the_parser() {
        let v = "a\tb\nc\rd \"<&>\u{1}";
        let doc = format!("<r a=\"{}\">{}</r>", escape_attr(v), escape_text(v));
        let e = p(&doc).unwrap();
        assert_eq!(e.attr(None, "a"), Some("a\tb\nc\rd \"<&>\u{FFFD}"));
        assert_eq!(
            e.children,
            vec![Node::Text("a\tb\nc\rd \"<&>\u{FFFD}".into())]
        );
    }

    #[test]
    fn spans_cover_whole_elements() {
        let s = r#"<r><in a="1"><b/></in></r>"#;
        let e = p(s).unwrap();
        let inner = e.elements().next().unwrap();
        assert_eq!(&s[inner.span.clone()], r#"<in a="1"><b/></in>"#);
    }

    #[test]
    fn refuses_dtds_entities_and_depth() {
        assert_eq!(
            p(r#"<!DOCTYPE r [<!ENTITY x "y">]><r>&x;</r>"#),
            Err(XmlError::Dtd)
        );
        assert_eq!(p("<r>&x;</r>"), Err(XmlError::Entity("x".into())));
        assert!(matches!(p(r#"<r a="&x;"/>"#), Err(XmlError::Entity(_))));
        assert_eq!(p("<r>a&#1;b</r>"), Err(XmlError::Char(1)));
        assert_eq!(p("<r a=\"&#xFFFF;\"/>"), Err(XmlError::Char(0xFFFF)));
        assert_eq!(p("<r>\u{1f}</r>"), Err(XmlError::Char(0x1f)));
        assert_eq!(p("<r><![CDATA[\u{8}]]></r>"), Err(XmlError::Char(8)));
        assert!(p("<r>&#xD800;</r>").is_err());
        assert!(
            !XmlError::Entity("secretpart".into())
                .to_string()
                .contains("secretpart")
        );
        let deep = "<a>".repeat(100) + &"</a>".repeat(100);
        assert_eq!(p(&deep), Err(XmlError::TooDeep(48)));
        assert!(matches!(p("<a><b></a>"), Err(XmlError::Malformed(_))));
        assert!(matches!(p("<a/><b/>"), Err(XmlError::Malformed(_))));
        assert_eq!(p("<p:a/>"), Err(XmlError::UnknownPrefix("p".into())));
        assert_eq!(
            parse(b"<a>\xff</a>", Limits::default()),
            Err(XmlError::NotUtf8)
        );
    }

    #[test]
    fn utf16_is_transcoded_by_bom_charset_or_first_characters() {
        let doc = "<?xml version=\"1.0\" encoding=\"UTF-16\"?><r a=\"\u{e9}\">\u{1F600}</r>";
        let want = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><r a=\"\u{e9}\">\u{1F600}</r>";
        let enc = |big: bool, bom: bool| -> Vec<u8> {
            let bom = bom.then_some(0xFEFF);
            bom.into_iter()
                .chain(doc.encode_utf16())
                .flat_map(|u| {
                    if big {
                        u.to_be_bytes()
                    } else {
                        u.to_le_bytes()
                    }
                })
                .collect()
        };
        let utf8 = |b: &[u8], cs: Option<&str>| {
            String::from_utf8(to_utf8(b, cs, 1 << 20).unwrap().into_owned()).unwrap()
        };
        assert_eq!(utf8(&enc(true, true), None), want);
        assert_eq!(utf8(&enc(false, true), Some("utf-8")), want);
        assert_eq!(utf8(&enc(false, false), Some("UTF-16LE")), want);
        assert_eq!(utf8(&enc(true, false), Some("\"utf-16\"")), want);
        assert_eq!(utf8(&enc(false, false), Some("utf-16")), want);
        assert_eq!(utf8(&enc(false, false), None), want);
        assert_eq!(utf8(&enc(true, false), None), want);
        let e = parse(
            &to_utf8(&enc(false, true), None, 1 << 20).unwrap(),
            Limits::default(),
        );
        assert_eq!(e.unwrap().attr(None, "a"), Some("\u{e9}"));
        // UTF-8 passes through untouched, BOM and all.
        let u8doc = "\u{feff}<r/>".as_bytes();
        assert!(matches!(
            to_utf8(u8doc, Some("utf-16"), 10),
            Ok(Cow::Borrowed(_))
        ));
        assert!(matches!(to_utf8(b"<r/>", None, 1), Ok(Cow::Borrowed(_))));
        // Broken UTF-16 and oversized output are refused.
        let mut odd = enc(false, true);
        odd.pop();
        assert_eq!(to_utf8(&odd, None, 1 << 20), Err(XmlError::NotUtf16));
        let lone: Vec<u8> = [0xFEFF, 0x3C, 0xD800, 0x3E]
            .iter()
            .flat_map(|u: &u16| u.to_be_bytes())
            .collect();
        assert_eq!(to_utf8(&lone, None, 1 << 20), Err(XmlError::NotUtf16));
        let n = doc.len();
        assert!(to_utf8(&enc(true, true), None, n).is_ok());
        assert_eq!(
            to_utf8(&enc(true, true), None, n - 1),
            Err(XmlError::TooLarge(n - 1))
        );
        assert!(matches!(
            p(r#"<a x="1" x="2"/>"#),
            Err(XmlError::Malformed(_))
        ));
    }
}
