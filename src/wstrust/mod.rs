//! WS-Trust 1.3/1.4 messages: the RequestSecurityToken model and its parser, and the writer of
//! responses. No I/O, no HTTP.

pub mod proof;

use chrono::{DateTime, Utc};

use crate::xml::{Element, escape_attr, escape_text};

use crate::xml::ns::{
    BASE64_BINARY, SAMLID_VALUE_TYPE, STATUS_INVALID, STATUS_VALID, WSP_NSS, WSSE, WSSE11, WST,
    WST_NSS, WSU,
};

// compat: remove after issue 15 merge (import namespaces from `xml::ns`, dates from
// `xml::datetime`).
pub use crate::xml::datetime::{parse_datetime, wsu_datetime};
pub use crate::xml::ns::{
    KEY_TYPE_BEARER, KEY_TYPE_PUBLIC_KEY, KEY_TYPE_SYMMETRIC_KEY, TOKEN_TYPE_ID_TOKEN,
    TOKEN_TYPE_JWT, TOKEN_TYPE_SAML20, TOKEN_TYPE_SAML20_NS, TOKEN_TYPE_STATUS, WSA_NSS,
};

/// The bindings of WS-Trust, named by their action suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Issue,
    Validate,
    Cancel,
    Renew,
}

impl Operation {
    const ALL: [Operation; 4] = [Self::Issue, Self::Validate, Self::Cancel, Self::Renew];

    fn name(self) -> &'static str {
        match self {
            Self::Issue => "Issue",
            Self::Validate => "Validate",
            Self::Cancel => "Cancel",
            Self::Renew => "Renew",
        }
    }

    /// The request action, e.g. `.../200512/RST/Issue`.
    pub fn request_action(self) -> String {
        format!("{WST}/RST/{}", self.name())
    }

    /// The response action: `RSTRC/IssueFinal` for Issue, `RSTR/<Op>Final` otherwise.
    pub fn response_action(self) -> String {
        match self {
            Self::Issue => format!("{WST}/RSTRC/IssueFinal"),
            op => format!("{WST}/RSTR/{}Final", op.name()),
        }
    }

    /// Recognises an action URI (`.../RST/Issue`) in either WS-Trust namespace.
    pub fn from_action(action: &str) -> Option<Operation> {
        let action = action.trim();
        Self::ALL.into_iter().find(|op| {
            WST_NSS
                .iter()
                .any(|ns| action == format!("{ns}/RST/{}", op.name()))
        })
    }

    /// Recognises a `wst:RequestType` URI (`.../200512/Issue`).
    pub fn from_request_type(uri: &str) -> Option<Operation> {
        Self::ALL.into_iter().find(|op| {
            WST_NSS
                .iter()
                .any(|ns| uri == format!("{ns}/{}", op.name()))
        })
    }
}

/// Malformed requests, each a `wst:InvalidRequest`.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0}")]
pub struct RstError(pub String);

/// A parsed `wst:RequestSecurityToken`.
#[derive(Debug, Clone, Default)]
pub struct Rst {
    pub context: Option<String>,
    pub request_type: Option<Operation>,
    pub request_type_uri: Option<String>,
    pub token_type: Option<String>,
    pub key_type: Option<String>,
    /// The base64 certificate of `wst:UseKey` (`ds:KeyInfo/ds:X509Data/ds:X509Certificate`
    /// or an X.509 `wsse:BinarySecurityToken`), for holder-of-key with a public key.
    pub use_key_cert: Option<String>,
    pub applies_to: Option<String>,
    pub lifetime_created: Option<DateTime<Utc>>,
    pub lifetime_expires: Option<DateTime<Utc>>,
    /// `ActAs`, when present: not served yet, so refused.
    pub delegation: Option<&'static str>,
    /// `OnBehalfOf`: the element, whose one child is the token of the subject the requester
    /// vouches for (read by the SOAP layer like a Security header's tokens).
    pub on_behalf_of: Option<Element>,
    pub validate_target: Option<Target>,
    pub cancel_target: Option<Target>,
    /// `wst:KeySize`, in bits.
    pub key_size: Option<String>,
    /// The requestor's `wst:Entropy/wst:BinarySecret`.
    pub entropy: Option<crate::secret::Secret<Vec<u8>>>,
    pub computed_key_algorithm: Option<String>,
}

