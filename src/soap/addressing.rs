//! WS-Addressing: reading the request's headers, and the reply's (action, message id,
//! relation) and fault actions.

use crate::xml::Element;
use crate::xml::ns::{
    WSA_2004, WSA_2004_ANONYMOUS, WSA_2004_FAULT_ACTION, WSA_ANONYMOUS, WSA_FAULT_ACTION, WSA_NONE,
    WSA_NSS, WSA_SOAP_FAULT_ACTION,
};
use crate::xml::write::Writer;

use super::envelope::{Envelope, SoapError, SoapVersion, must_understand, targets_us};

/// WS-Addressing headers of a request.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Addressing {
    pub ns: Option<&'static str>,
    pub action: Option<String>,
    pub message_id: Option<String>,
}

/// The WS-Addressing namespace and MessageID a reply (a fault among them) goes with, read as
/// [`read_headers`](super::read_headers) reads them (the namespace of the first addressing header for this node, the
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

/// Reply addressing: the response action and the request's MessageID, if any.
#[derive(Debug, Clone)]
pub struct ReplyAddressing<'a> {
    pub wsa_ns: &'a str,
    pub action: &'a str,
    pub relates_to: Option<&'a str>,
}

pub(super) fn write_reply_headers(w: &mut Writer, a: &ReplyAddressing<'_>) {
    w.start("wsa:Action")
        .ns("wsa", a.wsa_ns)
        .text(a.action)
        .end();
    w.start("wsa:MessageID")
        .ns("wsa", a.wsa_ns)
        .text(&format!("urn:uuid:{}", uuid::Uuid::new_v4()))
        .end();
    if let Some(rel) = a.relates_to {
        w.start("wsa:RelatesTo").ns("wsa", a.wsa_ns).text(rel).end();
    }
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

/// Reads one WS-Addressing header block (in namespace `wsa`) into `out`: duplicates are
/// tolerated when they agree, and only anonymous reply addresses are accepted.
pub(super) fn read(
    h: &Element,
    wsa: &'static str,
    version: SoapVersion,
    out: &mut Addressing,
) -> Result<(), SoapError> {
    out.ns.get_or_insert(wsa);
    match h.local.as_str() {
        // An empty Action says nothing; SOAPAction or the RequestType may.
        "Action" if h.text().is_empty() => {}
        "Action" => {
            let a = h.text();
            match &out.action {
                Some(prev) if *prev != a => {
                    return Err(SoapError::InvalidHeader(
                        "conflicting wsa:Action headers".into(),
                    ));
                }
                _ => out.action = Some(a),
            }
        }
        "MessageID" if out.message_id.is_none() => {
            out.message_id = Some(h.text());
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
        _ if must_understand(h, version) => {
            return Err(SoapError::MustUnderstand(wsa.to_owned(), h.local.clone()));
        }
        _ => {}
    }
    Ok(())
}
