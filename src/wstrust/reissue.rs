//! Responses that carry a re-issued token, each one RSTR (not a collection: the spec's WSDL
//! answers Renew and Validate with `RequestSecurityTokenResponseMsg`), in every version: a
//! Renew's (WS-Trust 1.3 section 7) and a Validate's that returns a new token (section 9).

use crate::xml::write::Writer;

use super::IssuedTokenResponse;
use super::rstr::{applies_to, lifetime, requested};

/// The RSTR of a Renew: TokenType, the renewed token with its references, its new Lifetime,
/// and AppliesTo when the token names an audience.
pub fn write_renew_response(r: &IssuedTokenResponse<'_>) -> String {
    token_rstr(r).finish()
}

/// The RSTR of a Validate that returns a new token: the token as a Renew's RSTR writes it,
/// then the status (valid, with `reason`).
pub fn write_validate_token_response(r: &IssuedTokenResponse<'_>, reason: &str) -> String {
    let v = r.version;
    let mut w = token_rstr(r);
    w.start(&v.qname("Status"));
    w.element(&v.qname("Code"), v.status_code(true));
    w.element(&v.qname("Reason"), reason);
    w.finish()
}

/// An RSTR holding a re-issued token, left open for what follows it.
fn token_rstr(r: &IssuedTokenResponse<'_>) -> Writer {
    let v = r.version;
    let mut w = Writer::with_capacity(r.token_xml.len() + 1024);
    w.start(&v.qname("RequestSecurityTokenResponse"))
        .ns(v.prefix(), v.ns())
        .attr_opt("Context", r.context);
    w.element(&v.qname("TokenType"), r.token_type_uri);
    requested(&mut w, r);
    lifetime(&mut w, r);
    applies_to(&mut w, r);
    w
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wstrust::TrustVersion;
    use crate::xml::ns::{KEY_TYPE_BEARER, TOKEN_TYPE_SAML11, WST2005};

    #[test]
    fn a_renewal_is_one_rstr_in_the_requests_namespace() {
        let at = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let r = IssuedTokenResponse {
            version: TrustVersion::V2005,
            context: Some("c"),
            token_type_uri: TOKEN_TYPE_SAML11,
            token_xml: "<a/>",
            token_id: "_n",
            created: at,
            expires: at,
            applies_to: None,
            key_type: KEY_TYPE_BEARER,
            proof: None,
            custom: false,
        };
        let out = write_renew_response(&r);
        assert!(
            out.starts_with(&format!(
                "<t:RequestSecurityTokenResponse xmlns:t=\"{WST2005}\" Context=\"c\"><t:TokenType>{TOKEN_TYPE_SAML11}</t:TokenType><t:RequestedSecurityToken><a/></t:RequestedSecurityToken><t:RequestedAttachedReference>"
            )),
            "{out}"
        );
        assert!(out.ends_with("</t:Lifetime></t:RequestSecurityTokenResponse>"), "{out}");
        assert!(!out.contains("Collection"));
        let v = write_validate_token_response(&r, "ok");
        assert!(
            v.ends_with(&format!(
                "</t:Lifetime><t:Status><t:Code>{}</t:Code><t:Reason>ok</t:Reason></t:Status></t:RequestSecurityTokenResponse>",
                TrustVersion::V2005.status_code(true)
            )),
            "{v}"
        );
    }
}