/// The content of a ValidateTarget or CancelTarget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A token, as the bytes it had in the request (a signature is checked on these).
    Token(Vec<u8>),
    /// A `wsse:SecurityTokenReference` naming a SAML assertion by its ID.
    SamlId(String),
    /// An id_token in a `wsse:BinarySecurityToken` of a JWT ValueType.
    Jwt(String),
    /// A `wsse:BinarySecurityToken` of another ValueType (a custom token): its
    /// `wsu:Id` and decoded content.
    Binary {
        value_type: String,
        id: Option<String>,
        token: String,
    },
    /// A `wsse:SecurityTokenReference` naming a token of another ValueType by its id.
    KeyIdentifier { value_type: String, id: String },
}

fn parse_target(el: &Element, input: &[u8]) -> Result<Target, RstError> {
    let mut kids = el.elements();
    let (Some(first), None) = (kids.next(), kids.next()) else {
        return Err(RstError(format!(
            "wst:{} must hold exactly one element",
            el.local
        )));
    };
    if first.is(WSSE, "SecurityTokenReference") {
        let ki = first.child(&[WSSE], "KeyIdentifier").ok_or_else(|| {
            RstError("the SecurityTokenReference has no wsse:KeyIdentifier".into())
        })?;
        let id = ki.text().trim().to_owned();
        if id.is_empty() {
            return Err(RstError("the KeyIdentifier is empty".into()));
        }
        return Ok(match ki.attr(None, "ValueType").map(str::trim) {
            None | Some(SAMLID_VALUE_TYPE) => Target::SamlId(id),
            Some(other) => Target::KeyIdentifier {
                value_type: other.to_owned(),
                id,
            },
        });
    }
    if first.is(WSSE, "BinarySecurityToken")
        && first
            .attr(None, "ValueType")
            .is_some_and(|v| matches!(v.trim(), TOKEN_TYPE_JWT | TOKEN_TYPE_ID_TOKEN))
    {
        use base64::Engine as _;
        let text: String = first.text().split_whitespace().collect();
        let jwt = if text.contains('.') {
            text
        } else {
            base64::engine::general_purpose::STANDARD
                .decode(&text)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| RstError("the JWT BinarySecurityToken is not base64".into()))?
        };
        return Ok(Target::Jwt(jwt));
    }
    if first.is(WSSE, "BinarySecurityToken") {
        use base64::Engine as _;
        let value_type = first
            .attr(None, "ValueType")
            .map(str::trim)
            .unwrap_or_default()
            .to_owned();
        let text: String = first.text().split_whitespace().collect();
        let token = base64::engine::general_purpose::STANDARD
            .decode(&text)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| RstError("the BinarySecurityToken is not base64 of text".into()))?;
        return Ok(Target::Binary {
            value_type,
            id: first.attr(Some(WSU), "Id").map(str::to_owned),
            token,
        });
    }
    let bytes = input
        .get(first.span.clone())
        .ok_or_else(|| RstError("the target could not be read".into()))?;
    Ok(Target::Token(bytes.to_vec()))
}

