//! SOAP 1.1/1.2 as a codec: the [`envelope`], [`addressing`] (WS-Addressing), [`wsse`] (the
//! WS-Security header's tokens) and [`fault`]s. It imports only `xml`, `crypto` and `secret`.

pub mod addressing;
pub mod envelope;
pub mod fault;
pub mod wsse;

use crate::secret::Secret;
use crate::xml::ns::{WSA_NSS, WSSE};

pub use addressing::{
    Addressing, ReplyAddressing, addressing_fault_action, fault_action, reply_addressing_of,
};
pub use envelope::{
    Envelope, SoapError, SoapVersion, content_type_action, content_type_param, parse_envelope,
    version_from_content_type, write_envelope,
};
pub use fault::{FaultCode, TrustNs, write_fault, write_trust_fault};
pub use wsse::{Timestamp, UsernameToken, read_security};

use envelope::{must_understand, targets_us};

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
            addressing::read(h, wsa, env.version, &mut out.addressing)?;
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

#[cfg(test)]
mod tests {
    use super::fault::write_fault_with;
    use super::*;
    use crate::xml::Limits;

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
