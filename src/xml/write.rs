//! A small XML writer that escapes by construction: text and attribute values go through
//! [`escape_text`]/[`escape_attr`], attributes can only be added to the start tag just
//! opened, and every element opened is closed. Namespaces are declared explicitly where the
//! caller wants them (clients cut tokens out of responses as text, so each token declares its
//! own), and attributes come out in the order they are given: the output is byte for byte
//! what the caller spells, which signatures and peers that compare bytes rely on.
//!
//! [`Writer::raw`] is the one way to add unescaped markup: for content that is already XML
//! (a signed assertion, an encrypted element, a signature template).

use super::{escape_attr, escape_text};

/// Builds a document or fragment into a `String`.
#[derive(Debug, Default)]
pub struct Writer {
    out: String,
    /// Names of the open elements, innermost last.
    open: Vec<String>,
    /// Whether the innermost start tag still lacks its `>`.
    in_start_tag: bool,
}

/// The start tag just opened: attributes and namespace declarations go here, and only here.
#[derive(Debug)]
pub struct StartTag<'w> {
    w: &'w mut Writer,
}

impl<'w> StartTag<'w> {
    /// An attribute `name="value"`, the value escaped.
    pub fn attr(self, name: &str, value: &str) -> Self {
        let out = &mut self.w.out;
        out.push(' ');
        out.push_str(name);
        out.push_str("=\"");
        out.push_str(&escape_attr(value));
        out.push('"');
        self
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

    /// Closes the element right away: `<a .../>`.
    pub fn end(self) -> &'w mut Writer {
        self.w.end()
    }

    /// A namespace declaration `xmlns:prefix="uri"`.
    pub fn ns(self, prefix: &str, uri: &str) -> Self {
        let out = &mut self.w.out;
        out.push_str(" xmlns:");
        out.push_str(prefix);
        out.push_str("=\"");
        out.push_str(&escape_attr(uri));
        out.push('"');
        self
    }
}

impl Writer {
    /// A writer with room for `n` bytes.
    pub fn with_capacity(n: usize) -> Writer {
        Writer {
            out: String::with_capacity(n),
            ..Writer::default()
        }
    }

    fn close_start_tag(&mut self) {
        if self.in_start_tag {
            self.out.push('>');
            self.in_start_tag = false;
        }
    }

    /// Opens element `name` (a QName as written, `prefix:local`).
    pub fn start(&mut self, name: &str) -> StartTag<'_> {
        self.close_start_tag();
        self.out.push('<');
        self.out.push_str(name);
        self.open.push(name.to_owned());
        self.in_start_tag = true;
        StartTag { w: self }
    }

    /// Text content, escaped. An empty text still closes the start tag, so that the element
    /// is written `<a></a>` rather than `<a/>`.
    pub fn text(&mut self, s: &str) -> &mut Self {
        self.close_start_tag();
        self.out.push_str(&escape_text(s));
        self
    }

    /// Markup that is already XML, written as it is.
    pub fn raw(&mut self, xml: &str) -> &mut Self {
        self.close_start_tag();
        self.out.push_str(xml);
        self
    }

    /// Closes the innermost open element: `<a/>` if it has no content, else `</a>`.
    pub fn end(&mut self) -> &mut Self {
        let Some(name) = self.open.pop() else {
            return self;
        };
        if self.in_start_tag {
            self.out.push_str("/>");
            self.in_start_tag = false;
        } else {
            self.out.push_str("</");
            self.out.push_str(&name);
            self.out.push('>');
        }
        self
    }

    /// `<name>text</name>`.
    pub fn element(&mut self, name: &str, text: &str) -> &mut Self {
        self.start(name);
        self.text(text).end()
    }

    /// Closes whatever is still open and returns the text.
    pub fn finish(mut self) -> String {
        while !self.open.is_empty() {
            self.end();
        }
        self.out
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
}
