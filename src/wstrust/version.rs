//! Which WS-Trust a request speaks, decided from its namespace and carried to the response
//! writers, the response action and the faults, so that a client is answered in its own
//! dialect: AD FS's `/trust/2005/` clients (MSAL, ADAL, WCF's `WSTrustFeb2005`) read only the
//! February 2005 namespace, WS-Trust 1.3 clients only 200512.

use crate::xml::ns::{
    BINARY_SECRET_NONCE, BINARY_SECRET_NONCE_2005, BINARY_SECRET_SYMMETRIC,
    BINARY_SECRET_SYMMETRIC_2005, CK_PSHA1, CK_PSHA1_2005, KEY_TYPE_BEARER, KEY_TYPE_BEARER_2005,
    KEY_TYPE_NO_PROOF_KEY, KEY_TYPE_PUBLIC_KEY, KEY_TYPE_PUBLIC_KEY_2005, KEY_TYPE_SYMMETRIC_KEY,
    KEY_TYPE_SYMMETRIC_KEY_2005, STATUS_INVALID, STATUS_INVALID_2005, STATUS_VALID,
    STATUS_VALID_2005, TOKEN_TYPE_STATUS, TOKEN_TYPE_STATUS_2005, WST, WST_NSS, WST14, WST2005,
};

/// A WS-Trust version. 1.3 and 1.4 share the 200512 namespace for every core element (1.4
/// adds extension elements in 200802) and are answered alike; February 2005 has its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum TrustVersion {
    /// `http://schemas.xmlsoap.org/ws/2005/02/trust`.
    V2005,
    /// `http://docs.oasis-open.org/ws-sx/ws-trust/200512`.
    #[default]
    V13,
    /// 1.3 with 1.4's extension elements (`.../ws-trust/200802`).
    V14,
}

impl TrustVersion {
    /// The version whose element namespace `ns` is.
    pub fn of_ns(ns: &str) -> Option<TrustVersion> {
        match ns {
            WST2005 => Some(Self::V2005),
            WST => Some(Self::V13),
            WST14 => Some(Self::V14),
            _ => None,
        }
    }

