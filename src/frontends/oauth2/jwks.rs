//! `/oauth2/connect/jwk_uri`: the public keys that verify a realm's id_tokens.

use serde_json::{Value, json};

use crate::frontends::Context;

/// The JWK set of a realm: the public keys (current, and previous after a rotation) of every
/// instance of the realm that signs id_tokens with a key pair, once per `kid`. HMAC secrets
/// are never published.
pub(super) fn jwks(state: &Context, realm: &str) -> Value {
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
                .any(|k| k.get("kid") == jwk.get("kid") && k.get("alg") == jwk.get("alg"))
            {
                keys.push(jwk);
            }
        }
    }
    keys.sort_by(|a, b| a["kid"].to_string().cmp(&b["kid"].to_string()));
    json!({ "keys": keys })
}
