//! `wst:RequestSecurityTokenCollection` (WS-Trust 1.3 4.2; the RSTRC, 4.3): several RSTs in
//! one message, answered by one RSTRC. The codec half: reading the collection, bounded, and
//! writing the RSTRC of the answers.

use crate::xml::Element;

use super::{Rst, RstError, TrustVersion, parse_rst};

/// A parsed collection: its version and its RSTs, in order.
#[derive(Debug, Clone)]
pub struct Rstc {
    pub version: TrustVersion,
    pub requests: Vec<Rst>,
}

/// Whether `el` is a `wst:RequestSecurityTokenCollection` of any WS-Trust version.
pub fn is_rstc(el: &Element) -> bool {
    el.local == "RequestSecurityTokenCollection"
        && el.ns.as_deref().and_then(TrustVersion::of_ns).is_some()
}

/// Reads a collection of 2 to `max` RSTs (the schema's lower bound, the operator's upper
/// one), each in the collection's version. The count is checked before any RST is read.
pub fn parse_rstc(el: &Element, input: &[u8], max: usize) -> Result<Rstc, RstError> {
    let version = el
        .ns
        .as_deref()
        .and_then(TrustVersion::of_ns)
        .filter(|_| el.local == "RequestSecurityTokenCollection")
        .ok_or_else(|| RstError("not a wst:RequestSecurityTokenCollection".into()))?;
    if version == TrustVersion::V2005 {
        return Err(RstError(
            "WS-Trust February 2005 has no wst:RequestSecurityTokenCollection (batch is WS-Trust 1.3/1.4)".into(),
        ));
    }
    let n = el.elements().count();
    if n < 2 {
        return Err(RstError(
            "a wst:RequestSecurityTokenCollection holds at least two wst:RequestSecurityToken"
                .into(),
        ));
    }
    if n > max {
        return Err(RstError(format!(
            "the wst:RequestSecurityTokenCollection holds {n} requests; this server takes at most {max} (max_batch_requests)"
        )));
    }
    let requests = el
        .elements()
        .enumerate()
        .map(|(i, child)| {
            let ns = child.ns.as_deref().unwrap_or("");
            if !version.reads(ns) {
                return Err(RstError(format!(
                    "request {} of the collection is {{{ns}}}{}, not a wst:RequestSecurityToken of the collection's WS-Trust namespace",
                    i + 1,
                    child.local
                )));
            }
            parse_rst(child, input).map_err(|e| RstError(format!("request {}: {}", i + 1, e.0)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Rstc { version, requests })
}

/// The RSTRC of a batch: the RSTRs of `bodies`, in order. Each body is either the RSTRC
/// [`super::write_issue_response`] wrote for one Issue (its RSTR is taken out of it) or a
/// bare RSTR (a Validate's, Cancel's or Renew's, which keeps its own namespace declaration).
/// `None` if a body is neither.
pub fn write_batch_response(v: TrustVersion, bodies: &[String]) -> Option<String> {
    let open = format!(
        "<{}:RequestSecurityTokenResponseCollection xmlns:{}=\"{}\">",
        v.prefix(),
        v.prefix(),
        v.ns()
    );
    let close = format!("</{}:RequestSecurityTokenResponseCollection>", v.prefix());
    let rstr = format!("<{}:RequestSecurityTokenResponse ", v.prefix());
    let mut out = String::with_capacity(bodies.iter().map(String::len).sum::<usize>() + 256);
    out.push_str(&open);
    for b in bodies {
        match b.strip_prefix(open.as_str()) {
            Some(inner) => out.push_str(inner.strip_suffix(close.as_str())?),
            None if b.starts_with(&rstr) => out.push_str(b),
            None => return None,
        }
    }
    out.push_str(&close);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wstrust::{IssuedTokenResponse, Operation, write_issue_response};
    use crate::xml::ns::{KEY_TYPE_BEARER, WST};
    use crate::xml::{Limits, parse};

    fn rstc(xml: &str, max: usize) -> Result<Rstc, RstError> {
        parse_rstc(
            &parse(xml.as_bytes(), Limits::default()).unwrap(),
            xml.as_bytes(),
            max,
        )
    }

    #[test]
    fn collections_are_bounded_and_of_one_version() {
        let rst = format!(
            "<RequestSecurityToken><RequestType>{WST}/BatchIssue</RequestType></RequestSecurityToken>"
        );
        let of = |n: usize| {
            format!(
                "<RequestSecurityTokenCollection xmlns=\"{WST}\">{}</RequestSecurityTokenCollection>",
                rst.repeat(n)
            )
        };
        let c = rstc(&of(3), 3).unwrap();
        assert_eq!(c.requests.len(), 3);
        assert!(
            c.requests
                .iter()
                .all(|r| r.batch && r.request_type == Some(Operation::Issue))
        );
        assert!(rstc(&of(4), 3).unwrap_err().0.contains("at most 3"));
        assert!(rstc(&of(1), 3).is_err());
        let mixed = of(2).replace(
            "</RequestSecurityTokenCollection>",
            "<t:RequestSecurityToken xmlns:t=\"http://schemas.xmlsoap.org/ws/2005/02/trust\"/></RequestSecurityTokenCollection>",
        );
        assert!(rstc(&mixed, 3).unwrap_err().0.contains("request 3"));
        let t2005 = "<t:RequestSecurityTokenCollection xmlns:t=\"http://schemas.xmlsoap.org/ws/2005/02/trust\"><t:RequestSecurityToken/><t:RequestSecurityToken/></t:RequestSecurityTokenCollection>";
        assert!(rstc(t2005, 3).is_err());
    }

    #[test]
    fn batch_responses_hold_each_rstr_in_order() {
        let body = |id: &str| {
            write_issue_response(&IssuedTokenResponse {
                version: TrustVersion::V13,
                context: Some(id),
                token_type_uri: "urn:x",
                token_xml: "<a/>",
                token_id: id,
                created: chrono::DateTime::UNIX_EPOCH,
                expires: chrono::DateTime::UNIX_EPOCH,
                applies_to: None,
                key_type: KEY_TYPE_BEARER,
                proof: None,
                custom: false,
            })
        };
        let out = write_batch_response(TrustVersion::V13, &[body("one"), body("two")]).unwrap();
        assert_eq!(
            out.matches("<wst:RequestSecurityTokenResponseCollection")
                .count(),
            1
        );
        let one = out.find("Context=\"one\"").unwrap();
        let two = out.find("Context=\"two\"").unwrap();
        assert!(one < two, "{out}");
        assert!(parse(out.as_bytes(), Limits::default()).is_ok());
        assert_eq!(
            write_batch_response(TrustVersion::V13, &["<x/>".into()]),
            None
        );
        // Bare RSTRs (Validate, Cancel, Renew) are taken as they are, in order.
        let status =
            crate::wstrust::write_validate_response(TrustVersion::V13, Some("v"), false, "no");
        let cancel = crate::wstrust::write_cancel_response(TrustVersion::V13, Some("c"));
        let out = write_batch_response(TrustVersion::V13, &[status, cancel]).unwrap();
        let el = parse(out.as_bytes(), Limits::default()).unwrap();
        assert!(el.is(WST, "RequestSecurityTokenResponseCollection"));
        let contexts: Vec<_> = el
            .elements()
            .map(|r| r.attr(None, "Context").unwrap())
            .collect();
        assert_eq!(contexts, ["v", "c"], "{out}");
    }
}
