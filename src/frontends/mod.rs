//! Protocol front ends: each turns its protocol's requests into engine calls and the results
//! (errors included) into its protocol's replies. HTTP itself is [`crate::http`]'s.
//!
//! Each protocol maps failures to the wire in exactly one place: SOAP in
//! [`soap_sts::fault`](soap_sts), JSON (CREST) in [`crest`], OAuth in `oauth2::error`.

pub mod adfs;
pub mod admin;
pub mod am_json;
pub mod audited;
pub mod console;
pub mod context;
pub mod crest;
pub mod oauth2;
pub mod rest_sts;
pub mod soap_sts;

pub use context::Context;

/// The OpenAPI 3 document of every JSON endpoint (`GET /openapi.json`); a test checks it
/// against the running server.
pub const OPENAPI: &str = include_str!("../../openapi/openapi.json");