/// Reads an RST. Children may come in any order and with any prefixes; unknown elements of
/// other namespaces are extensions and ignored, unknown WS-Trust elements are refused.
pub fn parse_rst(el: &Element, input: &[u8]) -> Result<Rst, RstError> {
    if el.local != "RequestSecurityToken" || !el.ns.as_deref().is_some_and(|n| WST_NSS.contains(&n))
    {
        return Err(RstError(format!(
            "the SOAP body must hold a wst:RequestSecurityToken, not {{{}}}{}",
            el.ns.as_deref().unwrap_or(""),
            el.local
        )));
    }
    let mut rst = Rst {
        context: el.attr(None, "Context").map(str::to_owned),
        ..Rst::default()
    };
    let mut secondary_token_type = None;
    let mut secondary_key_type = None;
    fn once(slot: &mut Option<String>, value: String, name: &str) -> Result<(), RstError> {
        if slot.is_some() {
            return Err(RstError(format!("wst:{name} appears more than once")));
        }
        *slot = Some(value);
        Ok(())
    }
    for child in el.elements() {
        let ns = child.ns.as_deref().unwrap_or("");
        if WST_NSS.contains(&ns) {
            match child.local.as_str() {
                "RequestType" => {
                    let uri = child.text();
                    let op = Operation::from_request_type(&uri)
                        .ok_or_else(|| RstError(format!("unknown wst:RequestType `{uri}`")))?;
                    once(&mut rst.request_type_uri, uri, "RequestType")?;
                    rst.request_type = Some(op);
                }
                "TokenType" => once(&mut rst.token_type, child.text(), "TokenType")?,
                "KeyType" => once(&mut rst.key_type, child.text(), "KeyType")?,
                "UseKey" => {
                    fn find(e: &Element) -> Option<&Element> {
                        if e.local == "X509Certificate" || e.local == "BinarySecurityToken" {
                            return Some(e);
                        }
                        e.elements().find_map(find)
                    }
                    let cert = find(child).map(Element::text).ok_or_else(|| {
                        RstError(
                            "wst:UseKey must hold an X.509 certificate (ds:X509Certificate or wsse:BinarySecurityToken)"
                                .into(),
                        )
                    })?;
                    once(&mut rst.use_key_cert, cert, "UseKey")?;
                }
                "Lifetime" => {
                    if rst.lifetime_created.is_some() || rst.lifetime_expires.is_some() {
                        return Err(RstError("wst:Lifetime appears more than once".into()));
                    }
                    let read = |name: &str| -> Result<Option<DateTime<Utc>>, RstError> {
                        match child.child(&[WSU], name) {
                            None => Ok(None),
                            Some(e) => parse_datetime(&e.text()).map(Some).ok_or_else(|| {
                                RstError(format!("wst:Lifetime/wsu:{name} is not a dateTime"))
                            }),
                        }
                    };
                    rst.lifetime_created = read("Created")?;
                    rst.lifetime_expires = read("Expires")?;
                }
                "KeySize" => once(&mut rst.key_size, child.text(), "KeySize")?,
                "ComputedKeyAlgorithm" => once(
                    &mut rst.computed_key_algorithm,
                    child.text(),
                    "ComputedKeyAlgorithm",
                )?,
                "Entropy" => {
                    if rst.entropy.is_some() {
                        return Err(RstError("wst:Entropy appears more than once".into()));
                    }
                    let secret = child
                        .elements()
                        .find(|e| e.local == "BinarySecret" && WST_NSS.contains(&e.ns.as_deref().unwrap_or("")))
                        .ok_or_else(|| {
                            RstError("wst:Entropy must hold a wst:BinarySecret (encrypted entropy is not supported)".into())
                        })?;
                    if secret
                        .attr(None, "Type")
                        .is_some_and(|t| !t.trim().ends_with("/Nonce"))
                    {
                        return Err(RstError(
                            "wst:Entropy/wst:BinarySecret must be of Type .../Nonce".into(),
                        ));
                    }
                    use base64::Engine as _;
                    let text: String = secret.text().split_whitespace().collect();
                    let bytes = base64::engine::general_purpose::STANDARD
                        .decode(text)
                        .map_err(|_| RstError("wst:BinarySecret is not base64".into()))?;
                    rst.entropy = Some(crate::secret::Secret::new(bytes));
                }
                // Known WS-Trust elements that this STS does not act on for Issue yet.
                "Claims"
                | "Encryption"
                | "ProofEncryption"
                | "SignWith"
                | "EncryptWith"
                | "Renewing"
                | "AuthenticationType"
                | "KeyWrapAlgorithm"
                | "SignatureAlgorithm"
                | "EncryptionAlgorithm"
                | "CanonicalizationAlgorithm"
                | "Forwardable"
                | "Delegatable"
                | "Participants"
                | "RenewTarget"
                | "AllowPostdating"
                | "DelegateTo"
                | "Issuer" => {}
                "ValidateTarget" | "CancelTarget" => {
                    let target = parse_target(child, input)?;
                    let slot = if child.local == "ValidateTarget" {
                        &mut rst.validate_target
                    } else {
                        &mut rst.cancel_target
                    };
                    if slot.is_some() {
                        return Err(RstError(format!(
                            "wst:{} appears more than once",
                            child.local
                        )));
                    }
                    *slot = Some(target);
                }
                "ActAs" => rst.delegation = Some("ActAs"),
                "OnBehalfOf" => {
                    if rst.on_behalf_of.is_some() {
                        return Err(RstError("wst:OnBehalfOf appears more than once".into()));
                    }
                    if child.elements().count() != 1 {
                        return Err(RstError(
                            "wst:OnBehalfOf must hold exactly one token".into(),
                        ));
                    }
                    rst.on_behalf_of = Some(child.clone());
                }
                // WCF puts the relying party's wishes here; they apply where the request
                // itself says nothing.
                "SecondaryParameters" => {
                    secondary_token_type = child.child(&WST_NSS, "TokenType").map(Element::text);
                    secondary_key_type = child.child(&WST_NSS, "KeyType").map(Element::text);
                }
                other => {
                    return Err(RstError(format!(
                        "unknown WS-Trust element wst:{other} in the request"
                    )));
                }
            }
        } else if WSP_NSS.contains(&ns) && child.local == "AppliesTo" {
            let address = child
                .elements()
                .find(|e| {
                    e.local == "EndpointReference"
                        && e.ns.as_deref().is_some_and(|n| WSA_NSS.contains(&n))
                })
                .and_then(|epr| epr.child(&WSA_NSS, "Address"))
                .map(Element::text)
                .filter(|a| !a.is_empty())
                .ok_or_else(|| {
                    RstError(
                        "wsp:AppliesTo must hold a wsa:EndpointReference with an Address".into(),
                    )
                })?;
            once(&mut rst.applies_to, address, "AppliesTo")?;
        }
    }
    if rst.token_type.is_none() {
        rst.token_type = secondary_token_type;
    }
    if rst.key_type.is_none() {
        rst.key_type = secondary_key_type;
    }
    Ok(rst)
}

