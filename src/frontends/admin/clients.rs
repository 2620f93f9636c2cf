//! `/sts-clients`: administration of the OAuth clients that may call introspection, per
//! realm (an administrator of the top-level realm manages every realm's clients, a realm
//! administrator only their realm's).
//!
//! - `GET /sts-clients` lists the clients the caller administers;
//! - `POST /sts-clients[/realms/root/realms/{realm}]?_action=create` with
//!   `{"client_id", "token_endpoint_auth_method"}` registers one and answers its secret, once;
//! - `GET` / `DELETE /sts-clients[/realms/root/realms/{realm}]/{client_id}`.

use serde_json::{Value, json};

use super::guard::admin;
use crate::frontends::Context;
use crate::frontends::crest::{
    JsonFailure, action, is_json, json_reply, realm_and_rest, refuse_content_encoding,
    store_failure,
};
use crate::http::{HttpReply, Outcome, Request};
use crate::oauth::{AuthMethod, ClientError, ClientInfo};

/// Handles one request under `/sts-clients/`.
pub fn handle(state: &Context, req: &Request) -> Outcome {
    crate::metrics::note_operation("clients");
    if let Some(refused) = refuse_content_encoding(&req.headers) {
        return refused.into();
    }
    route(state, req).unwrap_or_else(|f| json_reply(&f)).into()
}

fn shown(c: &ClientInfo) -> Value {
    json!({
        "_id": c.client_id,
        "realm": c.realm,
        "client_id": c.client_id,
        "token_endpoint_auth_method": c.auth_method.as_str(),
        "created": c.created_ms,
    })
}

fn failed(e: ClientError) -> JsonFailure {
    match e {
        ClientError::Invalid(m) => JsonFailure::BadRequest(m),
        ClientError::Duplicate { .. } => JsonFailure::Conflict(e.to_string()),
        ClientError::Store(e) => store_failure(e),
    }
}

fn route(state: &Context, req: &Request) -> Result<HttpReply, JsonFailure> {
    use warp::http::Method;
    let admin = admin(state, &req.headers)?;
    let (realm, rest) = realm_and_rest(&req.tail)?;
    match (req.method.clone(), rest.as_slice()) {
        (Method::GET, []) => {
            // The whole list, or one realm's when the path names it.
            let scope = if !req.tail.trim_matches('/').is_empty() {
                admin.of(&realm)?;
                Some(realm.as_str())
            } else if admin.realm() == "/" {
                None
            } else {
                Some(admin.realm())
            };
            let list: Vec<Value> = state
                .clients
                .list(scope)
                .map_err(failed)?
                .iter()
                .map(shown)
                .collect();
            Ok(HttpReply::json(
                200,
                &json!({"result": list, "resultCount": list.len()}),
            ))
        }
        (Method::POST, []) => {
            admin.of(&realm)?;
            if action(&req.query).as_deref() != Some("create") {
                return Err(JsonFailure::BadRequest(
                    "the _action parameter must be create".into(),
                ));
            }
            if !is_json(&req.headers) {
                return Err(JsonFailure::UnsupportedMediaType);
            }
            let body: Value = serde_json::from_slice(&req.body)
                .map_err(|e| JsonFailure::BadRequest(format!("the body is not valid JSON: {e}")))?;
            let Value::Object(fields) = &body else {
                return Err(JsonFailure::BadRequest(
                    "the body must be a JSON object".into(),
                ));
            };
            if let Some(k) = fields
                .keys()
                .find(|k| !["client_id", "token_endpoint_auth_method"].contains(&k.as_str()))
            {
                return Err(JsonFailure::BadRequest(format!("unknown key `{k}`")));
            }
            let text = |k: &str| body.get(k).and_then(Value::as_str);
            let client_id = text("client_id")
                .ok_or_else(|| JsonFailure::BadRequest("client_id is required".into()))?;
            let method = match text("token_endpoint_auth_method") {
                None => AuthMethod::ClientSecretBasic,
                Some(m) => AuthMethod::parse(m).ok_or_else(|| {
                    JsonFailure::BadRequest(format!(
                        "token_endpoint_auth_method `{m}` is not client_secret_basic, client_secret_post or none"
                    ))
                })?,
            };
            if !state.realm_exists(&realm) {
                return Err(JsonFailure::BadRequest(format!("no realm {realm}")));
            }
            let (client, secret) = crate::frontends::audited::admin(
                state,
                &admin,
                "oauth_client.created",
                &[
                    ("realm", &crate::identity::normalize_realm(&realm)),
                    ("client_id", client_id),
                ],
                || {
                    state
                        .clients
                        .register(&realm, client_id, method)
                        .map_err(failed)
                },
            )?;
            tracing::info!(realm = %client.realm, client = %client.client_id, "OAuth client registered");
            let mut body = shown(&client);
            if let (Some(s), Value::Object(m)) = (secret, &mut body) {
                m.insert("client_secret".into(), json!(s.expose()));
            }
            Ok(HttpReply::json(201, &body))
        }
        (method @ (Method::GET | Method::DELETE), [id]) => {
            admin.of(&realm)?;
            let c = state
                .clients
                .get(&realm, id)
                .map_err(failed)?
                .ok_or(JsonFailure::NotFound)?;
            if method == Method::DELETE {
                crate::frontends::audited::admin(
                    state,
                    &admin,
                    "oauth_client.deleted",
                    &[("realm", &c.realm), ("client_id", &c.client_id)],
                    || state.clients.delete(&realm, id).map_err(failed),
                )?;
                tracing::info!(realm = %c.realm, client = %c.client_id, "OAuth client deleted");
            }
            Ok(HttpReply::json(200, &shown(&c)))
        }
        (_, [] | [_]) => Err(JsonFailure::MethodNotAllowed),
        _ => Err(JsonFailure::NotFound),
    }
}
