//! SOAP 1.1/1.2 envelopes, WS-Addressing and the WS-Security header; fault and reply writers.

use chrono::{DateTime, Utc};

use crate::secret::Secret;
use crate::crypto::encoding::base64_decode;
use crate::xml::datetime::parse_datetime;
use crate::xml::ns::{
    BASE64_BINARY, DS, JWT_VALUE_TYPES, OPENAM_SESSION_VALUE_TYPE, PASSWORD_DIGEST, PASSWORD_TEXT,
    SAML2, SOAP11, SOAP11_ACTOR_NEXT, SOAP12, SOAP12_ROLE_NEXT, SOAP12_ROLE_ULTIMATE_RECEIVER, WSA_2004,
    WSA_2004_ANONYMOUS, WSA_2004_FAULT_ACTION, WSA_ANONYMOUS, WSA_FAULT_ACTION, WSA_NONE, WSA_NSS,
    WSA_SOAP_FAULT_ACTION, WSSE, WSU, WST, X509V3_VALUE_TYPE,
};
use crate::xml::{Element, Limits, XmlError, escape_attr, escape_text};

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
fn targets_us(h: &Element, v: SoapVersion) -> bool {
    match v {
        SoapVersion::V11 => h
            .attr(Some(SOAP11), "actor")
            .is_none_or(|a| a == SOAP11_ACTOR_NEXT),
        SoapVersion::V12 => h
            .attr(Some(SOAP12), "role")
            .is_none_or(|r| r == SOAP12_ROLE_NEXT || r == SOAP12_ROLE_ULTIMATE_RECEIVER),
    }
}

fn must_understand(h: &Element, v: SoapVersion) -> bool {
    h.attr(Some(v.ns()), "mustUnderstand")
        .or_else(|| h.attr(None, "mustUnderstand"))
        .is_some_and(|m| matches!(m.trim(), "1" | "true"))
}

/// WS-Addressing headers of a request.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Addressing {
    pub ns: Option<&'static str>,
    pub action: Option<String>,
    pub message_id: Option<String>,
}

/// A WS-Security UsernameToken.
#[derive(Debug, Clone)]
pub struct UsernameToken {
    pub username: String,
    pub password: Secret<String>,
    pub digest: bool,
    pub nonce: Option<Vec<u8>>,
    pub created: Option<String>,
}

/// A wsu:Timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timestamp {
    pub created: Option<DateTime<Utc>>,
    pub expires: Option<DateTime<Utc>>,
}

/// What the header blocks carried.
#[derive(Debug, Default, Clone)]
pub struct RequestHeaders {
    pub addressing: Addressing,
    pub username_token: Option<UsernameToken>,
    /// An OpenAM session token from a `wsse:BinarySecurityToken`.
    pub session_token: Option<Secret<String>>,
    /// An id_token from a `wsse:BinarySecurityToken` of a JWT ValueType.
    pub jwt: Option<Secret<String>>,
    /// Where a `saml2:Assertion` in the Security header is in the request bytes...
    pub saml_assertion_at: Option<std::ops::Range<usize>>,
    /// ...and those bytes, once [`RequestHeaders::read_spans`] has read them.
    pub saml_assertion: Option<Vec<u8>>,
    /// The certificate (DER) of an X.509v3 `wsse:BinarySecurityToken`.
    pub x509_token: Option<Vec<u8>>,
    pub timestamp: Option<Timestamp>,
    /// The `wsu:Id` of the Timestamp, which a message signature references.
    pub timestamp_id: Option<String>,
    /// The SignatureValue of the Security header's `ds:Signature`, if any (replay check).
    pub signature_value: Option<Vec<u8>>,
    /// `x509_token` once the front end has verified that its key signed the Body and the
    /// Timestamp (see `server::soap`); only then is it a credential.
    pub x509_signed: Option<Vec<u8>>,
}