/// What an Issue produced, ready to be written as an RSTR.
#[derive(Debug, Clone)]
pub struct IssuedTokenResponse<'a> {
    pub context: Option<&'a str>,
    pub token_type_uri: &'a str,
    pub token_xml: &'a str,
    pub token_id: &'a str,
    pub created: DateTime<Utc>,
    pub expires: DateTime<Utc>,
    pub applies_to: Option<&'a str>,
    pub key_type: &'a str,
    /// A symmetric proof key: what the requestor is told.
    pub proof: Option<&'a proof::SymmetricProof>,
    /// A custom token, written as a BinarySecurityToken of this ValueType (its TokenType
    /// URI) with `wsu:Id` the token id, and referenced by a KeyIdentifier of it.
    pub custom: bool,
}

fn rstr_open(out: &mut String, context: Option<&str>) {
    out.push_str("<wst:RequestSecurityTokenResponse xmlns:wst=\"");
    out.push_str(WST);
    out.push('"');
    if let Some(ctx) = context {
        out.push_str(" Context=\"");
        out.push_str(&escape_attr(ctx));
        out.push('"');
    }
    out.push('>');
}

/// The RSTR of a Validate with a status.
pub fn write_validate_response(context: Option<&str>, valid: bool, reason: &str) -> String {
    let mut out = String::with_capacity(512);
    rstr_open(&mut out, context);
    out.push_str("<wst:TokenType>");
    out.push_str(TOKEN_TYPE_STATUS);
    out.push_str("</wst:TokenType><wst:Status><wst:Code>");
    out.push_str(if valid { STATUS_VALID } else { STATUS_INVALID });
    out.push_str("</wst:Code><wst:Reason>");
    out.push_str(&escape_text(reason));
    out.push_str("</wst:Reason></wst:Status></wst:RequestSecurityTokenResponse>");
    out
}

