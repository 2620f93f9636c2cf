//! `/oauth2/...`: the OAuth 2.0 / OpenID Connect endpoints of a realm, in AM's path shape
//! (`/oauth2/connect/jwk_uri`, `/oauth2/introspect`, and the same under
//! `/oauth2/realms/root/realms/{realm}/`), and the RFC 8414 metadata that points at them.
//! The JWK sets are public (public keys only); introspection needs a registered client.

use base64::Engine as _;
use serde_json::{Value, json};

use super::json::{JsonRequest, realm_and_rest};
use super::reject::{JsonFailure, OAuthFailure, json_reply, no_store, oauth_reply};
use super::{AppState, HttpReply};
use crate::oauth::Presented;
use crate::secret::Secret;

pub fn handle(state: &AppState, req: &JsonRequest) -> HttpReply {
    if let Some(refused) = super::json::refuse_content_encoding(&req.headers) {
        return refused;
    }
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
        ["introspect"] if req.method == warp::http::Method::POST => {
            Ok(introspect(state, &realm, req).unwrap_or_else(|f| oauth_reply(&f)))
        }
        ["introspect"] => Err(JsonFailure::MethodNotAllowed),
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
pub fn metadata(state: &AppState, realm: &str) -> Value {
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

/// Reads an `application/x-www-form-urlencoded` body; a parameter given twice is refused
/// (RFC 6749 3.2).
fn form(req: &JsonRequest) -> Result<Vec<(String, String)>, OAuthFailure> {
    let form_type = req
        .headers
        .get(warp::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| {
            m.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !form_type {
        return Err(OAuthFailure::InvalidRequest(
            "the body must be application/x-www-form-urlencoded".into(),
        ));
    }
    let pairs: Vec<(String, String)> = form_urlencoded::parse(&req.body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    for (i, (k, _)) in pairs.iter().enumerate() {
        if pairs[..i].iter().any(|(o, _)| o == k) {
            return Err(OAuthFailure::InvalidRequest(format!(
                "parameter `{k}` is given more than once"
            )));
        }
    }
    Ok(pairs)
}

/// `Authorization: Basic` client credentials: base64 of `id:secret`, each form-urlencoded
/// (RFC 6749 2.3.1). Another scheme is ignored; a malformed Basic header is refused.
fn basic(req: &JsonRequest) -> Result<Option<(String, Secret<String>)>, OAuthFailure> {
    let Some(value) = req.headers.get(warp::http::header::AUTHORIZATION) else {
        return Ok(None);
    };
    let bad = || OAuthFailure::InvalidClient("the Basic credentials are malformed".into());
    let value = value.to_str().map_err(|_| bad())?;
    let Some((scheme, rest)) = value.split_once(' ') else {
        return Err(bad());
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(OAuthFailure::InvalidClient(
            "only Basic client authentication is accepted in the Authorization header".into(),
        ));
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(bad)?;
    let (id, secret) = decoded.split_once(':').ok_or_else(bad)?;
    let unescape = |s: &str| -> String {
        form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Ok(Some((unescape(id), Secret::new(unescape(secret)))))
}

/// RFC 7662 introspection of a token this STS issued in `realm`.
fn introspect(state: &AppState, realm: &str, req: &JsonRequest) -> Result<HttpReply, OAuthFailure> {
    let pairs = form(req)?;
    let param = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let token = param("token").filter(|t| !t.is_empty()).ok_or_else(|| {
        OAuthFailure::InvalidRequest("missing required parameter(s). (token)".into())
    })?;
    let presented = Presented {
        basic: basic(req)?,
        body_id: param("client_id"),
        body_secret: param("client_secret").map(Secret::new),
    };
    let client = state.clients.authenticate(realm, &presented)?;
    let instances: Vec<_> = state
        .publisher
        .instances()
        .into_iter()
        .filter(|i| i.config.realm() == realm)
        .collect();
    let found = state.engine.introspect(&instances, &token)?;
    tracing::info!(realm, client = %client.client_id, active = found.is_some(), "introspection");
    let body = match found {
        None => json!({"active": false}),
        Some((sts_id, f)) => {
            let token_type = match f.token_type {
                crate::instance::TokenType::OpenIdConnect => {
                    "urn:ietf:params:oauth:token-type:id_token"
                }
                _ => "urn:ietf:params:oauth:token-type:saml2",
            };
            let mut m = serde_json::Map::new();
            m.insert("active".into(), json!(true));
            m.insert("token_type".into(), json!(token_type));
            if let Some(sub) = &f.subject {
                m.insert("sub".into(), json!(sub));
            }
            // The party the token was made for: `azp`, else the (first) audience.
            if let Some(c) = f.authorized_party.as_ref().or(f.audience.first()) {
                m.insert("client_id".into(), json!(c));
            }
            m.insert("exp".into(), json!(f.expires));
            if let Some(iat) = f.issued_at {
                m.insert("iat".into(), json!(iat));
            }
            m.insert("iss".into(), json!(f.issuer));
            m.insert("jti".into(), json!(f.id));
            match f.audience.as_slice() {
                [] => {}
                [one] => {
                    m.insert("aud".into(), json!(one));
                }
                many => {
                    m.insert("aud".into(), json!(many));
                }
            }
            m.insert("sts_instance".into(), json!(sts_id));
            Value::Object(m)
        }
    };
    let mut reply = HttpReply::json(200, &body);
    reply.headers = no_store();
    Ok(reply)
}