impl RequestHeaders {
    /// Copies the tokens that must be verified on the bytes as sent (a signed assertion)
    /// out of `input`, the request the envelope was parsed from.
    pub fn read_spans(&mut self, input: &[u8]) {
        self.saml_assertion = self
            .saml_assertion_at
            .clone()
            .and_then(|r| input.get(r))
            .map(<[u8]>::to_vec);
    }
}

/// The WS-Addressing namespace and MessageID a reply (a fault among them) goes with, read as
/// [`read_headers`] reads them (the namespace of the first addressing header for this node, the
/// first MessageID) but without judging the headers, so that a fault raised while they are read
/// still relates to the request. Without addressing headers: WS-Addressing 1.0, no MessageID.
pub fn reply_addressing_of(env: &Envelope) -> (&'static str, Option<String>) {
    let mut ns = None;
    let mut message_id = None;
    for h in env.headers.iter().filter(|h| targets_us(h, env.version)) {
        let Some(wsa) = WSA_NSS.iter().find(|n| h.ns.as_deref() == Some(**n)) else {
            continue;
        };
        ns.get_or_insert(*wsa);
        if h.local == "MessageID" && message_id.is_none() {
            message_id = Some(h.text());
        }
    }
    (ns.unwrap_or(WSA_NSS[0]), message_id)
}

/// Reads the header blocks: WS-Addressing (duplicates tolerated when they agree) and the
/// WS-Security header; any other block marked mustUnderstand is refused.
pub fn read_headers(env: &Envelope) -> Result<RequestHeaders, SoapError> {
    let mut out = RequestHeaders::default();
    let mut security_seen = false;
    for h in &env.headers {
        if !targets_us(h, env.version) {
            continue;
        }
        let ns = h.ns.as_deref().unwrap_or("");
        if let Some(wsa) = WSA_NSS.iter().find(|n| **n == ns) {
            out.addressing.ns.get_or_insert(wsa);
            match h.local.as_str() {
                // An empty Action says nothing; SOAPAction or the RequestType may.
                "Action" if h.text().is_empty() => {}
                "Action" => {
                    let a = h.text();
                    match &out.addressing.action {
                        Some(prev) if *prev != a => {
                            return Err(SoapError::InvalidHeader(
                                "conflicting wsa:Action headers".into(),
                            ));
                        }
                        _ => out.addressing.action = Some(a),
                    }
                }
                "MessageID" if out.addressing.message_id.is_none() => {
                    out.addressing.message_id = Some(h.text());
                }
                "MessageID" | "To" | "RelatesTo" => {}
                // Replies go back on the HTTP response; another address cannot be honoured.
                "ReplyTo" | "FaultTo" => {
                    let address = h.child(&WSA_NSS, "Address").map(Element::text);
                    let anonymous = address
                        .as_deref()
                        .is_none_or(|a| [WSA_ANONYMOUS, WSA_NONE, WSA_2004_ANONYMOUS].contains(&a));
                    if !anonymous {
                        return Err(SoapError::OnlyAnonymous(if h.local == "ReplyTo" {
                            "ReplyTo"
                        } else {
                            "FaultTo"
                        }));
                    }
                }
                _ if must_understand(h, env.version) => {
                    return Err(SoapError::MustUnderstand(ns.to_owned(), h.local.clone()));
                }
                _ => {}
            }
        } else if ns == WSSE && h.local == "Security" {
            if security_seen {
                return Err(SoapError::InvalidHeader(
                    "more than one wsse:Security header for this node".into(),
                ));
            }
            security_seen = true;
            read_security(h, &mut out)?;
        } else if must_understand(h, env.version) {
            return Err(SoapError::MustUnderstand(ns.to_owned(), h.local.clone()));
        }
    }
    Ok(out)
}

