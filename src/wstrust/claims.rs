//! `wst:Claims`: the claim types a requestor asks to find in the issued token (WS-Trust 1.3
//! section 4.1). The element's content is defined by its `Dialect`; this STS reads the
//! dialects WIF, WCF, AD FS clients and CXF send:
//!
//! - `http://schemas.xmlsoap.org/ws/2005/05/identity` (and WCF 3.5's `.../IdentityClaims`):
//!   `ic:ClaimType Uri="..." Optional="true|false"` in the identity namespace;
//! - `http://docs.oasis-open.org/wsfed/authorization/200706/authclaims` (WS-Federation 1.2
//!   section 9.3): `auth:ClaimType Uri Optional` with an optional `auth:Value`, the value the
//!   requestor wants the claim to have.
//!
//! A dialect this STS does not read is kept as [`Dialect::Unknown`] so that the request is
//! refused (as not understood), never served as if the claims had not been asked for.

use crate::xml::Element;
use crate::xml::ns::{
    CLAIMS_DIALECT_AUTH, CLAIMS_DIALECT_IDENTITY, CLAIMS_DIALECT_IDENTITY_ORCAS, WSFED_AUTH,
};

use super::RstError;

/// Most claim types read from one request: enough for any token, bounded so that a request
/// cannot make the issuer compare thousands of URIs.
pub const MAX_CLAIMS: usize = 64;
/// Longest claim URI or requested value accepted.
pub const MAX_CLAIM_LEN: usize = 1024;

/// A claims dialect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dialect {
    /// The identity dialect (or WCF 3.5's name for it).
    Identity,
    /// WS-Federation authorization claims.
    AuthClaims,
    /// Any other URI: not understood, refused by the front end.
    Unknown(String),
}

/// One requested claim type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimType {
    pub uri: String,
    /// Whether the token may go without it (`Optional`, default false).
    pub optional: bool,
    /// The value asked for (`auth:Value`, authorization claims only).
    pub value: Option<String>,
}

/// A parsed `wst:Claims`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    pub dialect: Dialect,
    /// In request order; empty for an unknown dialect (its content is not read).
    pub claim_types: Vec<ClaimType>,
}

/// Reads a `wst:Claims` element.
pub fn parse_claims(el: &Element) -> Result<Claims, RstError> {
    let dialect_uri = el
        .attr(None, "Dialect")
        .map(str::trim)
        .ok_or_else(|| RstError("wst:Claims must name its Dialect".into()))?;
    let (dialect, ns) = match dialect_uri {
        CLAIMS_DIALECT_IDENTITY | CLAIMS_DIALECT_IDENTITY_ORCAS => {
            (Dialect::Identity, CLAIMS_DIALECT_IDENTITY)
        }
        CLAIMS_DIALECT_AUTH => (Dialect::AuthClaims, WSFED_AUTH),
        other => {
            return Ok(Claims {
                dialect: Dialect::Unknown(other.to_owned()),
                claim_types: Vec::new(),
            });
        }
    };
    let mut claim_types = Vec::new();
    for child in el.elements() {
        if !child.is(ns, "ClaimType") {
            return Err(RstError(format!(
                "wst:Claims of dialect {dialect_uri} holds {{{}}}{}, not {{{ns}}}ClaimType",
                child.ns.as_deref().unwrap_or(""),
                child.local
            )));
        }
        if claim_types.len() == MAX_CLAIMS {
            return Err(RstError(format!(
                "wst:Claims asks for more than {MAX_CLAIMS} claim types"
            )));
        }
        claim_types.push(claim_type(child, &dialect, ns)?);
    }
    Ok(Claims {
        dialect,
        claim_types,
    })
}

