//! `/oauth2/...`: the OAuth 2.0 / OpenID Connect documents of a realm, in AM's path shape
//! (`/oauth2/connect/jwk_uri`, `/oauth2/realms/root/realms/{realm}/connect/jwk_uri`).
//! Public: they hold only public keys.

use serde_json::{Value, json};

use super::json::{JsonRequest, realm_and_rest};
use super::reject::{JsonFailure, json_reply};
use super::{AppState, HttpReply};

pub fn handle(state: &AppState, req: &JsonRequest) -> HttpReply {
    route(state, req).unwrap_or_else(|f| json_reply(&f))
}

fn route(state: &AppState, req: &JsonRequest) -> Result<HttpReply, JsonFailure> {
    let (realm, rest) = realm_and_rest(&req.tail)?;
    match rest
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["connect", "jwk_uri"] if req.method == warp::http::Method::GET => {
            Ok(HttpReply::json(200, &jwks(state, &realm)))
        }
        ["connect", "jwk_uri"] => Err(JsonFailure::MethodNotAllowed),
        _ => Err(JsonFailure::NotFound),
    }
}

/// The JWK set of a realm: the public keys (current, and previous after a rotation) of every
/// instance of the realm that signs id_tokens with a key pair, once per `kid`. HMAC secrets
/// are never published.
fn jwks(state: &AppState, realm: &str) -> Value {
    let mut keys: Vec<Value> = Vec::new();
    for instance in state.publisher.instances() {
        if instance.config.realm() != realm {
            continue;
        }
        let Some(signer) = &instance.oidc_signing else {
            continue;
        };
        for jwk in signer.public_jwks() {
            if !keys
                .iter()
                .any(|k| k["kid"] == jwk["kid"] && k["alg"] == jwk["alg"])
            {
                keys.push(jwk);
            }
        }
    }
    keys.sort_by(|a, b| a["kid"].to_string().cmp(&b["kid"].to_string()));
    json!({ "keys": keys })
}