/// Reads the tokens among the children of `sec` (a `wsse:Security` header, or a
/// `wst:OnBehalfOf`) into `out`.
pub fn read_security(sec: &Element, out: &mut RequestHeaders) -> Result<(), SoapError> {
    let bad = |m: &str| SoapError::InvalidHeader(m.to_owned());
    for child in sec.elements() {
        let ns = child.ns.as_deref().unwrap_or("");
        match (ns, child.local.as_str()) {
            (WSSE, "UsernameToken") => {
                if out.username_token.is_some() {
                    return Err(bad("more than one wsse:UsernameToken"));
                }
                let username = child
                    .child(&[WSSE], "Username")
                    .map(Element::text)
                    .filter(|u| !u.is_empty())
                    .ok_or_else(|| bad("wsse:UsernameToken has no wsse:Username"))?;
                let pw = child
                    .child(&[WSSE], "Password")
                    .ok_or_else(|| bad("wsse:UsernameToken has no wsse:Password"))?;
                let digest = match pw.attr(None, "Type").map(str::trim) {
                    None | Some(PASSWORD_TEXT) => false,
                    Some(PASSWORD_DIGEST) => true,
                    Some(other) => {
                        return Err(SoapError::InvalidHeader(format!(
                            "unsupported wsse:Password Type `{other}`"
                        )));
                    }
                };
                let nonce = match child.child(&[WSSE], "Nonce") {
                    None => None,
                    Some(n) => {
                        if n.attr(None, "EncodingType")
                            .is_some_and(|e| e != BASE64_BINARY)
                        {
                            return Err(bad("wsse:Nonce must be Base64Binary"));
                        }
                        Some(
                            base64_decode(&n.text())
                                .ok_or_else(|| bad("wsse:Nonce is not valid base64"))?,
                        )
                    }
                };
                let created = child
                    .child(&[WSU], "Created")
                    .or_else(|| child.child(&[WSSE], "Created"))
                    .map(Element::text);
                out.username_token = Some(UsernameToken {
                    username,
                    // Text content, untrimmed: a password may end in spaces.
                    password: Secret::new(raw_text(pw)),
                    digest,
                    nonce,
                    created,
                });
            }
            (WSSE, "BinarySecurityToken")
                if child.attr(None, "ValueType").map(str::trim)
                    == Some(OPENAM_SESSION_VALUE_TYPE) =>
            {
                if out.session_token.is_some() {
                    return Err(bad("more than one OpenAM session token"));
                }
                let text = child.text();
                let token = match child.attr(None, "EncodingType").map(str::trim) {
                    Some(BASE64_BINARY) => base64_decode(&text)
                        .and_then(|b| String::from_utf8(b).ok())
                        .ok_or_else(|| bad("the OpenAM session token is not valid base64"))?,
                    _ => text,
                };
                out.session_token = Some(Secret::new(token));
            }
            (WSSE, "BinarySecurityToken")
                if child
                    .attr(None, "ValueType")
                    .map(str::trim)
                    .is_some_and(|v| JWT_VALUE_TYPES.contains(&v)) =>
            {
                if out.jwt.is_some() {
                    return Err(bad("more than one JWT BinarySecurityToken"));
                }
                let text = child.text();
                // The content is base64Binary of the JWT's bytes; a bare compact JWT (which has
                // dots, so is never base64) is read as it is.
                let token = if text.contains('.') {
                    text
                } else {
                    base64_decode(&text)
                        .and_then(|b| String::from_utf8(b).ok())
                        .ok_or_else(|| bad("the JWT BinarySecurityToken is not valid base64"))?
                };
                out.jwt = Some(Secret::new(token));
            }
            (WSSE, "BinarySecurityToken")
                if child.attr(None, "ValueType").map(str::trim) == Some(X509V3_VALUE_TYPE) =>
            {
                if out.x509_token.is_some() {
                    return Err(bad("more than one X.509 BinarySecurityToken"));
                }
                if child
                    .attr(None, "EncodingType")
                    .is_some_and(|e| e.trim() != BASE64_BINARY)
                {
                    return Err(bad("an X.509 BinarySecurityToken must be Base64Binary"));
                }
                out.x509_token = Some(
                    base64_decode(&child.text())
                        .ok_or_else(|| bad("the X.509 BinarySecurityToken is not valid base64"))?,
                );
            }
            (DS, "Signature") => {
                if out.signature_value.is_some() {
                    return Err(bad("more than one ds:Signature in wsse:Security"));
                }
                let value = child
                    .child(&[DS], "SignatureValue")
                    .and_then(|v| base64_decode(&v.text()))
                    .ok_or_else(|| bad("the ds:Signature has no valid SignatureValue"))?;
                out.signature_value = Some(value);
            }
            (SAML2, "Assertion") => {
                if out.saml_assertion_at.is_some() {
                    return Err(bad("more than one saml2:Assertion"));
                }
                out.saml_assertion_at = Some(child.span.clone());
            }
            (WSU, "Timestamp") => {
                if out.timestamp.is_some() {
                    return Err(bad("more than one wsu:Timestamp"));
                }
                let read = |name: &str| -> Result<Option<DateTime<Utc>>, SoapError> {
                    child
                        .child(&[WSU], name)
                        .map(|e| {
                            parse_datetime(&e.text()).ok_or_else(|| {
                                SoapError::InvalidHeader(format!(
                                    "wsu:Timestamp/wsu:{name} is not a dateTime"
                                ))
                            })
                        })
                        .transpose()
                };
                out.timestamp = Some(Timestamp {
                    created: read("Created")?,
                    expires: read("Expires")?,
                });
                out.timestamp_id = child.attr(Some(WSU), "Id").map(str::to_owned);
            }
            _ => {}
        }
    }
    Ok(())
}

