//! libxml2's tree of a verified document read as a [`crate::xml::Element`], so that callers
//! read what libxmlsec1 verified without it being serialised and parsed again.
//!
//! The reading mirrors [`crate::xml::parse`]: elements with their namespace URIs (one shared
//! `Arc` per URI), attributes without namespace declarations, text and CDATA joined into one
//! text child where they are adjacent (also across a comment or processing instruction, both
//! left out), and the same [`Limits`]. Any other kind of node (an entity reference, which a
//! document without DTD cannot hold) fails the reading instead of being skipped. Spans are
//! empty: there are no input bytes to point into.

use std::sync::Arc;

use super::{Doc, b, xml_str};
use crate::xml::{Attr, Element, Limits, Node, XmlError};

/// The namespace URIs met so far, each shared by every element and attribute in it.
#[derive(Default)]
struct Names(Vec<Arc<str>>);

impl Names {
    /// The URI of `ns` (None for no namespace).
    ///
    /// # Safety
    /// `ns` must be null or a namespace whose href is null or NUL-terminated, valid for the
    /// call.
    unsafe fn of(&mut self, ns: *const b::xmlNs) -> Result<Option<Arc<str>>, XmlError> {
        if ns.is_null() {
            return Ok(None);
        }
        // SAFETY: `ns` is not null and valid (guaranteed by the caller).
        let href = unsafe { (*ns).href };
        // SAFETY: href is null or NUL-terminated (guaranteed by the caller).
        let Some(uri) = (unsafe { xml_str(href) }) else {
            return Ok(None);
        };
        let uri = uri.to_str().map_err(|_| XmlError::NotUtf8)?;
        if let Some(known) = self.0.iter().find(|n| n.as_ref() == uri) {
            return Ok(Some(known.clone()));
        }
        let new: Arc<str> = Arc::from(uri);
        self.0.push(new.clone());
        Ok(Some(new))
    }
}

/// The NUL-terminated libxml2 string `raw` as UTF-8 (empty for null).
///
/// # Safety
/// `raw` must be null or NUL-terminated and outlive `'a`.
unsafe fn text<'a>(raw: *const b::xmlChar) -> Result<&'a str, XmlError> {
    // SAFETY: guaranteed by the caller.
    match unsafe { xml_str(raw) } {
        None => Ok(""),
        Some(s) => s.to_str().map_err(|_| XmlError::NotUtf8),
    }
}

/// Appends `s` to the element's last text child, or as a new one.
fn push_text(el: &mut Element, s: &str) {
    if let Some(Node::Text(prev)) = el.children.last_mut() {
        prev.push_str(s);
    } else {
        el.children.push(Node::Text(s.to_owned()));
    }
}

/// libxml2 keeps a name whose prefix is not declared (a namespace error, not a fatal one) as
/// it was written, without a namespace: refused, as `xml::parse` refuses it.
fn undeclared_prefix(no_namespace: bool, name: &str) -> Result<(), XmlError> {
    match name.split_once(':') {
        Some((prefix, _)) if no_namespace => Err(XmlError::UnknownPrefix(prefix.to_owned())),
        _ => Ok(()),
    }
}

/// The element `node` without its children, and its first child.
///
/// # Safety
/// `node` must be an element of a document that stays alive and unchanged during the call.
unsafe fn open(
    node: *mut b::xmlNode,
    names: &mut Names,
    limits: Limits,
) -> Result<(Element, *mut b::xmlNode), XmlError> {
    let (ns, name, mut prop, children) = {
        // SAFETY: `node` is a valid element (guaranteed by the caller); fields copied out.
        let r = unsafe { &*node };
        (r.ns, r.name, r.properties, r.children)
    };
    // SAFETY: the element's namespace belongs to the document (as above).
    let ns = unsafe { names.of(ns) }?;
    // SAFETY: the element's name is null or NUL-terminated, owned by the document.
    let local = unsafe { text(name) }?.to_owned();
    undeclared_prefix(ns.is_none(), &local)?;
    let mut el = Element {
        ns,
        local,
        attrs: Vec::new(),
        children: Vec::new(),
        span: 0..0,
    };
    while !prop.is_null() {
        if el.attrs.len() >= limits.max_attributes {
            return Err(XmlError::TooManyAttributes(limits.max_attributes));
        }
        let (a_ns, a_name, mut child, next) = {
            // SAFETY: `prop` is an attribute of `node`, valid while the document lives.
            let a = unsafe { &*prop };
            (a.ns, a.name, a.children, a.next)
        };
        let mut value = String::new();
        while !child.is_null() {
            let (ty, content, next_child) = {
                // SAFETY: `child` is a node of the attribute's value, owned by the document.
                let c = unsafe { &*child };
                (c.type_, c.content, c.next)
            };
            if ty != b::xmlElementType_XML_TEXT_NODE {
                return Err(XmlError::Malformed(
                    "an attribute value holds an entity reference".into(),
                ));
            }
            // SAFETY: a text node's content is null or NUL-terminated, owned by the document.
            value.push_str(unsafe { text(content) }?);
            child = next_child;
        }
        // SAFETY: the attribute's namespace belongs to the document.
        let ns = unsafe { names.of(a_ns) }?;
        // SAFETY: the attribute's name is null or NUL-terminated, owned by the document.
        let local = unsafe { text(a_name) }?.to_owned();
        undeclared_prefix(ns.is_none(), &local)?;
        el.attrs.push(Attr { ns, local, value });
        prop = next.cast();
    }
    Ok((el, children))
}

