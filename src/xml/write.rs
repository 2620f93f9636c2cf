//! A small XML writer that escapes by construction: text and attribute values are escaped as
//! they are written, attributes can only be added to the start tag just opened, and every
//! element opened is closed.
//!
//! Two modes:
//! - [`Writer::with_capacity`] (plain): namespaces are declared where the caller says and
//!   attributes come out in the order given, byte for byte what the caller spells (clients cut
//!   tokens out of responses as text, so each token declares its own namespaces).
//! - [`Writer::canonical`]: the output is already in exclusive XML canonical form (W3C
//!   xml-exc-c14n 1.0, without comments) with the document element as apex, so that a
//!   signature digests the bytes as written instead of re-parsing them: a namespace
//!   declaration is written only on an element that visibly uses its prefix (or declares an
//!   inclusive prefix, the `InclusiveNamespaces PrefixList`) and whose output ancestors have
//!   not written the same binding; declarations first, sorted by prefix, then attributes
//!   sorted by (namespace URI, local name); C14N escaping; no empty-element tags.
//!
//! Text, attribute values and namespace URIs holding a character XML 1.0 does not allow (C0
//! controls other than tab, LF and CR; U+FFFE, U+FFFF) are written as U+FFFD so that the
//! output stays well-formed, and the first one is recorded ([`Writer::invalid`],
//! [`Canonical::invalid`]): what writes a token refuses it ([`Writer::finish_checked`],
//! [`Canonical::checked`]) rather than sign an altered value.
//!
//! [`Writer::raw`] is the one way to add unescaped markup (already XML); in canonical mode it
//! makes the output not [`Canonical::exact`], since nothing checks that markup. A fragment
//! written by another canonical writer goes in with [`Writer::insert`], which keeps the
//! output exact when the fragment is canonical in its new context too.

use std::ops::Range;

use super::{escape_attr, escape_text};

/// The namespace of the `xml` prefix, bound without any declaration.
const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";

/// A namespace binding, its prefix and URI as ranges of [`Writer::pool`].
#[derive(Debug, Clone)]
struct Binding {
    prefix: Range<usize>,
    uri: Range<usize>,
}

/// An open element: where its name starts in `names`, and the scope lengths to restore.
#[derive(Debug, Clone, Copy)]
struct Open {
    name: usize,
    decls: usize,
    rendered: usize,
}

/// An attribute of the pending start tag (canonical mode): name and escaped value as ranges
/// of [`Writer::scratch`].
#[derive(Debug, Clone)]
struct Pending {
    name: Range<usize>,
    value: Range<usize>,
}

/// A character XML 1.0 does not allow, in a value given to the writer: the token that would
/// hold it is refused (never written with the character replaced).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{place} contains U+{code:04X}, a character XML 1.0 does not allow: the token is refused rather than altered"
)]
pub struct InvalidChar {
    /// The code point.
    pub code: u32,
    /// Where it was: element and attribute names, as written (never the value).
    pub place: String,
}

/// Builds a document or fragment into a `String`.
#[derive(Debug, Default)]
pub struct Writer {
    out: String,
    canonical: bool,
    /// Whether everything written so far is canonical by construction (canonical mode).
    exact: bool,
    /// Names of the open elements, concatenated; `open` says where each starts.
    names: String,
    open: Vec<Open>,
    /// Whether the innermost start tag still lacks its `>`.
    in_start_tag: bool,
    /// Canonical mode: prefixes and URIs of `decls` and `rendered`.
    pool: String,
    /// Declarations in scope (the caller's), innermost last.
    decls: Vec<Binding>,
    /// Declarations written by output ancestors, innermost last.
    rendered: Vec<Binding>,
    /// Prefixes treated as inclusive (`InclusiveNamespaces PrefixList`), space-separated.
    inclusive: String,
    /// Every prefix declared, space-separated (see [`Writer::insert`]).
    declared: String,
    /// The pending start tag's attributes, and the declarations chosen for it.
    scratch: String,
    attrs: Vec<Pending>,
    chosen: Vec<Binding>,
    /// The first character XML does not allow, with where it was.
    invalid: Option<InvalidChar>,
    /// The document element's ID attribute (name, value), see [`StartTag::id`].
    id: Option<(String, String)>,
    /// Offsets [`Writer::position`] gave between two children of the document element.
    slots: Vec<usize>,
}