fn raw_text(e: &Element) -> String {
    e.children
        .iter()
        .filter_map(|n| match n {
            crate::xml::Node::Text(t) => Some(t.as_str()),
            crate::xml::Node::Element(_) => None,
        })
        .collect()
}

/// Fault codes: the WS-Trust ones, and the SOAP-level ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultCode {
    InvalidRequest,
    FailedAuthentication,
    BadRequest,
    RequestFailed,
    InvalidSecurityToken,
    ExpiredData,
    InvalidTimeRange,
    InvalidScope,
    /// SOAP VersionMismatch (no WS-Trust subcode).
    VersionMismatch,
    /// SOAP MustUnderstand (no WS-Trust subcode).
    MustUnderstand,
    /// WS-Addressing: a ReplyTo/FaultTo other than anonymous.
    OnlyAnonymousAddressSupported,
}

impl FaultCode {
    /// The fault's own QName (`wst:` or `wsa:`), written as SOAP 1.1 faultcode / 1.2 Subcode.
    fn qname(self) -> Option<String> {
        let wst = |l: &str| format!("wst:{l}");
        Some(match self {
            Self::InvalidRequest => wst("InvalidRequest"),
            Self::FailedAuthentication => wst("FailedAuthentication"),
            Self::BadRequest => wst("BadRequest"),
            Self::RequestFailed => wst("RequestFailed"),
            Self::InvalidSecurityToken => wst("InvalidSecurityToken"),
            Self::ExpiredData => wst("ExpiredData"),
            Self::InvalidTimeRange => wst("InvalidTimeRange"),
            Self::InvalidScope => wst("InvalidScope"),
            Self::OnlyAnonymousAddressSupported => "wsa:OnlyAnonymousAddressSupported".to_owned(),
            Self::VersionMismatch | Self::MustUnderstand => return None,
        })
    }

    /// Whether the fault is the server's (SOAP 1.2 `Receiver`) rather than the sender's.
    fn receiver(self) -> bool {
        matches!(self, Self::RequestFailed)
    }
}

/// Reply addressing: the response action and the request's MessageID, if any.
#[derive(Debug, Clone)]
pub struct ReplyAddressing<'a> {
    pub wsa_ns: &'a str,
    pub action: &'a str,
    pub relates_to: Option<&'a str>,
}