/// The RSTR of a Cancel.
pub fn write_cancel_response(context: Option<&str>) -> String {
    let mut out = String::with_capacity(256);
    rstr_open(&mut out, context);
    out.push_str("<wst:RequestedTokenCancelled/></wst:RequestSecurityTokenResponse>");
    out
}

fn saml_reference(id: &str) -> String {
    format!(
        concat!(
            "<wsse:SecurityTokenReference xmlns:wsse=\"{wsse}\" xmlns:wsse11=\"{wsse11}\" wsse11:TokenType=\"{tt}\">",
            "<wsse:KeyIdentifier ValueType=\"{vt}\">{id}</wsse:KeyIdentifier></wsse:SecurityTokenReference>"
        ),
        wsse = WSSE,
        wsse11 = WSSE11,
        tt = TOKEN_TYPE_SAML20,
        vt = SAMLID_VALUE_TYPE,
        id = escape_text(id),
    )
}

/// A token as a `wsse:BinarySecurityToken`: base64 of its text, ValueType its TokenType URI,
/// and `wsu:Id` its id if given (custom tokens are named by it).
pub fn binary_token_xml(token_type_uri: &str, id: Option<&str>, token: &str) -> String {
    use base64::Engine as _;
    let id = id
        .map(|id| format!(" xmlns:wsu=\"{WSU}\" wsu:Id=\"{}\"", escape_attr(id)))
        .unwrap_or_default();
    format!(
        "<wsse:BinarySecurityToken xmlns:wsse=\"{WSSE}\"{id} ValueType=\"{vt}\" EncodingType=\"{BASE64_BINARY}\">{b64}</wsse:BinarySecurityToken>",
        vt = escape_attr(token_type_uri),
        b64 = base64::engine::general_purpose::STANDARD.encode(token.as_bytes()),
    )
}

