//! The `wst:RequestSecurityToken` model and its parser, and the typed `wst:KeyType` and
//! `wst:TokenType` URIs.

use chrono::{DateTime, Utc};

use crate::crypto::encoding::base64_decode;
use crate::secret::Secret;
use crate::xml::Element;
use crate::xml::datetime::parse_datetime;
use crate::xml::ns::{
    SAML1, SAML11_ID_VALUE_TYPE, SAMLID_VALUE_TYPE, TOKEN_TYPE_ID_TOKEN, TOKEN_TYPE_JWT,
    TOKEN_TYPE_SAML11, TOKEN_TYPE_SAML20, TOKEN_TYPE_SAML20_NS, TOKEN_TYPE_STATUS,
    TOKEN_TYPE_STATUS_2005, WSA_NSS, WSP_NSS, WSSE, WST_ALL, WST14, WSU,
};

use super::{Operation, TrustVersion};

/// A `wst:TokenType` of a built-in token; each has the URIs clients send for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenTypeUri {
    /// The SAML token profile's URI, or the assertion namespace.
    Saml20,
    /// SAML 1.1: the token profile's URI, or the assertion namespace.
    Saml11,
    /// An id_token: the JWT or the id_token type identifier (RFC 8693).
    Jwt,
    /// Validate's status "token".
    Status,
}

impl TokenTypeUri {
    /// The token type of a URI, compared exactly.
    pub fn from_uri(uri: &str) -> Option<TokenTypeUri> {
        match uri {
            TOKEN_TYPE_SAML20 | TOKEN_TYPE_SAML20_NS => Some(Self::Saml20),
            TOKEN_TYPE_SAML11 | SAML1 => Some(Self::Saml11),
            TOKEN_TYPE_JWT | TOKEN_TYPE_ID_TOKEN => Some(Self::Jwt),
            TOKEN_TYPE_STATUS | TOKEN_TYPE_STATUS_2005 => Some(Self::Status),
            _ => None,
        }
    }
}

/// Malformed requests, each a `wst:InvalidRequest`.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0}")]
pub struct RstError(pub String);

/// A parsed `wst:RequestSecurityToken`. URIs whose meaning WS-Trust 2005 and 1.3 share under
/// different bases (KeyType, the status TokenType, ComputedKeyAlgorithm) are read into their
/// 1.3 form, so the rules compare one set; [`Rst::version`] says how to answer.
#[derive(Debug, Clone, Default)]
pub struct Rst {
    /// The WS-Trust version of the request's namespace: responses and faults use it.
    pub version: TrustVersion,
    pub context: Option<String>,
    pub request_type: Option<Operation>,
    pub request_type_uri: Option<String>,
    /// The RequestType is a batch one (`.../BatchIssue`): the RST belongs in a
    /// `wst:RequestSecurityTokenCollection`.
    pub batch: bool,
    pub token_type: Option<String>,
    pub key_type: Option<String>,
    /// The KeyType as sent, before it was read into its 1.3 form.
    pub key_type_sent: Option<String>,
    /// The base64 certificate of `wst:UseKey` (`ds:KeyInfo/ds:X509Data/ds:X509Certificate`
    /// or an X.509 `wsse:BinarySecurityToken`), for holder-of-key with a public key.
    pub use_key_cert: Option<String>,
    pub applies_to: Option<String>,
    pub lifetime_created: Option<DateTime<Utc>>,
    pub lifetime_expires: Option<DateTime<Utc>>,
    /// `ActAs` (WS-Trust 1.4): the element, whose one child is the token of the identity the
    /// requester acts as (read by the SOAP layer like OnBehalfOf's).
    pub act_as: Option<Element>,
    /// `wst:Claims` (or, failing that, the one in `wst:SecondaryParameters`).
    pub claims: Option<super::claims::Claims>,
    /// `OnBehalfOf`: the element, whose one child is the token of the subject the requester
    /// vouches for (read by the SOAP layer like a Security header's tokens).
    pub on_behalf_of: Option<Element>,
    pub validate_target: Option<Target>,
    pub cancel_target: Option<Target>,
    /// The token a Renew names (`wst:RenewTarget`).
    pub renew_target: Option<Target>,
    /// `wst:Renewing`, when present.
    pub renewing: Option<Renewing>,
    /// `wst:KeySize`, in bits.
    pub key_size: Option<String>,
    /// The requestor's `wst:Entropy/wst:BinarySecret`.
    pub entropy: Option<Secret<Vec<u8>>>,
    pub computed_key_algorithm: Option<String>,
}