fn write_header(out: &mut String, prefix: &str, addr: Option<&ReplyAddressing<'_>>, extra: &str) {
    let Some(a) = addr else {
        if !extra.is_empty() {
            out.push('<');
            out.push_str(prefix);
            out.push_str(":Header>");
            out.push_str(extra);
            out.push_str("</");
            out.push_str(prefix);
            out.push_str(":Header>");
        }
        return;
    };
    out.push('<');
    out.push_str(prefix);
    out.push_str(":Header>");
    out.push_str(extra);
    out.push_str("<wsa:Action xmlns:wsa=\"");
    out.push_str(a.wsa_ns);
    out.push_str("\">");
    out.push_str(&escape_text(a.action));
    out.push_str("</wsa:Action><wsa:MessageID xmlns:wsa=\"");
    out.push_str(a.wsa_ns);
    out.push_str("\">urn:uuid:");
    out.push_str(&uuid::Uuid::new_v4().to_string());
    out.push_str("</wsa:MessageID>");
    if let Some(rel) = a.relates_to {
        out.push_str("<wsa:RelatesTo xmlns:wsa=\"");
        out.push_str(a.wsa_ns);
        out.push_str("\">");
        out.push_str(&escape_text(rel));
        out.push_str("</wsa:RelatesTo>");
    }
    out.push_str("</");
    out.push_str(prefix);
    out.push_str(":Header>");
}

/// Wraps a body in an envelope of `version`. Reply headers never carry mustUnderstand.
pub fn write_envelope(
    version: SoapVersion,
    addr: Option<&ReplyAddressing<'_>>,
    body: &str,
) -> String {
    write_envelope_with(version, addr, "", body)
}

fn write_envelope_with(
    version: SoapVersion,
    addr: Option<&ReplyAddressing<'_>>,
    extra_headers: &str,
    body: &str,
) -> String {
    let mut out = String::with_capacity(body.len() + 512);
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?><soap:Envelope xmlns:soap=\"");
    out.push_str(version.ns());
    out.push_str("\">");
    write_header(&mut out, "soap", addr, extra_headers);
    out.push_str("<soap:Body>");
    out.push_str(body);
    out.push_str("</soap:Body></soap:Envelope>");
    out
}

/// WS-Addressing's action for faults, in the namespace the request used.
pub fn fault_action(wsa_ns: &str) -> &'static str {
    if wsa_ns == WSA_2004 {
        WSA_2004_FAULT_ACTION
    } else {
        WSA_SOAP_FAULT_ACTION
    }
}

/// The action of the faults WS-Addressing itself defines (OnlyAnonymousAddressSupported...),
/// in the namespace the request used (WS-Addressing 1.0 SOAP Binding 6.4).
pub fn addressing_fault_action(wsa_ns: &str) -> &'static str {
    if wsa_ns == WSA_2004 {
        WSA_2004_FAULT_ACTION
    } else {
        WSA_FAULT_ACTION
    }
}

/// A SOAP fault: SOAP 1.1 `faultcode` is the `wst:` QName; SOAP 1.2 puts `Sender`/`Receiver`
/// in `Code/Value` and the `wst:` QName in `Subcode/Value`.
pub fn write_fault(
    version: SoapVersion,
    addr: Option<&ReplyAddressing<'_>>,
    code: FaultCode,
    reason: &str,
) -> String {
    write_fault_with(version, addr, code, reason, None)
}