/// The start tag just opened: attributes and namespace declarations go here, and only here.
#[derive(Debug)]
pub struct StartTag<'w> {
    w: &'w mut Writer,
}

/// What a canonical writer wrote, and whether it is canonical by construction.
#[derive(Debug, Clone)]
pub struct Canonical {
    xml: String,
    exact: bool,
    inclusive: String,
    declared: String,
    invalid: Option<InvalidChar>,
    id: Option<(String, String)>,
    slots: Vec<usize>,
}

impl Canonical {
    /// The text written.
    pub fn as_str(&self) -> &str {
        &self.xml
    }

    pub fn into_string(self) -> String {
        self.xml
    }

    /// Whether the text is in exclusive canonical form (nothing unchecked went in with
    /// [`Writer::raw`], and every inserted fragment fitted its context).
    pub fn exact(&self) -> bool {
        self.exact
    }

    /// The inclusive prefixes, space-separated, in order of declaration: the `PrefixList`
    /// of a signature over this text.
    pub fn inclusive_prefixes(&self) -> &str {
        &self.inclusive
    }

    /// The first character XML does not allow that a value held (written as U+FFFD).
    pub fn invalid(&self) -> Option<&InvalidChar> {
        self.invalid.as_ref()
    }

    /// The text, unless a value held a character XML does not allow.
    pub fn checked(self) -> Result<Canonical, InvalidChar> {
        match self.invalid {
            Some(e) => Err(e),
            None => Ok(self),
        }
    }

    /// The document element's ID attribute, name and value, when it was written with
    /// [`StartTag::id`]: what an enveloped signature over the document references.
    pub fn id(&self) -> Option<(&str, &str)> {
        self.id.as_ref().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// Whether `at` is an offset [`Writer::position`] gave between two children of the
    /// document element: where an enveloped signature may go.
    pub fn is_slot(&self, at: usize) -> bool {
        self.slots.contains(&at)
    }
}

/// The prefix of a QName (`""` when it has none).
fn prefix_of(qname: &str) -> &str {
    qname.split_once(':').map_or("", |(p, _)| p)
}

fn at<'a>(s: &'a str, r: &Range<usize>) -> &'a str {
    s.get(r.clone()).unwrap_or("")
}

/// XML 1.0 `Char` (as the parser checks it).
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r') || (c >= '\u{20}' && c != '\u{FFFE}' && c != '\u{FFFF}')
}

/// The local part of a QName.
fn local_of(qname: &str) -> &str {
    qname.split_once(':').map_or(qname, |(_, l)| l)
}

/// Canonical mode: adds `prefix` to `chosen` (the declarations the pending start tag gets)
/// when its binding in scope differs from what the output ancestors wrote.
fn choose(
    pool: &str,
    decls: &[Binding],
    rendered: &[Binding],
    chosen: &mut Vec<Binding>,
    prefix: &str,
) -> bool {
    if prefix == "xml" || chosen.iter().any(|b| at(pool, &b.prefix) == prefix) {
        return true;
    }
    let Some(declared) = decls.iter().rev().find(|b| at(pool, &b.prefix) == prefix) else {
        // Only the default namespace may be unbound (no namespace).
        return prefix.is_empty();
    };
    let uri = at(pool, &declared.uri);
    let written = Writer::lookup(pool, rendered, prefix).unwrap_or("");
    if uri != written {
        chosen.push(declared.clone());
    }
    true
}

/// Whether `list` (space-separated words) holds `word`.
fn has_word(list: &str, word: &str) -> bool {
    list.split(' ').any(|w| w == word)
}

/// Appends `s` escaped as C14N escapes text: `&amp; &lt; &gt; &#xD;`. Characters XML does
/// not allow become U+FFFD; the first is returned (and the token refused, see the module).
fn push_c14n_text(out: &mut String, s: &str) -> Option<char> {
    push_escaped(out, s, |c| match c {
        '&' => Some("&amp;"),
        '<' => Some("&lt;"),
        '>' => Some("&gt;"),
        '\r' => Some("&#xD;"),
        _ => None,
    })
}