/// `wst:Renewing`: whether the token may be renewed (`Allow`, default true) and whether it
/// may be renewed after it expired (`OK`, default false).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Renewing {
    pub allow: bool,
    pub ok: bool,
}

impl Rst {
    /// The KeyType to answer with, given the 1.3 URI the issue rules settled on: this
    /// version's URI, or the request's own spelling of bearer (NoProofKey) when it asked so.
    pub fn answer_key_type<'a>(&'a self, uri13: &'a str) -> &'a str {
        match self.key_type_sent.as_deref() {
            Some(sent) if self.key_type.as_deref() == Some(uri13) => sent,
            _ => self.version.key_type(uri13),
        }
    }
}

/// The content of a ValidateTarget, CancelTarget or RenewTarget.
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
            None | Some(SAMLID_VALUE_TYPE | SAML11_ID_VALUE_TYPE) => Target::SamlId(id),
            Some(other) => Target::KeyIdentifier {
                value_type: other.to_owned(),
                id,
            },
        });
    }
    if first.is(WSSE, "BinarySecurityToken")
        && first
            .attr(None, "ValueType")
            .is_some_and(|v| TokenTypeUri::from_uri(v.trim()) == Some(TokenTypeUri::Jwt))
    {
        let text: String = first.text().split_whitespace().collect();
        let jwt = if text.contains('.') {
            text
        } else {
            base64_decode(&text)
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| RstError("the JWT BinarySecurityToken is not base64".into()))?
        };
        return Ok(Target::Jwt(jwt));
    }
    if first.is(WSSE, "BinarySecurityToken") {
        let value_type = first
            .attr(None, "ValueType")
            .map(str::trim)
            .unwrap_or_default()
            .to_owned();
        let text: String = first.text().split_whitespace().collect();
        let token = base64_decode(&text)
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
    let version = el
        .ns
        .as_deref()
        .and_then(TrustVersion::of_ns)
        .filter(|_| el.local == "RequestSecurityToken")
        .ok_or_else(|| {
            RstError(format!(
                "the SOAP body must hold a wst:RequestSecurityToken, not {{{}}}{}",
                el.ns.as_deref().unwrap_or(""),
                el.local
            ))
        })?;
    let mut rst = Rst {
        version,
        context: el.attr(None, "Context").map(str::to_owned),
        ..Rst::default()
    };
    // One version per request: a 2005 element in a 1.3 request (or the reverse) is refused.
    let mixed = |what: &str| {
        RstError(format!(
            "{what} is not in the WS-Trust namespace of the request ({}): one request speaks one WS-Trust version",
            version.ns()
        ))
    };
    let mut secondary_token_type = None;
    let mut secondary_key_type = None;
    let mut secondary_claims = None;
    fn once(slot: &mut Option<String>, value: String, name: &str) -> Result<(), RstError> {
        if slot.is_some() {
            return Err(RstError(format!("wst:{name} appears more than once")));
        }
        *slot = Some(value);
        Ok(())
    }
    for child in el.elements() {
        let ns = child.ns.as_deref().unwrap_or("");
        if WST_ALL.contains(&ns) {
            // WS-Trust 1.4's ActAs also extends 2005 requests (WIF writes it in 200802 there).
            let act_as_14 = ns == WST14 && child.local == "ActAs";
            if !version.reads(ns) && !act_as_14 {
                return Err(mixed(&format!("{{{ns}}}{}", child.local)));
            }
            if ns != version.ns() && version != TrustVersion::V2005 {
                rst.version = TrustVersion::V14;
            }
            match child.local.as_str() {
                "RequestType" => {
                    let uri = child.text();
                    let (op, v, batch) = match Operation::versioned_request_type(&uri) {
                        Some((op, v)) => (op, v, false),
                        None => Operation::versioned_batch(&uri)
                            .map(|(op, v)| (op, v, true))
                            .ok_or_else(|| RstError(format!("unknown wst:RequestType `{uri}`")))?,
                    };
                    rst.batch = batch;
                    if !v.agrees(version) {
                        return Err(mixed(&format!("wst:RequestType `{uri}`")));
                    }
                    once(&mut rst.request_type_uri, uri, "RequestType")?;
                    rst.request_type = Some(op);
                }
                "TokenType" => {
                    let uri = child.text();
                    let uri = match uri.as_str() {
                        TOKEN_TYPE_STATUS_2005 | TOKEN_TYPE_STATUS
                            if uri != version.status_token_type() =>
                        {
                            return Err(mixed(&format!("wst:TokenType `{uri}`")));
                        }
                        TOKEN_TYPE_STATUS_2005 => TOKEN_TYPE_STATUS.to_owned(),
                        _ => uri,
                    };
                    once(&mut rst.token_type, uri, "TokenType")?
                }
                "KeyType" => {
                    let uri = child.text();
                    let normal = version
                        .normalise_key_type(&uri)
                        .ok_or_else(|| mixed(&format!("wst:KeyType `{uri}`")))?
                        .to_owned();
                    once(&mut rst.key_type, normal, "KeyType")?;
                    rst.key_type_sent = Some(uri);
                }
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
                "ComputedKeyAlgorithm" => {
                    let uri = child.text();
                    let uri = match version.normalise_ck(uri.trim()) {
                        Some(ck) => ck.to_owned(),
                        None => uri,
                    };
                    once(&mut rst.computed_key_algorithm, uri, "ComputedKeyAlgorithm")?
                }
                "Entropy" => {
                    if rst.entropy.is_some() {
                        return Err(RstError("wst:Entropy appears more than once".into()));
                    }
                    let secret = child
                        .elements()
                        .find(|e| e.local == "BinarySecret" && version.reads(e.ns.as_deref().unwrap_or("")))
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
                    let text: String = secret.text().split_whitespace().collect();
                    let bytes = base64_decode(&text)
                        .ok_or_else(|| RstError("wst:BinarySecret is not base64".into()))?;
                    rst.entropy = Some(Secret::new(bytes));
                }
                // Known WS-Trust elements that this STS does not act on for Issue yet.
                "Claims" => {
                    if rst.claims.is_some() {
                        return Err(RstError("wst:Claims appears more than once".into()));
                    }
                    rst.claims = Some(super::claims::parse_claims(child)?);
                }
                "Encryption"
                | "ProofEncryption"
                | "SignWith"
                | "EncryptWith"
                | "AuthenticationType"
                | "KeyWrapAlgorithm"
                | "SignatureAlgorithm"
                | "EncryptionAlgorithm"
                | "CanonicalizationAlgorithm"
                | "Forwardable"
                | "Delegatable"
                | "Participants"
                | "AllowPostdating"
                | "DelegateTo"
                | "Issuer" => {}
                "Renewing" => {
                    if rst.renewing.is_some() {
                        return Err(RstError("wst:Renewing appears more than once".into()));
                    }
                    let flag = |name: &str, default: bool| match child.attr(None, name).map(str::trim) {
                        None => Ok(default),
                        Some("true" | "1") => Ok(true),
                        Some("false" | "0") => Ok(false),
                        Some(other) => Err(RstError(format!(
                            "wst:Renewing/@{name} `{other}` is not a boolean"
                        ))),
                    };
                    rst.renewing = Some(Renewing {
                        allow: flag("Allow", true)?,
                        ok: flag("OK", false)?,
                    });
                }
                "ValidateTarget" | "CancelTarget" | "RenewTarget" => {
                    let target = parse_target(child, input)?;
                    let slot = match child.local.as_str() {
                        "ValidateTarget" => &mut rst.validate_target,
                        "CancelTarget" => &mut rst.cancel_target,
                        _ => &mut rst.renew_target,
                    };
                    if slot.is_some() {
                        return Err(RstError(format!(
                            "wst:{} appears more than once",
                            child.local
                        )));
                    }
                    *slot = Some(target);
                }
                "OnBehalfOf" | "ActAs" => {
                    let slot = if child.local == "ActAs" {
                        &mut rst.act_as
                    } else {
                        &mut rst.on_behalf_of
                    };
                    if slot.is_some() {
                        return Err(RstError(format!(
                            "wst:{} appears more than once",
                            child.local
                        )));
                    }
                    if child.elements().count() != 1 {
                        return Err(RstError(format!(
                            "wst:{} must hold exactly one token",
                            child.local
                        )));
                    }
                    *slot = Some(child.clone());
                }
                // WCF puts the relying party's wishes here; they apply where the request
                // itself says nothing.
                "SecondaryParameters" => {
                    let read = |local: &str| {
                        child
                            .elements()
                            .find(|e| e.local == local && version.reads(e.ns.as_deref().unwrap_or("")))
                            .map(Element::text)
                    };
                    secondary_token_type = read("TokenType");
                    secondary_key_type = read("KeyType");
                    secondary_claims = child
                        .elements()
                        .find(|e| e.local == "Claims" && version.reads(e.ns.as_deref().unwrap_or("")));
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
    if rst.key_type.is_none()
        && let Some(uri) = secondary_key_type
    {
        let normal = version
            .normalise_key_type(&uri)
            .ok_or_else(|| mixed(&format!("wst:SecondaryParameters/wst:KeyType `{uri}`")))?;
        rst.key_type = Some(normal.to_owned());
        rst.key_type_sent = Some(uri);
    }
    if let (None, Some(c)) = (&rst.claims, secondary_claims) {
        rst.claims = Some(super::claims::parse_claims(c)?);
    }
    Ok(rst)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::ns::KEY_TYPE_BEARER;
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
        let r = rst(&format!("<RequestSecurityToken {ns}><SecondaryParameters><TokenType>t</TokenType></SecondaryParameters><ActAs><x/></ActAs></RequestSecurityToken>")).unwrap();
        assert_eq!(r.token_type.as_deref(), Some("t"));
        assert!(r.act_as.is_some());
        assert!(rst(&format!("<RequestSecurityToken {ns}><ActAs/></RequestSecurityToken>")).is_err());
    }

    #[test]
    fn act_as_of_ws_trust_14_extends_2005_requests() {
        let r = rst(r#"<t:RequestSecurityToken xmlns:t="http://schemas.xmlsoap.org/ws/2005/02/trust"><t:RequestType>http://schemas.xmlsoap.org/ws/2005/02/trust/Issue</t:RequestType><a:ActAs xmlns:a="http://docs.oasis-open.org/ws-sx/ws-trust/200802"><x/></a:ActAs></t:RequestSecurityToken>"#).unwrap();
        assert!(r.act_as.is_some());
        assert_eq!(r.version, TrustVersion::V2005);
    }

    #[test]
    fn token_type_uris_are_typed_exactly() {
        assert_eq!(
            TokenTypeUri::from_uri(TOKEN_TYPE_SAML20_NS),
            Some(TokenTypeUri::Saml20)
        );
        assert_eq!(
            TokenTypeUri::from_uri(TOKEN_TYPE_ID_TOKEN),
            Some(TokenTypeUri::Jwt)
        );
        assert_eq!(TokenTypeUri::from_uri("urn:custom"), None);
    }
}