/// The direct text (and CDATA) of `node`, joined.
///
/// # Safety
/// `node` must be an element of a document that stays alive and unchanged during the call.
pub(super) unsafe fn direct_text(node: *mut b::xmlNode) -> Result<String, XmlError> {
    let mut out = String::new();
    // SAFETY: `node` is a valid element (guaranteed by the caller).
    let mut child = unsafe { (*node).children };
    while !child.is_null() {
        // SAFETY: `child` is a node of the document, read while it lives.
        let c = unsafe { &*child };
        if c.type_ == b::xmlElementType_XML_TEXT_NODE
            || c.type_ == b::xmlElementType_XML_CDATA_SECTION_NODE
        {
            // SAFETY: the content of a text node is null or NUL-terminated, owned by it.
            out.push_str(unsafe { text(c.content) }?);
        }
        child = c.next;
    }
    Ok(out)
}

impl Doc {
    /// The document element as an [`Element`] within `limits` (see the module documentation).
    pub fn root_element(&self, limits: Limits) -> Result<Element, XmlError> {
        let root = self.root().map_err(|_| XmlError::Empty)?;
        let mut names = Names::default();
        // Open elements, each with the next of its children to read.
        let mut stack: Vec<(Element, *mut b::xmlNode)> = Vec::new();
        // SAFETY: `root` is the document element; `self` keeps the document alive and
        // borrowed (unchanged) during the walk.
        stack.push(unsafe { open(root, &mut names, limits) }?);
        let mut count = 1usize;
        if count > limits.max_elements {
            return Err(XmlError::TooManyElements(limits.max_elements));
        }
        loop {
            let depth = stack.len();
            let Some((el, cursor)) = stack.last_mut() else {
                return Err(XmlError::Empty);
            };
            let node = *cursor;
            if node.is_null() {
                let Some((done, _)) = stack.pop() else {
                    return Err(XmlError::Empty);
                };
                match stack.last_mut() {
                    Some((parent, _)) => parent.children.push(Node::Element(done)),
                    None => return Ok(done),
                }
                continue;
            }
            let (ty, content, next) = {
                // SAFETY: `node` is a child of an open element, reached through `children` and
                // `next` links that libxml2 keeps valid while the document lives.
                let r = unsafe { &*node };
                (r.type_, r.content, r.next)
            };
            *cursor = next;
            match ty {
                b::xmlElementType_XML_ELEMENT_NODE => {
                    if depth >= limits.max_depth {
                        return Err(XmlError::TooDeep(limits.max_depth));
                    }
                    count += 1;
                    if count > limits.max_elements {
                        return Err(XmlError::TooManyElements(limits.max_elements));
                    }
                    // SAFETY: `node` is an element of the document (as above).
                    let opened = unsafe { open(node, &mut names, limits) }?;
                    stack.push(opened);
                }
                b::xmlElementType_XML_TEXT_NODE | b::xmlElementType_XML_CDATA_SECTION_NODE => {
                    // SAFETY: the content of a text node is null or NUL-terminated, owned by
                    // the document.
                    push_text(el, unsafe { text(content) }?);
                }
                b::xmlElementType_XML_COMMENT_NODE | b::xmlElementType_XML_PI_NODE => {}
                _ => {
                    return Err(XmlError::Malformed(
                        "the verified element holds a node that is not read".into(),
                    ));
                }
            }
        }
    }
}