/// Appends `s` escaped as C14N escapes attribute values: `&amp; &lt; &quot; &#x9; &#xA;
/// &#xD;` (`>` stays as it is).
fn push_c14n_attr(out: &mut String, s: &str) -> Option<char> {
    push_escaped(out, s, |c| match c {
        '&' => Some("&amp;"),
        '<' => Some("&lt;"),
        '"' => Some("&quot;"),
        '\t' => Some("&#x9;"),
        '\n' => Some("&#xA;"),
        '\r' => Some("&#xD;"),
        _ => None,
    })
}

fn push_escaped(
    out: &mut String,
    s: &str,
    escape: impl Fn(char) -> Option<&'static str>,
) -> Option<char> {
    let mut from = 0;
    let mut invalid = None;
    for (i, c) in s.char_indices() {
        let replacement = match escape(c) {
            Some(r) => r,
            None if !is_xml_char(c) => {
                invalid = invalid.or(Some(c));
                "\u{FFFD}"
            }
            None => continue,
        };
        out.push_str(s.get(from..i).unwrap_or(""));
        out.push_str(replacement);
        from = i + c.len_utf8();
    }
    out.push_str(s.get(from..).unwrap_or(""));
    invalid
}

/// The first character of `s` XML does not allow.
fn first_invalid(s: &str) -> Option<char> {
    s.chars().find(|&c| !is_xml_char(c))
}

impl<'w> StartTag<'w> {
    /// An attribute `name="value"`, the value escaped.
    pub fn attr(self, name: &str, value: &str) -> Self {
        let w = &mut *self.w;
        if w.canonical {
            let start = w.scratch.len();
            w.scratch.push_str(name);
            let mid = w.scratch.len();
            let bad = push_c14n_attr(&mut w.scratch, value);
            w.attrs.push(Pending {
                name: start..mid,
                value: mid..w.scratch.len(),
            });
            w.note_attr(bad, name);
        } else {
            w.note_attr(first_invalid(value), name);
            let out = &mut w.out;
            out.push(' ');
            out.push_str(name);
            out.push_str("=\"");
            out.push_str(&escape_attr(value));
            out.push('"');
        }
        self
    }

    /// The document element's ID attribute (`ID`, `AssertionID`): written as
    /// [`StartTag::attr`], and recorded as what an enveloped signature references
    /// ([`Canonical::id`]) when this is the document element.
    pub fn id(self, name: &str, value: &str) -> Self {
        if self.w.open.len() == 1 && self.w.id.is_none() {
            self.w.id = Some((name.to_owned(), value.to_owned()));
        }
        self.attr(name, value)
    }

    /// An attribute when there is a value.
    pub fn attr_opt(self, name: &str, value: Option<&str>) -> Self {
        match value {
            Some(v) => self.attr(name, v),
            None => self,
        }
    }

    /// Ends the start tag with text content (see [`Writer::text`]).
    pub fn text(self, s: &str) -> &'w mut Writer {
        self.w.text(s)
    }

    /// Ends the start tag with markup that is already XML (see [`Writer::raw`]).
    pub fn raw(self, xml: &str) -> &'w mut Writer {
        self.w.raw(xml)
    }

    /// Ends the start tag with a canonical fragment (see [`Writer::insert`]).
    pub fn insert(self, fragment: &Canonical) -> &'w mut Writer {
        self.w.insert(fragment)
    }

    /// Closes the element right away: `<a .../>` (plain), `<a ...></a>` (canonical).
    pub fn end(self) -> &'w mut Writer {
        self.w.end()
    }

    /// A namespace declaration `xmlns:prefix="uri"`. In canonical mode it binds the prefix
    /// for this element and its descendants, and is written where C14N writes it.
    pub fn ns(self, prefix: &str, uri: &str) -> Self {
        let w = &mut *self.w;
        if w.invalid.is_none()
            && let Some(c) = first_invalid(uri)
        {
            w.invalid = Some(InvalidChar {
                code: u32::from(c),
                place: format!("the namespace URI of prefix `{prefix}`"),
            });
        }
        if w.canonical {
            let p = w.intern(prefix);
            let u = w.intern(uri);
            w.decls.push(Binding { prefix: p, uri: u });
            w.declared.push_str(prefix);
            w.declared.push(' ');
        } else {
            let out = &mut w.out;
            out.push_str(" xmlns:");
            out.push_str(prefix);
            out.push_str("=\"");
            out.push_str(&escape_attr(uri));
            out.push('"');
        }
        self
    }

    /// A declaration of a prefix that attribute or text content names (a QName such as
    /// `xsi:type="xs:string"`): in canonical mode the prefix is inclusive, written where it
    /// is declared even when no element or attribute name uses it, and listed in
    /// [`Canonical::inclusive_prefixes`]. Plain mode: [`StartTag::ns`].
    pub fn ns_inclusive(self, prefix: &str, uri: &str) -> Self {
        if self.w.canonical && !has_word(&self.w.inclusive, prefix) {
            if !self.w.inclusive.is_empty() {
                self.w.inclusive.push(' ');
            }
            self.w.inclusive.push_str(prefix);
            // A prefix declared before it became inclusive was written the exclusive way.
            if has_word(&self.w.declared, prefix) {
                self.w.exact = false;
            }
        }
        self.ns(prefix, uri)
    }
}

