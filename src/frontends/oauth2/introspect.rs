//! `POST /oauth2/introspect` (RFC 7662) for registered clients.

use base64::Engine as _;
use serde_json::{Value, json};

use crate::frontends::Context;
use crate::http::{HttpReply, Request};
use crate::oauth::Presented;
use crate::secret::Secret;

use super::error::{OAuthFailure, no_store};

/// Reads an `application/x-www-form-urlencoded` body; a parameter given twice is refused
/// (RFC 6749 3.2).
fn form(req: &Request) -> Result<Vec<(String, String)>, OAuthFailure> {
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
        if pairs.iter().take(i).any(|(o, _)| o == k) {
            return Err(OAuthFailure::InvalidRequest(format!(
                "parameter `{k}` is given more than once"
            )));
        }
    }
    Ok(pairs)
}

/// `Authorization: Basic` client credentials: base64 of `id:secret`, each form-urlencoded
/// (RFC 6749 2.3.1). Another scheme is ignored; a malformed Basic header is refused.
fn basic(req: &Request) -> Result<Option<(String, Secret<String>)>, OAuthFailure> {
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
pub(super) fn introspect(
    state: &Context,
    realm: &str,
    req: &Request,
) -> Result<HttpReply, OAuthFailure> {
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
    // A validation like WS-Trust's, by an OAuth client: the trail says which token it asked
    // about and what it learnt (never the token).
    let mut event = crate::audit::Event::new("token.validated")
        .with("realm", realm)
        .with("via", "introspection")
        .with("client_id", &client.client_id)
        .with("valid", found.is_some());
    if let Some((sts_id, f)) = &found {
        event = event
            .with("instance", sts_id)
            .with("token_type", f.token_type.name())
            .with("token_id", &f.id)
            .with_opt("principal", f.subject.as_ref());
    }
    state.engine.audit(event)?;
    let body = match found {
        None => json!({"active": false}),
        Some((sts_id, f)) => {
            let token_type = match f.token_type {
                crate::instance::TokenType::OpenIdConnect => crate::xml::ns::TOKEN_TYPE_ID_TOKEN,
                crate::instance::TokenType::Saml1 => crate::xml::ns::TOKEN_TYPE_OAUTH_SAML1,
                _ => crate::xml::ns::TOKEN_TYPE_OAUTH_SAML2,
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
