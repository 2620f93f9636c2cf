//! The responses: the RSTRC of an Issue (a bare RSTR in WS-Trust 2005, as AD FS answers), and
//! the RSTRs of Validate and Cancel, each in the request's [`TrustVersion`].

use chrono::{DateTime, Utc};

use crate::crypto::encoding::base64_encode;
use crate::xml::datetime::wsu_datetime;
use crate::xml::ns::{
    BASE64_BINARY, SAML11_ID_VALUE_TYPE, SAMLID_VALUE_TYPE, TOKEN_TYPE_SAML11, TOKEN_TYPE_SAML20,
    WSA_NSS, WSP_NSS, WSSE, WSSE11, WSU,
};
use crate::xml::write::Writer;

use super::proof::{self, SymmetricProof};
use super::{Operation, TokenTypeUri, TrustVersion};

/// What an Issue produced, ready to be written as an RSTR.
#[derive(Debug, Clone)]
pub struct IssuedTokenResponse<'a> {
    /// The request's version: 1.3/1.4 answer an RSTRC, 2005 a bare RSTR.
    pub version: TrustVersion,
    pub context: Option<&'a str>,
    pub token_type_uri: &'a str,
    pub token_xml: &'a str,
    pub token_id: &'a str,
    pub created: DateTime<Utc>,
    pub expires: DateTime<Utc>,
    pub applies_to: Option<&'a str>,
    /// As it is answered (see [`super::Rst::answer_key_type`]).
    pub key_type: &'a str,
    /// A symmetric proof key: what the requestor is told.
    pub proof: Option<&'a SymmetricProof>,
    /// A custom token, written as a BinarySecurityToken of this ValueType (its TokenType
    /// URI) with `wsu:Id` the token id, and referenced by a KeyIdentifier of it.
    pub custom: bool,
}

/// Opens an RSTR that declares the version's namespace itself.
fn rstr_open(w: &mut Writer, v: TrustVersion, context: Option<&str>) {
    w.start(&v.qname("RequestSecurityTokenResponse"))
        .ns(v.prefix(), v.ns())
        .attr_opt("Context", context);
}

/// The RSTR of a Validate with a status.
pub fn write_validate_response(
    v: TrustVersion,
    context: Option<&str>,
    valid: bool,
    reason: &str,
) -> String {
    let mut w = Writer::with_capacity(512);
    rstr_open(&mut w, v, context);
    w.element(&v.qname("TokenType"), v.status_token_type());
    w.start(&v.qname("Status"));
    w.element(&v.qname("Code"), v.status_code(valid));
    w.element(&v.qname("Reason"), reason);
    w.finish()
}

/// The RSTR of a Cancel.
pub fn write_cancel_response(v: TrustVersion, context: Option<&str>) -> String {
    let mut w = Writer::with_capacity(256);
    rstr_open(&mut w, v, context);
    w.start(&v.qname("RequestedTokenCancelled")).end();
    w.finish()
}

/// A `wsse:SecurityTokenReference` to a SAML assertion by its ID (SAML token profile 1.1,
/// 3.3: the profile's TokenType and KeyIdentifier ValueType of the assertion's version).
fn saml_reference(w: &mut Writer, id: &str, saml11: bool) {
    let (token_type, value_type) = if saml11 {
        (TOKEN_TYPE_SAML11, SAML11_ID_VALUE_TYPE)
    } else {
        (TOKEN_TYPE_SAML20, SAMLID_VALUE_TYPE)
    };
    w.start("wsse:SecurityTokenReference")
        .ns("wsse", WSSE)
        .ns("wsse11", WSSE11)
        .attr("wsse11:TokenType", token_type);
    w.start("wsse:KeyIdentifier")
        .attr("ValueType", value_type)
        .text(id)
        .end();
    w.end();
}

/// A `wsse:SecurityTokenReference` to a custom token: a KeyIdentifier of its ValueType.
fn custom_reference(w: &mut Writer, value_type: &str, id: &str) {
    w.start("wsse:SecurityTokenReference").ns("wsse", WSSE);
    w.start("wsse:KeyIdentifier")
        .attr("ValueType", value_type)
        .text(id)
        .end();
    w.end();
}

/// A token as a `wsse:BinarySecurityToken`: base64 of its text, ValueType its TokenType URI,
/// and `wsu:Id` its id if given (custom tokens are named by it).
pub fn binary_token_xml(token_type_uri: &str, id: Option<&str>, token: &str) -> String {
    let mut w = Writer::with_capacity(token.len() * 2 + 512);
    let tag = w.start("wsse:BinarySecurityToken").ns("wsse", WSSE);
    let tag = match id {
        Some(id) => tag.ns("wsu", WSU).attr("wsu:Id", id),
        None => tag,
    };
    tag.attr("ValueType", token_type_uri)
        .attr("EncodingType", BASE64_BINARY)
        .text(&base64_encode(token.as_bytes()));
    w.finish()
}