/// Writes the RSTRC of an Issue: one RSTR with TokenType, RequestedSecurityToken, both
/// references, Lifetime, AppliesTo and KeyType.
pub fn write_issue_response(r: &IssuedTokenResponse<'_>) -> String {
    let mut out = String::with_capacity(r.token_xml.len() + 2048);
    out.push_str("<wst:RequestSecurityTokenResponseCollection xmlns:wst=\"");
    out.push_str(WST);
    out.push_str("\"><wst:RequestSecurityTokenResponse");
    if let Some(ctx) = r.context {
        out.push_str(" Context=\"");
        out.push_str(&escape_attr(ctx));
        out.push('"');
    }
    out.push_str("><wst:TokenType>");
    out.push_str(&escape_text(r.token_type_uri));
    out.push_str("</wst:TokenType><wst:RequestedSecurityToken>");
    out.push_str(r.token_xml);
    out.push_str("</wst:RequestedSecurityToken>");
    // Token references are SAML's KeyIdentifier, or one of the custom ValueType; a JWT has
    // no standard one, so none.
    let reference = if matches!(r.token_type_uri, TOKEN_TYPE_SAML20 | TOKEN_TYPE_SAML20_NS) {
        Some(saml_reference(r.token_id))
    } else if r.custom {
        Some(format!(
            "<wsse:SecurityTokenReference xmlns:wsse=\"{WSSE}\"><wsse:KeyIdentifier ValueType=\"{vt}\">{id}</wsse:KeyIdentifier></wsse:SecurityTokenReference>",
            vt = escape_attr(r.token_type_uri),
            id = escape_text(r.token_id),
        ))
    } else {
        None
    };
    if let Some(reference) = reference {
        out.push_str("<wst:RequestedAttachedReference>");
        out.push_str(&reference);
        out.push_str("</wst:RequestedAttachedReference><wst:RequestedUnattachedReference>");
        out.push_str(&reference);
        out.push_str("</wst:RequestedUnattachedReference>");
    }
    if let Some(p) = r.proof {
        proof::write(&mut out, p);
    }
    out.push_str("<wst:Lifetime xmlns:wsu=\"");
    out.push_str(WSU);
    out.push_str("\"><wsu:Created>");
    out.push_str(&wsu_datetime(r.created));
    out.push_str("</wsu:Created><wsu:Expires>");
    out.push_str(&wsu_datetime(r.expires));
    out.push_str("</wsu:Expires></wst:Lifetime>");
    if let Some(address) = r.applies_to {
        out.push_str("<wsp:AppliesTo xmlns:wsp=\"");
        out.push_str(WSP_NSS[0]);
        out.push_str("\"><wsa:EndpointReference xmlns:wsa=\"");
        out.push_str(WSA_NSS[0]);
        out.push_str("\"><wsa:Address>");
        out.push_str(&escape_text(address));
        out.push_str("</wsa:Address></wsa:EndpointReference></wsp:AppliesTo>");
    }
    out.push_str("<wst:KeyType>");
    out.push_str(&escape_text(r.key_type));
    out.push_str("</wst:KeyType></wst:RequestSecurityTokenResponse></wst:RequestSecurityTokenResponseCollection>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::{Limits, parse};

    fn rst(xml: &str) -> Result<Rst, RstError> {
        parse_rst(
            &parse(xml.as_bytes(), Limits::default()).unwrap(),
            xml.as_bytes(),
        )
    }

    #[test]
    fn reads_children_in_any_order_with_any_prefix() {
        let r = rst(r#"<t:RequestSecurityToken xmlns:t="http://docs.oasis-open.org/ws-sx/ws-trust/200512" Context="c1">
            <wsp:AppliesTo xmlns:wsp="http://schemas.xmlsoap.org/ws/2004/09/policy"><a:EndpointReference xmlns:a="http://www.w3.org/2005/08/addressing"><a:Address> urn:rp </a:Address></a:EndpointReference></wsp:AppliesTo>
            <t:KeyType>http://docs.oasis-open.org/ws-sx/ws-trust/200512/Bearer</t:KeyType>
            <RequestType xmlns="http://docs.oasis-open.org/ws-sx/ws-trust/200802">http://docs.oasis-open.org/ws-sx/ws-trust/200512/Issue</RequestType>
            <t:Lifetime><u:Created xmlns:u="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd">2026-01-01T00:00:00+00:00</u:Created></t:Lifetime>
            <x:Ext xmlns:x="urn:ext"/></t:RequestSecurityToken>"#)
        .unwrap();
        assert_eq!(r.request_type, Some(Operation::Issue));
        assert_eq!(r.applies_to.as_deref(), Some("urn:rp"));
        assert_eq!(r.context.as_deref(), Some("c1"));
        assert_eq!(r.key_type.as_deref(), Some(KEY_TYPE_BEARER));
        assert!(r.lifetime_created.is_some() && r.lifetime_expires.is_none());
        assert_eq!(r.token_type, None);
    }

    #[test]
    fn refuses_unknown_wst_elements_duplicates_and_bad_types() {
        let ns = r#"xmlns="http://docs.oasis-open.org/ws-sx/ws-trust/200512""#;
        assert!(
            rst(&format!(
                "<RequestSecurityToken {ns}><x/></RequestSecurityToken>"
            ))
            .is_err()
        );
        assert!(rst(&format!("<RequestSecurityToken {ns}><TokenType>a</TokenType><TokenType>b</TokenType></RequestSecurityToken>")).is_err());
        assert!(rst(&format!("<RequestSecurityToken {ns}><RequestType>urn:nope</RequestType></RequestSecurityToken>")).is_err());
        assert!(rst("<RequestSecurityToken/>").is_err());
        let r = rst(&format!("<RequestSecurityToken {ns}><SecondaryParameters><TokenType>t</TokenType></SecondaryParameters><ActAs/></RequestSecurityToken>")).unwrap();
        assert_eq!(r.token_type.as_deref(), Some("t"));
        assert_eq!(r.delegation, Some("ActAs"));
    }

    #[test]
    fn actions_and_request_types_round_trip() {
        for op in Operation::ALL {
            assert_eq!(Operation::from_action(&op.request_action()), Some(op));
        }
        assert_eq!(
            Operation::Issue.response_action(),
            "http://docs.oasis-open.org/ws-sx/ws-trust/200512/RSTRC/IssueFinal"
        );
        assert_eq!(Operation::from_action("urn:other"), None);
    }
}
