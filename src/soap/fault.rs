//! SOAP faults with WS-Trust and WS-Addressing codes, for either SOAP version.

use crate::xml::ns::{WSA_NSS, WST};
use crate::xml::write::Writer;

use super::addressing::ReplyAddressing;
use super::envelope::{SoapVersion, write_envelope_with};

/// Fault codes: the WS-Trust ones, and the SOAP-level ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultCode {
    InvalidRequest,
    FailedAuthentication,
    BadRequest,
    RequestFailed,
    ExpiredData,
    InvalidTimeRange,
    InvalidScope,
    /// The token a request names is invalid (WS-Trust 1.3 section 11: revoked, not ours).
    InvalidSecurityToken,
    /// A renewal was refused (WS-Trust 1.3 section 11).
    UnableToRenew,
    /// SOAP VersionMismatch (no WS-Trust subcode).
    VersionMismatch,
    /// SOAP MustUnderstand (no WS-Trust subcode).
    MustUnderstand,
    /// WS-Addressing: a ReplyTo/FaultTo other than anonymous.
    OnlyAnonymousAddressSupported,
}

/// The WS-Trust namespace a fault's code is in (the request's), and the prefix bound to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrustNs {
    pub prefix: &'static str,
    pub uri: &'static str,
}

impl TrustNs {
    /// WS-Trust 1.3, for faults raised before a request's version is known.
    pub const V13: TrustNs = TrustNs {
        prefix: "wst",
        uri: WST,
    };
}

impl FaultCode {
    /// The fault's own QName (`wst:` or `wsa:`), written as SOAP 1.1 faultcode / 1.2 Subcode.
    fn qname(self, trust: TrustNs) -> Option<String> {
        let wst = |l: &str| format!("{}:{l}", trust.prefix);
        Some(match self {
            Self::InvalidRequest => wst("InvalidRequest"),
            Self::FailedAuthentication => wst("FailedAuthentication"),
            Self::BadRequest => wst("BadRequest"),
            Self::RequestFailed => wst("RequestFailed"),
            Self::ExpiredData => wst("ExpiredData"),
            Self::InvalidTimeRange => wst("InvalidTimeRange"),
            Self::InvalidScope => wst("InvalidScope"),
            Self::InvalidSecurityToken => wst("InvalidSecurityToken"),
            Self::UnableToRenew => wst("UnableToRenew"),
            Self::OnlyAnonymousAddressSupported => "wsa:OnlyAnonymousAddressSupported".to_owned(),
            Self::VersionMismatch | Self::MustUnderstand => return None,
        })
    }

    /// Its local name, as the `outcome` label of the request metrics.
    pub fn name(self) -> &'static str {
        match self {
            Self::InvalidRequest => "InvalidRequest",
            Self::FailedAuthentication => "FailedAuthentication",
            Self::BadRequest => "BadRequest",
            Self::RequestFailed => "RequestFailed",
            Self::ExpiredData => "ExpiredData",
            Self::InvalidTimeRange => "InvalidTimeRange",
            Self::InvalidScope => "InvalidScope",
            Self::InvalidSecurityToken => "InvalidSecurityToken",
            Self::UnableToRenew => "UnableToRenew",
            Self::OnlyAnonymousAddressSupported => "OnlyAnonymousAddressSupported",
            Self::VersionMismatch => "VersionMismatch",
            Self::MustUnderstand => "MustUnderstand",
        }
    }

    /// Whether the fault is the server's (SOAP 1.2 `Receiver`) rather than the sender's.
    fn receiver(self) -> bool {
        matches!(self, Self::RequestFailed)
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
    write_trust_fault(version, TrustNs::V13, addr, code, reason, not_understood)
}

