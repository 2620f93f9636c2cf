//! WS-Trust 1.3/1.4 and February 2005 as a codec: the [`operation`]s, the request ([`rst`]),
//! the responses ([`rstr`]), symmetric [`proof`] keys and the [`version`] that selects the
//! namespace of each. No I/O, no HTTP; it imports only `xml`, `crypto` and `secret`.

pub mod batch;
pub mod claims;
pub mod operation;
pub mod proof;
pub mod reissue;
pub mod rst;
pub mod rstr;
pub mod version;

pub use operation::Operation;
pub use reissue::{write_renew_response, write_validate_token_response};
pub use rst::{Rst, RstError, Target, TokenTypeUri, parse_rst};
pub use rstr::{
    IssuedTokenResponse, binary_token_xml, write_cancel_response, write_issue_response,
    write_validate_response,
};
pub use version::TrustVersion;
