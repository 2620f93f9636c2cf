//! Request ids: every request gets one, every log line of its handling carries it (the
//! `request` span), and every response returns it as `X-Request-Id`. It is the client's
//! `X-Request-Id`, else a SOAP request's `wsa:MessageID`, when sane (at most
//! [`MAX_LEN`] characters of a safe set: a client cannot forge log syntax or flood lines with
//! it); otherwise one is generated. The id is no secret: it is given back to whoever sent it.

use std::sync::{Arc, OnceLock};

use warp::http::HeaderMap;

/// Longest request id taken from a client.
pub const MAX_LEN: usize = 128;

/// The response header (and the request header it is taken from).
pub const HEADER: &str = "x-request-id";

/// A request's id, decided once: by its `X-Request-Id`, by the route that reads the body
/// (`wsa:MessageID`), or generated when the reply is ready at the latest.
#[derive(Clone, Debug)]
pub struct RequestId {
    slot: Arc<OnceLock<String>>,
    span: tracing::Span,
}

impl RequestId {
    /// The id of a request with `headers`: the header's when sane; left open for a POST
    /// (its body may name one); generated for the rest.
    pub(super) fn for_request(method: &warp::http::Method, headers: &HeaderMap) -> RequestId {
        // At ERROR so that the span is enabled whenever any line is: at `log = "warn"`, a
        // warning of the request carries its id too (an INFO span would be filtered out).
        let span = tracing::error_span!("request", request_id = tracing::field::Empty);
        let id = RequestId {
            slot: Arc::new(OnceLock::new()),
            span,
        };
        let given = headers
            .get(HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(sane);
        match given {
            Some(given) => {
                id.set(given.to_owned());
            }
            None if method == warp::http::Method::POST => {}
            None => {
                id.get();
            }
        }
        id
    }

    /// The span every line of the request's handling is logged in.
    pub fn span(&self) -> &tracing::Span {
        &self.span
    }

    /// The id, generated now if nothing named one before.
    pub fn get(&self) -> &str {
        self.slot.get_or_init(|| {
            let id = uuid::Uuid::new_v4().to_string();
            self.span.record("request_id", id.as_str());
            id
        })
    }

    /// Takes the `wsa:MessageID` of a SOAP `body` when no header named an id and it is sane.
    pub(super) fn decide_by_body(&self, headers: &HeaderMap, body: &[u8]) -> &str {
        if self.slot.get().is_none() && looks_like_xml(headers) {
            if let Some(m) = message_id(body) {
                self.set(m.to_owned());
            }
        }
        self.get()
    }

    fn set(&self, id: String) {
        let _ = self.slot.get_or_init(|| {
            self.span.record("request_id", id.as_str());
            id
        });
    }
}

/// `s` trimmed, if it is 1 to [`MAX_LEN`] characters of letters, digits and `-_.:@/+=`.
pub fn sane(s: &str) -> Option<&str> {
    let s = s.trim();
    let ok = !s.is_empty()
        && s.len() <= MAX_LEN
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:@/+=".contains(&b));
    ok.then_some(s)
}

fn looks_like_xml(headers: &HeaderMap) -> bool {
    headers
        .get(warp::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.contains("xml"))
}

/// How far into a body `wsa:MessageID` is looked for: it sits in the SOAP header.
const SCAN: usize = 16 * 1024;

/// The text of the first `MessageID` element (any prefix) in the first [`SCAN`] bytes, if sane.
/// A cheap scan, not a parse: the id only labels log lines, and a client that names a
/// misleading one could as well send it as `X-Request-Id`.
fn message_id(body: &[u8]) -> Option<&str> {
    let head = body.get(..body.len().min(SCAN))?;
    let text = match std::str::from_utf8(head) {
        Ok(t) => t,
        Err(e) => std::str::from_utf8(head.get(..e.valid_up_to())?).ok()?,
    };
    let mut rest = text;
    while let Some(at) = rest.find("MessageID") {
        let before = rest.get(..at)?;
        let after = rest.get(at + "MessageID".len()..)?;
        rest = after;
        let opens = before.ends_with('<')
            || (before.ends_with(':')
                && before
                    .rfind(['<', '>', ' '])
                    .is_some_and(|p| before.get(p..p + 1) == Some("<")));
        if !opens || !after.starts_with(['>', ' ', '\t', '\r', '\n']) {
            continue;
        }
        let content = after.get(after.find('>')? + 1..)?;
        let value = content.get(..content.find('<')?)?;
        return sane(value);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sane_ids_only() {
        assert_eq!(sane(" abc-123 "), Some("abc-123"));
        assert_eq!(sane("urn:uuid:0f1e"), Some("urn:uuid:0f1e"));
        assert_eq!(sane(""), None);
        assert_eq!(sane("a b"), None);
        assert_eq!(sane("a\nb"), None);
        assert_eq!(sane("a\"b"), None);
        assert_eq!(sane(&"x".repeat(MAX_LEN)), Some("x".repeat(MAX_LEN).as_str()));
        assert_eq!(sane(&"x".repeat(MAX_LEN + 1)), None);
    }

    #[test]
    fn message_id_of_a_soap_header() {
        let env = br#"<s:Envelope xmlns:s="x" xmlns:a="y"><s:Header><a:Action>z</a:Action><a:MessageID s:mustUnderstand="1"> urn:uuid:42 </a:MessageID></s:Header></s:Envelope>"#;
        assert_eq!(message_id(env), Some("urn:uuid:42"));
        assert_eq!(
            message_id(b"<Envelope><MessageID>m-1</MessageID></Envelope>"),
            Some("m-1")
        );
        assert_eq!(message_id(b"<a:MessageIDx>m</a:MessageIDx>"), None);
        assert_eq!(message_id(b"<a:MessageID>bad id\n</a:MessageID>"), None);
        assert_eq!(message_id(b"no xml MessageID> at all"), None);
    }
}