impl Writer {
    /// A plain writer with room for `n` bytes.
    pub fn with_capacity(n: usize) -> Writer {
        Writer {
            out: String::with_capacity(n),
            ..Writer::default()
        }
    }

    /// A writer of exclusive canonical XML with room for `n` bytes.
    pub fn canonical(n: usize) -> Writer {
        Writer {
            out: String::with_capacity(n),
            canonical: true,
            exact: true,
            names: String::with_capacity(256),
            pool: String::with_capacity(512),
            ..Writer::default()
        }
    }

    /// The element being written (innermost open).
    fn current(&self) -> &str {
        self.open
            .last()
            .and_then(|o| self.names.get(o.name..))
            .unwrap_or("")
    }

    fn note_attr(&mut self, bad: Option<char>, name: &str) {
        if let (Some(c), None) = (bad, &self.invalid) {
            self.invalid = Some(InvalidChar {
                code: u32::from(c),
                place: format!("attribute `{name}` of `{}`", self.current()),
            });
        }
    }

    fn note_text(&mut self, bad: Option<char>) {
        if let (Some(c), None) = (bad, &self.invalid) {
            self.invalid = Some(InvalidChar {
                code: u32::from(c),
                place: format!("the text of `{}`", self.current()),
            });
        }
    }

    /// The first character XML does not allow that a value held (written as U+FFFD).
    #[cfg(test)]
    pub fn invalid(&self) -> Option<&InvalidChar> {
        self.invalid.as_ref()
    }

    fn intern(&mut self, s: &str) -> Range<usize> {
        let start = self.pool.len();
        self.pool.push_str(s);
        start..self.pool.len()
    }

