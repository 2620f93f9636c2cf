//! The responses: the RSTRC of an Issue, and the RSTRs of Validate and Cancel.

use chrono::{DateTime, Utc};

use crate::crypto::encoding::base64_encode;
use crate::xml::datetime::wsu_datetime;
use crate::xml::ns::{
    BASE64_BINARY, SAMLID_VALUE_TYPE, STATUS_INVALID, STATUS_VALID, TOKEN_TYPE_SAML20,
    TOKEN_TYPE_STATUS, WSA_NSS, WSP_NSS, WSSE, WSSE11, WST, WSU,
};
use crate::xml::{escape_attr, escape_text};

use super::TokenTypeUri;
use super::proof::{self, SymmetricProof};

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
    pub proof: Option<&'a SymmetricProof>,
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
    let id = id
        .map(|id| format!(" xmlns:wsu=\"{WSU}\" wsu:Id=\"{}\"", escape_attr(id)))
        .unwrap_or_default();
    format!(
        "<wsse:BinarySecurityToken xmlns:wsse=\"{WSSE}\"{id} ValueType=\"{vt}\" EncodingType=\"{BASE64_BINARY}\">{b64}</wsse:BinarySecurityToken>",
        vt = escape_attr(token_type_uri),
        b64 = base64_encode(token.as_bytes()),
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
    let reference = if TokenTypeUri::from_uri(r.token_type_uri) == Some(TokenTypeUri::Saml20) {
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
    use crate::secret::Secret;
    use crate::wstrust::proof::Returned;
    use crate::xml::ns::{BINARY_SECRET_SYMMETRIC, KEY_TYPE_BEARER, KEY_TYPE_SYMMETRIC_KEY};

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_767_323_045 + secs, 0).unwrap()
    }

    const LIFETIME: &str = "<wsu:Created>2026-01-02T03:04:05.000Z</wsu:Created><wsu:Expires>2026-01-02T03:14:05.000Z</wsu:Expires>";

    /// The exact bytes of each response: clients and the integration tests compare them.
    #[test]
    fn issue_responses_are_written_byte_for_byte() {
        let saml = write_issue_response(&IssuedTokenResponse {
            context: Some("c&1"),
            token_type_uri: TOKEN_TYPE_SAML20,
            token_xml: "<t/>",
            token_id: "_id",
            created: at(0),
            expires: at(600),
            applies_to: Some("urn:rp<"),
            key_type: KEY_TYPE_BEARER,
            proof: None,
            custom: false,
        });
        let reference = format!(
            "<wsse:SecurityTokenReference xmlns:wsse=\"{WSSE}\" xmlns:wsse11=\"{WSSE11}\" wsse11:TokenType=\"{TOKEN_TYPE_SAML20}\"><wsse:KeyIdentifier ValueType=\"{SAMLID_VALUE_TYPE}\">_id</wsse:KeyIdentifier></wsse:SecurityTokenReference>"
        );
        assert_eq!(
            saml,
            format!(
                "<wst:RequestSecurityTokenResponseCollection xmlns:wst=\"{WST}\"><wst:RequestSecurityTokenResponse Context=\"c&amp;1\"><wst:TokenType>{TOKEN_TYPE_SAML20}</wst:TokenType><wst:RequestedSecurityToken><t/></wst:RequestedSecurityToken><wst:RequestedAttachedReference>{reference}</wst:RequestedAttachedReference><wst:RequestedUnattachedReference>{reference}</wst:RequestedUnattachedReference><wst:Lifetime xmlns:wsu=\"{WSU}\">{LIFETIME}</wst:Lifetime><wsp:AppliesTo xmlns:wsp=\"{}\"><wsa:EndpointReference xmlns:wsa=\"{}\"><wsa:Address>urn:rp&lt;</wsa:Address></wsa:EndpointReference></wsp:AppliesTo><wst:KeyType>{KEY_TYPE_BEARER}</wst:KeyType></wst:RequestSecurityTokenResponse></wst:RequestSecurityTokenResponseCollection>",
                WSP_NSS[0], WSA_NSS[0]
            )
        );
        let proof = SymmetricProof {
            key: Secret::new(vec![1u8; 16]),
            returned: Returned::Key,
        };
        let custom = write_issue_response(&IssuedTokenResponse {
            context: None,
            token_type_uri: "urn:c\"",
            token_xml: "X",
            token_id: "c<id",
            created: at(0),
            expires: at(600),
            applies_to: None,
            key_type: KEY_TYPE_SYMMETRIC_KEY,
            proof: Some(&proof),
            custom: true,
        });
        let reference = format!(
            "<wsse:SecurityTokenReference xmlns:wsse=\"{WSSE}\"><wsse:KeyIdentifier ValueType=\"urn:c&quot;\">c&lt;id</wsse:KeyIdentifier></wsse:SecurityTokenReference>"
        );
        assert_eq!(
            custom,
            format!(
                "<wst:RequestSecurityTokenResponseCollection xmlns:wst=\"{WST}\"><wst:RequestSecurityTokenResponse><wst:TokenType>urn:c\"</wst:TokenType><wst:RequestedSecurityToken>X</wst:RequestedSecurityToken><wst:RequestedAttachedReference>{reference}</wst:RequestedAttachedReference><wst:RequestedUnattachedReference>{reference}</wst:RequestedUnattachedReference><wst:RequestedProofToken><wst:BinarySecret Type=\"{BINARY_SECRET_SYMMETRIC}\">AQEBAQEBAQEBAQEBAQEBAQ==</wst:BinarySecret></wst:RequestedProofToken><wst:KeySize>128</wst:KeySize><wst:Lifetime xmlns:wsu=\"{WSU}\">{LIFETIME}</wst:Lifetime><wst:KeyType>{KEY_TYPE_SYMMETRIC_KEY}</wst:KeyType></wst:RequestSecurityTokenResponse></wst:RequestSecurityTokenResponseCollection>"
            )
        );
        let computed = SymmetricProof {
            key: Secret::new(vec![1u8; 32]),
            returned: Returned::Computed {
                issuer_entropy: vec![2u8; 3],
            },
        };
        let mut out = String::new();
        proof::write(&mut out, &computed);
        assert_eq!(
            out,
            format!(
                "<wst:RequestedProofToken><wst:ComputedKey>{}</wst:ComputedKey></wst:RequestedProofToken><wst:Entropy><wst:BinarySecret Type=\"{}\">AgIC</wst:BinarySecret></wst:Entropy><wst:KeySize>256</wst:KeySize>",
                crate::xml::ns::CK_PSHA1,
                crate::xml::ns::BINARY_SECRET_NONCE
            )
        );
    }

    #[test]
    fn validate_cancel_and_binary_tokens_are_written_byte_for_byte() {
        assert_eq!(
            write_validate_response(Some("x\"y"), false, "a<b"),
            format!(
                "<wst:RequestSecurityTokenResponse xmlns:wst=\"{WST}\" Context=\"x&quot;y\"><wst:TokenType>{TOKEN_TYPE_STATUS}</wst:TokenType><wst:Status><wst:Code>{STATUS_INVALID}</wst:Code><wst:Reason>a&lt;b</wst:Reason></wst:Status></wst:RequestSecurityTokenResponse>"
            )
        );
        assert!(write_validate_response(None, true, "").contains(&format!(
            "<wst:Code>{STATUS_VALID}</wst:Code><wst:Reason></wst:Reason>"
        )));
        assert_eq!(
            write_cancel_response(None),
            format!(
                "<wst:RequestSecurityTokenResponse xmlns:wst=\"{WST}\"><wst:RequestedTokenCancelled/></wst:RequestSecurityTokenResponse>"
            )
        );
        assert_eq!(
            binary_token_xml("urn:t&", Some("i\"d"), "tok"),
            format!(
                "<wsse:BinarySecurityToken xmlns:wsse=\"{WSSE}\" xmlns:wsu=\"{WSU}\" wsu:Id=\"i&quot;d\" ValueType=\"urn:t&amp;\" EncodingType=\"{BASE64_BINARY}\">dG9r</wsse:BinarySecurityToken>"
            )
        );
        assert_eq!(
            binary_token_xml("urn:t", None, "tok"),
            format!(
                "<wsse:BinarySecurityToken xmlns:wsse=\"{WSSE}\" ValueType=\"urn:t\" EncodingType=\"{BASE64_BINARY}\">dG9r</wsse:BinarySecurityToken>"
            )
        );
    }
}