/// Writes the response of an Issue. 1.3/1.4: an RSTRC holding one RSTR with TokenType,
/// RequestedSecurityToken, both references, proof, Lifetime, AppliesTo and KeyType. 2005: a
/// bare RSTR in the order AD FS writes it (Lifetime, AppliesTo, RequestedSecurityToken,
/// references, proof, TokenType, RequestType, KeyType), which MSAL and ADAL parse.
pub fn write_issue_response(r: &IssuedTokenResponse<'_>) -> String {
    let mut w = Writer::with_capacity(r.token_xml.len() + 2048);
    write_issue_rstr(&mut w, r, true);
    w.finish()
}

/// Writes the RSTR of an Issue into `w`; `root`: it declares the version's namespace (in 1.3,
/// inside the RSTRC it opens).
pub fn write_issue_rstr(w: &mut Writer, r: &IssuedTokenResponse<'_>, root: bool) {
    let v = r.version;
    if v == TrustVersion::V2005 {
        let tag = w.start(&v.qname("RequestSecurityTokenResponse"));
        let tag = if root { tag.ns(v.prefix(), v.ns()) } else { tag };
        tag.attr_opt("Context", r.context);
        lifetime(w, r);
        applies_to(w, r);
        requested(w, r);
        w.element(&v.qname("TokenType"), r.token_type_uri);
        w.element(
            &v.qname("RequestType"),
            &Operation::Issue.request_type_uri(v),
        );
        w.element(&v.qname("KeyType"), r.key_type);
        w.end();
        return;
    }
    if root {
        w.start(&v.qname("RequestSecurityTokenResponseCollection"))
            .ns(v.prefix(), v.ns());
    }
    w.start(&v.qname("RequestSecurityTokenResponse"))
        .attr_opt("Context", r.context);
    w.element(&v.qname("TokenType"), r.token_type_uri);
    requested(w, r);
    lifetime(w, r);
    applies_to(w, r);
    w.element(&v.qname("KeyType"), r.key_type);
    w.end();
    if root {
        w.end();
    }
}

/// RequestedSecurityToken, the references and the proof.
pub(super) fn requested(w: &mut Writer, r: &IssuedTokenResponse<'_>) {
    let v = r.version;
    w.start(&v.qname("RequestedSecurityToken"))
        .raw(r.token_xml)
        .end();
    // Token references are SAML's KeyIdentifier, or one of the custom ValueType; a JWT has
    // no standard one, so none.
    let saml = match TokenTypeUri::from_uri(r.token_type_uri) {
        Some(TokenTypeUri::Saml20) => Some(false),
        Some(TokenTypeUri::Saml11) => Some(true),
        _ => None,
    };
    let reference = |w: &mut Writer| match saml {
        Some(saml11) if !r.custom => saml_reference(w, r.token_id, saml11),
        _ => custom_reference(w, r.token_type_uri, r.token_id),
    };
    if r.custom || saml.is_some() {
        w.start(&v.qname("RequestedAttachedReference"));
        reference(w);
        w.end();
        w.start(&v.qname("RequestedUnattachedReference"));
        reference(w);
        w.end();
    }
    if let Some(p) = r.proof {
        proof::write(w, v, p);
    }
}

pub(super) fn lifetime(w: &mut Writer, r: &IssuedTokenResponse<'_>) {
    w.start(&r.version.qname("Lifetime")).ns("wsu", WSU);
    w.element("wsu:Created", &wsu_datetime(r.created));
    w.element("wsu:Expires", &wsu_datetime(r.expires));
    w.end();
}

