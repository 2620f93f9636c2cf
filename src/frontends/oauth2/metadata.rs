//! RFC 8414 authorization server metadata of a realm.

use serde_json::{Value, json};

use crate::frontends::Context;
use crate::frontends::crest::{JsonFailure, json_reply, realm_and_rest};
use crate::http::HttpReply;

/// The issuer URL of a realm's OAuth endpoints (`{base}/oauth2`, or
/// `{base}/oauth2/realms/root/realms/{realm}`).
pub fn issuer(base_url: &str, realm: &str) -> String {
    let realm = realm.trim_matches('/');
    if realm.is_empty() {
        format!("{base_url}/oauth2")
    } else {
        let path: String = realm.split('/').map(|r| format!("/realms/{r}")).collect();
        format!("{base_url}/oauth2/realms/root{path}")
    }
}

/// RFC 8414 authorization server metadata of a realm.
pub fn metadata(state: &Context, realm: &str) -> Value {
    let iss = issuer(&state.base_url, realm);
    json!({
        "issuer": iss,
        "introspection_endpoint": format!("{iss}/introspect"),
        "introspection_endpoint_auth_methods_supported":
            crate::oauth::AuthMethod::ALL.iter().map(|m| m.as_str()).collect::<Vec<_>>(),
        "jwks_uri": format!("{iss}/connect/jwk_uri"),
        // This server issues no OAuth tokens of its own (no token or authorization endpoint).
        "response_types_supported": [],
        "grant_types_supported": [],
        "service_documentation": format!("{}/openapi.json", state.base_url),
    })
}

/// `GET /.well-known/oauth-authorization-server` + the issuer's path (RFC 8414).
pub fn well_known(state: &Context, tail: &str) -> HttpReply {
    let path = tail.trim_matches('/');
    let realm = match path.strip_prefix("oauth2") {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => {
            realm_and_rest(rest).ok().filter(|(_, r)| r.is_empty())
        }
        _ if path.is_empty() => Some(("/".to_owned(), Vec::new())),
        _ => None,
    };
    match realm {
        Some((realm, _)) if state.realm_exists(&realm) => {
            HttpReply::json(200, &metadata(state, &realm))
        }
        _ => json_reply(&JsonFailure::NotFound),
    }
}