/// [`write_fault`], naming the header that was not understood (SOAP 1.2 `NotUnderstood`).
pub fn write_fault_with(
    version: SoapVersion,
    addr: Option<&ReplyAddressing<'_>>,
    code: FaultCode,
    reason: &str,
    not_understood: Option<(&str, &str)>,
) -> String {
    let wst = WST;
    let wsa = WSA_NSS[0];
    let reason = escape_text(reason);
    let body = match version {
        SoapVersion::V11 => {
            let faultcode = match code.qname() {
                Some(q) => q,
                None if code == FaultCode::VersionMismatch => "soap:VersionMismatch".into(),
                None => "soap:MustUnderstand".into(),
            };
            format!(
                "<soap:Fault xmlns:wst=\"{wst}\" xmlns:wsa=\"{wsa}\"><faultcode>{faultcode}</faultcode><faultstring>{reason}</faultstring></soap:Fault>"
            )
        }
        SoapVersion::V12 => {
            let value = match code {
                FaultCode::VersionMismatch => "soap:VersionMismatch",
                FaultCode::MustUnderstand => "soap:MustUnderstand",
                c if c.receiver() => "soap:Receiver",
                _ => "soap:Sender",
            };
            let subcode = code
                .qname()
                .map(|q| format!("<soap:Subcode><soap:Value>{q}</soap:Value></soap:Subcode>"))
                .unwrap_or_default();
            format!(
                "<soap:Fault xmlns:wst=\"{wst}\" xmlns:wsa=\"{wsa}\"><soap:Code><soap:Value>{value}</soap:Value>{subcode}</soap:Code><soap:Reason><soap:Text xml:lang=\"en\">{reason}</soap:Text></soap:Reason></soap:Fault>"
            )
        }
    };
    let extra = match (version, not_understood) {
        (SoapVersion::V12, Some((ns, local))) => format!(
            "<soap:NotUnderstood xmlns:h=\"{}\" qname=\"h:{}\"/>",
            escape_attr(ns),
            escape_attr(local)
        ),
        _ => String::new(),
    };
    write_envelope_with(version, addr, &extra, &body)
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

#[cfg(test)]
mod tests {
    use super::*;

    const CAPTURE: &str = r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://www.w3.org/2005/08/addressing"><s:Header><a:Action s:mustUnderstand="1">A</a:Action><a:MessageID>m1</a:MessageID><a:Action>A</a:Action><a:MessageID>m2</a:MessageID><o:Security s:mustUnderstand="1" xmlns:o="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"><o:UsernameToken><o:Username>alice</o:Username><o:Password>s3cret </o:Password></o:UsernameToken></o:Security></s:Header><s:Body><x xmlns="urn:x"/></s:Body></s:Envelope>"#;

    #[test]
    fn reads_addressing_and_username_token() {
        let env = parse_envelope(CAPTURE.as_bytes(), Limits::default()).unwrap();
        assert_eq!(env.version, SoapVersion::V12);
        let h = read_headers(&env).unwrap();
        assert_eq!(h.addressing.action.as_deref(), Some("A"));
        assert_eq!(h.addressing.message_id.as_deref(), Some("m1"));
        let ut = h.username_token.unwrap();
        assert_eq!(ut.username, "alice");
        assert_eq!(ut.password.expose(), "s3cret ");
        assert!(!ut.digest);
    }

    #[test]
    fn refuses_unknown_must_understand_headers_and_conflicts() {
        let x = CAPTURE.replace("<a:Action>A</a:Action>", "<a:Action>B</a:Action>");
        let env = parse_envelope(x.as_bytes(), Limits::default()).unwrap();
        assert!(matches!(
            read_headers(&env),
            Err(SoapError::InvalidHeader(_))
        ));
        let x = CAPTURE.replace(
            "<s:Header>",
            r#"<s:Header><z:Y xmlns:z="urn:z" s:mustUnderstand="true"/>"#,
        );
        let env = parse_envelope(x.as_bytes(), Limits::default()).unwrap();
        assert_eq!(
            read_headers(&env).unwrap_err(),
            SoapError::MustUnderstand("urn:z".into(), "Y".into())
        );
    }

    #[test]
    fn envelope_structure_and_addressing_rules() {
        let env = |inner: &str| {
            format!(
                r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:a="http://www.w3.org/2005/08/addressing">{inner}</s:Envelope>"#
            )
        };
        let two_bodies = env("<s:Body><x/></s:Body><s:Body><y/></s:Body>");
        assert_eq!(
            parse_envelope(two_bodies.as_bytes(), Limits::default()).unwrap_err(),
            SoapError::Structure
        );
        let header_after = env("<s:Body><x/></s:Body><s:Header/>");
        assert_eq!(
            parse_envelope(header_after.as_bytes(), Limits::default()).unwrap_err(),
            SoapError::Structure
        );
        assert_eq!(
            parse_envelope(b"<foo/>", Limits::default()).unwrap_err(),
            SoapError::NotEnvelope
        );
        let reply_to = env(
            "<s:Header><a:ReplyTo><a:Address>http://evil/</a:Address></a:ReplyTo></s:Header><s:Body><x/></s:Body>",
        );
        let e = parse_envelope(reply_to.as_bytes(), Limits::default()).unwrap();
        assert_eq!(
            read_headers(&e).unwrap_err(),
            SoapError::OnlyAnonymous("ReplyTo")
        );
        let anon = env(
            "<s:Header><a:ReplyTo><a:Address>http://www.w3.org/2005/08/addressing/anonymous</a:Address></a:ReplyTo><a:Action></a:Action></s:Header><s:Body><x/></s:Body>",
        );
        let e = parse_envelope(anon.as_bytes(), Limits::default()).unwrap();
        assert_eq!(read_headers(&e).unwrap().addressing.action, None);
        // A refused header still leaves the reply addressing readable.
        let late_id = env(
            "<s:Header><a:FaultTo><a:Address>http://evil/</a:Address></a:FaultTo><a:MessageID>m1</a:MessageID><a:MessageID>m2</a:MessageID></s:Header><s:Body><x/></s:Body>",
        );
        let e = parse_envelope(late_id.as_bytes(), Limits::default()).unwrap();
        assert!(read_headers(&e).is_err());
        assert_eq!(reply_addressing_of(&e), (WSA_NSS[0], Some("m1".to_owned())));
        let bogus =
            env(r#"<s:Header><a:Bogus s:mustUnderstand="1"/></s:Header><s:Body><x/></s:Body>"#);
        let e = parse_envelope(bogus.as_bytes(), Limits::default()).unwrap();
        assert!(matches!(
            read_headers(&e),
            Err(SoapError::MustUnderstand(..))
        ));
    }

    #[test]
    fn faults_follow_each_soap_version() {
        let f11 = write_fault(
            SoapVersion::V11,
            None,
            FaultCode::FailedAuthentication,
            "no",
        );
        assert!(f11.contains("<faultcode>wst:FailedAuthentication</faultcode>"));
        let f12 = write_fault(
            SoapVersion::V12,
            None,
            FaultCode::FailedAuthentication,
            "a<b",
        );
        assert!(f12.contains("<soap:Value>soap:Sender</soap:Value><soap:Subcode><soap:Value>wst:FailedAuthentication</soap:Value></soap:Subcode>"));
        assert!(f12.contains("a&lt;b"));
        let r = write_fault(SoapVersion::V12, None, FaultCode::RequestFailed, "x");
        assert!(r.contains("soap:Receiver"));
        let mu = write_fault_with(
            SoapVersion::V12,
            None,
            FaultCode::MustUnderstand,
            "x",
            Some(("urn:z", "Y")),
        );
        assert!(
            mu.contains(
                "<soap:Header><soap:NotUnderstood xmlns:h=\"urn:z\" qname=\"h:Y\"/></soap:Header>"
            ),
            "{mu}"
        );
    }

    #[test]
    fn content_type_helpers() {
        assert_eq!(
            content_type_action(r#"application/soap+xml; charset=utf-8; action="urn:a""#)
                .as_deref(),
            Some("urn:a")
        );
        assert_eq!(
            version_from_content_type("Text/XML; charset=utf-8"),
            Some(SoapVersion::V11)
        );
        assert_eq!(version_from_content_type("application/json"), None);
    }
}
