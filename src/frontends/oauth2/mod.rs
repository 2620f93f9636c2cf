//! `/oauth2/...`: the OAuth 2.0 / OpenID Connect endpoints of a realm, in AM's path shape
//! (`/oauth2/connect/jwk_uri`, `/oauth2/introspect`, and the same under
//! `/oauth2/realms/root/realms/{realm}/`), and the RFC 8414 metadata that points at them.
//! The JWK sets are public (public keys only); introspection needs a registered client.

mod error;
mod introspect;
mod jwks;
pub mod metadata;

use crate::http::{HttpReply, Outcome, Request};

use super::Context;
use super::crest::{JsonFailure, json_reply, realm_and_rest, refuse_content_encoding};
use error::oauth_reply;

/// Handles one request under `/oauth2/`.
pub fn handle(state: &Context, req: &Request) -> Outcome {
    if let Some(refused) = refuse_content_encoding(&req.headers) {
        return refused.into();
    }
    route(state, req).unwrap_or_else(|f| json_reply(&f)).into()
}

fn route(state: &Context, req: &Request) -> Result<HttpReply, JsonFailure> {
    let (realm, rest) = realm_and_rest(&req.tail)?;
    match rest
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["connect", "jwk_uri"] if req.method == warp::http::Method::GET => {
            crate::metrics::note_operation("jwks");
            Ok(HttpReply::json(200, &jwks::jwks(state, &realm)))
        }
        ["connect", "jwk_uri"] => Err(JsonFailure::MethodNotAllowed),
        ["introspect"] if req.method == warp::http::Method::POST => {
            crate::metrics::note_operation("introspect");
            Ok(introspect::introspect(state, &realm, req).unwrap_or_else(|f| oauth_reply(&f)))
        }
        ["introspect"] => Err(JsonFailure::MethodNotAllowed),
        _ => Err(JsonFailure::NotFound),
    }
}