    /// The URI `prefix` is bound to in `bindings` (innermost wins).
    fn lookup<'a>(pool: &'a str, bindings: &[Binding], prefix: &str) -> Option<&'a str> {
        bindings
            .iter()
            .rev()
            .find(|b| at(pool, &b.prefix) == prefix)
            .map(|b| at(pool, &b.uri))
    }

    /// The namespace URI of an attribute's prefix, for sorting (`""`: no namespace).
    fn attr_ns<'a>(pool: &'a str, decls: &[Binding], name: &str) -> &'a str {
        match prefix_of(name) {
            "" => "",
            "xml" => XML_NS,
            p => Self::lookup(pool, decls, p).unwrap_or(""),
        }
    }

    fn close_start_tag(&mut self) {
        if !self.in_start_tag {
            return;
        }
        self.in_start_tag = false;
        if !self.canonical {
            self.out.push('>');
            return;
        }
        let Some(top) = self.open.last().copied() else {
            return;
        };
        let (pool, decls, rendered) = (&self.pool, &self.decls, &mut self.rendered);
        let chosen = &mut self.chosen;
        chosen.clear();
        let element = self.names.get(top.name..).unwrap_or("");
        let mut bound = choose(pool, decls, rendered, chosen, prefix_of(element));
        for a in &self.attrs {
            let name = at(&self.scratch, &a.name);
            bound &= choose(pool, decls, rendered, chosen, prefix_of(name));
        }
        for d in decls.get(top.decls..).unwrap_or(&[]) {
            let prefix = at(pool, &d.prefix);
            if has_word(&self.inclusive, prefix) {
                bound &= choose(pool, decls, rendered, chosen, prefix);
            }
        }
        if !bound {
            self.exact = false;
        }
        chosen.sort_by(|a, b| at(pool, &a.prefix).cmp(at(pool, &b.prefix)));
        for b in chosen.iter() {
            let prefix = at(pool, &b.prefix);
            self.out.push_str(" xmlns");
            if !prefix.is_empty() {
                self.out.push(':');
                self.out.push_str(prefix);
            }
            self.out.push_str("=\"");
            push_c14n_attr(&mut self.out, at(pool, &b.uri));
            self.out.push('"');
        }
        rendered.extend(chosen.iter().cloned());
        let scratch = &self.scratch;
        self.attrs.sort_by(|a, b| {
            let (na, nb) = (at(scratch, &a.name), at(scratch, &b.name));
            (Self::attr_ns(pool, decls, na), local_of(na))
                .cmp(&(Self::attr_ns(pool, decls, nb), local_of(nb)))
        });
        for a in &self.attrs {
            self.out.push(' ');
            self.out.push_str(at(scratch, &a.name));
            self.out.push_str("=\"");
            self.out.push_str(at(scratch, &a.value));
            self.out.push('"');
        }
        self.out.push('>');
        self.attrs.clear();
        self.scratch.clear();
    }

    /// Opens element `name` (a QName as written, `prefix:local`).
    pub fn start(&mut self, name: &str) -> StartTag<'_> {
        self.close_start_tag();
        self.out.push('<');
        self.out.push_str(name);
        self.open.push(Open {
            name: self.names.len(),
            decls: self.decls.len(),
            rendered: self.rendered.len(),
        });
        self.names.push_str(name);
        self.in_start_tag = true;
        StartTag { w: self }
    }

    /// Text content, escaped. An empty text still closes the start tag, so that the element
    /// is written `<a></a>` rather than `<a/>`.
    pub fn text(&mut self, s: &str) -> &mut Self {
        self.close_start_tag();
        let bad = if self.canonical {
            push_c14n_text(&mut self.out, s)
        } else {
            self.out.push_str(&escape_text(s));
            first_invalid(s)
        };
        self.note_text(bad);
        self
    }

    /// Markup that is already XML, written as it is (canonical mode: the output is then no
    /// longer known to be canonical).
    pub fn raw(&mut self, xml: &str) -> &mut Self {
        self.close_start_tag();
        self.exact = false;
        self.out.push_str(xml);
        self
    }

    /// A fragment from another canonical writer (complete elements). The output stays exact
    /// when the fragment is, when it declares none of this writer's inclusive prefixes, and
    /// when none of the bindings it writes is one the open elements have written already
    /// (C14N would leave that declaration out here).
    pub fn insert(&mut self, fragment: &Canonical) -> &mut Self {
        self.close_start_tag();
        let fits = fragment.exact
            && fragment.inclusive.is_empty()
            && !fragment
                .declared
                .split(' ')
                .any(|p| !p.is_empty() && has_word(&self.inclusive, p))
            && !self.rendered.iter().any(|b| {
                let mut decl = String::from(" xmlns");
                let prefix = at(&self.pool, &b.prefix);
                if !prefix.is_empty() {
                    decl.push(':');
                    decl.push_str(prefix);
                }
                decl.push_str("=\"");
                push_c14n_attr(&mut decl, at(&self.pool, &b.uri));
                decl.push('"');
                fragment.xml.contains(&decl)
            });
        if !fits {
            self.exact = false;
        }
        // A refusal the fragment's writer recorded stays one in the document it joins.
        if self.invalid.is_none() {
            self.invalid = fragment.invalid.clone();
        }
        self.out.push_str(&fragment.xml);
        self
    }

    /// Closes the innermost open element: `</a>`, or `<a/>` in plain mode if it has no
    /// content.
    pub fn end(&mut self) -> &mut Self {
        if self.canonical {
            self.close_start_tag();
        }
        let Some(top) = self.open.pop() else {
            return self;
        };
        if self.in_start_tag {
            self.out.push_str("/>");
            self.in_start_tag = false;
        } else {
            self.out.push_str("</");
            self.out.push_str(self.names.get(top.name..).unwrap_or(""));
            self.out.push('>');
        }
        self.names.truncate(top.name);
        self.decls.truncate(top.decls);
        self.rendered.truncate(top.rendered);
        self
    }

    /// `<name>text</name>`.
    pub fn element(&mut self, name: &str, text: &str) -> &mut Self {
        self.start(name);
        self.text(text).end()
    }

    /// Where the next markup goes: a byte offset of the output, for inserting a signature
    /// after the fact (the start tag still open is completed first). Recorded as a place
    /// for a signature ([`Canonical::is_slot`]) when the document element is the one open.
    pub fn position(&mut self) -> usize {
        self.close_start_tag();
        if self.open.len() == 1 {
            self.slots.push(self.out.len());
        }
        self.out.len()
    }

    /// Closes whatever is still open and returns the text.
    pub fn finish(mut self) -> String {
        while !self.open.is_empty() {
            self.end();
        }
        self.out
    }

    /// [`Writer::finish`], refusing the text if a value held a character XML does not
    /// allow (for tokens: never sign or send an altered value).
    pub fn finish_checked(self) -> Result<String, InvalidChar> {
        match self.invalid.clone() {
            Some(e) => Err(e),
            None => Ok(self.finish()),
        }
    }

    /// Closes whatever is still open and returns the text with what is known of its form.
    pub fn finish_canonical(mut self) -> Canonical {
        while !self.open.is_empty() {
            self.end();
        }
        Canonical {
            exact: self.canonical && self.exact,
            inclusive: std::mem::take(&mut self.inclusive),
            declared: std::mem::take(&mut self.declared),
            invalid: self.invalid.take(),
            id: self.id.take(),
            slots: std::mem::take(&mut self.slots),
            xml: self.out,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::{Limits, Node, parse};

    #[test]
    fn escapes_text_and_attributes_by_construction() {
        let hostile = "a\"<b>&'\t\n\r\u{1}";
        let mut w = Writer::default();
        w.start("p:r")
            .ns("p", "urn:p?a=1&b=\"2\"")
            .attr("a", hostile);
        assert_eq!(
            w.invalid().map(|e| (e.code, e.place.as_str())),
            Some((1, "attribute `a` of `p:r`"))
        );
        w.element("p:t", hostile);
        assert_eq!(w.finish_checked().unwrap_err().code, 1);
        let mut w = Writer::default();
        w.start("p:r")
            .ns("p", "urn:p?a=1&b=\"2\"")
            .attr("a", hostile);
        w.element("p:t", hostile);
        let xml = w.finish();
        assert_eq!(
            xml,
            "<p:r xmlns:p=\"urn:p?a=1&amp;b=&quot;2&quot;\" a=\"a&quot;&lt;b&gt;&amp;'&#9;&#10;&#13;\u{FFFD}\"><p:t>a\"&lt;b&gt;&amp;'\t\n&#13;\u{FFFD}</p:t></p:r>"
        );
        let root = parse(xml.as_bytes(), Limits::default()).unwrap();
        // (quick-xml resolves a namespace to its raw attribute text, references unexpanded.)
        assert!(root.is("urn:p?a=1&amp;b=&quot;2&quot;", "r"));
        assert_eq!(root.attr(None, "a"), Some("a\"<b>&'\t\n\r\u{FFFD}"));
        let t = root.elements().next().unwrap();
        assert_eq!(
            t.children,
            vec![Node::Text("a\"<b>&'\t\n\r\u{FFFD}".into())]
        );
    }

    #[test]
    fn empty_elements_raw_markup_and_balance() {
        let mut w = Writer::with_capacity(64);
        w.start("a").attr_opt("x", None).attr_opt("y", Some("1"));
        w.start("b").end();
        w.start("c").text("").end();
        w.raw("<d>&amp;</d>");
        w.start("e");
        // finish closes what is still open; an extra end is ignored.
        let xml = w.finish();
        assert_eq!(xml, "<a y=\"1\"><b/><c></c><d>&amp;</d><e/></a>");
        let mut w = Writer::default();
        w.end();
        assert_eq!(w.finish(), "");
    }

    /// Canonical mode: C14N escaping (`>` stays in attributes, hex references), sorted
    /// declarations and attributes, declarations only where used, no empty-element tags.
    #[test]
    fn canonical_form_by_construction() {
        let mut w = Writer::canonical(64);
        w.start("p:r")
            .attr("z", "1")
            .ns("q", "urn:q")
            .ns("unused", "urn:u")
            .ns_inclusive("xs", "urn:xs")
            .ns("p", "urn:p")
            .attr("q:b", "2")
            .attr("a", "a\"<b>&'\t\n\r\u{1}");
        w.start("q:c").ns("q", "urn:q").attr("xml:lang", "en").end();
        w.start("unused:d").end();
        w.start("e").attr("t", "xs:string").text("a\"<b>&'\t\n\r");
        w.end();
        let c = w.finish_canonical();
        assert!(c.exact());
        assert_eq!(
            c.invalid().map(|e| e.to_string()),
            Some("attribute `a` of `p:r` contains U+0001, a character XML 1.0 does not allow: the token is refused rather than altered".to_owned())
        );
        assert_eq!(c.inclusive_prefixes(), "xs");
        assert_eq!(
            c.as_str(),
            "<p:r xmlns:p=\"urn:p\" xmlns:q=\"urn:q\" xmlns:xs=\"urn:xs\" a=\"a&quot;&lt;b>&amp;'&#x9;&#xA;&#xD;\u{FFFD}\" z=\"1\" q:b=\"2\"><q:c xml:lang=\"en\"></q:c><unused:d xmlns:unused=\"urn:u\"></unused:d><e t=\"xs:string\">a\"&lt;b&gt;&amp;'\t\n&#xD;</e></p:r>"
        );
    }

    /// Text and namespace URIs are checked too; the first bad character is the one named;
    /// the ID and the signature slots are those of the document element only.
    #[test]
    fn invalid_characters_ids_and_slots() {
        let mut w = Writer::canonical(64);
        w.start("r").id("ID", "_1").attr("ok", "\t\u{85}\u{FFFD}");
        let first = w.position();
        w.start("c").id("ID", "_2").text("x\u{FFFF}y\u{0}");
        let inner = w.position();
        w.end();
        w.start("n").ns("p", "urn:\u{b}").end();
        let c = w.finish_canonical();
        assert_eq!(c.id(), Some(("ID", "_1")));
        assert!(c.is_slot(first) && !c.is_slot(inner));
        assert_eq!(
            c.invalid().map(|e| (e.code, e.place.as_str())),
            Some((0xFFFF, "the text of `c`"))
        );
        assert!(c.as_str().contains("x\u{FFFD}y\u{FFFD}"));
        assert!(c.checked().is_err());
        let mut w = Writer::canonical(64);
        w.start("r").ns("p", "urn:\u{b}").end();
        assert_eq!(
            w.finish_canonical().checked().unwrap_err().place,
            "the namespace URI of prefix `p`"
        );
        let mut w = Writer::canonical(64);
        w.start("r").attr("a", "\t\n\r é").text("\t\n\r");
        assert!(w.finish_canonical().checked().is_ok());
    }

    /// A fragment keeps the output exact only where C14N would write it as it is.
    #[test]
    fn inserted_fragments_must_fit_their_context() {
        let fragment = |p: &str| {
            let mut f = Writer::canonical(64);
            f.start(&format!("{p}:f")).ns(p, "urn:f").end();
            f.finish_canonical()
        };
        let host = |f: &Canonical| {
            let mut w = Writer::canonical(64);
            w.start("h:r").ns("h", "urn:h").insert(f);
            w.finish_canonical()
        };
        let fits = host(&fragment("f"));
        assert!(fits.exact(), "{}", fits.as_str());
        assert_eq!(
            fits.as_str(),
            "<h:r xmlns:h=\"urn:h\"><f:f xmlns:f=\"urn:f\"></f:f></h:r>"
        );
        let mut same = Writer::canonical(64);
        same.start("f:r").ns("f", "urn:f").insert(&fragment("f"));
        assert!(!same.finish_canonical().exact());
        let mut raw = Writer::canonical(64);
        raw.start("r").raw("<x/>");
        assert!(!raw.finish_canonical().exact());
        assert!(!Writer::with_capacity(8).finish_canonical().exact());
        // A fragment's refused character stays refused in the document it joins.
        let mut bad = Writer::canonical(64);
        bad.start("f").text("x\u{FFFF}");
        let bad = bad.finish_canonical();
        let mut w = Writer::canonical(64);
        w.start("r").insert(&bad);
        assert_eq!(w.finish_canonical().checked().unwrap_err().code, 0xFFFF);
    }
}