pub(super) fn applies_to(w: &mut Writer, r: &IssuedTokenResponse<'_>) {
    if let Some(address) = r.applies_to {
        w.start("wsp:AppliesTo").ns("wsp", WSP_NSS[0]);
        w.start("wsa:EndpointReference").ns("wsa", WSA_NSS[0]);
        w.element("wsa:Address", address);
        w.end().end();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;
    use crate::wstrust::proof::Returned;
    use crate::xml::ns::{
        BINARY_SECRET_SYMMETRIC, KEY_TYPE_BEARER, KEY_TYPE_SYMMETRIC_KEY, STATUS_INVALID,
        STATUS_VALID, TOKEN_TYPE_STATUS, WST,
    };

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_767_323_045 + secs, 0).unwrap()
    }

    const LIFETIME: &str = "<wsu:Created>2026-01-02T03:04:05.000Z</wsu:Created><wsu:Expires>2026-01-02T03:14:05.000Z</wsu:Expires>";

    /// The exact bytes of each response: clients and the integration tests compare them.
    #[test]
    fn issue_responses_are_written_byte_for_byte() {
        let saml = write_issue_response(&IssuedTokenResponse {
            version: TrustVersion::V13,
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
            version: TrustVersion::V14,
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
        let mut w = Writer::default();
        proof::write(&mut w, TrustVersion::V13, &computed);
        assert_eq!(
            w.finish(),
            format!(
                "<wst:RequestedProofToken><wst:ComputedKey>{}</wst:ComputedKey></wst:RequestedProofToken><wst:Entropy><wst:BinarySecret Type=\"{}\">AgIC</wst:BinarySecret></wst:Entropy><wst:KeySize>256</wst:KeySize>",
                crate::xml::ns::CK_PSHA1,
                crate::xml::ns::BINARY_SECRET_NONCE
            )
        );
    }

    /// AD FS's shape for `/trust/2005/`: a bare RSTR in the 2005 namespace, TokenType,
    /// RequestType and KeyType after the token.
    #[test]
    fn a_2005_issue_is_a_bare_rstr_in_the_ad_fs_order() {
        use crate::xml::ns::{KEY_TYPE_NO_PROOF_KEY, SAML1, WST2005};
        let out = write_issue_response(&IssuedTokenResponse {
            version: TrustVersion::V2005,
            context: None,
            token_type_uri: SAML1,
            token_xml: "<a/>",
            token_id: "_i",
            created: at(0),
            expires: at(600),
            applies_to: Some("urn:federation:MicrosoftOnline"),
            key_type: KEY_TYPE_NO_PROOF_KEY,
            proof: None,
            custom: false,
        });
        let reference = format!(
            "<wsse:SecurityTokenReference xmlns:wsse=\"{WSSE}\" xmlns:wsse11=\"{WSSE11}\" wsse11:TokenType=\"{TOKEN_TYPE_SAML11}\"><wsse:KeyIdentifier ValueType=\"{SAML11_ID_VALUE_TYPE}\">_i</wsse:KeyIdentifier></wsse:SecurityTokenReference>"
        );
        assert_eq!(
            out,
            format!(
                "<t:RequestSecurityTokenResponse xmlns:t=\"{WST2005}\"><t:Lifetime xmlns:wsu=\"{WSU}\">{LIFETIME}</t:Lifetime><wsp:AppliesTo xmlns:wsp=\"{}\"><wsa:EndpointReference xmlns:wsa=\"{}\"><wsa:Address>urn:federation:MicrosoftOnline</wsa:Address></wsa:EndpointReference></wsp:AppliesTo><t:RequestedSecurityToken><a/></t:RequestedSecurityToken><t:RequestedAttachedReference>{reference}</t:RequestedAttachedReference><t:RequestedUnattachedReference>{reference}</t:RequestedUnattachedReference><t:TokenType>{SAML1}</t:TokenType><t:RequestType>{WST2005}/Issue</t:RequestType><t:KeyType>{KEY_TYPE_NO_PROOF_KEY}</t:KeyType></t:RequestSecurityTokenResponse>",
                WSP_NSS[0], WSA_NSS[0]
            )
        );
        assert_eq!(
            write_validate_response(TrustVersion::V2005, None, true, "ok"),
            format!(
                "<t:RequestSecurityTokenResponse xmlns:t=\"{WST2005}\"><t:TokenType>{WST2005}/RSTR/Status</t:TokenType><t:Status><t:Code>{WST2005}/status/valid</t:Code><t:Reason>ok</t:Reason></t:Status></t:RequestSecurityTokenResponse>"
            )
        );
        assert_eq!(
            write_cancel_response(TrustVersion::V2005, Some("c")),
            format!(
                "<t:RequestSecurityTokenResponse xmlns:t=\"{WST2005}\" Context=\"c\"><t:RequestedTokenCancelled/></t:RequestSecurityTokenResponse>"
            )
        );
    }

    #[test]
    fn validate_cancel_and_binary_tokens_are_written_byte_for_byte() {
        assert_eq!(
            write_validate_response(TrustVersion::V13, Some("x\"y"), false, "a<b"),
            format!(
                "<wst:RequestSecurityTokenResponse xmlns:wst=\"{WST}\" Context=\"x&quot;y\"><wst:TokenType>{TOKEN_TYPE_STATUS}</wst:TokenType><wst:Status><wst:Code>{STATUS_INVALID}</wst:Code><wst:Reason>a&lt;b</wst:Reason></wst:Status></wst:RequestSecurityTokenResponse>"
            )
        );
        assert!(write_validate_response(TrustVersion::V13, None, true, "").contains(&format!(
            "<wst:Code>{STATUS_VALID}</wst:Code><wst:Reason></wst:Reason>"
        )));
        assert_eq!(
            write_cancel_response(TrustVersion::V13, None),
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
