//! `/sts-publish/{rest|soap}`: create, read, list, update and delete STS instances at run
//! time, in the JSON of AM's publish service. An administrator's session is required.

use serde_json::{Value, json};

use crate::instance::Kind;
use crate::publish::Published;

use super::json::{JsonRequest, require_admin};
use super::reject::{JsonFailure, json_reply};
use super::{AppState, HttpReply};

fn reply(status: u16, body: Value) -> HttpReply {
    HttpReply {
        status,
        content_type: "application/json",
        body: body.to_string(),
        set_cookie: None,
    }
}

/// Handles one request under `/sts-publish/`.
pub fn handle(state: &AppState, req: &JsonRequest) -> HttpReply {
    route(state, req).unwrap_or_else(|f| json_reply(&f))
}

fn bad(m: impl Into<String>) -> JsonFailure {
    JsonFailure::BadRequest(m.into())
}

/// `{"_id", "_rev", "<id>": {config}}`, as AM answers a read.
fn read_body(p: &Published) -> Value {
    let mut m = serde_json::Map::new();
    m.insert("_id".into(), json!(p.id));
    m.insert("_rev".into(), json!(p.rev));
    m.insert(p.id.clone(), p.config.clone());
    Value::Object(m)
}

/// The `instance_state` of a create or update body.
fn instance_state(req: &JsonRequest) -> Result<Value, JsonFailure> {
    let is_json = req
        .headers
        .get(warp::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return Err(JsonFailure::UnsupportedMediaType);
    }
    let body: Value = serde_json::from_slice(&req.body)
        .map_err(|e| bad(format!("the body is not valid JSON: {e}")))?;
    let Value::Object(mut body) = body else {
        return Err(bad("the body must be a JSON object"));
    };
    match body.get("invocation_context") {
        None | Some(Value::String(_)) => {}
        Some(_) => return Err(bad("invocation_context must be a string")),
    }
    match body.remove("instance_state") {
        Some(v @ Value::Object(_)) => Ok(v),
        Some(_) => Err(bad("instance_state must be a JSON object")),
        None => Err(bad("instance_state is required")),
    }
}

fn if_match(req: &JsonRequest) -> Result<Option<String>, JsonFailure> {
    match req.headers.get(warp::http::header::IF_MATCH) {
        None => Ok(None),
        Some(v) => v
            .to_str()
            .map(|s| Some(s.trim().trim_matches('"').to_owned()))
            .map_err(|_| bad("If-Match is not a revision")),
    }
}

fn realm_of(state_json: &Value) -> String {
    let realm = state_json
        .get("deployment-config")
        .and_then(|d| d.get("deployment-realm"))
        .and_then(Value::as_str)
        .unwrap_or("/");
    crate::identity::normalize_realm(realm)
}

fn route(state: &AppState, req: &JsonRequest) -> Result<HttpReply, JsonFailure> {
    let tail = req.tail.trim_matches('/');
    let (kind, id) = match tail.split_once('/') {
        Some((k, id)) => (k, Some(id.trim_matches('/'))),
        None => (tail, None),
    };
    let kind = Kind::parse(kind).ok_or(JsonFailure::NotFound)?;
    let publisher = &state.publisher;
    use warp::http::Method;
    match (&req.method, id) {
        (m, None) if m == Method::POST => {
            let action = req
                .query
                .split('&')
                .find_map(|p| p.strip_prefix("_action="));
            if action != Some("create") {
                return Err(bad(format!(
                    "action `{}` is not supported: use _action=create",
                    action.unwrap_or("")
                )));
            }
            // Authorise before reading the state, so that anonymous callers learn nothing.
            require_admin(state, &req.headers, "/").or_else(|_| {
                let st = instance_state(req)?;
                require_admin(state, &req.headers, &realm_of(&st))
            })?;
            let st = instance_state(req)?;
            let p = publisher.create(kind, &st)?;
            tracing::info!(kind = kind.as_str(), id = %p.id, "instance published");
            Ok(reply(
                201,
                json!({"_id": p.id, "_rev": p.rev, "result": "success", "url_element": p.id}),
            ))
        }
        (m, None) if m == Method::GET => {
            require_admin(state, &req.headers, "/")?;
            let list = publisher.list(kind)?;
            Ok(reply(
                200,
                json!({
                    "result": list.iter().map(read_body).collect::<Vec<_>>(),
                    "resultCount": list.len(),
                    "pagedResultsCookie": null,
                    "totalPagedResultsPolicy": "NONE",
                    "totalPagedResults": -1,
                    "remainingPagedResults": -1,
                }),
            ))
        }
        (m, Some(id)) if m == Method::GET => {
            let p = publisher.read(kind, id);
            // A realm administrator may read the instances of their realm only.
            let realm = p
                .as_ref()
                .map(|p| realm_of(&p.config))
                .unwrap_or_else(|_| "/".into());
            require_admin(state, &req.headers, &realm)?;
            Ok(reply(200, read_body(&p?)))
        }
        (m, Some(id)) if m == Method::PUT => {
            let realm = publisher
                .read(kind, id)
                .map(|p| realm_of(&p.config))
                .unwrap_or_else(|_| "/".into());
            require_admin(state, &req.headers, &realm)?;
            let st = instance_state(req)?;
            let p = publisher.update(kind, id, if_match(req)?.as_deref(), &st)?;
            tracing::info!(kind = kind.as_str(), id = %p.id, "instance updated");
            Ok(reply(
                200,
                json!({"_id": p.id, "_rev": p.rev, "result": "success", "url_element": p.id}),
            ))
        }
        (m, Some(id)) if m == Method::DELETE => {
            let realm = publisher
                .read(kind, id)
                .map(|p| realm_of(&p.config))
                .unwrap_or_else(|_| "/".into());
            require_admin(state, &req.headers, &realm)?;
            let p = publisher.delete(kind, id, if_match(req)?.as_deref())?;
            tracing::info!(kind = kind.as_str(), id = %p.id, "instance removed");
            Ok(reply(
                200,
                json!({
                    "_id": p.id,
                    "_rev": p.rev,
                    "result": format!(
                        "{} sts instance {} successfully removed from realm {}",
                        kind.as_str(),
                        p.id,
                        realm
                    ),
                }),
            ))
        }
        _ => Err(JsonFailure::MethodNotAllowed),
    }
}