fn claim_type(el: &Element, dialect: &Dialect, ns: &str) -> Result<ClaimType, RstError> {
    let uri = el
        .attr(None, "Uri")
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .ok_or_else(|| RstError("a ClaimType has no Uri".into()))?;
    if uri.len() > MAX_CLAIM_LEN {
        return Err(RstError(format!(
            "a ClaimType Uri is longer than {MAX_CLAIM_LEN} bytes"
        )));
    }
    // xs:boolean.
    let optional = match el.attr(None, "Optional").map(str::trim) {
        None | Some("false" | "0") => false,
        Some("true" | "1") => true,
        Some(other) => {
            return Err(RstError(format!(
                "ClaimType `{uri}`: Optional `{other}` is not a boolean"
            )));
        }
    };
    let mut value = None;
    for child in el.elements() {
        match (dialect, child.ns.as_deref(), child.local.as_str()) {
            (Dialect::AuthClaims, Some(n), "Value") if n == ns && value.is_none() => {
                let v = child.text();
                if v.len() > MAX_CLAIM_LEN {
                    return Err(RstError(format!(
                        "ClaimType `{uri}`: auth:Value is longer than {MAX_CLAIM_LEN} bytes"
                    )));
                }
                value = Some(v);
            }
            // Display hints of the authorization dialect ask nothing of the token.
            (Dialect::AuthClaims, Some(n), "DisplayName" | "Description" | "DisplayValue")
                if n == ns => {}
            (_, n, local) => {
                return Err(RstError(format!(
                    "ClaimType `{uri}`: {{{}}}{local} is not read (only the authorization dialect's auth:Value selects a value)",
                    n.unwrap_or("")
                )));
            }
        }
    }
    Ok(ClaimType {
        uri: uri.to_owned(),
        optional,
        value,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::{Limits, parse};

    fn claims(xml: &str) -> Result<Claims, RstError> {
        parse_claims(&parse(xml.as_bytes(), Limits::default()).unwrap())
    }

    #[test]
    fn reads_the_identity_and_authorization_dialects() {
        let c = claims(
            r#"<wst:Claims xmlns:wst="http://docs.oasis-open.org/ws-sx/ws-trust/200512" xmlns:ic="http://schemas.xmlsoap.org/ws/2005/05/identity" Dialect="http://schemas.xmlsoap.org/ws/2005/05/identity">
                <ic:ClaimType Uri="urn:a"/><ic:ClaimType Uri=" urn:b " Optional="true"/><ic:ClaimType Uri="urn:c" Optional="0"/></wst:Claims>"#,
        )
        .unwrap();
        assert_eq!(c.dialect, Dialect::Identity);
        let got: Vec<(&str, bool)> = c
            .claim_types
            .iter()
            .map(|t| (t.uri.as_str(), t.optional))
            .collect();
        assert_eq!(got, [("urn:a", false), ("urn:b", true), ("urn:c", false)]);
        let orcas = claims(r#"<Claims Dialect="http://schemas.xmlsoap.org/ws/2005/05/IdentityClaims"><ClaimType xmlns="http://schemas.xmlsoap.org/ws/2005/05/identity" Uri="urn:a"/></Claims>"#).unwrap();
        assert_eq!(orcas.dialect, Dialect::Identity);
        let auth = claims(
            r#"<Claims Dialect="http://docs.oasis-open.org/wsfed/authorization/200706/authclaims" xmlns:auth="http://docs.oasis-open.org/wsfed/authorization/200706">
                <auth:ClaimType Uri="urn:role" Optional="false"><auth:DisplayName>Role</auth:DisplayName><auth:Value>admin</auth:Value></auth:ClaimType></Claims>"#,
        )
        .unwrap();
        assert_eq!(auth.dialect, Dialect::AuthClaims);
        assert_eq!(auth.claim_types[0].value.as_deref(), Some("admin"));
    }

    #[test]
    fn unknown_dialects_are_kept_to_be_refused_and_bad_content_is_invalid() {
        let c = claims(r#"<Claims Dialect="urn:other"><x/></Claims>"#).unwrap();
        assert_eq!(c.dialect, Dialect::Unknown("urn:other".into()));
        let id = r#"xmlns:ic="http://schemas.xmlsoap.org/ws/2005/05/identity" Dialect="http://schemas.xmlsoap.org/ws/2005/05/identity""#;
        for (xml, needle) in [
            ("<Claims/>".to_owned(), "Dialect"),
            (format!("<Claims {id}><ic:ClaimType/></Claims>"), "no Uri"),
            (
                format!("<Claims {id}><ic:ClaimType Uri=\"u\" Optional=\"yes\"/></Claims>"),
                "not a boolean",
            ),
            (
                format!("<Claims {id}><ic:Other Uri=\"u\"/></Claims>"),
                "not {http://schemas.xmlsoap.org/ws/2005/05/identity}ClaimType",
            ),
            (
                format!("<Claims {id}><ic:ClaimType Uri=\"u\"><ic:Value>v</ic:Value></ic:ClaimType></Claims>"),
                "only the authorization dialect",
            ),
            (
                format!(
                    "<Claims {id}>{}</Claims>",
                    "<ic:ClaimType Uri=\"u\"/>".repeat(MAX_CLAIMS + 1)
                ),
                "more than 64",
            ),
        ] {
            let e = claims(&xml).unwrap_err();
            assert!(e.0.contains(needle), "{needle}: {e}");
        }
    }
}