    /// The namespace of the core elements, and the base of the action and RequestType URIs.
    pub fn ns(self) -> &'static str {
        match self {
            Self::V2005 => WST2005,
            Self::V13 | Self::V14 => WST,
        }
    }

    /// The prefix responses and faults bind to [`TrustVersion::ns`]: AD FS's `t` for 2005.
    pub fn prefix(self) -> &'static str {
        match self {
            Self::V2005 => "t",
            Self::V13 | Self::V14 => "wst",
        }
    }

    /// Whether an element of namespace `ns` belongs to a request of this version: 1.3 and
    /// 1.4 requests may mix 200512 and 200802; nothing mixes with 2005.
    pub fn reads(self, ns: &str) -> bool {
        match self {
            Self::V2005 => ns == WST2005,
            Self::V13 | Self::V14 => WST_NSS.contains(&ns),
        }
    }

    /// Whether two versions may meet in one message (an action and its body).
    pub fn agrees(self, other: TrustVersion) -> bool {
        (self == Self::V2005) == (other == Self::V2005)
    }

    /// A KeyType URI as the 1.3 constant it means (what the issue rules compare), or `None`
    /// when it belongs to the other version; unknown URIs pass through (and are refused by
    /// the issue rules). NoProofKey (WS-Identity, not WS-Trust) is read as bearer in either.
    pub fn normalise_key_type(self, uri: &str) -> Option<&str> {
        match (self, uri) {
            (_, KEY_TYPE_NO_PROOF_KEY) => Some(KEY_TYPE_BEARER),
            (Self::V2005, KEY_TYPE_BEARER_2005) => Some(KEY_TYPE_BEARER),
            (Self::V2005, KEY_TYPE_PUBLIC_KEY_2005) => Some(KEY_TYPE_PUBLIC_KEY),
            (Self::V2005, KEY_TYPE_SYMMETRIC_KEY_2005) => Some(KEY_TYPE_SYMMETRIC_KEY),
            (Self::V2005, KEY_TYPE_BEARER | KEY_TYPE_PUBLIC_KEY | KEY_TYPE_SYMMETRIC_KEY) => None,
            (Self::V13 | Self::V14, KEY_TYPE_BEARER_2005)
            | (Self::V13 | Self::V14, KEY_TYPE_PUBLIC_KEY_2005)
            | (Self::V13 | Self::V14, KEY_TYPE_SYMMETRIC_KEY_2005) => None,
            (_, other) => Some(other),
        }
    }

    /// The KeyType URI of this version for a 1.3 one; others pass through.
    pub fn key_type(self, uri13: &str) -> &str {
        match (self, uri13) {
            (Self::V2005, KEY_TYPE_BEARER) => KEY_TYPE_BEARER_2005,
            (Self::V2005, KEY_TYPE_PUBLIC_KEY) => KEY_TYPE_PUBLIC_KEY_2005,
            (Self::V2005, KEY_TYPE_SYMMETRIC_KEY) => KEY_TYPE_SYMMETRIC_KEY_2005,
            (_, other) => other,
        }
    }

    /// Validate's status TokenType.
    pub fn status_token_type(self) -> &'static str {
        match self {
            Self::V2005 => TOKEN_TYPE_STATUS_2005,
            Self::V13 | Self::V14 => TOKEN_TYPE_STATUS,
        }
    }

    /// Validate's status codes.
    pub fn status_code(self, valid: bool) -> &'static str {
        match (self, valid) {
            (Self::V2005, true) => STATUS_VALID_2005,
            (Self::V2005, false) => STATUS_INVALID_2005,
            (_, true) => STATUS_VALID,
            (_, false) => STATUS_INVALID,
        }
    }

    /// `wst:BinarySecret/@Type` of entropy (`nonce`) or of a symmetric key.
    pub fn binary_secret_type(self, nonce: bool) -> &'static str {
        match (self, nonce) {
            (Self::V2005, true) => BINARY_SECRET_NONCE_2005,
            (Self::V2005, false) => BINARY_SECRET_SYMMETRIC_2005,
            (_, true) => BINARY_SECRET_NONCE,
            (_, false) => BINARY_SECRET_SYMMETRIC,
        }
    }

    /// `wst:ComputedKey` P_SHA1.
    pub fn ck_psha1(self) -> &'static str {
        match self {
            Self::V2005 => CK_PSHA1_2005,
            Self::V13 | Self::V14 => CK_PSHA1,
        }
    }

    /// A `wst:ComputedKeyAlgorithm` as the 1.3 constant, if it is this version's P_SHA1.
    pub fn normalise_ck(self, uri: &str) -> Option<&'static str> {
        (uri == self.ck_psha1()).then_some(CK_PSHA1)
    }

    /// The qualified name `prefix:local` of a WS-Trust element of this version.
    pub fn qname(self, local: &str) -> String {
        format!("{}:{local}", self.prefix())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_key_types_and_status_follow_the_version() {
        assert_eq!(TrustVersion::of_ns(WST2005), Some(TrustVersion::V2005));
        assert_eq!(TrustVersion::of_ns(WST14), Some(TrustVersion::V14));
        assert_eq!(TrustVersion::of_ns("urn:x"), None);
        let v = TrustVersion::V2005;
        assert!(v.reads(WST2005) && !v.reads(WST) && !v.reads(WST14));
        assert!(TrustVersion::V13.reads(WST14) && !TrustVersion::V13.reads(WST2005));
        assert!(v.agrees(v) && !v.agrees(TrustVersion::V14));
        assert!(TrustVersion::V13.agrees(TrustVersion::V14));
        assert_eq!(v.normalise_key_type(KEY_TYPE_NO_PROOF_KEY), Some(KEY_TYPE_BEARER));
        assert_eq!(v.normalise_key_type(KEY_TYPE_BEARER_2005), Some(KEY_TYPE_BEARER));
        assert_eq!(v.normalise_key_type(KEY_TYPE_BEARER), None);
        assert_eq!(
            TrustVersion::V13.normalise_key_type(KEY_TYPE_PUBLIC_KEY_2005),
            None
        );
        assert_eq!(TrustVersion::V13.normalise_key_type("urn:k"), Some("urn:k"));
        assert_eq!(v.key_type(KEY_TYPE_SYMMETRIC_KEY), KEY_TYPE_SYMMETRIC_KEY_2005);
        assert_eq!(TrustVersion::V14.key_type(KEY_TYPE_BEARER), KEY_TYPE_BEARER);
        assert_eq!(v.status_code(true), STATUS_VALID_2005);
        assert_eq!(v.normalise_ck(CK_PSHA1_2005), Some(CK_PSHA1));
        assert_eq!(v.normalise_ck(CK_PSHA1), None);
        assert_eq!(v.qname("Lifetime"), "t:Lifetime");
    }
}