/// [`write_fault_with`] with the WS-Trust codes in `trust`, the request's namespace (a
/// WS-Trust 2005 client reads `t:InvalidRequest` of February 2005).
pub fn write_trust_fault(
    version: SoapVersion,
    trust: TrustNs,
    addr: Option<&ReplyAddressing<'_>>,
    code: FaultCode,
    reason: &str,
    not_understood: Option<(&str, &str)>,
) -> String {
    let body = |w: &mut Writer| {
        w.start("soap:Fault")
            .ns(trust.prefix, trust.uri)
            .ns("wsa", WSA_NSS[0]);
        match version {
            SoapVersion::V11 => {
                let faultcode = match code.qname(trust) {
                    Some(q) => q,
                    None if code == FaultCode::VersionMismatch => "soap:VersionMismatch".into(),
                    None => "soap:MustUnderstand".into(),
                };
                w.element("faultcode", &faultcode);
                w.element("faultstring", reason);
            }
            SoapVersion::V12 => {
                let value = match code {
                    FaultCode::VersionMismatch => "soap:VersionMismatch",
                    FaultCode::MustUnderstand => "soap:MustUnderstand",
                    c if c.receiver() => "soap:Receiver",
                    _ => "soap:Sender",
                };
                w.start("soap:Code");
                w.element("soap:Value", value);
                if let Some(q) = code.qname(trust) {
                    w.start("soap:Subcode");
                    w.element("soap:Value", &q);
                    w.end();
                }
                w.end();
                w.start("soap:Reason");
                w.start("soap:Text")
                    .attr("xml:lang", "en")
                    .text(reason)
                    .end();
                w.end();
            }
        }
        w.end();
    };
    let header = |w: &mut Writer| {
        if let Some((ns, local)) = not_understood {
            w.start("soap:NotUnderstood")
                .ns("h", ns)
                .attr("qname", &format!("h:{local}"))
                .end();
        }
    };
    let extra: Option<&dyn Fn(&mut Writer)> = match (version, not_understood) {
        (SoapVersion::V12, Some(_)) => Some(&header),
        _ => None,
    };
    write_envelope_with(version, addr, extra, &body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::soap::envelope::write_envelope;
    use crate::xml::ns::{SOAP11, SOAP12};

    /// The MessageID of a reply is random; the rest is compared byte for byte.
    fn masked(s: &str) -> String {
        match s.find("urn:uuid:") {
            Some(i) => format!("{}UUID{}", &s[..i + 9], &s[i + 9 + 36..]),
            None => s.to_owned(),
        }
    }

    #[test]
    fn faults_are_written_byte_for_byte() {
        let wsa = WSA_NSS[0];
        assert_eq!(
            write_fault(
                SoapVersion::V11,
                None,
                FaultCode::FailedAuthentication,
                "no<"
            ),
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><soap:Envelope xmlns:soap=\"{SOAP11}\"><soap:Body><soap:Fault xmlns:wst=\"{WST}\" xmlns:wsa=\"{wsa}\"><faultcode>wst:FailedAuthentication</faultcode><faultstring>no&lt;</faultstring></soap:Fault></soap:Body></soap:Envelope>"
            )
        );
        let addr = ReplyAddressing {
            wsa_ns: wsa,
            action: "urn:act&",
            relates_to: Some("m<1"),
        };
        let mu = write_fault_with(
            SoapVersion::V12,
            Some(&addr),
            FaultCode::MustUnderstand,
            "r",
            Some(("urn:z\"", "Y")),
        );
        assert_eq!(
            masked(&mu),
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><soap:Envelope xmlns:soap=\"{SOAP12}\"><soap:Header><soap:NotUnderstood xmlns:h=\"urn:z&quot;\" qname=\"h:Y\"/><wsa:Action xmlns:wsa=\"{wsa}\">urn:act&amp;</wsa:Action><wsa:MessageID xmlns:wsa=\"{wsa}\">urn:uuid:UUID</wsa:MessageID><wsa:RelatesTo xmlns:wsa=\"{wsa}\">m&lt;1</wsa:RelatesTo></soap:Header><soap:Body><soap:Fault xmlns:wst=\"{WST}\" xmlns:wsa=\"{wsa}\"><soap:Code><soap:Value>soap:MustUnderstand</soap:Value></soap:Code><soap:Reason><soap:Text xml:lang=\"en\">r</soap:Text></soap:Reason></soap:Fault></soap:Body></soap:Envelope>"
            )
        );
        let addr = ReplyAddressing {
            wsa_ns: wsa,
            action: "a",
            relates_to: None,
        };
        let failed = write_fault(SoapVersion::V12, Some(&addr), FaultCode::RequestFailed, "x");
        assert_eq!(
            masked(&failed),
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><soap:Envelope xmlns:soap=\"{SOAP12}\"><soap:Header><wsa:Action xmlns:wsa=\"{wsa}\">a</wsa:Action><wsa:MessageID xmlns:wsa=\"{wsa}\">urn:uuid:UUID</wsa:MessageID></soap:Header><soap:Body><soap:Fault xmlns:wst=\"{WST}\" xmlns:wsa=\"{wsa}\"><soap:Code><soap:Value>soap:Receiver</soap:Value><soap:Subcode><soap:Value>wst:RequestFailed</soap:Value></soap:Subcode></soap:Code><soap:Reason><soap:Text xml:lang=\"en\">x</soap:Text></soap:Reason></soap:Fault></soap:Body></soap:Envelope>"
            )
        );
        let mu11 = write_fault_with(
            SoapVersion::V11,
            None,
            FaultCode::MustUnderstand,
            "m",
            Some(("urn:z", "Y")),
        );
        assert!(mu11.contains("<soap:Body><soap:Fault xmlns:wst=") && !mu11.contains("Header"));
        assert!(mu11.contains("<faultcode>soap:MustUnderstand</faultcode>"));
        let t2005 = TrustNs {
            prefix: "t",
            uri: "http://schemas.xmlsoap.org/ws/2005/02/trust",
        };
        let f = write_trust_fault(SoapVersion::V12, t2005, None, FaultCode::InvalidRequest, "r", None);
        assert!(f.contains("<soap:Fault xmlns:t=\"http://schemas.xmlsoap.org/ws/2005/02/trust\" xmlns:wsa="));
        assert!(f.contains("<soap:Subcode><soap:Value>t:InvalidRequest</soap:Value></soap:Subcode>"));
        let body = write_envelope(SoapVersion::V11, None, "<b/>");
        assert_eq!(
            body,
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><soap:Envelope xmlns:soap=\"{SOAP11}\"><soap:Body><b/></soap:Body></soap:Envelope>"
            )
        );
    }
}
