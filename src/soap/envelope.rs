//! The SOAP envelope: versions, parsing (one Header, one Body with one element), the
//! header targeting rules, the reply envelope, and Content-Type helpers.

use crate::xml::ns::{
    SOAP11, SOAP11_ACTOR_NEXT, SOAP12, SOAP12_ROLE_NEXT, SOAP12_ROLE_ULTIMATE_RECEIVER, WSU,
};
use crate::xml::write::Writer;
use crate::xml::{Element, Limits, XmlError};

use super::addressing::{ReplyAddressing, write_reply_headers};

/// SOAP version of a message; replies use the version of the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SoapVersion {
    V11,
    V12,
}

impl SoapVersion {
    pub fn ns(self) -> &'static str {
        match self {
            SoapVersion::V11 => SOAP11,
            SoapVersion::V12 => SOAP12,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            SoapVersion::V11 => "text/xml; charset=utf-8",
            SoapVersion::V12 => "application/soap+xml; charset=utf-8",
        }
    }
}

/// Envelope-level failures; each maps to a SOAP fault.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SoapError {
    #[error("{0}")]
    Xml(#[from] XmlError),
    #[error("the Envelope is not in the SOAP 1.1 or 1.2 namespace")]
    VersionMismatch,
    #[error("the document element is not a SOAP Envelope")]
    NotEnvelope,
    #[error("the SOAP envelope must hold at most one Header, then one Body, and nothing after it")]
    Structure,
    #[error("only the anonymous address is supported in wsa:{0}")]
    OnlyAnonymous(&'static str),
    #[error("the SOAP envelope has no Body")]
    NoBody,
    #[error("the SOAP Body must contain exactly one element")]
    BodyChildren,
    #[error("header {{{0}}}{1} is marked mustUnderstand but is not understood")]
    MustUnderstand(String, String),
    #[error("{0}")]
    InvalidHeader(String),
}

/// A received envelope.
#[derive(Debug)]
pub struct Envelope {
    pub version: SoapVersion,
    pub headers: Vec<Element>,
    pub body: Element,
    /// The `wsu:Id` of the SOAP Body, which a message signature references.
    pub body_id: Option<String>,
}

/// Parses an envelope from bytes.
pub fn parse_envelope(bytes: &[u8], limits: Limits) -> Result<Envelope, SoapError> {
    let root = crate::xml::parse(bytes, limits)?;
    let version = match (root.ns.as_deref(), root.local.as_str()) {
        (Some(SOAP11), "Envelope") => SoapVersion::V11,
        (Some(SOAP12), "Envelope") => SoapVersion::V12,
        (_, "Envelope") => return Err(SoapError::VersionMismatch),
        _ => return Err(SoapError::NotEnvelope),
    };
    let ns = version.ns();
    let mut headers = None;
    let mut body = None;
    for child in root.children.into_iter() {
        let crate::xml::Node::Element(e) = child else {
            continue;
        };
        let in_soap_ns = e.ns.as_deref() == Some(ns);
        match (in_soap_ns, e.local.as_str()) {
            (true, "Header") if headers.is_none() && body.is_none() => {
                headers = Some(
                    e.children
                        .into_iter()
                        .filter_map(|n| match n {
                            crate::xml::Node::Element(h) => Some(h),
                            crate::xml::Node::Text(_) => None,
                        })
                        .collect::<Vec<_>>(),
                )
            }
            (true, "Body") if body.is_none() => body = Some(e),
            // A second Header or Body, a Header after the Body, or anything after the Body
            // would let two readers see two different requests.
            _ => return Err(SoapError::Structure),
        }
    }
    let headers = headers.unwrap_or_default();
    let body = body.ok_or(SoapError::NoBody)?;
    let body_id = body.attr(Some(WSU), "Id").map(str::to_owned);
    let mut elems = body.children.into_iter().filter_map(|n| match n {
        crate::xml::Node::Element(e) => Some(e),
        crate::xml::Node::Text(_) => None,
    });
    let first = elems.next().ok_or(SoapError::BodyChildren)?;
    if elems.next().is_some() {
        return Err(SoapError::BodyChildren);
    }
    Ok(Envelope {
        version,
        headers,
        body: first,
        body_id,
    })
}

/// Whether a header block is addressed to this node (no actor/role, or next/ultimate receiver).
pub(super) fn targets_us(h: &Element, v: SoapVersion) -> bool {
    match v {
        SoapVersion::V11 => h
            .attr(Some(SOAP11), "actor")
            .is_none_or(|a| a == SOAP11_ACTOR_NEXT),
        SoapVersion::V12 => h
            .attr(Some(SOAP12), "role")
            .is_none_or(|r| r == SOAP12_ROLE_NEXT || r == SOAP12_ROLE_ULTIMATE_RECEIVER),
    }
}

pub(super) fn must_understand(h: &Element, v: SoapVersion) -> bool {
    h.attr(Some(v.ns()), "mustUnderstand")
        .or_else(|| h.attr(None, "mustUnderstand"))
        .is_some_and(|m| matches!(m.trim(), "1" | "true"))
}

/// Wraps a body in an envelope of `version`. Reply headers never carry mustUnderstand.
pub fn write_envelope(
    version: SoapVersion,
    addr: Option<&ReplyAddressing<'_>>,
    body: &str,
) -> String {
    write_envelope_with(version, addr, None, &|w| {
        w.raw(body);
    })
}

/// An envelope with the reply addressing headers, after `extra_header` if given (header
/// blocks the fault writer adds), and a body that `body` writes.
pub(super) fn write_envelope_with(
    version: SoapVersion,
    addr: Option<&ReplyAddressing<'_>>,
    extra_header: Option<&dyn Fn(&mut Writer)>,
    body: &dyn Fn(&mut Writer),
) -> String {
    let mut w = Writer::with_capacity(1024);
    w.raw("<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
    w.start("soap:Envelope").ns("soap", version.ns());
    if addr.is_some() || extra_header.is_some() {
        w.start("soap:Header");
        if let Some(extra) = extra_header {
            extra(&mut w);
        }
        if let Some(a) = addr {
            write_reply_headers(&mut w, a);
        }
        w.end();
    }
    w.start("soap:Body");
    body(&mut w);
    w.finish()
}

/// Reads the `action` parameter of a SOAP 1.2 Content-Type.
pub fn content_type_action(content_type: &str) -> Option<String> {
    content_type_param(content_type, "action")
}

/// Reads a parameter of a Content-Type (`charset`, `action`), unquoted.
pub fn content_type_param(content_type: &str, name: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        (k.trim().eq_ignore_ascii_case(name)).then(|| v.trim().trim_matches('"').to_owned())
    })
}

/// The SOAP version a Content-Type announces, if it is a SOAP one.
pub fn version_from_content_type(content_type: &str) -> Option<SoapVersion> {
    let media = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match media.as_str() {
        "text/xml" => Some(SoapVersion::V11),
        "application/soap+xml" => Some(SoapVersion::V12),
        _ => None,
    }
}
